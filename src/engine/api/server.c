/*
 * api: evhttp glue — listening socket, per-request dispatch (route, token,
 * body cap), and the reply helpers. This and loop.c are the only engine
 * files that include the event library.
 */
#include "engine/api/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "common/limits.h"
#include "common/log.h"
#include "engine/api/history.h"
#include "engine/api/route.h"
#include "engine/api/www.h"
#include "engine/core/token.h"

struct api {
	struct evhttp *http;
	struct engine *e;
	struct api_www *www;	/* the dashboard's files (api/www.c) */
	struct api_history *history;	/* its traffic charts (api/history.c) */
	char token[TOKEN_HEX_LEN + 1];
};

struct api_req {
	struct evhttp_request *req;
	struct api *api;
	char param[API_PARAM_MAX];
	struct evkeyvalq query;
	char *body;		/* contiguous NUL-terminated copy, on demand */
	bool replied;
};

static const char *
api_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 503: return "Service Unavailable";
	default: return status >= 500 ? "Internal Server Error" : "Error";
	}
}

struct engine *
api_req_engine(struct api_req *r)
{
	return r->api->e;
}

const char *
api_req_param(const struct api_req *r)
{
	return r->param;
}

const char *
api_req_query(const struct api_req *r, const char *key)
{
	return evhttp_find_header(&r->query, key);
}

size_t
api_req_body_len(const struct api_req *r)
{
	return evbuffer_get_length(evhttp_request_get_input_buffer(r->req));
}

const char *
api_req_body(struct api_req *r)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(r->req);
	size_t n = evbuffer_get_length(in);

	if (!r->body) {
		r->body = malloc(n + 1);
		if (!r->body)
			return NULL;
		evbuffer_copyout(in, r->body, n);
		r->body[n] = '\0';
	}
	return r->body;
}

int
api_req_body_to_fd(struct api_req *r, int fd)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(r->req);

	while (evbuffer_get_length(in) > 0) {
		int n = evbuffer_write(in, fd);

		if (n < 0 && errno != EINTR)
			return -errno;
	}
	return 0;
}

static void
api_send(struct api_req *r, int status, struct evbuffer *body, const char *content_type)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);

	if (content_type)
		evhttp_add_header(h, "Content-Type", content_type);
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_send_reply(r->req, status, api_reason(status), body);
	r->replied = true;
}

void
api_reply_json(struct api_req *r, int status, json_t *body)
{
	struct evbuffer *buf = evbuffer_new();
	char *text = NULL;

	if (body)
		text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(body);
	if (!buf || !text) {
		free(text);
		if (buf)
			evbuffer_add_printf(buf, "{\"error\":\"out of memory\"}\n");
		api_send(r, 500, buf, "application/json");
		evbuffer_free(buf);
		return;
	}
	evbuffer_add(buf, text, strlen(text));
	evbuffer_add(buf, "\n", 1);
	free(text);
	api_send(r, status, buf, "application/json");
	evbuffer_free(buf);
}

void
api_reply_empty(struct api_req *r, int status)
{
	api_send(r, status, NULL, NULL);
}

void
api_reply_fd(struct api_req *r, int status, const char *content_type, int fd)
{
	struct evbuffer *buf = evbuffer_new();
	struct stat st;

	if (!buf || fstat(fd, &st) < 0 || evbuffer_add_file(buf, fd, 0, st.st_size) < 0) {
		close(fd);
		if (buf)
			evbuffer_free(buf);
		api_reply_error(r, 500, NULL, "cannot send the file");
		return;
	}
	api_send(r, status, buf, content_type);
	evbuffer_free(buf);
}

void
api_reply_error(struct api_req *r, int status, const char *field, const char *fmt, ...)
{
	char msg[512];
	json_t *j;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (field && *field)
		j = json_pack("{s:s, s:s}", "error", msg, "field", field);
	else
		j = json_pack("{s:s}", "error", msg);
	api_reply_json(r, status, j);
}

static unsigned
api_method(enum evhttp_cmd_type cmd)
{
	switch (cmd) {
	case EVHTTP_REQ_GET: return API_GET;
	case EVHTTP_REQ_POST: return API_POST;
	case EVHTTP_REQ_PUT: return API_PUT;
	case EVHTTP_REQ_DELETE: return API_DELETE;
	default: return API_OTHER;
	}
}

static const char *
api_method_name(unsigned method)
{
	switch (method) {
	case API_GET: return "GET";
	case API_POST: return "POST";
	case API_PUT: return "PUT";
	case API_DELETE: return "DELETE";
	default: return "other";
	}
}

static bool
api_authorized(struct api_req *r)
{
	const char *h = evhttp_find_header(evhttp_request_get_input_headers(r->req),
	    "Authorization");
	static const char prefix[] = "Bearer ";

	if (!h || strncasecmp(h, prefix, sizeof(prefix) - 1) != 0)
		return false;
	h += sizeof(prefix) - 1;
	while (*h == ' ')
		h++;
	return token_equal(r->api->token, h);
}

