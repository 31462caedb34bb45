/* Unit tests for ins/resolv: lookups on worker threads come back through the eventfd. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <netdb.h>
#include <poll.h>
#include <string.h>

#include "ins/resolv.h"

struct got {
	int n;
	uint64_t tags;
	struct ins_msg last;
};

static void
collect(void *arg, uint64_t tag, const struct ins_msg *rep)
{
	struct got *g = arg;

	g->n++;
	g->tags += tag;
	g->last = *rep;
}

static void
test_lookup_sync(void **state)
{
	struct ins_msg req = { .type = INS_RESOLVE, .id = 9, .family = INS_AF_INET }, rep;

	strcpy(req.name, "127.0.0.1");	/* numeric: no DNS needed */
	strcpy(req.service, "80");
	assert_int_equal(resolv_lookup(&req, &rep), 0);
	assert_int_equal(rep.type, INS_RESOLVE | INS_REPLY);
	assert_int_equal(rep.id, 9);
	assert_true(rep.naddrs >= 1);
	assert_int_equal(rep.addrs[0].port, 80);
	strcpy(req.service, "no-such-service-name");
	assert_true(resolv_lookup(&req, &rep) != 0);
	assert_true(rep.status > 0);	/* -EAI_*, carried positive */
}

/* With ext: AI_CANONNAME's name, and socktype 0 as glibc answers it (STREAM, DGRAM, RAW). */
static void
test_lookup_ext(void **state)
{
	struct ins_msg req = { .type = INS_RESOLVE, .id = 2, .family = INS_AF_INET,
			       .ai_flags = INS_RESOLVE_EXT | AI_CANONNAME }, rep;
	struct addrinfo hints = { .ai_family = AF_INET, .ai_flags = AI_CANONNAME }, *res, *ai;
	size_t n = 0;

	strcpy(req.name, "localhost");	/* /etc/hosts: no DNS needed */
	strcpy(req.service, "80");
	assert_int_equal(resolv_lookup(&req, &rep), 0);
	assert_true(rep.has_ext);
	assert_int_equal(getaddrinfo("localhost", "80", &hints, &res), 0);
	assert_string_equal(rep.canon, res->ai_canonname);
	for (ai = res; ai; ai = ai->ai_next, n++) {
		assert_true(n < rep.naddrs);
		assert_int_equal(rep.ai_socktype[n], ai->ai_socktype == SOCK_STREAM ? INS_SOCK_STREAM
				 : ai->ai_socktype == SOCK_DGRAM ? INS_SOCK_DGRAM : INS_SOCK_RAW);
		assert_int_equal(rep.ai_protocol[n], ai->ai_protocol);
		assert_int_equal(rep.addrs[n].port, 80);
	}
	assert_int_equal(n, rep.naddrs);
	assert_true(n >= 3);	/* at least the triple for 127.0.0.1 */
	assert_int_equal(rep.ai_socktype[0], INS_SOCK_STREAM);
	assert_int_equal(rep.ai_socktype[1], INS_SOCK_DGRAM);
	assert_int_equal(rep.ai_socktype[2], INS_SOCK_RAW);
	freeaddrinfo(res);
	/* Without ext (a shim of before): STREAM only, no canonical name. */
	req.ai_flags = AI_CANONNAME;
	assert_int_equal(resolv_lookup(&req, &rep), 0);
	assert_false(rep.has_ext);
	assert_int_equal(rep.canon[0], '\0');
	assert_true(rep.naddrs >= 1);
}

static void
test_async(void **state)
{
	struct resolv *r;
	struct ins_msg req = { .type = INS_RESOLVE, .family = INS_AF_INET };
	struct got g = { 0 };
	struct pollfd p;

	assert_int_equal(resolv_init(&r), 0);
	strcpy(req.name, "127.0.0.1");
	for (uint64_t i = 1; i <= 3; i++) {
		req.id = (uint32_t)i;
		assert_int_equal(resolv_submit(r, i, &req), 0);
	}
	p.fd = resolv_fd(r);
	p.events = POLLIN;
	while (g.n < 3) {
		assert_true(poll(&p, 1, 5000) == 1);
		resolv_collect(r, collect, &g);
	}
	assert_int_equal(g.tags, 6);
	assert_int_equal(g.last.status, 0);
	resolv_free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup_sync),
		cmocka_unit_test(test_lookup_ext),
		cmocka_unit_test(test_async),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
