/*
 * api: evhttp glue — listening socket, per-request dispatch (route, token,
 * body cap), and the reply helpers. This and loop.c are the only engine
 * files that include the event library.
 *
 * Every connection reads through a bufferevent filter of ours (installed
 * with evhttp_set_bevcb) that holds the bytes back until the request head is
 * complete, then decides — Host, route, bearer token, the route's body cap —
 * before evhttp sees anything. A refused request reaches evhttp as a
 * synthetic bodiless head and its body is discarded as it arrives, so a
 * refused upload costs no memory. An accepted head is passed on as HTTP/1.1
 * without its Connection header, so evhttp never closes a connection itself
 * (it would shut the socket down while the filter still holds reply bytes):
 * the filter closes after the reply has left when the client asked for it
 * (HTTP/1.0, "Connection: close") or the request was refused, and otherwise
 * waits for the next head under the same deadline.
 * The filter also counts connections (a cap that evicts the one waiting
 * longest for its head), enforces the head deadline (slowloris), and the
 * listener pauses on EMFILE/ENFILE instead of spinning.
 */
#include "engine/api/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include "common/limits.h"
#include "common/log.h"
#include "engine/api/admin.h"
#include "engine/api/metrics.h"
#include "engine/api/reqhead.h"
#include "engine/api/route.h"
#include "engine/core/token.h"

enum api_conn_state {
	API_CONN_HEAD,		/* holding bytes back until the head is complete */
	API_CONN_BODY,		/* passing body_left more bytes */
	API_CONN_DONE,		/* the request is in evhttp's hands */
	API_CONN_DISCARD,	/* refused: input dropped until the reply is out */
	API_CONN_CLOSING,	/* reply handed over: close once it has left */
};

struct api_conn {
	TAILQ_ENTRY(api_conn) entry;
	struct api *api;
	struct bufferevent *bev;	/* the filter evhttp reads through */
	struct bufferevent *sock;	/* the socket under it */
	struct event *deadline;		/* head deadline; also how a conn is evicted */
	bool close_after;		/* close once this request's reply has left */
	enum api_conn_state state;
	uint64_t body_left;
	size_t body_len;		/* the Content-Length passed on */
	int status;			/* refused: the HTTP status the dispatcher sends */
	char why[96];
};

TAILQ_HEAD(api_conn_list, api_conn);

struct api {
	struct evhttp *http;
	struct event_base *base;
	struct engine *e;
	struct evconnlistener *listener;
	struct event *resume;		/* tick that re-enables a paused listener */
	bool paused_cap;
	struct api_conn_list conns;	/* oldest first */
	size_t nconns;
	struct settings_api listen;
	struct api_metrics_mark metrics;
	char token[TOKEN_HEX_LEN + 1];
};

struct api_req {
	struct evhttp_request *req;
	struct api *api;
	struct api_conn *conn;		/* NULL if the connection has no filter */
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
	case 411: return "Length Required";
	case 413: return "Payload Too Large";
	case 421: return "Misdirected Request";
	case 431: return "Request Header Fields Too Large";
	case 505: return "HTTP Version Not Supported";
	case 503: return "Service Unavailable";
	default: return status >= 500 ? "Internal Server Error" : "Error";
	}
}

struct engine *
api_req_engine(struct api_req *r)
{
	return r->api->e;
}

