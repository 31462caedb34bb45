/*
 * drv_nft: mitigation through kernel nftables, via libnftables' JSON interface.
 *
 * moat owns one table (default "inet moat") with one base chain hooked early
 * (prerouting, raw priority) so dropped traffic costs as little as possible.
 * Every rule carries the comment "moat:<rule id>" — the only link between
 * the kernel's state and moat's, used to withdraw exactly one rule, to read
 * its counters back (the counter sits before the verdict, so the attack is
 * still measured while it is dropped) and to reconcile after a restart.
 * Rules of other tables are never read or touched. The table is created
 * with the first rule and deleted with the last, so an idle moatd leaves
 * nothing in the ruleset.
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <nftables/libnftables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/log.h"
#include "common/strnum.h"
#include "engine/mitigate/manager.h"

#define NFT_COMMENT_PREFIX "moat:"

struct drv_nft {
	struct nft_ctx *nft;
	char table[32];
	char chain[32];
	char hook[16];
	int64_t prio;
	bool chain_ready;
};

static const char *const nft_hooks[] = { "prerouting", "input", "forward", NULL };

static int
nft_parse_name(const struct cfg_node *conf, const char *key, char *dst, size_t len,
    struct cfg_error *err)
{
	const char *s = NULL;
	int r;

	if ((r = cfg_get_str(conf, key, &s, err)) < 0 || s == NULL)
		return r;
	if (strlen(s) == 0 || strlen(s) >= len || strspn(s,
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != strlen(s))
		return cfg_fail(err, cfg_get(conf, key),
		    "%s: expected a name of 1..%zu letters, digits, '_' or '-'", key, len - 1);
	snprintf(dst, len, "%s", s);
	return 0;
}

static int
nft_parse_conf(struct drv_nft *d, const struct cfg_node *conf, struct cfg_error *err)
{
	static const char *const keys[] = { "table", "chain", "hook", "priority", NULL };
	const char *hook = NULL;
	int r;

	if (conf == NULL)
		return 0;
	if ((r = cfg_check_keys(conf, keys, err)) < 0 ||
	    (r = nft_parse_name(conf, "table", d->table, sizeof(d->table), err)) < 0 ||
	    (r = nft_parse_name(conf, "chain", d->chain, sizeof(d->chain), err)) < 0 ||
	    (r = cfg_get_i64(conf, "priority", -400, 400, &d->prio, err)) < 0 ||
	    (r = cfg_get_str(conf, "hook", &hook, err)) < 0)
		return r;
	if (hook != NULL) {
		size_t i;
		for (i = 0; nft_hooks[i] != NULL && strcmp(nft_hooks[i], hook) != 0; i++)
			;
		if (nft_hooks[i] == NULL)
			return cfg_fail(err, cfg_get(conf, "hook"),
			    "hook: expected one of prerouting, input, forward");
		snprintf(d->hook, sizeof(d->hook), "%s", hook);
	}
	return 0;
}

static int
nft_open(const struct mit_driver_ops *self, const struct cfg_node *conf, void **ret_state,
    struct cfg_error *err)
{
	struct drv_nft *d;
	int r;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return -ENOMEM;
	snprintf(d->table, sizeof(d->table), "moat");
	snprintf(d->chain, sizeof(d->chain), "mitigate");
	snprintf(d->hook, sizeof(d->hook), "prerouting");
	d->prio = -300;
	if ((r = nft_parse_conf(d, conf, err)) < 0) {
		free(d);
		return r;
	}
	if ((d->nft = nft_ctx_new(NFT_CTX_DEFAULT)) == NULL) {
		free(d);
		return -ENOMEM;
	}
	nft_ctx_output_set_flags(d->nft, NFT_CTX_OUTPUT_JSON | NFT_CTX_OUTPUT_HANDLE);
	nft_ctx_buffer_output(d->nft);
	nft_ctx_buffer_error(d->nft);
	*ret_state = d;
	return 0;
}

static void
nft_close(void *state)
{
	struct drv_nft *d = state;

	if (d == NULL)
		return;
	nft_ctx_free(d->nft);
	free(d);
}

/*
 * Run a JSON command batch; steals `cmds`. On success and if ret_out is not
 * NULL, *ret_out is the parsed output (NULL when nft printed nothing).
 */
