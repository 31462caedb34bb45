/*
 * mitigate: the MitigationMgr — ordered drivers, declines that move on,
 * retries, safety caps, exact undo, persistence and reconciliation.
 */
#include "engine/mitigate/manager.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/limits.h"
#include "common/log.h"

/* Allowlisted prefixes; moatd adds its own addresses and peers to the config's. */
#define MIT_MAX_ALLOW 1024u
/* POs with settings of their own under `po:` (dry run, never-block). */
#define MIT_MAX_PO_CONF 4096u
/* Prefixes one PO's never_block may list (its gateways, DNS servers). */
#define MIT_MAX_PO_NEVER 64u
/* Ended mitigations kept for `moat mitigations`; older ones are forgotten. */
#define MIT_KEEP_ENDED 1000u

struct mit_driver {
	const struct mit_driver_ops *ops;
	void *state;
	bool dry_run;
	bool inspected;		/* its external state was read and repaired */
};

/* One PO's own settings (`po: {NAME: {...}}`). */
struct mit_po_conf {
	char name[LIMIT_PO_NAME + 1];
	bool dry_run;
	struct prefix never[MIT_MAX_PO_NEVER];
	size_t n_never;
};

struct mit_mgr {
	const struct mit_driver_ops *const *table;	/* the caller's, by name */
	size_t n_table;
	struct prefix allow[MIT_MAX_ALLOW];
	size_t n_allow;
	struct mit_po_conf *pos;
	size_t n_pos;
	uint64_t min_target_share;	/* percent */
	uint64_t min_source_share;	/* percent */
	uint64_t max_block;		/* addresses one mitigation may cut off */
	bool dry_run_all;
	uint64_t max_rules;
	int64_t max_duration_s;
	int64_t retry_s;
	int64_t probe_after_s;		/* 0: never probe */
	int64_t probe_window_s;
	enum mit_scope scope;
	enum mit_action action;
	uint64_t rate_pps;
	char dry_run[MIT_MAX_DRIVERS][MIT_DRIVER_NAME];
	size_t n_dry_run;

	struct mit_driver drivers[MIT_MAX_DRIVERS];
	size_t n_drivers;

	struct mit_entry *entries;
	size_t n_entries, cap_entries;
	uint64_t next_id;

	mit_event_fn event_fn;
	void *event_ctx;
};

static const char *const mit_status_names[] = {
	[MIT_PENDING] = "pending",
	[MIT_MITIGATING] = "mitigating",
	[MIT_PROBING] = "probing",
	[MIT_NO_RESOURCES] = "no-resources",
	[MIT_NOT_MITIGATED] = "not-mitigated",
	[MIT_ENDED] = "ended",
};

static const char *const mit_scope_names[] = { "target", "proto", "sources", NULL };

const char *
mit_status_name(enum mit_status s)
{
	return (unsigned)s < sizeof(mit_status_names) / sizeof(mit_status_names[0]) ?
	    mit_status_names[s] : "unknown";
}

const struct mit_driver_ops *
mit_mgr_driver(const struct mit_mgr *m, const char *name)
{
	for (size_t i = 0; i < m->n_table; i++)
		if (strcmp(m->table[i]->name, name) == 0)
			return m->table[i];
	return NULL;
}

static bool
mit_is_live(const struct mit_entry *e)
{
	return e->status == MIT_PENDING || e->status == MIT_MITIGATING ||
	    e->status == MIT_NO_RESOURCES || e->status == MIT_PROBING;
}

static void
mit_event(struct mit_mgr *m, const struct mit_entry *e, const char *event)
{
	if (m->event_fn != NULL)
		m->event_fn(m->event_ctx, e, event);
}

/* ---- configuration ---- */

static int
mit_parse_enum(const struct cfg_node *conf, const char *key, const char *const *names,
    int *ret, struct cfg_error *err)
{
	const char *s = NULL;
	int r;

	if ((r = cfg_get_str(conf, key, &s, err)) < 0 || s == NULL)
		return r;
	for (int i = 0; names[i] != NULL; i++) {
		if (strcmp(names[i], s) == 0) {
			*ret = i;
			return 0;
		}
	}
	return cfg_fail(err, cfg_get(conf, key), "%s: '%s' is not one of the accepted values", key, s);
}

/* A list of prefixes (or addresses) into dst[cap]; *n grows. */
static int
mit_parse_prefixes(const struct cfg_node *conf, const char *key, struct prefix *dst,
    size_t cap, size_t *n, struct cfg_error *err)
{
	const struct cfg_node *seq = NULL;
	int r;

	if ((r = cfg_get_seq(conf, key, &seq, err)) < 0 || seq == NULL)
		return r;
	for (size_t i = 0; i < cfg_len(seq); i++) {
		const struct cfg_node *n0 = cfg_seq_at(seq, i);
		struct ipaddr a;
		struct prefix p;

		if (cfg_scalar(n0) != NULL && ipaddr_parse(cfg_scalar(n0), &a) == 0)
			(void)prefix_make(&a, ipaddr_width(a.af), &p);
		else if (cfg_scalar(n0) == NULL || prefix_parse(cfg_scalar(n0), &p) < 0)
			return cfg_fail(err, n0, "%s: expected a prefix such as 192.0.2.0/24", key);
		if (*n == cap)
			return cfg_fail(err, n0, "%s: more than %zu prefixes", key, cap);
		dst[(*n)++] = p;
	}
	return 0;
}

static int
mit_parse_allowlist(struct mit_mgr *m, const struct cfg_node *conf, struct cfg_error *err)
{
	int r;

	if ((r = mit_parse_prefixes(conf, "never_block", m->allow, MIT_MAX_ALLOW, &m->n_allow,
	    err)) < 0)
		return r;
	return mit_parse_prefixes(conf, "allowlist", m->allow, MIT_MAX_ALLOW, &m->n_allow, err);
}

static int
mit_parse_pos(struct mit_mgr *m, const struct cfg_node *conf, struct cfg_error *err)
{
	static const char *const keys[] = { "dry_run", "never_block", NULL };
	const struct cfg_node *map = NULL;
	int r;

	if ((r = cfg_get_map(conf, "po", &map, err)) < 0 || map == NULL)
		return r;
	if (cfg_len(map) > MIT_MAX_PO_CONF)
		return cfg_fail(err, map, "po: more than %u POs", MIT_MAX_PO_CONF);
	if ((m->pos = calloc(cfg_len(map) + 1, sizeof(*m->pos))) == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < cfg_len(map); i++) {
		const char *name = cfg_map_key_at(map, i);
		const struct cfg_node *pc = cfg_map_val_at(map, i);
		struct mit_po_conf *c = &m->pos[m->n_pos];

		if (strlen(name) > LIMIT_PO_NAME)
			return cfg_fail(err, pc, "po: '%s' is not a PO name", name);
		if (cfg_kind(pc) != CFG_MAP)
			return cfg_fail(err, pc, "po.%s: expected a map (dry_run, never_block)", name);
		snprintf(c->name, sizeof(c->name), "%s", name);
		if ((r = cfg_check_keys(pc, keys, err)) < 0 ||
		    (r = cfg_get_bool(pc, "dry_run", &c->dry_run, err)) < 0 ||
		    (r = mit_parse_prefixes(pc, "never_block", c->never, MIT_MAX_PO_NEVER,
		    &c->n_never, err)) < 0)
			return r;
		m->n_pos++;
	}
	return 0;
}

