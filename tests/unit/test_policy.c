/* Unit tests for ins/policy: checks, prefixes and YAML loading with positions. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cfg.h"
#include "ins/policy.h"

static struct ins_addr
v4(const char *s, uint16_t port)
{
	struct ins_addr a = { .family = INS_AF_INET, .port = port };

	inet_pton(AF_INET, s, a.addr);
	return a;
}

static void
test_defaults(void **state)
{
	struct policy p;
	struct ins_addr a = v4("203.0.113.9", 80);

	policy_default(&p);
	assert_int_equal(policy_check_socket(&p, INS_AF_INET, INS_SOCK_STREAM), 0);
	assert_int_equal(policy_check_socket(&p, INS_AF_INET6, INS_SOCK_DGRAM), 0);
	assert_int_equal(policy_check_socket(&p, 9, INS_SOCK_DGRAM), -EAFNOSUPPORT);
	assert_int_equal(policy_check_bind(&p, &a, 0), 0);
	assert_int_equal(policy_check_connect(&p, INS_SOCK_STREAM, &a), 0);
}

static void
test_prefixes(void **state)
{
	struct policy p;
	struct ins_addr in = v4("198.51.100.77", 443), out = v4("198.51.101.1", 443);

	policy_default(&p);
	assert_int_equal(policy_prefix_parse("198.51.100.0/24", &p.connect_allow[0]), 0);
	p.nconnect = 1;
	assert_int_equal(policy_check_connect(&p, INS_SOCK_STREAM, &in), 0);
	assert_int_equal(policy_check_connect(&p, INS_SOCK_STREAM, &out), -ENETUNREACH);
	assert_int_equal(policy_prefix_parse("198.51.100.1/24", &p.connect_allow[1]), -EINVAL);
	assert_int_equal(policy_prefix_parse("2001:db8::/33", &p.connect_allow[1]), 0);
	assert_int_equal(policy_prefix_parse("2001:db8::/129", &p.connect_allow[1]), -EINVAL);
	assert_int_equal(policy_prefix_parse("nonsense", &p.connect_allow[1]), -EINVAL);
	assert_int_equal(policy_prefix_parse("192.0.2.1", &p.connect_allow[1]), 0);
	assert_int_equal(p.connect_allow[1].len, 32);
}

static void
test_hold_names(void **state)
{
	enum policy_hold h;

	assert_int_equal(policy_hold_parse("http", &h), 0);
	assert_int_equal(h, POLICY_HOLD_HTTP);
	assert_string_equal(policy_hold_name(POLICY_HOLD_DATA), "data");
	assert_int_equal(policy_hold_parse("HTTP", &h), -EINVAL);
}

static char *
write_tmp(const char *text)
{
	static char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/test_policy.%d.yaml", (int)getpid());
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

static void
test_load(void **state)
{
	struct policy p;
	struct cfg_error err;
	struct ins_addr a = v4("192.0.2.1", 22);
	char *path = write_tmp("bind:\n  port_min: 1024\n  port_max: 9000\n"
			       "connect:\n  udp: false\n  allow: [\"192.0.2.0/24\"]\n"
			       "hold:\n  mode: http\n  timeout_ms: 3000\n  max_per_source: 4\n"
			       "shed:\n  deny_for: 2m\n  deny_after_drops: 5\n");

	policy_default(&p);
	assert_int_equal(policy_load(path, &p, &err), 0);
	assert_int_equal(p.hold, POLICY_HOLD_HTTP);
	assert_int_equal(p.hold_timeout_ms, 3000);
	assert_int_equal(p.max_held_per_source, 4);
	assert_int_equal(p.deny_seconds, 120);
	assert_int_equal(p.deny_after_drops, 5);
	assert_int_equal(policy_check_bind(&p, &a, 0), -EACCES);
	assert_int_equal(policy_check_socket(&p, INS_AF_INET, INS_SOCK_DGRAM), -EACCES);
	assert_int_equal(policy_check_connect(&p, INS_SOCK_STREAM, &a), 0);
	unlink(path);
}

static void
test_load_errors(void **state)
{
	struct policy p, before;
	struct cfg_error err;
	char *path;

	policy_default(&p);
	before = p;
	path = write_tmp("hold:\n  mode: sometimes\n");
	assert_int_equal(policy_load(path, &p, &err), -EINVAL);
	assert_non_null(strstr(err.msg, ":2:"));
	assert_memory_equal(&p, &before, sizeof(p));
	path = write_tmp("connect:\n  allow: [\"192.0.2.1/24\"]\n");
	assert_int_equal(policy_load(path, &p, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "prefix"));
	path = write_tmp("bogus: 1\n");
	assert_int_equal(policy_load(path, &p, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "bogus"));
	unlink(path);
}

static void
test_load_sources_listeners_pause(void **state)
{
	struct policy p, before;
	struct cfg_error err;
	struct srctab_prefixes pfx;
	char *path;

	policy_default(&p);
	/* defaults: IPv4 /32 /24, IPv6 /64 /48; a reader may pause 10 s after 64 KiB */
	assert_int_equal(p.nsrc4, 2);
	assert_int_equal(p.src4_len[0], 32);
	assert_int_equal(p.src4_len[1], 24);
	assert_int_equal(p.nsrc6, 2);
	assert_int_equal(p.src6_len[0], 64);
	assert_int_equal(p.src6_len[1], 48);
	assert_int_equal(p.read_pause_ms, 10000);
	assert_int_equal(p.read_pause_min_bytes, 65536);
	assert_int_equal(p.slow_grace_ms, 1000);
	assert_int_equal(p.slow_window_ms, 2000);
	path = write_tmp("hold:\n  mode: http\n"
			 "listeners:\n  - {port: 80, hold: http}\n  - {port: 5432, hold: none}\n"
			 "sources:\n  ipv4_prefixes: [32]\n  ipv6_prefixes: [56, 40]\n"
			 "shed:\n  read_pause_ms: 3000\n  read_pause_min_bytes: 1000\n");
	assert_int_equal(policy_load(path, &p, &err), 0);
	assert_int_equal(policy_hold_for(&p, 80), POLICY_HOLD_HTTP);
	assert_int_equal(policy_hold_for(&p, 5432), POLICY_HOLD_NONE);
	assert_int_equal(policy_hold_for(&p, 8080), POLICY_HOLD_HTTP);	/* the default mode */
	pfx = policy_src_prefixes(&p);
	assert_int_equal(pfx.n4, 1);
	assert_int_equal(pfx.len4[0], 32);
	assert_int_equal(pfx.n6, 2);
	assert_int_equal(pfx.len6[0], 56);
	assert_int_equal(pfx.len6[1], 40);
	assert_int_equal(p.read_pause_ms, 3000);
	assert_int_equal(p.read_pause_min_bytes, 1000);
	unlink(path);

	before = p;
	path = write_tmp("sources:\n  ipv6_prefixes: [48, 64]\n");	/* coarsest first */
	assert_int_equal(policy_load(path, &p, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "finest first"));
	unlink(path);
	path = write_tmp("sources:\n  ipv4_prefixes: [33]\n");
	assert_int_equal(policy_load(path, &p, &err), -EINVAL);
	unlink(path);
	path = write_tmp("sources:\n  ipv4_prefixes: [32, 24, 16]\n");
	assert_int_equal(policy_load(path, &p, &err), -EINVAL);
	unlink(path);
	path = write_tmp("listeners:\n  - {port: 80, hold: sometimes}\n");
	assert_int_equal(policy_load(path, &p, &err), -EINVAL);
	assert_non_null(strstr(err.msg, ":2:"));
	unlink(path);
	path = write_tmp("listeners:\n  - {port: 80, hold: none}\n  - {port: 80, hold: http}\n");
	assert_int_equal(policy_load(path, &p, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "twice"));
	unlink(path);
	path = write_tmp("listeners:\n  - {hold: none}\n");
	assert_int_equal(policy_load(path, &p, &err), -EINVAL);
	unlink(path);
	path = write_tmp("shed:\n  read_pause_ms: 60001\n");
	assert_int_equal(policy_load(path, &p, &err), -EINVAL);
	unlink(path);
	assert_memory_equal(&p, &before, sizeof(p));
}

