/*
 * run: moat-chaff from configuration to shutdown on one evloop. See run.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netdb.h>
#include <unistd.h>

#include "chaff/alarm.h"
#include "chaff/bg.h"
#include "chaff/claim.h"
#include "chaff/conf.h"
#include "chaff/l2.h"
#include "chaff/nd.h"
#include "chaff/osdb.h"
#include "chaff/persona.h"
#include "chaff/post.h"
#include "chaff/respond.h"
#include "chaff/run.h"
#include "chaff/service.h"
#include "chaff/sshd.h"
#include "chaff/vendor.h"
#include "common/clock.h"
#include "common/evloop.h"
#include "common/fileio.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/sandbox.h"

/* Frames handled per wake-up before timers get a turn. */
#define RX_BATCH	256
/* Service sessions at once across all decoys. */
#define SESSIONS	4096

struct chaff_run {
	struct conf conf;
	struct persona *personas;
	size_t n_personas;
	struct respond_group *groups;
	struct decoy_table decoys;
	struct respond resp;
	struct service_ctx svc;
	struct alarm alarm;
	struct l2 l2;
	struct clock clk;
	struct post post;
	bool have_post;
	struct sshd sshd;
	bool have_sshd;
	struct tls tls;		/* HTTPS's sessions and the decoys' certificates */
	bool have_tls;
	struct claim claim;
	uint16_t claim_group, claim_persona;
	bool link_down;		/* the interface is down (logged once per flap) */
	uint8_t rx_buf[65536];	/* one received frame (any MTU) */
	FILE *alarm_out;
	int syslog_fd;
	char hostname[64];
	struct bg bg;		/* background traffic: announcements (bg.h) */
	struct bg_group *bg_groups;
	bool have_bg;
	/* The `vendor:` a personality was built with (NULL: inferred). */
	const struct vendor_profile *persona_vendor[LIMIT_CHAFF_PERSONAS];
	struct evloop *loop;
	struct evloop_timer *alive_timer;	/* the next background event due */
	struct evloop_timer *alarm_timer;	/* armed while alarm keys are held */
	struct evloop_timer *expire_timer;	/* armed while connections are held */
	struct evloop_timer *rtx_timer;		/* armed for the next retransmission due */
	uint64_t rtx_due;			/* what rtx_timer is armed for */
	struct evloop_io *sess_io[SSHD_SESSIONS];
	struct sess_ref {
		struct chaff_run *ch;
		int slot;
	} sess_ref[SSHD_SESSIONS];
	bool have_l2, started;
	int loop_err;		/* why the loop stopped, 0 for a signal */
};

/* Find or load the personality for a group; returns its index. */
static int
group_persona(struct chaff_run *ch, const struct conf_group *g, const char *osdb,
	      size_t osdb_len)
{
	const struct persona_preset *pre = g->personality[0] ?
		persona_preset_find(g->personality) : NULL;
	const char *fpname = pre ? pre->fingerprint : g->fingerprint;
	const char *pname = pre ? pre->name : g->fingerprint;
	const struct vendor_profile *vend = g->vendor[0] ? vendor_find(g->vendor) : NULL;
	struct osdb_fp *fp;
	char err[256];
	int r;

	for (size_t i = 0; i < ch->n_personas; i++)
		if ((strcmp(ch->personas[i].name, pname) == 0 ||
		     (!pre && strcmp(ch->personas[i].os, fpname) == 0)) &&
		    ch->persona_vendor[i] == vend)
			return (int)i;
	if (ch->n_personas >= LIMIT_CHAFF_PERSONAS) {
		log_warnx("more than %u distinct personalities", LIMIT_CHAFF_PERSONAS);
		return -ENOSPC;
	}
	fp = calloc(1, sizeof(*fp));
	if (!fp)
		return -ENOMEM;
	r = osdb_find(osdb, osdb_len, fpname, pre ? pre->nth : 0, fp);
	if (r < 0) {
		log_warnx("%s: fingerprint \"%s\" %s", ch->conf.osdb, fpname,
			  r == -ENOENT ? "not found" : "is malformed");
		free(fp);
		return r;
	}
	r = persona_from_fp(pre, fp, &ch->personas[ch->n_personas], err, sizeof(err));
	if (r == 0)
		vendor_persona(fp, pre != NULL, &ch->personas[ch->n_personas]);
	free(fp);
	if (r < 0) {
		log_warnx("%s", err);
		return r;
	}
	if (!pre)
		snprintf(ch->personas[ch->n_personas].name, sizeof(ch->personas[0].name), "%.31s",
			 fpname);
	if (vend)
		vendor_apply(vend, &ch->personas[ch->n_personas]);
	ch->persona_vendor[ch->n_personas] = vend;
	return (int)ch->n_personas++;
}

static size_t
group_size(const struct conf_group *g)
{
	size_t n = 0;

	for (size_t i = 0; i < g->n_ranges; i++)
		n += (size_t)1 << (32 - g->ranges[i].len);
	return n;
}

/* A `fingerprint:` group (or one naming a `vendor:`) without tcp:/udp:
 * gets the ports such a device has open (vendor.c); a preset's group has
 * exactly the ports it lists. */
static void
group_defaults(struct chaff_run *ch, const struct conf_group *g, int p, struct respond_group *ret)
{
	const struct persona *pe = &ch->personas[p];

	if (g->ports_set || (g->personality[0] && !g->vendor[0]) || !pe->vendor)
		return;
	vendor_ports(pe->vendor, ret->tcp_ports, &ret->n_tcp, ret->udp_ports, &ret->n_udp);
	log_debug("%s: vendor %s (%s), %u TCP and %u UDP ports by default", pe->name,
		  pe->vendor->name, vendor_family_name(pe->family), ret->n_tcp, ret->n_udp);
}

/* Decoys whose IPv6 addresses are logged one by one at start. */
#define CHAFF_RUN_LOG_V6 32

/* IPv6 addresses for the groups configured with ipv6: (claimed addresses
 * are IPv4 only, so claims never change the IPv6 index). */
