/*
 * api_pos: protected objects over REST. Validation is po's, conflicts and
 * persistence the engine's; this file maps their results to HTTP statuses.
 */
#include "engine/api/pos.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/api/server.h"
#include "engine/core/engine.h"

void
api_pos_list(struct api_req *r)
{
	const struct po **sorted;
	json_t *arr;
	size_t n;

	if (poset_sorted(engine_pos(api_req_engine(r)), &sorted, &n) < 0) {
		api_reply_error(r, 500, NULL, "out of memory");
		return;
	}
	arr = json_array();
	for (size_t i = 0; arr && i < n; i++) {
		if (json_array_append_new(arr, po_to_json(sorted[i])) < 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	free(sorted);
	api_reply_json(r, 200, arr ? json_pack("{s:o}", "pos", arr) : NULL);
}

/* Parse the body as a PO; replies 400 and returns NULL on failure. */
static struct po *
api_pos_parse(struct api_req *r, const char *url_name)
{
	struct po_error err = { 0 };
	const char *body = api_req_body(r);
	struct po *p = NULL;
	int ret;

	if (!body) {
		api_reply_error(r, 500, NULL, "out of memory");
		return NULL;
	}
	ret = po_from_text(body, api_req_body_len(r), url_name, PO_IN_API, &p, &err);
	if (ret == -EINVAL)
		api_reply_error(r, 400, err.field, "%s", err.msg);
	else if (ret < 0)
		api_reply_error(r, 500, NULL, "%s", strerror(-ret));
	return ret == 0 ? p : NULL;
}

static void
api_pos_store(struct api_req *r, struct po *p, bool create_only)
{
	struct po_error err = { 0 };
	const struct po *now = NULL;
	int ret = engine_po_put(api_req_engine(r), p, create_only, &now, &err);

	switch (ret) {
	case 0:
	case 1:
		api_reply_json(r, ret == 0 ? 201 : 200, po_to_json(now));
		return;
	case -EEXIST:
	case -EPERM:
	case -ENOSPC:
		api_reply_error(r, 409, err.field, "%s", err.msg);
		return;
	default:
		api_reply_error(r, 500, err.field, "%s", err.msg[0] ? err.msg : strerror(-ret));
		return;
	}
}

void
api_pos_create(struct api_req *r)
{
	struct po *p = api_pos_parse(r, NULL);

	if (p)
		api_pos_store(r, p, true);
}

void
api_pos_replace(struct api_req *r)
{
	struct po *p;

	if (!po_name_valid(api_req_param(r))) {
		api_reply_error(r, 400, "name", "invalid PO name in the URL");
		return;
	}
	p = api_pos_parse(r, api_req_param(r));
	if (p)
		api_pos_store(r, p, false);
}

void
api_pos_get(struct api_req *r)
{
	const struct po *p = poset_find(engine_pos(api_req_engine(r)), api_req_param(r), NULL);

	if (!p) {
		api_reply_error(r, 404, NULL, "no PO named %.64s", api_req_param(r));
		return;
	}
	api_reply_json(r, 200, po_to_json(p));
}

void
api_pos_delete(struct api_req *r)
{
	const char *name = api_req_param(r);

	switch (engine_po_del(api_req_engine(r), name)) {
	case 0:
		api_reply_empty(r, 204);
		return;
	case -ENOENT:
		api_reply_error(r, 404, NULL, "no PO named %.64s", name);
		return;
	case -EPERM:
		api_reply_error(r, 409, "name", "PO %.64s is declared in the config file", name);
		return;
	default:
		api_reply_error(r, 500, NULL, "the store refused the change");
		return;
	}
}