static int
nft_run(struct drv_nft *d, json_t *cmds, json_t **ret_out, bool quiet)
{
	json_t *doc = json_pack("{s:o}", "nftables", cmds);
	char *text;
	const char *out;
	int r = 0;

	if (doc == NULL)
		return -ENOMEM;
	text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	if (text == NULL)
		return -ENOMEM;
	if (nft_run_cmd_from_buffer(d->nft, text) != 0) {
		const char *e = nft_ctx_get_error_buffer(d->nft);
		if (!quiet)
			log_warnx("nft: %s", e && *e ? e : "command failed");
		r = -EIO;
		goto out;
	}
	if (ret_out != NULL) {
		out = nft_ctx_get_output_buffer(d->nft);
		*ret_out = (out && *out) ? json_loads(out, 0, NULL) : NULL;
	}
out:
	free(text);
	return r;
}

static int
nft_ensure_chain(struct drv_nft *d)
{
	json_t *cmds;
	int r;

	if (d->chain_ready)
		return 0;
	/* "add" is idempotent: an existing table or chain is left as it is. */
	cmds = json_pack("[{s:{s:{s:s,s:s}}},{s:{s:{s:s,s:s,s:s,s:s,s:s,s:I,s:s}}}]",
	    "add", "table", "family", "inet", "name", d->table,
	    "add", "chain", "family", "inet", "table", d->table, "name", d->chain,
	    "type", "filter", "hook", d->hook, "prio", (json_int_t)d->prio,
	    "policy", "accept");
	if (cmds == NULL)
		return -ENOMEM;
	if ((r = nft_run(d, cmds, NULL, false)) == 0)
		d->chain_ready = true;
	return r;
}

/* The right-hand side matching one prefix: "a" for a host, else {"prefix":…}. */
static json_t *
nft_prefix_json(const struct prefix *p)
{
	char buf[IPADDR_STRLEN];
	unsigned full = p->addr.af == AF_INET ? 32 : 128;

	ipaddr_format(&p->addr, buf, sizeof(buf));
	if (p->len == full)
		return json_string(buf);
	return json_pack("{s:{s:s,s:i}}", "prefix", "addr", buf, "len", p->len);
}

static json_t *
nft_match(const char *proto, const char *field, json_t *right)
{
	return json_pack("{s:{s:s,s:{s:{s:s,s:s}},s:o}}", "match", "op", "==",
	    "left", "payload", "protocol", proto, "field", field, "right", right);
}

static json_t *
nft_targets_json(const struct mit_request *q)
{
	json_t *set;

	if (q->n_targets == 1)
		return nft_prefix_json(&q->targets[0]);
	set = json_array();
	for (uint32_t i = 0; i < q->n_targets; i++)
		json_array_append_new(set, nft_prefix_json(&q->targets[i]));
	return json_pack("{s:o}", "set", set);
}

static json_t *
nft_sources_json(const struct mit_request *q)
{
	char buf[IPADDR_STRLEN];
	json_t *set = json_array();

	for (uint32_t i = 0; i < q->n_sources; i++)
		json_array_append_new(set, json_string(ipaddr_format(&q->sources[i], buf, sizeof(buf))));
	return json_pack("{s:o}", "set", set);
}

static const char *
nft_l4_name(uint8_t proto)
{
	switch (proto) {
	case 6: return "tcp";
	case 17: return "udp";
	case 132: return "sctp";
	case 33: return "dccp";
	default: return NULL;
	}
}

