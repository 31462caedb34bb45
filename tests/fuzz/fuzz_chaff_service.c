/* libFuzzer target: the service emulators (HTTP, FTP, Telnet, SMTP, Redis, MySQL, SSH, SMB, RDP, MSRPC). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chaff/service.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
report(void *arg, const struct respond_contact *c)
{
	(void)arg;
	/* Touch every string a report may carry: they must be terminated. */
	if (c->detail)
		(void)strlen(c->detail);
	if (c->user)
		(void)strlen(c->user);
	if (c->pass)
		(void)strlen(c->pass);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint16_t ports[] = { 80, 22, 23, 21, 25, 3306, 6379, 9999, 445, 139, 3389, 135 };
	struct service_ctx s;
	struct persona *p = calloc(1, sizeof(*p));
	struct decoy d;
	uint8_t out[4096];
	struct conn c;
	bool close = false;

	if (size < 1 || !p)
		goto out;
	p->svc = persona_preset_at(0)->svc;
	memset(&d, 0, sizeof(d));
	if (service_init(&s, 2, p, 1) < 0)
		goto out;
	s.report = report;
	memset(&c, 0, sizeof(c));
	c.session = -1;
	c.dport = ports[data[0] % (sizeof(ports) / sizeof(ports[0]))];
	service_open(&s, &c, &d, out, sizeof(out));
	/* Feed the rest in chunks of varying size, as TCP segments would arrive. */
	for (size_t off = 1; off < size && !close;) {
		size_t n = 1 + data[off] % 64;

		if (n > size - off)
			n = size - off;
		service_data(&s, &c, &d, data + off, n, out, sizeof(out), &close);
		off += n;
	}
	service_close(&s, &c);
	service_free(&s);
out:
	free(p);
	return 0;
}
