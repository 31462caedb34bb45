/* libFuzzer target: the MySQL login parser, the Redis RESP parser and the
 * SMTP command handler (with AUTH's base64). The first byte picks which. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chaff/mysql.h"
#include "chaff/redis.h"
#include "chaff/smtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t scramble[20] = "ABCDEFGHIJKLMNOPQRST";
	static const struct svcver v = { "8.0.36", "7.2.4", "Linux", "12.2.0", "3.7.10" };
	char out[4096];
	bool close = false;

	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0: {
		struct mysql_login l;

		if (mysql_parse_login(data + 1, size - 1, scramble, &l) > 0) {
			(void)strlen(l.user);
			(void)strlen(l.hash);
			(void)mysql_denied(&l, "198.51.100.1", (uint8_t *)out, sizeof(out));
		}
		break;
	}
	case 1: {
		struct redis_cmd *c = malloc(sizeof(*c));
		size_t off = 1;
		long r;

		if (!c)
			break;
		while (off < size && (r = redis_parse(data + off, size - off, c)) > 0) {
			if ((size_t)r > size - off)
				__builtin_trap();
			(void)redis_answer(c, &v, 1, out, sizeof(out), &close);
			off += (size_t)r;
		}
		free(c);
		break;
	}
	default: {
		/* Lines split at '\n', each to the handler (as service.c feeds it). */
		struct smtp_server srv;
		struct smtp_state st = { 0 };
		struct smtp_login l;
		char line[1024];
		size_t n = 0;
		bool got;

		smtp_server_init(&srv, size > 1 && data[1] & 1 ? "220 x ESMTP Exim 4.96" :
				 "220 mail ESMTP Postfix", "3.4.13");
		for (size_t i = 1; i < size && !close; i++) {
			if (data[i] != '\n' && n + 1 < sizeof(line)) {
				line[n++] = data[i] ? (char)data[i] : '?';
				continue;
			}
			line[n] = '\0';
			(void)smtp_line(&srv, &st, line, 1, out, sizeof(out), &l, &got, &close);
			n = 0;
		}
		break;
	}
	}
	return 0;
}