static struct ins_addr
v6(const char *s, uint16_t port)
{
	struct ins_addr a = { .family = INS_AF_INET6, .port = port };

	inet_pton(AF_INET6, s, a.addr);
	return a;
}

/* IPv4-mapped addresses and prefixes are their IPv4 form, as on the wire. */
static void
test_v4mapped(void **state)
{
	struct policy p;
	struct ins_addr a;

	(void)state;
	policy_default(&p);
	assert_int_equal(policy_prefix_parse("::ffff:198.51.100.0/120", &p.connect_allow[0]), 0);
	assert_int_equal(p.connect_allow[0].family, INS_AF_INET);
	assert_int_equal(p.connect_allow[0].len, 24);
	assert_int_equal(policy_prefix_parse("192.0.2.0/24", &p.connect_allow[1]), 0);
	p.nconnect = 2;
	a = v6("::ffff:192.0.2.7", 80);
	assert_int_equal(policy_check_connect(&p, INS_SOCK_STREAM, &a), 0);
	a = v4("198.51.100.9", 80);
	assert_int_equal(policy_check_connect(&p, INS_SOCK_STREAM, &a), 0);
	a = v6("::ffff:203.0.113.1", 80);
	assert_int_equal(policy_check_connect(&p, INS_SOCK_STREAM, &a), -ENETUNREACH);
	a = v6("2001:db8::1", 80);
	assert_int_equal(policy_check_connect(&p, INS_SOCK_STREAM, &a), -ENETUNREACH);
}

