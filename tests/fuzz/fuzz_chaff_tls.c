/* libFuzzer target: a decoy's TLS session (tls.c over OpenSSL) fed a
 * peer's bytes in segments, as HTTPS receives them. */
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chaff/tls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t mac[6] = { 0x52, 0x54, 0, 0, 0, 1 };

/* One module for the run, with decoy 1's certificate made up front so
 * every input reaches the handshake at once. */
static struct tls *
module(void)
{
	static struct tls t;
	static bool ready;
	static const uint8_t secret[32] = { 1 };
	struct tls_conn *c;
	uint8_t plain[16];
	size_t n;

	if (ready)
		return &t;
	if (tls_init(&t, secret) < 0)
		abort();
	c = tls_conn_new(&t, 1, mac, "nginx/1.18.0", 0);
	while (c && tls_conn_waiting(c)) {
		struct pollfd pfd = { .fd = tls_event_fd(&t), .events = POLLIN };

		(void)poll(&pfd, 1, 1000);
		tls_ack(&t);
		(void)tls_conn_input(&t, c, NULL, 0, plain, sizeof(plain), &n, 0);
	}
	tls_conn_free(&t, c);
	ready = true;
	return &t;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tls *t = module();
	struct tls_conn *c;
	uint8_t plain[2048], out[4096];
	size_t n;

	if (size < 1)
		return 0;
	c = tls_conn_new(t, 1, mac, data[0] & 1 ? "nginx/1.18.0" : "Microsoft-IIS/10.0", 0);
	if (!c)
		abort();
	for (size_t off = 1; off < size;) {
		size_t len = 1 + data[off] % 200;

		off++;
		if (len > size - off)
			len = size - off;
		if (tls_conn_input(t, c, data + off, len, plain, sizeof(plain), &n, 0) < 0)
			break;
		if (n > 0 && tls_conn_write(c, plain, n) < 0)
			break;
		while (tls_conn_output(c, out, sizeof(out)) > 0)
			;
		off += len;
	}
	tls_conn_shutdown(c);
	while (tls_conn_output(c, out, sizeof(out)) > 0)
		;
	tls_conn_free(t, c);
	return 0;
}
