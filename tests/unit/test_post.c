/* Unit tests for src/chaff/post.c: URL and status parsing, one real POST over loopback. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "chaff/post.h"

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
	post_enqueue(&p, "{\"kind\":\"arp\"}");
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_urls),
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_post_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