struct api_metrics_mark *
api_req_metrics_mark(struct api_req *r)
{
	return &r->api->metrics;
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
	/* libevent 2.1's filter does not move output queued while writing was
	 * disabled when writing is enabled again: push the reply on. */
	if (r->conn)
		bufferevent_flush(r->conn->bev, EV_WRITE, BEV_NORMAL);
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


/* --- connections: the filter that decides on the head ----------------- */

static bool
api_loopback(const struct ipaddr *a)
{
	static const uint8_t v6lo[16] = { [15] = 1 };

	if (a->af == AF_INET)
		return a->a[0] == 127;
	return memcmp(a->a, v6lo, 16) == 0;
}

static bool
api_unspecified(const struct ipaddr *a)
{
	static const uint8_t zero[16];

	return memcmp(a->a, zero, a->af == AF_INET ? 4 : 16) == 0;
}

/*
 * DNS rebinding: a browser sends the name its page came from, so a name is
 * accepted only if it is one we were told (api.hosts, or "localhost" when we
 * listen on loopback); an address literal only if it is the listen address
 * (any literal when listening on a wildcard address). No Host at all
 * (HTTP/1.0 tools) is accepted: browsers always send one.
 */
static bool
api_host_allowed(const struct api *a, const struct reqhead *h)
{
	char name[LIMIT_API_HOST_LEN + 3];
	const char *p = h->host.p, *end = p + h->host.len, *colon;
	struct ipaddr ip;
	size_t n;

	if (!h->has_host)
		return true;
	if (h->host.len > 0 && p[0] == '[') {
		const char *close = memchr(p, ']', h->host.len);

		if (!close)
			return false;
		n = (size_t)(close - p - 1);
		if (n >= sizeof(name))
			return false;
		memcpy(name, p + 1, n);
		colon = close + 1 < end ? close + 1 : NULL;
		if (colon && *colon != ':')
			return false;
	} else {
		colon = memchr(p, ':', h->host.len);
		n = colon ? (size_t)(colon - p) : h->host.len;
		if (n >= sizeof(name))
			return false;
		memcpy(name, p, n);
	}
	name[n] = '\0';
	if (colon) {
		uint64_t port = 0;
		size_t plen = (size_t)(end - colon - 1);

		if (plen == 0 || plen > 5)
			return false;
		for (size_t i = 0; i < plen; i++) {
			if (colon[1 + i] < '0' || colon[1 + i] > '9')
				return false;
			port = port * 10 + (uint64_t)(colon[1 + i] - '0');
		}
		if (port != a->listen.port)
			return false;
	}
	if (n > 0 && name[n - 1] == '.')
		name[--n] = '\0';
	if (ipaddr_parse(name, &ip) == 0)
		return ipaddr_equal(&ip, &a->listen.addr) ||
		    (ip.af == a->listen.addr.af && api_unspecified(&a->listen.addr));
	if (strcasecmp(name, "localhost") == 0 && api_loopback(&a->listen.addr))
		return true;
	for (size_t i = 0; i < a->listen.nhosts; i++)
		if (strcasecmp(name, a->listen.hosts[i]) == 0)
			return true;
	return false;
}

static bool
api_head_authorized(const struct api *a, const struct reqhead *h)
{
	static const char prefix[] = "Bearer ";
	char given[TOKEN_HEX_LEN + 1];
	struct reqhead_str v = h->authorization;

	if (v.len < sizeof(prefix) - 1 || strncasecmp(v.p, prefix, sizeof(prefix) - 1) != 0)
		return false;
	v.p += sizeof(prefix) - 1;
	v.len -= sizeof(prefix) - 1;
	while (v.len > 0 && *v.p == ' ') {
		v.p++;
		v.len--;
	}
	if (v.len != TOKEN_HEX_LEN)
		return false;
	memcpy(given, v.p, v.len);
	given[v.len] = '\0';
	return token_equal(a->token, given);
}

static void
api_conn_refuse(struct api_conn *c, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
api_conn_refuse(struct api_conn *c, int status, const char *fmt, ...)
{
	va_list ap;

	c->status = status;
	va_start(ap, fmt);
	vsnprintf(c->why, sizeof(c->why), fmt, ap);
	va_end(ap);
}

/* Decide on a complete head: sets c->status (0 = let it through). */
static void
api_conn_decide(struct api_conn *c, const char *buf, size_t len)
{
	struct api *a = c->api;
	const struct api_route *route = NULL;
	char path[1024], param[API_PARAM_MAX];
	struct reqhead h;
	int r;

	r = reqhead_parse(buf, len, &h);
	if (r == -ENOTSUP) {
		api_conn_refuse(c, 505, "only HTTP/1.0 and HTTP/1.1");
		return;
	}
	if (r < 0) {
		api_conn_refuse(c, 400, "malformed request head");
		return;
	}
	if (!api_host_allowed(a, &h)) {
		log_ratelimited(5, 60, log_warnx, "api: request for host '%.*s' refused "
		    "(not the listen address or one of api.hosts)", (int)(h.host.len > 100 ? 100 :
		    h.host.len), h.host.p);
		api_conn_refuse(c, 421, "this server does not answer for that Host");
		return;
	}
	if (h.path.len >= sizeof(path)) {
		api_conn_refuse(c, 404, "no such resource");
		return;
	}
	memcpy(path, h.path.p, h.path.len);
	path[h.path.len] = '\0';
	switch (api_route_find(h.method, path, &route, param)) {
	case API_NO_PATH:
		api_conn_refuse(c, 404, "no such resource: %.60s", path);
		return;
	case API_NO_METHOD:
		api_conn_refuse(c, 405, "method not allowed on %.60s", path);
		return;
	case API_MATCH:
		break;
	}
	if (api_route_mutating(h.method) && !api_head_authorized(a, &h)) {
		api_conn_refuse(c, 401, "missing or wrong bearer token");
		return;
	}
	if (h.chunked_or_other_te) {
		api_conn_refuse(c, 411, "send the body with a Content-Length");
		return;
	}
	if (h.content_length > route->max_body) {
		api_conn_refuse(c, 413, "request body over %zu bytes", route->max_body);
		return;
	}
	c->body_left = h.content_length;
	c->body_len = (size_t)h.content_length;
}

/*
 * Pass the accepted head buf[0..len) on to dst as HTTP/1.1 without its
 * Connection headers (see the top of the file); note whether the client
 * wanted the connection closed.
 */
static void
api_conn_pass_head(struct api_conn *c, const char *buf, size_t len, struct evbuffer *dst)
{
	static const char *const hop[] = { "Connection:", "Keep-Alive:", "Proxy-Connection:" };
	const char *p = buf, *end = buf + len;
	bool first = true;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p + 1) : (size_t)(end - p);
		bool drop = false;

		if (first) {
			/* "... HTTP/1.x": the parser checked the version's shape. */
			size_t body = n - (n >= 2 && p[n - 2] == '\r' ? 2 : 1);

			if (p[body - 1] == '0')
				c->close_after = true;
			evbuffer_add(dst, p, body - 1);
			evbuffer_add(dst, "1\r\n", 3);
			first = false;
			p += n;
			continue;
		}
		for (size_t i = 0; i < sizeof(hop) / sizeof(hop[0]); i++)
			if (n >= strlen(hop[i]) && strncasecmp(p, hop[i], strlen(hop[i])) == 0)
				drop = true;
		/* "Connection: close" (any case, among other tokens) */
		if (drop && strncasecmp(p, "Connection:", 11) == 0)
			for (size_t i = 11; i + 5 <= n; i++)
				if (strncasecmp(p + i, "close", 5) == 0)
					c->close_after = true;
		if (!drop)
			evbuffer_add(dst, p, n);
		p += n;
	}
}