static int
build_v6(struct chaff_run *ch)
{
	struct decoy_v6group *g6 = calloc(ch->conf.n_groups + 1, sizeof(*g6));
	int r;

	if (!g6)
		return -ENOMEM;
	for (size_t i = 0; i < ch->conf.n_groups; i++) {
		const struct conf_group *g = &ch->conf.groups[i];

		memcpy(g6[i].prefix, g->v6_prefix, 8);
		g6[i].iid = !g->v6 ? DECOY_IID_NONE : g->v6_iid == CONF_IID_EUI64 ? DECOY_IID_EUI64
										 : DECOY_IID_STABLE;
	}
	/* iid: auto: what the group's personality's OS does (nd.h). */
	for (size_t j = 0; j < ch->decoys.n; j++) {
		const struct decoy *d = &ch->decoys.v[j];

		if (d->group < ch->conf.n_groups && ch->conf.groups[d->group].v6 &&
		    ch->conf.groups[d->group].v6_iid == CONF_IID_AUTO)
			g6[d->group].iid = (uint8_t)nd_iid_for(&ch->personas[d->persona]);
	}
	r = decoy_table_build_v6(&ch->decoys, g6, ch->conf.n_groups);
	free(g6);
	if (r < 0 || ch->decoys.n6 == 0)
		return r;
	/* The addresses are derived, not configured: say which they are
	 * (each one while there are few, else how many). */
	if (ch->decoys.n6 <= 2 * CHAFF_RUN_LOG_V6) {
		for (size_t i = 0; i < ch->decoys.n6; i++) {
			const struct decoy6 *e = &ch->decoys.v6[i];
			char a6[INET6_ADDRSTRLEN];

			inet_ntop(AF_INET6, e->addr, a6, sizeof(a6));
			log_info("decoy %u.%u.%u.%u: IPv6 %s", e->v4 >> 24, e->v4 >> 16 & 255,
				 e->v4 >> 8 & 255, e->v4 & 255, a6);
		}
	} else {
		log_info("%zu IPv6 decoy addresses", ch->decoys.n6);
	}
	return 0;
}

static int
build_decoys(struct chaff_run *ch, uint64_t secret)
{
	char *osdb = NULL;
	size_t osdb_len = 0, total = 0;
	int r;

	r = fileio_read(ch->conf.osdb, LIMIT_CHAFF_OSDB_BYTES, 0, &osdb, &osdb_len);
	if (r < 0) {
		log_warnx("%s: %s", ch->conf.osdb, strerror(-r));
		return r;
	}
	ch->personas = calloc(LIMIT_CHAFF_PERSONAS, sizeof(*ch->personas));
	ch->groups = calloc(ch->conf.n_groups + 1, sizeof(*ch->groups));
	if (!ch->personas || !ch->groups) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < ch->conf.n_groups; i++)
		total += group_size(&ch->conf.groups[i]);
	if (ch->conf.claim.enabled)
		total += ch->conf.claim.max;
	if (total > LIMIT_CHAFF_DECOYS) {
		log_warnx("%zu decoy addresses configured, at most %u", total, LIMIT_CHAFF_DECOYS);
		r = -E2BIG;
		goto out;
	}
	r = decoy_table_init(&ch->decoys, total, secret, clock_mono_ns(&ch->clk));
	if (r < 0)
		goto out;
	for (size_t i = 0; i < ch->conf.n_groups; i++) {
		const struct conf_group *g = &ch->conf.groups[i];
		int p = group_persona(ch, g, osdb, osdb_len);

		if (p < 0) {
			r = p;
			goto out;
		}
		ch->groups[i] = g->ports;
		group_defaults(ch, g, p, &ch->groups[i]);
		for (size_t j = 0; j < g->n_ranges; j++) {
			r = decoy_table_add(&ch->decoys, g->ranges[j].base, g->ranges[j].len,
					    g->exclude, g->n_exclude, (uint16_t)i, (uint16_t)p,
					    ch->personas[p].oui);
			if (r < 0)
				goto out;
		}
	}
	if (ch->conf.claim.enabled) {
		const struct conf_claim *k = &ch->conf.claim;
		int p = group_persona(ch, &k->group, osdb, osdb_len);

		if (p < 0) {
			r = p;
			goto out;
		}
		ch->claim_group = (uint16_t)ch->conf.n_groups;
		ch->claim_persona = (uint16_t)p;
		ch->groups[ch->conf.n_groups] = k->group.ports;
		group_defaults(ch, &k->group, p, &ch->groups[ch->conf.n_groups]);
		claim_init(&ch->claim, k->group.ranges, k->group.n_ranges, k->reserved,
			   k->n_reserved, (unsigned)k->after, (uint64_t)k->within_s * 1000000000ULL,
			   k->max);
	}
	{
		uint32_t dup = 0;

		r = decoy_table_seal(&ch->decoys, &dup);
		if (r < 0)
			log_warnx("decoy %u.%u.%u.%u is in two groups", dup >> 24,
				  dup >> 16 & 255, dup >> 8 & 255, dup & 255);
	}
	if (r >= 0)
		r = build_v6(ch);
out:
	free(osdb);
	return r;
}

static void bg_schedule(struct chaff_run *ch, uint64_t next);

/* --- hooks --- */

static void
hook_send(void *arg, const uint8_t *frame, size_t len)
{
	struct chaff_run *ch = arg;
	int r = l2_send(&ch->l2, frame, len);

	if (r < 0 && r != -EAGAIN)
		log_ratelimited(5, 10, log_warnx, "send on %s: %s", ch->conf.ifname, strerror(-r));
}

static void
hook_contact(void *arg, const struct respond_contact *c)
{
	struct chaff_run *ch = arg;
	struct respond_contact c6;

	/* A service's contact on an IPv6 connection: its real addresses. */
	if (!c->v6 && (c->src >> 24) == 0 && c->proto == 6) {
		c6 = *c;
		respond_contact_conn(&ch->resp, &c6);
		c = &c6;
	}
	alarm_contact(&ch->alarm, c, clock_mono_ns(&ch->clk));
	/* A key is held now: its window must be ticked until it ends. */
	if (ch->alarm_timer && !evloop_timer_armed(ch->alarm_timer))
		evloop_timer_arm(ch->alarm_timer, CHAFF_RUN_ALARM_TICK_NS, CHAFF_RUN_ALARM_TICK_NS);
}

/*
 * ARP from a decoy's address with another MAC: a real host uses it. A
 * claimed address is given back to its owner at once (logged, an alarm);
 * a configured decoy stays (the operator chose it) but the conflict is an
 * alarm. An address probe (RFC 5227) for a claimed address releases it
 * silently: a host is taking a free address, nobody is attacking.
 */
