/* Unit tests for ins/insproto: round trips, and rejection of every malformed shape. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <string.h>

#include "proto/insproto.h"

static struct ins_msg
roundtrip(const struct ins_msg *m, size_t nfds)
{
	uint8_t buf[INS_MSG_MAX];
	struct ins_msg out;
	int n = insproto_encode(m, buf, sizeof(buf));

	assert_true(n >= (int)INS_HDR_LEN);
	assert_int_equal(insproto_decode(buf, (size_t)n, nfds, &out), 0);
	assert_int_equal(out.type, m->type);
	assert_int_equal(out.id, m->id);
	return out;
}

static void
test_socket_roundtrip(void **state)
{
	struct ins_msg m = { .type = INS_SOCKET, .id = 7, .family = INS_AF_INET6,
			     .socktype = INS_SOCK_DGRAM, .flags = INS_SF_NONBLOCK, .protocol = 17 };
	struct ins_msg o = roundtrip(&m, 0);

	assert_int_equal(o.family, INS_AF_INET6);
	assert_int_equal(o.socktype, INS_SOCK_DGRAM);
	assert_int_equal(o.flags, INS_SF_NONBLOCK);
	assert_int_equal(o.protocol, 17);
}

static void
test_reply_fd_rules(void **state)
{
	struct ins_msg ok = { .type = INS_SOCKET | INS_REPLY, .id = 1, .status = 0 };
	struct ins_msg bad = { .type = INS_SOCKET | INS_REPLY, .id = 1, .status = EACCES };
	uint8_t buf[INS_MSG_MAX];
	struct ins_msg out;
	int n;

	n = insproto_encode(&ok, buf, sizeof(buf));
	assert_int_equal(insproto_decode(buf, (size_t)n, 1, &out), 0);
	assert_int_equal(insproto_decode(buf, (size_t)n, 0, &out), -EPROTO);
	n = insproto_encode(&bad, buf, sizeof(buf));
	assert_int_equal(insproto_decode(buf, (size_t)n, 0, &out), 0);
	assert_int_equal(out.status, EACCES);
	assert_int_equal(insproto_decode(buf, (size_t)n, 1, &out), -EPROTO);
}

static void
test_conn_roundtrip(void **state)
{
	struct ins_msg m = { .type = INS_CONN, .id = 0, .conn_id = 0x0102030405060708ull };
	struct ins_msg o;

	m.addr.family = INS_AF_INET;
	m.addr.port = 8080;
	inet_pton(AF_INET, "192.0.2.7", m.addr.addr);
	m.addr2.family = INS_AF_INET6;
	m.addr2.port = 80;
	inet_pton(AF_INET6, "2001:db8::1", m.addr2.addr);
	o = roundtrip(&m, 1);
	assert_int_equal(o.conn_id, 0x0102030405060708ull);
	assert_memory_equal(&o.addr, &m.addr, sizeof(m.addr));
	assert_memory_equal(&o.addr2, &m.addr2, sizeof(m.addr2));
}

static void
test_resolve_roundtrip(void **state)
{
	struct ins_msg m = { .type = INS_RESOLVE, .id = 3, .family = 0, .ai_flags = 0x20 };
	struct ins_msg r = { .type = INS_RESOLVE | INS_REPLY, .id = 3, .naddrs = INS_RESOLVE_MAX };
	struct ins_msg o;

	strcpy(m.name, "www.example.test");
	strcpy(m.service, "http");
	o = roundtrip(&m, 0);
	assert_string_equal(o.name, "www.example.test");
	assert_string_equal(o.service, "http");
	for (unsigned i = 0; i < INS_RESOLVE_MAX; i++) {
		r.addrs[i].family = INS_AF_INET;
		r.addrs[i].port = (uint16_t)i;
	}
	o = roundtrip(&r, 0);
	assert_int_equal(o.naddrs, INS_RESOLVE_MAX);
	assert_int_equal(o.addrs[INS_RESOLVE_MAX - 1].port, INS_RESOLVE_MAX - 1);
}

/* RESOLVE reply ext: canonical name and per-entry type/protocol; optional, checked. */
static void
test_resolve_ext(void **state)
{
	struct ins_msg r = { .type = INS_RESOLVE | INS_REPLY, .id = 5, .naddrs = INS_RESOLVE_MAX,
			     .has_ext = true };
	struct ins_msg o;
	uint8_t buf[INS_MSG_MAX];
	int n, plain;

	memset(r.canon, 'a', INS_NAME_MAX);	/* the longest name: the largest message */
	for (unsigned i = 0; i < INS_RESOLVE_MAX; i++) {
		r.addrs[i].family = INS_AF_INET6;
		r.ai_socktype[i] = (uint8_t)(INS_SOCK_STREAM + i % 3);
		r.ai_protocol[i] = i % 3 == 0 ? 6 : i % 3 == 1 ? 17 : 0;
	}
	o = roundtrip(&r, 0);
	assert_true(o.has_ext);
	assert_int_equal(strlen(o.canon), INS_NAME_MAX);
	assert_int_equal(o.ai_socktype[2], INS_SOCK_RAW);
	assert_int_equal(o.ai_protocol[1], 17);
	/* Without ext: the format of before, which a shim of before reads (<= 512 bytes). */
	r.has_ext = false;
	plain = insproto_encode(&r, buf, sizeof(buf));
	assert_true(plain > 0 && plain <= 512);
	assert_int_equal(insproto_decode(buf, (size_t)plain, 0, &o), 0);
	assert_false(o.has_ext);
	/* A type outside STREAM/DGRAM/RAW is refused both ways. */
	r.has_ext = true;
	r.canon[0] = '\0';
	n = insproto_encode(&r, buf, sizeof(buf));
	assert_true(n > plain);
	buf[n - 2] = 9;		/* the last entry's socktype */
	assert_int_equal(insproto_decode(buf, (size_t)n, 0, &o), -EPROTO);
	assert_int_equal(insproto_decode(buf, (size_t)n - 1, 0, &o), -EPROTO);	/* short */
	r.ai_socktype[0] = 0;
	assert_int_equal(insproto_encode(&r, buf, sizeof(buf)), -EMSGSIZE);
}

