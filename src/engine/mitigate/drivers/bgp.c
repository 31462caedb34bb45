/*
 * drv_bgp: mitigation upstream, through a real BGP speaker (GoBGP).
 *
 * gobgpd is run by the operator (it owns the sessions with the upstream
 * routers); moatd drives it with its `gobgp` command line over the gRPC API
 * address given in the config, and reads its RIB back as JSON. Two modes:
 *   blackhole — the target host route (/32, /128) with the RFC 7999
 *               BLACKHOLE community (65535:666, configurable) and a discard
 *               next hop;
 *   flowspec  — an RFC 8955 rule matching destination (and protocol, ports,
 *               sources, per the scope) with the traffic-rate 0 ("discard")
 *               action.
 * Every path carries one BGP large community <local_as>:<rule id high 32
 * bits>:<low 32 bits> per rule that wants it (a blackhole route wanted by
 * two attacks carries both), which is how withdraw removes exactly one
 * rule's claim and how a restarted moatd reads back what is announced. Operators who do not
 * want these tags upstream strip large communities on export.
 *
 * gobgp runs on a worker thread of the driver's own, never on the caller's
 * (the engine's loop, or moatd's privileged part, which the loop waits
 * for): apply() and withdraw() validate, queue the operation in order and
 * return. The worker runs each with gobgp's timeout; a failure is counted
 * and kept as the last error for status(), and the manager's periodic
 * reconciliation re-installs what is missing. After each batch of
 * operations, and every BGP_REFRESH_S, the worker reads the RIB and the
 * neighbours back into a cache: installed() answers from it when it is
 * current (read after the last queued operation ran, at most BGP_CACHE_TTL_S
 * old), else asks for a new read and waits at most BGP_WAIT_MS for it;
 * if gobgp's last read failed it answers that error at once. peers() answers
 * from the cache only. So no call waits more than BGP_WAIT_MS on gobgpd.
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

#include "common/log.h"
#include "common/spawn.h"
#include "common/strnum.h"
#include "engine/mitigate/manager.h"

/* gobgp output we read back: the whole local RIB of one family. */
#define BGP_MAX_OUTPUT (8u << 20)
/* Arguments of one gobgp call. */
#define BGP_MAX_ARGS 64
/* Rule ids one path may carry (one large community each); more attacks on one host decline. */
#define BGP_MAX_TAGS 8
/* Operations waiting for the worker; more are refused (max_mitigations is 50 by default). */
#define BGP_MAX_QUEUE 256u
/* Neighbours the cache keeps (the priv channel's PEERS cap). */
#define BGP_MAX_PEERS 64u
/* The worker re-reads the RIB this often when idle. */
#define BGP_REFRESH_S 30u
/* A cached read older than this is not an answer to installed(). */
#define BGP_CACHE_TTL_S 45u
/* installed() waits at most this long for a new read. */
#define BGP_WAIT_MS 1000u

enum bgp_mode { BGP_BLACKHOLE, BGP_FLOWSPEC };

enum bgp_op_kind { BGP_OP_APPLY, BGP_OP_WITHDRAW };

struct bgp_op {
	enum bgp_op_kind kind;
	uint64_t id;		/* withdraw: the rule id */
	struct mit_rule rule;	/* apply */
};

/*
 * What the caller and the worker share, under mu. seq_in counts operations
 * queued, seq_done those the worker finished; a read of the RIB that began
 * when seq_done == seq_in (cache_seq) shows every operation queued so far.
 */
struct bgp_async {
	pthread_mutex_t mu;
	pthread_cond_t work;		/* the worker waits here */
	pthread_cond_t done;		/* installed() waits here for a read */
	pthread_t thread;
	bool started, stopping;
	uint64_t stop_deadline_ns;	/* close(): queued operations left at this time are abandoned */
	struct bgp_op *q;		/* ring of BGP_MAX_QUEUE */
	struct bgp_op cur;		/* the worker's: the operation it runs, unlocked */
	size_t q_head, q_n;
	uint64_t seq_in, seq_done;
	bool refresh_wanted;
	uint64_t next_refresh_ns;
	bool cache_have;		/* a read finished (cache_err says how) */
	int cache_err;
	uint64_t cache_seq, cache_ns;
	uint64_t *cache_ids;
	size_t cache_n;
	bool peers_have;
	struct ipaddr peers[BGP_MAX_PEERS];
	size_t n_peers;
	struct mit_driver_status st;
};

struct drv_bgp {
	char gobgp[256];
	char host[64];
	char port[8];
	enum bgp_mode mode;
	uint32_t local_as;
	char next_hop4[IPADDR_STRLEN];
	char next_hop6[IPADDR_STRLEN];
	char community[64];
	int64_t timeout_ms;
	char werr[128];		/* the worker's: why its last gobgp call failed */
	struct bgp_async a;
};

/* ---- the shared state ---- */