static const struct mit_po_conf *
mit_po_conf(const struct mit_mgr *m, const char *po)
{
	for (size_t i = 0; po != NULL && i < m->n_pos; i++)
		if (strcmp(m->pos[i].name, po) == 0)
			return &m->pos[i];
	return NULL;
}

static int
mit_parse_dry_run(struct mit_mgr *m, const struct cfg_node *conf, struct cfg_error *err)
{
	const struct cfg_node *seq = NULL, *n0 = cfg_get(conf, "dry_run");
	int r;

	if (n0 != NULL && cfg_kind(n0) != CFG_SEQ)
		return cfg_get_bool(conf, "dry_run", &m->dry_run_all, err);
	if ((r = cfg_get_seq(conf, "dry_run", &seq, err)) < 0 || seq == NULL)
		return r;
	for (size_t i = 0; i < cfg_len(seq) && m->n_dry_run < MIT_MAX_DRIVERS; i++) {
		const struct cfg_node *n = cfg_seq_at(seq, i);

		if (cfg_scalar(n) == NULL || mit_mgr_driver(m, cfg_scalar(n)) == NULL)
			return cfg_fail(err, n, "dry_run: expected a driver name");
		snprintf(m->dry_run[m->n_dry_run++], MIT_DRIVER_NAME, "%s", cfg_scalar(n));
	}
	return 0;
}

static bool
mit_wants_dry_run(const struct mit_mgr *m, const char *name)
{
	if (m->dry_run_all)
		return true;
	for (size_t i = 0; i < m->n_dry_run; i++)
		if (strcmp(m->dry_run[i], name) == 0)
			return true;
	return false;
}

static int
mit_open_driver(struct mit_mgr *m, const struct mit_driver_ops *ops,
    const struct cfg_node *conf, struct mit_driver **ret, struct cfg_error *err)
{
	struct mit_driver *d;
	int r;

	for (size_t i = 0; i < m->n_drivers; i++) {
		if (m->drivers[i].ops == ops) {
			*ret = &m->drivers[i];
			return 0;
		}
	}
	if (m->n_drivers == MIT_MAX_DRIVERS)
		return -ENOSPC;
	d = &m->drivers[m->n_drivers];
	if ((r = ops->open(ops, conf, &d->state, err)) < 0)
		return r;
	d->ops = ops;
	d->dry_run = mit_wants_dry_run(m, ops->name);
	m->n_drivers++;
	*ret = d;
	return 0;
}

static int
mit_parse_drivers(struct mit_mgr *m, const struct cfg_node *conf, struct cfg_error *err)
{
	const struct cfg_node *map = NULL;
	int r;

	if ((r = cfg_get_map(conf, "drivers", &map, err)) < 0 || map == NULL)
		return r;
	for (size_t i = 0; i < cfg_len(map); i++) {
		const char *name = cfg_map_key_at(map, i);
		const struct mit_driver_ops *ops = mit_mgr_driver(m, name);
		const struct cfg_node *dconf = cfg_map_val_at(map, i);
		struct mit_driver *d;

		if (ops == NULL)
			return cfg_fail(err, dconf, "drivers: unknown driver '%s'", name);
		if (cfg_kind(dconf) != CFG_MAP && cfg_scalar(dconf) != NULL && *cfg_scalar(dconf) != '\0')
			return cfg_fail(err, dconf, "drivers.%s: expected a map of driver settings", name);
		if ((r = mit_open_driver(m, ops, cfg_kind(dconf) == CFG_MAP ? dconf : NULL, &d, err)) < 0) {
			if (err->msg[0] == '\0')
				cfg_fail(err, dconf, "drivers.%s: cannot open: %s", name, strerror(-r));
			return r;
		}
	}
	return 0;
}

static int
mit_parse_conf(struct mit_mgr *m, const struct cfg_node *conf, struct cfg_error *err)
{
	static const char *const keys[] = { "allowlist", "never_block", "max_rules",
		"max_mitigations", "min_target_share", "min_source_share", "max_block_addresses",
		"max_duration", "retry", "scope", "action", "rate_pps", "dry_run", "po", "drivers",
		"probe_after", "probe_window", NULL };
	static const char *const actions[] = { "drop", "ratelimit", NULL };
	int scope = (int)m->scope, action = (int)m->action, r;

	if (conf == NULL)
		return 0;
	if ((r = cfg_check_keys(conf, keys, err)) < 0 ||
	    (r = mit_parse_allowlist(m, conf, err)) < 0 ||
	    (r = mit_parse_pos(m, conf, err)) < 0 ||
	    (r = cfg_get_u64(conf, "max_rules", 1, 1000000, &m->max_rules, err)) < 0 ||
	    (r = cfg_get_u64(conf, "max_mitigations", 1, 1000000, &m->max_rules, err)) < 0 ||
	    (r = cfg_get_u64(conf, "min_target_share", 0, 100, &m->min_target_share, err)) < 0 ||
	    (r = cfg_get_u64(conf, "min_source_share", 0, 100, &m->min_source_share, err)) < 0 ||
	    (r = cfg_get_u64(conf, "max_block_addresses", 1, UINT32_MAX, &m->max_block, err)) < 0 ||
	    (r = cfg_get_duration(conf, "max_duration", 1, 365 * 86400, &m->max_duration_s, err)) < 0 ||
	    (r = cfg_get_duration(conf, "retry", 1, 86400, &m->retry_s, err)) < 0 ||
	    (r = cfg_get_duration(conf, "probe_after", 0, 365 * 86400, &m->probe_after_s, err)) < 0 ||
	    (r = cfg_get_duration(conf, "probe_window", 2, 3600, &m->probe_window_s, err)) < 0 ||
	    (r = mit_parse_enum(conf, "scope", mit_scope_names, &scope, err)) < 0 ||
	    (r = mit_parse_enum(conf, "action", actions, &action, err)) < 0 ||
	    (r = cfg_get_u64(conf, "rate_pps", 1, UINT32_MAX, &m->rate_pps, err)) < 0 ||
	    (r = mit_parse_dry_run(m, conf, err)) < 0 ||
	    (r = mit_parse_drivers(m, conf, err)) < 0)
		return r;
	m->scope = (enum mit_scope)scope;
	m->action = (enum mit_action)action;
	return 0;
}

int
mit_mgr_new(const struct cfg_node *conf, const struct mit_driver_ops *const *table,
    size_t n_table, struct mit_mgr **ret, struct cfg_error *err)
{
	struct mit_mgr *m;
	int r;

	if (n_table > MIT_MAX_DRIVERS)
		return -E2BIG;
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return -ENOMEM;
	m->table = table;
	m->n_table = n_table;
	/*
	 * Safe defaults (docs/mitigation.md says why): a host is blocked only
	 * if it carries a fifth of the attack, a source only if a tenth; one
	 * mitigation cuts off at most 256 addresses, at most 50 run at once.
	 */
	m->min_target_share = 20;
	m->min_source_share = 10;
	m->max_block = 256;
	m->max_rules = 50;
	m->max_duration_s = 3600;
	m->retry_s = 30;
	m->probe_after_s = 300;
	m->probe_window_s = 15;
	m->scope = MIT_SCOPE_PROTO;
	m->action = MIT_ACT_DROP;
	m->rate_pps = 1000;
	m->next_id = 1;
	err->msg[0] = '\0';
	if ((r = mit_parse_conf(m, conf, err)) < 0) {
		mit_mgr_free(m);
		return r;
	}
	*ret = m;
	return 0;
}

