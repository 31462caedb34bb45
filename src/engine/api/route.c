/*
 * api_route: the /api/v1 route table and a segment-wise matcher.
 */
#include "engine/api/route.h"

#include <stdbool.h>
#include <string.h>

#include "common/limits.h"
#include "engine/api/admin.h"
#include "engine/api/attacks.h"
#include "engine/api/connections.h"
#include "engine/api/alarms.h"
#include "engine/api/flight.h"
#include "engine/api/history.h"
#include "engine/api/mitigations.h"
#include "engine/api/pos.h"
#include "engine/api/traffic.h"

/* Every REST route of moatd. Another part adds its routes as rows here. */
const struct api_route api_routes[] = {
	{ API_GET, "/api/v1/health", api_admin_health, 0 },
	{ API_GET, "/api/v1/pos", api_pos_list, 0 },
	{ API_POST, "/api/v1/pos", api_pos_create, LIMIT_API_BODY },
	{ API_GET, "/api/v1/pos/{name}", api_pos_get, 0 },
	{ API_PUT, "/api/v1/pos/{name}", api_pos_replace, LIMIT_API_BODY },
	{ API_DELETE, "/api/v1/pos/{name}", api_pos_delete, 0 },
	{ API_GET, "/api/v1/flight", api_flight_get, 0 },
	{ API_GET, "/api/v1/attacks", api_attacks_list, 0 },
	{ API_GET, "/api/v1/attacks/{id}", api_attacks_get, 0 },
	{ API_GET, "/api/v1/pos/{name}/traffic", api_traffic_po, 0 },
	{ API_GET, "/api/v1/pos/{name}/history", api_history_po, 0 },
	{ API_GET, "/api/v1/exporters", api_traffic_exporters, 0 },
	{ API_GET, "/metrics", api_traffic_metrics, 0 },
	{ API_POST, "/api/v1/alarms", api_alarms_post, LIMIT_API_BODY },
	{ API_GET, "/api/v1/connections", api_connections_list, 0 },
	{ API_GET, "/api/v1/mitigations", api_mitigations_list, 0 },
	{ API_GET, "/api/v1/mitigations/{id}", api_mitigations_get, 0 },
	{ API_POST, "/api/v1/mitigations", api_mitigations_create, LIMIT_API_BODY },
	{ API_DELETE, "/api/v1/mitigations/{id}", api_mitigations_delete, 0 },
	{ API_POST, "/api/v1/backup", api_admin_backup, LIMIT_API_BODY },
	{ API_POST, "/api/v1/restore", api_admin_restore, LIMIT_API_RESTORE_BODY },
	{ API_POST, "/api/v1/reset", api_admin_reset, LIMIT_API_BODY },
};

const size_t api_nroutes = sizeof(api_routes) / sizeof(api_routes[0]);

/* Next segment of *p (after its leading '/'); false at the end. */
static bool
api_route_segment(const char **p, const char **ret, size_t *ret_len)
{
	const char *s = *p, *end;

	if (*s != '/')
		return false;
	s++;
	end = strchr(s, '/');
	if (!end)
		end = s + strlen(s);
	*ret = s;
	*ret_len = (size_t)(end - s);
	*p = end;
	return true;
}

/* Does path match pattern? The {param} segment is copied on success. */
static bool
api_route_path_matches(const char *pattern, const char *path, char param[API_PARAM_MAX])
{
	const char *ps, *ss;
	size_t plen, slen;
	char tmp[API_PARAM_MAX] = "";

	for (;;) {
		bool more_p = api_route_segment(&pattern, &ps, &plen);
		bool more_s = api_route_segment(&path, &ss, &slen);

		if (!more_p || !more_s) {
			if (more_p || more_s || *pattern || *path)
				return false;
			memcpy(param, tmp, sizeof(tmp));
			return true;
		}
		if (plen >= 2 && ps[0] == '{' && ps[plen - 1] == '}') {
			if (slen == 0 || slen >= API_PARAM_MAX)
				return false;
			memcpy(tmp, ss, slen);
			tmp[slen] = '\0';
		} else if (plen != slen || memcmp(ps, ss, plen) != 0) {
			return false;
		}
	}
}

enum api_match
api_route_match(const struct api_route *table, size_t n, unsigned method, const char *path,
    const struct api_route **ret_route, char param[API_PARAM_MAX])
{
	bool path_known = false;

	for (size_t i = 0; i < n; i++) {
		char tmp[API_PARAM_MAX];

		if (!api_route_path_matches(table[i].pattern, path, tmp))
			continue;
		path_known = true;
		if (table[i].methods & method) {
			*ret_route = &table[i];
			memcpy(param, tmp, API_PARAM_MAX);
			return API_MATCH;
		}
	}
	return path_known ? API_NO_METHOD : API_NO_PATH;
}

int
api_route_mutating(unsigned method)
{
	return method != API_GET;
}