/*
 * The filter between the socket and evhttp. Returning BEV_NEED_MORE keeps
 * evhttp from being called; BEV_OK means dst has new bytes for it.
 */
static enum bufferevent_filter_result
api_conn_filter(struct evbuffer *src, struct evbuffer *dst, ev_ssize_t limit,
    enum bufferevent_flush_mode mode, void *arg)
{
	/* A bodiless stand-in for a refused request: the dispatcher answers it
	 * from c->status, and the connection closes after the reply. */
	static const char refused[] = "GET /refused HTTP/1.1\r\n\r\n";
	struct api_conn *c = arg;
	size_t have = evbuffer_get_length(src), end, look;
	const char *buf;

	(void)limit;
	(void)mode;
	switch (c->state) {
	case API_CONN_HEAD:
		look = have < LIMIT_API_HEADERS ? have : LIMIT_API_HEADERS;
		buf = (const char *)evbuffer_pullup(src, (ev_ssize_t)look);
		end = buf ? reqhead_end(buf, look) : 0;
		if (end == 0 && have < LIMIT_API_HEADERS)
			return BEV_NEED_MORE;
		event_del(c->deadline);
		c->close_after = false;
		if (end == 0)
			api_conn_refuse(c, 431, "request head over %u bytes", LIMIT_API_HEADERS);
		else
			api_conn_decide(c, buf, end);
		if (c->status != 0) {
			evbuffer_drain(src, have);
			evbuffer_add(dst, refused, sizeof(refused) - 1);
			c->close_after = true;
			c->state = API_CONN_DISCARD;
			return BEV_OK;
		}
		api_conn_pass_head(c, buf, end, dst);
		evbuffer_drain(src, end);
		c->state = c->body_left > 0 ? API_CONN_BODY : API_CONN_DONE;
		return BEV_OK;
	case API_CONN_BODY: {
		size_t n = have < c->body_left ? have : (size_t)c->body_left;

		if (n == 0)
			return BEV_NEED_MORE;
		evbuffer_remove_buffer(src, dst, n);
		c->body_left -= n;
		if (c->body_left == 0)
			c->state = API_CONN_DONE;
		return BEV_OK;
	}
	case API_CONN_DONE:
		return BEV_NEED_MORE;	/* a pipelined request waits for the reply */
	case API_CONN_DISCARD:
	case API_CONN_CLOSING:
		evbuffer_drain(src, have);
		return BEV_NEED_MORE;
	}
	return BEV_ERROR;
}

