#include "collect/conf.h"

#include <errno.h>
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

/* A sequence of "ADDR:PORT" strings into eps. */
static int
parse_endpoints(const struct cfg_node *n, const char *key, struct collect_endpoint *eps,
    unsigned *ret_n, struct cfg_error *err)
{
	const struct cfg_node *seq = NULL;
	int r = cfg_get_seq(n, key, &seq, err);

	if (r < 0 || seq == NULL)
		return r;
	if (cfg_len(seq) > LIMIT_COLLECT_LISTENERS)
		return cfg_fail(err, seq, "%s: at most %u listeners", key, LIMIT_COLLECT_LISTENERS);
	for (size_t i = 0; i < cfg_len(seq); i++) {
		const struct cfg_node *v = cfg_seq_at(seq, i);
		const char *s = cfg_scalar(v);

		if (s == NULL || collect_endpoint_parse(s, &eps[i]) < 0)
			return cfg_fail(err, v, "%s: expected ADDRESS:PORT or [IPv6]:PORT", key);
	}
	*ret_n = (unsigned)cfg_len(seq);
	return 0;
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
		NULL };
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
	if (cfg_kind(n) == CFG_MAP) {
		if ((r = cfg_check_keys(n, keys, err)) < 0 ||
		    (r = parse_endpoints(n, "udp", cc->udp, &cc->nudp, err)) < 0 ||
		    (r = parse_endpoints(n, "tcp", cc->tcp, &cc->ntcp, err)) < 0 ||
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