static bool
hook_arp_conflict(void *arg, struct decoy *d, const uint8_t sha[6], bool probe)
{
	struct chaff_run *ch = arg;
	struct respond_contact c = { .kind = CONTACT_CONFLICT, .src = d->addr, .decoy = d->addr };
	uint32_t addr = d->addr;
	bool claimed = ch->conf.claim.enabled && d->group == ch->claim_group;

	memcpy(c.src_mac, sha, 6);
	if (!claimed) {
		if (probe)
			return false;
		log_ratelimited(1, 60, log_warnx, "%u.%u.%u.%u: ARP from %02x:%02x:%02x:%02x:%02x:%02x "
				"for a configured decoy's address", addr >> 24, addr >> 16 & 255,
				addr >> 8 & 255, addr & 255, sha[0], sha[1], sha[2], sha[3], sha[4], sha[5]);
		hook_contact(ch, &c);
		return false;
	}
	if (decoy_table_remove(&ch->decoys, addr) < 0)
		return false;
	if (ch->claim.claimed > 0)
		ch->claim.claimed--;
	claim_alive(&ch->claim, addr);
	log_info("released claimed address %u.%u.%u.%u: %s from %02x:%02x:%02x:%02x:%02x:%02x",
		 addr >> 24, addr >> 16 & 255, addr >> 8 & 255, addr & 255,
		 probe ? "address probe" : "its owner answers", sha[0], sha[1], sha[2], sha[3],
		 sha[4], sha[5]);
	if (!probe)
		hook_contact(ch, &c);
	return true;	/* its background events are dropped as they come up */
}

/* A decoy gave up an IPv6 address: another host holds it now. */
static void
hook_nd_released(void *arg, const struct decoy *d, const uint8_t addr[16], const uint8_t mac[6],
		 bool dad)
{
	char a6[INET6_ADDRSTRLEN];

	(void)arg;
	inet_ntop(AF_INET6, addr, a6, sizeof(a6));
	log_ratelimited(10, 60, log_info, "released IPv6 address %s of decoy %u.%u.%u.%u: %s from "
			"%02x:%02x:%02x:%02x:%02x:%02x", a6, d->addr >> 24, d->addr >> 16 & 255,
			d->addr >> 8 & 255, d->addr & 255,
			dad ? "duplicate address detection" : "its owner advertises it",
			mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
}

/* ARP that no decoy answered: evidence for claiming unused addresses. */
static void
hook_arp_other(void *arg, const uint8_t src_mac[6], const struct frame_arp *a)
{
	struct chaff_run *ch = arg;
	int r;

	if (!ch->conf.claim.enabled)
		return;
	if (a->spa != 0)
		claim_alive(&ch->claim, a->spa);	/* whoever speaks ARP is alive */
	if (a->op != 1 || a->spa == a->tpa)
		return;
	switch (claim_request(&ch->claim, a->tpa, clock_mono_ns(&ch->clk))) {
	case CLAIM_WAIT:
		return;
	case CLAIM_PROBE: {
		uint8_t mac[6];

		/* From the MAC the decoy would have: the owner's answer comes to it. */
		decoy_mac_of(&ch->decoys, a->tpa, ch->personas[ch->claim_persona].oui, mac);
		respond_arp_probe(&ch->resp, mac, a->tpa);
		return;
	}
	case CLAIM_NOW:
		break;
	}
	r = decoy_table_insert(&ch->decoys, a->tpa, ch->claim_group, ch->claim_persona,
			       ch->personas[ch->claim_persona].oui);
	if (r < 0) {
		log_ratelimited(1, 60, log_warnx, "claim %u.%u.%u.%u: %s", a->tpa >> 24,
				a->tpa >> 16 & 255, a->tpa >> 8 & 255, a->tpa & 255, strerror(-r));
		return;
	}
	log_info("claimed unused address %u.%u.%u.%u after unanswered ARP requests",
		 a->tpa >> 24, a->tpa >> 16 & 255, a->tpa >> 8 & 255, a->tpa & 255);
	respond_announce(&ch->resp, decoy_find(&ch->decoys, a->tpa));
	if (ch->have_bg) {
		uint64_t now = clock_mono_ns(&ch->clk);

		bg_add(&ch->bg, decoy_find(&ch->decoys, a->tpa), now);
		bg_schedule(ch, bg_run(&ch->bg, now));
	}
}

static size_t
hook_svc_open(void *arg, struct conn *c, const struct decoy *d, uint8_t *out, size_t cap)
{
	struct chaff_run *ch = arg;

	return service_open(&ch->svc, c, d, out, cap);
}

static size_t
hook_svc_data(void *arg, struct conn *c, const struct decoy *d, const uint8_t *data,
	      size_t len, uint8_t *out, size_t cap, bool *close)
{
	struct chaff_run *ch = arg;

	return service_data(&ch->svc, c, d, data, len, out, cap, close);
}

static size_t
hook_udp_data(void *arg, const struct decoy *d, uint32_t src, uint16_t sport, uint16_t dport,
	      const uint8_t *data, size_t len, uint8_t *out, size_t cap)
{
	struct chaff_run *ch = arg;

	return service_udp(&ch->svc, d, src, sport, dport, data, len, out, cap);
}

static void
hook_svc_close(void *arg, struct conn *c)
{
	struct chaff_run *ch = arg;

	service_close(&ch->svc, c);
}

static const char *
alarm_persona_name(void *arg, uint32_t addr)
{
	struct chaff_run *ch = arg;
	struct decoy *d = decoy_find(&ch->decoys, addr);

	return d && d->persona < ch->n_personas ? ch->personas[d->persona].name : "";
}

static void
sink_syslog(void *arg, const char *json, const struct alarm_entry *e, const char *kind)
{
	struct chaff_run *ch = arg;
	char buf[4096];
	size_t n;

	n = alarm_format_syslog(buf, sizeof(buf), ch->hostname, (int)getpid(),
				clock_wall_ns(&ch->clk), kind, e, json);
	if (n > 0 && send(ch->syslog_fd, buf, n, MSG_DONTWAIT) < 0)
		log_ratelimited(1, 60, log_warn, "syslog send");
}

static void
sink_post(void *arg, const char *json, const struct alarm_entry *e, const char *kind)
{
	post_enqueue(arg, e->src, json);
}

/*
 * The secret the decoys' SSH host keys derive from, kept in state_dir as
 * ssh-hostkeys.secret (32 bytes, created once, mode 0600) so every decoy
 * keeps its key across restarts. A file another user owns or others may
 * read is refused. Without state_dir the secret is new at every start
 * (and so are the keys), which is logged.
 */
static int
host_key_secret(const char *dir, uint8_t secret[32])
{
	char path[512];
	struct stat st;
	ssize_t n;
	int fd, r = 0;

	if (!dir[0]) {
		log_info("no state_dir: the decoys' SSH host keys change at every start");
		return getrandom(secret, 32, 0) == 32 ? 0 : -EIO;
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	snprintf(path, sizeof(path), "%s/ssh-hostkeys.secret", dir);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT) {
		if (getrandom(secret, 32, 0) != 32)
			return -EIO;
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0)
			return -errno;
		n = write(fd, secret, 32);
		if (n != 32 || fsync(fd) < 0)
			r = n < 0 ? -errno : -EIO;
		close(fd);
		if (r == 0)
			log_info("%s: new SSH host key secret", path);
		return r;
	}
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 077) != 0 || st.st_size != 32)
		r = -EPERM;
	else if (read(fd, secret, 32) != 32)
		r = -EIO;
	close(fd);
	if (r == -EPERM)
		log_warnx("%s: not a 32-byte file of ours with mode 0600: refused", path);
	return r;
}