static void
api_listener_update(struct api *a)
{
	if (!a->listener)
		return;
	if (a->paused_cap)
		evconnlistener_disable(a->listener);
	else
		evconnlistener_enable(a->listener);
}

/*
 * Connections the API may hold: LIMIT_API_CONNS, but at most a quarter of
 * the descriptor limit as it is now (an operator or prlimit may lower it), so
 * that API clients cannot take the descriptors the collectors and the store
 * need, nor drive accept() into EMFILE.
 */
static size_t
api_conn_cap(void)
{
	struct rlimit rl;
	size_t cap = LIMIT_API_CONNS;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur / 4 < cap)
		cap = rl.rlim_cur / 4 < 4 ? 4 : (size_t)(rl.rlim_cur / 4);
	return cap;
}

/* Drop the connection that has waited longest for its head; false if none. */
static bool
api_evict_oldest(struct api *a, const struct api_conn *except)
{
	struct api_conn *c;

	TAILQ_FOREACH(c, &a->conns, entry) {
		if (c == except || c->state != API_CONN_HEAD)
			continue;
		/* The deadline callback closes it, from the loop, not from here. */
		event_active(c->deadline, EV_TIMEOUT, 1);
		return true;
	}
	return false;
}

static void
api_conn_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct api_conn *c = arg;

	(void)fd;
	(void)what;
	if (c->state == API_CONN_CLOSING &&
	    evbuffer_get_length(bufferevent_get_output(c->sock)) > 0)
		return;		/* not yet: the output callback calls again */
	if (c->state != API_CONN_HEAD && c->state != API_CONN_CLOSING)
		return;
	/* evhttp's error callback frees the connection (and, through the
	 * filter's free_context, c). */
	bufferevent_trigger_event(c->bev, BEV_EVENT_READING | BEV_EVENT_TIMEOUT, 0);
}

/* The socket's output changed: in CLOSING, close once it is empty (from the
 * loop: this runs inside the socket's write path). */
