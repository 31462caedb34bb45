/*
 * smtp: an SMTP server's dialogue as the product in the decoy's banner
 * speaks it — Postfix (by release), Exim, Microsoft Exchange and the IIS
 * SMTP service, Sendmail, OpenSMTPD: its EHLO keywords in its order, its
 * HELO/QUIT/error wording, and AUTH PLAIN/LOGIN whose base64 credentials
 * are decoded for the record (then refused as that product refuses them).
 * STARTTLS is advertised and accepted where the product does (Postfix,
 * Exim, Exchange): smtp_line() answers it with the product's "220" and sets
 * start_tls; the caller then runs the rest of the connection inside TLS
 * (service.c, tls.h) and sets tls, and EHLO there offers what the product
 * offers inside TLS. No mail is ever accepted.
 */
#ifndef MOAT_CHAFF_SMTP_H
#define MOAT_CHAFF_SMTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/limits.h"

enum smtp_product {
	SMTP_POSTFIX, SMTP_EXIM, SMTP_EXCHANGE, SMTP_IIS, SMTP_SENDMAIL, SMTP_OPENSMTPD,
	SMTP_NPRODUCTS
};

struct smtp_server {
	enum smtp_product product;
	char host[64];		/* the name in the banner */
	bool postfix_chunking;	/* Postfix >= 3.4 */
	bool postfix_utf8;	/* Postfix >= 3.0 */
	bool tls_off;		/* no TLS to offer: STARTTLS answered 454, as a
				   server whose certificate failed to load does */
};

/* The product and host name a banner ("220 mail ESMTP Postfix") names;
 * postfix_version (svcver.h) decides Postfix's keywords. */
void smtp_server_init(struct smtp_server *ret, const char *banner, const char *postfix_version);

/* A session's state between lines. */
struct smtp_state {
	uint8_t phase;		/* smtp.c's SMTP_P_* */
	char user[LIMIT_CHAFF_CRED];
	bool tls;		/* in: the session runs inside STARTTLS's TLS */
	bool start_tls;		/* out: this line's answer accepted STARTTLS */
};

/* Whether the product advertises (and accepts) STARTTLS. */
bool smtp_offers_starttls(const struct smtp_server *srv);

/* Credentials an AUTH gave (filled when *ret_login is set). */
struct smtp_login {
	char mech[8];
	char user[LIMIT_CHAFF_CRED], pass[LIMIT_CHAFF_CRED];
};

/*
 * Answer one command line (without CR LF) from client address peer (host
 * order). *ret_login is set when the line completed an AUTH; *close after
 * QUIT. Returns the answer's length.
 */
size_t smtp_line(const struct smtp_server *srv, struct smtp_state *st, const char *line,
		 uint32_t peer, char *out, size_t cap, struct smtp_login *login, bool *ret_login,
		 bool *close);

/* Decode base64 into out (NUL-terminated, at most cap - 1 bytes);
 * -EINVAL for a character outside the alphabet. Returns the length. */
long smtp_b64decode(const char *in, uint8_t *out, size_t cap);

#endif
