/*
 * cluster/peers: other engines' attacks and mitigations from the shared
 * store (see peers.h).
 */
#include "engine/cluster/peers.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/limits.h"
#include "engine/cluster/conf.h"
#include "engine/detect/decision.h"
#include "engine/detect/module.h"
#include "engine/detect/params.h"

#define CLPEERS_CACHE_NS CLOCK_NS_PER_SEC

struct clpeers {
	json_t *list[CLPEERS__COUNT];
	uint64_t at_ns[CLPEERS__COUNT];
};

int
clpeers_new(struct clpeers **ret)
{
	struct clpeers *p = calloc(1, sizeof(*p));

	*ret = p;
	return p != NULL ? 0 : -ENOMEM;
}

void
clpeers_free(struct clpeers *p)
{
	if (p == NULL)
		return;
	for (int k = 0; k < CLPEERS__COUNT; k++)
		json_decref(p->list[k]);
	free(p);
}

/* The decision hooks want parameters; loading and walking never use them. */
static const struct dparams *
clpeers_params(void *ctx, uint32_t po_id)
{
	static const struct dparams zero;

	(void)ctx;
	(void)po_id;
	return &zero;
}

struct clpeers_walk {
	const char *instance;
	bool full;
	json_t *out;
	int n;
};

static int
clpeers_attack(const struct decision_attack *a, void *arg)
{
	struct clpeers_walk *w = arg;
	json_t *o;

	if (a->state == DECISION_ENDED)
		return 0;
	if ((o = detection_attack_json(a, w->full)) == NULL)
		return -ENOMEM;
	json_object_set_new(o, "instance", json_string(w->instance));
	if (json_array_append_new(w->out, o) < 0)
		return -ENOMEM;
	w->n++;
	return 0;
}

static int
clpeers_decode_attacks_as(const void *blob, size_t len, const char *instance, bool full,
    json_t *out)
{
	const struct decision_hooks hooks = { .params = clpeers_params };
	struct clpeers_walk w = { .instance = instance, .full = full, .out = json_array() };
	struct decision *dp = NULL;
	int r;

	if (w.out == NULL)
		return -ENOMEM;
	if (len > CLPEERS_BLOB_MAX) {
		r = -EINVAL;
		goto out;
	}
	if ((r = decision_new(&hooks, &dp)) < 0 || (r = decision_load(dp, blob, len)) < 0)
		goto out;
	if ((r = decision_walk(dp, clpeers_attack, &w)) < 0)
		goto out;
	if (json_array_extend(out, w.out) < 0)
		r = -ENOMEM;
	else
		r = w.n;
out:
	decision_free(dp);
	json_decref(w.out);
	return r;
}

int
clpeers_decode_attacks(const void *blob, size_t len, const char *instance, json_t *out)
{
	return clpeers_decode_attacks_as(blob, len, instance, false, out);
}

json_t *
clpeers_find(const json_t *list, uint64_t id)
{
	json_t *o;
	size_t i;

	json_array_foreach(list, i, o) {
		const json_t *v = json_object_get(o, "id");

		if (json_is_integer(v) && (uint64_t)json_integer_value(v) == id)
			return o;
	}
	return NULL;
}

static bool
clpeers_mitigation_ok(const json_t *j)
{
	const json_t *id = json_object_get(j, "id");

	return json_is_object(j) && json_is_integer(id) && json_integer_value(id) > 0 &&
	    json_is_string(json_object_get(json_object_get(j, "request"), "po"));
}

int
clpeers_decode_mitigations(const void *blob, size_t len, const char *instance, json_t *out)
{
	json_error_t jerr;
	json_t *doc, *list, *j, *got;
	size_t i;
	int n = 0;

	if (len == 0 || len > CLPEERS_BLOB_MAX ||
	    (doc = json_loadb(blob, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL)
		return -EINVAL;
	list = json_object_get(doc, "mitigations");
	if (!json_is_object(doc) || !json_is_array(list)) {
		json_decref(doc);
		return -EINVAL;
	}
	if ((got = json_array()) == NULL) {
		json_decref(doc);
		return -ENOMEM;
	}
	json_array_foreach(list, i, j) {
		json_t *copy;

		if (n == (int)LIMIT_ATTACKS_LIVE)
			break;
		if (!clpeers_mitigation_ok(j) || (copy = json_deep_copy(j)) == NULL)
			continue;
		json_object_set_new(copy, "instance", json_string(instance));
		if (json_array_append_new(got, copy) == 0)
			n++;
	}
	json_decref(doc);
	if (json_array_extend(out, got) < 0)
		n = -ENOMEM;
	json_decref(got);
	return n;
}

/* Read key of instance's namespace; the store goes back to self's. */
static int
clpeers_get(struct store *s, const char *self, const char *instance, const char *key,
    void **ret, size_t *ret_len)
{
	char ns[CLUSTER_NAME_MAX + 16];
	int r;

	snprintf(ns, sizeof(ns), "cluster/%s", instance);
	if ((r = store_kv_namespace(s, ns)) < 0)
		return r;
	r = store_kv_get(s, key, ret, ret_len);
	snprintf(ns, sizeof(ns), "cluster/%s", self);
	(void)store_kv_namespace(s, ns);
	return r;
}

static json_t *
clpeers_build(struct store *s, const char *self, const json_t *instances, enum clpeers_kind kind)
{
	const char *key = kind == CLPEERS_MITIGATIONS ? "mitigate/state" : "detect/decision";
	json_t *out = json_array();
	const json_t *o;
	size_t i;

	if (out == NULL)
		return NULL;
	json_array_foreach(instances, i, o) {
		const char *inst = json_string_value(json_object_get(o, "instance"));
		const char *role = json_string_value(json_object_get(o, "role"));
		void *blob = NULL;
		size_t len = 0;

		if (inst == NULL || role == NULL || strcmp(role, "engine") != 0 ||
		    strcmp(inst, self) == 0 || strlen(inst) > CLUSTER_NAME_MAX)
			continue;
		if (clpeers_get(s, self, inst, key, &blob, &len) < 0)
			continue;	/* nothing saved yet, or the store is away */
		if (kind != CLPEERS_MITIGATIONS)
			(void)clpeers_decode_attacks_as(blob, len, inst, kind == CLPEERS_ATTACKS_FULL,
			    out);
		else
			(void)clpeers_decode_mitigations(blob, len, inst, out);
		free(blob);
	}
	return out;
}

json_t *
clpeers_list(struct clpeers *p, struct store *s, const char *self, const json_t *instances,
    enum clpeers_kind kind, uint64_t now_ns)
{
	json_t *fresh;

	if (p->list[kind] != NULL && now_ns - p->at_ns[kind] < CLPEERS_CACHE_NS)
		return json_incref(p->list[kind]);
	if ((fresh = clpeers_build(s, self, instances, kind)) == NULL)
		return NULL;
	json_decref(p->list[kind]);
	p->list[kind] = fresh;
	p->at_ns[kind] = now_ns;
	return json_incref(fresh);
}
