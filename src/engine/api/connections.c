/*
 * api_connections: the connection table over REST. Open connections come
 * first (least recently updated first), then ended ones in the order they
 * ended; filters combine (AND). "total" counts every match, "connections"
 * holds at most `limit` of them (default 1000, at most LIMIT_CONNTAB_LIST).
 */
#include "engine/api/connections.h"

#include "common/limits.h"
#include "common/strnum.h"
#include "engine/api/server.h"
#include "engine/conntab/conntab.h"
#include "engine/po/poset.h"

#define API_CONNECTIONS_DEFAULT_LIMIT 1000u

struct api_conn_walk {
	struct engine *e;
	bool by_po, by_state, by_source;
	uint32_t po_id;
	uint8_t state;
	struct ipaddr source;
	uint64_t limit, total;
	json_t *list;
};

static int
api_connections_collect(const struct conntab_conn *c, void *arg)
{
	struct api_conn_walk *w = arg;
	const struct po *po;
	json_t *o;

	if ((w->by_po && c->po_id != w->po_id) || (w->by_state && c->state != w->state) ||
	    (w->by_source && !ipaddr_equal(&c->src, &w->source)))
		return 0;
	if (w->total++ >= w->limit)
		return 0;
	po = c->po_id != CONNTAB_NONE ? poset_at(engine_pos(w->e), c->po_id) : NULL;
	o = conntab_conn_json(c, po ? po->name : NULL);
	return o == NULL || json_array_append_new(w->list, o) < 0 ? -1 : 0;
}

/* Read the filters; false after replying 400. */
static bool
api_connections_filters(struct api_req *r, struct api_conn_walk *w)
{
	const char *po = api_req_query(r, "po"), *state = api_req_query(r, "state");
	const char *source = api_req_query(r, "source"), *limit = api_req_query(r, "limit");

	if (po != NULL) {
		if (poset_find(engine_pos(w->e), po, &w->po_id) == NULL) {
			api_reply_error(r, 404, "po", "no PO named '%s'", po);
			return false;
		}
		w->by_po = true;
	}
	if (state != NULL) {
		if (conntab_state_parse(state, &w->state) < 0) {
			api_reply_error(r, 400, "state", "state: expected open, closed, slow or dropped");
			return false;
		}
		w->by_state = true;
	}
	if (source != NULL) {
		if (ipaddr_parse(source, &w->source) < 0) {
			api_reply_error(r, 400, "source", "source: expected an IPv4 or IPv6 address");
			return false;
		}
		w->by_source = true;
	}
	if (limit != NULL && strnum_u64(limit, 1, LIMIT_CONNTAB_LIST, &w->limit) < 0) {
		api_reply_error(r, 400, "limit", "limit: expected 1..%u", LIMIT_CONNTAB_LIST);
		return false;
	}
	return true;
}

void
api_connections_list(struct api_req *r)
{
	struct api_conn_walk w = { .e = api_req_engine(r), .limit = API_CONNECTIONS_DEFAULT_LIMIT };
	struct conntab *t = conntab_get(w.e);
	struct conntab_stats st;

	if (t == NULL) {
		api_reply_error(r, 503, NULL, "the connection table is not running");
		return;
	}
	if (!api_connections_filters(r, &w))
		return;
	w.list = json_array();
	if (w.list == NULL || conntab_walk(t, api_connections_collect, &w) != 0) {
		json_decref(w.list);
		api_reply_error(r, 500, NULL, "out of memory");
		return;
	}
	conntab_stats(t, &st);
	api_reply_json(r, 200, json_pack("{s:I,s:I,s:I,s:o}", "total", (json_int_t)w.total,
	    "open", (json_int_t)st.open, "evictions", (json_int_t)st.evictions,
	    "connections", w.list));
}