/* The bearer token for moatd: its first word. A file others could have
   written (group- or world-writable) is refused. */
static int
read_token(const char *path, char *buf, size_t cap)
{
	char *text = NULL;
	size_t len, n;
	int r;

	r = fileio_read(path, LIMIT_CHAFF_TOKEN_FILE, FILEIO_PRIVATE, &text, &len);
	if (r == -EPERM) {
		log_warnx("%s: group- or world-writable token file refused", path);
		return r;
	}
	if (r < 0) {
		log_warnx("%s: %s", path, strerror(-r));
		return r;
	}
	n = strcspn(text, " \t\r\n");
	if (n >= cap)
		n = cap - 1;
	memcpy(buf, text, n);
	buf[n] = '\0';
	explicit_bzero(text, len);
	free(text);
	return 0;
}

/* Connect a datagram socket to "udp:HOST:PORT" or "unix:PATH". */
static int
open_syslog(const char *target)
{
	int fd;

	if (strncmp(target, "unix:", 5) == 0) {
		struct sockaddr_un sun = { .sun_family = AF_UNIX };

		if (strlen(target + 5) >= sizeof(sun.sun_path))
			return -ENAMETOOLONG;
		strcpy(sun.sun_path, target + 5);
		fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0)
			return -errno;
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
			int r = -errno;

			close(fd);
			return r;
		}
		return fd;
	}
	{
		char host[256];
		const char *hp = target + 4, *colon = strrchr(hp, ':');
		struct addrinfo hints = { .ai_socktype = SOCK_DGRAM }, *ai;
		int r;

		if (!colon || (size_t)(colon - hp) >= sizeof(host))
			return -EINVAL;
		memcpy(host, hp, (size_t)(colon - hp));
		host[colon - hp] = '\0';
		if (getaddrinfo(host, colon + 1, &hints, &ai) != 0)
			return -EINVAL;
		fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		r = fd < 0 ? -errno : 0;
		if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
			r = -errno;
			close(fd);
		}
		freeaddrinfo(ai);
		return r < 0 ? r : fd;
	}
}

static int
setup_alarms(struct chaff_run *ch)
{
	int r;

	r = alarm_init(&ch->alarm, ch->conf.alarm_window_s * 1000000000ULL, ch->conf.allow,
		       ch->conf.n_allow);
	if (r < 0)
		return r;
	ch->alarm.persona_name = alarm_persona_name;
	ch->alarm.persona_arg = ch;
	if (strcmp(ch->conf.alarm_file, "-") == 0) {
		ch->alarm_out = stdout;
	} else if (ch->conf.alarm_file[0]) {
		ch->alarm_out = fopen(ch->conf.alarm_file, "ae");
		if (!ch->alarm_out) {
			log_warn("%s", ch->conf.alarm_file);
			return -errno;
		}
	}
	if (ch->alarm_out)
		alarm_add_sink(&ch->alarm, alarm_sink_file, ch->alarm_out);
	ch->syslog_fd = -1;
	if (ch->conf.syslog[0]) {
		ch->syslog_fd = open_syslog(ch->conf.syslog);
		if (ch->syslog_fd < 0) {
			log_warnx("syslog %s: %s", ch->conf.syslog, strerror(-ch->syslog_fd));
			return ch->syslog_fd;
		}
		gethostname(ch->hostname, sizeof(ch->hostname) - 1);
		alarm_add_sink(&ch->alarm, sink_syslog, ch);
	}
	if (ch->conf.moatd_url[0]) {
		char token[129] = "";

		if (ch->conf.moatd_token_file[0] &&
		    read_token(ch->conf.moatd_token_file, token, sizeof(token)) < 0)
			return -EINVAL;
		r = post_init(&ch->post, ch->conf.moatd_url, token);
		if (r < 0) {
			log_warnx("alarms.moatd_url %s: expected http://IP:PORT/PATH", ch->conf.moatd_url);
			return r;
		}
		ch->have_post = true;
		alarm_add_sink(&ch->alarm, sink_post, &ch->post);
	}
	return 0;
}

/* --- background traffic (bg.c): start-up announcements, then each decoy's own schedule --- */

/* Arm the background timer for next (monotonic ns; UINT64_MAX: nothing). */
static void
bg_schedule(struct chaff_run *ch, uint64_t next)
{
	uint64_t now;

	if (!ch->alive_timer)
		return;
	if (next == UINT64_MAX) {
		evloop_timer_disarm(ch->alive_timer);
		return;
	}
	now = clock_mono_ns(&ch->clk);
	evloop_timer_arm(ch->alive_timer, next > now ? next - now : 1, 0);
}

