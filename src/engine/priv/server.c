/*
 * priv_server: requests from the engine, checked, then handed to the
 * drivers. See server.h for the contract.
 */
#include "engine/priv/server.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/ipc.h"
#include "common/log.h"
#include "engine/priv/proto.h"

/* Open drivers at once: every driver twice over (a reload opens a driver
 * again before the old manager closes its own). */
#define PRIV_MAX_HANDLES 16u

struct priv_handle {
	const struct mit_driver_ops *ops;	/* NULL: free */
	void *state;
};

struct priv_server {
	const struct mit_driver_ops *const *table;
	size_t ntable;
	const struct cfg_doc *conf;
	struct priv_handle h[PRIV_MAX_HANDLES];
	uint64_t refused;
};

int
priv_server_new(const struct mit_driver_ops *const *table, size_t n,
    const struct cfg_doc *conf, struct priv_server **ret)
{
	struct priv_server *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return -ENOMEM;
	s->table = table;
	s->ntable = n;
	s->conf = conf;
	*ret = s;
	return 0;
}

void
priv_server_free(struct priv_server *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < PRIV_MAX_HANDLES; i++)
		if (s->h[i].ops != NULL)
			s->h[i].ops->close(s->h[i].state);
	free(s);
}

void
priv_server_set_conf(struct priv_server *s, const struct cfg_doc *conf)
{
	s->conf = conf;
}

uint64_t
priv_server_refused(const struct priv_server *s)
{
	return s->refused;
}

/* Count and log (rate-limited) a malformed request; returns -EPROTO. */
static int
priv_refuse(struct priv_server *s, const char *why)
{
	s->refused++;
	log_ratelimited(5, 60, log_warnx, "priv: refused a request from the engine: %s", why);
	return -EPROTO;
}

