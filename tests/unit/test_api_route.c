/* Unit tests for engine/api_route: literal and {param} matching, 404 versus
 * 405, and the shipped table's contract routes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "engine/api/route.h"

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
	};
	const struct api_route *rt;
	char param[API_PARAM_MAX];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum api_match m = api_route_match(api_routes, api_nroutes, cases[i].method,
		    cases[i].path, &rt, param);

		if (m != cases[i].want)
			fail_msg("%s: got %d, want %d", cases[i].path, m, cases[i].want);
	}
	assert_false(api_route_mutating(API_GET));
	assert_true(api_route_mutating(API_DELETE));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_contract_routes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
