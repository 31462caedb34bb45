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
 * gobgp runs synchronously with a timeout (it answers in milliseconds on a
 * local API); the engine's loop waits for it.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/strnum.h"
#include "engine/mitigate/manager.h"

/* gobgp output we read back: the whole local RIB of one family. */
#define BGP_MAX_OUTPUT (8u << 20)
/* Arguments of one gobgp call. */
#define BGP_MAX_ARGS 64
/* Rule ids one path may carry (one large community each); more attacks on one host decline. */
#define BGP_MAX_TAGS 8

extern char **environ;

enum bgp_mode { BGP_BLACKHOLE, BGP_FLOWSPEC };

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
};

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
bgp_open(const struct cfg_node *conf, void **ret_state, struct cfg_error *err)
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
	*ret_state = d;
	return 0;
}

static void
bgp_close(void *state)
{
	free(state);
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

/* Read the child's output until EOF or the deadline; returns bytes read or -errno. */
static ssize_t
bgp_read_all(int fd, char *out, size_t cap, uint64_t deadline_ms)
{
	size_t len = 0;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		uint64_t now = clock_now_ns(CLOCK_MONOTONIC) / 1000000u;
		ssize_t n;

		if (now >= deadline_ms)
			return -ETIMEDOUT;
		if (poll(&p, 1, (int)(deadline_ms - now)) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		n = read(fd, out + len, cap - 1 - len);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len == cap - 1)
			return -EMSGSIZE;
	}
	out[len] = '\0';
	return (ssize_t)len;
}

/*
 * Run gobgp with a's arguments. On success *ret_out (if not NULL) is its
 * standard output, malloc'd. A non-zero exit is -EIO, logged with gobgp's
 * own message.
 */
static int
bgp_run(struct drv_bgp *d, struct bgp_argv *a, char **ret_out)
{
	posix_spawn_file_actions_t fa;
	char *out = malloc(BGP_MAX_OUTPUT);
	int pipefd[2], status = 0, r;
	ssize_t n;
	pid_t pid;

	if (out == NULL)
		return -ENOMEM;
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		free(out);
		return -errno;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDERR_FILENO);
	r = posix_spawn(&pid, d->gobgp, &fa, NULL, a->v, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	if (r != 0) {
		close(pipefd[0]);
		free(out);
		log_warnx("bgp: cannot run %s: %s", d->gobgp, strerror(r));
		return -r;
	}
	n = bgp_read_all(pipefd[0], out, BGP_MAX_OUTPUT,
	    clock_now_ns(CLOCK_MONOTONIC) / 1000000u + (uint64_t)d->timeout_ms);
	close(pipefd[0]);
	if (n < 0)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (n < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		log_warnx("bgp: gobgp %s %s failed: %s", a->v[9] ? a->v[9] : "", a->v[10] ? a->v[10] : "",
		    n < 0 ? strerror((int)-n) : out);
		free(out);
		return n < 0 ? (int)n : -EIO;
	}
	if (ret_out != NULL)
		*ret_out = out;
	else
		free(out);
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
bgp_apply(void *state, const struct mit_rule *r)
{
	struct drv_bgp *d = state;
	char keys[MIT_MAX_TARGETS][512];
	struct bgp_rib rib;
	int n, rc = 0;

	if (r->action != MIT_ACT_DROP)
		return -EOPNOTSUPP;	/* FlowSpec rate limits are bytes/s; ours are pps */
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
bgp_withdraw(void *state, uint64_t id)
{
	struct drv_bgp *d = state;
	bool found = false;
	int r;

	if ((r = bgp_withdraw_family(d, AF_INET, id, &found)) < 0 ||
	    (r = bgp_withdraw_family(d, AF_INET6, id, &found)) < 0)
		return r;
	return found ? 0 : -ENOENT;
}

static int
bgp_installed(void *state, uint64_t **ret_ids, size_t *ret_n)
{
	struct drv_bgp *d = state;
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
bgp_peers(void *state, struct ipaddr *out, size_t max, size_t *ret_n)
{
	struct drv_bgp *d = state;
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
};
