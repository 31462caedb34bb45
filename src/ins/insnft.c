/*
 * insnft: nftables rules for the connect policy. See insnft.h.
 */
#include "ins/insnft.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <nftables/libnftables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

struct insnft {
	struct nft_ctx *nft;
};

static json_t *
insnft_cmd(const char *verb, const char *kind, json_t *obj)
{
	return json_pack("{s:{s:o}}", verb, kind, obj);
}

static json_t *
insnft_table(void)
{
	return json_pack("{s:s,s:s}", "family", "inet", "name", INSNFT_TABLE);
}

static json_t *
insnft_rule(json_t *expr)
{
	return json_pack("{s:s,s:s,s:s,s:o}", "family", "inet", "table", INSNFT_TABLE,
			 "chain", INSNFT_CHAIN, "expr", expr);
}

static json_t *
insnft_verdict(const char *v)
{
	return json_pack("{s:n}", v);
}

static json_t *
insnft_counted_drop(void)
{
	return json_pack("[{s:s},{s:n}]", "counter", INSNFT_COUNTER, "drop");
}

/* One prefix as nft's right-hand side: "ADDR" for a host, else {"prefix":…}. */
static json_t *
insnft_prefix(const struct policy_prefix *pp)
{
	char buf[INET6_ADDRSTRLEN];
	unsigned full = pp->family == INS_AF_INET ? 32 : 128;

	if (!inet_ntop(pp->family == INS_AF_INET ? AF_INET : AF_INET6, pp->addr, buf, sizeof(buf)))
		return NULL;
	if (pp->len == full)
		return json_string(buf);
	return json_pack("{s:{s:s,s:i}}", "prefix", "addr", buf, "len", (int)pp->len);
}

/* "ip daddr { … } accept" for the prefixes of one family; NULL when it has none. */
static json_t *
insnft_allow_rule(const struct policy *p, uint8_t family)
{
	json_t *set = json_array();

	if (!set)
		return NULL;
	for (unsigned i = 0; i < p->nconnect; i++)
		if (p->connect_allow[i].family == family)
			json_array_append_new(set, insnft_prefix(&p->connect_allow[i]));
	if (json_array_size(set) == 0) {
		json_decref(set);
		return NULL;
	}
	return insnft_rule(json_pack("[{s:{s:s,s:{s:{s:s,s:s}},s:{s:o}}},{s:n}]", "match",
				     "op", "==", "left", "payload", "protocol",
				     family == INS_AF_INET ? "ip" : "ip6", "field", "daddr",
				     "right", "set", set, "accept"));
}

/* The chain's rules, in order, appended to cmds as "add rule". */
static void
insnft_add_rules(json_t *cmds, const struct policy *p)
{
	json_t *r;

	/* Not a socket moat-ins handed out: none of our business. */
	json_array_append_new(cmds, insnft_cmd("add", "rule", insnft_rule(json_pack(
		"[{s:{s:s,s:{s:{s:s}},s:I}},{s:n}]", "match", "op", "!=", "left", "meta", "key",
		"mark", "right", (json_int_t)p->mark, "accept"))));
	/* Replies on connections the policy let in (accepted) or out (connected). */
	json_array_append_new(cmds, insnft_cmd("add", "rule", insnft_rule(json_pack(
		"[{s:{s:s,s:{s:{s:s}},s:[s,s]}},{s:n}]", "match", "op", "in", "left", "ct", "key",
		"state", "right", "established", "related", "accept"))));
	if (!p->allow_udp) {
		json_t *e = insnft_counted_drop();

		json_array_insert_new(e, 0, json_pack("{s:{s:s,s:{s:{s:s}},s:s}}", "match", "op",
						      "==", "left", "meta", "key", "l4proto",
						      "right", "udp"));
		json_array_append_new(cmds, insnft_cmd("add", "rule", insnft_rule(e)));
	}
	if (p->nconnect == 0) {
		json_array_append_new(cmds, insnft_cmd("add", "rule",
			insnft_rule(json_pack("[o]", insnft_verdict("accept")))));
		return;
	}
	if ((r = insnft_allow_rule(p, INS_AF_INET)) != NULL)
		json_array_append_new(cmds, insnft_cmd("add", "rule", r));
	if ((r = insnft_allow_rule(p, INS_AF_INET6)) != NULL)
		json_array_append_new(cmds, insnft_cmd("add", "rule", r));
	/* TCP gets a reset, so a blocking connect(2) fails at once (ECONNREFUSED)
	 * rather than retrying SYNs for minutes; a dropped datagram fails its
	 * sendto(2) with EPERM already. */
	json_array_append_new(cmds, insnft_cmd("add", "rule", insnft_rule(json_pack(
		"[{s:{s:s,s:{s:{s:s}},s:s}},{s:s},{s:{s:s}}]", "match", "op", "==", "left", "meta",
		"key", "l4proto", "right", "tcp", "counter", INSNFT_COUNTER, "reject", "type",
		"tcp reset"))));
	json_array_append_new(cmds, insnft_cmd("add", "rule", insnft_rule(insnft_counted_drop())));
}