/* The expression list of rule r: matches, counter, optional limit, drop. */
static json_t *
nft_rule_expr(const struct mit_rule *r)
{
	const struct mit_request *q = &r->req;
	const char *l3 = q->af == AF_INET ? "ip" : "ip6";
	const char *l4 = nft_l4_name(q->proto);
	json_t *e = json_array();

	json_array_append_new(e, nft_match(l3, "daddr", nft_targets_json(q)));
	if (q->proto != 0)
		json_array_append_new(e, json_pack("{s:{s:s,s:{s:{s:s}},s:i}}", "match",
		    "op", "==", "left", "meta", "key", "l4proto", "right", q->proto));
	if (l4 != NULL && q->dport != 0)
		json_array_append_new(e, nft_match(l4, "dport", json_integer(q->dport)));
	if (l4 != NULL && q->sport != 0)
		json_array_append_new(e, nft_match(l4, "sport", json_integer(q->sport)));
	if (q->n_sources > 0)
		json_array_append_new(e, nft_match(l3, "saddr", nft_sources_json(q)));
	json_array_append_new(e, json_pack("{s:n}", "counter"));
	if (r->action == MIT_ACT_RATELIMIT)
		json_array_append_new(e, json_pack("{s:{s:I,s:s,s:b}}", "limit",
		    "rate", (json_int_t)r->rate_pps, "per", "second", "inv", 1));
	json_array_append_new(e, json_pack("{s:n}", "drop"));
	return e;
}

/* Parse "moat:<id>" comments; false for anything else (not ours). */
static bool
nft_comment_id(const char *comment, uint64_t *ret_id)
{
	size_t n = strlen(NFT_COMMENT_PREFIX);

	if (comment == NULL || strncmp(comment, NFT_COMMENT_PREFIX, n) != 0)
		return false;
	return strnum_u64(comment + n, 1, UINT64_MAX, ret_id) == 0;
}

/*
 * List our chain and call fn for each rule carrying a moat comment. A missing
 * table or chain is an empty list. fn returns non-zero to stop.
 */
typedef int (*nft_rule_fn)(void *ctx, uint64_t id, json_t *rule);

static int
nft_foreach_rule(struct drv_nft *d, nft_rule_fn fn, void *ctx)
{
	json_t *cmds, *out = NULL, *items, *it;
	size_t i;
	int r;

	cmds = json_pack("[{s:{s:{s:s,s:s,s:s}}}]", "list", "chain",
	    "family", "inet", "table", d->table, "name", d->chain);
	if (cmds == NULL)
		return -ENOMEM;
	if (nft_run(d, cmds, &out, true) < 0) {
		d->chain_ready = false;
		return 0;
	}
	items = json_object_get(out, "nftables");
	r = 0;
	json_array_foreach(items, i, it) {
		json_t *rule = json_object_get(it, "rule");
		uint64_t id;

		if (rule == NULL ||
		    !nft_comment_id(json_string_value(json_object_get(rule, "comment")), &id))
			continue;
		if ((r = fn(ctx, id, rule)) != 0)
			break;
	}
	json_decref(out);
	return r < 0 ? r : 0;
}

struct nft_find {
	uint64_t id;
	json_int_t handle;
	struct mit_counters counters;
	bool found;
};

static int
nft_find_cb(void *ctx, uint64_t id, json_t *rule)
{
	struct nft_find *f = ctx;
	json_t *expr, *x;
	size_t i;

	if (id != f->id)
		return 0;
	f->found = true;
	f->handle = json_integer_value(json_object_get(rule, "handle"));
	expr = json_object_get(rule, "expr");
	json_array_foreach(expr, i, x) {
		json_t *c = json_object_get(x, "counter");
		if (json_is_object(c)) {
			f->counters.packets = (uint64_t)json_integer_value(json_object_get(c, "packets"));
			f->counters.bytes = (uint64_t)json_integer_value(json_object_get(c, "bytes"));
		}
	}
	return 1;
}

static int
nft_find(struct drv_nft *d, uint64_t id, struct nft_find *f)
{
	*f = (struct nft_find){ .id = id };
	return nft_foreach_rule(d, nft_find_cb, f);
}

