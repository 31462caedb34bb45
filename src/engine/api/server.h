/*
 * api: moatd's REST API server (libevent evhttp) and the request/reply calls
 * handlers use. Handlers (api/pos.c, api/flight.c, api/admin.c, ...) see
 * only struct api_req and the functions below, never the HTTP library; the
 * route table is in api/route.c.
 *
 * Before a body byte is read, the connection filter in api/server.c has
 * parsed the request head strictly (400), checked the Host header against
 * the listen address and api.hosts (421), matched the route (404/405),
 * checked the bearer token of mutating calls (401, constant-time compare)
 * and the Content-Length against the route's cap (413); refused bodies are
 * never buffered. Every reply is JSON except backup; errors are
 * {"error": "...", "field": "..."}.
 */
#ifndef MOAT_ENGINE_API_H
#define MOAT_ENGINE_API_H

#include <stddef.h>

#include <jansson.h>

#include "engine/core/settings.h"
#include "engine/core/engine.h"

struct event_base;
struct api;
struct api_req;
struct api_metrics_mark;

/*
 * Listen on listen->addr:port (socket CLOEXEC|NONBLOCK) and serve. token is
 * copied. Writes <state>/api.url. Returns -errno after logging.
 */
int api_start(struct event_base *base, struct engine *e, const struct settings_api *listen,
    const char *token, struct api **ret);
/* Stop listening and drop connections; accepts NULL. */
void api_free(struct api *a);

struct engine *api_req_engine(struct api_req *r);
/* The server's state for counters /metrics derives (api/metrics.h). */
struct api_metrics_mark *api_req_metrics_mark(struct api_req *r);
/* The {param} of the matched route ("" if none). */
const char *api_req_param(const struct api_req *r);
/* A query parameter (decoded), NULL if absent. */
const char *api_req_query(const struct api_req *r, const char *key);
/* The request body: size, a contiguous copy, or written to fd. */
size_t api_req_body_len(const struct api_req *r);
const char *api_req_body(struct api_req *r);
int api_req_body_to_fd(struct api_req *r, int fd);

/* Reply with a JSON body (the reference is stolen; NULL = 500). */
void api_reply_json(struct api_req *r, int status, json_t *body);
/* Reply with no body (204). */
void api_reply_empty(struct api_req *r, int status);
/* Reply with the contents of fd (ownership passes), as content_type. */
void api_reply_fd(struct api_req *r, int status, const char *content_type, int fd);
/* {"error": <printf>, "field": field} (field omitted when NULL or ""). */
void api_reply_error(struct api_req *r, int status, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
