/*
 * moat-chaff: the decoy network daemon.
 *
 *   moat-chaff -c FILE [-n] [-d]
 *
 * Loads the configuration and the personalities, opens the AF_PACKET socket,
 * drops privileges (sandbox_enter), announces every decoy with a gratuitous
 * ARP within the liveness budget, then answers frames until SIGTERM/SIGINT,
 * reporting alarms as it goes. -n checks the configuration (including that
 * every personality exists in nmap-os-db) and exits.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netdb.h>
#include <unistd.h>

#include "chaff/alarm.h"
#include "chaff/claim.h"
#include "chaff/conf.h"
#include "chaff/l2.h"
#include "chaff/osdb.h"
#include "chaff/persona.h"
#include "chaff/post.h"
#include "chaff/respond.h"
#include "chaff/service.h"
#include "chaff/sshd.h"
#include "common/clock.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/sandbox.h"

/* Frames handled per wake-up before timers get a turn. */
#define RX_BATCH	256
/* Service sessions at once across all decoys. */
#define SESSIONS	4096

struct chaff {
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
	struct claim claim;
	uint16_t claim_group, claim_persona;
	bool link_down;		/* the interface is down (logged once per flap) */
	uint8_t rx_buf[65536];	/* one received frame (any MTU) */
	FILE *alarm_out;
	int syslog_fd;
	char hostname[64];
	uint64_t alive_done;	/* decoys announced in this round */
	uint64_t alive_start, alive_stride;	/* this round's order */
	uint64_t alive_wait_ns;	/* from this round's start to the next */
	double alive_credit;	/* packets the liveness budget allows now */
	uint64_t alive_last_ns;
	uint64_t alive_round_ns;	/* start of the current liveness round */
};

static void
usage(void)
{
	fprintf(stderr, "usage: moat-chaff -c FILE [-n] [-d]\n"
			"  -c FILE  configuration (YAML)\n"
			"  -n       check the configuration and exit\n"
			"  -d       debug logging\n");
}

