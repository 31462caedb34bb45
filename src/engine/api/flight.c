/*
 * api_flight: the flight record over REST:
 * ?category=a,b&since=S&until=U&limit=N, newest first.
 */
#include "engine/api/flight.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/limits.h"
#include "common/strnum.h"
#include "engine/api/server.h"
#include "engine/core/engine.h"

#define API_FLIGHT_DEFAULT_LIMIT 100u

/* Fill one time bound; replies 400 and returns false if it is malformed. */
static bool
api_flight_bound(struct api_req *r, const char *key, int64_t now_ms, bool upper, int64_t *ret)
{
	const char *v = api_req_query(r, key);

	if (!v)
		return true;
	if (flight_parse_time(v, now_ms, upper, ret) < 0) {
		api_reply_error(r, 400, key, "%s: expected Unix seconds or a duration like 30m, "
		    "1h, 2d", key);
		return false;
	}
	return true;
}

void
api_flight_get(struct api_req *r)
{
	struct engine *e = api_req_engine(r);
	int64_t now_ms = (int64_t)(clock_wall_ns(engine_clock(e)) / 1000000u);
	struct flight_query q = { .since_ms = 0, .until_ms = INT64_MAX,
		.limit = API_FLIGHT_DEFAULT_LIMIT };
	const char *cat = api_req_query(r, "category"), *limit = api_req_query(r, "limit");
	char catbuf[512];
	json_t *entries;
	uint64_t n;
	int ret;

	if (!api_flight_bound(r, "since", now_ms, false, &q.since_ms) ||
	    !api_flight_bound(r, "until", now_ms, true, &q.until_ms))
		return;
	if (limit) {
		if (strnum_u64(limit, 1, LIMIT_FLIGHT_QUERY, &n) < 0) {
			api_reply_error(r, 400, "limit", "limit: expected 1..%u", LIMIT_FLIGHT_QUERY);
			return;
		}
		q.limit = (uint32_t)n;
	}
	if (cat) {
		if (strlen(cat) >= sizeof(catbuf)) {
			api_reply_error(r, 400, "category", "category list too long");
			return;
		}
		strcpy(catbuf, cat);
		if (flight_parse_categories(catbuf, &q) < 0) {
			api_reply_error(r, 400, "category", "category: expected a comma list of config, "
			    "lifecycle, store, health, traffic, learning, detection, attack, "
			    "mitigation, exporter, decoy, ins, cluster");
			return;
		}
	}
	ret = flight_query(engine_flight(e), &q, &entries);
	if (ret < 0) {
		api_reply_error(r, 500, NULL, "flight query failed: %s", strerror(-ret));
		return;
	}
	api_reply_json(r, 200, json_pack("{s:o}", "entries", entries));
}
