/*
 * reqhead: the few facts moatd needs from an HTTP/1.x request head before
 * it lets the body in — method, path, Host, Authorization, Content-Length,
 * Transfer-Encoding. The server's connection filter (api/server.c) calls it
 * on the bytes up to the blank line, so that authentication, the Host check
 * and the route's body cap are decided before one body byte is buffered.
 *
 * Strict on purpose: anything two HTTP parsers could read differently (a
 * repeated Content-Length or Host, folded header lines, a Content-Length that
 * is not plain digits, control bytes) is refused, so what this parser
 * approves is what evhttp then parses.
 */
#ifndef MOAT_ENGINE_API_REQHEAD_H
#define MOAT_ENGINE_API_REQHEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Views into the caller's buffer (not NUL-terminated); len 0 when absent. */
struct reqhead_str {
	const char *p;
	size_t len;
};

struct reqhead {
	unsigned method;		/* enum api_method (API_OTHER for the rest) */
	struct reqhead_str path;	/* the target up to '?' or '#' */
	struct reqhead_str host;
	struct reqhead_str authorization;
	bool has_host, has_length, chunked_or_other_te;
	uint64_t content_length;	/* 0 without the header */
};

/*
 * Find the end of the head in buf: the offset just past the empty line
 * ("\r\n\r\n" or "\n\n"), or 0 if it is not complete yet.
 */
size_t reqhead_end(const char *buf, size_t len);

/*
 * Parse the head buf[0..len) (as delimited by reqhead_end). 0 and *ret on
 * success; -EINVAL for a malformed or ambiguous head; -ENOTSUP for an HTTP
 * version other than 1.0 and 1.1. ret points into buf.
 */
int reqhead_parse(const char *buf, size_t len, struct reqhead *ret);

#endif
