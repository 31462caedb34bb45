/*
 * Unit tests of the asynchronous mitigation drivers (notify, bgp): their
 * apply() returns before the slow part has happened, what fails later is
 * counted in status(), and close() is bounded. Real drivers, real I/O on
 * loopback: a local HTTP listener that holds its answer until the test
 * releases it (or 5 s), and a fake `gobgp` program (a shell script) that
 * blocks while a file exists. Ordering is checked by events (the listener
 * has not answered yet, the fake gobgp has not run "add" yet), not clocks.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/cfg.h"
#include "engine/mitigate/manager.h"

static const struct mit_driver_ops *const real_drivers[] = { &drv_notify_ops, &drv_bgp_ops };

static struct mit_mgr *
new_mgr(const char *yaml)
{
	struct cfg_error err = { { 0 } };
	struct cfg_doc *doc = NULL;
	struct mit_mgr *m = NULL;

	assert_int_equal(cfg_load_buffer("test.yaml", yaml, strlen(yaml), &doc, &err), 0);
	if (mit_mgr_new(cfg_root(doc), real_drivers, 2, &m, &err) < 0)
		fail_msg("mit_mgr_new: %s", err.msg);
	cfg_free(doc);
	return m;
}

static struct mit_request
request(uint64_t attack, const char *target)
{
	struct mit_request q = { .attack_id = attack, .af = AF_INET, .proto = 17, .dport = 53 };

	snprintf(q.po, sizeof(q.po), "web");
	snprintf(q.attack_type, sizeof(q.attack_type), "udp-flood");
	q.n_targets = 1;
	assert_int_equal(ipaddr_parse(target, &q.targets[0].addr), 0);
	q.targets[0].len = 32;
	return q;
}

/* The status of driver `name`, which must have one. */
static struct mit_driver_status
status_of(struct mit_mgr *m, const char *name)
{
	struct mit_driver_status st = { 0 };
	const char *n;
	int r;

	for (size_t i = 0; (r = mit_driver_status_at(m, i, &n, &st)) != 0; i++)
		if (strcmp(n, name) == 0) {
			assert_int_equal(r, 1);
			return st;
		}
	fail_msg("driver %s has no status", name);
	return st;
}

/* Wait (bounded: 10 s) until fn(arg) holds; false if it never did. */
static bool
eventually(bool (*fn)(void *), void *arg)
{
	for (int i = 0; i < 1000; i++) {
		if (fn(arg))
			return true;
		usleep(10000);
	}
	return false;
}

/* ---- a webhook receiver that holds its answers ---- */

struct listener {
	int fd;
	int release[2];		/* a byte here lets a held answer go */
	unsigned hold;		/* the first `hold` requests wait for a release (or 5 s) */
	unsigned want;		/* requests to serve */
	atomic_uint received, answered;
	char body[4][4096];
};

