/*
 * api_route: a segment-wise matcher over the modules' route tables.
 */
#include "engine/api/route.h"

#include <stdbool.h>
#include <string.h>

#include "engine/core/modules.h"

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

enum api_match
api_route_find(unsigned method, const char *path, const struct api_route **ret_route,
    char param[API_PARAM_MAX])
{
	bool path_known = false;

	for (size_t m = 0; m < ENGINE_NMODS; m++) {
		const struct api_route *table = engine_modules[m].routes;
		size_t n = 0;

		if (table == NULL)
			continue;
		while (table[n].pattern != NULL)
			n++;
		switch (api_route_match(table, n, method, path, ret_route, param)) {
		case API_MATCH:
			return API_MATCH;
		case API_NO_METHOD:
			path_known = true;
			break;
		case API_NO_PATH:
			break;
		}
	}
	return path_known ? API_NO_METHOD : API_NO_PATH;
}

size_t
api_route_max_body(void)
{
	size_t max = 0;

	for (size_t m = 0; m < ENGINE_NMODS; m++)
		for (const struct api_route *r = engine_modules[m].routes;
		    r != NULL && r->pattern != NULL; r++)
			if (r->max_body > max)
				max = r->max_body;
	return max;
}
