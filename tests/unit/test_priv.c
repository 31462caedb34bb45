/*
 * Unit tests for engine/priv (server and client): the privileged side and
 * the engine's channel to it, over a real socketpair, with a fake driver.
 * Every malformed request is refused before the driver sees anything.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/cfg.h"
#include "common/prefix.h"
#include "engine/priv/client.h"
#include "engine/priv/proxy.h"
#include "engine/priv/proto.h"
#include "engine/priv/server.h"

/* The fake driver: what reached it. */
struct fake {
	char conf_x[32];
	unsigned applies, withdraws;
	uint64_t last_id;
	uint64_t ids[8];
	size_t nids;
};

static struct fake the_fake;	/* one per test binary: the ops table has no context */

static int
fake_open(const struct mit_driver_ops *self, const struct cfg_node *conf, void **ret_state,
    struct cfg_error *err)
{
	const char *x = NULL;

	(void)err;
	memset(&the_fake, 0, sizeof(the_fake));
	if (conf != NULL && cfg_get(conf, "x") != NULL)
		x = cfg_scalar(cfg_get(conf, "x"));
	snprintf(the_fake.conf_x, sizeof(the_fake.conf_x), "%s", x ? x : "");
	*ret_state = &the_fake;
	return 0;
}

static void
fake_close(void *state)
{
	(void)state;
}

static int
fake_apply(void *state, const struct mit_rule *r)
{
	struct fake *f = state;

	f->applies++;
	f->last_id = r->id;
	if (f->nids < 8)
		f->ids[f->nids++] = r->id;
	return 0;
}

static int
fake_withdraw(void *state, uint64_t id)
{
	struct fake *f = state;

	for (size_t i = 0; i < f->nids; i++)
		if (f->ids[i] == id) {
			f->ids[i] = f->ids[--f->nids];
			f->withdraws++;
			return 0;
		}
	return -ENOENT;
}

static int
fake_installed(void *state, uint64_t **ret_ids, size_t *ret_n)
{
	struct fake *f = state;
	uint64_t *ids = calloc(f->nids + 1, sizeof(*ids));

	memcpy(ids, f->ids, f->nids * sizeof(*ids));
	*ret_ids = ids;
	*ret_n = f->nids;
	return 0;
}

static int
fake_counters(void *state, uint64_t id, struct mit_counters *ret)
{
	(void)state;
	ret->packets = id * 10;
	ret->bytes = id * 1000;
	return 0;
}

static int
fake_peers(void *state, struct ipaddr *out, size_t max, size_t *ret_n)
{
	(void)state;
	assert_true(max >= 1);
	assert_int_equal(ipaddr_parse("198.51.100.1", &out[0]), 0);
	*ret_n = 1;
	return 0;
}

/* An asynchronous driver's status: what failed after apply() returned. */
static int
fake_status(void *state, struct mit_driver_status *ret)
{
	struct fake *f = state;

	*ret = (struct mit_driver_status){ .failures = f->applies * 2, .dropped = 3, .queued = 4 };
	/* unterminated: the server must terminate it before it leaves */
	memset(ret->last_error, 'x', sizeof(ret->last_error));
	memcpy(ret->last_error, "gobgp: no answer", 16);
	return 0;
}

static const struct mit_driver_ops fake_ops = {
	.name = "fake", .open = fake_open, .close = fake_close, .apply = fake_apply,
	.withdraw = fake_withdraw, .installed = fake_installed, .counters = fake_counters,
	.peers = fake_peers, .status = fake_status,
};
/* A synchronous driver: no status op. */
static const struct mit_driver_ops sync_ops = {
	.name = "sync", .open = fake_open, .close = fake_close, .apply = fake_apply,
	.withdraw = fake_withdraw, .installed = fake_installed, .counters = fake_counters,
};
static const struct mit_driver_ops *const table[] = { &fake_ops, &sync_ops };

struct rig {
	struct cfg_doc *conf;
	struct priv_server *srv;
	struct priv_client *cli;
	int sfd;
	pthread_t th;
	volatile int stop;
};

static void *
serve(void *arg)
{
	struct rig *g = arg;
	struct pollfd p = { .fd = g->sfd, .events = POLLIN };

	while (!g->stop) {
		if (poll(&p, 1, 50) <= 0)
			continue;
		if (priv_server_serve(g->srv, g->sfd) == 1)
			break;
	}
	return NULL;
}

