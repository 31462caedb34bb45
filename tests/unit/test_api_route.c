/* Unit tests for engine/api_route: literal and {param} matching, 404 versus
 * 405, and the shipped routes (the modules' route tables) by contract. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "common/limits.h"
#include "engine/api/route.h"
#include "engine/core/modules.h"

static void h1(struct api_req *r) { (void)r; }
static void h2(struct api_req *r) { (void)r; }

static const struct api_route table[] = {
	{ API_GET, "/api/v1/pos", h1, 0 },
	{ API_GET | API_PUT, "/api/v1/pos/{name}", h2, 10 },
};

static enum api_match
match(unsigned m, const char *path, const struct api_route **ret, char *param)
{
	return api_route_match(table, 2, m, path, ret, param);
}

static void
test_match(void **state)
{
	const struct api_route *rt = NULL;
	char param[API_PARAM_MAX];
	char longname[API_PARAM_MAX + 20] = "/api/v1/pos/";

	assert_int_equal(match(API_GET, "/api/v1/pos", &rt, param), API_MATCH);
	assert_ptr_equal(rt->handler, h1);
	assert_string_equal(param, "");

	assert_int_equal(match(API_PUT, "/api/v1/pos/web", &rt, param), API_MATCH);
	assert_ptr_equal(rt->handler, h2);
	assert_string_equal(param, "web");

	assert_int_equal(match(API_POST, "/api/v1/pos", &rt, param), API_NO_METHOD);
	assert_int_equal(match(API_DELETE, "/api/v1/pos/web", &rt, param), API_NO_METHOD);
	assert_int_equal(match(API_OTHER, "/api/v1/pos/web", &rt, param), API_NO_METHOD);
	assert_int_equal(match(API_GET, "/api/v1/pos/", &rt, param), API_NO_PATH);
	assert_int_equal(match(API_GET, "/api/v1/pos/a/b", &rt, param), API_NO_PATH);
	assert_int_equal(match(API_GET, "/api/v1/posx", &rt, param), API_NO_PATH);
	assert_int_equal(match(API_GET, "/api/v1", &rt, param), API_NO_PATH);
	assert_int_equal(match(API_GET, "/", &rt, param), API_NO_PATH);
	assert_int_equal(match(API_GET, "", &rt, param), API_NO_PATH);
	assert_int_equal(match(API_GET, "api/v1/pos", &rt, param), API_NO_PATH);

	memset(longname + strlen(longname), 'a', API_PARAM_MAX);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(match(API_GET, longname, &rt, param), API_NO_PATH);
}

static void
test_contract_routes(void **state)
{
	static const struct {
		unsigned method;
		const char *path;
		enum api_match want;
	} cases[] = {
		{ API_GET, "/api/v1/health", API_MATCH },
		{ API_POST, "/api/v1/health", API_NO_METHOD },
		{ API_GET, "/api/v1/pos", API_MATCH },
		{ API_POST, "/api/v1/pos", API_MATCH },
		{ API_PUT, "/api/v1/pos", API_NO_METHOD },
		{ API_GET, "/api/v1/pos/web", API_MATCH },
		{ API_PUT, "/api/v1/pos/web", API_MATCH },
		{ API_DELETE, "/api/v1/pos/web", API_MATCH },
		{ API_POST, "/api/v1/pos/web", API_NO_METHOD },
		{ API_GET, "/api/v1/flight", API_MATCH },
		{ API_POST, "/api/v1/backup", API_MATCH },
		{ API_GET, "/api/v1/backup", API_NO_METHOD },
		{ API_POST, "/api/v1/restore", API_MATCH },
		{ API_POST, "/api/v1/reset", API_MATCH },
		{ API_GET, "/api/v2/health", API_NO_PATH },
		{ API_GET, "/api/v1/attacks", API_MATCH },
		{ API_GET, "/api/v1/attacks/7", API_MATCH },
		{ API_DELETE, "/api/v1/attacks/7", API_NO_METHOD },
		{ API_GET, "/api/v1/pos/web/traffic", API_MATCH },
		{ API_PUT, "/api/v1/pos/web/traffic", API_NO_METHOD },
		{ API_GET, "/api/v1/pos/web/history", API_MATCH },
		{ API_POST, "/api/v1/pos/web/history", API_NO_METHOD },
		{ API_GET, "/api/v1/exporters", API_MATCH },
		{ API_GET, "/metrics", API_MATCH },
		{ API_POST, "/api/v1/alarms", API_MATCH },
		{ API_GET, "/api/v1/alarms", API_NO_METHOD },
		{ API_GET, "/api/v1/connections", API_MATCH },
		{ API_GET, "/api/v1/mitigations", API_MATCH },
		{ API_POST, "/api/v1/mitigations", API_MATCH },
		{ API_GET, "/api/v1/mitigations/3", API_MATCH },
		{ API_DELETE, "/api/v1/mitigations/3", API_MATCH },
		{ API_PUT, "/api/v1/mitigations/3", API_NO_METHOD },
	};
	const struct api_route *rt;
	char param[API_PARAM_MAX];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum api_match m = api_route_find(engine_modules, cases[i].method, cases[i].path, &rt, param);

		if (m != cases[i].want)
			fail_msg("%s: got %d, want %d", cases[i].path, m, cases[i].want);
	}
	assert_false(api_route_mutating(API_GET));
	assert_true(api_route_mutating(API_DELETE));
}

/* Every module's row carries its routes: each route is found by the
 * router as itself (no other module's route shadows it), and the bodies
 * keep their caps. */
static void
test_module_routes(void **state)
{
	size_t total = 0;

	for (size_t m = 0; m < ENGINE_NMODS; m++) {
		const struct api_route *t = engine_modules[m].routes;

		for (; t != NULL && t->pattern != NULL; t++) {
			const struct api_route *rt = NULL;
			char path[256], param[API_PARAM_MAX];
			const char *brace = strchr(t->pattern, '{');

			/* The pattern with its {param} replaced by "x". */
			if (brace != NULL)
				snprintf(path, sizeof(path), "%.*sx%s", (int)(brace - t->pattern),
				    t->pattern, strchr(brace, '}') + 1);
			else
				snprintf(path, sizeof(path), "%s", t->pattern);
			for (unsigned bit = API_GET; bit <= API_DELETE; bit <<= 1) {
				if (!(t->methods & bit))
					continue;
				assert_int_equal(api_route_find(engine_modules, bit, path, &rt, param), API_MATCH);
				if (rt != t)
					fail_msg("%s %s: routed to %s", engine_modules[m].name,
					    path, rt->pattern);
			}
			total++;
		}
	}
	assert_int_equal(total, 23);	/* the 21 of the old single table + history + cluster */
	{
		const struct api_route *rt;
		char param[API_PARAM_MAX];

		assert_int_equal(api_route_find(engine_modules, API_POST, "/api/v1/restore", &rt, param),
		    API_MATCH);
		assert_int_equal(rt->max_body, LIMIT_API_RESTORE_BODY);
		assert_int_equal(api_route_find(engine_modules, API_POST, "/api/v1/alarms", &rt, param), API_MATCH);
		assert_int_equal(rt->max_body, LIMIT_API_BODY);
		assert_int_equal(api_route_find(engine_modules, API_GET, "/metrics", &rt, param), API_MATCH);
		assert_int_equal(rt->max_body, 0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_contract_routes),
		cmocka_unit_test(test_module_routes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