void
mit_mgr_free(struct mit_mgr *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->n_drivers; i++)
		m->drivers[i].ops->close(m->drivers[i].state);
	free(m->entries);
	free(m->pos);
	free(m);
}

int
mit_mgr_take(struct mit_mgr *from, struct mit_mgr **ret)
{
	struct mit_mgr *m = malloc(sizeof(*m));

	if (m == NULL)
		return -ENOMEM;
	*m = *from;
	from->n_drivers = 0;
	from->pos = NULL;
	from->n_pos = 0;
	from->entries = NULL;
	from->n_entries = from->cap_entries = 0;
	from->event_fn = NULL;
	*ret = m;
	return 0;
}

int
mit_mgr_route(struct mit_mgr *m, const struct mit_driver_ops *const *table, size_t n_table,
    struct cfg_error *err)
{
	struct mit_driver old[MIT_MAX_DRIVERS];
	size_t n_old = m->n_drivers;
	struct mit_driver *d;
	int r;

	memcpy(old, m->drivers, n_old * sizeof(old[0]));
	for (size_t i = 0; i < n_old; i++)
		old[i].ops->close(old[i].state);
	m->table = table;
	m->n_table = n_table;
	m->n_drivers = 0;
	for (size_t i = 0; i < n_old; i++) {
		const struct mit_driver_ops *ops = mit_mgr_driver(m, old[i].ops->name);

		if (ops == NULL)
			return cfg_fail(err, NULL, "driver %s: not in the new table", old[i].ops->name);
		if ((r = mit_open_driver(m, ops, NULL, &d, err)) < 0)
			return r;
	}
	return 0;
}

int
mit_allow(struct mit_mgr *m, const struct prefix *p)
{
	if (m->n_allow == MIT_MAX_ALLOW)
		return -ENOSPC;
	m->allow[m->n_allow++] = *p;
	return 0;
}

/* Peers one driver may report. */
#define MIT_MAX_PEERS 64u

int
mit_allow_peers(struct mit_mgr *m)
{
	struct ipaddr peers[MIT_MAX_PEERS];
	int added = 0;

	for (size_t i = 0; i < m->n_drivers; i++) {
		const struct mit_driver *d = &m->drivers[i];
		size_t n = 0;

		/* Not inspected: its daemon did not answer; do not wait on it twice. */
		if (d->ops->peers == NULL || !d->inspected ||
		    d->ops->peers(d->state, peers, MIT_MAX_PEERS, &n) < 0)
			continue;
		for (size_t k = 0; k < n && k < MIT_MAX_PEERS; k++) {
			struct prefix p;
			bool have = false;

			if (prefix_make(&peers[k], ipaddr_width(peers[k].af), &p) < 0)
				continue;
			for (size_t j = 0; j < m->n_allow && !have; j++)
				have = prefix_equal(&m->allow[j], &p);
			if (!have && mit_allow(m, &p) == 0) {
				char buf[PREFIX_STRLEN];
				log_info("mitigate: %s peer %s is never blocked", d->ops->name,
				    ipaddr_format(&peers[k], buf, sizeof(buf)));
				added++;
			}
		}
	}
	return added;
}

void
mit_set_event_hook(struct mit_mgr *m, mit_event_fn fn, void *ctx)
{
	m->event_fn = fn;
	m->event_ctx = ctx;
}

/* ---- building the rule ---- */

/* Do two prefixes overlap (one contains the other)? */
static bool
mit_overlaps(const struct prefix *a, const struct prefix *b)
{
	if (a->addr.af != b->addr.af)
		return false;
	return a->len <= b->len ? prefix_contains(a, &b->addr) : prefix_contains(b, &a->addr);
}

static bool
mit_allowlisted(const struct mit_mgr *m, const char *po, const struct prefix *p)
{
	const struct mit_po_conf *c = mit_po_conf(m, po);

	for (size_t i = 0; i < m->n_allow; i++)
		if (mit_overlaps(&m->allow[i], p))
			return true;
	for (size_t i = 0; c != NULL && i < c->n_never; i++)
		if (mit_overlaps(&c->never[i], p))
			return true;
	return false;
}

bool
mit_never_blocked(const struct mit_mgr *m, const char *po, const struct ipaddr *a)
{
	struct prefix host = { .addr = *a, .len = (uint8_t)ipaddr_width(a->af) };

	return mit_allowlisted(m, po, &host);
}

/* Addresses a prefix covers, saturated (an IPv6 /64 is "very many"). */
static uint64_t
mit_prefix_size(const struct prefix *p)
{
	unsigned host_bits = ipaddr_width(p->addr.af) - p->len;

	return host_bits >= 63 ? UINT64_MAX / 2 : 1ull << host_bits;
}

/* Append "what (why)" to a narrowing note, "; "-separated. */
static void
mit_note(char *note, size_t len, const char *what, const char *why)
{
	size_t used = strlen(note);

	if (used + 4 < len)
		snprintf(note + used, len - used, "%s%s %s", used ? "; " : "", what, why);
}

/* Is weight w below pct percent of total (0 = unknown: never)? */
static bool
mit_below_share(uint64_t w, uint64_t total, uint64_t pct)
{
	return total != 0 && (double)w * 100.0 < (double)pct * (double)total;
}

/*
 * Narrow the request to the configured scope: drop targets and sources on
 * the never-block list, targets below min_target_share of the attack,
 * sources below min_source_share, and what exceeds max_block_addresses.
 * What was left out goes to `note`. Returns false (with a reason) if
 * nothing is left to block.
 */
/* Does rule cur (NULL: none) name target t / source a? */
static bool
mit_rule_has_target(const struct mit_rule *cur, const struct prefix *t)
{
	for (uint32_t i = 0; cur != NULL && i < cur->req.n_targets; i++)
		if (prefix_equal(&cur->req.targets[i], t))
			return true;
	return false;
}

static bool
mit_rule_has_source(const struct mit_rule *cur, const struct ipaddr *a)
{
	for (uint32_t i = 0; cur != NULL && cur->scope == MIT_SCOPE_SOURCES && i < cur->req.n_sources; i++)
		if (ipaddr_equal(&cur->req.sources[i], a))
			return true;
	return false;
}

/*
 * cur, when refining, is the rule in place: a target or source it names
 * stays while it keeps half the minimum share (hysteresis), so a share
 * hovering at the threshold does not replace the rule every second.
 */
static bool
mit_build_rule(const struct mit_mgr *m, const struct mit_request *req, const struct mit_rule *cur,
    struct mit_rule *r, char *reason, size_t reason_len, char *note, size_t note_len)
{
	struct mit_request *q = &r->req;
	uint32_t n = 0, n_never = 0, n_small = 0;
	uint64_t blocked = 0;
	char buf[PREFIX_STRLEN], why[64];