static void
test_deny_roundtrip(void **state)
{
	struct ins_msg m = { .type = INS_DENY, .id = 4, .seconds = 600 };
	struct ins_msg o;

	m.addr.family = INS_AF_INET;
	inet_pton(AF_INET, "198.51.100.3", m.addr.addr);
	o = roundtrip(&m, 0);
	assert_int_equal(o.seconds, 600);
	assert_memory_equal(&o.addr, &m.addr, sizeof(m.addr));
}

static void
test_name_too_long(void **state)
{
	struct ins_msg m = { .type = INS_RESOLVE };
	uint8_t buf[INS_MSG_MAX];

	memset(m.name, 'a', INS_NAME_MAX);
	m.name[INS_NAME_MAX] = '\0';
	assert_true(insproto_encode(&m, buf, sizeof(buf)) > 0);
	memset(m.service, 's', INS_SERVICE_MAX);
	assert_true(insproto_encode(&m, buf, sizeof(buf)) > 0);
	assert_int_equal(insproto_encode(&m, buf, 20), -EMSGSIZE);
}

static void
test_malformed(void **state)
{
	struct ins_msg m = { .type = INS_BIND, .id = 9 }, out;
	uint8_t buf[INS_MSG_MAX];
	int n;

	m.addr.family = INS_AF_INET;
	n = insproto_encode(&m, buf, sizeof(buf));
	assert_int_equal(insproto_decode(buf, (size_t)n, 1, &out), 0);
	/* every truncation fails */
	for (int i = 0; i < n; i++)
		assert_int_equal(insproto_decode(buf, (size_t)i, 1, &out), -EPROTO);
	/* trailing garbage */
	buf[n] = 0;
	assert_int_equal(insproto_decode(buf, (size_t)n + 1, 1, &out), -EPROTO);
	/* missing descriptor */
	assert_int_equal(insproto_decode(buf, (size_t)n, 0, &out), -EPROTO);
	/* bad address family */
	buf[INS_HDR_LEN] = 5;
	assert_int_equal(insproto_decode(buf, (size_t)n, 1, &out), -EPROTO);
	buf[INS_HDR_LEN] = INS_AF_INET;
	/* version and magic */
	buf[2] = INS_VERSION + 1;
	assert_int_equal(insproto_decode(buf, (size_t)n, 1, &out), -EPROTONOSUPPORT);
	buf[2] = INS_VERSION;
	buf[0] ^= 0xff;
	assert_int_equal(insproto_decode(buf, (size_t)n, 1, &out), -EPROTO);
	buf[0] ^= 0xff;
	/* unknown types */
	buf[3] = 0;
	assert_int_equal(insproto_decode(buf, (size_t)n, 1, &out), -EPROTO);
	buf[3] = INS_TYPE_MAX + 1;
	assert_int_equal(insproto_decode(buf, (size_t)n, 1, &out), -EPROTO);
}