static void
on_alive(struct evloop_timer *t, void *arg)
{
	struct chaff_run *ch = arg;
	uint64_t now = clock_mono_ns(&ch->clk);

	(void)t;
	ch->resp.now_ns = now;
	bg_schedule(ch, bg_run(&ch->bg, now));
}

static void
on_alarm_tick(struct evloop_timer *t, void *arg)
{
	struct chaff_run *ch = arg;

	if (alarm_tick(&ch->alarm, clock_mono_ns(&ch->clk), false) == 0)
		evloop_timer_disarm(t);
}

static void expire_schedule(struct chaff_run *ch);

static void
on_expire(struct evloop_timer *t, void *arg)
{
	struct chaff_run *ch = arg;

	ch->resp.now_ns = clock_mono_ns(&ch->clk);
	respond_expire(&ch->resp, CHAFF_RUN_IDLE_NS);
	if (ch->resp.conns.used == 0)
		evloop_timer_disarm(t);
	expire_schedule(ch);	/* expiry may have closed (sent FINs) or dropped connections */
}

/* Connections are held: look for idle ones until none is left; and arm the
 * retransmission timer for the earliest one due (none while nothing is
 * outstanding, so an idle decoy network does not wake up). */
static void
expire_schedule(struct chaff_run *ch)
{
	uint64_t due, now;

	if (ch->resp.conns.used > 0 && !evloop_timer_armed(ch->expire_timer))
		evloop_timer_arm(ch->expire_timer, CHAFF_RUN_EXPIRE_NS, CHAFF_RUN_EXPIRE_NS);
	if (!ch->rtx_timer)
		return;
	due = respond_next_due(&ch->resp);
	if (due == 0) {
		if (evloop_timer_armed(ch->rtx_timer))
			evloop_timer_disarm(ch->rtx_timer);
		return;
	}
	if (ch->rtx_due == due && evloop_timer_armed(ch->rtx_timer))
		return;
	now = clock_mono_ns(&ch->clk);
	ch->rtx_due = due;
	evloop_timer_arm(ch->rtx_timer, due > now ? due - now : 1, 0);
}

static void
on_rtx(struct evloop_timer *t, void *arg)
{
	struct chaff_run *ch = arg;

	(void)t;
	ch->rtx_due = 0;
	ch->resp.now_ns = clock_mono_ns(&ch->clk);
	respond_timers(&ch->resp);
	expire_schedule(ch);
}

static void
on_signal(struct evloop *loop, int signo, void *arg)
{
	struct chaff_run *ch = arg;

	(void)signo;
	ch->loop_err = 0;
	evloop_break(loop);
}

/*
 * The interface went down: the packet socket reports ENETDOWN once and stays
 * bound to the interface, receiving again when it comes back up (the kernel
 * re-hooks it), so nothing is re-opened and every decoy, connection and
 * alarm window is kept. Logged once per flap.
 */
static void
link_went_down(struct chaff_run *ch)
{
	if (!ch->link_down)
		log_warnx("%s: interface down; waiting for it to come back (state kept)",
			  ch->conf.ifname);
	ch->link_down = true;
}

static void
drain_rx(struct chaff_run *ch)
{
	for (int i = 0; i < RX_BATCH; i++) {
		size_t len;
		bool unverified;
		uint16_t vlan;
		int r = l2_recv(&ch->l2, ch->rx_buf, sizeof(ch->rx_buf), &len, &unverified, &vlan);

		if (r == -EAGAIN)
			return;
		if (r == -ENETDOWN) {
			link_went_down(ch);
			return;
		}
		if (r < 0) {
			log_ratelimited(5, 10, log_warnx, "recv: %s", strerror(-r));
			return;
		}
		if (ch->link_down) {
			log_info("%s: receiving again; %zu decoys and their state kept",
				 ch->conf.ifname, ch->decoys.n);
			ch->link_down = false;
		}
		ch->resp.now_ns = clock_mono_ns(&ch->clk);
		ch->resp.rx_vlan = vlan;
		respond_frame(&ch->resp, ch->rx_buf, len, unverified);
	}
}

/* Credentials from the SSH workers become login alarms here, on the loop's thread. */
static void
drain_ssh_creds(struct chaff_run *ch)
{
	struct sshd_cred cr;

	while (sshd_pop_cred(&ch->sshd, &cr)) {
		struct respond_contact c = {
			.kind = CONTACT_LOGIN, .src = cr.key.saddr, .decoy = cr.key.daddr,
			.proto = 6, .sport = cr.key.sport, .dport = cr.key.dport,
			.detail = cr.client[0] ? cr.client : "ssh", .user = cr.user, .pass = cr.pass,
		};
		struct conn *cn = conn_find(&ch->resp.conns, cr.key.saddr, cr.key.sport,
					    cr.key.daddr, cr.key.dport);

		if (cn)
			memcpy(c.src_mac, cn->peer_mac, 6);
		hook_contact(ch, &c);
	}
}

/* Bytes libssh wrote for a session go out on its TCP connection; EOF closes it. */
static void
pump_ssh(struct chaff_run *ch, int slot)
{
	struct sshd_session *ss = &ch->sshd.sess[slot];
	struct conn *c = conn_find(&ch->resp.conns, ss->key.saddr, ss->key.sport,
				   ss->key.daddr, ss->key.dport);
	uint8_t buf[8192];
	ssize_t n;

	if (!c) {
		sshd_close(&ch->sshd, slot);
		return;
	}
	n = read(ss->fd, buf, sizeof(buf));
	if (n > 0) {
		ch->resp.now_ns = clock_mono_ns(&ch->clk);
		c->last_ns = ch->resp.now_ns;
		respond_tcp_send(&ch->resp, c, buf, (size_t)n, false);
	} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
		respond_tcp_close(&ch->resp, c);
	}
}

/*
 * The packet socket. An error is read (and cleared) first: the interface
 * going down is waited out, its removal ends the loop, since the socket is
 * dead and the privileges to open another are gone.
 */
static void
on_l2(struct evloop_io *io, int fd, unsigned revents, void *arg)
{
	struct chaff_run *ch = arg;

	(void)io;
	(void)fd;
	if (revents & EVLOOP_ERR) {
		int e = l2_error(&ch->l2);	/* reading it clears it */

		if (e == -ENETDOWN) {
			link_went_down(ch);
		} else if (e == -ENODEV || e == -ENXIO) {
			log_warnx("%s: interface removed", ch->conf.ifname);
			ch->loop_err = e;
			evloop_break(ch->loop);
			return;
		} else if (e < 0) {
			log_ratelimited(5, 10, log_warnx, "%s: %s", ch->conf.ifname, strerror(-e));
		}
	}
	if (revents & EVLOOP_IN)
		drain_rx(ch);
	expire_schedule(ch);
}

