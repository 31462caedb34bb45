/* smtp: per-product SMTP answers; AUTH PLAIN/LOGIN decoded and refused. */
#include "chaff/smtp.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

enum { SMTP_P_CMD, SMTP_P_PLAIN, SMTP_P_LOGIN_USER, SMTP_P_LOGIN_PASS };

void
smtp_server_init(struct smtp_server *ret, const char *banner, const char *postfix_version)
{
	struct smtp_server s;
	const char *h = banner ? banner : "220 mail ESMTP Postfix";
	size_t n = 0;
	unsigned maj = 0, min = 0;

	memset(&s, 0, sizeof(s));
	if (strstr(h, "Exim"))
		s.product = SMTP_EXIM;
	else if (strstr(h, "Microsoft ESMTP MAIL Service ready at"))
		s.product = SMTP_EXCHANGE;
	else if (strstr(h, "Microsoft"))
		s.product = SMTP_IIS;
	else if (strstr(h, "Sendmail"))
		s.product = SMTP_SENDMAIL;
	else if (strstr(h, "OpenSMTPD"))
		s.product = SMTP_OPENSMTPD;
	else
		s.product = SMTP_POSTFIX;
	/* "220 HOST ..." or "220-HOST ...". */
	h = strlen(h) > 4 ? h + 4 : "";
	while (h[n] && h[n] != ' ' && n + 1 < sizeof(s.host))
		n++;
	memcpy(s.host, h, n);
	s.host[n] = '\0';
	if (!s.host[0])
		snprintf(s.host, sizeof(s.host), "mail");
	if (postfix_version && sscanf(postfix_version, "%u.%u", &maj, &min) == 2) {
		s.postfix_utf8 = maj >= 3;
		s.postfix_chunking = maj > 3 || (maj == 3 && min >= 4);
	}
	*ret = s;
}

__attribute__((format(printf, 3, 4))) static size_t
say(char *out, size_t cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, cap, fmt, ap);
	va_end(ap);
	if (n < 0 || cap == 0)
		return 0;
	return (size_t)n < cap ? (size_t)n : cap - 1;
}

long
smtp_b64decode(const char *in, uint8_t *out, size_t cap)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t n = 0;

	if (cap == 0)
		return -EINVAL;
	for (; *in && *in != '='; in++) {
		const char *a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
		const char *p = strchr(a, *in);

		if (!p)
			return -EINVAL;
		acc = (acc << 6 | (uint32_t)(p - a)) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n + 1 < cap)
				out[n++] = (uint8_t)(acc >> bits);
		}
	}
	out[n] = '\0';
	return (long)n;
}

/* Printable copy of n decoded bytes. */
static void
printable(char *dst, size_t cap, const uint8_t *src, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n && k + 1 < cap; i++)
		dst[k++] = src[i] >= 0x20 && src[i] < 0x7f ? (char)src[i] : '?';
	dst[k] = '\0';
}

/*
 * The EHLO answer; tls: inside STARTTLS's session, where STARTTLS is no
 * longer offered, Exim (Debian's exim4 configuration) offers AUTH PLAIN
 * LOGIN only there, and Exchange adds LOGIN (basic authentication) to NTLM.
 */