/*
 * connect.mark: the SO_MARK the nftables rules key on; 0 turns kernel
 * enforcement off; absent, moat-ins picks one of the default range at start.
 */
static void
test_load_mark(void **state)
{
	struct cfg_error err;
	struct policy p;
	char *path;

	(void)state;
	policy_default(&p);
	assert_int_equal(p.mark, POLICY_MARK_BASE);
	assert_true(p.mark_auto);
	path = write_tmp("connect:\n  udp: false\n");
	assert_int_equal(policy_load(path, &p, &err), 0);
	assert_true(p.mark_auto);	/* a connect section without mark: still picked */
	path = write_tmp("connect:\n  mark: 4242\n");
	assert_int_equal(policy_load(path, &p, &err), 0);
	assert_int_equal(p.mark, 4242);
	assert_false(p.mark_auto);
	path = write_tmp("connect:\n  mark: 0\n");
	assert_int_equal(policy_load(path, &p, &err), 0);
	assert_int_equal(p.mark, 0);
	assert_false(p.mark_auto);
	path = write_tmp("connect:\n  mark: 4294967296\n");
	assert_int_equal(policy_load(path, &p, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "mark"));
	unlink(path);
}

/*
 * Users: ports below 1024 only for uid 0 or bind.privileged_users; with
 * clients listed, only those users/groups (and root) may use the broker;
 * names and numbers both work, unknown names are errors.
 */
static void
test_load_users(void **state)
{
	struct ins_addr low = v4("0.0.0.0", 80), high = v4("0.0.0.0", 8080);
	struct cfg_error err;
	struct policy p;
	char *path;

	(void)state;
	policy_default(&p);
	assert_int_equal(policy_check_bind(&p, &low, 0), 0);
	assert_int_equal(policy_check_bind(&p, &low, 65534), -EACCES);
	assert_int_equal(policy_check_bind(&p, &high, 65534), 0);
	assert_int_equal(policy_check_client(&p, 65534, 65534), 0);	/* no list: broker decides */
	path = write_tmp("bind:\n  privileged_users: [nobody, 1234]\n"
			 "clients:\n  users: [\"1234\"]\n  groups: [root]\n");
	assert_int_equal(policy_load(path, &p, &err), 0);
	assert_int_equal(policy_check_bind(&p, &low, 65534), 0);
	assert_int_equal(policy_check_bind(&p, &low, 1234), 0);
	assert_int_equal(policy_check_bind(&p, &low, 1000), -EACCES);
	assert_true(p.clients_set);
	assert_int_equal(policy_check_client(&p, 1234, 5), 0);
	assert_int_equal(policy_check_client(&p, 1000, 0), 0);		/* group root */
	assert_int_equal(policy_check_client(&p, 0, 5), 0);
	assert_int_equal(policy_check_client(&p, 1000, 5), -EACCES);
	unlink(path);
	path = write_tmp("clients:\n  users: [no-such-user-moat]\n");
	assert_int_equal(policy_load(path, &p, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "no such user"));
	unlink(path);
}

/*
 * policy_load_buffer (the fuzz entry) reads what policy_load reads: the same
 * values, the buffer's name in messages, an empty buffer keeps the defaults
 * and a refused one leaves the policy unchanged.
 */
static void
test_load_buffer(void **state)
{
	static const char text[] = "hold:\n  mode: data\n  max_conns_per_source: 7\n"
				   "connect:\n  allow: [2001:db8::/32]\n";
	static const char bad[] = "shed:\n  observe_ms: 50\n";
	struct policy p, before;
	struct cfg_error err;

	(void)state;
	policy_default(&p);
	memcpy(&before, &p, sizeof(before));
	assert_int_equal(policy_load_buffer("b.yaml", "", 0, &p, &err), 0);
	assert_memory_equal(&p, &before, sizeof(p));
	assert_int_equal(policy_load_buffer("b.yaml", text, strlen(text), &p, &err), 0);
	assert_int_equal(p.hold, POLICY_HOLD_DATA);
	assert_int_equal(p.max_conns_per_source, 7);
	assert_int_equal(p.nconnect, 1);
	assert_int_equal(p.connect_allow[0].family, INS_AF_INET6);
	memcpy(&before, &p, sizeof(before));
	assert_int_equal(policy_load_buffer("b.yaml", bad, strlen(bad), &p, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "b.yaml:2:"));
	assert_non_null(strstr(err.msg, "observe_ms"));
	assert_memory_equal(&p, &before, sizeof(p));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_prefixes),
		cmocka_unit_test(test_hold_names),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_load_sources_listeners_pause),
		cmocka_unit_test(test_load_mark),
		cmocka_unit_test(test_v4mapped),
		cmocka_unit_test(test_load_users),
		cmocka_unit_test(test_load_buffer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