static void
listener_serve_one(struct listener *l, unsigned k)
{
	char buf[8192];
	size_t len = 0;
	ssize_t n;
	int c;

	while ((c = accept(l->fd, NULL, NULL)) < 0 && errno == EINTR)
		;
	if (c < 0)
		return;
	while (len < sizeof(buf) - 1) {
		char *end, *cl;

		if ((n = read(c, buf + len, sizeof(buf) - 1 - len)) <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
		if ((end = strstr(buf, "\r\n\r\n")) == NULL || (cl = strcasestr(buf, "Content-Length:")) == NULL)
			continue;
		if (len >= (size_t)(end + 4 - buf) + strtoul(cl + 15, NULL, 10)) {
			if (k < 4)
				snprintf(l->body[k], sizeof(l->body[k]), "%s", end + 4);
			break;
		}
	}
	atomic_fetch_add(&l->received, 1);
	if (k < l->hold) {
		struct pollfd p = { .fd = l->release[0], .events = POLLIN };
		char b;

		if (poll(&p, 1, 5000) == 1 && read(l->release[0], &b, 1) < 0)
			b = 0;	/* released either way */
	}
	(void)send(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", 57,
	    MSG_NOSIGNAL);
	atomic_fetch_add(&l->answered, 1);
	close(c);
}

static void *
listener_main(void *arg)
{
	struct listener *l = arg;

	for (unsigned k = 0; k < l->want; k++)
		listener_serve_one(l, k);
	return NULL;
}

/* Listen on 127.0.0.1 (any port); returns the port. */
static int
listener_start(struct listener *l, unsigned hold, unsigned want, pthread_t *th)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t slen = sizeof(sin);

	memset(l, 0, sizeof(*l));
	l->hold = hold;
	l->want = want;
	assert_int_equal(pipe2(l->release, O_CLOEXEC), 0);
	l->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(l->fd >= 0);
	assert_int_equal(bind(l->fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(l->fd, 128), 0);
	/* accept() gives up after 10 s: a broken driver fails the test, never hangs it */
	assert_int_equal(setsockopt(l->fd, SOL_SOCKET, SO_RCVTIMEO,
	    &(struct timeval){ .tv_sec = 10 }, sizeof(struct timeval)), 0);
	assert_int_equal(getsockname(l->fd, (struct sockaddr *)&sin, &slen), 0);
	assert_int_equal(pthread_create(th, NULL, listener_main, l), 0);
	return ntohs(sin.sin_port);
}

static void
listener_release(struct listener *l, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(write(l->release[1], "x", 1), 1);
}

static void
listener_stop(struct listener *l, pthread_t th)
{
	pthread_join(th, NULL);
	close(l->fd);
	close(l->release[0]);
	close(l->release[1]);
}

static bool
received_one(void *arg)
{
	return atomic_load(&((struct listener *)arg)->received) >= 1;
}

static bool
answered_two(void *arg)
{
	return atomic_load(&((struct listener *)arg)->answered) >= 2;
}

/*
 * apply() returns while the webhook's receiver still holds its answer: the
 * post runs on the driver's worker. With a blocking post (timeout 20 s),
 * mit_start() could only return after the answer, which the receiver gives
 * only when released (or after 5 s).
 */
static void
test_notify_apply_does_not_wait(void **state)
{
	const char *drivers[] = { "notify" };
	struct mit_request q = request(1, "192.0.2.40");
	struct listener l;
	struct mit_mgr *m;
	pthread_t th;
	char yaml[256];
	uint64_t id;
	int port = listener_start(&l, 1, 2, &th);

	snprintf(yaml, sizeof(yaml), "drivers:\n  notify:\n    webhook: http://127.0.0.1:%d/hook\n"
	    "    timeout_ms: 20000\n", port);
	m = new_mgr(yaml);
	assert_int_equal(mit_start(m, &q, drivers, 1, 1000, &id), 0);
	assert_int_equal(mit_get(m, id)->status, MIT_MITIGATING);
	assert_int_equal(atomic_load(&l.answered), 0);
	assert_true(eventually(received_one, &l));	/* the post is under way, in the background */
	assert_int_equal(atomic_load(&l.answered), 0);
	/* withdraw() queues the "unban" behind the held "ban" and returns too */
	assert_int_equal(mit_stop(m, id, 1001, "test"), 0);
	assert_int_equal(atomic_load(&l.answered), 0);
	listener_release(&l, 1);
	assert_true(eventually(answered_two, &l));
	assert_int_equal(status_of(m, "notify").failures, 0);
	mit_mgr_free(m);
	listener_stop(&l, th);
	assert_non_null(strstr(l.body[0], "\"event\":\"ban\""));
	assert_non_null(strstr(l.body[1], "\"event\":\"unban\""));
}

static bool
notify_failed(void *arg)
{
	return status_of(arg, "notify").failures >= 1;
}

/* A webhook nobody answers: apply() succeeds, the failure is counted with its reason. */
static void
test_notify_failure_is_counted(void **state)
{
	const char *drivers[] = { "notify" };
	struct mit_request q = request(2, "192.0.2.41");
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t slen = sizeof(sin);
	struct mit_driver_status st;
	struct mit_mgr *m;
	char yaml[256];
	uint64_t id;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	/* a port bound but not listening: connections are refused */
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &slen), 0);
	snprintf(yaml, sizeof(yaml), "drivers:\n  notify:\n    webhook: http://127.0.0.1:%d/hook\n",
	    ntohs(sin.sin_port));
	m = new_mgr(yaml);
	assert_int_equal(mit_start(m, &q, drivers, 1, 1000, &id), 0);
	assert_int_equal(mit_get(m, id)->status, MIT_MITIGATING);
	assert_true(eventually(notify_failed, m));
	st = status_of(m, "notify");
	assert_int_equal(st.failures, 1);
	assert_int_equal(st.dropped, 0);
	assert_non_null(strstr(st.last_error, "webhook"));
	mit_mgr_free(m);
	close(fd);
}

/*
 * The queue is bounded: with the first post held, 70 more give 64 queued
 * and the 6 oldest dropped, counted. close() then gives up after the
 * timeout (1 s) on the held post and the queued ones: it returns before
 * the receiver has answered anything.
 */
