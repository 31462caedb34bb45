/*
 * policy: defaults, YAML loading and the checks the broker asks. See policy.h.
 */
#include "ins/policy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cfg.h"
#include "common/limits.h"
#include "common/strnum.h"

void
policy_default(struct policy *p)
{
	memset(p, 0, sizeof(*p));
	p->allow_udp = true;
	p->mark = POLICY_MARK_BASE;	/* until moat-ins claims a free one */
	p->mark_auto = true;
	p->bind_port_min = 1;
	p->bind_port_max = 65535;
	p->hold = POLICY_HOLD_NONE;
	p->hold_timeout_ms = 5000;
	p->max_held_per_source = 1024;
	p->deny_after_drops = 16;
	p->deny_seconds = 60;
	p->observe_ms = 1000;
	p->idle_timeout_s = 0;
	p->slow_grace_ms = 1000;
	p->slow_window_ms = 2000;
	p->min_rate = 64;
	p->read_pause_ms = 10000;
	p->read_pause_min_bytes = 65536;
	p->nsrc4 = 2;
	p->src4_len[0] = 32;
	p->src4_len[1] = 24;
	p->nsrc6 = 2;
	p->src6_len[0] = 64;
	p->src6_len[1] = 48;
}

struct srctab_prefixes
policy_src_prefixes(const struct policy *p)
{
	return (struct srctab_prefixes){ .n4 = p->nsrc4, .n6 = p->nsrc6, .len4 = p->src4_len,
					 .len6 = p->src6_len };
}

enum policy_hold
policy_hold_for(const struct policy *p, uint16_t port)
{
	for (unsigned i = 0; i < p->nlisteners; i++)
		if (p->listeners[i].port == port)
			return p->listeners[i].hold;
	return p->hold;
}

static const char *const policy_hold_names[] = {
	[POLICY_HOLD_NONE] = "none",
	[POLICY_HOLD_DATA] = "data",
	[POLICY_HOLD_HTTP] = "http",
};

