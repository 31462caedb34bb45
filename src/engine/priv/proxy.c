/*
 * priv_proxy: mitigation drivers that forward to moatd's privileged part.
 */
#include "engine/priv/proxy.h"

#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "engine/priv/client.h"

/* One row: the ops the manager calls, and the channel they forward to. */
struct priv_proxy {
	struct mit_driver_ops ops;
	struct priv_client *c;
};

struct priv_proxy_table {
	struct priv_proxy rows[MIT_MAX_DRIVERS];
	const struct mit_driver_ops *ptrs[MIT_MAX_DRIVERS];
	size_t n;
};

/* An open proxied driver: its handle on the privileged side. */
struct priv_proxy_state {
	struct priv_client *c;
	int32_t handle;
};

static int
priv_proxy_open(const struct mit_driver_ops *self, const struct cfg_node *conf,
    void **ret_state, struct cfg_error *err)
{
	/* self is the first member of its row: the row says which channel. */
	const struct priv_proxy *row = (const struct priv_proxy *)(const void *)self;
	struct priv_proxy_state *st = malloc(sizeof(*st));
	int r;

	(void)conf;	/* the privileged part has its own (proxy.h) */
	if (st == NULL)
		return -ENOMEM;
	st->c = row->c;
	if ((r = priv_client_open(row->c, self->name, &st->handle)) < 0) {
		free(st);
		(void)cfg_fail(err, NULL, "driver %s: the privileged part cannot open it "
		    "(its log says why): %s", self->name, strerror(-r));
		return r;
	}
	*ret_state = st;
	return 0;
}

static void
priv_proxy_close(void *state)
{
	struct priv_proxy_state *st = state;

	if (st == NULL)
		return;
	(void)priv_client_close(st->c, st->handle);
	free(st);
}

static int
priv_proxy_apply(void *state, const struct mit_rule *r)
{
	struct priv_proxy_state *st = state;

	return priv_client_apply(st->c, st->handle, r);
}

static int
priv_proxy_withdraw(void *state, uint64_t id)
{
	struct priv_proxy_state *st = state;

	return priv_client_withdraw(st->c, st->handle, id);
}

static int
priv_proxy_installed(void *state, uint64_t **ret_ids, size_t *ret_n)
{
	struct priv_proxy_state *st = state;

	return priv_client_installed(st->c, st->handle, ret_ids, ret_n);
}

static int
priv_proxy_counters(void *state, uint64_t id, struct mit_counters *ret)
{
	struct priv_proxy_state *st = state;

	return priv_client_counters(st->c, st->handle, id, ret);
}

static int
priv_proxy_peers(void *state, struct ipaddr *out, size_t max, size_t *ret_n)
{
	struct priv_proxy_state *st = state;

	return priv_client_peers(st->c, st->handle, out, max, ret_n);
}

static int
priv_proxy_status(void *state, struct mit_driver_status *ret)
{
	struct priv_proxy_state *st = state;

	return priv_client_status(st->c, st->handle, ret);
}

int
priv_proxy_table_new(struct priv_client *c, const struct mit_driver_ops *const *real, size_t n,
    struct priv_proxy_table **ret)
{
	struct priv_proxy_table *t;

	static_assert(offsetof(struct priv_proxy, ops) == 0, "ops first: open() finds its row");
	if (n > MIT_MAX_DRIVERS)
		return -E2BIG;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		t->rows[i] = (struct priv_proxy){
			.ops = { .name = real[i]->name, .open = priv_proxy_open,
				.close = priv_proxy_close, .apply = priv_proxy_apply,
				.withdraw = priv_proxy_withdraw, .installed = priv_proxy_installed,
				.counters = priv_proxy_counters,
				.peers = real[i]->peers ? priv_proxy_peers : NULL,
				.status = real[i]->status ? priv_proxy_status : NULL },
			.c = c,
		};
		t->ptrs[i] = &t->rows[i].ops;
	}
	t->n = n;
	*ret = t;
	return 0;
}

void
priv_proxy_table_free(struct priv_proxy_table *t)
{
	free(t);
}

const struct mit_driver_ops *const *
priv_proxy_rows(const struct priv_proxy_table *t, size_t *ret_n)
{
	*ret_n = t->n;
	return t->ptrs;
}