	memset(r, 0, sizeof(*r));
	note[0] = '\0';
	*q = *req;
	r->scope = m->scope;
	r->action = m->action;
	r->rate_pps = m->rate_pps;
	if (q->n_targets > MIT_MAX_TARGETS)
		q->n_targets = MIT_MAX_TARGETS;
	if (q->n_sources > MIT_MAX_SOURCES)
		q->n_sources = MIT_MAX_SOURCES;
	for (uint32_t i = 0; i < q->n_sources; i++) {
		struct prefix host = { .addr = q->sources[i], .len = (uint8_t)ipaddr_width(q->af) };

		if (q->sources[i].af != q->af)
			continue;
		if (mit_allowlisted(m, q->po, &host)) {
			mit_note(note, note_len, ipaddr_format(&q->sources[i], buf, sizeof(buf)),
			    "(never-block source)");
			continue;
		}
		if (mit_below_share(q->source_weight[i], q->sources_total,
		    mit_rule_has_source(cur, &q->sources[i]) ? m->min_source_share / 2 :
		    m->min_source_share))
			continue;	/* not a concentrated source: not named */
		q->source_weight[n] = q->source_weight[i];
		q->sources[n++] = q->sources[i];
	}
	q->n_sources = n;
	if (q->sources_only) {
		/* A scanner is blocked entirely, not one protocol of it. */
		if (q->n_sources == 0) {
			snprintf(reason, reason_len, "a scan without a source to block");
			return false;
		}
		r->scope = MIT_SCOPE_SOURCES;
		q->proto = 0;
		q->dport = 0;
		q->sport = 0;
	}
	if (r->scope == MIT_SCOPE_SOURCES && q->n_sources == 0)
		r->scope = MIT_SCOPE_PROTO;	/* no concentrated source (yet): fall back */
	if (r->scope != MIT_SCOPE_SOURCES)
		q->n_sources = 0;
	if (r->scope == MIT_SCOPE_TARGET) {
		q->proto = 0;
		q->dport = 0;
		q->sport = 0;
	}
	/*
	 * Targets: a never-block address is never cut off, so a rule that
	 * blocks by destination leaves out every target covering one (a rule
	 * naming sources only cuts those sources off). Hosts below
	 * min_target_share are not under attack.
	 */
	n = 0;
	for (uint32_t i = 0; i < q->n_targets; i++) {
		const struct prefix *t = &q->targets[i];

		prefix_format(t, buf, sizeof(buf));
		if (t->addr.af != q->af)
			continue;
		if (r->scope != MIT_SCOPE_SOURCES && mit_allowlisted(m, q->po, t)) {
			n_never++;
			mit_note(note, note_len, buf, "(never-block)");
			continue;
		}
		if (mit_below_share(q->target_weight[i], q->targets_total,
		    mit_rule_has_target(cur, t) ? m->min_target_share / 2 : m->min_target_share)) {
			n_small++;
			snprintf(why, sizeof(why), "(%.1f%% of the attack < %" PRIu64 "%%)",
			    100.0 * (double)q->target_weight[i] / (double)q->targets_total,
			    m->min_target_share);
			mit_note(note, note_len, buf, why);
			continue;
		}
		q->target_weight[n] = q->target_weight[i];
		q->targets[n++] = *t;
	}
	q->n_targets = n;
	if (n == 0) {
		if (n_small > 0)
			snprintf(reason, reason_len, "no target carries %" PRIu64
			    "%% of the attack (min_target_share)", m->min_target_share);
		else if (n_never > 0)
			snprintf(reason, reason_len, "every target is on the never-block list");
		else
			snprintf(reason, reason_len, "no target of the request's family");
		return false;
	}
	/* The address cap: sources cut off when the rule names them, else targets. */
	if (r->scope == MIT_SCOPE_SOURCES) {
		if (q->n_sources > m->max_block) {
			snprintf(why, sizeof(why), "(%u more sources: max_block_addresses %" PRIu64 ")",
			    q->n_sources - (uint32_t)m->max_block, m->max_block);
			mit_note(note, note_len, "", why);
			q->n_sources = (uint32_t)m->max_block;
		}
		return true;
	}
	n = 0;
	for (uint32_t i = 0; i < q->n_targets; i++) {
		uint64_t size = mit_prefix_size(&q->targets[i]);

		if (blocked + size > m->max_block) {
			snprintf(why, sizeof(why), "(over max_block_addresses %" PRIu64 ")", m->max_block);
			mit_note(note, note_len, prefix_format(&q->targets[i], buf, sizeof(buf)), why);
			continue;
		}
		blocked += size;
		q->target_weight[n] = q->target_weight[i];
		q->targets[n++] = q->targets[i];
	}
	q->n_targets = n;
	if (n == 0) {
		snprintf(reason, reason_len, "the rule would block more than max_block_addresses (%"
		    PRIu64 ") addresses", m->max_block);
		return false;
	}
	return true;
}

/* Do two rules block the same traffic? */
static bool
mit_rule_same(const struct mit_rule *a, const struct mit_rule *b)
{
	const struct mit_request *x = &a->req, *y = &b->req;

	if (a->scope != b->scope || a->action != b->action || a->rate_pps != b->rate_pps ||
	    x->af != y->af || x->proto != y->proto || x->dport != y->dport || x->sport != y->sport ||
	    x->n_targets != y->n_targets || x->n_sources != y->n_sources)
		return false;
	for (uint32_t i = 0; i < x->n_targets; i++)
		if (!prefix_equal(&x->targets[i], &y->targets[i]))
			return false;
	for (uint32_t i = 0; i < x->n_sources; i++)
		if (!ipaddr_equal(&x->sources[i], &y->sources[i]))
			return false;
	return true;
}

/* "udp dport 53 to 203.0.113.10/32 from 198.51.100.7": for logs and records. */
static void
mit_describe(const struct mit_rule *r, char *out, size_t len)
{
	const struct mit_request *q = &r->req;
	char buf[PREFIX_STRLEN];
	size_t used;

	snprintf(out, len, "%s", r->action == MIT_ACT_DROP ? "drop" : "rate-limit");
	used = strlen(out);
	if (q->proto != 0 && used < len)
		used += (size_t)snprintf(out + used, len - used, " proto %u", q->proto);
	if (q->dport != 0 && used < len)
		used += (size_t)snprintf(out + used, len - used, " dport %u", q->dport);
	if (q->sport != 0 && used < len)
		used += (size_t)snprintf(out + used, len - used, " sport %u", q->sport);
	for (uint32_t i = 0; i < q->n_targets && used < len; i++)
		used += (size_t)snprintf(out + used, len - used, "%s%s", i ? "," : " to ",
		    prefix_format(&q->targets[i], buf, sizeof(buf)));
	for (uint32_t i = 0; i < q->n_sources && used < len; i++)
		used += (size_t)snprintf(out + used, len - used, "%s%s", i ? "," : " from ",
		    ipaddr_format(&q->sources[i], buf, sizeof(buf)));
}

/* ---- entries ---- */

static size_t
mit_live_count(const struct mit_mgr *m)
{
	size_t n = 0;

	for (size_t i = 0; i < m->n_entries; i++)
		n += m->entries[i].status == MIT_MITIGATING || m->entries[i].status == MIT_PROBING;
	return n;
}

/* Forget the oldest ended entries beyond MIT_KEEP_ENDED. */
static void
mit_prune(struct mit_mgr *m)
{
	size_t ended = 0, w = 0;

	for (size_t i = 0; i < m->n_entries; i++)
		ended += m->entries[i].status == MIT_ENDED || m->entries[i].status == MIT_NOT_MITIGATED;
	for (size_t i = 0; i < m->n_entries; i++) {
		bool done = !mit_is_live(&m->entries[i]);
		if (done && ended > MIT_KEEP_ENDED) {
			ended--;
			continue;
		}
		m->entries[w++] = m->entries[i];
	}
	m->n_entries = w;
}