static uint64_t
bgp_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Mutex and condition variables only: no thread until the first call. */
static int
bgp_async_init(struct bgp_async *a)
{
	pthread_condattr_t ca;
	int r;

	if ((r = pthread_condattr_init(&ca)) != 0)
		return -r;
	(void)pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if ((r = pthread_mutex_init(&a->mu, NULL)) != 0) {
		pthread_condattr_destroy(&ca);
		return -r;
	}
	if ((r = pthread_cond_init(&a->work, &ca)) != 0) {
		pthread_mutex_destroy(&a->mu);
		pthread_condattr_destroy(&ca);
		return -r;
	}
	if ((r = pthread_cond_init(&a->done, &ca)) != 0) {
		pthread_cond_destroy(&a->work);
		pthread_mutex_destroy(&a->mu);
		pthread_condattr_destroy(&ca);
		return -r;
	}
	pthread_condattr_destroy(&ca);
	return 0;
}

static void
bgp_timespec(uint64_t ns, struct timespec *ts)
{
	ts->tv_sec = (time_t)(ns / 1000000000u);
	ts->tv_nsec = (long)(ns % 1000000000u);
}

/* ---- configuration ---- */

static int
bgp_parse_api(struct drv_bgp *d, const struct cfg_node *conf, struct cfg_error *err)
{
	const char *api = NULL, *colon;
	uint64_t port;
	int r;

	if ((r = cfg_get_str(conf, "api", &api, err)) < 0 || api == NULL)
		return r;
	colon = strrchr(api, ':');
	if (colon == NULL || colon == api || (size_t)(colon - api) >= sizeof(d->host) ||
	    strnum_u64(colon + 1, 1, 65535, &port) < 0)
		return cfg_fail(err, cfg_get(conf, "api"), "api: expected HOST:PORT of gobgpd's gRPC API");
	snprintf(d->host, sizeof(d->host), "%.*s", (int)(colon - api), api);
	snprintf(d->port, sizeof(d->port), "%" PRIu64, port);
	return 0;
}

static int
bgp_parse_str(const struct cfg_node *conf, const char *key, char *dst, size_t len,
    struct cfg_error *err)
{
	const char *s = NULL;
	int r;

	if ((r = cfg_get_str(conf, key, &s, err)) < 0 || s == NULL)
		return r;
	if (strlen(s) >= len)
		return cfg_fail(err, cfg_get(conf, key), "%s: too long", key);
	snprintf(dst, len, "%s", s);
	return 0;
}

static int
bgp_parse_conf(struct drv_bgp *d, const struct cfg_node *conf, struct cfg_error *err)
{
	static const char *const keys[] = { "gobgp", "api", "mode", "local_as", "next_hop",
		"next_hop6", "community", "timeout_ms", NULL };
	const char *mode = NULL;
	struct ipaddr a;
	uint64_t as = 0;
	int r;

	if (conf == NULL)
		return cfg_fail(err, NULL, "bgp: the driver needs at least local_as");
	if ((r = cfg_check_keys(conf, keys, err)) < 0 ||
	    (r = bgp_parse_str(conf, "gobgp", d->gobgp, sizeof(d->gobgp), err)) < 0 ||
	    (r = bgp_parse_api(d, conf, err)) < 0 ||
	    (r = cfg_get_str(conf, "mode", &mode, err)) < 0 ||
	    (r = cfg_get_u64(conf, "local_as", 1, UINT32_MAX, &as, err)) < 0 ||
	    (r = bgp_parse_str(conf, "next_hop", d->next_hop4, sizeof(d->next_hop4), err)) < 0 ||
	    (r = bgp_parse_str(conf, "next_hop6", d->next_hop6, sizeof(d->next_hop6), err)) < 0 ||
	    (r = bgp_parse_str(conf, "community", d->community, sizeof(d->community), err)) < 0 ||
	    (r = cfg_get_i64(conf, "timeout_ms", 100, 60000, &d->timeout_ms, err)) < 0)
		return r;
	if (as == 0)
		return cfg_fail(err, conf, "bgp: local_as is required (the ASN of moat's route tags)");
	d->local_as = (uint32_t)as;
	if (mode != NULL && strcmp(mode, "blackhole") != 0 && strcmp(mode, "flowspec") != 0)
		return cfg_fail(err, cfg_get(conf, "mode"), "mode: expected blackhole or flowspec");
	d->mode = mode != NULL && strcmp(mode, "flowspec") == 0 ? BGP_FLOWSPEC : BGP_BLACKHOLE;
	if (ipaddr_parse(d->next_hop4, &a) < 0 || a.af != AF_INET)
		return cfg_fail(err, cfg_get(conf, "next_hop"), "next_hop: expected an IPv4 address");
	if (ipaddr_parse(d->next_hop6, &a) < 0 || a.af != AF_INET6)
		return cfg_fail(err, cfg_get(conf, "next_hop6"), "next_hop6: expected an IPv6 address");
	if (d->gobgp[0] != '/')
		return cfg_fail(err, cfg_get(conf, "gobgp"), "gobgp: expected an absolute path");
	return 0;
}