static void
on_creds(struct evloop_io *io, int fd, unsigned revents, void *arg)
{
	(void)io;
	(void)fd;
	(void)revents;
	drain_ssh_creds(arg);
}

static void
on_session_io(struct evloop_io *io, int fd, unsigned revents, void *arg)
{
	struct sess_ref *ref = arg;

	(void)io;
	(void)fd;
	(void)revents;
	pump_ssh(ref->ch, ref->slot);
	expire_schedule(ref->ch);
}

/*
 * The decoys with SSH or HTTPS open get their RSA keys and certificates
 * made ahead, in the background at the lowest priority (the first connection
 * to a decoy would otherwise wait 0.1-1 s for them), as many as the caches
 * keep (SSHD_WARM, TLS_CERTS / 2); the rest are made on first use.
 */
static void
warm_keys(struct chaff_run *ch)
{
	struct sshd_warm *sw = calloc(SSHD_WARM, sizeof(*sw));
	struct tls_req *tw = calloc(TLS_CERTS / 2, sizeof(*tw));
	size_t ns = 0, nt = 0;

	for (size_t i = 0; sw && tw && i < ch->decoys.n; i++) {
		const struct decoy *d = &ch->decoys.v[i];
		const struct respond_group *g = &ch->groups[d->group];
		const struct persona *p = &ch->personas[d->persona < ch->n_personas ? d->persona : 0];
		bool ssh = false, https = false;

		for (uint8_t k = 0; k < g->n_tcp; k++) {
			enum service_kind kind = service_for_port(g->tcp_ports[k]);

			ssh |= kind == SERVICE_SSH;
			https |= kind == SERVICE_HTTPS;
		}
		if (ssh && ch->have_sshd && ns < SSHD_WARM) {
			const char *v = p->svc.ssh_banner ? p->svc.ssh_banner : "SSH-2.0-OpenSSH_8.2p1";
			struct keys_era era;

			keys_era(strncmp(v, "SSH-2.0-", 8) == 0 ? v + 8 : v, &era);
			sw[ns++] = (struct sshd_warm){ d->addr, (uint16_t)era.rsa_bits };
		}
		if (https && ch->have_tls && nt < TLS_CERTS / 2) {
			tw[nt].decoy = d->addr;
			memcpy(tw[nt].mac, d->mac, 6);
			snprintf(tw[nt].server, sizeof(tw[nt].server), "%s",
				 p->svc.http_server ? p->svc.http_server : "");
			nt++;
		}
	}
	if (ns && sshd_warm(&ch->sshd, sw, ns) < 0)
		log_warnx("SSH host keys: made on first use only");
	if (nt && tls_warm(&ch->tls, tw, nt) < 0)
		log_warnx("TLS certificates: made on first use only");
	free(sw);
	free(tw);
}

/* A certificate was made: HTTPS sessions that waited for it go on. */
static void
on_tls(struct evloop_io *io, int fd, unsigned revents, void *arg)
{
	struct chaff_run *ch = arg;
	uint8_t out[8192];

	(void)io;
	(void)fd;
	(void)revents;
	tls_ack(&ch->tls);
	ch->resp.now_ns = clock_mono_ns(&ch->clk);
	for (size_t i = 0; i < ch->svc.n; i++) {
		struct service_session *ss = &ch->svc.pool[i];
		struct conn *c;
		struct decoy *d;
		bool close = false;
		size_t n;

		if (!ss->used || !ss->tls || !tls_conn_waiting(ss->tls))
			continue;
		c = conn_find(&ch->resp.conns, ss->src, ss->sport, ss->decoy, ss->dport);
		d = decoy_find(&ch->decoys, ss->decoy);
		if (!c || !d)
			continue;
		n = service_data(&ch->svc, c, d, NULL, 0, out, sizeof(out), &close);
		if (n > 0 || close)
			respond_tcp_send(&ch->resp, c, out, n, close);
	}
	expire_schedule(ch);
}

/* sshd's hook: watch a session's socket while it is open. */
static void
on_session(void *arg, int slot, int fd)
{
	struct chaff_run *ch = arg;
	int r;

	evloop_io_del(ch->sess_io[slot]);
	ch->sess_io[slot] = NULL;
	if (fd < 0)
		return;
	ch->sess_ref[slot] = (struct sess_ref){ .ch = ch, .slot = slot };
	r = evloop_add_fd(ch->loop, fd, EVLOOP_IN, on_session_io, &ch->sess_ref[slot],
			  &ch->sess_io[slot]);
	if (r < 0) {
		/* The connection idles out and its close frees the slot. */
		log_ratelimited(1, 60, log_warnx, "SSH session: %s", strerror(-r));
	}
}

static int
enter_sandbox(const struct chaff_run *ch)
{
	/* Beyond the base set: the packet socket, signalfd, exit statistics. */
	static const char *const extra[] = {
		"sendto", "sendmsg", "recvmsg", "getsockopt", "getpid", "signalfd4", "poll",
		"ppoll", "setsockopt", "getpeername", "getsockname", "socketpair", NULL
	};
	/* The moatd POST worker also opens one TCP connection per report. */
	static const char *const extra_post[] = {
		"sendto", "sendmsg", "recvmsg", "getsockopt", "getpid", "signalfd4", "poll",
		"ppoll", "socket", "connect", "setsockopt", "getpeername", "getsockname",
		"socketpair", NULL
	};
	char err[256] = "";
	struct sandbox_opts o = {
		.user = ch->conf.user[0] ? ch->conf.user : NULL,
		.seccomp = true,
		.syscalls = ch->have_post ? extra_post : extra,
		.deny = SANDBOX_DENY_KILL,
		.errbuf = err,
		.errbuf_len = sizeof(err),
	};
	int r;

	/* glibc sizes its malloc arenas the first time a thread finds them all
	 * busy, by reading /sys/devices/system/cpu/online: after the filter
	 * that open() kills the process (the SSH workers and key threads
	 * allocate at once under a burst). A fixed cap skips that read. */
	mallopt(M_ARENA_MAX, 16);
	r = sandbox_enter(&o);
	if (r < 0)
		log_warnx("sandbox: %s", err[0] ? err : strerror(-r));
	return r;
}