static struct mit_entry *
mit_new_entry(struct mit_mgr *m, uint64_t now_s)
{
	struct mit_entry *e;

	mit_prune(m);
	if (m->n_entries == m->cap_entries) {
		size_t cap = m->cap_entries ? m->cap_entries * 2 : 64;
		struct mit_entry *p = reallocarray(m->entries, cap, sizeof(*p));
		if (p == NULL)
			return NULL;
		m->entries = p;
		m->cap_entries = cap;
	}
	/*
	 * Ids embed the start time so a factory reset (which forgets next_id)
	 * cannot reuse the id of a rule still in the kernel.
	 */
	if (m->next_id < now_s << 20)
		m->next_id = now_s << 20;
	e = &m->entries[m->n_entries++];
	memset(e, 0, sizeof(*e));
	e->id = m->next_id++;
	e->started_s = e->updated_s = now_s;
	return e;
}

static struct mit_entry *
mit_find(const struct mit_mgr *m, uint64_t id)
{
	for (size_t i = 0; i < m->n_entries; i++)
		if (m->entries[i].id == id)
			return &m->entries[i];
	return NULL;
}

/* The entry whose rule (current rule id) is `rule_id`. */
static struct mit_entry *
mit_find_rule(const struct mit_mgr *m, uint64_t rule_id)
{
	for (size_t i = 0; i < m->n_entries; i++)
		if (m->entries[i].rule.id == rule_id)
			return &m->entries[i];
	return NULL;
}

static struct mit_entry *
mit_find_attack(const struct mit_mgr *m, uint64_t attack_id)
{
	for (size_t i = 0; i < m->n_entries; i++)
		if (m->entries[i].rule.req.attack_id == attack_id && mit_is_live(&m->entries[i]))
			return &m->entries[i];
	return NULL;
}

const struct mit_entry *
mit_get(const struct mit_mgr *m, uint64_t id)
{
	return mit_find(m, id);
}

uint64_t
mit_take_dropped(struct mit_mgr *m, size_t i)
{
	struct mit_entry *e;
	uint64_t d;

	if (i >= m->n_entries)
		return 0;
	e = &m->entries[i];
	d = e->counters.packets >= e->packets_seen ? e->counters.packets - e->packets_seen : 0;
	e->packets_seen = e->counters.packets;
	return d;
}

const struct mit_entry *
mit_at(const struct mit_mgr *m, size_t i)
{
	return i < m->n_entries ? &m->entries[i] : NULL;
}

static struct mit_driver *
mit_driver_by_name(struct mit_mgr *m, const char *name)
{
	const struct mit_driver_ops *ops = mit_mgr_driver(m, name);
	struct cfg_error err = { { 0 } };
	struct mit_driver *d;

	if (ops == NULL)
		return NULL;
	if (mit_open_driver(m, ops, NULL, &d, &err) < 0) {
		log_warnx("mitigate: cannot open driver %s: %s", name, err.msg);
		return NULL;
	}
	return d;
}

/*
 * Walk the entry's drivers in order until one applies the rule. A decline
 * moves on to the next driver; the outcome is the entry's status.
 */
/* Record a dry run: nothing is installed, the log and the entry say what would be. */
static void
mit_dry_run(struct mit_entry *e, const char *driver, const char *why)
{
	char what[512];

	mit_describe(&e->rule, what, sizeof(what));
	e->dry_run = true;
	e->status = MIT_MITIGATING;
	snprintf(e->driver, sizeof(e->driver), "%s", driver);
	snprintf(e->reason, sizeof(e->reason), "dry run (%s): would %s", why, what);
	log_info("mitigate: dry run (%s): mitigation %" PRIu64 " of attack %" PRIu64
	    " (PO %s) would %s with %s", why, e->id, e->rule.req.attack_id, e->rule.req.po, what,
	    driver);
}

static void
mit_try_drivers(struct mit_mgr *m, struct mit_entry *e, uint64_t now_s)
{
	const struct mit_po_conf *pc = mit_po_conf(m, e->rule.req.po);
	bool any_no_resources = false;

	e->updated_s = now_s;
	if (mit_live_count(m) >= m->max_rules) {
		e->status = MIT_NO_RESOURCES;
		snprintf(e->reason, sizeof(e->reason), "rule cap (%" PRIu64 ") reached", m->max_rules);
		e->next_retry_s = now_s + (uint64_t)m->retry_s;
		return;
	}
	if (pc != NULL && pc->dry_run) {
		mit_dry_run(e, e->drivers[0], "PO");
		return;
	}
	for (uint32_t i = 0; i < e->n_drivers; i++) {
		struct mit_driver *d = mit_driver_by_name(m, e->drivers[i]);
		int r;

		snprintf(e->driver, sizeof(e->driver), "%s", e->drivers[i]);
		if (d == NULL) {
			snprintf(e->reason, sizeof(e->reason), "driver %s unavailable", e->drivers[i]);
			continue;
		}
		if (d->dry_run) {
			mit_dry_run(e, d->ops->name, "driver");
			return;
		}
		r = d->ops->apply(d->state, &e->rule);
		if (r == 0) {
			e->status = MIT_MITIGATING;
			e->dry_run = false;
			e->reason[0] = '\0';
			e->held_s = now_s;
			return;
		}
		if (r == -EOPNOTSUPP) {
			snprintf(e->reason, sizeof(e->reason), "%s: not applicable", d->ops->name);
			continue;
		}
		any_no_resources = true;
		snprintf(e->reason, sizeof(e->reason), "%s declined: %s", d->ops->name, strerror(-r));
	}
	e->driver[0] = '\0';
	e->status = any_no_resources ? MIT_NO_RESOURCES : MIT_NOT_MITIGATED;
	e->next_retry_s = now_s + (uint64_t)m->retry_s;
}

/* Replace e's rule by `rule`: the new one in before the old one out. */
static int
mit_replace_rule(struct mit_mgr *m, struct mit_entry *e, const struct mit_rule *rule)
{
	struct mit_driver *d;
	uint64_t old = e->rule.id;
	struct mit_rule next = *rule;
	int r;

	if (e->status != MIT_MITIGATING || e->dry_run) {
		next.id = old;
		e->rule = next;
		return 0;
	}
	if ((d = mit_driver_by_name(m, e->driver)) == NULL)
		return -ENODEV;
	next.id = m->next_id++;
	if ((r = d->ops->apply(d->state, &next)) < 0) {
		log_warnx("mitigate: refining mitigation %" PRIu64 " with %s: %s; the old rule stays",
		    e->id, e->driver, strerror(-r));
		return r;
	}
	e->rule = next;
	if ((r = d->ops->withdraw(d->state, old)) < 0 && r != -ENOENT)
		log_warnx("mitigate: withdrawing replaced rule %" PRIu64 " from %s: %s", old,
		    e->driver, strerror(-r));
	return 0;
}

int
mit_refine(struct mit_mgr *m, const struct mit_request *req, uint64_t now_s)
{
	struct mit_entry *e = mit_find_attack(m, req->attack_id);
	struct mit_rule rule;
	char reason[128] = "", note[sizeof(e->narrowed)];
	int r;

	if (e == NULL)
		return -ENOENT;
	if (!mit_build_rule(m, req, &e->rule, &rule, reason, sizeof(reason), note, sizeof(note)))
		return 0;	/* keep what holds the attack now */
	rule.id = e->rule.id;
	if (mit_rule_same(&rule, &e->rule))
		return 0;
	if ((r = mit_replace_rule(m, e, &rule)) < 0)
		return r;
	snprintf(e->narrowed, sizeof(e->narrowed), "%s", note);
	e->updated_s = now_s;
	if (e->dry_run)
		mit_dry_run(e, e->driver, "refined");
	mit_event(m, e, "refined");
	return 1;
}