static size_t
ehlo(const struct smtp_server *s, const char *name, const char *ip, bool tls, char *out,
     size_t cap)
{
	switch (s->product) {
	case SMTP_EXIM:
		return say(out, cap, "250-%s Hello %s [%s]\r\n250-SIZE 52428800\r\n250-8BITMIME\r\n"
			   "250-PIPELINING\r\n%s250-CHUNKING\r\n%s250-PRDR\r\n250 HELP\r\n",
			   s->host, name, ip, tls ? "250-AUTH PLAIN LOGIN\r\n" : "",
			   tls ? "" : "250-STARTTLS\r\n");
	case SMTP_EXCHANGE:
		return say(out, cap, "250-%s Hello [%s]\r\n250-SIZE 37748736\r\n250-PIPELINING\r\n"
			   "250-DSN\r\n250-ENHANCEDSTATUSCODES\r\n%s250-AUTH NTLM%s\r\n"
			   "250-X-EXPS GSSAPI NTLM\r\n250-8BITMIME\r\n250-BINARYMIME\r\n"
			   "250-CHUNKING\r\n250 XRDST\r\n", s->host, ip,
			   tls ? "" : "250-STARTTLS\r\n250-X-ANONYMOUSTLS\r\n", tls ? " LOGIN" : "");
	case SMTP_IIS:
		return say(out, cap, "250-%s Hello [%s]\r\n250-TURN\r\n250-SIZE 2097152\r\n"
			   "250-ETRN\r\n250-PIPELINING\r\n250-DSN\r\n250-ENHANCEDSTATUSCODES\r\n"
			   "250-8bitmime\r\n250-BINARYMIME\r\n250-CHUNKING\r\n250-VRFY\r\n"
			   "250-X-EXPS GSSAPI NTLM LOGIN\r\n250-X-EXPS=LOGIN\r\n"
			   "250-AUTH GSSAPI NTLM LOGIN\r\n250-AUTH=LOGIN\r\n250-X-LINK2STATE\r\n"
			   "250-XEXCH50\r\n250 OK\r\n", s->host, ip);
	case SMTP_SENDMAIL:
		return say(out, cap, "250-%s Hello [%s], pleased to meet you\r\n"
			   "250-ENHANCEDSTATUSCODES\r\n250-PIPELINING\r\n250-8BITMIME\r\n"
			   "250-SIZE\r\n250-DSN\r\n250-ETRN\r\n250-AUTH PLAIN LOGIN\r\n"
			   "250-DELIVERBY\r\n250 HELP\r\n", s->host, ip);
	case SMTP_OPENSMTPD:
		return say(out, cap, "250-%s Hello %s [%s], pleased to meet you\r\n250-8BITMIME\r\n"
			   "250-ENHANCEDSTATUSCODES\r\n250-SIZE 36700160\r\n250-DSN\r\n"
			   "250-AUTH PLAIN LOGIN\r\n250 HELP\r\n", s->host, name, ip);
	default: {
		/* Postfix: DSN, SMTPUTF8 from 3.0, CHUNKING from 3.4; the last with "250 ". */
		const char *tail[3] = { "DSN", s->postfix_utf8 ? "SMTPUTF8" : NULL,
					s->postfix_chunking ? "CHUNKING" : NULL };
		int last = tail[2] ? 2 : tail[1] ? 1 : 0;
		size_t n = say(out, cap, "250-%s\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
			       "250-VRFY\r\n250-ETRN\r\n%s250-AUTH PLAIN LOGIN\r\n"
			       "250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n", s->host,
			       tls ? "" : "250-STARTTLS\r\n");

		for (int i = 0; i <= last; i++)
			if (tail[i])
				n += say(out + n, cap - n, "250%c%s\r\n", i == last ? ' ' : '-',
					 tail[i]);
		return n;
	}
	}
}

bool
smtp_offers_starttls(const struct smtp_server *srv)
{
	return srv->product == SMTP_POSTFIX || srv->product == SMTP_EXIM ||
	       srv->product == SMTP_EXCHANGE;
}

static const char *const auth_failed[SMTP_NPRODUCTS] = {
	[SMTP_POSTFIX] = "535 5.7.8 Error: authentication failed: authentication failure",
	[SMTP_EXIM] = "535 Incorrect authentication data",
	[SMTP_EXCHANGE] = "535 5.7.3 Authentication unsuccessful",
	[SMTP_IIS] = "535 5.7.3 Authentication unsuccessful.",
	[SMTP_SENDMAIL] = "535 5.7.0 authentication failed",
	[SMTP_OPENSMTPD] = "535 Authentication failed",
};

