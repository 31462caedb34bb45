/* Unit tests for src/chaff/post.c: URL and status parsing, one real POST over loopback. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "chaff/post.h"
#include "common/limits.h"

static void
test_urls(void **state)
{
	struct post p;

	assert_int_equal(post_init(&p, "http://127.0.0.1:8080/api/v1/alarms", "tok"), 0);
	assert_string_equal(p.path, "/api/v1/alarms");
	assert_string_equal(p.host, "127.0.0.1:8080");
	assert_int_equal(ntohs(((struct sockaddr_in *)&p.addr)->sin_port), 8080);
	post_free(&p);
	assert_int_equal(post_init(&p, "http://[2001:db8::1]:9/x", NULL), 0);
	assert_int_equal(p.addr.ss_family, AF_INET6);
	post_free(&p);
	assert_int_equal(post_init(&p, "http://moatd.example:80/x", NULL), -EINVAL);
	assert_int_equal(post_init(&p, "https://127.0.0.1/x", NULL), -EINVAL);
	assert_int_equal(post_init(&p, "http://127.0.0.1:0/x", NULL), -EINVAL);
	assert_int_equal(post_init(&p, "http://127.0.0.1:99999/x", NULL), -EINVAL);
}

static void
test_status(void **state)
{
	int code;

	assert_int_equal(post_parse_status("HTTP/1.1 201 Created\r\n", 22, &code), 0);
	assert_int_equal(code, 201);
	assert_int_equal(post_parse_status("HTTP/1.1 2x1", 12, &code), -EINVAL);
	assert_int_equal(post_parse_status("SSH-2.0-x", 9, &code), -EINVAL);
}

static void
test_post_roundtrip(void **state)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sin);
	char url[64], req[2048] = "";
	size_t got = 0;
	struct post p;
	int lfd, cfd;

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(lfd, 4), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sin, &len), 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/api/v1/alarms", ntohs(sin.sin_port));
	assert_int_equal(post_init(&p, url, "s3cr3t"), 0);
	assert_int_equal(post_start(&p), 0);
	post_enqueue(&p, 0xc6336401u, "{\"kind\":\"arp\"}");
	cfd = accept(lfd, NULL, NULL);
	assert_true(cfd >= 0);
	while (got < sizeof(req) - 1 && !strstr(req, "{\"kind\":\"arp\"}")) {
		ssize_t n = read(cfd, req + got, sizeof(req) - 1 - got);

		if (n <= 0)
			break;
		got += (size_t)n;
		req[got] = '\0';
	}
	assert_non_null(strstr(req, "POST /api/v1/alarms HTTP/1.1\r\n"));
	assert_non_null(strstr(req, "Authorization: Bearer s3cr3t\r\n"));
	assert_non_null(strstr(req, "Content-Length: 14\r\n"));
	assert_int_equal(write(cfd, "HTTP/1.1 201 Created\r\n\r\n", 24), 24);
	close(cfd);
	post_free(&p);	/* joins the worker: the response was read by then */
	assert_int_equal(p.sent, 1);
	assert_int_equal(p.failed, 0);
	close(lfd);
}

/* A flood from one source keeps everyone's first report and its own first and newest. */
static void
test_queue_keeps_first_per_source(void **state)
{
	struct post p;
	char buf[64];
	bool b_kept = false, a_first = false, a_last = false;

	(void)state;
	assert_int_equal(post_init(&p, "http://127.0.0.1:9/api/v1/alarms", NULL), 0);
	post_enqueue(&p, 1, "A0");
	post_enqueue(&p, 2, "B0");
	for (unsigned i = 1; i <= 3 * LIMIT_CHAFF_POST_QUEUE; i++) {
		snprintf(buf, sizeof(buf), "A%u", i);
		post_enqueue(&p, 1, buf);
	}
	snprintf(buf, sizeof(buf), "A%u", 3 * LIMIT_CHAFF_POST_QUEUE);
	assert_int_equal(p.count, LIMIT_CHAFF_POST_QUEUE);
	assert_true(p.dropped > 0);
	for (size_t i = 0; i < p.count; i++) {
		const char *q = p.queue[(p.head + i) % LIMIT_CHAFF_POST_QUEUE];

		b_kept |= strcmp(q, "B0") == 0;
		a_first |= strcmp(q, "A0") == 0;
		a_last |= strcmp(q, buf) == 0;
	}
	assert_true(b_kept);
	assert_true(a_first);
	assert_true(a_last);
	post_free(&p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_urls),
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_post_roundtrip),
		cmocka_unit_test(test_queue_keeps_first_per_source),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
