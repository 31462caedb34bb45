#include "common/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

/* Process-wide logging configuration; log_init() resets all of it. */
static struct {
	const char *prog;
	enum log_dest dest;
	enum log_level level;
	bool json;
} log_cfg = { "moat", LOG_DEST_STDERR, LOG_LVL_INFO, false };

static const char *const log_names[] = { "error", "warning", "info", "debug" };
static const int log_prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };

void
log_init(const char *progname, enum log_dest dest, enum log_level level, bool json)
{
	log_cfg.prog = progname;
	log_cfg.dest = dest;
	log_cfg.level = level;
	log_cfg.json = json;
	if (dest == LOG_DEST_SYSLOG)
		openlog(progname, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_set_level(enum log_level level)
{
	log_cfg.level = level;
}

enum log_level
log_get_level(void)
{
	return log_cfg.level;
}

int
log_level_parse(const char *s, enum log_level *ret_level)
{
	static const char *const alias[] = { "err", "warn", "info", "debug" };

	for (size_t i = 0; i < sizeof(alias) / sizeof(alias[0]); i++) {
		if (strcmp(s, alias[i]) == 0 || strcmp(s, log_names[i]) == 0) {
			*ret_level = (enum log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

/* Write s as a JSON string body (without quotes), escaping what JSON requires. */
static void
log_json_escape(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
}

void
log_vemit(enum log_level lvl, int errnum, const char *fmt, va_list ap)
{
	char msg[1024];
	int n;

	if (lvl > log_cfg.level)
		return;
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n >= 0 && errnum != 0 && (size_t)n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - (size_t)n, ": %s", strerror(errnum));

	if (log_cfg.dest == LOG_DEST_SYSLOG) {
		syslog(log_prio[lvl], "%s", msg);
		return;
	}
	if (log_cfg.json) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		fprintf(stderr, "{\"ts\":%lld.%03ld,\"prog\":\"%s\",\"level\":\"%s\",\"msg\":\"",
		    (long long)ts.tv_sec, ts.tv_nsec / 1000000, log_cfg.prog, log_names[lvl]);
		log_json_escape(stderr, msg);
		fputs("\"}\n", stderr);
	} else {
		fprintf(stderr, "%s: %s%s\n", log_cfg.prog,
		    lvl <= LOG_LVL_WARN ? (lvl == LOG_LVL_ERR ? "error: " : "warning: ") : "", msg);
	}
}

#define LOG_DEFINE(name, lvl, with_errno)                                  \
	void name(const char *fmt, ...)                                   \
	{                                                                  \
		int saved = errno;                                         \
		va_list ap;                                                \
		va_start(ap, fmt);                                         \
		log_vemit(lvl, with_errno ? saved : 0, fmt, ap);           \
		va_end(ap);                                                \
		errno = saved;                                             \
	}

LOG_DEFINE(log_warn, LOG_LVL_WARN, 1)
LOG_DEFINE(log_warnx, LOG_LVL_WARN, 0)
LOG_DEFINE(log_info, LOG_LVL_INFO, 0)
LOG_DEFINE(log_debug, LOG_LVL_DEBUG, 0)
LOG_DEFINE(log_errx, LOG_LVL_ERR, 0)

void
fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LVL_ERR, saved, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LVL_ERR, 0, fmt, ap);
	va_end(ap);
	exit(1);
}

bool
log_ratelimit_ok(struct log_ratelimit *rl, uint32_t burst, uint32_t interval_s)
{
	struct timespec ts;
	uint64_t now;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	if (now - rl->window_start_ns >= (uint64_t)interval_s * 1000000000u) {
		if (rl->suppressed > 0)
			log_warnx("(%llu similar messages suppressed)",
			    (unsigned long long)rl->suppressed);
		rl->window_start_ns = now;
		rl->emitted = 0;
		rl->suppressed = 0;
	}
	if (rl->emitted < burst) {
		rl->emitted++;
		return true;
	}
	rl->suppressed++;
	return false;
}