static bool
priv_str_ok(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

static bool
priv_addr_ok(const struct ipaddr *a, uint8_t af)
{
	return a->af == af;
}

static bool
priv_prefix_ok(const struct prefix *p, uint8_t af)
{
	/* A /0 would block a whole family: no attack asks for that. */
	return p->addr.af == af && p->len > 0 && p->len <= (af == AF_INET ? 32 : 128);
}

/* Every field of a rule, as the drivers assume them; NULL or why not. */
static const char *
priv_rule_invalid(const struct mit_rule *r)
{
	const struct mit_request *q = &r->req;

	if (r->id == 0)
		return "rule id 0";
	if (r->scope > MIT_SCOPE_SOURCES)
		return "unknown scope";
	if (r->action > MIT_ACT_RATELIMIT)
		return "unknown action";
	if (r->action == MIT_ACT_RATELIMIT && r->rate_pps == 0)
		return "rate limit of 0";
	if (q->af != AF_INET && q->af != AF_INET6)
		return "unknown address family";
	if (q->n_targets > MIT_MAX_TARGETS || q->n_sources > MIT_MAX_SOURCES)
		return "too many addresses";
	if (q->n_targets == 0 && q->n_sources == 0)
		return "a rule that names no address";
	if (!priv_str_ok(q->po, sizeof(q->po)) || !priv_str_ok(q->attack_type, sizeof(q->attack_type)))
		return "unterminated name";
	for (uint32_t i = 0; i < q->n_targets; i++)
		if (!priv_prefix_ok(&q->targets[i], q->af))
			return "bad target prefix";
	for (uint32_t i = 0; i < q->n_sources; i++)
		if (!priv_addr_ok(&q->sources[i], q->af))
			return "bad source address";
	return NULL;
}

static const struct mit_driver_ops *
priv_find(const struct priv_server *s, const char *name)
{
	for (size_t i = 0; i < s->ntable; i++)
		if (strcmp(s->table[i]->name, name) == 0)
			return s->table[i];
	return NULL;
}

/* The driver's section of the server's own configuration, or NULL. */
static const struct cfg_node *
priv_driver_conf(const struct priv_server *s, const char *name)
{
	const struct cfg_node *n = s->conf ? cfg_root(s->conf) : NULL;

	if (n != NULL)
		n = cfg_get(n, "mitigate");
	if (n != NULL)
		n = cfg_get(n, "drivers");
	return n != NULL ? cfg_get(n, name) : NULL;
}

static int
priv_open(struct priv_server *s, const struct priv_open *o)
{
	const struct mit_driver_ops *ops;
	struct cfg_error err = { "" };
	size_t i;
	int r;

	if (!priv_str_ok(o->driver, sizeof(o->driver)))
		return priv_refuse(s, "unterminated driver name");
	if ((ops = priv_find(s, o->driver)) == NULL)
		return priv_refuse(s, "unknown driver");
	for (i = 0; i < PRIV_MAX_HANDLES && s->h[i].ops != NULL; i++)
		;
	if (i == PRIV_MAX_HANDLES)
		return -ENOSPC;
	if ((r = ops->open(ops, priv_driver_conf(s, o->driver), &s->h[i].state, &err)) < 0) {
		log_warnx("priv: cannot open driver %s: %s", o->driver, err.msg);
		return r;
	}
	s->h[i].ops = ops;
	return (int)i;
}

static struct priv_handle *
priv_handle_of(struct priv_server *s, int32_t handle)
{
	if (handle < 0 || (uint32_t)handle >= PRIV_MAX_HANDLES || s->h[handle].ops == NULL)
		return NULL;
	return &s->h[handle];
}

/* The body size each request type must have. */
static int
priv_body_size(uint16_t type, size_t *ret)
{
	switch (type) {
	case PRIV_OPEN: *ret = sizeof(struct priv_open); return 0;
	case PRIV_CLOSE: *ret = 0; return 0;
	case PRIV_APPLY: *ret = sizeof(struct mit_rule); return 0;
	case PRIV_WITHDRAW: *ret = sizeof(struct priv_id); return 0;
	case PRIV_INSTALLED: *ret = 0; return 0;
	case PRIV_COUNTERS: *ret = sizeof(struct priv_id); return 0;
	case PRIV_PEERS: *ret = 0; return 0;
	case PRIV_STATUS: *ret = 0; return 0;
	default: break;
	}
	return -EPROTO;
}

/* The driver's peers into body (at most PRIV_MAX_PEERS); none when it has no peers op. */
static int
priv_peers(struct priv_handle *h, uint8_t *body, size_t *ret_len)
{
	struct ipaddr peers[PRIV_MAX_PEERS];
	size_t n = 0;
	int r;

	if (h->ops->peers == NULL)
		return -EOPNOTSUPP;
	if ((r = h->ops->peers(h->state, peers, PRIV_MAX_PEERS, &n)) < 0)
		return r;
	if (n > PRIV_MAX_PEERS)
		n = PRIV_MAX_PEERS;
	memcpy(body, peers, n * sizeof(peers[0]));
	*ret_len = n * sizeof(peers[0]);
	return 0;
}

/* Run a well-formed request against handle h; writes a reply body into
 * body and its size into *ret_len. */
static int
priv_run(struct priv_server *s, const struct priv_hdr *q, const void *in, struct priv_handle *h,
    uint8_t *body, size_t *ret_len)
{
	struct priv_id id;
	struct mit_rule rule;
	struct mit_counters c;
	struct mit_driver_status st;
	uint64_t *ids = NULL;
	size_t n = 0;
	const char *why;
	int r;

	*ret_len = 0;
	switch (q->type) {
	case PRIV_CLOSE:
		h->ops->close(h->state);
		h->ops = NULL;
		h->state = NULL;
		return 0;
	case PRIV_APPLY:
		memcpy(&rule, in, sizeof(rule));
		if ((why = priv_rule_invalid(&rule)) != NULL)
			return priv_refuse(s, why);
		return h->ops->apply(h->state, &rule);
	case PRIV_WITHDRAW:
		memcpy(&id, in, sizeof(id));
		return h->ops->withdraw(h->state, id.id);
	case PRIV_COUNTERS:
		memcpy(&id, in, sizeof(id));
		if ((r = h->ops->counters(h->state, id.id, &c)) == 0) {
			memcpy(body, &c, sizeof(c));
			*ret_len = sizeof(c);
		}
		return r;
	case PRIV_INSTALLED:
		if ((r = h->ops->installed(h->state, &ids, &n)) < 0)
			return r;
		if (n > PRIV_MAX_IDS) {
			free(ids);
			return -E2BIG;
		}
		if (n > 0)
			memcpy(body, ids, n * sizeof(*ids));
		*ret_len = n * sizeof(*ids);
		free(ids);
		return 0;
	case PRIV_PEERS:
		return priv_peers(h, body, ret_len);
	case PRIV_STATUS:
		if (h->ops->status == NULL)
			return -EOPNOTSUPP;
		memset(&st, 0, sizeof(st));
		if ((r = h->ops->status(h->state, &st)) < 0)
			return r;
		st.last_error[sizeof(st.last_error) - 1] = '\0';
		memcpy(body, &st, sizeof(st));
		*ret_len = sizeof(st);
		return 0;
	default:
		return priv_refuse(s, "unknown request");
	}
}

size_t
priv_server_handle(struct priv_server *s, const void *req, size_t len, void *out)
{
	struct priv_hdr q = { 0 }, *a = out;
	const uint8_t *in = (const uint8_t *)req + sizeof(q);
	uint8_t *body = (uint8_t *)out + sizeof(*a);
	struct priv_handle *h;
	size_t want, blen = 0;
	int r;

	if (len >= sizeof(q))
		memcpy(&q, req, sizeof(q));
	*a = (struct priv_hdr){ .version = PRIV_VERSION, .type = PRIV_REPLY | (q.type & 0x7f),
		.seq = q.seq, .handle = q.handle };
	if (len < sizeof(q))
		r = priv_refuse(s, "short message");
	else if (q.version != PRIV_VERSION)
		r = priv_refuse(s, "wrong protocol version");
	else if (priv_body_size(q.type, &want) < 0)
		r = priv_refuse(s, "unknown request type");
	else if (len - sizeof(q) != want)
		r = priv_refuse(s, "wrong size for its type");
	else if (q.type == PRIV_OPEN) {
		struct priv_open o;

		memcpy(&o, in, sizeof(o));
		if ((r = priv_open(s, &o)) >= 0) {
			a->handle = r;
			r = 0;
		}
	} else if ((h = priv_handle_of(s, q.handle)) == NULL)
		r = priv_refuse(s, "no such driver handle");
	else
		r = priv_run(s, &q, in, h, body, &blen);
	a->result = r;
	return sizeof(*a) + blen;
}

int
priv_server_serve(struct priv_server *s, int fd)
{
	static_assert(sizeof(struct mit_rule) + sizeof(struct priv_hdr) <= PRIV_MSG_MAX,
	    "a rule fits one message");
	static_assert(PRIV_MAX_PEERS * sizeof(struct ipaddr) + sizeof(struct priv_hdr) <=
	    PRIV_MSG_MAX, "the peers fit one message");
	static_assert(sizeof(struct mit_driver_status) + sizeof(struct priv_hdr) <= PRIV_MSG_MAX,
	    "a status fits one message");
	_Alignas(8) uint8_t in[PRIV_MSG_MAX], out[PRIV_MSG_MAX];
	size_t nfds = 0, n;
	ssize_t len;

	len = ipc_recv(fd, in, sizeof(in), NULL, 0, &nfds, MSG_DONTWAIT);
	if (len == 0)
		return 1;
	if (len < 0 && len != -EMSGSIZE)
		return (int)len;
	/* An oversized message was cut: answer it as the malformed thing it is. */
	n = priv_server_handle(s, in, len < 0 ? 0 : (size_t)len, out);
	return ipc_send(fd, out, n, NULL, 0);
}