static void
test_notify_queue_bound_and_close(void **state)
{
	struct cfg_error err = { { 0 } };
	struct cfg_doc *doc = NULL;
	struct mit_driver_status st;
	struct listener l;
	struct mit_rule r = { .scope = MIT_SCOPE_TARGET, .action = MIT_ACT_DROP };
	pthread_t th;
	char yaml[256];
	void *d = NULL;
	int port = listener_start(&l, 1, 1, &th);

	r.req = request(3, "192.0.2.42");
	snprintf(yaml, sizeof(yaml), "webhook: http://127.0.0.1:%d/hook\ntimeout_ms: 1000\n", port);
	assert_int_equal(cfg_load_buffer("test.yaml", yaml, strlen(yaml), &doc, &err), 0);
	assert_int_equal(drv_notify_ops.open(&drv_notify_ops, cfg_root(doc), &d, &err), 0);
	cfg_free(doc);
	r.id = 1;
	assert_int_equal(drv_notify_ops.apply(d, &r), 0);
	assert_true(eventually(received_one, &l));
	for (r.id = 2; r.id <= 71; r.id++)
		assert_int_equal(drv_notify_ops.apply(d, &r), 0);
	assert_int_equal(drv_notify_ops.status(d, &st), 0);
	assert_int_equal(st.queued, 64);
	assert_int_equal(st.dropped, 6);
	assert_non_null(strstr(st.last_error, "queue full"));
	drv_notify_ops.close(d);
	assert_int_equal(atomic_load(&l.answered), 0);
	listener_release(&l, 1);
	listener_stop(&l, th);
}

/* ---- bgp against a fake gobgp ---- */

struct fake_gobgp {
	char dir[64];
	char path[128];
	char hold[128];		/* while it exists, every call blocks */
	char fail[128];		/* while it exists, every call fails */
	char log[128];		/* one line per call: its arguments */
};

static void
fake_gobgp_init(struct fake_gobgp *g)
{
	FILE *f;

	snprintf(g->dir, sizeof(g->dir), "/tmp/moat-fakebgp-XXXXXX");
	assert_non_null(mkdtemp(g->dir));
	snprintf(g->path, sizeof(g->path), "%s/gobgp", g->dir);
	snprintf(g->hold, sizeof(g->hold), "%s/hold", g->dir);
	snprintf(g->fail, sizeof(g->fail), "%s/fail", g->dir);
	snprintf(g->log, sizeof(g->log), "%s/log", g->dir);
	f = fopen(g->path, "w");
	assert_non_null(f);
	/* Bounded: the driver kills it at its timeout; and 20 s at most anyway. */
	fprintf(f, "#!/bin/sh\necho \"$*\" >> %s\ni=0\n"
	    "while [ -e %s ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done\n"
	    "if [ -e %s ]; then echo 'fake failure'; exit 1; fi\n"
	    "case \"$*\" in *' -j') echo '{}';; esac\nexit 0\n", g->log, g->hold, g->fail);
	fclose(f);
	assert_int_equal(chmod(g->path, 0700), 0);
}

static void
fake_gobgp_fini(struct fake_gobgp *g)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", g->dir);
	assert_int_equal(system(cmd), 0);
}

static void
touch(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	close(fd);
}

struct grep_arg {
	const char *file, *needle;
};

static bool
file_has(void *arg)
{
	const struct grep_arg *g = arg;
	char buf[65536];
	FILE *f = fopen(g->file, "r");
	size_t n;

	if (f == NULL)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return strstr(buf, g->needle) != NULL;
}

/* The needle at least twice in the file. */
static bool
twice(void *arg)
{
	const struct grep_arg *g = arg;
	char buf[65536];
	FILE *f = fopen(g->file, "r");
	const char *p;
	size_t n;

	if (f == NULL)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	p = strstr(buf, g->needle);
	return p != NULL && strstr(p + 1, g->needle) != NULL;
}

