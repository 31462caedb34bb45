/*
 * api_attacks: attacks over REST. The list is newest first and holds
 * declared attacks (live and ended) and, for state=live or all, the
 * suspected ones; one attack carries its detectors and top lists. On an
 * engine of a cluster each attack says which "instance" it is, and the
 * list is the deployment's by default: this engine's attacks and the other
 * live engines' live ones (from their saved state in the shared store,
 * cluster/peers.h); scope=instance lists this engine's own (what a single
 * moatd shows). One attack by id is found among the other engines' too,
 * with the instance that owns it. Roles all and collect list their own.
 */
#include "engine/api/attacks.h"

#include <inttypes.h>
#include <string.h>

#include "common/strnum.h"
#include "engine/api/server.h"
#include "engine/cluster/module.h"
#include "engine/detect/module.h"

enum api_attacks_filter { FILTER_ALL, FILTER_LIVE, FILTER_ENDED };

struct api_attacks_walk {
	enum api_attacks_filter filter;
	json_t *list;
};

static int
api_attacks_collect(const struct decision_attack *a, void *arg)
{
	struct api_attacks_walk *w = arg;
	bool ended = a->state == DECISION_ENDED;
	json_t *o;

	if ((w->filter == FILTER_LIVE && ended) || (w->filter == FILTER_ENDED && !ended))
		return 0;
	o = detection_attack_json(a, false);
	if (o == NULL)
		return -1;
	/* the walk is oldest first; the API answers newest first */
	return json_array_insert_new(w->list, 0, o) < 0 ? -1 : 0;
}

static struct detection_ctx *
api_attacks_detection(struct api_req *r)
{
	struct detection_ctx *d = detection_get(api_req_engine(r));

	if (d == NULL)
		api_reply_error(r, 503, NULL, "detection is not running");
	return d;
}

/* ?scope=deployment (the default) or instance; replies 400 and returns
 * false for anything else. Only an engine of a cluster has a deployment
 * to add (api_attacks_deployment). */
static bool
api_scope(struct api_req *r, bool *ret_deployment)
{
	const char *scope = api_req_query(r, "scope");

	*ret_deployment = scope == NULL || strcmp(scope, "deployment") == 0;
	if (scope != NULL && !*ret_deployment && strcmp(scope, "instance") != 0) {
		api_reply_error(r, 400, "scope", "scope: expected instance or deployment");
		return false;
	}
	return true;
}

/* An engine of a cluster: its own attacks say so, and the other engines'
 * live ones follow (peers: whether to add them). */
static void
api_attacks_deployment(struct api_req *r, json_t *list, bool peers)
{
	struct cluster *c = cluster_get(api_req_engine(r));
	json_t *o, *more;
	size_t i;

	if (c == NULL || cluster_role(c) != CLUSTER_ENGINE)
		return;
	json_array_foreach(list, i, o)
		json_object_set_new(o, "instance", json_string(cluster_instance(c)));
	if (peers && (more = cluster_peer_list(c, CLPEERS_ATTACKS)) != NULL) {
		json_array_extend(list, more);
		json_decref(more);
	}
}

void
api_attacks_list(struct api_req *r)
{
	struct detection_ctx *d = api_attacks_detection(r);
	const char *state = api_req_query(r, "state");
	struct api_attacks_walk w = { .filter = FILTER_ALL };
	bool deployment = false;

	if (d == NULL || !api_scope(r, &deployment))
		return;
	if (state != NULL) {
		if (strcmp(state, "live") == 0)
			w.filter = FILTER_LIVE;
		else if (strcmp(state, "ended") == 0)
			w.filter = FILTER_ENDED;
		else if (strcmp(state, "all") != 0) {
			api_reply_error(r, 400, "state", "state: expected live, ended or all");
			return;
		}
	}
	w.list = json_array();
	if (w.list == NULL || decision_walk(detection_decision(d), api_attacks_collect, &w) != 0) {
		json_decref(w.list);
		api_reply_error(r, 500, NULL, "out of memory");
		return;
	}
	api_attacks_deployment(r, w.list, w.filter != FILTER_ENDED && deployment);
	api_reply_json(r, 200, json_pack("{s:o}", "attacks", w.list));
}

/* An attack this engine does not hold: on an engine of a cluster, another
 * live engine's (as it last saved it), with its "instance"; else 404. */
static void
api_attacks_get_peer(struct api_req *r, uint64_t id)
{
	struct cluster *c = cluster_get(api_req_engine(r));
	json_t *list = NULL, *o = NULL;

	if (c != NULL && cluster_role(c) == CLUSTER_ENGINE &&
	    (list = cluster_peer_list(c, CLPEERS_ATTACKS_FULL)) != NULL)
		o = clpeers_find(list, id);
	if (o == NULL)
		api_reply_error(r, 404, NULL, "no attack %" PRIu64, id);
	else
		api_reply_json(r, 200, json_deep_copy(o));
	json_decref(list);
}

void
api_attacks_get(struct api_req *r)
{
	struct detection_ctx *d = api_attacks_detection(r);
	const struct decision_attack *a;
	struct cluster *c;
	uint64_t id;
	json_t *o;

	if (d == NULL)
		return;
	if (strnum_u64(api_req_param(r), 1, UINT64_MAX, &id) < 0) {
		api_reply_error(r, 404, NULL, "no attack '%s': ids are positive integers",
		    api_req_param(r));
		return;
	}
	a = decision_get(detection_decision(d), id);
	if (a == NULL) {
		api_attacks_get_peer(r, id);
		return;
	}
	o = detection_attack_json(a, true);
	c = cluster_get(api_req_engine(r));
	if (o != NULL && c != NULL && cluster_role(c) == CLUSTER_ENGINE)
		json_object_set_new(o, "instance", json_string(cluster_instance(c)));
	api_reply_json(r, 200, o);
}