static int
setup(void **state)
{
	static const char yaml[] = "mitigate:\n  drivers:\n    fake: {x: from-conf}\n";
	struct cfg_error err;
	struct rig *g = calloc(1, sizeof(*g));
	int sv[2];

	assert_int_equal(cfg_load_buffer("t", yaml, strlen(yaml), &g->conf, &err), 0);
	assert_int_equal(priv_server_new(table, 2, g->conf, &g->srv), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	g->sfd = sv[0];
	assert_int_equal(priv_client_new(sv[1], 5000, &g->cli), 0);
	assert_int_equal(pthread_create(&g->th, NULL, serve, g), 0);
	*state = g;
	return 0;
}

static int
teardown(void **state)
{
	struct rig *g = *state;

	g->stop = 1;
	priv_client_free(g->cli);
	pthread_join(g->th, NULL);
	close(g->sfd);
	priv_server_free(g->srv);
	cfg_free(g->conf);
	free(g);
	return 0;
}

static struct mit_rule
rule(uint64_t id)
{
	struct mit_rule r = { .id = id, .scope = MIT_SCOPE_PROTO, .action = MIT_ACT_DROP };

	r.req.af = AF_INET;
	r.req.proto = 17;
	r.req.n_targets = 1;
	assert_int_equal(prefix_parse("192.0.2.10/32", &r.req.targets[0]), 0);
	snprintf(r.req.po, sizeof(r.req.po), "web");
	return r;
}

static void
test_round_trip(void **state)
{
	struct rig *g = *state;
	struct mit_rule r = rule(7);
	struct mit_counters c;
	uint64_t *ids = NULL;
	size_t n = 0;
	int32_t h = -1;

	assert_int_equal(priv_client_open(g->cli, "fake", &h), 0);
	assert_true(h >= 0);
	assert_string_equal(the_fake.conf_x, "from-conf");	/* the server's own config */
	assert_int_equal(priv_client_apply(g->cli, h, &r), 0);
	assert_int_equal(the_fake.applies, 1);
	assert_int_equal(the_fake.last_id, 7);
	assert_int_equal(priv_client_installed(g->cli, h, &ids, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(ids[0], 7);
	free(ids);
	assert_int_equal(priv_client_counters(g->cli, h, 7, &c), 0);
	assert_int_equal(c.packets, 70);
	assert_int_equal(c.bytes, 7000);
	assert_int_equal(priv_client_withdraw(g->cli, h, 7), 0);
	assert_int_equal(priv_client_withdraw(g->cli, h, 7), -ENOENT);
	assert_int_equal(priv_client_close(g->cli, h), 0);
	/* a closed handle is no handle */
	assert_int_equal(priv_client_apply(g->cli, h, &r), -EPROTO);
	assert_int_equal(priv_server_refused(g->srv), 1);
}

static void
test_unknown_driver(void **state)
{
	struct rig *g = *state;
	int32_t h = -1;

	assert_int_equal(priv_client_open(g->cli, "nft", &h), -EPROTO);
	assert_int_equal(priv_client_open(g->cli, "a-name-far-too-long-for-a-driver", &h),
	    -ENAMETOOLONG);
	assert_int_equal(priv_server_refused(g->srv), 1);
}

/* Each bad rule is refused, and the driver never sees it. */
static void
test_bad_rules(void **state)
{
	struct rig *g = *state;
	struct mit_rule r;
	int32_t h = -1;
	unsigned refused = 0;

	assert_int_equal(priv_client_open(g->cli, "fake", &h), 0);
#define BAD(mutation)						\
	do {							\
		r = rule(9);					\
		mutation;					\
		assert_int_equal(priv_client_apply(g->cli, h, &r), -EPROTO); \
		refused++;					\
	} while (0)
	BAD(r.id = 0);
	BAD(r.scope = 9);
	BAD(r.action = 7);
	BAD(r.action = MIT_ACT_RATELIMIT; r.rate_pps = 0);
	BAD(r.req.af = 0);
	BAD(r.req.n_targets = MIT_MAX_TARGETS + 1);
	BAD(r.req.n_sources = MIT_MAX_SOURCES + 1);
	BAD(r.req.n_targets = 0);
	BAD(r.req.targets[0].len = 0);
	BAD(r.req.targets[0].len = 33);
	BAD(r.req.targets[0].addr.af = AF_INET6);
	BAD(r.req.n_sources = 1; r.req.sources[0].af = AF_INET6);
	BAD(memset(r.req.po, 'a', sizeof(r.req.po)));
	BAD(memset(r.req.attack_type, 'a', sizeof(r.req.attack_type)));
#undef BAD
	assert_int_equal(the_fake.applies, 0);
	assert_int_equal(priv_server_refused(g->srv), refused);
}

/* Headers that lie: refused, answered, and the channel still works. */
static void
test_malformed_messages(void **state)
{
	struct rig *g = *state;
	uint8_t buf[sizeof(struct priv_hdr) + sizeof(struct mit_rule) + 8] = { 0 };
	struct priv_hdr q = { .version = PRIV_VERSION, .type = PRIV_APPLY, .seq = 1000 };
	struct mit_rule r = rule(5);
	int32_t h = -1;

	assert_int_equal(priv_client_open(g->cli, "fake", &h), 0);
	q.handle = h;
	/* wrong version */
	q.version = 99;
	memcpy(buf, &q, sizeof(q));
	memcpy(buf + sizeof(q), &r, sizeof(r));
	assert_int_equal(priv_client_raw(g->cli, buf, sizeof(q) + sizeof(r)), -EPROTO);
	/* a body one byte short and one byte long */
	q.version = PRIV_VERSION;
	q.seq++;
	memcpy(buf, &q, sizeof(q));
	assert_int_equal(priv_client_raw(g->cli, buf, sizeof(q) + sizeof(r) - 1), -EPROTO);
	q.seq++;
	memcpy(buf, &q, sizeof(q));
	assert_int_equal(priv_client_raw(g->cli, buf, sizeof(q) + sizeof(r) + 1), -EPROTO);
	/* an unknown type, a handle out of range */
	q.seq++;
	q.type = 42;
	memcpy(buf, &q, sizeof(q));
	assert_int_equal(priv_client_raw(g->cli, buf, sizeof(q)), -EPROTO);
	q.seq++;
	q.type = PRIV_WITHDRAW;
	q.handle = 1 << 20;
	memcpy(buf, &q, sizeof(q));
	memset(buf + sizeof(q), 0, 8);
	assert_int_equal(priv_client_raw(g->cli, buf, sizeof(q) + 8), -EPROTO);
	assert_int_equal(the_fake.applies, 0);
	assert_int_equal(priv_server_refused(g->srv), 5);
	/* and a good request still works */
	assert_int_equal(priv_client_apply(g->cli, h, &r), 0);
	assert_int_equal(the_fake.applies, 1);
}

/*
 * STATUS: typed and size-checked like the rest. The counts come back as
 * the driver gave them, its error text terminated; a driver without the op
 * answers -EOPNOTSUPP; a STATUS with a body is refused.
 */
static void
test_status(void **state)
{
	struct rig *g = *state;
	struct mit_driver_status st;
	struct mit_rule r = rule(9);
	uint8_t buf[sizeof(struct priv_hdr) + 8] = { 0 };
	struct priv_hdr q = { .version = PRIV_VERSION, .type = PRIV_STATUS, .seq = 2000 };
	int32_t h = -1, hs = -1;

	assert_int_equal(priv_client_open(g->cli, "fake", &h), 0);
	assert_int_equal(priv_client_apply(g->cli, h, &r), 0);
	assert_int_equal(priv_client_status(g->cli, h, &st), 0);
	assert_int_equal(st.failures, 2);
	assert_int_equal(st.dropped, 3);
	assert_int_equal(st.queued, 4);
	assert_int_equal(strnlen(st.last_error, sizeof(st.last_error)), sizeof(st.last_error) - 1);
	assert_memory_equal(st.last_error, "gobgp: no answer", 16);
	assert_int_equal(priv_client_open(g->cli, "sync", &hs), 0);
	assert_int_equal(priv_client_status(g->cli, hs, &st), -EOPNOTSUPP);
	/* a body where none belongs */
	q.handle = h;
	memcpy(buf, &q, sizeof(q));
	assert_int_equal(priv_client_raw(g->cli, buf, sizeof(q) + 8), -EPROTO);
	assert_int_equal(priv_server_refused(g->srv), 1);
}

/* Through the proxies: the manager sees the privileged driver's status. */
static void
test_status_through_proxies(void **state)
{
	struct rig *g = *state;
	struct priv_proxy_table *t = NULL;
	const struct mit_driver_ops *const *rows;
	struct mit_driver_status st;
	struct cfg_error err = { "" };
	struct mit_mgr *m = NULL;
	const char *name = NULL;
	size_t n;

	assert_int_equal(priv_proxy_table_new(g->cli, table, 2, &t), 0);
	rows = priv_proxy_rows(t, &n);
	assert_null(rows[1]->status);	/* the real row has none: neither has its proxy */
	assert_int_equal(mit_mgr_new(NULL, rows, n, &m, &err), 0);
	assert_int_equal(mit_reconcile(m, 1000, NULL), 0);	/* opens both */
	assert_int_equal(mit_driver_status_at(m, 0, &name, &st), 1);
	assert_string_equal(name, "fake");
	assert_int_equal(st.dropped, 3);
	assert_int_equal(mit_driver_status_at(m, 1, &name, &st), -EOPNOTSUPP);
	assert_int_equal(mit_driver_status_at(m, 2, &name, &st), 0);
	mit_mgr_free(m);
	priv_proxy_table_free(t);
}

/* A server handed bytes directly: a short datagram gets a reply too. */
static void
test_handle_short(void **state)
{
	struct rig *g = *state;
	uint8_t out[PRIV_MSG_MAX];
	struct priv_hdr a;
	size_t n = priv_server_handle(g->srv, "xy", 2, out);

	assert_int_equal(n, sizeof(a));
	memcpy(&a, out, sizeof(a));
	assert_int_equal(a.result, -EPROTO);
	assert_true(a.type & PRIV_REPLY);
}

/*
 * The manager over proxies: a mitigation started in the engine reaches the
 * privileged side's driver, configured by the privileged side's config (not
 * the engine's), is undone there by id, and the driver's peers come back as
 * never-block addresses.
 */
static void
test_manager_through_proxies(void **state)
{
	static const char engine_yaml[] = "drivers:\n  fake: {x: from-engine}\n";
	struct rig *g = *state;
	struct priv_proxy_table *pt = NULL;
	const struct mit_driver_ops *const *rows;
	struct cfg_doc *doc = NULL;
	struct cfg_error err;
	struct mit_mgr *m = NULL;
	struct mit_request req = rule(1).req;
	const char *order[] = { "fake" };
	struct ipaddr peer;
	uint64_t id = 0;
	size_t n = 0;

	assert_int_equal(cfg_load_buffer("e", engine_yaml, strlen(engine_yaml), &doc, &err), 0);
	assert_int_equal(mit_mgr_new(cfg_root(doc), table, 1, &m, &err), 0);
	assert_string_equal(the_fake.conf_x, "from-engine");	/* opened here, as parsed */
	assert_int_equal(priv_proxy_table_new(g->cli, table, 1, &pt), 0);
	rows = priv_proxy_rows(pt, &n);
	assert_int_equal(n, 1);
	assert_string_equal(rows[0]->name, "fake");
	assert_int_equal(mit_mgr_route(m, rows, n, &err), 0);
	assert_string_equal(the_fake.conf_x, "from-conf");	/* reopened there, its own */

	req.attack_id = 42;
	assert_int_equal(mit_start(m, &req, order, 1, 1000, &id), 0);
	assert_int_equal(mit_get(m, id)->status, MIT_MITIGATING);
	assert_int_equal(the_fake.applies, 1);
	assert_int_equal(mit_allow_peers(m), 0);	/* only inspected drivers are asked */
	assert_true(mit_reconcile(m, 1001, NULL) >= 0);
	assert_int_equal(mit_allow_peers(m), 1);
	assert_int_equal(ipaddr_parse("198.51.100.1", &peer), 0);
	assert_true(mit_never_blocked(m, NULL, &peer));
	assert_int_equal(mit_stop(m, id, 1002, "test"), 0);
	assert_int_equal(the_fake.withdraws, 1);
	mit_mgr_free(m);
	priv_proxy_table_free(pt);
	cfg_free(doc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_manager_through_proxies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_driver, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_messages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_handle_short, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status_through_proxies, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
