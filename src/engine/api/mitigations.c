/*
 * api_mitigations: mitigations over REST.
 *   GET    /api/v1/mitigations          every mitigation, newest first; on an
 *                                        engine of a cluster each with its
 *                                        "instance", followed by the other
 *                                        engines' live ones (cluster/peers.h)
 *                                        unless ?scope=instance
 *   GET    /api/v1/mitigations/{id}     one; on an engine, another engine's
 *                                        too, with its "instance"
 *   POST   /api/v1/mitigations          {"attack": ID, "driver": "nft"}: manual;
 *                                        in a cluster only on the engine owning
 *                                        the attack's PO (409 naming the owner)
 *   DELETE /api/v1/mitigations/{id}     end it, withdrawing what was applied;
 *                                        another engine's is 409 naming it
 */
#include "engine/api/mitigations.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "common/strnum.h"
#include "engine/api/server.h"
#include "engine/cluster/module.h"
#include "engine/detect/module.h"
#include "engine/mitigate/module.h"

static struct mitigation_ctx *
api_mitigations_ctx(struct api_req *r)
{
	struct mitigation_ctx *m = mitigation_get(api_req_engine(r));

	if (m == NULL)
		api_reply_error(r, 503, NULL, "mitigation is not running");
	return m;
}

static bool
api_mitigations_id(struct api_req *r, uint64_t *ret)
{
	if (strnum_u64(api_req_param(r), 1, UINT64_MAX, ret) < 0) {
		api_reply_error(r, 404, NULL, "no mitigation '%s'", api_req_param(r));
		return false;
	}
	return true;
}

void
api_mitigations_list(struct api_req *r)
{
	struct mitigation_ctx *m = api_mitigations_ctx(r);
	const char *scope = api_req_query(r, "scope");
	bool deployment = scope == NULL || strcmp(scope, "deployment") == 0;
	struct cluster *c;
	json_t *list;

	if (m == NULL)
		return;
	if (scope != NULL && !deployment && strcmp(scope, "instance") != 0) {
		api_reply_error(r, 400, "scope", "scope: expected instance or deployment");
		return;
	}
	if ((list = mitigation_list_json(m)) == NULL) {
		api_reply_error(r, 500, NULL, "out of memory");
		return;
	}
	if ((c = cluster_get(api_req_engine(r))) != NULL && cluster_role(c) == CLUSTER_ENGINE) {
		json_t *o, *more;
		size_t i;

		json_array_foreach(list, i, o)
			json_object_set_new(o, "instance", json_string(cluster_instance(c)));
		if (deployment && (more = cluster_peer_list(c, CLPEERS_MITIGATIONS)) != NULL) {
			json_array_extend(list, more);
			json_decref(more);
		}
	}
	api_reply_json(r, 200, json_pack("{s:o}", "mitigations", list));
}

void
api_mitigations_get(struct api_req *r)
{
	struct mitigation_ctx *m = api_mitigations_ctx(r);
	json_t *one, *list = NULL;
	struct cluster *c;
	uint64_t id;

	if (m == NULL || !api_mitigations_id(r, &id))
		return;
	c = cluster_get(api_req_engine(r));
	if (c != NULL && cluster_role(c) != CLUSTER_ENGINE)
		c = NULL;
	if ((one = mitigation_one_json(m, id)) != NULL) {
		if (c != NULL)
			json_object_set_new(one, "instance", json_string(cluster_instance(c)));
		api_reply_json(r, 200, one);
		return;
	}
	if (c != NULL && (list = cluster_peer_list(c, CLPEERS_MITIGATIONS)) != NULL &&
	    (one = clpeers_find(list, id)) != NULL)
		api_reply_json(r, 200, json_deep_copy(one));
	else
		api_reply_error(r, 404, NULL, "no mitigation %" PRIu64, id);
	json_decref(list);
}

/* NULL if body is {"attack": ID, "driver": NAME}, else the offending key ("" for
 * not an object); *ret_doc is the parsed document either way (caller frees). */
static const char *
api_mitigations_parse(const char *body, size_t len, uint64_t *ret_attack,
    const char **ret_driver, json_t **ret_doc)
{
	json_error_t jerr;
	json_t *doc = body ? json_loadb(body, len, 0, &jerr) : NULL, *v;
	const char *key;

	*ret_doc = doc;
	if (!json_is_object(doc))
		return "";
	json_object_foreach(doc, key, v) {
		if (strcmp(key, "attack") != 0 && strcmp(key, "driver") != 0)
			return key;
	}
	v = json_object_get(doc, "attack");
	if (!json_is_integer(v) || json_integer_value(v) <= 0)
		return "attack";
	*ret_attack = (uint64_t)json_integer_value(v);
	if (!json_is_string(json_object_get(doc, "driver")))
		return "driver";
	*ret_driver = json_string_value(json_object_get(doc, "driver"));
	return NULL;
}

