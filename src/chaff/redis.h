/*
 * redis: a Redis server without a password, as far as a scanner or a
 * worm goes: RESP (and inline) commands parsed, PING, ECHO, INFO (the
 * server section with the version the decoy's system would run, svcver.h),
 * AUTH (recorded as a login and answered as that version does when no
 * password is set), and plausible empty answers to the data commands;
 * CONFIG SET/SLAVEOF/MODULE LOAD and the like are acknowledged and never
 * acted upon.
 *
 * A command is at most LIMIT_CHAFF_LINE bytes (the session's line buffer)
 * and LIMIT_CHAFF_REDIS_ARGS arguments (for the record), each cut to LIMIT_CHAFF_CRED - 1 printable
 * characters for the record.
 */
#ifndef MOAT_CHAFF_REDIS_H
#define MOAT_CHAFF_REDIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chaff/svcver.h"
#include "common/limits.h"

struct redis_cmd {
	size_t argc;		/* arguments seen; past LIMIT_CHAFF_REDIS_ARGS not kept */
	char argv[LIMIT_CHAFF_REDIS_ARGS][LIMIT_CHAFF_CRED];
};

/*
 * Parse one command from the start of buf: a RESP array of bulk strings,
 * or an inline command line. Returns the bytes it took, 0 when more are
 * needed, -EINVAL for a protocol error (the server closes then).
 */
long redis_parse(const uint8_t *buf, size_t len, struct redis_cmd *ret);

/* What Redis of version v answers to cmd; *close after QUIT. */
size_t redis_answer(const struct redis_cmd *cmd, const struct svcver *v, uint64_t uptime_s,
		    char *out, size_t cap, bool *close);

#endif
