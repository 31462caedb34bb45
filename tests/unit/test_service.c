/* Unit tests for src/chaff/service.c: greetings, recorded credentials, caps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "chaff/service.h"

struct rec {
	size_t n;
	struct respond_contact last;
	char user[64], pass[64], detail[128];
};

static void
on_report(void *arg, const struct respond_contact *c)
{
	struct rec *r = arg;

	r->n++;
	r->last = *c;
	snprintf(r->user, sizeof(r->user), "%s", c->user ? c->user : "");
	snprintf(r->pass, sizeof(r->pass), "%s", c->pass ? c->pass : "");
	snprintf(r->detail, sizeof(r->detail), "%s", c->detail ? c->detail : "");
}

struct fixture {
	struct service_ctx s;
	struct persona p;
	struct decoy d;
	struct rec rec;
	uint8_t out[4096];
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->p.svc = persona_preset_find("linux-5.4")->svc;
	assert_int_equal(service_init(&f->s, 32, &f->p, 1), 0);
	f->s.report = on_report;
	f->s.report_arg = &f->rec;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	service_free(&f->s);
	free(f);
	return 0;
}

static size_t
feed(struct fixture *f, struct conn *c, const char *s, bool *close)
{
	*close = false;
	memset(f->out, 0, sizeof(f->out));
	return service_data(&f->s, c, &f->d, (const uint8_t *)s, strlen(s), f->out,
			    sizeof(f->out) - 1, close);
}

static void
test_http(void **state)
{
	struct fixture *f = *state;
	struct conn c = { .saddr = 1, .daddr = 2, .dport = 80, .session = -1 };
	bool close;

	assert_int_equal(service_open(&f->s, &c, &f->d, f->out, sizeof(f->out)), 0);
	assert_int_equal(feed(f, &c, "GET /admin HTTP/1.1\r\nHost: x\r\n", &close), 0);
	assert_string_equal(f->rec.detail, "GET /admin HTTP/1.1");
	/* Another path: the server's own 404 page; HTTP/1.1 keeps the connection. */
	assert_true(feed(f, &c, "\r\n", &close) > 0);
	assert_false(close);
	assert_non_null(strstr((char *)f->out, "HTTP/1.1 404 Not Found\r\n"));
	assert_non_null(strstr((char *)f->out, "Server: nginx/1.18.0 (Ubuntu)\r\n"));
	assert_non_null(strstr((char *)f->out, "\r\nDate: "));
	assert_non_null(strstr((char *)f->out, "Connection: keep-alive\r\n"));
	assert_non_null(strstr((char *)f->out, "<center>nginx/1.18.0 (Ubuntu)</center>"));
	/* The root: nginx 1.18's 612-byte default page with a static file's
	   headers in nginx's order. The 404 had no validators. */
	assert_null(strstr((char *)f->out, "ETag: "));
	assert_true(feed(f, &c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", &close) > 0);
	assert_non_null(strstr((char *)f->out, "HTTP/1.1 200 OK\r\n"));
	assert_non_null(strstr((char *)f->out, "<title>Welcome to nginx!</title>"));
	assert_non_null(strstr((char *)f->out, "Content-Length: 612\r\nLast-Modified: "));
	assert_non_null(strstr((char *)f->out, " GMT\r\nConnection: keep-alive\r\nETag: \""));
	assert_non_null(strstr((char *)f->out, "-264\"\r\nAccept-Ranges: bytes\r\n\r\n"));
	assert_int_equal(strlen(strstr((char *)f->out, "\r\n\r\n") + 4), 612);
	/* HEAD: the same headers (the same validators), no body. */
	{
		char etag[64];

		snprintf(etag, sizeof(etag), "%.40s", strstr((char *)f->out, "ETag: "));
		assert_true(feed(f, &c, "HEAD / HTTP/1.1\r\n\r\n", &close) > 0);
		assert_non_null(strstr((char *)f->out, etag));
	}
	assert_non_null(strstr((char *)f->out, "HTTP/1.1 200 OK\r\n"));
	assert_null(strstr((char *)f->out, "<title>"));
	/* A method a static server refuses; then Connection: close closes. */
	assert_true(feed(f, &c, "DELETE / HTTP/1.1\r\nConnection: close\r\n\r\n", &close) > 0);
	assert_non_null(strstr((char *)f->out, "HTTP/1.1 405 Not Allowed\r\n"));
	assert_true(close);
	service_close(&f->s, &c);
}

static void
test_ftp_and_telnet_credentials(void **state)
{
	struct fixture *f = *state;
	struct conn c = { .saddr = 1, .daddr = 2, .dport = 21, .session = -1 };
	bool close;

	assert_true(service_open(&f->s, &c, &f->d, f->out, sizeof(f->out)) > 0);
	assert_non_null(strstr((char *)f->out, "vsFTPd"));
	feed(f, &c, "USER admin\r\n", &close);
	assert_non_null(strstr((char *)f->out, "331"));
	feed(f, &c, "PASS s3cret\r\n", &close);
	assert_non_null(strstr((char *)f->out, "530"));
	assert_int_equal(f->rec.last.kind, CONTACT_LOGIN);
	assert_string_equal(f->rec.user, "admin");
	assert_string_equal(f->rec.pass, "s3cret");
	service_close(&f->s, &c);

	c = (struct conn){ .saddr = 1, .daddr = 2, .dport = 23, .session = -1 };
	service_open(&f->s, &c, &f->d, f->out, sizeof(f->out));
	/* Telnet negotiation bytes are skipped, not interpreted. */
	feed(f, &c, "\xff\xfb\x01root\r\n", &close);
	assert_non_null(strstr((char *)f->out, "Password:"));
	feed(f, &c, "toor\r\n", &close);
	assert_string_equal(f->rec.user, "root");
	assert_string_equal(f->rec.pass, "toor");
	service_close(&f->s, &c);
}

/* Telnet opens with the options its OS family's telnetd asks for. */
static void
test_telnet_options(void **state)
{
	struct fixture *f = *state;
	struct conn c = { .saddr = 1, .daddr = 2, .dport = 23, .session = -1 };
	bool close = false;
	size_t n;

	/* Linux: DO TTYPE, TSPEED, XDISPLOC, NEW-ENVIRON; the banner after the answer. */
	n = service_open(&f->s, &c, &f->d, f->out, sizeof(f->out));
	assert_int_equal(n, 12);
	assert_memory_equal(f->out, "\xff\xfd\x18\xff\xfd\x20\xff\xfd\x23\xff\xfd\x27", 12);
	n = service_data(&f->s, &c, &f->d, (const uint8_t *)"\xff\xfb\x18\xff\xfa\x1f\0\x50\0\x18"
			 "\xff\xf0", 12, f->out, sizeof(f->out), &close);
	f->out[n] = 0;
	assert_string_equal((char *)f->out, "Ubuntu 20.04.6 LTS\r\nlogin: ");
	/* The window size subnegotiation did not leak into the user name. */
	feed(f, &c, "admin\r\n", &close);
	feed(f, &c, "pw\r\n", &close);
	assert_string_equal(f->rec.user, "admin");
	service_close(&f->s, &c);

	/* Cisco IOS: WILL ECHO, WILL SGA, DO TTYPE, DO NAWS and the banner at once. */
	snprintf(f->p.name, sizeof(f->p.name), "cisco-ios");
	f->p.svc = persona_preset_find("cisco-ios")->svc;
	n = service_open(&f->s, &c, &f->d, f->out, sizeof(f->out));
	f->out[n] = 0;
	assert_memory_equal(f->out, "\xff\xfb\x01\xff\xfb\x03\xff\xfd\x18\xff\xfd\x1f", 12);
	assert_string_equal((char *)f->out + 12,
			    "\r\nUser Access Verification\r\n\r\nUsername: ");
	service_close(&f->s, &c);

	/* Windows: DO AUTHENTICATION first. */
	snprintf(f->p.name, sizeof(f->p.name), "windows-7");
	f->p.svc = persona_preset_find("windows-7")->svc;
	n = service_open(&f->s, &c, &f->d, f->out, sizeof(f->out));
	assert_int_equal(n, 21);
	assert_memory_equal(f->out, "\xff\xfd\x25\xff\xfb\x01", 6);
	n = service_data(&f->s, &c, &f->d, (const uint8_t *)"\xff\xfc\x25", 3, f->out,
			 sizeof(f->out), &close);
	f->out[n] = 0;
	assert_string_equal((char *)f->out, "Welcome to Microsoft Telnet Service \r\n\n\rlogin: ");
	service_close(&f->s, &c);
}

static void
test_caps(void **state)
{
	struct fixture *f = *state;
	struct conn c[LIMIT_CHAFF_SESSIONS_PER_SRC + 1];
	static char big[LIMIT_CHAFF_SESSION_BYTES + 2];
	bool close;

	/* Sessions per source. */
	for (size_t i = 0; i <= LIMIT_CHAFF_SESSIONS_PER_SRC; i++) {
		c[i] = (struct conn){ .saddr = 7, .daddr = 2, .dport = 21, .session = -1 };
		service_open(&f->s, &c[i], &f->d, f->out, sizeof(f->out));
	}
	assert_true(c[LIMIT_CHAFF_SESSIONS_PER_SRC - 1].session >= 0);
	assert_int_equal(c[LIMIT_CHAFF_SESSIONS_PER_SRC].session, -1);
	/* ... at one decoy: the same source still gets another decoy's service,
	 * and another source this decoy's. */
	{
		struct conn other = { .saddr = 7, .daddr = 3, .dport = 21, .session = -1 };
		struct conn peer = { .saddr = 8, .daddr = 2, .dport = 21, .session = -1 };

		service_open(&f->s, &other, &f->d, f->out, sizeof(f->out));
		service_open(&f->s, &peer, &f->d, f->out, sizeof(f->out));
		assert_true(other.session >= 0);
		assert_true(peer.session >= 0);
		service_close(&f->s, &other);
		service_close(&f->s, &peer);
	}
	/* Bytes per session; an endless line is cut, never overflows. */
	memset(big, 'A', sizeof(big) - 1);
	feed(f, &c[0], big, &close);
	assert_true(close);
	for (size_t i = 0; i <= LIMIT_CHAFF_SESSIONS_PER_SRC; i++)
		service_close(&f->s, &c[i]);
	assert_int_equal(service_for_port(22), SERVICE_SSH);
	assert_int_equal(service_for_port(9999), SERVICE_BANNER);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_http, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ftp_and_telnet_credentials, setup, teardown),
		cmocka_unit_test_setup_teardown(test_telnet_options, setup, teardown),
		cmocka_unit_test_setup_teardown(test_caps, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