static int
mit_begin(struct mit_mgr *m, const struct mit_request *req, const char *const *drivers,
    size_t n_drivers, uint64_t now_s, uint64_t *ret_id)
{
	struct mit_entry *e = mit_find_attack(m, req->attack_id);
	struct mit_rule rule;
	char reason[128] = "", note[sizeof(e->narrowed)];
	bool ok;

	if (e != NULL) {
		/* An update of a live mitigation. */
		(void)mit_refine(m, req, now_s);
		*ret_id = e->id;
		return -EEXIST;
	}
	ok = mit_build_rule(m, req, NULL, &rule, reason, sizeof(reason), note, sizeof(note));
	if ((e = mit_new_entry(m, now_s)) == NULL)
		return -ENOMEM;
	e->rule = rule;
	if (!ok)
		e->rule.req = *req;	/* what was asked, for the record */
	e->rule.id = e->id;
	snprintf(e->narrowed, sizeof(e->narrowed), "%s", note);
	for (size_t i = 0; i < n_drivers && e->n_drivers < 8; i++)
		snprintf(e->drivers[e->n_drivers++], MIT_DRIVER_NAME, "%s", drivers[i]);
	if (!ok) {
		e->status = MIT_NOT_MITIGATED;
		snprintf(e->reason, sizeof(e->reason), "%s", reason);
		log_info("mitigate: attack %" PRIu64 " (PO %s) not mitigated: %s%s%s", req->attack_id,
		    req->po, reason, note[0] ? "; left out: " : "", note);
	} else if (e->n_drivers == 0) {
		e->status = MIT_NOT_MITIGATED;
		snprintf(e->reason, sizeof(e->reason), "the PO names no driver");
	} else {
		if (note[0] != '\0')
			log_info("mitigate: attack %" PRIu64 " (PO %s): left out of the rule: %s",
			    req->attack_id, req->po, note);
		mit_try_drivers(m, e, now_s);
	}
	mit_event(m, e, "start");
	*ret_id = e->id;
	return 0;
}

int
mit_start(struct mit_mgr *m, const struct mit_request *req, const char *const *drivers,
    size_t n_drivers, uint64_t now_s, uint64_t *ret_id)
{
	return mit_begin(m, req, drivers, n_drivers, now_s, ret_id);
}

int
mit_start_with(struct mit_mgr *m, const struct mit_request *req, const char *driver,
    uint64_t now_s, uint64_t *ret_id)
{
	if (mit_mgr_driver(m, driver) == NULL)
		return -ENOENT;
	return mit_begin(m, req, &driver, 1, now_s, ret_id);
}

static void
mit_end(struct mit_mgr *m, struct mit_entry *e, uint64_t now_s, const char *why)
{
	if (e->status == MIT_MITIGATING && !e->dry_run) {
		struct mit_driver *d = mit_driver_by_name(m, e->driver);
		int r = d != NULL ? d->ops->withdraw(d->state, e->rule.id) : -ENODEV;
		if (r < 0 && r != -ENOENT)
			log_warnx("mitigate: withdrawing rule %" PRIu64 " from %s: %s", e->rule.id,
			    e->driver, strerror(-r));
	}
	e->status = MIT_ENDED;
	e->ended_s = e->updated_s = now_s;
	snprintf(e->reason, sizeof(e->reason), "%s", why);
	mit_event(m, e, "end");
}

int
mit_stop(struct mit_mgr *m, uint64_t id, uint64_t now_s, const char *why)
{
	struct mit_entry *e = mit_find(m, id);

	if (e == NULL)
		return -ENOENT;
	if (!mit_is_live(e))
		return -EALREADY;
	mit_end(m, e, now_s, why);
	return 0;
}

int
mit_stop_attack(struct mit_mgr *m, uint64_t attack_id, uint64_t now_s)
{
	struct mit_entry *e = mit_find_attack(m, attack_id);

	if (e == NULL)
		return -ENOENT;
	mit_end(m, e, now_s, "attack ended");
	return 0;
}

void
mit_tick(struct mit_mgr *m, uint64_t now_s)
{
	for (size_t i = 0; i < m->n_entries; i++) {
		struct mit_entry *e = &m->entries[i];
		enum mit_status before = e->status;

		if (mit_is_live(e) && now_s >= e->started_s + (uint64_t)m->max_duration_s) {
			mit_end(m, e, now_s, "maximum mitigation time reached");
			continue;
		}
		if (e->status == MIT_NO_RESOURCES && now_s >= e->next_retry_s) {
			mit_try_drivers(m, e, now_s);
			if (e->status != before)
				mit_event(m, e, "retry");
		}
		if (e->status == MIT_MITIGATING && !e->dry_run) {
			struct mit_driver *d = mit_driver_by_name(m, e->driver);
			struct mit_counters c;
			if (d != NULL && d->ops->counters(d->state, e->rule.id, &c) == 0)
				e->counters = c;
		}
		if (e->status == MIT_MITIGATING && !e->dry_run && m->probe_after_s > 0 &&
		    now_s >= e->held_s + (uint64_t)m->probe_after_s)
			(void)mit_probe_begin(m, e->id, now_s);
	}
}

int
mit_probe_begin(struct mit_mgr *m, uint64_t id, uint64_t now_s)
{
	struct mit_entry *e = mit_find(m, id);
	struct mit_driver *d;
	int r;

	if (e == NULL)
		return -ENOENT;
	if (e->status != MIT_MITIGATING || e->dry_run)
		return -EINVAL;
	if ((d = mit_driver_by_name(m, e->driver)) == NULL)
		return -ENODEV;
	if ((r = d->ops->withdraw(d->state, e->rule.id)) < 0 && r != -ENOENT) {
		/* The rule is still in: probe again after another probe_after. */
		log_warnx("mitigate: lifting rule %" PRIu64 " from %s for a probe: %s", e->rule.id,
		    e->driver, strerror(-r));
		e->held_s = now_s;
		return r;
	}
	e->status = MIT_PROBING;
	e->probe_s = e->updated_s = now_s;
	snprintf(e->reason, sizeof(e->reason), "probe: rule lifted for %" PRId64 " s to re-measure",
	    m->probe_window_s);
	mit_event(m, e, "probe");
	return 0;
}

int
mit_probe_end(struct mit_mgr *m, uint64_t id, bool attacking, uint64_t now_s)
{
	struct mit_entry *e = mit_find(m, id);
	struct mit_driver *d;

	if (e == NULL)
		return -ENOENT;
	if (e->status != MIT_PROBING)
		return -EINVAL;
	if (!attacking) {
		/* The rule is out already: mit_end withdraws only a mitigating one. */
		mit_end(m, e, now_s, "probe: the traffic is back within its expected range");
		return 0;
	}
	e->probes++;
	d = mit_driver_by_name(m, e->driver);
	if (d != NULL && d->ops->apply(d->state, &e->rule) == 0) {
		e->status = MIT_MITIGATING;
		e->held_s = e->updated_s = now_s;
		e->reason[0] = '\0';
	} else {
		e->status = MIT_PENDING;	/* not counted against max_mitigations by itself */
		mit_try_drivers(m, e, now_s);	/* whoever takes it now */
	}
	mit_event(m, e, "probe-reinstalled");
	return 0;
}