static void
test_socket_flags_checked(void **state)
{
	struct ins_msg m = { .type = INS_SOCKET, .flags = INS_SF_ALL }, out;
	uint8_t buf[INS_MSG_MAX];
	int n = insproto_encode(&m, buf, sizeof(buf));

	assert_int_equal(insproto_decode(buf, (size_t)n, 0, &out), 0);
	buf[INS_HDR_LEN + 2] = 0x80;
	assert_int_equal(insproto_decode(buf, (size_t)n, 0, &out), -EPROTO);
}

static void
test_embedded_nul(void **state)
{
	struct ins_msg m = { .type = INS_RESOLVE }, out;
	uint8_t buf[INS_MSG_MAX];
	int n;

	strcpy(m.name, "ab");
	n = insproto_encode(&m, buf, sizeof(buf));
	/* name bytes follow family, socktype, flags(4) and the length byte */
	buf[INS_HDR_LEN + 1 + 1 + 4 + 1] = 0;
	assert_int_equal(insproto_decode(buf, (size_t)n, 0, &out), -EPROTO);
}

static void
test_sockaddr_conversion(void **state)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(443),
				     .sin6_scope_id = 2 };
	struct sockaddr_storage ss;
	struct ins_addr a = { 0 };

	inet_pton(AF_INET6, "2001:db8::5", &sin6.sin6_addr);
	assert_int_equal(insproto_addr_from_sa((struct sockaddr *)&sin6, sizeof(sin6), &a), 0);
	assert_int_equal(a.port, 443);
	assert_int_equal(a.scope_id, 2);
	assert_int_equal(insproto_addr_to_sa(&a, &ss), sizeof(sin6));
	assert_memory_equal(&ss, &sin6, sizeof(sin6));
	assert_int_equal(insproto_addr_from_sa((struct sockaddr *)&sin6, 8, &a), -EINVAL);
	sin6.sin6_family = AF_UNIX;
	assert_int_equal(insproto_addr_from_sa((struct sockaddr *)&sin6, sizeof(sin6), &a),
			 -EAFNOSUPPORT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_socket_roundtrip),
		cmocka_unit_test(test_reply_fd_rules),
		cmocka_unit_test(test_conn_roundtrip),
		cmocka_unit_test(test_resolve_roundtrip),
		cmocka_unit_test(test_deny_roundtrip),
		cmocka_unit_test(test_name_too_long),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_socket_flags_checked),
		cmocka_unit_test(test_embedded_nul),
		cmocka_unit_test(test_resolve_ext),
		cmocka_unit_test(test_sockaddr_conversion),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
