/*
 * drv_ins: mitigation through moat-ins, the isolated network stack.
 *
 * moat-ins owns the listeners of the applications it protects; a DENY
 * message on its control socket (src/proto/insproto.h, the one shared wire
 * format) refuses a source for a while and sheds its open connections. This
 * driver denies an attack's top sources for `deny` seconds and lifts the
 * deny when the mitigation ends. It needs sources: a request without any is
 * not applicable (moat-ins protects its applications from sources, not
 * targets). moat-ins keeps no list moatd could read back, so there is
 * nothing to reconcile: denies expire by themselves, and a restarted moatd
 * re-applies live mitigations as usual.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/ipc.h"
#include "common/log.h"
#include "engine/mitigate/manager.h"
#include "proto/insproto.h"

/* Mitigations remembered for lifting their denies; past this the oldest goes. */
#define INS_DRV_MAX_RULES 1024u

struct ins_rule {
	uint64_t id;
	uint32_t n;
	struct ipaddr sources[MIT_MAX_SOURCES];
};

struct drv_ins {
	char socket[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int64_t deny_s;
	int64_t timeout_ms;
	struct ins_rule *rules;		/* ring of INS_DRV_MAX_RULES; id 0 = free */
	size_t next;
	uint32_t msg_id;
};

static int
ins_open(const struct cfg_node *conf, void **ret_state, struct cfg_error *err)
{
	static const char *const keys[] = { "socket", "deny", "timeout_ms", NULL };
	const char *path = "/run/moat-ins.sock";
	struct drv_ins *d;
	int64_t deny_s = 600, timeout_ms = 2000;
	int r;

	if (conf != NULL &&
	    ((r = cfg_check_keys(conf, keys, err)) < 0 ||
	    (r = cfg_get_str(conf, "socket", &path, err)) < 0 ||
	    (r = cfg_get_duration(conf, "deny", 1, 86400, &deny_s, err)) < 0 ||
	    (r = cfg_get_i64(conf, "timeout_ms", 100, 60000, &timeout_ms, err)) < 0))
		return r;
	if (path[0] != '/' || strlen(path) >= sizeof(d->socket))
		return cfg_fail(err, cfg_get(conf, "socket"),
		    "socket: expected an absolute path of moat-ins's control socket");
	if ((d = calloc(1, sizeof(*d))) == NULL ||
	    (d->rules = calloc(INS_DRV_MAX_RULES, sizeof(*d->rules))) == NULL) {
		free(d);
		return -ENOMEM;
	}
	snprintf(d->socket, sizeof(d->socket), "%s", path);
	d->deny_s = deny_s;
	d->timeout_ms = timeout_ms;
	*ret_state = d;
	return 0;
}

static void
ins_close(void *state)
{
	struct drv_ins *d = state;

	if (d == NULL)
		return;
	free(d->rules);
	free(d);
}

static int
ins_connect(struct drv_ins *d)
{
	struct timeval tv = { .tv_sec = d->timeout_ms / 1000, .tv_usec = (d->timeout_ms % 1000) * 1000 };
	int fd = ipc_connect_unix(d->socket);

	if (fd < 0)
		return fd;
	/* The broker answers at once; a stuck one must not hold moatd's loop. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

/* One DENY round trip; returns 0 or a negative errno (the broker's status). */
static int
ins_deny_one(struct drv_ins *d, int fd, const struct ipaddr *a, uint32_t seconds)
{
	uint8_t buf[INS_MSG_MAX];
	struct ins_msg req = { .type = INS_DENY, .id = ++d->msg_id, .seconds = seconds };
	struct ins_msg rep;
	size_t nfds = 0;
	ssize_t n;
	int len;

	req.addr.family = a->af == AF_INET ? INS_AF_INET : INS_AF_INET6;
	memcpy(req.addr.addr, a->a, a->af == AF_INET ? 4 : 16);
	if ((len = insproto_encode(&req, buf, sizeof(buf))) < 0)
		return len;
	if ((n = ipc_send(fd, buf, (size_t)len, NULL, 0)) < 0)
		return (int)n;
	if ((n = ipc_recv(fd, buf, sizeof(buf), NULL, 0, &nfds, 0)) <= 0)
		return n == 0 ? -ECONNRESET : (int)n;
	if (insproto_decode(buf, (size_t)n, nfds, &rep) < 0 ||
	    rep.type != (INS_DENY | INS_REPLY) || rep.id != req.id)
		return -EPROTO;
	return rep.status > 0 ? -rep.status : 0;
}

static int
ins_deny_all(struct drv_ins *d, const struct ipaddr *srcs, uint32_t n, uint32_t seconds)
{
	int fd = ins_connect(d), r = 0;

	if (fd < 0) {
		errno = -fd;
		log_warn("ins: connecting to moat-ins at %s", d->socket);
		return fd;
	}
	for (uint32_t i = 0; i < n && r == 0; i++)
		r = ins_deny_one(d, fd, &srcs[i], seconds);
	close(fd);
	if (r < 0)
		log_warnx("ins: moat-ins refused a deny: %s", strerror(-r));
	return r;
}

static struct ins_rule *
ins_find(struct drv_ins *d, uint64_t id)
{
	for (size_t i = 0; i < INS_DRV_MAX_RULES; i++)
		if (d->rules[i].id == id && id != 0)
			return &d->rules[i];
	return NULL;
}

static int
ins_apply(void *state, const struct mit_rule *r)
{
	struct drv_ins *d = state;
	struct ins_rule *e;
	int rc;

	if (r->req.n_sources == 0)
		return -EOPNOTSUPP;
	if ((rc = ins_deny_all(d, r->req.sources, r->req.n_sources, (uint32_t)d->deny_s)) < 0)
		return rc == -EPERM ? rc : -ENOSPC;	/* unreachable broker: retry later */
	if ((e = ins_find(d, r->id)) == NULL) {
		e = &d->rules[d->next];
		d->next = (d->next + 1) % INS_DRV_MAX_RULES;
	}
	e->id = r->id;
	e->n = r->req.n_sources;
	memcpy(e->sources, r->req.sources, sizeof(e->sources[0]) * e->n);
	return 0;
}

/* Does a live rule deny a? */
static bool
ins_held(const struct drv_ins *d, const struct ipaddr *a)
{
	for (size_t i = 0; i < INS_DRV_MAX_RULES; i++)
		for (uint32_t k = 0; d->rules[i].id != 0 && k < d->rules[i].n; k++)
			if (ipaddr_equal(&d->rules[i].sources[k], a))
				return true;
	return false;
}

static int
ins_withdraw(void *state, uint64_t id)
{
	struct drv_ins *d = state;
	struct ins_rule *e = ins_find(d, id);
	int r;

	struct ipaddr lift[MIT_MAX_SOURCES];
	uint32_t n = 0;

	if (e == NULL)
		return -ENOENT;
	/*
	 * Lift only the denies no other rule holds: a refined mitigation's new
	 * rule denies the same sources before the old rule is withdrawn.
	 */
	e->id = 0;
	for (uint32_t i = 0; i < e->n; i++)
		if (!ins_held(d, &e->sources[i]))
			lift[n++] = e->sources[i];
	r = n > 0 ? ins_deny_all(d, lift, n, 0) : 0;	/* 0 seconds lifts the deny */
	return r;
}

static int
ins_installed(void *state, uint64_t **ret_ids, size_t *ret_n)
{
	return -EOPNOTSUPP;
}

static int
ins_counters(void *state, uint64_t id, struct mit_counters *ret)
{
	return -EOPNOTSUPP;
}

const struct mit_driver_ops drv_ins_ops = {
	.name = "ins",
	.open = ins_open,
	.close = ins_close,
	.apply = ins_apply,
	.withdraw = ins_withdraw,
	.installed = ins_installed,
	.counters = ins_counters,
};