static void
api_conn_output(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct api_conn *c = arg;

	if (c->state == API_CONN_CLOSING && info->n_deleted > 0 &&
	    evbuffer_get_length(buf) == 0)
		event_active(c->deadline, EV_TIMEOUT, 1);
}

/* evhttp has handed the reply to the filter and is done with the request. */
static void
api_conn_complete(struct evhttp_request *req, void *arg)
{
	const struct timeval deadline = { .tv_sec = LIMIT_API_HEADER_DEADLINE_S };
	struct api_conn *c = arg;

	(void)req;
	c->status = 0;
	c->body_left = 0;
	if (c->close_after) {
		c->state = API_CONN_CLOSING;
		if (evbuffer_get_length(bufferevent_get_output(c->sock)) == 0)
			event_active(c->deadline, EV_TIMEOUT, 1);
		return;
	}
	c->state = API_CONN_HEAD;
	evtimer_add(c->deadline, &deadline);
	/* A pipelined request already read waits in the socket's input: run the
	 * filter on it once evhttp has set up the next request (deferred). */
	if (evbuffer_get_length(bufferevent_get_input(c->sock)) > 0)
		bufferevent_trigger(c->sock, EV_READ, BEV_TRIG_DEFER_CALLBACKS |
		    BEV_TRIG_IGNORE_WATERMARKS);
}

/* The filter's free_context: the connection is gone. */
static void
api_conn_free(void *arg)
{
	struct api_conn *c = arg;
	struct api *a = c->api;

	TAILQ_REMOVE(&a->conns, c, entry);
	a->nconns--;
	evbuffer_remove_cb(bufferevent_get_output(c->sock), api_conn_output, c);
	if (c->deadline)
		event_free(c->deadline);
	/* A large body went through the heap: hand the pages back. */
	if (c->body_len > LIMIT_API_BODY)
		malloc_trim(0);
	free(c);
	if (a->paused_cap && a->nconns < api_conn_cap()) {
		a->paused_cap = false;
		api_listener_update(a);
	}
}

/*
 * evhttp's bevcb, called for each accepted connection. On failure evhttp
 * would use a plain bufferevent; the dispatcher refuses requests that come
 * without one of ours.
 */
static struct bufferevent *
api_conn_new(struct event_base *base, void *arg)
{
	const struct timeval deadline = { .tv_sec = LIMIT_API_HEADER_DEADLINE_S };
	struct api *a = arg;
	struct api_conn *c = calloc(1, sizeof(*c));
	struct bufferevent *sock = NULL;

	if (!c)
		return NULL;
	c->api = a;
	c->deadline = evtimer_new(base, api_conn_deadline, c);
	sock = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (!c->deadline || !sock)
		goto fail;
	c->bev = bufferevent_filter_new(sock, api_conn_filter, NULL, BEV_OPT_CLOSE_ON_FREE,
	    api_conn_free, c);
	if (!c->bev)
		goto fail;
	c->sock = sock;
	evbuffer_add_cb(bufferevent_get_output(sock), api_conn_output, c);
	evtimer_add(c->deadline, &deadline);
	TAILQ_INSERT_TAIL(&a->conns, c, entry);
	a->nconns++;
	/* At the cap, make room by dropping the connection that has waited
	 * longest for its head, and stop accepting until one has gone (the
	 * listener accepts everything pending in one go, faster than the
	 * evictions, which run from the loop). */
	if (a->nconns >= api_conn_cap()) {
		if (api_evict_oldest(a, c))
			log_ratelimited(1, 60, log_warnx, "api: %zu connections open (cap %zu): "
			    "dropping those that wait longest for their request", a->nconns,
			    api_conn_cap());
		a->paused_cap = true;
		api_listener_update(a);
	}
	return c->bev;
fail:
	if (sock)
		bufferevent_free(sock);
	if (c->deadline)
		event_free(c->deadline);
	free(c);
	return NULL;
}