char *
insnft_batch_json(const struct policy *p, bool fresh)
{
	json_t *cmds = json_array(), *doc;
	char *text;

	if (!cmds)
		return NULL;
	/* "add" of an existing table is a no-op, so "add; delete" removes a stale one or nothing. */
	json_array_append_new(cmds, insnft_cmd("add", "table", insnft_table()));
	if (fresh) {
		json_array_append_new(cmds, insnft_cmd("delete", "table", insnft_table()));
		json_array_append_new(cmds, insnft_cmd("add", "table", insnft_table()));
	}
	json_array_append_new(cmds, insnft_cmd("add", "counter", json_pack(
		"{s:s,s:s,s:s}", "family", "inet", "table", INSNFT_TABLE, "name", INSNFT_COUNTER)));
	json_array_append_new(cmds, insnft_cmd("add", "chain", json_pack(
		"{s:s,s:s,s:s,s:s,s:s,s:i,s:s}", "family", "inet", "table", INSNFT_TABLE,
		"name", INSNFT_CHAIN, "type", "filter", "hook", "output", "prio", 0,
		"policy", "accept")));
	if (!fresh)
		json_array_append_new(cmds, insnft_cmd("flush", "chain", json_pack(
			"{s:s,s:s,s:s}", "family", "inet", "table", INSNFT_TABLE,
			"name", INSNFT_CHAIN)));
	insnft_add_rules(cmds, p);
	doc = json_pack("{s:o}", "nftables", cmds);
	if (!doc)
		return NULL;
	text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	return text;
}

/* Run one batch; nft's error text (first line) goes to err. */
static int
insnft_run(struct insnft *n, const char *text, char *err, size_t errlen)
{
	const char *e;

	if (nft_run_cmd_from_buffer(n->nft, text) == 0)
		return 0;
	e = nft_ctx_get_error_buffer(n->nft);
	if (err && errlen)
		snprintf(err, errlen, "%.*s", (int)(e ? strcspn(e, "\n") : 0), e ? e : "");
	return -EIO;
}

static int
insnft_apply(struct insnft *n, const struct policy *p, bool fresh, char *err, size_t errlen)
{
	char *text = insnft_batch_json(p, fresh);
	int r;

	if (!text)
		return -ENOMEM;
	r = insnft_run(n, text, err, errlen);
	free(text);
	return r;
}

int
insnft_open(struct insnft **ret, const struct policy *p, char *err, size_t errlen)
{
	struct insnft *n = calloc(1, sizeof(*n));
	int r;

	if (!n)
		return -ENOMEM;
	n->nft = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!n->nft) {
		free(n);
		return -ENOMEM;
	}
	/* JSON output is also what makes libnftables read its input as JSON. */
	nft_ctx_output_set_flags(n->nft, NFT_CTX_OUTPUT_JSON);
	nft_ctx_buffer_output(n->nft);
	nft_ctx_buffer_error(n->nft);
	r = insnft_apply(n, p, true, err, errlen);
	if (r < 0) {
		nft_ctx_free(n->nft);
		free(n);
		return r;
	}
	*ret = n;
	return 0;
}

int
insnft_update(struct insnft *n, const struct policy *p, char *err, size_t errlen)
{
	return insnft_apply(n, p, false, err, errlen);
}

void
insnft_close(struct insnft *n)
{
	static const char del[] =
		"{\"nftables\":[{\"delete\":{\"table\":{\"family\":\"inet\",\"name\":\""
		INSNFT_TABLE "\"}}}]}";

	if (!n)
		return;
	if (insnft_run(n, del, NULL, 0) < 0)
		log_warnx("could not remove table inet %s", INSNFT_TABLE);
	nft_ctx_free(n->nft);
	free(n);
}