static int
bgp_open(const struct mit_driver_ops *self, const struct cfg_node *conf, void **ret_state,
    struct cfg_error *err)
{
	struct drv_bgp *d;
	int r;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return -ENOMEM;
	snprintf(d->gobgp, sizeof(d->gobgp), "/usr/bin/gobgp");
	snprintf(d->host, sizeof(d->host), "127.0.0.1");
	snprintf(d->port, sizeof(d->port), "50051");
	/* RFC 7999's suggested discard next hops: TEST-NET-1's .1 and RFC 6666's prefix. */
	snprintf(d->next_hop4, sizeof(d->next_hop4), "192.0.2.1");
	snprintf(d->next_hop6, sizeof(d->next_hop6), "100::1");
	snprintf(d->community, sizeof(d->community), "65535:666");
	d->timeout_ms = 5000;
	if ((r = bgp_parse_conf(d, conf, err)) < 0) {
		free(d);
		return r;
	}
	if ((r = bgp_async_init(&d->a)) < 0) {
		free(d);
		return r;
	}
	*ret_state = d;
	return 0;
}

/* ---- running gobgp ---- */

struct bgp_argv {
	char *v[BGP_MAX_ARGS + 1];
	char buf[BGP_MAX_ARGS][320];
	int n;
};

static void
bgp_arg(struct bgp_argv *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
bgp_arg(struct bgp_argv *a, const char *fmt, ...)
{
	va_list ap;

	if (a->n >= BGP_MAX_ARGS)
		return;
	va_start(ap, fmt);
	vsnprintf(a->buf[a->n], sizeof(a->buf[a->n]), fmt, ap);
	va_end(ap);
	a->v[a->n] = a->buf[a->n];
	a->v[++a->n] = NULL;
}

static void
bgp_argv_init(struct drv_bgp *d, struct bgp_argv *a, const char *family)
{
	a->n = 0;
	bgp_arg(a, "%s", d->gobgp);
	bgp_arg(a, "-u");
	bgp_arg(a, "%s", d->host);
	bgp_arg(a, "-p");
	bgp_arg(a, "%s", d->port);
	bgp_arg(a, "global");
	bgp_arg(a, "rib");
	bgp_arg(a, "-a");
	bgp_arg(a, "%s", family);
}

/* What a call does, for error texts: its arguments after the API address. */
static void
bgp_what(const struct bgp_argv *a, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (int i = 5; i < a->n && i <= 10 && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%s", i > 5 ? " " : "", a->v[i]);
}

/*
 * Run gobgp with a's arguments (common/spawn: no shell, stdin from
 * /dev/null, killed at the driver's timeout, stdout and stderr captured
 * together up to BGP_MAX_OUTPUT). On success *ret_out (if not NULL) is its
 * output, malloc'd. A non-zero exit is -EIO, logged with gobgp's own
 * message; more output than the cap is -EMSGSIZE.
 */
static int
bgp_run(struct drv_bgp *d, struct bgp_argv *a, char **ret_out)
{
	const struct spawn_opts o = {
		.path = d->gobgp,
		.argv = a->v,
		.out = SPAWN_OUT_CAPTURE,
		.err = SPAWN_OUT_MERGE,
		.capture_max = BGP_MAX_OUTPUT - 1,
		.timeout_ms = (uint64_t)d->timeout_ms,
	};
	struct spawn_result res;
	char what[64];
	int r;

	d->werr[0] = '\0';
	bgp_what(a, what, sizeof(what));
	if ((r = spawn_run(&o, &res)) < 0) {
		snprintf(d->werr, sizeof(d->werr), "gobgp %s: %s", what, strerror(-r));
		if (r == -ETIMEDOUT)
			log_warnx("bgp: gobgp %s %s failed: %s", a->v[9] ? a->v[9] : "",
			    a->v[10] ? a->v[10] : "", strerror(-r));
		else
			log_warnx("bgp: cannot run %s: %s", d->gobgp, strerror(-r));
		return r;
	}
	if (res.out_truncated)
		r = -EMSGSIZE;
	else if (!WIFEXITED(res.status) || WEXITSTATUS(res.status) != 0)
		r = -EIO;
	if (r < 0) {
		/* gobgp's own message, first line only. */
		snprintf(d->werr, sizeof(d->werr), "gobgp %s: %.*s", what,
		    r == -EMSGSIZE ? 40 : (int)strcspn(res.out ? res.out : "", "\n"),
		    r == -EMSGSIZE ? strerror(EMSGSIZE) : res.out ? res.out : "");
		log_warnx("bgp: gobgp %s %s failed: %s", a->v[9] ? a->v[9] : "", a->v[10] ? a->v[10] : "",
		    r == -EMSGSIZE ? strerror(EMSGSIZE) : res.out);
		spawn_result_fini(&res);
		return r;
	}
	if (ret_out != NULL) {
		*ret_out = res.out;
		res.out = NULL;
	}
	spawn_result_fini(&res);
	return 0;
}

/* ---- the RIB as gobgp shows it ---- */

static const char *
bgp_family(const struct drv_bgp *d, uint8_t af)
{
	if (d->mode == BGP_FLOWSPEC)
		return af == AF_INET ? "ipv4-flowspec" : "ipv6-flowspec";
	return af == AF_INET ? "ipv4" : "ipv6";
}

/* One path of ours: its NLRI key as gobgp prints it and the rule ids it carries. */
struct bgp_path {
	char key[512];
	uint64_t ids[BGP_MAX_TAGS];
	size_t n_ids;
};

struct bgp_rib {
	struct bgp_path *paths;
	size_t n;
};

static void
bgp_rib_free(struct bgp_rib *rib)
{
	free(rib->paths);
	rib->paths = NULL;
	rib->n = 0;
}

/* Rule ids tagged on a path: large communities <local_as>:<id hi>:<id lo>. */
static size_t
bgp_path_tags(const struct drv_bgp *d, json_t *attrs, uint64_t *ids)
{
	json_t *attr, *lc;
	size_t i, j, n = 0;

	json_array_foreach(attrs, i, attr) {
		if (json_integer_value(json_object_get(attr, "type")) != 32)
			continue;
		json_array_foreach(json_object_get(attr, "value"), j, lc) {
			if ((uint64_t)json_integer_value(json_object_get(lc, "ASN")) == d->local_as &&
			    n < BGP_MAX_TAGS)
				ids[n++] = (uint64_t)json_integer_value(json_object_get(lc, "LocalData1")) << 32 |
				    (uint32_t)json_integer_value(json_object_get(lc, "LocalData2"));
		}
	}
	return n;
}

/* Read our tagged paths of one family. */
static int
bgp_rib_read(struct drv_bgp *d, const char *family, struct bgp_rib *rib)
{
	struct bgp_argv a;
	char *out = NULL;
	json_t *doc, *paths;
	const char *key;
	int r;

	rib->paths = NULL;
	rib->n = 0;
	bgp_argv_init(d, &a, family);
	bgp_arg(&a, "-j");
	if ((r = bgp_run(d, &a, &out)) < 0)
		return r;
	doc = json_loads(out, 0, NULL);
	free(out);
	if (!json_is_object(doc)) {
		json_decref(doc);
		return 0;	/* an empty RIB prints nothing useful */
	}
	if ((rib->paths = calloc(json_object_size(doc) + 1, sizeof(*rib->paths))) == NULL) {
		json_decref(doc);
		return -ENOMEM;
	}
	json_object_foreach(doc, key, paths) {
		struct bgp_path *p = &rib->paths[rib->n];
		json_t *path0 = json_array_get(paths, 0);

		p->n_ids = bgp_path_tags(d, json_object_get(path0, "attrs"), p->ids);
		if (p->n_ids == 0)
			continue;	/* not ours */
		snprintf(p->key, sizeof(p->key), "%s", key);
		rib->n++;
	}
	json_decref(doc);
	return 0;
}

static struct bgp_path *
bgp_rib_find(struct bgp_rib *rib, const char *key)
{
	for (size_t i = 0; i < rib->n; i++)
		if (strcmp(rib->paths[i].key, key) == 0)
			return &rib->paths[i];
	return NULL;
}

/*
 * Turn a flowspec key as gobgp prints it ("[destination: 192.0.2.1/32]
 * [protocol: ==udp]") back into match arguments.
 */
static int
bgp_flowspec_match_args(struct bgp_argv *a, const char *key)
{
	const char *p = key;

	bgp_arg(a, "match");
	while ((p = strchr(p, '[')) != NULL) {
		const char *colon = strstr(p, ": "), *end = strchr(p, ']');
		if (colon == NULL || end == NULL || colon > end)
			return -EINVAL;
		bgp_arg(a, "%.*s", (int)(colon - p - 1), p + 1);
		bgp_arg(a, "%.*s", (int)(end - colon - 2), colon + 2);
		p = end + 1;
	}
	return 0;
}

/* The tags argument: <as>:<id hi>:<id lo>,... */
static void
bgp_tags_arg(const struct drv_bgp *d, struct bgp_argv *a, const uint64_t *ids, size_t n)
{
	char buf[BGP_MAX_TAGS * 36] = "";
	size_t len = 0;

	for (size_t i = 0; i < n && len < sizeof(buf); i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%" PRIu32 ":%" PRIu32 ":%" PRIu32,
		    i ? "," : "", d->local_as, (uint32_t)(ids[i] >> 32), (uint32_t)ids[i]);
	bgp_arg(a, "large-community");
	bgp_arg(a, "%s", buf);
}

/* Announce (add or replace) one path with the given tags. */
static int
bgp_announce(struct drv_bgp *d, uint8_t af, const char *key, const uint64_t *ids, size_t n)
{
	struct bgp_argv a;
	int r;

	bgp_argv_init(d, &a, bgp_family(d, af));
	bgp_arg(&a, "add");
	if (d->mode == BGP_FLOWSPEC) {
		if ((r = bgp_flowspec_match_args(&a, key)) < 0)
			return r;
		bgp_arg(&a, "then");
		bgp_arg(&a, "discard");
	} else {
		bgp_arg(&a, "%s", key);
		bgp_arg(&a, "nexthop");
		bgp_arg(&a, "%s", af == AF_INET ? d->next_hop4 : d->next_hop6);
		bgp_arg(&a, "community");
		bgp_arg(&a, "%s", d->community);
	}
	bgp_tags_arg(d, &a, ids, n);
	return bgp_run(d, &a, NULL);
}

static int
bgp_remove(struct drv_bgp *d, uint8_t af, const char *key)
{
	struct bgp_argv a;
	int r;

	bgp_argv_init(d, &a, bgp_family(d, af));
	bgp_arg(&a, "del");
	if (d->mode == BGP_FLOWSPEC) {
		if ((r = bgp_flowspec_match_args(&a, key)) < 0)
			return r;
	} else {
		bgp_arg(&a, "%s", key);
	}
	return bgp_run(d, &a, NULL);
}

/* ---- rules to paths ---- */

static const char *
bgp_proto_name(uint8_t proto)
{
	switch (proto) {
	case 1: return "icmp";
	case 6: return "tcp";
	case 17: return "udp";
	case 58: return "ipv6-icmp";
	default: return NULL;
	}
}

/*
 * The keys (as gobgp prints them back) of the paths rule r needs. Blackhole:
 * one host route per target. FlowSpec: one rule per target (per source, when
 * scoped to sources). Returns the number of keys, or -EOPNOTSUPP.
 */
static int
bgp_rule_keys(const struct drv_bgp *d, const struct mit_rule *r, char keys[][512], int max)
{
	const struct mit_request *q = &r->req;
	int n = 0;

	for (uint32_t t = 0; t < q->n_targets; t++) {
		char dst[PREFIX_STRLEN];

		prefix_format(&q->targets[t], dst, sizeof(dst));
		if (d->mode == BGP_BLACKHOLE) {
			unsigned full = q->af == AF_INET ? 32 : 128;
			if (q->targets[t].len != full)
				continue;	/* blackholing a whole prefix is not ours to do */
			if (n < max)
				snprintf(keys[n++], 512, "%s", dst);
			continue;
		}
		for (uint32_t s = 0; s < (q->n_sources ? q->n_sources : 1) && n < max; s++) {
			char src[IPADDR_STRLEN + 8] = "";
			const char *pname = bgp_proto_name(q->proto);
			size_t len = (size_t)snprintf(keys[n], 512, "[destination: %s]", dst);

			if (q->n_sources > 0) {
				ipaddr_format(&q->sources[s], src, sizeof(src));
				len += (size_t)snprintf(keys[n] + len, 512 - len, "[source: %s/%u]", src,
				    q->af == AF_INET ? 32 : 128);
			}
			if (q->proto != 0 && pname != NULL)
				len += (size_t)snprintf(keys[n] + len, 512 - len, "[protocol: ==%s]", pname);
			if (q->dport != 0)
				len += (size_t)snprintf(keys[n] + len, 512 - len, "[destination-port: ==%u]", q->dport);
			if (q->sport != 0)
				snprintf(keys[n] + len, 512 - len, "[source-port: ==%u]", q->sport);
			n++;
		}
	}
	return n > 0 ? n : -EOPNOTSUPP;
}

static int
bgp_do_apply(struct drv_bgp *d, const struct mit_rule *r)
{
	char keys[MIT_MAX_TARGETS][512];
	struct bgp_rib rib;
	int n, rc = 0;

	if ((n = bgp_rule_keys(d, r, keys, MIT_MAX_TARGETS)) < 0)
		return n;
	if ((rc = bgp_rib_read(d, bgp_family(d, r->req.af), &rib)) < 0)
		return rc;
	for (int i = 0; i < n && rc == 0; i++) {
		struct bgp_path *p = bgp_rib_find(&rib, keys[i]);
		uint64_t ids[BGP_MAX_TAGS];
		size_t k = 0;
		bool have = false;

		for (size_t j = 0; p != NULL && j < p->n_ids; j++) {
			ids[k++] = p->ids[j];
			have |= p->ids[j] == r->id;
		}
		if (have)
			continue;	/* idempotent */
		if (k == BGP_MAX_TAGS) {
			rc = -ENOSPC;
			break;
		}
		ids[k++] = r->id;
		rc = bgp_announce(d, r->req.af, keys[i], ids, k);
	}
	bgp_rib_free(&rib);
	return rc;
}

/* Drop rule id's claim on every path of one family. */
static int
bgp_withdraw_family(struct drv_bgp *d, uint8_t af, uint64_t id, bool *found)
{
	struct bgp_rib rib;
	int r;

	if ((r = bgp_rib_read(d, bgp_family(d, af), &rib)) < 0)
		return r;
	for (size_t i = 0; i < rib.n && r == 0; i++) {
		struct bgp_path *p = &rib.paths[i];
		uint64_t rest[BGP_MAX_TAGS];
		size_t k = 0;
		bool mine = false;

		for (size_t j = 0; j < p->n_ids; j++) {
			if (p->ids[j] == id)
				mine = true;
			else
				rest[k++] = p->ids[j];
		}
		if (!mine)
			continue;
		*found = true;
		r = k == 0 ? bgp_remove(d, af, p->key) : bgp_announce(d, af, p->key, rest, k);
	}
	bgp_rib_free(&rib);
	return r;
}

static int
bgp_do_withdraw(struct drv_bgp *d, uint64_t id)
{
	bool found = false;
	int r;

	if ((r = bgp_withdraw_family(d, AF_INET, id, &found)) < 0 ||
	    (r = bgp_withdraw_family(d, AF_INET6, id, &found)) < 0)
		return r;
	return found ? 0 : -ENOENT;
}

static int
bgp_do_installed(struct drv_bgp *d, uint64_t **ret_ids, size_t *ret_n)
{
	uint64_t *ids = NULL;
	size_t n = 0, cap = 0;
	uint8_t afs[] = { AF_INET, AF_INET6 };
	int r = 0;

	for (size_t f = 0; f < 2 && r == 0; f++) {
		struct bgp_rib rib;

		if ((r = bgp_rib_read(d, bgp_family(d, afs[f]), &rib)) < 0)
			break;
		for (size_t i = 0; i < rib.n; i++) {
			for (size_t j = 0; j < rib.paths[i].n_ids; j++) {
				if (n == cap) {
					uint64_t *p;
					cap = cap ? cap * 2 : 32;
					if ((p = reallocarray(ids, cap, sizeof(*p))) == NULL) {
						r = -ENOMEM;
						break;
					}
					ids = p;
				}
				ids[n++] = rib.paths[i].ids[j];
			}
		}
		bgp_rib_free(&rib);
	}
	if (r < 0) {
		free(ids);
		return r;
	}
	*ret_ids = ids;
	*ret_n = n;
	return 0;
}

/* The speaker's neighbours (`gobgp neighbor -j`): never to be blocked. */
static int
bgp_do_peers(struct drv_bgp *d, struct ipaddr *out, size_t max, size_t *ret_n)
{
	struct bgp_argv *a = calloc(1, sizeof(*a));
	char *text = NULL;
	json_t *doc, *it;
	size_t i, n = 0;
	int r;

	if (a == NULL)
		return -ENOMEM;
	bgp_arg(a, "%s", d->gobgp);
	bgp_arg(a, "-u");
	bgp_arg(a, "%s", d->host);
	bgp_arg(a, "-p");
	bgp_arg(a, "%s", d->port);
	bgp_arg(a, "neighbor");
	bgp_arg(a, "-j");
	r = bgp_run(d, a, &text);
	free(a);
	if (r < 0)
		return r;
	doc = json_loads(text, 0, NULL);
	free(text);
	json_array_foreach(doc, i, it) {
		const char *s = json_string_value(json_object_get(json_object_get(it, "conf"),
		    "neighbor_address"));
		if (s != NULL && n < max && ipaddr_parse(s, &out[n]) == 0)
			n++;
	}
	json_decref(doc);
	*ret_n = n;
	return 0;
}

/* ---- the worker and the calls the manager makes ---- */

static bool
bgp_id_in(const uint64_t *ids, size_t n, uint64_t id)
{
	for (size_t i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

/* Read the RIB and the neighbours into the cache (called unlocked, by the worker). */
static void
bgp_refresh(struct drv_bgp *d, uint64_t seq)
{
	struct bgp_async *a = &d->a;
	struct ipaddr peers[BGP_MAX_PEERS];
	uint64_t *ids = NULL;
	size_t n = 0, np = 0;
	int r, pr = -EAGAIN;

	r = bgp_do_installed(d, &ids, &n);
	if (r == 0)	/* a speaker that did not answer is not asked twice */
		pr = bgp_do_peers(d, peers, BGP_MAX_PEERS, &np);
	pthread_mutex_lock(&a->mu);
	a->cache_have = true;
	a->cache_err = r;
	a->cache_seq = seq;
	a->cache_ns = bgp_now_ns();
	if (r == 0) {
		free(a->cache_ids);
		a->cache_ids = ids;
		a->cache_n = n;
	} else {
		a->st.failures++;
		snprintf(a->st.last_error, sizeof(a->st.last_error), "reading the RIB: %.100s",
		    d->werr[0] ? d->werr : strerror(-r));
	}
	if (pr == 0) {
		memcpy(a->peers, peers, np * sizeof(peers[0]));
		a->n_peers = np;
		a->peers_have = true;
	}
	a->next_refresh_ns = a->cache_ns + (uint64_t)BGP_REFRESH_S * 1000000000u;
	pthread_cond_broadcast(&a->done);
	pthread_mutex_unlock(&a->mu);
}

/*
 * The worker: queued operations first, in order; then a read of the RIB
 * when one is wanted (after a batch, on request, every BGP_REFRESH_S).
 * Stopping, it still runs what is queued until the close deadline.
 */
static void *
bgp_worker(void *arg)
{
	struct drv_bgp *d = arg;
	struct bgp_async *a = &d->a;
	struct bgp_op *op = &a->cur;
	size_t abandoned = 0;

	pthread_mutex_lock(&a->mu);
	for (;;) {
		uint64_t now = bgp_now_ns();
		struct timespec ts;
		int r;

		if (a->stopping && a->q_n > 0 && now >= a->stop_deadline_ns) {
			abandoned += a->q_n;
			a->st.dropped += a->q_n;
			a->seq_done += a->q_n;
			a->q_n = 0;
		}
		if (a->q_n > 0) {
			*op = a->q[a->q_head];
			a->q_head = (a->q_head + 1) % BGP_MAX_QUEUE;
			a->q_n--;
			pthread_mutex_unlock(&a->mu);
			r = op->kind == BGP_OP_APPLY ? bgp_do_apply(d, &op->rule) :
			    bgp_do_withdraw(d, op->id);
			pthread_mutex_lock(&a->mu);
			a->seq_done++;
			if (r < 0 && !(op->kind == BGP_OP_WITHDRAW && r == -ENOENT)) {
				a->st.failures++;
				snprintf(a->st.last_error, sizeof(a->st.last_error), "%s rule %" PRIu64 ": %.80s",
				    op->kind == BGP_OP_APPLY ? "announcing" : "withdrawing",
				    op->kind == BGP_OP_APPLY ? op->rule.id : op->id,
				    d->werr[0] ? d->werr : strerror(-r));
			}
			if (a->q_n == 0)
				a->refresh_wanted = true;
			continue;
		}
		if (a->stopping)
			break;
		if (a->refresh_wanted || now >= a->next_refresh_ns) {
			uint64_t seq = a->seq_done;

			a->refresh_wanted = false;
			pthread_mutex_unlock(&a->mu);
			bgp_refresh(d, seq);
			pthread_mutex_lock(&a->mu);
			continue;
		}
		bgp_timespec(a->next_refresh_ns, &ts);
		pthread_cond_timedwait(&a->work, &a->mu, &ts);
	}
	pthread_mutex_unlock(&a->mu);
	if (abandoned > 0)
		log_warnx("bgp: %zu queued operation(s) abandoned at close; the next start reconciles",
		    abandoned);
	return NULL;
}

/* Start the worker on first use (open() has no effect outside); with a->mu held. */
static int
bgp_start_locked(struct drv_bgp *d)
{
	struct bgp_async *a = &d->a;
	sigset_t all, old;
	int r;

	if (a->started)
		return 0;
	if (a->q == NULL && (a->q = calloc(BGP_MAX_QUEUE, sizeof(*a->q))) == NULL)
		return -ENOMEM;
	/* Signals belong to the engine's loop (signalfd): the worker takes none. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&a->thread, NULL, bgp_worker, d);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0)
		return -r;
	a->started = true;
	return 0;
}

static int
bgp_enqueue(struct drv_bgp *d, const struct bgp_op *op)
{
	struct bgp_async *a = &d->a;
	int r;

	pthread_mutex_lock(&a->mu);
	if ((r = bgp_start_locked(d)) < 0)
		goto out;
	if (a->q_n == BGP_MAX_QUEUE) {
		a->st.dropped++;
		snprintf(a->st.last_error, sizeof(a->st.last_error),
		    "queue full (%u operations): gobgp is not keeping up", BGP_MAX_QUEUE);
		r = -ENOSPC;
		goto out;
	}
	a->q[(a->q_head + a->q_n) % BGP_MAX_QUEUE] = *op;
	a->q_n++;
	a->seq_in++;
	pthread_cond_signal(&a->work);
out:
	pthread_mutex_unlock(&a->mu);
	return r;
}

static int
bgp_apply(void *state, const struct mit_rule *r)
{
	struct drv_bgp *d = state;
	char (*keys)[512];
	struct bgp_op *op;
	int n;

	if (r->action != MIT_ACT_DROP)
		return -EOPNOTSUPP;	/* FlowSpec rate limits are bytes/s; ours are pps */
	if ((keys = calloc(MIT_MAX_TARGETS, sizeof(*keys))) == NULL)
		return -ENOMEM;
	n = bgp_rule_keys(d, r, keys, MIT_MAX_TARGETS);
	free(keys);
	if (n < 0)
		return n;
	if ((op = calloc(1, sizeof(*op))) == NULL)
		return -ENOMEM;
	op->kind = BGP_OP_APPLY;
	op->rule = *r;
	n = bgp_enqueue(d, op);
	free(op);
	return n;
}

/* Is the cache a true picture now (read after every queued operation ran)? */
static bool
bgp_cache_current(const struct bgp_async *a, uint64_t now)
{
	return a->cache_have && a->cache_seq == a->seq_in &&
	    now - a->cache_ns <= (uint64_t)BGP_CACHE_TTL_S * 1000000000u;
}

static int
bgp_withdraw(void *state, uint64_t id)
{
	struct drv_bgp *d = state;
	struct bgp_async *a = &d->a;
	struct bgp_op op = { .kind = BGP_OP_WITHDRAW, .id = id };
	bool absent;

	pthread_mutex_lock(&a->mu);
	absent = bgp_cache_current(a, bgp_now_ns()) && a->cache_err == 0 &&
	    !bgp_id_in(a->cache_ids, a->cache_n, id);
	pthread_mutex_unlock(&a->mu);
	if (absent)
		return -ENOENT;
	return bgp_enqueue(d, &op);
}

static int
bgp_installed(void *state, uint64_t **ret_ids, size_t *ret_n)
{
	struct drv_bgp *d = state;
	struct bgp_async *a = &d->a;
	uint64_t deadline = bgp_now_ns() + (uint64_t)BGP_WAIT_MS * 1000000u, now;
	uint64_t *ids;
	int r;

	pthread_mutex_lock(&a->mu);
	if ((r = bgp_start_locked(d)) < 0)
		goto out;
	for (;;) {
		struct timespec ts;

		now = bgp_now_ns();
		if (bgp_cache_current(a, now)) {
			if ((r = a->cache_err) < 0) {
				/* gobgpd did not answer the last read: say so now, ask again. */
				a->refresh_wanted = true;
				pthread_cond_signal(&a->work);
			}
			break;
		}
		if (now >= deadline) {
			r = -EAGAIN;
			goto out;
		}
		a->refresh_wanted = true;
		pthread_cond_signal(&a->work);
		bgp_timespec(deadline, &ts);
		pthread_cond_timedwait(&a->done, &a->mu, &ts);
	}
	if (r < 0)
		goto out;
	if ((ids = malloc((a->cache_n + 1) * sizeof(*ids))) == NULL) {
		r = -ENOMEM;
		goto out;
	}
	if (a->cache_n > 0)
		memcpy(ids, a->cache_ids, a->cache_n * sizeof(*ids));
	*ret_ids = ids;
	*ret_n = a->cache_n;
out:
	pthread_mutex_unlock(&a->mu);
	return r;
}

/* The neighbours of the last read that reached gobgpd; -EAGAIN before one did. */
static int
bgp_peers(void *state, struct ipaddr *out, size_t max, size_t *ret_n)
{
	struct drv_bgp *d = state;
	struct bgp_async *a = &d->a;
	size_t n;
	int r = 0;

	pthread_mutex_lock(&a->mu);
	if (!a->peers_have) {
		if ((r = bgp_start_locked(d)) == 0) {
			a->refresh_wanted = true;
			pthread_cond_signal(&a->work);
			r = -EAGAIN;
		}
		goto out;
	}
	n = a->n_peers < max ? a->n_peers : max;
	memcpy(out, a->peers, n * sizeof(*out));
	*ret_n = n;
out:
	pthread_mutex_unlock(&a->mu);
	return r;
}

static int
bgp_status(void *state, struct mit_driver_status *ret)
{
	struct drv_bgp *d = state;

	pthread_mutex_lock(&d->a.mu);
	*ret = d->a.st;
	ret->queued = d->a.q_n;
	pthread_mutex_unlock(&d->a.mu);
	return 0;
}

/*
 * Stop the worker: what is queued still runs until timeout_ms from now, the
 * rest is abandoned (counted, logged; the next start reconciles). At most
 * twice the timeout, since an operation under way has its own.
 */
static void
bgp_close(void *state)
{
	struct drv_bgp *d = state;
	struct bgp_async *a;

	if (d == NULL)
		return;
	a = &d->a;
	pthread_mutex_lock(&a->mu);
	a->stopping = true;
	a->stop_deadline_ns = bgp_now_ns() + (uint64_t)d->timeout_ms * 1000000u;
	pthread_cond_signal(&a->work);
	pthread_mutex_unlock(&a->mu);
	if (a->started)
		pthread_join(a->thread, NULL);
	pthread_cond_destroy(&a->done);
	pthread_cond_destroy(&a->work);
	pthread_mutex_destroy(&a->mu);
	free(a->q);
	free(a->cache_ids);
	free(d);
}

static int
bgp_counters(void *state, uint64_t id, struct mit_counters *ret)
{
	return -EOPNOTSUPP;	/* dropped upstream: nothing to count here */
}

const struct mit_driver_ops drv_bgp_ops = {
	.name = "bgp",
	.open = bgp_open,
	.close = bgp_close,
	.apply = bgp_apply,
	.withdraw = bgp_withdraw,
	.installed = bgp_installed,
	.counters = bgp_counters,
	.peers = bgp_peers,
	.status = bgp_status,
};