static int
count_lines(const char *path)
{
	FILE *f = fopen(path, "r");
	int n = 0, c;

	assert_non_null(f);
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

static bool
bgp_failed(void *arg)
{
	return status_of(arg, "bgp").failures >= 1;
}

/*
 * apply() and withdraw() return while gobgp is still blocked; the worker
 * then runs them in order; installed() gives up after its bound while
 * gobgp hangs; a failing gobgp is counted with its own message.
 */
static void
test_bgp_queued_in_order(void **state)
{
	const char *drivers[] = { "bgp" };
	struct mit_request q = request(4, "192.0.2.43"), q2 = request(5, "192.0.2.45");
	struct fake_gobgp g;
	struct mit_reconcile_report rep;
	struct mit_driver_status st;
	struct grep_arg ran_read, ran_add, ran_del;
	struct mit_mgr *m;
	char yaml[384];
	uint64_t id;

	fake_gobgp_init(&g);
	touch(g.hold);
	snprintf(yaml, sizeof(yaml), "scope: target\ndrivers:\n  bgp: {local_as: 64500, gobgp: %s, "
	    "timeout_ms: 30000}\n", g.path);
	m = new_mgr(yaml);
	assert_int_equal(mit_start(m, &q, drivers, 1, 1000, &id), 0);
	assert_int_equal(mit_get(m, id)->status, MIT_MITIGATING);
	ran_read = (struct grep_arg){ g.log, "global rib -a ipv4 -j" };
	ran_add = (struct grep_arg){ g.log, "global rib -a ipv4 add 192.0.2.43/32" };
	assert_true(eventually(file_has, &ran_read));	/* the worker is in gobgp, held */
	assert_false(file_has(&ran_add));
	st = status_of(m, "bgp");
	assert_int_equal(st.queued, 0);		/* taken by the worker */
	/* installed() does not wait for the held gobgp beyond its bound */
	assert_int_equal(mit_reconcile(m, 1001, &rep), 0);
	assert_int_equal(rep.n, 2);
	assert_string_equal(rep.d[1].driver, "bgp");
	assert_int_equal(rep.d[1].error, -EAGAIN);
	assert_false(file_has(&ran_add));
	unlink(g.hold);
	assert_true(eventually(file_has, &ran_add));
	assert_non_null(strstr(yaml, "64500"));
	/* the announcement carries the rule's tag: 64500:<id hi>:<id lo> */
	ran_add.needle = "large-community 64500:0:";
	assert_true(file_has(&ran_add));
	assert_int_equal(status_of(m, "bgp").failures, 0);

	/* The fake RIB never shows the route: reconciliation (which moatd runs
	   every minute) finds it missing and announces it again. */
	assert_int_equal(mit_reconcile(m, 1001, &rep), 1);
	assert_int_equal(rep.d[1].error, 0);
	assert_int_equal(rep.d[1].reinstalled, 1);
	ran_add.needle = "global rib -a ipv4 add 192.0.2.43/32";
	assert_true(eventually(twice, &ran_add));

	/* The fake RIB stays empty: the withdrawal finds nothing to delete. */
	assert_int_equal(mit_stop(m, id, 1002, "test"), 0);
	ran_del = (struct grep_arg){ g.log, " del " };
	/* Now gobgp fails: apply() still returns at once; the failure is counted. */
	touch(g.fail);
	assert_int_equal(mit_start(m, &q2, drivers, 1, 1003, &id), 0);
	assert_int_equal(mit_get(m, id)->status, MIT_MITIGATING);
	assert_true(eventually(bgp_failed, m));
	st = status_of(m, "bgp");
	assert_non_null(strstr(st.last_error, "fake failure"));
	unlink(g.fail);
	assert_false(file_has(&ran_del));
	mit_mgr_free(m);
	fake_gobgp_fini(&g);
}

/* close() with operations queued behind a hung gobgp returns after its bound. */
static void
test_bgp_close_is_bounded(void **state)
{
	const char *drivers[] = { "bgp" };
	struct fake_gobgp g;
	struct grep_arg ran_read;
	struct mit_mgr *m;
	char yaml[384];
	uint64_t id;

	fake_gobgp_init(&g);
	touch(g.hold);
	snprintf(yaml, sizeof(yaml), "scope: target\ndrivers:\n  bgp: {local_as: 64500, gobgp: %s, "
	    "timeout_ms: 500}\n", g.path);
	m = new_mgr(yaml);
	for (uint64_t a = 10; a < 15; a++) {
		struct mit_request q = request(a, "192.0.2.44");
		assert_int_equal(mit_start(m, &q, drivers, 1, 1000, &id), 0);
	}
	ran_read = (struct grep_arg){ g.log, "-j" };
	assert_true(eventually(file_has, &ran_read));
	mit_mgr_free(m);	/* gobgp never answers: each call is killed at 500 ms */
	/* Five operations were queued; close() ran what it could in 500 ms
	   (one or two, each killed) and abandoned the rest. */
	assert_true(count_lines(g.log) < 5);
	fake_gobgp_fini(&g);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_notify_apply_does_not_wait),
		cmocka_unit_test(test_notify_failure_is_counted),
		cmocka_unit_test(test_notify_queue_bound_and_close),
		cmocka_unit_test(test_bgp_queued_in_order),
		cmocka_unit_test(test_bgp_close_is_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