/* Find or load the personality for a group; returns its index. */
static int
group_persona(struct chaff *ch, const struct conf_group *g, const char *osdb,
	      size_t osdb_len)
{
	const struct persona_preset *pre = g->personality[0] ?
		persona_preset_find(g->personality) : NULL;
	const char *fpname = pre ? pre->fingerprint : g->fingerprint;
	const char *pname = pre ? pre->name : g->fingerprint;
	struct osdb_fp *fp;
	char err[256];
	int r;

	for (size_t i = 0; i < ch->n_personas; i++)
		if (strcmp(ch->personas[i].name, pname) == 0 ||
		    (!pre && strcmp(ch->personas[i].os, fpname) == 0))
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
	free(fp);
	if (r < 0) {
		log_warnx("%s", err);
		return r;
	}
	if (!pre)
		snprintf(ch->personas[ch->n_personas].name, sizeof(ch->personas[0].name), "%.31s",
			 fpname);
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

static int
build_decoys(struct chaff *ch, uint64_t secret)
{
	char *osdb = NULL;
	size_t osdb_len = 0, total = 0;
	int r;

	r = osdb_read_file(ch->conf.osdb, &osdb, &osdb_len);
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
out:
	free(osdb);
	return r;
}

/* --- hooks --- */

static void
hook_send(void *arg, const uint8_t *frame, size_t len)
{
	struct chaff *ch = arg;
	int r = l2_send(&ch->l2, frame, len);

	if (r < 0 && r != -EAGAIN)
		log_ratelimited(5, 10, log_warnx, "send on %s: %s", ch->conf.ifname, strerror(-r));
}

static void
hook_contact(void *arg, const struct respond_contact *c)
{
	struct chaff *ch = arg;

	alarm_contact(&ch->alarm, c, clock_mono_ns(&ch->clk));
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
	struct chaff *ch = arg;
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
	return true;
}

/* ARP that no decoy answered: evidence for claiming unused addresses. */
static void
hook_arp_other(void *arg, const uint8_t src_mac[6], const struct frame_arp *a)
{
	struct chaff *ch = arg;
	int r;

	if (!ch->conf.claim.enabled)
		return;
	if (a->spa != 0)
		claim_alive(&ch->claim, a->spa);	/* whoever speaks ARP is alive */
	if (a->op != 1 || a->spa == a->tpa ||
	    !claim_request(&ch->claim, a->tpa, clock_mono_ns(&ch->clk)))
		return;
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
}

static size_t
hook_svc_open(void *arg, struct conn *c, const struct decoy *d, uint8_t *out, size_t cap)
{
	struct chaff *ch = arg;

	return service_open(&ch->svc, c, d, out, cap);
}

static size_t
hook_svc_data(void *arg, struct conn *c, const struct decoy *d, const uint8_t *data,
	      size_t len, uint8_t *out, size_t cap, bool *close)
{
	struct chaff *ch = arg;

	return service_data(&ch->svc, c, d, data, len, out, cap, close);
}

static void
hook_svc_close(void *arg, struct conn *c)
{
	struct chaff *ch = arg;

	service_close(&ch->svc, c);
}

static const char *
alarm_persona_name(void *arg, uint32_t addr)
{
	struct chaff *ch = arg;
	struct decoy *d = decoy_find(&ch->decoys, addr);

	return d && d->persona < ch->n_personas ? ch->personas[d->persona].name : "";
}

static void
sink_syslog(void *arg, const char *json, const struct alarm_entry *e, const char *kind)
{
	struct chaff *ch = arg;
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

/* The bearer token for moatd: one line; a world-writable file is refused. */
static int
read_token(const char *path, char *buf, size_t cap)
{
	struct stat st;
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f) {
		log_warn("%s", path);
		return -errno;
	}
	if (fstat(fileno(f), &st) < 0 || (st.st_mode & S_IWOTH)) {
		log_warnx("%s: world-writable token file refused", path);
		fclose(f);
		return -EPERM;
	}
	n = fread(buf, 1, cap - 1, f);
	fclose(f);
	buf[n] = '\0';
	buf[strcspn(buf, " \t\r\n")] = '\0';
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
setup_alarms(struct chaff *ch)
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

/* --- liveness: gratuitous ARP at start, then each decoy about every interval --- */

static uint64_t
gcd_u64(uint64_t a, uint64_t b)
{
	while (b) {
		uint64_t t = a % b;

		a = b;
		b = t;
	}
	return a;
}

/*
 * A new round: visit the decoys in a fresh pseudo-random order (a random
 * start and a stride coprime to their number), so each decoy's period
 * varies round to round instead of all keeping one fixed phase, and wait
 * interval ±25% before the round after.
 */
static void
alive_new_round(struct chaff *ch, uint64_t now)
{
	uint64_t interval = ch->conf.alive_interval_s * 1000000000ULL;
	struct decoy *r = &ch->decoys.v[0];
	uint64_t n = ch->decoys.n;

	ch->alive_done = 0;
	ch->alive_start = n ? decoy_rand(r) % n : 0;
	ch->alive_stride = 1;
	if (n > 2) {
		do {
			ch->alive_stride = 1 + decoy_rand(r) % (n - 1);
		} while (gcd_u64(ch->alive_stride, n) != 1);
	}
	ch->alive_round_ns = now;
	ch->alive_wait_ns = interval - interval / 4 + (interval / 2 ? decoy_rand(r) % (interval / 2) : 0);
}

static void
alive_tick(struct chaff *ch, uint64_t now)
{
	double pps = (double)ch->conf.alive_pps;

	if (pps <= 0 || ch->decoys.n == 0)
		return;
	ch->alive_credit += pps * (double)(now - ch->alive_last_ns) / 1e9;
	if (ch->alive_credit > pps)
		ch->alive_credit = pps;	/* at most one second of burst */
	ch->alive_last_ns = now;
	while (ch->alive_credit >= 1.0) {
		if (ch->alive_done >= ch->decoys.n) {
			if (ch->conf.alive_interval_s == 0 || now - ch->alive_round_ns < ch->alive_wait_ns)
				return;
			alive_new_round(ch, now);
		}
		respond_announce(&ch->resp, &ch->decoys.v[(ch->alive_start + ch->alive_done *
							     ch->alive_stride) % ch->decoys.n]);
		ch->alive_done++;
		ch->alive_credit -= 1.0;
	}
}

static int
open_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

/*
 * The interface went down: the packet socket reports ENETDOWN once and stays
 * bound to the interface, receiving again when it comes back up (the kernel
 * re-hooks it), so nothing is re-opened and every decoy, connection and
 * alarm window is kept. Logged once per flap.
 */
static void
link_went_down(struct chaff *ch)
{
	if (!ch->link_down)
		log_warnx("%s: interface down; waiting for it to come back (state kept)",
			  ch->conf.ifname);
	ch->link_down = true;
}

static void
drain_rx(struct chaff *ch)
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
drain_ssh_creds(struct chaff *ch)
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
		alarm_contact(&ch->alarm, &c, clock_mono_ns(&ch->clk));
	}
}

