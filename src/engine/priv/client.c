/*
 * priv_client: requests to the privileged side, one at a time. See
 * client.h for the contract.
 */
#include "engine/priv/client.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/ipc.h"
#include "engine/priv/proto.h"

struct priv_client {
	int fd;
	int timeout_ms;
	uint32_t seq;
};

int
priv_client_new(int fd, int timeout_ms, struct priv_client **ret)
{
	struct priv_client *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		close(fd);
		return -ENOMEM;
	}
	c->fd = fd;
	c->timeout_ms = timeout_ms;
	*ret = c;
	return 0;
}

void
priv_client_free(struct priv_client *c)
{
	if (c == NULL)
		return;
	close(c->fd);
	free(c);
}

/* Wait for the reply to seq; copies up to cap body bytes into body and
 * their number into *ret_len. Returns the reply's result. */
static int
priv_wait(struct priv_client *c, uint32_t seq, void *body, size_t cap, size_t *ret_len,
    int32_t *ret_handle)
{
	_Alignas(8) uint8_t in[PRIV_MSG_MAX];
	struct priv_hdr a;
	struct pollfd p = { .fd = c->fd, .events = POLLIN };
	size_t nfds;
	ssize_t n;
	int r;

	for (;;) {
		if ((r = poll(&p, 1, c->timeout_ms)) < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -ETIMEDOUT;
		if ((n = ipc_recv(c->fd, in, sizeof(in), NULL, 0, &nfds, MSG_DONTWAIT)) == -EAGAIN ||
		    n == -EINTR)
			continue;
		if (n == 0)
			return -EPIPE;
		if (n < 0)
			return (int)n;
		if ((size_t)n < sizeof(a))
			return -EPROTO;
		memcpy(&a, in, sizeof(a));
		if (a.version != PRIV_VERSION || !(a.type & PRIV_REPLY))
			return -EPROTO;
		if (a.seq != seq)
			continue;	/* the late reply of a call that timed out */
		n -= (ssize_t)sizeof(a);
		if ((size_t)n > cap)
			return -EPROTO;
		if (n > 0)
			memcpy(body, in + sizeof(a), (size_t)n);
		if (ret_len)
			*ret_len = (size_t)n;
		if (ret_handle)
			*ret_handle = a.handle;
		return a.result;
	}
}

/* One request: header + body; the reply's body goes to out (cap bytes). */
static int
priv_call(struct priv_client *c, uint16_t type, int32_t handle, const void *body, size_t len,
    void *out, size_t cap, size_t *ret_len, int32_t *ret_handle)
{
	_Alignas(8) uint8_t msg[sizeof(struct priv_hdr) + sizeof(struct mit_rule)];
	struct priv_hdr q = { .version = PRIV_VERSION, .type = type, .seq = ++c->seq,
		.handle = handle };
	int r;

	if (len > sizeof(msg) - sizeof(q))
		return -EMSGSIZE;
	memcpy(msg, &q, sizeof(q));
	if (len > 0)
		memcpy(msg + sizeof(q), body, len);
	if ((r = ipc_send(c->fd, msg, sizeof(q) + len, NULL, 0)) < 0)
		return r;
	return priv_wait(c, q.seq, out, cap, ret_len, ret_handle);
}

int
priv_client_open(struct priv_client *c, const char *name, int32_t *ret_handle)
{
	struct priv_open o = { 0 };
	int32_t h = -1;
	int r;

	if (strlen(name) >= sizeof(o.driver))
		return -ENAMETOOLONG;
	memcpy(o.driver, name, strlen(name));
	if ((r = priv_call(c, PRIV_OPEN, -1, &o, sizeof(o), NULL, 0, NULL, &h)) < 0)
		return r;
	*ret_handle = h;	/* OPEN answers with the handle in the reply's header */
	return 0;
}

int
priv_client_close(struct priv_client *c, int32_t handle)
{
	return priv_call(c, PRIV_CLOSE, handle, NULL, 0, NULL, 0, NULL, NULL);
}

int
priv_client_apply(struct priv_client *c, int32_t handle, const struct mit_rule *r)
{
	return priv_call(c, PRIV_APPLY, handle, r, sizeof(*r), NULL, 0, NULL, NULL);
}

int
priv_client_withdraw(struct priv_client *c, int32_t handle, uint64_t id)
{
	struct priv_id q = { id };

	return priv_call(c, PRIV_WITHDRAW, handle, &q, sizeof(q), NULL, 0, NULL, NULL);
}

int
priv_client_counters(struct priv_client *c, int32_t handle, uint64_t id,
    struct mit_counters *ret)
{
	struct priv_id q = { id };
	struct mit_counters m;
	size_t len = 0;
	int r;

	if ((r = priv_call(c, PRIV_COUNTERS, handle, &q, sizeof(q), &m, sizeof(m), &len, NULL)) < 0)
		return r;
	if (len != sizeof(m))
		return -EPROTO;
	*ret = m;
	return 0;
}

int
priv_client_installed(struct priv_client *c, int32_t handle, uint64_t **ret_ids, size_t *ret_n)
{
	uint64_t *ids = malloc(PRIV_MAX_IDS * sizeof(*ids));
	size_t len = 0;
	int r;

	if (ids == NULL)
		return -ENOMEM;
	r = priv_call(c, PRIV_INSTALLED, handle, NULL, 0, ids, PRIV_MAX_IDS * sizeof(*ids), &len, NULL);
	if (r < 0 || len % sizeof(*ids) != 0) {
		free(ids);
		return r < 0 ? r : -EPROTO;
	}
	*ret_ids = ids;
	*ret_n = len / sizeof(*ids);
	return 0;
}

int
priv_client_peers(struct priv_client *c, int32_t handle, struct ipaddr *out, size_t max,
    size_t *ret_n)
{
	struct ipaddr peers[PRIV_MAX_PEERS];
	size_t len = 0, n;
	int r;

	r = priv_call(c, PRIV_PEERS, handle, NULL, 0, peers, sizeof(peers), &len, NULL);
	if (r < 0)
		return r;
	if (len % sizeof(peers[0]) != 0)
		return -EPROTO;
	n = len / sizeof(peers[0]);
	for (size_t i = 0; i < n; i++)	/* what reaches mit_allow() is an address */
		if (peers[i].af != AF_INET && peers[i].af != AF_INET6)
			return -EPROTO;
	if (n > max)
		n = max;
	memcpy(out, peers, n * sizeof(peers[0]));
	*ret_n = n;
	return 0;
}

int
priv_client_status(struct priv_client *c, int32_t handle, struct mit_driver_status *ret)
{
	struct mit_driver_status st;
	size_t len = 0;
	int r;

	if ((r = priv_call(c, PRIV_STATUS, handle, NULL, 0, &st, sizeof(st), &len, NULL)) < 0)
		return r;
	if (len != sizeof(st) || memchr(st.last_error, '\0', sizeof(st.last_error)) == NULL)
		return -EPROTO;
	*ret = st;
	return 0;
}

int
priv_client_raw(struct priv_client *c, const void *msg, size_t len)
{
	struct priv_hdr q = { 0 };
	int r;

	if (len >= sizeof(q))
		memcpy(&q, msg, sizeof(q));
	if ((r = ipc_send(c->fd, msg, len, NULL, 0)) < 0)
		return r;
	return priv_wait(c, q.seq, NULL, 0, NULL, NULL);
}
