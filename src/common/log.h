/*
 * log: the one logging module (OpenBSD log.c style).
 *
 * log_warn() appends the errno text; log_warnx() does not. fatal()/fatalx()
 * log and exit(1): for start-up errors and broken invariants only, never for
 * bad input. Output goes to stderr (default), syslog or the journal (through
 * syslog), as plain text or JSON lines. log_ratelimited() is for conditions
 * an attacker can trigger per packet: it logs at most `burst` lines per
 * `interval_s` seconds per call site and counts what it suppressed.
 */
#ifndef MOAT_LOG_H
#define MOAT_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

enum log_level { LOG_LVL_ERR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };
enum log_dest { LOG_DEST_STDERR, LOG_DEST_SYSLOG };

/* Set the program name, destination, level and format. Safe to call again. */
void log_init(const char *progname, enum log_dest dest, enum log_level level, bool json);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parse "err", "warn", "info" or "debug"; returns -EINVAL otherwise. */
int log_level_parse(const char *s, enum log_level *ret_level);

void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_errx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_vemit(enum log_level lvl, int errnum, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

/* Per-call-site rate limit state; zero-initialised. */
struct log_ratelimit {
	uint64_t window_start_ns;
	uint32_t emitted;
	uint64_t suppressed;
};

/* Returns true if a line may be emitted now; accounts suppressed lines. */
bool log_ratelimit_ok(struct log_ratelimit *rl, uint32_t burst, uint32_t interval_s);

#define log_ratelimited(burst, interval_s, fn, ...)                                  \
	do {                                                                          \
		static struct log_ratelimit log_rl_;                                  \
		if (log_ratelimit_ok(&log_rl_, (burst), (interval_s)))                \
			fn(__VA_ARGS__);                                              \
	} while (0)

#endif