uint64_t
mit_probe_window(const struct mit_mgr *m)
{
	return (uint64_t)m->probe_window_s;
}

/* ---- persistence ---- */

static json_t *
mit_request_json(const struct mit_request *q)
{
	char buf[PREFIX_STRLEN];
	json_t *t = json_array(), *s = json_array();

	for (uint32_t i = 0; i < q->n_targets; i++)
		json_array_append_new(t, json_string(prefix_format(&q->targets[i], buf, sizeof(buf))));
	for (uint32_t i = 0; i < q->n_sources; i++)
		json_array_append_new(s, json_string(ipaddr_format(&q->sources[i], buf, sizeof(buf))));
	return json_pack("{s:I,s:s,s:s,s:i,s:i,s:i,s:i,s:o,s:o,s:f,s:f}",
	    "attack_id", (json_int_t)q->attack_id, "po", q->po, "attack_type", q->attack_type,
	    "af", q->af == AF_INET ? 4 : 6, "proto", q->proto, "dport", q->dport,
	    "sport", q->sport, "targets", t, "sources", s,
	    "peak_pps", q->peak_pps, "peak_bps", q->peak_bps);
}

static json_t *
mit_entry_json(const struct mit_entry *e)
{
	json_t *drivers = json_array();

	for (uint32_t i = 0; i < e->n_drivers; i++)
		json_array_append_new(drivers, json_string(e->drivers[i]));
	return json_pack("{s:I,s:I,s:s,s:s,s:o,s:s,s:s,s:b,s:i,s:i,s:I,s:I,s:I,s:I,s:I,s:I,s:o}",
	    "id", (json_int_t)e->id, "rule_id", (json_int_t)e->rule.id,
	    "status", mit_status_name(e->status),
	    "driver", e->driver, "drivers", drivers, "reason", e->reason, "narrowed", e->narrowed,
	    "dry_run", e->dry_run, "scope", (int)e->rule.scope, "action", (int)e->rule.action,
	    "rate_pps", (json_int_t)e->rule.rate_pps,
	    "started", (json_int_t)e->started_s, "updated", (json_int_t)e->updated_s,
	    "ended", (json_int_t)e->ended_s,
	    "packets", (json_int_t)e->counters.packets, "bytes", (json_int_t)e->counters.bytes,
	    "request", mit_request_json(&e->rule.req));
}

json_t *
mit_entry_to_json(const struct mit_entry *e)
{
	return mit_entry_json(e);
}

int
mit_forget(struct mit_mgr *m, uint64_t id)
{
	for (size_t i = 0; i < m->n_entries; i++)
		if (m->entries[i].id == id) {
			memmove(&m->entries[i], &m->entries[i + 1],
			    (m->n_entries - i - 1) * sizeof(*m->entries));
			m->n_entries--;
			return 0;
		}
	return -ENOENT;
}

char *
mit_save(const struct mit_mgr *m)
{
	json_t *arr = json_array(), *doc;
	char *text;

	for (size_t i = 0; i < m->n_entries; i++)
		if (mit_is_live(&m->entries[i]))
			json_array_append_new(arr, mit_entry_json(&m->entries[i]));
	doc = json_pack("{s:i,s:I,s:o}", "version", 1, "next_id", (json_int_t)m->next_id,
	    "mitigations", arr);
	text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	return text;
}

/* Copy a JSON string member into dst; absent or not a string gives "". */
static void
mit_json_str(json_t *obj, const char *key, char *dst, size_t len)
{
	const char *v = json_string_value(json_object_get(obj, key));

	snprintf(dst, len, "%s", v != NULL ? v : "");
}

static int
mit_request_from_json(json_t *j, struct mit_request *q)
{
	json_t *v;
	size_t i;

	memset(q, 0, sizeof(*q));
	q->attack_id = (uint64_t)json_integer_value(json_object_get(j, "attack_id"));
	mit_json_str(j, "po", q->po, sizeof(q->po));
	mit_json_str(j, "attack_type", q->attack_type, sizeof(q->attack_type));
	q->af = json_integer_value(json_object_get(j, "af")) == 6 ? AF_INET6 : AF_INET;
	q->proto = (uint8_t)json_integer_value(json_object_get(j, "proto"));
	q->dport = (uint16_t)json_integer_value(json_object_get(j, "dport"));
	q->sport = (uint16_t)json_integer_value(json_object_get(j, "sport"));
	q->peak_pps = json_number_value(json_object_get(j, "peak_pps"));
	q->peak_bps = json_number_value(json_object_get(j, "peak_bps"));
	json_array_foreach(json_object_get(j, "targets"), i, v) {
		if (q->n_targets == MIT_MAX_TARGETS || !json_is_string(v) ||
		    prefix_parse(json_string_value(v), &q->targets[q->n_targets]) < 0)
			return -EINVAL;
		q->n_targets++;
	}
	json_array_foreach(json_object_get(j, "sources"), i, v) {
		if (q->n_sources == MIT_MAX_SOURCES || !json_is_string(v) ||
		    ipaddr_parse(json_string_value(v), &q->sources[q->n_sources]) < 0)
			return -EINVAL;
		q->n_sources++;
	}
	return 0;
}

static int
mit_entry_from_json(struct mit_mgr *m, json_t *j)
{
	const char *status = json_string_value(json_object_get(j, "status"));
	struct mit_entry *e;
	json_t *v;
	size_t i;

	if ((e = mit_new_entry(m, 0)) == NULL)
		return -ENOMEM;
	e->id = e->rule.id = (uint64_t)json_integer_value(json_object_get(j, "id"));
	if (json_integer_value(json_object_get(j, "rule_id")) > 0)
		e->rule.id = (uint64_t)json_integer_value(json_object_get(j, "rule_id"));
	if (mit_request_from_json(json_object_get(j, "request"), &e->rule.req) < 0 || e->id == 0) {
		m->n_entries--;
		return -EINVAL;
	}
	e->status = MIT_PENDING;
	for (int s = MIT_PENDING; s <= MIT_PROBING; s++)
		if (status != NULL && strcmp(status, mit_status_names[s]) == 0)
			e->status = (enum mit_status)s;
	if (e->status == MIT_PROBING)
		e->status = MIT_MITIGATING;	/* a restart ends the probe: reconciliation re-installs */
	mit_json_str(j, "driver", e->driver, sizeof(e->driver));
	json_array_foreach(json_object_get(j, "drivers"), i, v)
		if (e->n_drivers < 8 && json_is_string(v))
			snprintf(e->drivers[e->n_drivers++], MIT_DRIVER_NAME, "%s", json_string_value(v));
	e->dry_run = json_is_true(json_object_get(j, "dry_run"));
	e->rule.scope = (enum mit_scope)(json_integer_value(json_object_get(j, "scope")) % 3);
	e->rule.action = json_integer_value(json_object_get(j, "action")) ? MIT_ACT_RATELIMIT : MIT_ACT_DROP;
	e->rule.rate_pps = (uint64_t)json_integer_value(json_object_get(j, "rate_pps"));
	e->started_s = (uint64_t)json_integer_value(json_object_get(j, "started"));
	e->updated_s = (uint64_t)json_integer_value(json_object_get(j, "updated"));
	e->held_s = e->updated_s;	/* the next probe: probe_after from the last change */
	mit_json_str(j, "narrowed", e->narrowed, sizeof(e->narrowed));
	/* A driver that keeps no external state learns the rule it holds. */
	if (e->status == MIT_MITIGATING && !e->dry_run && e->driver[0] != '\0') {
		struct mit_driver *d = mit_driver_by_name(m, e->driver);

		if (d != NULL && d->ops->adopt != NULL)
			(void)d->ops->adopt(d->state, &e->rule);
	}
	/* Ids in another block of 2^32 were adopted from another instance
	 * (engine/cluster): they never move this instance's next id. */
	if (e->id >= m->next_id && (e->id >> 32) == (m->next_id >> 32))
		m->next_id = e->id + 1;
	if (e->rule.id >= m->next_id && (e->rule.id >> 32) == (m->next_id >> 32))
		m->next_id = e->rule.id + 1;
	return 0;
}

