/*
 * inshttp: is this the complete header block of an HTTP/1.x request?
 *
 * moat-ins peeks at a held connection's first bytes (never consuming them)
 * and hands it to the application only once the request line and all
 * header lines have arrived — what FreeBSD's accf_http does in the kernel.
 * The scanner does not parse header fields; it only decides one of three
 * things about the bytes so far:
 *   INSHTTP_INCOMPLETE — a plausible request line/headers, end not yet seen;
 *   INSHTTP_COMPLETE   — the blank line ending the headers is present
 *                        (*ret_len = bytes up to and including it);
 *   INSHTTP_INVALID    — not an HTTP/1.x request (e.g. TLS), so holding for
 *                        headers makes no sense: the caller hands it over.
 * Lines may end in CRLF or a bare LF (RFC 9112 §2.2 allows recipients to).
 */
#ifndef MOAT_INS_INSHTTP_H
#define MOAT_INS_INSHTTP_H

#include <stddef.h>
#include <stdint.h>

enum inshttp_state { INSHTTP_INCOMPLETE, INSHTTP_COMPLETE, INSHTTP_INVALID };

/* Longest method token accepted ("PROPPATCH" is 9; custom methods stay short). */
#define INSHTTP_METHOD_MAX 20

enum inshttp_state inshttp_scan(const uint8_t *buf, size_t len, size_t *ret_len);

/* Largest Content-Length taken (beyond it: none, the judge does not wait on it). */
#define INSHTTP_CLEN_MAX (1ull << 50)

/*
 * The Content-Length of a complete header block (buf[0..len), as
 * inshttp_scan measured it): 0 and *ret set when one header field
 * "Content-Length: DIGITS" is present (name case-insensitive, optional
 * whitespace around the value), -ENOENT when there is none, or when it is
 * malformed, repeated, over INSHTTP_CLEN_MAX or beside a Transfer-Encoding
 * (then the length is unknown to us, and nothing waits on it).
 */
int inshttp_content_length(const uint8_t *buf, size_t len, uint64_t *ret);

#endif