/* Bytes libssh wrote for a session go out on its TCP connection; EOF closes it. */
static void
pump_ssh(struct chaff *ch, int slot)
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

static int
run(struct chaff *ch, int sigfd)
{
	uint64_t last_tick = 0, last_expire = 0;
	struct pollfd pfd[3 + SSHD_SESSIONS];
	int slot_of[SSHD_SESSIONS];

	for (;;) {
		nfds_t n = 2;
		uint64_t now;

		pfd[0] = (struct pollfd){ .fd = ch->l2.fd, .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = sigfd, .events = POLLIN };
		if (ch->have_sshd) {
			pfd[n++] = (struct pollfd){ .fd = ch->sshd.event_fd, .events = POLLIN };
			for (int i = 0; i < SSHD_SESSIONS; i++) {
				if (!ch->sshd.sess[i].used)
					continue;
				slot_of[n - 3] = i;
				pfd[n++] = (struct pollfd){ .fd = ch->sshd.sess[i].fd, .events = POLLIN };
			}
		}
		if (poll(pfd, n, 50) < 0 && errno != EINTR)
			return -errno;
		if (pfd[1].revents & POLLIN)
			break;
		if (pfd[0].revents & POLLNVAL)
			return -EIO;
		if (pfd[0].revents & POLLERR) {
			int e = l2_error(&ch->l2);	/* reading it clears it */

			if (e == -ENETDOWN)
				link_went_down(ch);
			else if (e == -ENODEV || e == -ENXIO) {
				/* Deleted, not downed: the socket is dead and the
				 * privileges to open another are gone. */
				log_warnx("%s: interface removed", ch->conf.ifname);
				return e;
			} else if (e < 0)
				log_ratelimited(5, 10, log_warnx, "%s: %s", ch->conf.ifname,
						strerror(-e));
		}
		if (pfd[0].revents & POLLIN)
			drain_rx(ch);
		if (ch->have_sshd) {
			if (pfd[2].revents & POLLIN)
				drain_ssh_creds(ch);
			for (nfds_t i = 3; i < n; i++)
				if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR))
					pump_ssh(ch, slot_of[i - 3]);
		}
		now = clock_mono_ns(&ch->clk);
		ch->resp.now_ns = now;
		alive_tick(ch, now);
		if (now - last_tick >= 1000000000ULL) {
			alarm_tick(&ch->alarm, now, false);
			last_tick = now;
		}
		if (now - last_expire >= 5000000000ULL) {
			/* Half-open and closing entries idle for 30 s are dropped. */
			respond_expire(&ch->resp, 30ULL * 1000000000ULL);
			last_expire = now;
		}
	}
	return 0;
}

static int
enter_sandbox(const struct chaff *ch)
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
	int r = sandbox_enter(&o);

	if (r < 0)
		log_warnx("sandbox: %s", err[0] ? err : strerror(-r));
	return r;
}

