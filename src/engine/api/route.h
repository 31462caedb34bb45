/*
 * api_route: the REST route table and the matcher — no HTTP library here,
 * so routing is unit-tested on its own. A route is {methods, pattern,
 * handler, body cap}; a pattern is a path whose segments are literals or
 * one "{param}" (one non-empty segment, at most API_PARAM_MAX - 1 bytes).
 *
 * The routes are not listed here: each module's row in engine_modules[]
 * (core/modules.c) carries its route table, and api_route_find() walks
 * them. Adding REST routes: write handlers in api/<resource>.c (see
 * server.h for the request/reply calls) and add rows to the module's route
 * table in core/modules.c.
 */
#ifndef MOAT_ENGINE_API_ROUTE_H
#define MOAT_ENGINE_API_ROUTE_H

#include <stddef.h>

enum api_method {
	API_GET = 1 << 0,
	API_POST = 1 << 1,
	API_PUT = 1 << 2,
	API_DELETE = 1 << 3,
	API_OTHER = 1 << 4,	/* HEAD, PATCH, OPTIONS...: never routed, answered 405 */
};

#define API_PARAM_MAX 128

struct api_req;
typedef void (*api_handler)(struct api_req *r);

struct api_route {
	unsigned methods;	/* enum api_method bits */
	const char *pattern;
	api_handler handler;
	size_t max_body;	/* bodies above this are 413 */
};

enum api_match { API_MATCH, API_NO_PATH, API_NO_METHOD };

/*
 * Match method and path (no query string) against table. API_MATCH sets
 * *ret_route and copies the {param} segment, if any, into param (else "").
 * API_NO_METHOD: some route has this path but not this method (405);
 * API_NO_PATH: none has the path (404).
 */
enum api_match api_route_match(const struct api_route *table, size_t n, unsigned method,
    const char *path, const struct api_route **ret_route, char param[API_PARAM_MAX]);

/*
 * The same over every module's routes (the rows of engine_modules[]): the
 * first route whose path and method match; API_NO_METHOD if some module
 * has the path but none the method. No two modules' routes take the same
 * method and path, so the modules' order does not change the answer.
 */
enum api_match api_route_find(unsigned method, const char *path,
    const struct api_route **ret_route, char param[API_PARAM_MAX]);

/* The largest body any module's route accepts (evhttp's own cap). */
size_t api_route_max_body(void);

/* True if the method needs the bearer token (everything but GET). */
int api_route_mutating(unsigned method);

#endif
