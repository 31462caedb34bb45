/* Unit tests for ins/insipfix: templates and records agree, messages are well formed. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/cursor.h"
#include "ins/insipfix.h"

static struct insipfix_rec
sample(uint8_t family)
{
	struct insipfix_rec r = {
		.event = INSIE_CLOSE, .tcp_flags = 1, .end_reason = 3, .conn_id = 77,
		.start_ms = 1700000000000ull, .end_ms = 1700000001000ull, .in_delta = 1234,
		.pkts_delta = 5, .in_total = 1234, .out_total = 99999, .rtt_us = 150,
	};

	r.peer.family = r.local.family = family;
	r.peer.port = 40000;
	r.local.port = 80;
	if (family == INS_AF_INET) {
		inet_pton(AF_INET, "192.0.2.9", r.peer.addr);
		inet_pton(AF_INET, "192.0.2.1", r.local.addr);
	} else {
		inet_pton(AF_INET6, "2001:db8::9", r.peer.addr);
		inet_pton(AF_INET6, "2001:db8::1", r.local.addr);
	}
	return r;
}

/* Sum of field lengths of template `want` in a template set; 0 if absent. */
static size_t
template_record_len(const uint8_t *buf, size_t len, uint16_t want)
{
	struct cursor c = cur_init(buf, len), set = { 0 };
	uint16_t id = 0, slen = 0;

	assert_true(cur_be16(&c, &id) && cur_be16(&c, &slen));
	assert_int_equal(id, 2);
	assert_int_equal(slen, len);
	assert_true(cur_sub(&c, slen - 4, &set));
	while (!cur_empty(&set)) {
		uint16_t tid = 0, n = 0, total = 0;

		assert_true(cur_be16(&set, &tid) && cur_be16(&set, &n));
		for (uint16_t i = 0; i < n; i++) {
			uint16_t ie = 0, flen = 0;
			uint32_t pen = 0;

			assert_true(cur_be16(&set, &ie) && cur_be16(&set, &flen));
			if (ie & 0x8000) {
				assert_true(cur_be32(&set, &pen));
				assert_int_equal(pen, INSIE_PEN);
			}
			total += flen;
		}
		if (tid == want)
			return total;
	}
	return 0;
}

static void
test_template_matches_record(void **state)
{
	uint8_t t[1400], rec[256];
	size_t tl = insipfix_encode_templates(t, sizeof(t));
	struct insipfix_rec r4 = sample(INS_AF_INET), r6 = sample(INS_AF_INET6);

	assert_true(tl > 0);
	assert_int_equal(template_record_len(t, tl, INSIPFIX_TMPL_V4),
			 insipfix_encode_record(&r4, rec, sizeof(rec)));
	assert_int_equal(template_record_len(t, tl, INSIPFIX_TMPL_V6),
			 insipfix_encode_record(&r6, rec, sizeof(rec)));
	assert_int_equal(insipfix_encode_templates(t, 10), 0);
	assert_int_equal(insipfix_encode_record(&r4, rec, 10), 0);
	r4.local.family = INS_AF_INET6;	/* mixed families cannot be one record */
	assert_int_equal(insipfix_encode_record(&r4, rec, sizeof(rec)), 0);
}

static void
test_export_datagram(void **state)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sin);
	struct insipfix *x;
	struct insipfix_rec r = sample(INS_AF_INET), r6;
	uint8_t buf[2048], rec6[INSIPFIX_REC_MAX];
	char dest[64];
	struct cursor c;
	uint16_t ver = 0, len = 0, sid = 0, slen = 0;
	uint32_t t = 0, seq = 0, dom = 0;
	bool saw_tmpl = false, saw_data = false;
	ssize_t n;
	uint64_t sent, errs;
	int u = socket(AF_INET, SOCK_DGRAM, 0);

	assert_int_equal(bind(u, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(u, (struct sockaddr *)&sin, &sl), 0);
	snprintf(dest, sizeof(dest), "127.0.0.1:%u", ntohs(sin.sin_port));
	assert_int_equal(insipfix_open(&x, dest, 42), 0);
	insipfix_add(x, &r, 1700000000);
	insipfix_add(x, &r, 1700000000);
	insipfix_flush(x, 1700000000);
	insipfix_counts(x, &sent, &errs);
	assert_int_equal(sent, 1);
	n = recv(u, buf, sizeof(buf), 0);
	assert_true(n > 16);
	c = cur_init(buf, (size_t)n);
	assert_true(cur_be16(&c, &ver) && cur_be16(&c, &len) && cur_be32(&c, &t) &&
		    cur_be32(&c, &seq) && cur_be32(&c, &dom));
	assert_int_equal(ver, 10);
	assert_int_equal(len, n);
	assert_int_equal(seq, 0);
	assert_int_equal(dom, 42);
	while (!cur_empty(&c)) {
		struct cursor set = { 0 };

		assert_true(cur_be16(&c, &sid) && cur_be16(&c, &slen) && slen >= 4);
		assert_true(cur_sub(&c, slen - 4u, &set));
		saw_tmpl |= sid == 2;
		if (sid == INSIPFIX_TMPL_V4) {
			saw_data = true;
			assert_int_equal(cur_left(&set) % 2, 0);	/* two equal records */
		}
	}
	assert_true(saw_tmpl && saw_data);
	/* the next message's sequence counts the two records; an IPv6 record
	 * (the largest) is exported too, in its own set */
	insipfix_add(x, &r, 1700000001);
	r6 = sample(INS_AF_INET6);
	insipfix_add(x, &r6, 1700000001);
	insipfix_flush(x, 1700000001);
	n = recv(u, buf, sizeof(buf), 0);
	c = cur_init(buf, (size_t)n);
	assert_true(cur_skip(&c, 8) && cur_be32(&c, &seq));
	assert_int_equal(seq, 2);
	assert_true(cur_skip(&c, 4));
	saw_data = false;
	while (!cur_empty(&c)) {
		struct cursor set = { 0 };

		assert_true(cur_be16(&c, &sid) && cur_be16(&c, &slen) && slen >= 4);
		assert_true(cur_sub(&c, slen - 4u, &set));
		if (sid == INSIPFIX_TMPL_V6) {
			saw_data = true;
			assert_int_equal(cur_left(&set), insipfix_encode_record(&r6, rec6, sizeof(rec6)));
		}
	}
	assert_true(saw_data);
	insipfix_close(x);
	close(u);
	assert_int_equal(insipfix_open(&x, "nonsense", 1), -EINVAL);
	assert_int_equal(insipfix_open(&x, "[::1", 1), -EINVAL);
	assert_int_equal(insipfix_open(&x, "192.0.2.1:0", 1), -EINVAL);
	assert_int_equal(insipfix_open(&x, "[::1]:4739", 1), 0);
	insipfix_close(x);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_template_matches_record),
		cmocka_unit_test(test_export_datagram),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
