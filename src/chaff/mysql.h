/*
 * mysql: the MySQL/MariaDB server greeting per version, and the login
 * attempt that follows it (protocol 10, HandshakeResponse41/320).
 *
 * The greeting carries the version string the decoy's system would run
 * (svcver.h), the capability flags, default character set and
 * authentication plugin of that version (5.1: no plugin; 5.5-5.7 and
 * MariaDB: mysql_native_password; 8.0: caching_sha2_password), a per-
 * connection id and a random 20-byte scramble. TLS is not offered (there is
 * none to give). The client's answer yields the user name and, for
 * mysql_native_password, the scramble and response in John the Ripper's
 * $mysqlna$ form; every login is refused with error 1045 as the server
 * words it.
 */
#ifndef MOAT_CHAFF_MYSQL_H
#define MOAT_CHAFF_MYSQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/limits.h"

/* The greeting of version with connection id conn_id and scramble (20 bytes, no NUL). */
size_t mysql_greeting(const char *version, uint32_t conn_id, const uint8_t scramble[20],
		      uint8_t *out, size_t cap);

/* Fill a scramble as the server does: random printable-range bytes, no NUL. */
void mysql_scramble(uint8_t ret[20]);

struct mysql_login {
	char user[LIMIT_CHAFF_CRED];
	bool password;			/* an auth response was sent */
	char hash[LIMIT_CHAFF_CRED];	/* "$mysqlna$SCRAMBLE*RESPONSE" (20-byte response) */
	uint8_t seq;			/* the packet's sequence id */
};

/*
 * Parse one client packet (header included). Returns the packet's total
 * length when complete (*ret filled), 0 when more bytes are needed, -EINVAL
 * when it is no login (an SSL request, or malformed).
 */
long mysql_parse_login(const uint8_t *buf, size_t len, const uint8_t scramble[20],
		       struct mysql_login *ret);

/* The ERR packet: "Access denied for user 'U'@'HOST' (using password: YES|NO)". */
size_t mysql_denied(const struct mysql_login *l, const char *host, uint8_t *out, size_t cap);

#endif