static struct api_conn *
api_conn_of(struct api *a, struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
	struct api_conn *c;

	TAILQ_FOREACH(c, &a->conns, entry)
		if (c->bev == bev)
			return c;
	return NULL;
}

/* The resume tick: re-enables the listener that api_accept_error paused. */
static void
api_resume(evutil_socket_t fd, short what, void *arg)
{
	struct api *a = arg;

	(void)fd;
	(void)what;
	if (!a->paused_cap)
		evconnlistener_enable(a->listener);
}

/*
 * accept() failed. Out of descriptors (or memory) the pending connection
 * stays in the backlog and the listening socket stays readable: accepting
 * again at once would spin (and libevent would log every turn). Pause; the
 * resume tick tries again. libevent hands us its evhttp, not our api, so
 * this only touches the listener; connections waiting for their head are
 * cut at the head deadline and free descriptors.
 */
static void
api_accept_error(struct evconnlistener *l, void *http)
{
	int err = EVUTIL_SOCKET_ERROR();

	(void)http;
	evconnlistener_disable(l);
	log_ratelimited(1, 60, log_warnx, "api: accept: %s; new connections paused, "
	    "retried every %u ms", strerror(err), LIMIT_API_ACCEPT_PAUSE_MS);
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
	switch (api_route_find(method, path, &route, r->param)) {
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
	struct api_conn *c = api_conn_of(r.api, req);

	r.conn = c;
	TAILQ_INIT(&r.query);
	if (c)
		evhttp_request_set_on_complete_cb(req, api_conn_complete, c);
	if (!c) {
		api_reply_error(&r, 503, NULL, "connection not set up; try again");
	} else if (c->status != 0) {
		if (c->status == 401)
			evhttp_add_header(evhttp_request_get_output_headers(req),
			    "WWW-Authenticate", "Bearer");
		if (c->status == 401 || c->status == 413 || c->status == 431) {
			char *host = NULL;
			ev_uint16_t port = 0;

			evhttp_connection_get_peer(evhttp_request_get_connection(req), &host,
			    &port);
			log_ratelimited(5, 60, log_warnx, "api: request from %s refused: %s",
			    host ? host : "?", c->why);
		}
		api_reply_error(&r, c->status, NULL, "%s", c->why);
	} else {
		api_dispatch(&r);
	}
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
	const struct timeval tick = { .tv_usec = LIMIT_API_ACCEPT_PAUSE_MS * 1000 };
	struct api *a = calloc(1, sizeof(*a));
	struct evhttp_bound_socket *bound;
	int fd, r;

	if (!a)
		return -ENOMEM;
	a->e = e;
	a->base = base;
	a->listen = *listen;
	TAILQ_INIT(&a->conns);
	snprintf(a->token, sizeof(a->token), "%s", token);
	a->http = evhttp_new(base);
	a->resume = event_new(base, -1, EV_PERSIST, api_resume, a);
	if (!a->http || !a->resume) {
		api_free(a);
		return -ENOMEM;
	}
	evhttp_set_bevcb(a->http, api_conn_new, a);
	/* The filter enforces each route's cap from the head; evhttp's own cap
	 * is the largest route's, a backstop. */
	evhttp_set_max_body_size(a->http, (ev_ssize_t)api_route_max_body());
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
	bound = evhttp_accept_socket_with_handle(a->http, fd);
	if (!bound) {
		log_errx("api: cannot serve on %s", listen->listen);
		close(fd);
		api_free(a);
		return -EIO;
	}
	a->listener = evhttp_bound_socket_get_listener(bound);
	evconnlistener_set_error_cb(a->listener, api_accept_error);
	event_add(a->resume, &tick);
	api_admin_sweep(engine_state_dir(e));
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
	if (a->resume)
		event_free(a->resume);
	/* evhttp_free frees the listener before the connections, whose
	 * free_context must then not touch it. */
	a->listener = NULL;
	if (a->http)
		evhttp_free(a->http);
	explicit_bzero(a->token, sizeof(a->token));
	free(a);
}
