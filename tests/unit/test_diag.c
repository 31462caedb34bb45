/* Unit tests for ins/diag: parsing synthetic sock_diag replies, and a live dump. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ins/diag.h"

struct seen {
	int n;
	struct diag_sock last;
};

static void
collect(void *arg, const struct diag_sock *s)
{
	struct seen *x = arg;

	x->n++;
	x->last = *s;
}

/* Build nlmsghdr + inet_diag_msg + INET_DIAG_INFO(tcp_info) into buf; returns length. */
static size_t
build(uint8_t *buf, uint64_t bytes_received, size_t info_len)
{
	struct nlmsghdr h = { 0 };
	struct inet_diag_msg m = { 0 };
	struct nlattr na = { 0 };
	struct tcp_info ti = { 0 };
	size_t off = 0;

	m.idiag_family = AF_INET;
	m.idiag_state = 1;
	m.id.idiag_sport = htons(80);
	m.id.idiag_dport = htons(40000);
	inet_pton(AF_INET, "192.0.2.1", &m.id.idiag_src[0]);
	inet_pton(AF_INET, "192.0.2.9", &m.id.idiag_dst[0]);
	m.id.idiag_cookie[0] = 7;
	m.idiag_wqueue = 12;
	ti.tcpi_bytes_received = bytes_received;
	ti.tcpi_last_data_recv = 250;
	na.nla_type = INET_DIAG_INFO;
	na.nla_len = (uint16_t)(sizeof(na) + info_len);
	h.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	h.nlmsg_len = (uint32_t)(sizeof(h) + sizeof(m) + NLA_ALIGN(na.nla_len));
	memcpy(buf + off, &h, sizeof(h));
	off += sizeof(h);
	memcpy(buf + off, &m, sizeof(m));
	off += sizeof(m);
	memcpy(buf + off, &na, sizeof(na));
	off += sizeof(na);
	memcpy(buf + off, &ti, info_len);
	off += NLA_ALIGN(info_len);
	return off;
}

static void
test_parse_batch(void **state)
{
	uint8_t buf[4096];
	struct seen x = { 0 };
	size_t count = 0, len = build(buf, 12345, sizeof(struct tcp_info));
	struct nlmsghdr done = { .nlmsg_len = sizeof(done), .nlmsg_type = NLMSG_DONE };

	memcpy(buf + len, &done, sizeof(done));
	assert_int_equal(diag_parse_batch(buf, len + sizeof(done), 10, &count, collect, &x), 1);
	assert_int_equal(x.n, 1);
	assert_int_equal(x.last.local.port, 80);
	assert_int_equal(x.last.peer.port, 40000);
	assert_int_equal(x.last.bytes_received, 12345);
	assert_int_equal(x.last.last_data_recv_ms, 250);
	assert_int_equal(x.last.wqueue, 12);
	assert_int_equal(x.last.cookie, 7);
	assert_true(x.last.has_info);
}

static void
test_short_info_and_truncation(void **state)
{
	uint8_t buf[4096];
	struct seen x = { 0 };
	size_t count = 0, len = build(buf, 5, 8);	/* an old kernel's short tcp_info */

	assert_int_equal(diag_parse_batch(buf, len, 10, &count, collect, &x), 0);
	assert_int_equal(x.last.bytes_received, 0);	/* not present: zero */
	for (size_t cut = 1; cut < len; cut++) {
		count = 0;
		assert_true(diag_parse_batch(buf, cut, 10, &count, collect, &x) <= 0);
	}
	/* a lying attribute length */
	len = build(buf, 5, sizeof(struct tcp_info));
	((struct nlattr *)(buf + sizeof(struct nlmsghdr) + sizeof(struct inet_diag_msg)))->nla_len = 2;
	count = 0;
	assert_int_equal(diag_parse_batch(buf, len, 10, &count, collect, &x), -EPROTO);
}

static void
test_live_dump(void **state)
{
	struct diag *d;
	struct seen x = { 0 };
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int l, c, a, r;

	if (diag_open(&d) < 0)
		skip();
	l = socket(AF_INET, SOCK_STREAM, 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(l, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(l, 1), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)&sin, &len), 0);
	c = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(c, (struct sockaddr *)&sin, sizeof(sin)), 0);
	a = accept(l, NULL, NULL);
	assert_int_equal(write(c, "hello", 5), 5);
	usleep(10000);
	r = diag_dump(d, AF_INET, 100000, collect, &x);
	assert_true(r >= 2);	/* both ends of our connection at least */
	close(a);
	close(c);
	close(l);
	diag_close(d);
}

/* Our listener is in the LISTEN dump, by inode and port; a connected socket is not. */
struct find {
	uint64_t inode, other;
	uint16_t port;
	bool found, other_seen;
};

static void
find_inode(void *arg, const struct diag_sock *s)
{
	struct find *f = arg;

	if (s->inode == f->inode && s->local.port == f->port)
		f->found = true;
	if (s->inode == f->other)
		f->other_seen = true;
}

static void
test_listeners_dump(void **state)
{
	struct diag *d;
	struct find f = { 0 };
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	struct stat st;
	int l, c;

	if (diag_open(&d) < 0)
		skip();
	l = socket(AF_INET, SOCK_STREAM, 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(l, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(l, 1), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)&sin, &len), 0);
	assert_int_equal(fstat(l, &st), 0);
	f.inode = st.st_ino;
	f.port = ntohs(sin.sin_port);
	c = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(c, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(fstat(c, &st), 0);
	f.other = st.st_ino;
	assert_true(diag_dump_listeners(d, AF_INET, 100000, find_inode, &f) >= 1);
	assert_true(f.found);
	assert_false(f.other_seen);
	close(c);
	close(l);
	diag_close(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_batch),
		cmocka_unit_test(test_short_info_and_truncation),
		cmocka_unit_test(test_live_dump),
		cmocka_unit_test(test_listeners_dump),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
