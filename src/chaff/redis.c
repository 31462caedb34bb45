/* redis: RESP parsing and a password-less server's answers per version. */
#include "chaff/redis.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/cursor.h"

/* A decimal line "123\r\n" after the type byte; false when incomplete/bad. */
static int
read_num(struct cursor *c, long *ret)
{
	long v = 0;
	bool neg = false, any = false;
	uint8_t b;

	if (cur_peek_u8(c, 0, &b) && b == '-') {
		neg = true;
		(void)cur_skip(c, 1);
	}
	for (;;) {
		if (!cur_u8(c, &b))
			return 0;
		if (b == '\r') {
			if (!cur_u8(c, &b))
				return 0;
			if (b != '\n' || !any)
				return -EINVAL;
			*ret = neg ? -v : v;
			return 1;
		}
		if (b < '0' || b > '9' || v > 100000000)
			return -EINVAL;
		v = v * 10 + (b - '0');
		any = true;
	}
}

static void
keep(struct redis_cmd *cmd, const uint8_t *p, size_t n)
{
	size_t k = 0;

	if (cmd->argc < LIMIT_CHAFF_REDIS_ARGS) {
		for (size_t i = 0; i < n && k + 1 < LIMIT_CHAFF_CRED; i++)
			cmd->argv[cmd->argc][k++] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '?';
		cmd->argv[cmd->argc][k] = '\0';
	}
	cmd->argc++;
}

long
redis_parse(const uint8_t *buf, size_t len, struct redis_cmd *ret)
{
	struct cursor c = cur_init(buf, len);
	struct redis_cmd cmd;
	long n, blen;
	int r;

	memset(&cmd, 0, sizeof(cmd));
	if (len == 0)
		return 0;
	if (buf[0] != '*') {
		/* Inline: words up to the end of the line. */
		const uint8_t *nl = memchr(buf, '\n', len);
		size_t end, i = 0;

		if (!nl)
			return 0;
		end = (size_t)(nl - buf);
		while (i < end) {
			size_t s;

			while (i < end && (buf[i] == ' ' || buf[i] == '\r' || buf[i] == '\t'))
				i++;
			s = i;
			while (i < end && buf[i] != ' ' && buf[i] != '\r' && buf[i] != '\t')
				i++;
			if (i > s)
				keep(&cmd, buf + s, i - s);
		}
		*ret = cmd;
		return (long)end + 1;
	}
	(void)cur_skip(&c, 1);
	if ((r = read_num(&c, &n)) <= 0)
		return r;
	if (n < 0 || n > 1024)
		return -EINVAL;
	for (long i = 0; i < n; i++) {
		uint8_t t;

		if (!cur_u8(&c, &t))
			return 0;
		if (t != '$')
			return -EINVAL;
		if ((r = read_num(&c, &blen)) <= 0)
			return r;
		if (blen < 0 || (size_t)blen > LIMIT_CHAFF_LINE)
			return -EINVAL;
		if (cur_left(&c) < (size_t)blen + 2)
			return 0;
		keep(&cmd, cur_ptr(&c), (size_t)blen);
		(void)cur_skip(&c, (size_t)blen);
		if (cur_ptr(&c)[0] != '\r' || cur_ptr(&c)[1] != '\n')
			return -EINVAL;
		(void)cur_skip(&c, 2);
	}
	*ret = cmd;
	return (long)c.off;
}

static int
major_of(const char *v)
{
	return v[0] >= '0' && v[0] <= '9' ? (v[1] >= '0' && v[1] <= '9' ? 10 + v[1] - '0' :
					     v[0] - '0') : 0;
}

