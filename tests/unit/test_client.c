/* Unit tests for cli/client (and cli/httpc under it): each HTTP outcome maps
 * to its exit code, replies are parsed, the token goes only on mutating
 * calls. A thread on 127.0.0.1 plays moatd with canned replies. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "cli/client.h"
#include "cli/httpc.h"

/* One canned exchange: the server thread reads the request head, keeps it
 * for the test to look at, and writes the reply. */
struct canned {
	int lfd;
	const char *reply;
	char request[4096];
};

static void *
serve_one(void *arg)
{
	struct canned *c = arg;
	size_t len = 0;
	ssize_t n;
	int fd = accept(c->lfd, NULL, NULL);

	if (fd < 0)
		return NULL;
	while (len < sizeof(c->request) - 1 && strstr(c->request, "\r\n\r\n") == NULL) {
		if ((n = read(fd, c->request + len, sizeof(c->request) - 1 - len)) <= 0)
			break;
		len += (size_t)n;
		c->request[len] = '\0';
	}
	if (write(fd, c->reply, strlen(c->reply)) < 0)
		perror("write");
	close(fd);
	return NULL;
}

/* Perform one call against a canned reply; returns the exit code. */
static int
exchange(const char *method, const char *reply, struct client_reply *ret, char *request)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	struct canned c = { .reply = reply };
	struct cli cli = { 0 };
	char url[64];
	pthread_t t;
	int rc;

	c.lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(c.lfd >= 0);
	assert_int_equal(bind(c.lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(c.lfd, 1), 0);
	assert_int_equal(getsockname(c.lfd, (struct sockaddr *)&a, &alen), 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", ntohs(a.sin_port));
	cli.api_opt = url;
	assert_int_equal(pthread_create(&t, NULL, serve_one, &c), 0);
	rc = client_call(&cli, method, "/api/v1/pos", NULL, ret);
	pthread_join(t, NULL);
	close(c.lfd);
	if (request != NULL)
		memcpy(request, c.request, sizeof(c.request));
	cli_release(&cli);
	return rc;
}

static char *
reply(const char *status, const char *body)
{
	static char buf[1024];

	snprintf(buf, sizeof(buf), "HTTP/1.1 %s\r\nContent-Type: application/json\r\n"
	    "Connection: close\r\nContent-Length: %zu\r\n\r\n%s", status, strlen(body), body);
	return buf;
}

static void
test_exit_for_status(void **state)
{
	assert_int_equal(client_exit_for_status(200), 0);
	assert_int_equal(client_exit_for_status(204), 0);
	assert_int_equal(client_exit_for_status(400), 1);
	assert_int_equal(client_exit_for_status(404), 1);
	assert_int_equal(client_exit_for_status(409), 1);
	assert_int_equal(client_exit_for_status(413), 1);
	assert_int_equal(client_exit_for_status(401), 4);
	assert_int_equal(client_exit_for_status(500), 5);
	assert_int_equal(client_exit_for_status(302), 5);
}

static void
test_get_ok(void **state)
{
	struct client_reply r = { 0 };
	char req[4096];

	assert_int_equal(exchange("GET", reply("200 OK", "{\"pos\":[]}"), &r, req), 0);
	assert_int_equal(r.status, 200);
	assert_non_null(r.json);
	assert_true(json_is_array(json_object_get(r.json, "pos")));
	assert_int_equal(r.len, 10);
	/* GET carries no token. */
	assert_non_null(strstr(req, "GET /api/v1/pos HTTP/1.1"));
	assert_null(strstr(req, "Authorization"));
	client_reply_free(&r);
}

static void
test_mutating_sends_token(void **state)
{
	struct client_reply r = { 0 };
	char req[4096];

	setenv("MOAT_TOKEN", "c0ffee", 1);
	assert_int_equal(exchange("DELETE", "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n",
	    &r, req), 0);
	assert_int_equal(r.status, 204);
	assert_null(r.json);
	assert_non_null(strstr(req, "DELETE /api/v1/pos HTTP/1.1"));
	assert_non_null(strstr(req, "Authorization: Bearer c0ffee\r\n"));
	client_reply_free(&r);
	unsetenv("MOAT_TOKEN");
}

static void
test_refusals(void **state)
{
	struct client_reply r = { .status = 7 };

	setenv("MOAT_TOKEN", "c0ffee", 1);
	assert_int_equal(exchange("GET", reply("404 Not Found", "{\"error\":\"no PO x\"}"), &r, NULL), 1);
	assert_int_equal(exchange("POST", reply("400 Bad Request",
	    "{\"error\":\"unknown field\",\"field\":\"colour\"}"), &r, NULL), 1);
	assert_int_equal(exchange("POST", reply("401 Unauthorized", "{\"error\":\"token\"}"), &r, NULL), 4);
	assert_int_equal(exchange("GET", reply("500 Internal Server Error", "oops"), &r, NULL), 5);
	assert_int_equal(exchange("GET", "garbage\r\n\r\n", &r, NULL), 3);
	assert_int_equal(r.status, 7);	/* untouched on failure */
	unsetenv("MOAT_TOKEN");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exit_for_status),
		cmocka_unit_test(test_get_ok),
		cmocka_unit_test(test_mutating_sends_token),
		cmocka_unit_test(test_refusals),
	};
	int rc;

	unsetenv("MOAT_API");
	unsetenv("MOAT_STATE");
	unsetenv("MOAT_TOKEN");
	httpc_global_init();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	httpc_global_cleanup();
	return rc;
}
