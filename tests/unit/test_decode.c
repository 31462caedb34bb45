/* Unit tests for collect/decode: L2-L4 fields from golden frames (data/collect/gen.py). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <sys/socket.h>

#include "collect/decode.h"
#include "collect_test.h"

static int
decode_file(const char *name, enum decode_link link, struct flow_rec *r, size_t *ret_len)
{
	static uint8_t buf[2048];
	size_t n = ct_load(name, buf, sizeof(buf));
	struct cursor c = cur_init(buf, n);

	if (ret_len)
		*ret_len = n;
	return decode_packet(&c, link, r);
}

static void
assert_addr(const struct ipaddr *a, const char *s)
{
	struct ipaddr want = ct_addr(s);

	assert_true(ipaddr_equal(a, &want));
}

static void
test_qinq_tcp_syn_with_ip_options(void **state)
{
	struct flow_rec r;
	size_t n;

	assert_int_equal(decode_file("eth_qinq_tcp_syn.bin", DECODE_ETHER, &r, &n), 0);
	assert_addr(&r.src, "198.51.100.7");
	assert_addr(&r.dst, "192.0.2.10");
	assert_int_equal(r.proto, 6);
	assert_int_equal(r.sport, 40000);
	assert_int_equal(r.dport, 80);
	assert_int_equal(r.tcp_flags, 0x02);
	assert_int_equal(r.syns, 1);
	assert_int_equal(r.bytes, n - 14 - 8);	/* two VLAN tags */
	assert_int_equal(r.packets, 1);
	assert_int_equal(r.flags, FLOWREC_PACKET);
}

static void
test_ipv4_first_fragment_has_ports(void **state)
{
	struct flow_rec r;

	assert_int_equal(decode_file("ipv4_frag_first.bin", DECODE_RAW, &r, NULL), 0);
	assert_int_equal(r.proto, 17);
	assert_int_equal(r.sport, 53);
	assert_int_equal(r.dport, 33000);
	assert_true(r.flags & FLOWREC_FRAG);
	assert_true(r.flags & FLOWREC_FRAG_FIRST);
	assert_int_equal(r.bytes, 128);
}

static void
test_ipv4_later_fragment_has_no_ports(void **state)
{
	struct flow_rec r;

	assert_int_equal(decode_file("ipv4_frag_later.bin", DECODE_RAW, &r, NULL), 0);
	assert_int_equal(r.proto, 17);
	assert_int_equal(r.sport, 0);
	assert_int_equal(r.dport, 0);
	assert_true(r.flags & FLOWREC_FRAG);
	assert_false(r.flags & FLOWREC_FRAG_FIRST);
}

static void
test_ipv6_extension_headers_and_first_fragment(void **state)
{
	struct flow_rec r;

	assert_int_equal(decode_file("ipv6_ext_frag_udp.bin", DECODE_ETHER, &r, NULL), 0);
	assert_addr(&r.src, "2001:db8::1");
	assert_addr(&r.dst, "2001:db8:1::2");
	assert_int_equal(r.proto, 17);
	assert_int_equal(r.sport, 1234);
	assert_int_equal(r.dport, 4321);
	assert_true(r.flags & FLOWREC_FRAG_FIRST);
}

static void
test_ipv6_later_fragment(void **state)
{
	struct flow_rec r;

	assert_int_equal(decode_file("ipv6_frag_later.bin", DECODE_RAW, &r, NULL), 0);
	assert_int_equal(r.proto, 17);
	assert_int_equal(r.sport, 0);
	assert_true(r.flags & FLOWREC_FRAG);
	assert_false(r.flags & FLOWREC_FRAG_FIRST);
	assert_int_equal(r.bytes, 40 + 8 + 24);
}

static void
test_icmp_type_code(void **state)
{
	struct flow_rec r;

	assert_int_equal(decode_file("icmp_unreach.bin", DECODE_ETHER, &r, NULL), 0);
	assert_int_equal(r.proto, 1);
	assert_int_equal(r.dport, 3 << 8 | 1);
	assert_int_equal(decode_file("icmpv6_echo.bin", DECODE_RAW, &r, NULL), 0);
	assert_int_equal(r.proto, 58);
	assert_int_equal(r.dport, 128 << 8);
}

static void
test_non_ip_is_enoent(void **state)
{
	struct flow_rec r;

	assert_int_equal(decode_file("arp.bin", DECODE_ETHER, &r, NULL), -ENOENT);
}

static void
test_ethernet_padding_not_counted(void **state)
{
	struct flow_rec r;

	assert_int_equal(decode_file("eth_padded_udp.bin", DECODE_ETHER, &r, NULL), 0);
	assert_int_equal(r.bytes, 28);
	assert_int_equal(r.dport, 9);
}

/* Every truncation of every frame decodes or fails cleanly; the IP header
   cut short is an error, an L4 header cut short only loses the ports. */
static void
test_truncations(void **state)
{
	static const char *const files[] = { "eth_qinq_tcp_syn.bin", "ipv6_ext_frag_udp.bin",
		"icmp_unreach.bin" };
	uint8_t buf[2048];

	for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
		size_t n = ct_load(files[f], buf, sizeof(buf));

		for (size_t len = 0; len < n; len++) {
			struct cursor c = cur_init(buf, len);
			struct flow_rec r;
			int err = decode_packet(&c, DECODE_ETHER, &r);

			assert_true(err == 0 || err == -EINVAL || err == -ENOENT);
		}
	}
	/* IPv4 header cut at 19 bytes: malformed. */
	{
		size_t n = ct_load("ipv4_frag_first.bin", buf, sizeof(buf));
		struct cursor c = cur_init(buf, 19);
		struct flow_rec r;

		assert_true(n > 19);
		assert_int_equal(decode_packet(&c, DECODE_RAW, &r), -EINVAL);
		c = cur_init(buf, 22);	/* 2 bytes of UDP: no ports, still counted */
		assert_int_equal(decode_packet(&c, DECODE_RAW, &r), 0);
		assert_int_equal(r.sport, 0);
		assert_int_equal(r.bytes, 128);
	}
}

static void
test_bad_ihl_rejected(void **state)
{
	uint8_t buf[2048];
	size_t n = ct_load("ipv4_frag_first.bin", buf, sizeof(buf));
	struct cursor c;
	struct flow_rec r;

	buf[0] = 0x44;	/* IHL 4 words < 20 bytes */
	c = cur_init(buf, n);
	assert_int_equal(decode_packet(&c, DECODE_RAW, &r), -EINVAL);
	buf[0] = 0x4f;	/* 60-byte header, but total length says 128: fine; say 40 */
	buf[2] = 0;
	buf[3] = 40;
	c = cur_init(buf, n);
	assert_int_equal(decode_packet(&c, DECODE_RAW, &r), -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qinq_tcp_syn_with_ip_options),
		cmocka_unit_test(test_ipv4_first_fragment_has_ports),
		cmocka_unit_test(test_ipv4_later_fragment_has_no_ports),
		cmocka_unit_test(test_ipv6_extension_headers_and_first_fragment),
		cmocka_unit_test(test_ipv6_later_fragment),
		cmocka_unit_test(test_icmp_type_code),
		cmocka_unit_test(test_non_ip_is_enoent),
		cmocka_unit_test(test_ethernet_padding_not_counted),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_bad_ihl_rejected),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