int
policy_hold_parse(const char *s, enum policy_hold *ret)
{
	for (size_t i = 0; i < sizeof(policy_hold_names) / sizeof(policy_hold_names[0]); i++) {
		if (strcmp(s, policy_hold_names[i]) == 0) {
			*ret = (enum policy_hold)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *
policy_hold_name(enum policy_hold h)
{
	return (unsigned)h < sizeof(policy_hold_names) / sizeof(policy_hold_names[0])
		       ? policy_hold_names[h] : "?";
}

/* True if the bits of addr past len are all zero. */
static bool
policy_host_bits_zero(const uint8_t *addr, unsigned len, unsigned width)
{
	for (unsigned bit = len; bit < width; bit++)
		if (addr[bit / 8] & (0x80u >> (bit % 8)))
			return false;
	return true;
}

static const uint8_t policy_v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

static bool
policy_is_v4mapped(uint8_t family, const uint8_t *addr)
{
	return family == INS_AF_INET6 && memcmp(addr, policy_v4mapped, 12) == 0;
}

/*
 * An IPv4-mapped prefix (::ffff:192.0.2.0/120) is the IPv4 prefix it maps:
 * traffic to it leaves as IPv4, which is what the kernel rules see.
 */
static void
policy_unmap_prefix(struct policy_prefix *p)
{
	if (!policy_is_v4mapped(p->family, p->addr) || p->len < 96)
		return;
	memmove(p->addr, p->addr + 12, 4);
	memset(p->addr + 4, 0, 12);
	p->family = INS_AF_INET;
	p->len = (uint8_t)(p->len - 96);
}

int
policy_prefix_parse(const char *s, struct policy_prefix *ret)
{
	char host[64];
	const char *slash = strchr(s, '/');
	size_t hlen = slash ? (size_t)(slash - s) : strlen(s);
	struct policy_prefix p;
	unsigned width;
	int64_t len;

	memset(&p, 0, sizeof(p));
	if (hlen == 0 || hlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (inet_pton(AF_INET, host, p.addr) == 1) {
		p.family = INS_AF_INET;
		width = 32;
	} else if (inet_pton(AF_INET6, host, p.addr) == 1) {
		p.family = INS_AF_INET6;
		width = 128;
	} else {
		return -EINVAL;
	}
	len = width;
	if (slash && strnum_i64(slash + 1, 0, width, &len) < 0)
		return -EINVAL;
	if (!policy_host_bits_zero(p.addr, (unsigned)len, width))
		return -EINVAL;
	p.len = (uint8_t)len;
	policy_unmap_prefix(&p);
	*ret = p;
	return 0;
}

static bool
policy_prefix_match(const struct policy_prefix *p, const struct ins_addr *a)
{
	unsigned full = p->len / 8, rest = p->len % 8;

	if (p->family != a->family)
		return false;
	if (memcmp(p->addr, a->addr, full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((p->addr[full] ^ a->addr[full]) & (0xffu << (8 - rest))) == 0;
}

int
policy_check_socket(const struct policy *p, uint8_t family, uint8_t socktype)
{
	if (family == INS_AF_NETLINK_ROUTE)	/* reading interfaces: see insproto.h */
		return socktype == INS_SOCK_RAW || socktype == INS_SOCK_DGRAM ? 0 : -EPROTONOSUPPORT;
	if (family != INS_AF_INET && family != INS_AF_INET6)
		return -EAFNOSUPPORT;
	if (socktype == INS_SOCK_STREAM)
		return 0;
	if (socktype == INS_SOCK_DGRAM)
		return p->allow_udp ? 0 : -EACCES;
	return -EPROTONOSUPPORT;
}

static bool
policy_ids_has(const struct policy_ids *ids, uint32_t id)
{
	for (unsigned i = 0; i < ids->n; i++)
		if (ids->id[i] == id)
			return true;
	return false;
}

int
policy_check_bind(const struct policy *p, const struct ins_addr *a, uint32_t uid)
{
	if (a->port == 0)
		return 0;	/* an ephemeral port is always fine */
	if (a->port < p->bind_port_min || a->port > p->bind_port_max)
		return -EACCES;
	if (a->port < POLICY_PRIV_PORT && uid != 0 && !policy_ids_has(&p->priv_uids, uid))
		return -EACCES;
	return 0;
}

int
policy_check_client(const struct policy *p, uint32_t uid, uint32_t gid)
{
	if (uid == 0 || !p->clients_set)
		return 0;
	if (policy_ids_has(&p->client_uids, uid) || policy_ids_has(&p->client_gids, gid))
		return 0;
	return -EACCES;
}

int
policy_check_connect(const struct policy *p, uint8_t socktype, const struct ins_addr *a)
{
	struct ins_addr v4;

	if (socktype == INS_SOCK_DGRAM && !p->allow_udp)
		return -EACCES;
	if (p->nconnect == 0)
		return 0;
	/* A dual-stack socket's ::ffff:a.b.c.d is a.b.c.d on the wire, as for the kernel rules. */
	if (policy_is_v4mapped(a->family, a->addr)) {
		v4 = *a;
		v4.family = INS_AF_INET;
		memmove(v4.addr, a->addr + 12, 4);
		memset(v4.addr + 4, 0, 12);
		a = &v4;
	}
	for (unsigned i = 0; i < p->nconnect; i++)
		if (policy_prefix_match(&p->connect_allow[i], a))
			return 0;
	return -ENETUNREACH;
}

/* --- YAML --- */

/* A user (or group) given by name or number: its id. */
static int
policy_id_parse(const char *s, bool group, uint32_t *ret)
{
	char buf[4096];
	uint64_t v;
	int r;

	if (strnum_u64(s, 0, UINT32_MAX - 1, &v) == 0) {
		*ret = (uint32_t)v;
		return 0;
	}
	if (group) {
		struct group gr, *g = NULL;

		r = getgrnam_r(s, &gr, buf, sizeof(buf), &g);
		if (r != 0 || !g)
			return -ENOENT;
		*ret = (uint32_t)g->gr_gid;
	} else {
		struct passwd pw, *u = NULL;

		r = getpwnam_r(s, &pw, buf, sizeof(buf), &u);
		if (r != 0 || !u)
			return -ENOENT;
		*ret = (uint32_t)u->pw_uid;
	}
	return 0;
}

/* key: [name or id, ...] into ids; *ret_set tells whether the key was there. */
static int
policy_load_ids(const struct cfg_node *m, const char *key, bool group, struct policy_ids *ids,
		bool *ret_set, struct cfg_error *err)
{
	const struct cfg_node *seq = NULL;
	int r;

	if ((r = cfg_get_seq(m, key, &seq, err)) < 0 || !seq)
		return r;
	if (cfg_len(seq) > POLICY_MAX_IDS)
		return cfg_fail(err, seq, "at most %d entries", POLICY_MAX_IDS);
	ids->n = 0;
	for (size_t i = 0; i < cfg_len(seq); i++) {
		const struct cfg_node *n = cfg_seq_at(seq, i);
		const char *s = cfg_scalar(n);

		if (!s || policy_id_parse(s, group, &ids->id[ids->n]) < 0)
			return cfg_fail(err, n, "%s: no such %s", s ? s : "?", group ? "group" : "user");
		ids->n++;
	}
	if (ret_set)
		*ret_set = true;
	return 0;
}

static int
policy_load_clients(const struct cfg_node *root, struct policy *p, struct cfg_error *err)
{
	static const char *const keys[] = { "users", "groups", NULL };
	const struct cfg_node *m = NULL;
	int r;

	if ((r = cfg_get_map(root, "clients", &m, err)) < 0 || !m)
		return r;
	if ((r = cfg_check_keys(m, keys, err)) < 0 ||
	    (r = policy_load_ids(m, "users", false, &p->client_uids, &p->clients_set, err)) < 0 ||
	    (r = policy_load_ids(m, "groups", true, &p->client_gids, &p->clients_set, err)) < 0)
		return r;
	return 0;
}

static int
policy_load_bind(const struct cfg_node *root, struct policy *p, struct cfg_error *err)
{
	static const char *const keys[] = { "port_min", "port_max", "privileged_users", NULL };
	const struct cfg_node *m = NULL;
	uint64_t lo = p->bind_port_min, hi = p->bind_port_max;
	int r;

	if ((r = cfg_get_map(root, "bind", &m, err)) < 0 || !m)
		return r;
	if ((r = cfg_check_keys(m, keys, err)) < 0 ||
	    (r = cfg_get_u64(m, "port_min", 1, 65535, &lo, err)) < 0 ||
	    (r = cfg_get_u64(m, "port_max", 1, 65535, &hi, err)) < 0 ||
	    (r = policy_load_ids(m, "privileged_users", false, &p->priv_uids, NULL, err)) < 0)
		return r;
	if (lo > hi)
		return cfg_fail(err, m, "port_min must not exceed port_max");
	p->bind_port_min = (uint16_t)lo;
	p->bind_port_max = (uint16_t)hi;
	return 0;
}

static int
policy_load_connect(const struct cfg_node *root, struct policy *p, struct cfg_error *err)
{
	static const char *const keys[] = { "allow", "udp", "mark", NULL };
	const struct cfg_node *m = NULL, *seq = NULL;
	uint64_t mark = p->mark;
	int r;

	if ((r = cfg_get_map(root, "connect", &m, err)) < 0 || !m)
		return r;
	if ((r = cfg_check_keys(m, keys, err)) < 0 ||
	    (r = cfg_get_bool(m, "udp", &p->allow_udp, err)) < 0 ||
	    (r = cfg_get_u64(m, "mark", 0, UINT32_MAX, &mark, err)) < 0)
		return r;
	if (cfg_get(m, "mark")) {
		p->mark = (uint32_t)mark;
		p->mark_auto = false;
	}
	if ((r = cfg_get_seq(m, "allow", &seq, err)) < 0 || !seq)
		return r;
	if (cfg_len(seq) > POLICY_MAX_PREFIXES)
		return cfg_fail(err, seq, "at most %d prefixes", POLICY_MAX_PREFIXES);
	p->nconnect = 0;
	for (size_t i = 0; i < cfg_len(seq); i++) {
		const struct cfg_node *n = cfg_seq_at(seq, i);
		const char *s = cfg_scalar(n);

		if (!s || policy_prefix_parse(s, &p->connect_allow[p->nconnect]) < 0)
			return cfg_fail(err, n, "expected a prefix like 192.0.2.0/24");
		p->nconnect++;
	}
	return 0;
}

static int
policy_load_hold(const struct cfg_node *root, struct policy *p, struct cfg_error *err)
{
	static const char *const keys[] = { "mode", "timeout_ms", "max_per_source",
					    "max_conns_per_source", NULL };
	const struct cfg_node *m = NULL;
	const char *mode = NULL;
	uint64_t t = p->hold_timeout_ms, per = p->max_held_per_source;
	uint64_t conns = p->max_conns_per_source;
	int r;

	if ((r = cfg_get_map(root, "hold", &m, err)) < 0 || !m)
		return r;
	if ((r = cfg_check_keys(m, keys, err)) < 0 ||
	    (r = cfg_get_str(m, "mode", &mode, err)) < 0 ||
	    (r = cfg_get_u64(m, "timeout_ms", 10, 600000, &t, err)) < 0 ||
	    (r = cfg_get_u64(m, "max_per_source", 1, LIMIT_INS_HELD, &per, err)) < 0 ||
	    (r = cfg_get_u64(m, "max_conns_per_source", 0, 1u << 24, &conns, err)) < 0)
		return r;
	if (mode && policy_hold_parse(mode, &p->hold) < 0)
		return cfg_fail(err, cfg_get(m, "mode"), "mode: expected none, data or http");
	p->hold_timeout_ms = (uint32_t)t;
	p->max_held_per_source = (uint32_t)per;
	p->max_conns_per_source = (uint32_t)conns;
	return 0;
}

static int
policy_load_shed(const struct cfg_node *root, struct policy *p, struct cfg_error *err)
{
	static const char *const keys[] = { "deny_after_drops", "deny_for", "observe_ms",
					    "idle_timeout", "grace_ms", "window_ms", "min_rate",
					    "read_pause_ms", "read_pause_min_bytes", NULL };
	const struct cfg_node *m = NULL;
	uint64_t drops = p->deny_after_drops, obs = p->observe_ms;
	uint64_t grace = p->slow_grace_ms, win = p->slow_window_ms, rate = p->min_rate;
	uint64_t pause = p->read_pause_ms, pause_min = p->read_pause_min_bytes;
	int64_t deny = p->deny_seconds, idle = p->idle_timeout_s;
	int r;

	if ((r = cfg_get_map(root, "shed", &m, err)) < 0 || !m)
		return r;
	if ((r = cfg_check_keys(m, keys, err)) < 0 ||
	    (r = cfg_get_u64(m, "deny_after_drops", 1, 1000000, &drops, err)) < 0 ||
	    (r = cfg_get_duration(m, "deny_for", 0, 86400, &deny, err)) < 0 ||
	    (r = cfg_get_u64(m, "observe_ms", 0, 60000, &obs, err)) < 0 ||
	    (r = cfg_get_duration(m, "idle_timeout", 0, 86400, &idle, err)) < 0 ||
	    (r = cfg_get_u64(m, "grace_ms", 0, 3600000, &grace, err)) < 0 ||
	    (r = cfg_get_u64(m, "window_ms", 500, 600000, &win, err)) < 0 ||
	    (r = cfg_get_u64(m, "min_rate", 0, 1u << 30, &rate, err)) < 0 ||
	    (r = cfg_get_u64(m, "read_pause_ms", 0, 60000, &pause, err)) < 0 ||
	    (r = cfg_get_u64(m, "read_pause_min_bytes", 0, 1u << 30, &pause_min, err)) < 0)
		return r;
	if (obs != 0 && obs < 100)
		return cfg_fail(err, cfg_get(m, "observe_ms"), "observe_ms: 0 (off) or >= 100");
	p->deny_after_drops = (uint32_t)drops;
	p->deny_seconds = (uint32_t)deny;
	p->observe_ms = (uint32_t)obs;
	p->idle_timeout_s = (uint32_t)idle;
	p->slow_grace_ms = (uint32_t)grace;
	p->slow_window_ms = (uint32_t)win;
	p->min_rate = (uint32_t)rate;
	p->read_pause_ms = (uint32_t)pause;
	p->read_pause_min_bytes = (uint32_t)pause_min;
	return 0;
}

/* One family's list of prefix lengths (finest first, at most POLICY_MAX_SRC_LEVELS). */
static int
policy_load_src_lens(const struct cfg_node *m, const char *key, unsigned width, unsigned *ret_n,
		     uint8_t *lens, struct cfg_error *err)
{
	const struct cfg_node *seq = NULL;
	int r;

	if ((r = cfg_get_seq(m, key, &seq, err)) < 0 || !seq)
		return r;
	if (cfg_len(seq) < 1 || cfg_len(seq) > POLICY_MAX_SRC_LEVELS)
		return cfg_fail(err, seq, "%s: 1 or %d prefix lengths", key, POLICY_MAX_SRC_LEVELS);
	for (size_t i = 0; i < cfg_len(seq); i++) {
		const struct cfg_node *n = cfg_seq_at(seq, i);
		const char *v = cfg_scalar(n);
		uint64_t len;

		if (!v || strnum_u64(v, 1, width, &len) < 0 || (i > 0 && len >= lens[i - 1]))
			return cfg_fail(err, n, "%s: prefix lengths 1..%u, finest first", key, width);
		lens[i] = (uint8_t)len;
	}
	*ret_n = (unsigned)cfg_len(seq);
	return 0;
}

static int
policy_load_sources(const struct cfg_node *root, struct policy *p, struct cfg_error *err)
{
	static const char *const keys[] = { "ipv4_prefixes", "ipv6_prefixes", NULL };
	const struct cfg_node *m = NULL;
	int r;

	if ((r = cfg_get_map(root, "sources", &m, err)) < 0 || !m)
		return r;
	if ((r = cfg_check_keys(m, keys, err)) < 0 ||
	    (r = policy_load_src_lens(m, "ipv4_prefixes", 32, &p->nsrc4, p->src4_len, err)) < 0 ||
	    (r = policy_load_src_lens(m, "ipv6_prefixes", 128, &p->nsrc6, p->src6_len, err)) < 0)
		return r;
	return 0;
}

static int
policy_load_listeners(const struct cfg_node *root, struct policy *p, struct cfg_error *err)
{
	static const char *const keys[] = { "port", "hold", NULL };
	const struct cfg_node *seq = NULL;
	int r;

	if ((r = cfg_get_seq(root, "listeners", &seq, err)) < 0 || !seq)
		return r;
	if (cfg_len(seq) > POLICY_MAX_LISTENERS)
		return cfg_fail(err, seq, "at most %d listeners", POLICY_MAX_LISTENERS);
	p->nlisteners = 0;
	for (size_t i = 0; i < cfg_len(seq); i++) {
		const struct cfg_node *n = cfg_seq_at(seq, i);
		struct policy_listener *l = &p->listeners[p->nlisteners];
		const char *hold = NULL;
		uint64_t port = 0;

		if (cfg_kind(n) != CFG_MAP)
			return cfg_fail(err, n, "expected {port: N, hold: none|data|http}");
		if ((r = cfg_check_keys(n, keys, err)) < 0 ||
		    (r = cfg_get_u64(n, "port", 1, 65535, &port, err)) < 0 ||
		    (r = cfg_get_str(n, "hold", &hold, err)) < 0)
			return r;
		if (!cfg_get(n, "port") || !hold)
			return cfg_fail(err, n, "a listener needs port and hold");
		if (policy_hold_parse(hold, &l->hold) < 0)
			return cfg_fail(err, cfg_get(n, "hold"), "hold: expected none, data or http");
		for (unsigned j = 0; j < p->nlisteners; j++)
			if (p->listeners[j].port == port)
				return cfg_fail(err, n, "port %u listed twice", (unsigned)port);
		l->port = (uint16_t)port;
		p->nlisteners++;
	}
	return 0;
}

/* Parse a loaded document over *p; frees doc. *p only on success. */
static int
policy_from_doc(struct cfg_doc *doc, struct policy *p, struct cfg_error *err)
{
	static const char *const keys[] = { "bind", "clients", "connect", "hold", "shed",
					    "sources", "listeners", NULL };
	const struct cfg_node *root = cfg_root(doc);
	struct policy tmp = *p;
	int r = 0;

	if (!root)
		goto out;	/* an empty file keeps the defaults */
	if (cfg_kind(root) != CFG_MAP) {
		r = cfg_fail(err, root, "expected a map with keys bind, clients, connect, hold, shed, "
			     "sources, listeners");
		goto out;
	}
	if ((r = cfg_check_keys(root, keys, err)) < 0 || (r = policy_load_bind(root, &tmp, err)) < 0 ||
	    (r = policy_load_clients(root, &tmp, err)) < 0 ||
	    (r = policy_load_connect(root, &tmp, err)) < 0 ||
	    (r = policy_load_hold(root, &tmp, err)) < 0 || (r = policy_load_shed(root, &tmp, err)) < 0 ||
	    (r = policy_load_sources(root, &tmp, err)) < 0 ||
	    (r = policy_load_listeners(root, &tmp, err)) < 0)
		goto out;
	*p = tmp;
out:
	cfg_free(doc);
	return r;
}

int
policy_load(const char *path, struct policy *p, struct cfg_error *err)
{
	struct cfg_doc *doc = NULL;
	int r = cfg_load_file(path, &doc, err);

	return r < 0 ? r : policy_from_doc(doc, p, err);
}

int
policy_load_buffer(const char *name, const char *buf, size_t len, struct policy *p,
		   struct cfg_error *err)
{
	struct cfg_doc *doc = NULL;
	int r = cfg_load_buffer(name, buf, len, &doc, err);

	return r < 0 ? r : policy_from_doc(doc, p, err);
}