static int
nft_apply(void *state, const struct mit_rule *r)
{
	struct drv_nft *d = state;
	struct nft_find f;
	char comment[48];
	json_t *cmds;
	int rc;

	if (r->req.n_targets == 0 || (r->req.af != AF_INET && r->req.af != AF_INET6))
		return -EOPNOTSUPP;
	if ((rc = nft_ensure_chain(d)) < 0)
		return rc;
	if ((rc = nft_find(d, r->id, &f)) < 0)
		return rc;
	if (f.found)
		return 0;	/* idempotent: already installed */
	snprintf(comment, sizeof(comment), NFT_COMMENT_PREFIX "%" PRIu64, r->id);
	cmds = json_pack("[{s:{s:{s:s,s:s,s:s,s:s,s:o}}}]", "add", "rule",
	    "family", "inet", "table", d->table, "chain", d->chain,
	    "comment", comment, "expr", nft_rule_expr(r));
	if (cmds == NULL)
		return -ENOMEM;
	return nft_run(d, cmds, NULL, false);
}

static int
nft_count_cb(void *ctx, uint64_t id, json_t *rule)
{
	(*(size_t *)ctx)++;
	return 0;
}

/* Delete our table once it holds no moat rule. */
static int
nft_drop_table_if_empty(struct drv_nft *d)
{
	size_t n = 0;
	json_t *cmds;
	int r;

	if ((r = nft_foreach_rule(d, nft_count_cb, &n)) < 0 || n > 0)
		return r;
	cmds = json_pack("[{s:{s:{s:s,s:s}}}]", "delete", "table", "family", "inet", "name", d->table);
	if (cmds == NULL)
		return -ENOMEM;
	d->chain_ready = false;
	(void)nft_run(d, cmds, NULL, true);	/* already gone is fine */
	return 0;
}

static int
nft_withdraw(void *state, uint64_t id)
{
	struct drv_nft *d = state;
	struct nft_find f;
	json_t *cmds;
	int r;

	if ((r = nft_find(d, id, &f)) < 0)
		return r;
	if (!f.found)
		return -ENOENT;
	cmds = json_pack("[{s:{s:{s:s,s:s,s:s,s:I}}}]", "delete", "rule",
	    "family", "inet", "table", d->table, "chain", d->chain, "handle", f.handle);
	if (cmds == NULL)
		return -ENOMEM;
	if ((r = nft_run(d, cmds, NULL, false)) < 0)
		return r;
	return nft_drop_table_if_empty(d);
}

struct nft_ids {
	uint64_t *ids;
	size_t n, cap;
};

static int
nft_ids_cb(void *ctx, uint64_t id, json_t *rule)
{
	struct nft_ids *v = ctx;

	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 16;
		uint64_t *p = reallocarray(v->ids, cap, sizeof(*p));
		if (p == NULL)
			return -ENOMEM;
		v->ids = p;
		v->cap = cap;
	}
	v->ids[v->n++] = id;
	return 0;
}

static int
nft_installed(void *state, uint64_t **ret_ids, size_t *ret_n)
{
	struct nft_ids v = { 0 };
	int r;

	if ((r = nft_foreach_rule(state, nft_ids_cb, &v)) < 0) {
		free(v.ids);
		return r;
	}
	*ret_ids = v.ids;
	*ret_n = v.n;
	return 0;
}

static int
nft_counters(void *state, uint64_t id, struct mit_counters *ret)
{
	struct nft_find f;
	int r;

	if ((r = nft_find(state, id, &f)) < 0)
		return r;
	if (!f.found)
		return -ENOENT;
	*ret = f.counters;
	return 0;
}

const struct mit_driver_ops drv_nft_ops = {
	.name = "nft",
	.open = nft_open,
	.close = nft_close,
	.apply = nft_apply,
	.withdraw = nft_withdraw,
	.installed = nft_installed,
	.counters = nft_counters,
};