int
api_mitigations_check(const char *body, size_t len, uint64_t *ret_attack)
{
	const char *driver = NULL, *bad;
	uint64_t attack = 0;
	json_t *doc;

	bad = api_mitigations_parse(body, len, &attack, &driver, &doc);
	json_decref(doc);
	if (bad != NULL)
		return -EINVAL;
	*ret_attack = attack;
	return 0;
}

/* The engine whose live attack (kind CLPEERS_ATTACKS) or mitigation (kind
 * CLPEERS_MITIGATIONS) id is, among the other engines' (the deployment's
 * view), into ret; false when none lists it. */
static bool
api_mitigations_peer_owner(struct cluster *c, enum clpeers_kind kind, uint64_t id, char *ret,
    size_t len)
{
	json_t *list = cluster_peer_list(c, kind);
	const json_t *o = clpeers_find(list, id);
	bool found = json_is_string(json_object_get(o, "instance"));

	if (found)
		snprintf(ret, len, "%s", json_string_value(json_object_get(o, "instance")));
	json_decref(list);
	return found;
}

/*
 * An engine of a cluster installs a manual rule only for a PO whose shard it
 * owns now (the same fencing as its own rules): otherwise 409 naming the
 * owner, where the operator should go; an attack only another engine knows
 * is 409 naming that engine too. Replies and returns false when refused;
 * an attack no engine lists is left to mitigation_manual() (404).
 */
static bool
api_mitigations_fenced(struct api_req *r, uint64_t attack)
{
	struct engine *e = api_req_engine(r);
	struct cluster *c = cluster_get(e);
	struct detection_ctx *d = detection_get(e);
	const struct decision_attack *a;
	char owner[64];

	if (c == NULL || d == NULL || cluster_role(c) != CLUSTER_ENGINE)
		return true;
	if ((a = decision_get(detection_decision(d), attack)) == NULL) {
		if (!api_mitigations_peer_owner(c, CLPEERS_ATTACKS, attack, owner, sizeof(owner)))
			return true;
		api_reply_error(r, 409, "attack", "attack %" PRIu64 " is instance %s's: mitigate "
		    "it there", attack, owner);
		return false;
	}
	if (cluster_po_owned(c, a->po))
		return true;
	if (cluster_shard_owner(c, a->po, owner, sizeof(owner)))
		api_reply_error(r, 409, "attack", "PO %s is owned by instance %s: mitigate it there",
		    a->po, owner);
	else
		api_reply_error(r, 409, "attack", "this instance does not own PO %s now (its shard "
		    "has no live owner)", a->po);
	return false;
}

void
api_mitigations_create(struct api_req *r)
{
	struct mitigation_ctx *m = api_mitigations_ctx(r);
	const char *driver = NULL, *bad;
	uint64_t attack = 0, id = 0;
	json_t *doc;
	int rc;

	if (m == NULL)
		return;
	if ((bad = api_mitigations_parse(api_req_body(r), api_req_body_len(r), &attack, &driver,
	    &doc)) != NULL) {
		if (*bad == '\0')
			api_reply_error(r, 400, NULL, "expected a JSON object {\"attack\": ID, \"driver\": NAME}");
		else
			api_reply_error(r, 400, bad, "'%s': expected \"attack\" (a positive integer) and "
			    "\"driver\" (a driver name)", bad);
		json_decref(doc);
		return;
	}
	if (!api_mitigations_fenced(r, attack)) {
		json_decref(doc);
		return;
	}
	rc = mitigation_manual(m, attack, driver, &id);
	if (rc == -ENOENT)
		api_reply_error(r, 404, "attack", "no attack %" PRIu64, attack);
	else if (rc == -ESRCH)
		api_reply_error(r, 400, "driver", "unknown driver '%s'", driver);
	else if (rc == -EEXIST)
		api_reply_error(r, 409, "attack", "attack %" PRIu64 " already has mitigation %" PRIu64,
		    attack, id);
	else if (rc < 0)
		api_reply_error(r, 500, NULL, "mitigation failed: %s", strerror(-rc));
	else
		api_reply_json(r, 201, mitigation_one_json(m, id));
	json_decref(doc);
}

void
api_mitigations_delete(struct api_req *r)
{
	struct mitigation_ctx *m = api_mitigations_ctx(r);
	struct cluster *c;
	char owner[64];
	uint64_t id;
	int rc;

	if (m == NULL || !api_mitigations_id(r, &id))
		return;
	rc = mitigation_stop(m, id);
	c = cluster_get(api_req_engine(r));
	if (rc == -ENOENT && c != NULL && cluster_role(c) == CLUSTER_ENGINE &&
	    api_mitigations_peer_owner(c, CLPEERS_MITIGATIONS, id, owner, sizeof(owner)))
		api_reply_error(r, 409, NULL, "mitigation %" PRIu64 " is instance %s's: withdraw "
		    "it there", id, owner);
	else if (rc == -ENOENT)
		api_reply_error(r, 404, NULL, "no mitigation %" PRIu64, id);
	else if (rc == -EALREADY)
		api_reply_error(r, 409, NULL, "mitigation %" PRIu64 " has already ended", id);
	else
		api_reply_empty(r, 204);
}