int
chaff_run_load(const char *path, struct chaff_run **ret_ch)
{
	struct chaff_run *ch;
	struct cfg_error err;
	uint64_t secret;
	int r;

	ch = calloc(1, sizeof(*ch));
	if (!ch)
		return -ENOMEM;
	ch->syslog_fd = -1;
	ch->l2.fd = -1;
	r = conf_load(path, &ch->conf, &err);
	if (r < 0) {
		log_errx("%s", err.msg);
		goto fail;
	}
	clock_init_real(&ch->clk);
	if (ch->conf.have_seed) {
		secret = decoy_mix(ch->conf.seed);
	} else if (getrandom(&secret, sizeof(secret), 0) != sizeof(secret)) {
		r = -errno;
		log_warn("getrandom");
		goto fail;
	}
	r = build_decoys(ch, secret);
	if (r < 0)
		goto fail;
	*ret_ch = ch;
	return 0;
fail:
	chaff_run_free(ch);
	return r;
}

int
chaff_run_check(const struct chaff_run *ch, const char *path)
{
	if (l2_check(ch->conf.ifname) < 0) {
		log_errx("%s: interface %s: no such interface", path, ch->conf.ifname);
		return -ENODEV;
	}
	printf("%s: ok: %zu decoys, %zu personalities\n", path, ch->decoys.n, ch->n_personas);
	for (size_t i = 0; i < ch->n_personas; i++) {
		const struct persona *p = &ch->personas[i];

		printf("  %s: vendor %s (%02X:%02X:%02X), background %s%s\n", p->name,
		       p->vendor ? p->vendor->name : "-", p->oui[0], p->oui[1], p->oui[2],
		       vendor_family_name(p->family), ch->persona_vendor[i] ? " (vendor: given)" : "");
	}
	return 0;
}

/* Each group's background mode and broadcast prefix, and the schedule. */
static int
start_bg(struct chaff_run *ch)
{
	size_t n = ch->conf.n_groups + (ch->conf.claim.enabled ? 1 : 0);
	struct bg_params prm = {
		.interval_ns = ch->conf.alive_interval_s * 1000000000ULL,
		.window_ns = ch->conf.alive_start_s * 1000000000ULL,
		.pps = (double)ch->conf.alive_pps,
		.secret = ch->decoys.secret,
	};
	int r;

	ch->bg_groups = calloc(n + 1, sizeof(*ch->bg_groups));
	if (!ch->bg_groups)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct conf_group *g = i < ch->conf.n_groups ? &ch->conf.groups[i] :
					     &ch->conf.claim.group;
		uint8_t m = g->background != CONF_BG_DEFAULT ? g->background : ch->conf.background;

		ch->bg_groups[i].mode = m == CONF_BG_OFF ? BG_MODE_OFF :
					m == CONF_BG_ARP ? BG_MODE_ARP : BG_MODE_ON;
		/* The subnet a NetBIOS broadcast goes to: the group's range,
		 * at least a /24 (a range of a few decoys sits in a larger LAN). */
		ch->bg_groups[i].bcast_len = g->n_ranges && g->ranges[0].len < 24 ?
					     g->ranges[0].len : 24;
	}
	r = bg_init(&ch->bg, &prm, &ch->decoys, ch->personas, ch->n_personas, ch->bg_groups, n,
		    hook_send, ch);
	if (r < 0) {
		log_warnx("background traffic: %s", strerror(-r));
		return r;
	}
	ch->have_bg = true;
	return 0;
}