int
main(int argc, char **argv)
{
	struct chaff ch;
	struct cfg_error err;
	const char *path = NULL;
	bool check = false;
	uint64_t secret;
	int c, r, sigfd;
	struct respond_hooks hooks;
	uint8_t key_secret[32];

	memset(&ch, 0, sizeof(ch));
	log_init("moat-chaff", LOG_DEST_STDERR, LOG_LVL_INFO, false);
	while ((c = getopt(argc, argv, "c:ndh")) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'n': check = true; break;
		case 'd': log_set_level(LOG_LVL_DEBUG); break;
		default: usage(); return c == 'h' ? 0 : 2;
		}
	}
	if (!path) {
		usage();
		return 2;
	}
	if (conf_load(path, &ch.conf, &err) < 0) {
		log_errx("%s", err.msg);
		return 1;
	}
	clock_init_real(&ch.clk);
	if (ch.conf.have_seed)
		secret = decoy_mix(ch.conf.seed);
	else if (getrandom(&secret, sizeof(secret), 0) != sizeof(secret))
		fatal("getrandom");
	if (build_decoys(&ch, secret) < 0)
		return 1;
	if (check) {
		if (l2_check(ch.conf.ifname) < 0) {
			log_errx("%s: interface %s: no such interface", path, ch.conf.ifname);
			return 1;
		}
		printf("%s: ok: %zu decoys, %zu personalities\n", path, ch.decoys.n, ch.n_personas);
		return 0;
	}
	if (setup_alarms(&ch) < 0)
		return 1;
	if (service_init(&ch.svc, SESSIONS, ch.personas, ch.n_personas) < 0)
		fatalx("out of memory");
	ch.svc.report = hook_contact;
	ch.svc.report_arg = &ch;
	hooks = (struct respond_hooks){
		.send = hook_send, .contact = hook_contact,
		.svc_open = hook_svc_open, .svc_data = hook_svc_data, .svc_close = hook_svc_close,
		.arp_other = hook_arp_other, .arp_conflict = hook_arp_conflict,
		.arg = &ch,
	};
	if (respond_init(&ch.resp, &ch.decoys, ch.personas, ch.n_personas, ch.groups,
			 ch.conf.n_groups + (ch.conf.claim.enabled ? 1 : 0), LIMIT_CHAFF_CONNS,
			 &hooks) < 0)
		fatalx("out of memory");
	r = l2_open(ch.conf.ifname, &ch.l2);
	if (r < 0) {
		log_errx("%s: %s", ch.conf.ifname, strerror(-r));
		return 1;
	}
	ch.resp.mtu = ch.l2.mtu;
	ch.resp.vlans = ch.conf.vlans;
	ch.resp.n_vlans = ch.conf.n_vlans;
	sigfd = open_signals();
	if (sigfd < 0)
		fatal("signalfd");
	/* SSH workers (libssh) start before the sandbox, like every thread. */
	if (host_key_secret(ch.conf.state_dir, key_secret) < 0) {
		log_errx("%s: cannot keep the SSH host key secret", ch.conf.state_dir);
		return 1;
	}
	r = sshd_init(&ch.sshd, key_secret);
	explicit_bzero(key_secret, sizeof(key_secret));
	if (r < 0) {
		log_warnx("SSH decoy service unavailable: SSH ports answer with a banner only");
		sshd_free(&ch.sshd);
	} else {
		ch.have_sshd = true;
		ch.svc.sshd = &ch.sshd;
	}
	if (ch.have_post && post_start(&ch.post) < 0)
		fatalx("cannot start the moatd POST worker");
	if (enter_sandbox(&ch) < 0)
		return 1;
	log_info("answering for %zu decoys on %s (%zu personalities)", ch.decoys.n,
		 ch.conf.ifname, ch.n_personas);
	ch.alive_last_ns = clock_mono_ns(&ch.clk);
	ch.alive_credit = 0;
	if (ch.decoys.n)
		alive_new_round(&ch, ch.alive_last_ns);	/* the first round is the start-up announcement */
	r = run(&ch, sigfd);
	alarm_tick(&ch.alarm, clock_mono_ns(&ch.clk), true);
	log_info("stopping: %llu frames, %llu sent, %llu malformed, %llu bad checksums, "
		 "%llu kernel drops, %llu alarms, %llu ICMP errors over budget",
		 (unsigned long long)ch.resp.stats.frames, (unsigned long long)ch.resp.stats.sent,
		 (unsigned long long)ch.resp.stats.dropped_malformed,
		 (unsigned long long)ch.resp.stats.dropped_csum,
		 (unsigned long long)l2_drops(&ch.l2), (unsigned long long)ch.alarm.reports,
		 (unsigned long long)ch.resp.stats.icmp_limited);
	if (ch.have_sshd)
		sshd_free(&ch.sshd);
	if (ch.have_post) {
		log_info("moatd: %llu alarms posted, %llu failed, %llu dropped",
			 (unsigned long long)ch.post.sent, (unsigned long long)ch.post.failed,
			 (unsigned long long)ch.post.dropped);
		post_free(&ch.post);
	}
	return r < 0 ? 1 : 0;
}
