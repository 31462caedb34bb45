#include "collect/conf.h"

#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strnum.h"

static const char *const default_udp[] = {
	"0.0.0.0:2055", "[::]:2055", "0.0.0.0:4739", "[::]:4739", "0.0.0.0:6343", "[::]:6343",
};

int
collect_endpoint_parse(const char *s, struct collect_endpoint *ret)
{
	char host[IPADDR_STRLEN + 2];
	const char *colon;
	size_t hl;
	int64_t port;
	struct collect_endpoint ep;

	colon = strrchr(s, ':');
	if (colon == NULL || colon == s)
		return -EINVAL;
	hl = (size_t)(colon - s);
	if (s[0] == '[') {
		if (hl < 3 || s[hl - 1] != ']')
			return -EINVAL;
		s++;
		hl -= 2;
	} else if (memchr(s, ':', hl) != NULL) {
		return -EINVAL;	/* IPv6 needs brackets: "[2001:db8::1]:2055" */
	}
	if (hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (ipaddr_parse(host, &ep.addr) < 0 || strnum_i64(colon + 1, 1, 65535, &port) < 0)
		return -EINVAL;
	ep.port = (uint16_t)port;
	*ret = ep;
	return 0;
}

/* exporters: any | [PREFIX or ADDRESS, ...] into a. */
static int
parse_allow(const struct cfg_node *v, struct collect_allow *a, struct cfg_error *err)
{
	const char *s = cfg_kind(v) == CFG_SCALAR ? cfg_scalar(v) : NULL;

	memset(a, 0, sizeof(*a));
	if (s != NULL && strcmp(s, "any") == 0) {
		a->mode = COLLECT_ALLOW_ANY;
		return 0;
	}
	if (cfg_kind(v) != CFG_SEQ)
		return cfg_fail(err, v, "exporters: expected any or a list of prefixes");
	if (cfg_len(v) > LIMIT_COLLECT_ALLOW)
		return cfg_fail(err, v, "exporters: at most %u prefixes", LIMIT_COLLECT_ALLOW);
	a->mode = COLLECT_ALLOW_LIST;
	for (size_t i = 0; i < cfg_len(v); i++) {
		const struct cfg_node *e = cfg_seq_at(v, i);
		const char *t = cfg_scalar(e);

		if (t == NULL || prefix_parse(t, &a->p[a->n]) < 0)
			return cfg_fail(err, e, "exporters: expected a prefix or an address");
		a->n++;
	}
	return 0;
}

/* A sequence of "ADDR:PORT" strings, or {listen: ADDR:PORT, exporters: ...}
   maps, into eps. */
static int
parse_endpoints(const struct cfg_node *n, const char *key, struct collect_endpoint *eps,
    unsigned *ret_n, struct collect_conf *cc, struct cfg_error *err)
{
	static const char *const keys[] = { "listen", "exporters", NULL };
	const struct cfg_node *seq = NULL;
	int r = cfg_get_seq(n, key, &seq, err);

	if (r < 0 || seq == NULL)
		return r;
	if (cfg_len(seq) > LIMIT_COLLECT_LISTENERS)
		return cfg_fail(err, seq, "%s: at most %u listeners", key, LIMIT_COLLECT_LISTENERS);
	for (size_t i = 0; i < cfg_len(seq); i++) {
		const struct cfg_node *v = cfg_seq_at(seq, i);
		const char *s = cfg_scalar(v);

		if (cfg_kind(v) == CFG_MAP) {
			const struct cfg_node *ex = cfg_get(v, "exporters");

			if ((r = cfg_check_keys(v, keys, err)) < 0 ||
			    (r = cfg_get_str(v, "listen", &s, err)) < 0)
				return r;
			if (ex != NULL) {
				if ((r = parse_allow(ex, &cc->allow[cc->nallow], err)) < 0)
					return r;
				eps[i].allow = (int)cc->nallow++;
			}
		}
		if (s == NULL || collect_endpoint_parse(s, &eps[i]) < 0)
			return cfg_fail(err, v, "%s: expected ADDRESS:PORT, [IPv6]:PORT or "
			    "{listen: ADDRESS:PORT, exporters: [...]}", key);
	}
	*ret_n = (unsigned)cfg_len(seq);
	return 0;
}

bool
collect_allow_match(const struct collect_allow *a, const struct ipaddr *addr)
{
	static const uint8_t v6lo[16] = { [15] = 1 };

	if (a->mode == COLLECT_ALLOW_ANY)
		return true;
	for (unsigned i = 0; i < a->n; i++)
		if (prefix_contains(&a->p[i], addr))
			return true;
	if (a->mode == COLLECT_ALLOW_DEFAULT && a->n == 0)
		return (addr->af == AF_INET && addr->a[0] == 127) ||
		    (addr->af == AF_INET6 && memcmp(addr->a, v6lo, 16) == 0);
	return false;
}

static void
allow_add(struct collect_allow *a, const struct ipaddr *addr, unsigned len)
{
	struct prefix p;

	if (a->n >= LIMIT_COLLECT_ALLOW || prefix_make(addr, len, &p) < 0)
		return;
	for (unsigned i = 0; i < a->n; i++)
		if (prefix_equal(&a->p[i], &p))
			return;
	a->p[a->n++] = p;
}

static unsigned
mask_len(const struct sockaddr *sa)
{
	const uint8_t *b;
	size_t n;
	unsigned len = 0;

	if (sa->sa_family == AF_INET) {
		b = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
		n = 4;
	} else {
		b = (const uint8_t *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
		n = 16;
	}
	for (size_t i = 0; i < n && b[i] == 0xff; i++)
		len += 8;
	if (len < n * 8)
		for (uint8_t m = b[len / 8]; m & 0x80; m <<= 1)
			len++;
	return len;
}

int
collect_allow_default(struct collect_allow *ret)
{
	struct ifaddrs *ifa = NULL;
	struct ipaddr a;

	memset(ret, 0, sizeof(*ret));
	ret->mode = COLLECT_ALLOW_DEFAULT;
	if (ipaddr_parse("127.0.0.0", &a) == 0)
		allow_add(ret, &a, 8);
	if (ipaddr_parse("::1", &a) == 0)
		allow_add(ret, &a, 128);
	if (getifaddrs(&ifa) < 0)
		return -errno;
	for (struct ifaddrs *i = ifa; i != NULL; i = i->ifa_next) {
		const struct sockaddr *sa = i->ifa_addr;

		if (sa == NULL || i->ifa_netmask == NULL ||
		    (sa->sa_family != AF_INET && sa->sa_family != AF_INET6))
			continue;
		memset(&a, 0, sizeof(a));
		a.af = sa->sa_family;
		if (sa->sa_family == AF_INET)
			memcpy(a.a, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		else
			memcpy(a.a, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		allow_add(ret, &a, mask_len(i->ifa_netmask));
	}
	freeifaddrs(ifa);
	return 0;
}

void
collect_allow_format(const struct collect_allow *a, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	if (a->mode == COLLECT_ALLOW_ANY) {
		snprintf(buf, len, "any");
		return;
	}
	for (unsigned i = 0; i < a->n && off < len; i++) {
		char p[PREFIX_STRLEN];

		off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? ", " : "",
		    prefix_format(&a->p[i], p, sizeof(p)));
	}
}

static int
parse_sampling(const struct cfg_node *n, struct collect_conf *cc, struct cfg_error *err)
{
	static const char *const keys[] = { "exporter", "rate", NULL };
	const struct cfg_node *seq = NULL;
	size_t cap = sizeof(cc->sampling) / sizeof(cc->sampling[0]);
	int r = cfg_get_seq(n, "sampling", &seq, err);

	if (r < 0 || seq == NULL)
		return r;
	if (cfg_len(seq) > cap)
		return cfg_fail(err, seq, "sampling: at most %zu entries", cap);
	for (size_t i = 0; i < cfg_len(seq); i++) {
		const struct cfg_node *m = cfg_seq_at(seq, i);
		const char *addr = NULL;
		uint64_t rate = 0;

		if (cfg_kind(m) != CFG_MAP)
			return cfg_fail(err, m, "sampling: expected {exporter: ADDRESS, rate: N}");
		if ((r = cfg_check_keys(m, keys, err)) < 0 ||
		    (r = cfg_get_str(m, "exporter", &addr, err)) < 0 ||
		    (r = cfg_get_u64(m, "rate", 1, UINT32_MAX, &rate, err)) < 0)
			return r;
		if (addr == NULL || rate == 0)
			return cfg_fail(err, m, "sampling: exporter and rate are required");
		if (ipaddr_parse(addr, &cc->sampling[i].exporter) < 0)
			return cfg_fail(err, cfg_get(m, "exporter"), "exporter: expected an IP address");
		cc->sampling[i].rate = (uint32_t)rate;
	}
	cc->nsampling = (unsigned)cfg_len(seq);
	return 0;
}

static int
parse_capture(const struct cfg_node *n, struct collect_conf *cc, struct cfg_error *err)
{
	static const char *const keys[] = { "interface", "threads", NULL };
	const struct cfg_node *seq = NULL;
	int r = cfg_get_seq(n, "capture", &seq, err);

	if (r < 0 || seq == NULL)
		return r;
	if (cfg_len(seq) > LIMIT_COLLECT_LISTENERS)
		return cfg_fail(err, seq, "capture: at most %u interfaces", LIMIT_COLLECT_LISTENERS);
	for (size_t i = 0; i < cfg_len(seq); i++) {
		const struct cfg_node *m = cfg_seq_at(seq, i);
		const char *ifname = NULL;
		uint64_t threads = 1;

		if (cfg_kind(m) != CFG_MAP)
			return cfg_fail(err, m, "capture: expected {interface: NAME, threads: N}");
		if ((r = cfg_check_keys(m, keys, err)) < 0 ||
		    (r = cfg_get_str(m, "interface", &ifname, err)) < 0 ||
		    (r = cfg_get_u64(m, "threads", 1, LIMIT_COLLECT_CAPTURE_THREADS, &threads, err)) < 0)
			return r;
		if (ifname == NULL || strlen(ifname) == 0 || strlen(ifname) >= IF_NAMESIZE)
			return cfg_fail(err, m, "capture: interface: expected an interface name");
		strcpy(cc->capture[i].ifname, ifname);
		cc->capture[i].threads = (unsigned)threads;
	}
	cc->ncapture = (unsigned)cfg_len(seq);
	return 0;
}

/* speed: max | recorded | a factor in [0, 1000] (0 = max, 1 = recorded). */
static int
parse_speed(const struct cfg_node *m, double *ret, struct cfg_error *err)
{
	const struct cfg_node *v = cfg_get(m, "speed");
	const char *s;

	if (v == NULL)
		return 0;
	s = cfg_kind(v) == CFG_SCALAR ? cfg_scalar(v) : NULL;
	if (s != NULL && strcmp(s, "max") == 0)
		*ret = 0;
	else if (s != NULL && strcmp(s, "recorded") == 0)
		*ret = 1;
	else if (s == NULL || strnum_double(s, 0, 1000, ret) < 0)
		return cfg_fail(err, v, "speed: expected max, recorded or a factor in [0, 1000]");
	return 0;
}

static int
parse_pcap(const struct cfg_node *n, struct collect_conf *cc, struct cfg_error *err)
{
	static const char *const keys[] = { "file", "speed", NULL };
	const struct cfg_node *seq = NULL;
	int r = cfg_get_seq(n, "pcap", &seq, err);

	if (r < 0 || seq == NULL)
		return r;
	if (cfg_len(seq) > LIMIT_COLLECT_LISTENERS)
		return cfg_fail(err, seq, "pcap: at most %u files", LIMIT_COLLECT_LISTENERS);
	for (size_t i = 0; i < cfg_len(seq); i++) {
		const struct cfg_node *m = cfg_seq_at(seq, i);
		const char *file = NULL;
		double speed = 0;

		if (cfg_kind(m) != CFG_MAP)
			return cfg_fail(err, m, "pcap: expected {file: PATH, speed: X}");
		if ((r = cfg_check_keys(m, keys, err)) < 0 ||
		    (r = cfg_get_str(m, "file", &file, err)) < 0 ||
		    (r = parse_speed(m, &speed, err)) < 0)
			return r;
		if (file == NULL)
			return cfg_fail(err, m, "pcap: file is required");
		cc->pcap[i].file = strdup(file);
		if (cc->pcap[i].file == NULL)
			return -ENOMEM;
		cc->pcap[i].speed = speed;
		cc->npcap = (unsigned)i + 1;
	}
	return 0;
}

/* clock: real | packet; packet time admits exactly one pcap and nothing live. */
static int
parse_clock(const struct cfg_node *n, struct collect_conf *cc, struct cfg_error *err)
{
	static const char *const live[] = { "udp", "tcp", "capture" };
	const struct cfg_node *v = cfg_get(n, "clock");
	const char *s = v && cfg_kind(v) == CFG_SCALAR ? cfg_scalar(v) : NULL;

	if (v == NULL || (s != NULL && strcmp(s, "real") == 0))
		return 0;
	if (s == NULL || strcmp(s, "packet") != 0)
		return cfg_fail(err, v, "clock: expected real or packet");
	for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++)
		if (cfg_get(n, live[i]) != NULL)
			return cfg_fail(err, cfg_get(n, live[i]), "%s: live inputs cannot run on "
			    "packet time (clock: packet replays one pcap file and nothing else)",
			    live[i]);
	if (cc->npcap != 1)
		return cfg_fail(err, v, "clock: packet needs exactly one pcap file (got %u)",
		    cc->npcap);
	cc->packet_time = true;
	return 0;
}

static void
default_listeners(struct collect_conf *cc)
{
	for (size_t i = 0; i < sizeof(default_udp) / sizeof(default_udp[0]); i++)
		if (collect_endpoint_parse(default_udp[i], &cc->udp[cc->nudp]) == 0)
			cc->nudp++;
}

int
collect_conf_parse(struct settings *c, const struct cfg_node *n, void **ret_ext,
    struct cfg_error *err)
{
	static const char *const keys[] = { "udp", "tcp", "sampling", "capture", "pcap", "clock",
		"exporters", NULL };
	struct collect_conf *cc;
	int r;

	(void)c;
	if (n == NULL) {
		*ret_ext = NULL;
		return 0;
	}
	if (cfg_kind(n) != CFG_MAP && !(cfg_kind(n) == CFG_SCALAR && cfg_scalar(n)[0] == '\0'))
		return cfg_fail(err, n, "collect: expected a map");
	cc = calloc(1, sizeof(*cc));
	if (cc == NULL)
		return -ENOMEM;
	cc->nallow = 1;		/* allow[0]: the section's, DEFAULT unless set */
	if (cfg_kind(n) == CFG_MAP) {
		if ((r = cfg_check_keys(n, keys, err)) < 0 ||
		    (cfg_get(n, "exporters") != NULL &&
		    (r = parse_allow(cfg_get(n, "exporters"), &cc->allow[0], err)) < 0) ||
		    (r = parse_endpoints(n, "udp", cc->udp, &cc->nudp, cc, err)) < 0 ||
		    (r = parse_endpoints(n, "tcp", cc->tcp, &cc->ntcp, cc, err)) < 0 ||
		    (r = parse_sampling(n, cc, err)) < 0 || (r = parse_capture(n, cc, err)) < 0 ||
		    (r = parse_pcap(n, cc, err)) < 0 || (r = parse_clock(n, cc, err)) < 0)
			goto fail;
	}
	if (!cc->packet_time && (cfg_kind(n) != CFG_MAP || cfg_get(n, "udp") == NULL))
		default_listeners(cc);
	*ret_ext = cc;
	return 0;
fail:
	collect_conf_free(cc);
	return r;
}

void
collect_conf_free(void *ext)
{
	struct collect_conf *cc = ext;

	if (cc == NULL)
		return;
	for (unsigned i = 0; i < cc->npcap; i++)
		free(cc->pcap[i].file);
	free(cc);
}