static size_t
info_server(const struct svcver *v, uint64_t uptime_s, char *out, size_t cap)
{
	char body[1024];
	int n = snprintf(body, sizeof(body),
			 "# Server\r\nredis_version:%s\r\nredis_git_sha1:00000000\r\n"
			 "redis_git_dirty:0\r\nredis_mode:standalone\r\nos:%s\r\narch_bits:64\r\n"
			 "multiplexing_api:%s\r\ngcc_version:%s\r\nprocess_id:%u\r\n"
			 "tcp_port:6379\r\nuptime_in_seconds:%llu\r\nuptime_in_days:%llu\r\n"
			 "hz:10\r\nexecutable:/usr/bin/redis-server\r\n"
			 "config_file:/etc/redis/redis.conf\r\n",
			 v->redis, v->redis_os,
			 strncmp(v->redis_os, "Linux", 5) == 0 ? "epoll" :
			 strncmp(v->redis_os, "Windows", 7) == 0 ? "WinSock_IOCP" : "kqueue",
			 v->redis_gcc, 700 + (unsigned)(uptime_s % 300),
			 (unsigned long long)uptime_s, (unsigned long long)(uptime_s / 86400));

	if (n < 0 || (size_t)n >= sizeof(body))
		return 0;
	n = snprintf(out, cap, "$%d\r\n%s\r\n", n, body);
	return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

size_t
redis_answer(const struct redis_cmd *cmd, const struct svcver *v, uint64_t uptime_s, char *out,
	     size_t cap, bool *close)
{
	const char *c = cmd->argc ? cmd->argv[0] : "";
	bool v6 = major_of(v->redis) >= 6;
	const char *r;
	int n;

	if (cmd->argc == 0)
		return 0;
	if (strcasecmp(c, "PING") == 0)
		r = cmd->argc > 1 ? NULL : "+PONG\r\n";
	else if (strcasecmp(c, "INFO") == 0)
		return info_server(v, uptime_s, out, cap);
	else if (strcasecmp(c, "AUTH") == 0)
		r = cmd->argc < 2 ? "-ERR wrong number of arguments for 'auth' command\r\n" :
		    v6 ? "-ERR AUTH <password> called without any password configured for the "
			 "default user. Are you sure your configuration is correct?\r\n" :
		    "-ERR Client sent AUTH, but no password is set\r\n";
	else if (strcasecmp(c, "QUIT") == 0) {
		*close = true;
		r = "+OK\r\n";
	} else if (strcasecmp(c, "SELECT") == 0 || strcasecmp(c, "SET") == 0 ||
		   strcasecmp(c, "CONFIG") == 0 || strcasecmp(c, "SLAVEOF") == 0 ||
		   strcasecmp(c, "REPLICAOF") == 0 || strcasecmp(c, "FLUSHALL") == 0 ||
		   strcasecmp(c, "SAVE") == 0 || strcasecmp(c, "CLIENT") == 0 ||
		   strcasecmp(c, "MODULE") == 0)
		r = cmd->argc > 2 && strcasecmp(c, "CONFIG") == 0 &&
		    strcasecmp(cmd->argv[1], "GET") == 0 ? "*0\r\n" : "+OK\r\n";
	else if (strcasecmp(c, "GET") == 0)
		r = "$-1\r\n";
	else if (strcasecmp(c, "KEYS") == 0 || strcasecmp(c, "SCAN") == 0)
		r = strcasecmp(c, "SCAN") == 0 ? "*2\r\n$1\r\n0\r\n*0\r\n" : "*0\r\n";
	else if (strcasecmp(c, "DBSIZE") == 0 || strcasecmp(c, "DEL") == 0 ||
		 strcasecmp(c, "EXISTS") == 0)
		r = ":0\r\n";
	else
		r = NULL;
	if (r)
		n = snprintf(out, cap, "%s", r);
	else if (strcasecmp(c, "PING") == 0 || strcasecmp(c, "ECHO") == 0)
		n = cmd->argc < 2 ? snprintf(out, cap, "-ERR wrong number of arguments for '%s' "
					     "command\r\n", "echo") :
		    snprintf(out, cap, "$%zu\r\n%s\r\n", strlen(cmd->argv[1]), cmd->argv[1]);
	else if (v6)
		n = snprintf(out, cap, "-ERR unknown command `%s`, with args beginning with: \r\n",
			     c);
	else
		n = snprintf(out, cap, "-ERR unknown command '%s'\r\n", c);
	return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}