void
mit_id_base(struct mit_mgr *m, uint64_t base)
{
	if (m->next_id < base)
		m->next_id = base;
}

int
mit_load(struct mit_mgr *m, const char *text)
{
	json_t *doc = json_loads(text, 0, NULL), *arr, *j;
	size_t i;
	int r = 0;

	if (doc == NULL || json_integer_value(json_object_get(doc, "version")) != 1) {
		json_decref(doc);
		return -EINVAL;
	}
	if ((uint64_t)json_integer_value(json_object_get(doc, "next_id")) > m->next_id &&
	    ((uint64_t)json_integer_value(json_object_get(doc, "next_id")) >> 32) ==
	    (m->next_id >> 32))
		m->next_id = (uint64_t)json_integer_value(json_object_get(doc, "next_id"));
	arr = json_object_get(doc, "mitigations");
	json_array_foreach(arr, i, j) {
		if ((r = mit_entry_from_json(m, j)) < 0)
			break;
	}
	json_decref(doc);
	return r;
}

static bool
mit_id_in(const uint64_t *ids, size_t n, uint64_t id)
{
	for (size_t i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

/* Repair one driver: re-apply what is missing, withdraw what nobody wants. */
static int
mit_reconcile_driver(struct mit_mgr *m, struct mit_driver *d, struct mit_inspection *ins)
{
	uint64_t *ids = NULL;
	size_t n = 0;
	int repairs = 0, r;

	if ((r = d->ops->installed(d->state, &ids, &n)) < 0) {
		if (r == -EOPNOTSUPP) {
			ins->opaque = true;
			d->inspected = true;
			return 0;
		}
		ins->error = r;
		return 0;
	}
	d->inspected = true;
	for (size_t i = 0; i < m->n_entries; i++) {
		struct mit_entry *e = &m->entries[i];
		if (e->status != MIT_MITIGATING || e->dry_run || strcmp(e->driver, d->ops->name) != 0)
			continue;
		if (mit_id_in(ids, n, e->rule.id))
			continue;
		if (d->ops->apply(d->state, &e->rule) == 0) {
			repairs++;
			ins->reinstalled++;
			mit_event(m, e, "reinstalled");
		}
	}
	for (size_t i = 0; i < n; i++) {
		struct mit_entry *e = mit_find_rule(m, ids[i]);
		if (e != NULL && e->status == MIT_MITIGATING && !e->dry_run &&
		    strcmp(e->driver, d->ops->name) == 0)
			continue;
		if (d->ops->withdraw(d->state, ids[i]) == 0) {
			repairs++;
			if (ins->removed < sizeof(ins->removed_ids) / sizeof(ins->removed_ids[0]))
				ins->removed_ids[ins->removed] = ids[i];
			ins->removed++;
			log_info("mitigate: removed leftover %s rule %" PRIu64, d->ops->name, ids[i]);
		}
	}
	free(ids);
	return repairs;
}

/* Is `name` the driver of a live mitigation? */
static bool
mit_driver_in_use(const struct mit_mgr *m, const char *name)
{
	for (size_t i = 0; i < m->n_entries; i++)
		if (m->entries[i].status == MIT_MITIGATING && strcmp(m->entries[i].driver, name) == 0)
			return true;
	return false;
}

static struct mit_driver *
mit_open_quiet(struct mit_mgr *m, const struct mit_driver_ops *ops, int *ret_err)
{
	struct cfg_error err = { { 0 } };
	struct mit_driver *d;

	*ret_err = mit_open_driver(m, ops, NULL, &d, &err);
	return *ret_err < 0 ? NULL : d;
}

static int
mit_reconcile_rows(struct mit_mgr *m, bool only_failed, struct mit_reconcile_report *rep)
{
	struct mit_reconcile_report local;
	int total = 0;

	if (rep == NULL)
		rep = &local;
	memset(rep, 0, sizeof(*rep));
	for (size_t i = 0; i < m->n_table && rep->n < MIT_MAX_DRIVERS; i++) {
		const struct mit_driver_ops *ops = m->table[i];
		struct mit_inspection *ins = &rep->d[rep->n];
		struct mit_driver *d;
		int r;

		memset(ins, 0, sizeof(*ins));
		snprintf(ins->driver, sizeof(ins->driver), "%s", ops->name);
		if ((d = mit_open_quiet(m, ops, &r)) == NULL) {
			/* Needs settings it does not have: moat cannot have used it
			 * in this configuration, unless a live mitigation says so. */
			if (only_failed && !mit_driver_in_use(m, ops->name))
				continue;
			if (mit_driver_in_use(m, ops->name))
				ins->error = r;
			else
				ins->unconfigured = true;
			rep->n++;
			continue;
		}
		if (only_failed && d->inspected)
			continue;
		total += mit_reconcile_driver(m, d, ins);
		if (ins->error < 0)
			log_warnx("mitigate: cannot inspect driver %s: %s", ops->name,
			    strerror(-ins->error));
		rep->n++;
	}
	return total;
}

int
mit_reconcile(struct mit_mgr *m, uint64_t now_s, struct mit_reconcile_report *rep)
{
	int total;

	for (size_t i = 0; i < m->n_drivers; i++)
		m->drivers[i].inspected = false;
	total = mit_reconcile_rows(m, false, rep);
	/* Live mitigations that never got a driver: try again now. */
	for (size_t i = 0; i < m->n_entries; i++)
		if (m->entries[i].status == MIT_PENDING)
			mit_try_drivers(m, &m->entries[i], now_s);
	return total;
}

int
mit_reinspect(struct mit_mgr *m, uint64_t now_s, struct mit_reconcile_report *rep)
{
	if (mit_uninspected(m) == 0) {
		if (rep != NULL)
			rep->n = 0;
		return 0;
	}
	return mit_reconcile_rows(m, true, rep);
}

size_t
mit_uninspected(const struct mit_mgr *m)
{
	size_t n = 0;

	for (size_t i = 0; i < m->n_drivers; i++)
		n += !m->drivers[i].inspected;
	return n;
}

int
mit_driver_status_at(const struct mit_mgr *m, size_t i, const char **ret_name,
    struct mit_driver_status *ret)
{
	const struct mit_driver *d;
	struct mit_driver_status st = { 0 };
	int r;

	if (i >= m->n_drivers)
		return 0;
	d = &m->drivers[i];
	*ret_name = d->ops->name;
	if (d->ops->status == NULL)
		return -EOPNOTSUPP;
	if ((r = d->ops->status(d->state, &st)) < 0)
		return r;
	st.last_error[sizeof(st.last_error) - 1] = '\0';
	*ret = st;
	return 1;
}