int
chaff_run_start(struct chaff_run *ch, int l2_fd, unsigned flags)
{
	struct respond_hooks hooks;
	uint8_t key_secret[32];
	int r;

	r = setup_alarms(ch);
	if (r < 0)
		goto out;
	r = service_init(&ch->svc, SESSIONS, ch->personas, ch->n_personas);
	if (r < 0) {
		log_warnx("services: %s", strerror(-r));
		goto out;
	}
	ch->svc.report = hook_contact;
	ch->svc.report_arg = ch;
	hooks = (struct respond_hooks){
		.send = hook_send, .contact = hook_contact,
		.svc_open = hook_svc_open, .svc_data = hook_svc_data, .svc_close = hook_svc_close,
		.udp_data = hook_udp_data,
		.arp_other = hook_arp_other, .arp_conflict = hook_arp_conflict,
		.nd_released = hook_nd_released, .arg = ch,
	};
	r = respond_init(&ch->resp, &ch->decoys, ch->personas, ch->n_personas, ch->groups,
			 ch->conf.n_groups + (ch->conf.claim.enabled ? 1 : 0), LIMIT_CHAFF_CONNS,
			 &hooks);
	if (r < 0) {
		log_warnx("responder: %s", strerror(-r));
		goto out;
	}
	ch->resp.arp_resolve = true;	/* ARP before answering a peer the decoy does not know */
	r = start_bg(ch);
	if (r < 0)
		goto out;
	/* ICMP timestamp replies tell the time of day (ms since midnight UT). */
	ch->resp.wall_off_ns = (int64_t)(clock_wall_ns(&ch->clk) - clock_mono_ns(&ch->clk));
	if (l2_fd >= 0) {
		ch->l2.fd = l2_fd;
		ch->l2.mtu = 1500;
	} else {
		r = l2_open(ch->conf.ifname, &ch->l2);
		if (r < 0) {
			log_warnx("%s: %s", ch->conf.ifname, strerror(-r));
			goto out;
		}
	}
	ch->have_l2 = true;
	ch->resp.mtu = ch->l2.mtu;
	ch->resp.vlans = ch->conf.vlans;
	ch->resp.n_vlans = ch->conf.n_vlans;
	/* Signals are blocked before any thread starts, so only the loop's
	   signalfd receives them. */
	if ((r = evloop_new(&ch->loop)) < 0 ||
	    (r = evloop_add_signal(ch->loop, SIGTERM, on_signal, ch)) < 0 ||
	    (r = evloop_add_signal(ch->loop, SIGINT, on_signal, ch)) < 0 ||
	    (r = evloop_add_fd(ch->loop, ch->l2.fd, EVLOOP_IN, on_l2, ch, NULL)) < 0 ||
	    (r = evloop_timer_new(ch->loop, on_alive, ch, &ch->alive_timer)) < 0 ||
	    (r = evloop_timer_new(ch->loop, on_alarm_tick, ch, &ch->alarm_timer)) < 0 ||
	    (r = evloop_timer_new(ch->loop, on_expire, ch, &ch->expire_timer)) < 0 ||
	    (r = evloop_timer_new(ch->loop, on_rtx, ch, &ch->rtx_timer)) < 0) {
		log_warnx("event loop: %s", strerror(-r));
		goto out;
	}
	if (!(flags & CHAFF_RUN_NO_SSHD)) {
		/* SSH workers (libssh) start before the sandbox, like every thread. */
		r = host_key_secret(ch->conf.state_dir, key_secret);
		if (r < 0) {
			log_warnx("%s: cannot keep the SSH host key secret", ch->conf.state_dir);
			goto out;
		}
		r = sshd_init(&ch->sshd, key_secret);
		if (tls_init(&ch->tls, key_secret) < 0) {
			log_warnx("TLS unavailable: HTTPS ports answer in plain HTTP");
			tls_free(&ch->tls);
		} else if (evloop_add_fd(ch->loop, tls_event_fd(&ch->tls), EVLOOP_IN, on_tls, ch,
					 NULL) == 0) {
			ch->have_tls = true;
			ch->svc.tls = &ch->tls;
		}
		explicit_bzero(key_secret, sizeof(key_secret));
		if (r < 0) {
			log_warnx("SSH decoy service unavailable: SSH ports answer with a banner only");
			sshd_free(&ch->sshd);
		} else {
			ch->have_sshd = true;
			ch->svc.sshd = &ch->sshd;
			ch->sshd.on_session = on_session;
			ch->sshd.on_session_arg = ch;
			r = evloop_add_fd(ch->loop, ch->sshd.event_fd, EVLOOP_IN, on_creds, ch, NULL);
			if (r < 0) {
				log_warnx("event loop: %s", strerror(-r));
				goto out;
			}
		}
	}
	warm_keys(ch);
	if (ch->have_post) {
		r = post_start(&ch->post);
		if (r < 0) {
			log_warnx("cannot start the moatd POST worker");
			goto out;
		}
	}
	if (!(flags & CHAFF_RUN_NO_SANDBOX)) {
		r = enter_sandbox(ch);
		if (r < 0)
			goto out;
	}
	ch->started = true;
	log_info("answering for %zu decoys on %s (%zu personalities)", ch->decoys.n,
		 ch->conf.ifname, ch->n_personas);
	{
		uint64_t now = clock_mono_ns(&ch->clk);

		bg_start(&ch->bg, now);	/* the start-up announcements, spread over alive.start */
		bg_schedule(ch, bg_run(&ch->bg, now));
	}
	r = 0;
out:
	return r;
}

struct evloop *
chaff_run_evloop(struct chaff_run *ch)
{
	return ch->loop;
}

int
chaff_run_loop(struct chaff_run *ch)
{
	int r;

	ch->loop_err = 0;
	r = evloop_run(ch->loop);
	if (r < 0) {
		log_warnx("event loop: %s", strerror(-r));
		return r;
	}
	return ch->loop_err;
}

void
chaff_run_counts(const struct chaff_run *ch, uint64_t *ret_frames, uint64_t *ret_sent)
{
	*ret_frames = ch->resp.stats.frames;
	*ret_sent = ch->resp.stats.sent;
}

void
chaff_run_free(struct chaff_run *ch)
{
	if (!ch)
		return;
	if (ch->started) {
		alarm_tick(&ch->alarm, clock_mono_ns(&ch->clk), true);
		log_info("stopping: %llu frames, %llu sent, %llu malformed, %llu bad checksums, "
			 "%llu kernel drops, %llu alarms, %llu ICMP errors over budget",
			 (unsigned long long)ch->resp.stats.frames,
			 (unsigned long long)ch->resp.stats.sent,
			 (unsigned long long)ch->resp.stats.dropped_malformed,
			 (unsigned long long)ch->resp.stats.dropped_csum,
			 (unsigned long long)l2_drops(&ch->l2), (unsigned long long)ch->alarm.reports,
			 (unsigned long long)ch->resp.stats.icmp_limited);
	}
	/* The loop goes first: its watches refer to descriptors closed below. */
	evloop_free(ch->loop);
	ch->loop = NULL;
	ch->alive_timer = ch->alarm_timer = ch->expire_timer = ch->rtx_timer = NULL;
	if (ch->have_sshd) {
		ch->sshd.on_session = NULL;
		sshd_free(&ch->sshd);
	}
	if (ch->have_post) {
		if (ch->started)
			log_info("moatd: %llu alarms posted, %llu failed, %llu dropped",
				 (unsigned long long)ch->post.sent, (unsigned long long)ch->post.failed,
				 (unsigned long long)ch->post.dropped);
		post_free(&ch->post);
	}
	if (ch->have_l2)
		l2_close(&ch->l2);
	if (ch->syslog_fd >= 0)
		close(ch->syslog_fd);
	if (ch->alarm_out && ch->alarm_out != stdout)
		fclose(ch->alarm_out);
	if (ch->have_bg && ch->started)
		log_info("background: %llu ARP, %llu NetBIOS, %llu browser, %llu mDNS, %llu IPv6 "
			 "DAD frames sent", (unsigned long long)ch->bg.sent[BG_ARP],
			 (unsigned long long)ch->bg.sent[BG_NBNS],
			 (unsigned long long)ch->bg.sent[BG_BROWSER],
			 (unsigned long long)ch->bg.sent[BG_MDNS],
			 (unsigned long long)ch->bg.sent[BG_DAD6]);
	bg_free(&ch->bg);
	free(ch->bg_groups);
	respond_free(&ch->resp);
	service_free(&ch->svc);
	if (ch->have_tls)
		tls_free(&ch->tls);
	alarm_free(&ch->alarm);
	decoy_table_free(&ch->decoys);
	free(ch->personas);
	free(ch->groups);
	conf_free(&ch->conf);
	free(ch);
}