/* An AUTH PLAIN response: authzid NUL authcid NUL password. */
static bool
plain(const char *b64, struct smtp_login *l)
{
	uint8_t raw[3 * LIMIT_CHAFF_CRED];
	long n = smtp_b64decode(b64, raw, sizeof(raw));
	const uint8_t *u, *p;

	if (n < 0)
		return false;
	u = memchr(raw, 0, (size_t)n);
	if (!u)
		return false;
	u++;
	p = memchr(u, 0, (size_t)(raw + n - u));
	if (!p)
		return false;
	printable(l->user, sizeof(l->user), u, (size_t)(p - u));
	p++;
	printable(l->pass, sizeof(l->pass), p, (size_t)(raw + n - p));
	snprintf(l->mech, sizeof(l->mech), "plain");
	return true;
}

size_t
smtp_line(const struct smtp_server *srv, struct smtp_state *st, const char *line, uint32_t peer,
	  char *out, size_t cap, struct smtp_login *login, bool *ret_login, bool *close)
{
	char ip[16];
	enum smtp_product pr = srv->product;
	bool postfix = pr == SMTP_POSTFIX;

	snprintf(ip, sizeof(ip), "%u.%u.%u.%u", peer >> 24, peer >> 16 & 255, peer >> 8 & 255,
		 peer & 255);
	*ret_login = false;
	st->start_tls = false;
	if (st->phase == SMTP_P_PLAIN || st->phase == SMTP_P_LOGIN_USER ||
	    st->phase == SMTP_P_LOGIN_PASS) {
		uint8_t raw[LIMIT_CHAFF_CRED];
		long n;

		if (strcmp(line, "*") == 0) {
			st->phase = SMTP_P_CMD;
			return say(out, cap, "501 5.7.0 Authentication aborted\r\n");
		}
		if (st->phase == SMTP_P_PLAIN) {
			st->phase = SMTP_P_CMD;
			memset(login, 0, sizeof(*login));
			*ret_login = plain(line, login);
			return say(out, cap, "%s\r\n", auth_failed[pr]);
		}
		n = smtp_b64decode(line, raw, sizeof(raw));
		if (n < 0) {
			st->phase = SMTP_P_CMD;
			return say(out, cap, "501 5.5.2 Cannot decode response\r\n");
		}
		if (st->phase == SMTP_P_LOGIN_USER) {
			printable(st->user, sizeof(st->user), raw, (size_t)n);
			st->phase = SMTP_P_LOGIN_PASS;
			return say(out, cap, "334 UGFzc3dvcmQ6\r\n");
		}
		memset(login, 0, sizeof(*login));
		snprintf(login->mech, sizeof(login->mech), "login");
		memcpy(login->user, st->user, sizeof(login->user));
		printable(login->pass, sizeof(login->pass), raw, (size_t)n);
		*ret_login = true;
		st->phase = SMTP_P_CMD;
		return say(out, cap, "%s\r\n", auth_failed[pr]);
	}
	if (strncasecmp(line, "EHLO", 4) == 0) {
		const char *name = line[4] == ' ' ? line + 5 : "";

		return ehlo(srv, name, ip, st->tls, out, cap);
	}
	if (strncasecmp(line, "HELO", 4) == 0) {
		const char *name = line[4] == ' ' ? line + 5 : "";

		switch (pr) {
		case SMTP_EXIM:
			return say(out, cap, "250 %s Hello %s [%s]\r\n", srv->host, name, ip);
		case SMTP_EXCHANGE:
		case SMTP_IIS: return say(out, cap, "250 %s Hello [%s]\r\n", srv->host, ip);
		case SMTP_SENDMAIL:
		case SMTP_OPENSMTPD:
			return say(out, cap, "250 %s Hello [%s], pleased to meet you\r\n",
				   srv->host, ip);
		default: return say(out, cap, "250 %s\r\n", srv->host);
		}
	}
	if (strncasecmp(line, "AUTH ", 5) == 0) {
		const char *m = line + 5;

		if (strncasecmp(m, "PLAIN", 5) == 0) {
			if (m[5] == ' ') {
				memset(login, 0, sizeof(*login));
				*ret_login = plain(m + 6, login);
				return say(out, cap, "%s\r\n", auth_failed[pr]);
			}
			st->phase = SMTP_P_PLAIN;
			return say(out, cap, "334 \r\n");
		}
		if (strncasecmp(m, "LOGIN", 5) == 0) {
			uint8_t raw[LIMIT_CHAFF_CRED];
			long n;

			if (m[5] == ' ' && (n = smtp_b64decode(m + 6, raw, sizeof(raw))) >= 0) {
				printable(st->user, sizeof(st->user), raw, (size_t)n);
				st->phase = SMTP_P_LOGIN_PASS;
				return say(out, cap, "334 UGFzc3dvcmQ6\r\n");
			}
			st->phase = SMTP_P_LOGIN_USER;
			return say(out, cap, "334 VXNlcm5hbWU6\r\n");
		}
		return say(out, cap, postfix ? "535 5.7.8 Error: authentication failed: Invalid "
			   "authentication mechanism\r\n" : "504 5.7.4 Unrecognized authentication "
			   "type\r\n");
	}
	if (strncasecmp(line, "STARTTLS", 8) == 0 && smtp_offers_starttls(srv)) {
		if (srv->tls_off)
			return say(out, cap, pr == SMTP_EXIM ? "454 TLS currently unavailable\r\n" :
				   "454 4.7.0 TLS not available due to local problem\r\n");
		if (st->tls)
			return say(out, cap, postfix ? "554 5.5.1 Error: TLS already active\r\n" :
				   "503 5.5.1 TLS already active\r\n");
		/* RFC 3207: the session starts over inside TLS. */
		st->phase = SMTP_P_CMD;
		st->user[0] = '\0';
		st->start_tls = true;
		return say(out, cap, pr == SMTP_EXIM ? "220 TLS go ahead\r\n" :
			   pr == SMTP_EXCHANGE ? "220 2.0.0 SMTP server ready\r\n" :
			   "220 2.0.0 Ready to start TLS\r\n");
	}
	if (strncasecmp(line, "QUIT", 4) == 0) {
		*close = true;
		switch (pr) {
		case SMTP_EXIM: return say(out, cap, "221 %s closing connection\r\n", srv->host);
		case SMTP_EXCHANGE:
		case SMTP_IIS:
			return say(out, cap, "221 2.0.0 %s Service closing transmission "
				   "channel\r\n", srv->host);
		case SMTP_SENDMAIL:
			return say(out, cap, "221 2.0.0 %s closing connection\r\n", srv->host);
		default: return say(out, cap, "221 2.0.0 Bye\r\n");
		}
	}
	if (strncasecmp(line, "NOOP", 4) == 0 || strncasecmp(line, "RSET", 4) == 0)
		return say(out, cap, postfix ? "250 2.0.0 Ok\r\n" : pr == SMTP_EXIM ?
			   "250 OK\r\n" : "250 2.0.0 OK\r\n");
	if (strncasecmp(line, "MAIL", 4) == 0 || strncasecmp(line, "RCPT", 4) == 0 ||
	    strncasecmp(line, "DATA", 4) == 0 || strncasecmp(line, "VRFY", 4) == 0)
		switch (pr) {
		case SMTP_EXIM: return say(out, cap, "530 Authentication required\r\n");
		case SMTP_EXCHANGE:
		case SMTP_IIS:
			return say(out, cap, "530 5.7.1 Client was not authenticated\r\n");
		default:
			return say(out, cap, st->tls || !smtp_offers_starttls(srv) ?
				   "530 5.7.0 Authentication required\r\n" :
				   "530 5.7.0 Must issue a STARTTLS command first\r\n");
		}
	switch (pr) {
	case SMTP_POSTFIX: return say(out, cap, "502 5.5.2 Error: command not recognized\r\n");
	case SMTP_EXIM: return say(out, cap, "500 unrecognized command\r\n");
	case SMTP_EXCHANGE:
	case SMTP_IIS: return say(out, cap, "500 5.3.3 Unrecognized command\r\n");
	default: return say(out, cap, "500 5.5.1 Command unrecognized\r\n");
	}
}