/* Route, authenticate and size-check one request, then run its handler. */
static void
api_dispatch(struct api_req *r)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(r->req);
	unsigned method = api_method(evhttp_request_get_command(r->req));
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
	const struct api_route *route = NULL;

	if (!path || !*path) {
		api_reply_error(r, 400, NULL, "bad request URI");
		return;
	}
	switch (api_route_match(api_routes, api_nroutes, method, path, &route, r->param)) {
	case API_NO_PATH:
		api_reply_error(r, 404, NULL, "no such resource: %.200s", path);
		return;
	case API_NO_METHOD:
		api_reply_error(r, 405, NULL, "method not allowed on %.200s", path);
		return;
	case API_MATCH:
		break;
	}
	if (query && evhttp_parse_query_str(query, &r->query) < 0) {
		api_reply_error(r, 400, NULL, "malformed query string");
		return;
	}
	if (api_route_mutating(method) && !api_authorized(r)) {
		char *host = NULL;
		ev_uint16_t port = 0;

		evhttp_connection_get_peer(evhttp_request_get_connection(r->req), &host, &port);
		log_ratelimited(5, 60, log_warnx, "api: %s %.100s from %s: missing or wrong token",
		    api_method_name(method), path, host ? host : "?");
		evhttp_add_header(evhttp_request_get_output_headers(r->req), "WWW-Authenticate",
		    "Bearer");
		api_reply_error(r, 401, NULL, "missing or wrong bearer token");
		return;
	}
	if (api_req_body_len(r) > route->max_body) {
		api_reply_error(r, 413, NULL, "request body over %zu bytes", route->max_body);
		return;
	}
	route->handler(r);
}

static void
api_on_request(struct evhttp_request *req, void *arg)
{
	struct api_req r = { .req = req, .api = arg };
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;

	if (path && *path && api_www_owns(path)) {
		api_www_serve(r.api->www, req, path);
		return;
	}
	TAILQ_INIT(&r.query);
	api_dispatch(&r);
	if (!r.replied) {
		log_warnx("api: handler for %s sent no reply", evhttp_request_get_uri(req));
		api_reply_error(&r, 500, NULL, "internal error");
	}
	evhttp_clear_headers(&r.query);
	free(r.body);
}

static int
api_listen_socket(const struct settings_api *l)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len;
	int fd, one = 1;

	if (l->addr.af == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(l->port);
		memcpy(&sin->sin_addr, l->addr.a, 4);
		len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(l->port);
		memcpy(&sin6->sin6_addr, l->addr.a, 16);
		len = sizeof(*sin6);
	}
	fd = socket(l->addr.af, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (l->addr.af == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, (int)LIMIT_API_CONNS) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

/* <state>/api.url, replaced atomically, so the CLI finds a non-default address. */
static int
api_write_url(const char *state_dir, const struct settings_api *l)
{
	char path[4096], tmp[4100], addr[IPADDR_STRLEN];
	FILE *f;
	int fd, r = 0;

	snprintf(path, sizeof(path), "%s/api.url", state_dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	ipaddr_format(&l->addr, addr, sizeof(addr));
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return -errno;
	}
	if (l->addr.af == AF_INET6)
		fprintf(f, "http://[%s]:%u\n", addr, l->port);
	else
		fprintf(f, "http://%s:%u\n", addr, l->port);
	if (fclose(f) != 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	return r;
}

int
api_start(struct event_base *base, struct engine *e, const struct settings_api *listen,
    const char *token, struct api **ret)
{
	struct api *a = calloc(1, sizeof(*a));
	int fd, r;

	if (!a)
		return -ENOMEM;
	a->e = e;
	snprintf(a->token, sizeof(a->token), "%s", token);
	r = api_www_load(engine_settings(e)->api_www, &a->www);
	if (r < 0) {
		free(a);
		return r;
	}
	if ((r = api_history_start(e, &a->history)) < 0)
		log_warnx("api: no traffic history for the dashboard: %s", strerror(-r));
	a->http = evhttp_new(base);
	if (!a->http) {
		api_history_free(a->history);
		api_www_free(a->www);
		free(a);
		return -ENOMEM;
	}
	evhttp_set_max_body_size(a->http, LIMIT_API_RESTORE_BODY);
	evhttp_set_max_headers_size(a->http, LIMIT_API_HEADERS);
	evhttp_set_timeout(a->http, (int)LIMIT_API_TIMEOUT_S);
	/* Every method reaches the dispatcher, which answers 405 in JSON. */
	evhttp_set_allowed_methods(a->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
	    EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
	evhttp_set_gencb(a->http, api_on_request, a);
	fd = api_listen_socket(listen);
	if (fd < 0) {
		log_errx("api: cannot listen on %s: %s", listen->listen, strerror(-fd));
		api_free(a);
		return fd;
	}
	if (!evhttp_accept_socket_with_handle(a->http, fd)) {
		log_errx("api: cannot serve on %s", listen->listen);
		close(fd);
		api_free(a);
		return -EIO;
	}
	r = api_write_url(engine_state_dir(e), listen);
	if (r < 0)
		log_warnx("api: cannot write %s/api.url: %s", engine_state_dir(e), strerror(-r));
	log_info("api: listening on %s", listen->listen);
	*ret = a;
	return 0;
}

void
api_free(struct api *a)
{
	if (!a)
		return;
	if (a->http)
		evhttp_free(a->http);
	api_www_free(a->www);
	api_history_free(a->history);
	explicit_bzero(a->token, sizeof(a->token));
	free(a);
}
