/* Unit tests for src/chaff/frame.c: decoding and the drops real stacks make. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "chaff/emit.h"
#include "chaff/frame.h"

static const uint8_t mac_a[6] = { 2, 0, 0, 0, 0, 1 };
static const uint8_t mac_b[6] = { 2, 0, 0, 0, 0, 2 };

static size_t
tcp_frame(uint8_t *buf, uint8_t flags, const uint8_t *opt, size_t opt_len)
{
	uint8_t seg[128];
	struct emit_tcp t = { .sport = 40000, .dport = 22, .seq = 1000, .ack = 0,
			      .flags = flags, .win = 1024, .opt = opt, .opt_len = opt_len };
	struct emit_ip ip = { .src = 0xc6336401, .dst = 0xc6336411, .ttl = 64, .proto = 6 };
	size_t n = emit_tcp(seg, sizeof(seg), &t);

	return emit_ipv4(buf, EMIT_FRAME_MAX, mac_b, mac_a, &ip, seg, n);
}

static void
test_tcp_roundtrip(void **state)
{
	uint8_t buf[EMIT_FRAME_MAX], opt[20];
	struct frame f;
	struct frame_tcpopt o;
	int olen = emit_tcp_options("M5B4ST11NW7", 77, 0, opt, sizeof(opt));
	size_t n;

	assert_int_equal(olen, 20);
	n = tcp_frame(buf, FRAME_TCP_SYN, opt, (size_t)olen);
	assert_int_equal(frame_parse(buf, n, &f), 0);
	assert_int_equal(f.kind, FRAME_TCP);
	assert_int_equal(f.ip.src, 0xc6336401);
	assert_int_equal(f.tcp.dport, 22);
	assert_int_equal(f.tcp.flags, FRAME_TCP_SYN);
	assert_int_equal(f.tcp.doff, 40);
	assert_true(frame_l4_csum_ok(&f));
	frame_tcp_options(&f.tcp, &o);
	assert_true(o.mss_present && o.sack_ok && o.ts_present && o.ws_present);
	assert_int_equal(o.mss, 0x5b4);
	assert_int_equal(o.ws, 7);
	assert_int_equal(o.tsval, 77);
	assert_int_equal(o.first_kind, 2);
}

static void
test_bad_checksums(void **state)
{
	uint8_t buf[EMIT_FRAME_MAX];
	struct frame f;
	size_t n = tcp_frame(buf, FRAME_TCP_SYN, NULL, 0);

	buf[14 + 20 + 16] ^= 0x55;	/* TCP checksum */
	assert_int_equal(frame_parse(buf, n, &f), 0);
	assert_false(frame_l4_csum_ok(&f));
	buf[14 + 10] ^= 0x55;		/* IP header checksum: the frame is dropped */
	assert_int_equal(frame_parse(buf, n, &f), -EINVAL);
}

static void
test_ip_lengths(void **state)
{
	uint8_t buf[EMIT_FRAME_MAX];
	struct frame f;
	size_t n = tcp_frame(buf, FRAME_TCP_SYN, NULL, 0);

	/* Truncated frame: total length past the end. */
	assert_int_equal(frame_parse(buf, 14 + 30, &f), -EINVAL);
	/* Header length under 20. */
	buf[14] = 0x44;
	assert_int_equal(frame_parse(buf, n, &f), -EINVAL);
	/* Not IPv4. */
	buf[14] = 0x65;
	assert_int_equal(frame_parse(buf, n, &f), -EINVAL);
	/* Too short for Ethernet. */
	assert_int_equal(frame_parse(buf, 13, &f), -EINVAL);
}

static void
test_arp(void **state)
{
	uint8_t buf[EMIT_FRAME_MAX];
	struct frame f;
	size_t n = emit_arp(buf, sizeof(buf), mac_b, 1, mac_a, 0xc6336401, mac_b, 0xc6336411);

	assert_int_equal(frame_parse(buf, n, &f), 0);
	assert_int_equal(f.kind, FRAME_ARP);
	assert_int_equal(f.arp.op, 1);
	assert_int_equal(f.arp.tpa, 0xc6336411);
	assert_memory_equal(f.arp.sha, mac_a, 6);
	/* Malformed like real stacks ignore: hardware length 7, protocol IPv6. */
	buf[18] = 7;
	assert_int_equal(frame_parse(buf, n, &f), -EINVAL);
	buf[18] = 6;
	buf[16] = 0x86;
	assert_int_equal(frame_parse(buf, n, &f), -EINVAL);
	buf[16] = 0x08;
	buf[21] = 9;	/* opcode 9 */
	assert_int_equal(frame_parse(buf, n, &f), -EINVAL);
}

static void
test_fragment_and_udp(void **state)
{
	uint8_t buf[EMIT_FRAME_MAX], udp[8 + 4] = { 0x30, 0x39, 0, 53, 0, 12, 0, 0, 'a', 'b', 'c', 'd' };
	struct emit_ip ip = { .src = 1, .dst = 2, .ttl = 64, .proto = 17 };
	struct frame f;
	size_t n = emit_ipv4(buf, sizeof(buf), mac_b, mac_a, &ip, udp, sizeof(udp));

	assert_int_equal(frame_parse(buf, n, &f), 0);
	assert_int_equal(f.kind, FRAME_UDP);
	assert_int_equal(f.udp.dport, 53);
	assert_int_equal(f.udp.data_len, 4);
	assert_true(frame_l4_csum_ok(&f));
	/* Mark it a first fragment: reported, not decoded. */
	buf[14 + 6] = 0x20;
	buf[14 + 10] = buf[14 + 11] = 0;
	{
		uint16_t c = frame_csum_fold(frame_csum_add(0, buf + 14, 20));

		buf[14 + 10] = (uint8_t)(c >> 8);
		buf[14 + 11] = (uint8_t)c;
	}
	assert_int_equal(frame_parse(buf, n, &f), 0);
	assert_int_equal(f.kind, FRAME_IP_FRAG);
	/* UDP length longer than the datagram. */
	udp[5] = 40;
	buf[14 + 6] = 0;
	n = emit_ipv4(buf, sizeof(buf), mac_b, mac_a, &ip, udp, sizeof(udp));
	assert_int_equal(frame_parse(buf, n, &f), -EINVAL);
}

static void
test_options_malformed(void **state)
{
	/* MSS with a length running past the options ends the walk safely. */
	uint8_t opt[4] = { 2, 9, 5, 0xb4 };
	struct frame_tcp t = { .opt = opt, .opt_len = sizeof(opt) };
	struct frame_tcpopt o;

	frame_tcp_options(&t, &o);
	assert_false(o.mss_present);
	opt[1] = 1;	/* length below 2 */
	frame_tcp_options(&t, &o);
	assert_false(o.mss_present);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcp_roundtrip),
		cmocka_unit_test(test_bad_checksums),
		cmocka_unit_test(test_ip_lengths),
		cmocka_unit_test(test_arp),
		cmocka_unit_test(test_fragment_and_udp),
		cmocka_unit_test(test_options_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
