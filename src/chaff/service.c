/* service: line-based decoy services that record and deny. */
#include "chaff/service.h"

#include "chaff/bg.h"
#include "chaff/msrpc.h"
#include "chaff/mysql.h"
#include "chaff/nbns.h"
#include "chaff/rdp.h"
#include "chaff/redis.h"
#include "chaff/smtp.h"
#include "chaff/svcver.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/random.h>

struct svc_ops {
	const char *name;
	uint16_t ports[4];
	size_t (*greet)(struct service_ctx *s, struct service_session *ss, const struct persona *p,
			char *out, size_t cap);
	/* One complete input line (without CR/LF); *close ends the session. */
	size_t (*line)(struct service_ctx *s, struct service_session *ss, const struct persona *p,
		       const struct conn *c, char *out, size_t cap, bool *close);
};

static const struct persona *persona_for(const struct service_ctx *s, const struct decoy *d);

static void
report(struct service_ctx *s, const struct conn *c, enum respond_contact_kind kind,
       const char *detail, const char *user, const char *pass)
{
	struct respond_contact rc = {
		.kind = kind, .src = c->saddr, .decoy = c->daddr, .proto = 6,
		.sport = c->sport, .dport = c->dport, .detail = detail, .user = user, .pass = pass,
	};

	memcpy(rc.src_mac, c->peer_mac, 6);
	if (s->report)
		s->report(s->report_arg, &rc);
}

__attribute__((format(printf, 3, 4))) static size_t
say(char *out, size_t cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, cap, fmt, ap);
	va_end(ap);
	if (n < 0)
		return 0;
	return (size_t)n < cap ? (size_t)n : cap - 1;
}

/* Credentials are kept up to LIMIT_CHAFF_CRED - 1 bytes; the rest is cut. */
static void
copy_cred(char dst[LIMIT_CHAFF_CRED], const char *src)
{
	size_t n = strnlen(src, LIMIT_CHAFF_CRED - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

static uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static const char *
or_default(const char *s, const char *d)
{
	return s ? s : d;
}

/* --- HTTP: one request, one canned page, close. --- */

/* The default page of the server the preset names (by its Server: prefix). */
static const char *
http_page(const char *server)
{
	static const struct {
		const char *prefix, *page;
	} pages[] = {
		{ "Microsoft-IIS", "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Strict//EN\">\n"
				   "<html><head><title>IIS Windows Server</title></head>\n"
				   "<body><div id=\"container\"><a href=\"http://go.microsoft.com/"
				   "fwlink/?linkid=66138&amp;clcid=0x409\"><img src=\"iisstart.png\" "
				   "alt=\"IIS\" width=\"960\" height=\"600\" /></a></div></body></html>\n" },
		/* The 612 bytes of the index.nginx-debian.html nginx 1.18 installs. */
		{ "nginx", "<!DOCTYPE html>\n<html>\n<head>\n<title>Welcome to nginx!</title>\n"
			   "<style>\n    body {\n        width: 35em;\n        margin: 0 auto;\n"
			   "        font-family: Tahoma, Verdana, Arial, sans-serif;\n    }\n"
			   "</style>\n</head>\n<body>\n<h1>Welcome to nginx!</h1>\n"
			   "<p>If you see this page, the nginx web server is successfully installed "
			   "and\nworking. Further configuration is required.</p>\n\n"
			   "<p>For online documentation and support please refer to\n"
			   "<a href=\"http://nginx.org/\">nginx.org</a>.<br/>\n"
			   "Commercial support is available at\n"
			   "<a href=\"http://nginx.com/\">nginx.com</a>.</p>\n\n"
			   "<p><em>Thank you for using nginx.</em></p>\n</body>\n</html>\n" },
		{ "Apache", "<html><body><h1>It works!</h1></body></html>\n" },
		{ "cisco-IOS", "<html><head><title>Cisco Systems</title></head><body>"
			       "<p>Cisco 1921 router</p></body></html>\n" },
		{ "HP-ChaiSOE", "<html><head><title>HP LaserJet 2420</title></head><body>"
				"<h1>HP LaserJet 2420</h1></body></html>\n" },
		{ "Boa", "<html><head><title>AXIS</title></head><body>"
			 "<a href=\"/view/index.shtml\">Live view</a></body></html>\n" },
	};

	for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++)
		if (strncmp(server, pages[i].prefix, strlen(pages[i].prefix)) == 0)
			return pages[i].page;
	return "<html><body></body></html>\n";
}

/*
 * The default page's modification time: when the package was installed,
 * stable per decoy (a day in the two years after 2020-04-23, Ubuntu 20.04's
 * release), so Last-Modified and ETag do not change between requests or
 * restarts and differ between decoys.
 */
static time_t
http_mtime(uint32_t decoy)
{
	uint64_t h = decoy_mix(0x687474706d74ULL ^ decoy);

	return (time_t)1587600000 + (time_t)(h % (730u * 86400u));
}

/* The flavour of the server the preset names, for its status pages and headers. */
enum http_flavour { HTTP_APACHE, HTTP_NGINX, HTTP_IIS, HTTP_OTHER };

static enum http_flavour
http_flavour(const char *server)
{
	if (strncmp(server, "Apache", 6) == 0)
		return HTTP_APACHE;
	if (strncmp(server, "nginx", 5) == 0)
		return HTTP_NGINX;
	if (strncmp(server, "Microsoft-IIS", 13) == 0)
		return HTTP_IIS;
	return HTTP_OTHER;
}

static const char *
http_reason(uint16_t status, enum http_flavour f)
{
	switch (status) {
	case 200: return "OK";
	case 404: return "Not Found";
	case 405: return f == HTTP_NGINX ? "Not Allowed" : "Method Not Allowed";
	case 501: return "Not Implemented";
	default: return "Bad Request";
	}
}

/* The status page a server of that flavour sends (nginx's and Apache's own texts). */
static size_t
http_error_page(char *out, size_t cap, uint16_t status, enum http_flavour f, const char *server,
		const struct conn *c)
{
	const char *reason = http_reason(status, f);

	switch (f) {
	case HTTP_NGINX:
		return say(out, cap, "<html>\r\n<head><title>%u %s</title></head>\r\n<body>\r\n"
			   "<center><h1>%u %s</h1></center>\r\n<hr><center>%s</center>\r\n"
			   "</body>\r\n</html>\r\n", status, reason, status, reason, server);
	case HTTP_APACHE:
		return say(out, cap, "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n"
			   "<html><head>\n<title>%u %s</title>\n</head><body>\n<h1>%s</h1>\n"
			   "<p>%s</p>\n<hr>\n<address>%s Server at %u.%u.%u.%u Port %u</address>\n"
			   "</body></html>\n", status, reason, reason,
			   status == 404 ? "The requested URL was not found on this server." :
			   "The requested method is not supported.", server, c->daddr >> 24,
			   c->daddr >> 16 & 255, c->daddr >> 8 & 255, c->daddr & 255, c->dport);
	case HTTP_IIS:
		return say(out, cap, "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Strict//EN\" "
			   "\"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd\">\r\n<html "
			   "xmlns=\"http://www.w3.org/1999/xhtml\">\r\n<head>\r\n<meta http-equiv="
			   "\"Content-Type\" content=\"text/html; charset=iso-8859-1\"/>\r\n<title>"
			   "%u - %s</title>\r\n</head>\r\n<body>\r\n<h2>%u - %s</h2>\r\n</body>\r\n"
			   "</html>\r\n", status, reason, status, reason);
	default:
		return say(out, cap, "<html><head><title>%u %s</title></head><body><h1>%s</h1>"
			   "</body></html>\n", status, reason, reason);
	}
}

/* The answer to a request line: 200 for the root and the default page,
 * 404 for any other path, 405 (or 501) for methods a static server refuses. */
static void
http_request(struct service_session *ss, const char *line, enum http_flavour f)
{
	char method[16] = "", path[256] = "", version[16] = "";

	(void)sscanf(line, "%15s %255s %15s", method, path, version);
	ss->http_head = strcmp(method, "HEAD") == 0;
	ss->http_keep = strcmp(version, "HTTP/1.1") == 0;
	if (strcmp(method, "GET") != 0 && !ss->http_head && strcmp(method, "POST") != 0)
		ss->http_status = f == HTTP_APACHE && strcmp(method, "PUT") != 0 &&
				  strcmp(method, "DELETE") != 0 && strcmp(method, "OPTIONS") != 0 ?
				  501 : 405;
	else if (strcmp(path, "/") == 0 || strcmp(path, "/index.html") == 0 ||
		 (f == HTTP_IIS && strcmp(path, "/iisstart.htm") == 0))
		ss->http_status = strcmp(method, "POST") == 0 && f != HTTP_APACHE ? 405 : 200;
	else
		ss->http_status = 404;
	if (version[0] == '\0')
		ss->http_status = 400;
}

/*
 * HTTP as the named server does it: one answer per request (the request
 * line and headers read to the empty line), with Date, the server's own
 * status pages, HEAD without a body, and HTTP/1.1 keep-alive (1.0 and
 * "Connection: close" close after the answer).
 */
static size_t
http_line(struct service_ctx *s, struct service_session *ss, const struct persona *p,
	  const struct conn *c, char *out, size_t cap, bool *close)
{
	const char *server = or_default(p->svc.http_server, "Apache");
	enum http_flavour f = http_flavour(server);
	char body[1024], date[64], lastmod[64] = "", etag[48] = "";
	const char *page = body, *keep, *allow;
	size_t blen, n;
	time_t now = time(NULL);
	struct tm tm;

	if (ss->phase == 0) {
		if (ss->line[0] == '\0')
			return 0;	/* blank lines between requests */
		report(s, c, CONTACT_SERVICE, ss->line, NULL, NULL);
		http_request(ss, ss->line, f);
		ss->phase = 1;
		return 0;
	}
	if (ss->line[0] != '\0') {
		if (strncasecmp(ss->line, "Connection:", 11) == 0)
			ss->http_keep = strcasestr(ss->line + 11, "close") == NULL &&
					(ss->http_keep || strcasestr(ss->line + 11, "keep-alive"));
		return 0;	/* headers go on until the empty line */
	}
	ss->phase = 0;
	if (ss->http_status == 200) {
		page = http_page(server);
		blen = strlen(page);
	} else {
		blen = http_error_page(body, sizeof(body), ss->http_status, f, server, c);
	}
	if (ss->http_status == 400)
		ss->http_keep = false;
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	/* A static file's validators, as each server words them (200 only). */
	if (ss->http_status == 200) {
		time_t mt = http_mtime(c->daddr);

		gmtime_r(&mt, &tm);
		strftime(lastmod, sizeof(lastmod), "%a, %d %b %Y %H:%M:%S GMT", &tm);
		if (f == HTTP_APACHE)
			snprintf(etag, sizeof(etag), "\"%zx-%llx\"", blen,
				 (unsigned long long)mt * 1000000ULL + (c->daddr & 0xfffff));
		else if (f == HTTP_IIS)
			snprintf(etag, sizeof(etag), "\"%llx:0\"",
				 ((unsigned long long)mt + 11644473600ULL) * 10000000ULL);
		else
			snprintf(etag, sizeof(etag), "\"%llx-%zx\"", (unsigned long long)mt, blen);
	}
	keep = !ss->http_keep ? "Connection: close\r\n" :
	       f == HTTP_APACHE ? "Keep-Alive: timeout=5, max=100\r\nConnection: Keep-Alive\r\n" :
	       "Connection: keep-alive\r\n";
	allow = ss->http_status == 405 && f != HTTP_NGINX ? "Allow: GET, HEAD, POST, OPTIONS\r\n" : "";
	/* Each server's header order, as they send them. */
	switch (f) {
	case HTTP_APACHE:
		n = say(out, cap, "HTTP/1.1 %u %s\r\nDate: %s\r\nServer: %s\r\n", ss->http_status,
			http_reason(ss->http_status, f), date, server);
		if (etag[0])
			n += say(out + n, cap - n, "Last-Modified: %s\r\nETag: %s\r\n"
				 "Accept-Ranges: bytes\r\n", lastmod, etag);
		n += say(out + n, cap - n, "%sContent-Length: %zu\r\n%s%sContent-Type: text/html%s"
			 "\r\n\r\n", allow, blen, etag[0] ? "Vary: Accept-Encoding\r\n" : "", keep,
			 ss->http_status == 200 ? "" : "; charset=iso-8859-1");
		break;
	case HTTP_IIS:
		n = say(out, cap, "HTTP/1.1 %u %s\r\nContent-Type: text/html\r\n", ss->http_status,
			http_reason(ss->http_status, f));
		if (etag[0])
			n += say(out + n, cap - n, "Last-Modified: %s\r\nAccept-Ranges: bytes\r\n"
				 "ETag: %s\r\n", lastmod, etag);
		n += say(out + n, cap - n, "Server: %s\r\n%sDate: %s\r\n%sContent-Length: %zu\r\n"
			 "\r\n", server, allow, date, ss->http_keep ? "" : "Connection: close\r\n",
			 blen);
		break;
	default:
		n = say(out, cap, "HTTP/1.1 %u %s\r\nServer: %s\r\nDate: %s\r\n"
			"Content-Type: text/html\r\nContent-Length: %zu\r\n", ss->http_status,
			http_reason(ss->http_status, f), server, date, blen);
		if (etag[0] && f == HTTP_NGINX)
			n += say(out + n, cap - n, "Last-Modified: %s\r\n%sETag: %s\r\n"
				 "Accept-Ranges: bytes\r\n\r\n", lastmod, keep, etag);
		else
			n += say(out + n, cap - n, "%s%s\r\n", keep, allow);
		break;
	}
	if (!ss->http_head && n < cap)
		n += say(out + n, cap - n, "%s", page);
	if (!ss->http_keep)
		*close = true;
	return n;
}

/* --- SSH: the impersonated OpenSSH's identification; the session ends at the client's. --- */

static size_t
ssh_greet(struct service_ctx *s, struct service_session *ss, const struct persona *p,
	  char *out, size_t cap)
{
	const char *banner = or_default(p->svc.ssh_banner, "SSH-2.0-OpenSSH_8.2p1");

	if (s->sshd && ss->ssh_slot >= 0)
		return 0;	/* libssh sends the identification */
	return say(out, cap, "%s\r\n", banner);
}

static size_t
ssh_line(struct service_ctx *s, struct service_session *ss, const struct persona *p,
	 const struct conn *c, char *out, size_t cap, bool *close)
{
	report(s, c, CONTACT_SERVICE, ss->line, NULL, NULL);
	*close = true;
	return 0;
}

/* --- FTP: USER/PASS recorded, always 530. --- */

static size_t
ftp_greet(struct service_ctx *s, struct service_session *ss, const struct persona *p,
	  char *out, size_t cap)
{
	return say(out, cap, "%s\r\n", or_default(p->svc.ftp_banner, "220 FTP server ready."));
}

static size_t
ftp_line(struct service_ctx *s, struct service_session *ss, const struct persona *p,
	 const struct conn *c, char *out, size_t cap, bool *close)
{
	if (strncasecmp(ss->line, "USER ", 5) == 0) {
		copy_cred(ss->user, ss->line + 5);
		return say(out, cap, "331 Please specify the password.\r\n");
	}
	if (strncasecmp(ss->line, "PASS ", 5) == 0) {
		report(s, c, CONTACT_LOGIN, "ftp", ss->user, ss->line + 5);
		return say(out, cap, "530 Login incorrect.\r\n");
	}
	if (strncasecmp(ss->line, "QUIT", 4) == 0) {
		*close = true;
		return say(out, cap, "221 Goodbye.\r\n");
	}
	report(s, c, CONTACT_SERVICE, ss->line, NULL, NULL);
	return say(out, cap, "530 Please login with USER and PASS.\r\n");
}

/* --- Telnet: option negotiation per OS family, then login/password prompts. --- */

/*
 * How each family's telnetd opens: the options it asks for first (what nmap
 * -sV and a careful client see), whether the banner waits for the client's
 * answer to them (telnetd's getterminaltype(); Cisco and JetDirect print at
 * once), and its prompts.
 */
struct telnet_style {
	const char *key;		/* in the preset name or nmap OS name; NULL: default */
	const char *opts;
	size_t opts_len;
	bool wait;
	bool no_user;			/* password only (JetDirect) */
	const char *user_prompt, *pass_prompt, *fail;
};

#define OPTS(s) s, sizeof(s) - 1
static const struct telnet_style telnet_styles[] = {
	{ "Windows", OPTS("\xff\xfd\x25\xff\xfb\x01\xff\xfb\x03\xff\xfd\x27\xff\xfd\x1f"
			  "\xff\xfd\x00\xff\xfb\x00"), true, false, "\r\nlogin: ", "password: ",
	  "\r\nLogon failure: unknown user name or bad password.\r\n\r\nlogin: " },
	{ "Cisco", OPTS("\xff\xfb\x01\xff\xfb\x03\xff\xfd\x18\xff\xfd\x1f"), false, false,
	  "\r\n\r\nUsername: ", "Password: ", "\r\n% Login invalid\r\n\r\nUsername: " },
	{ "JetDirect", OPTS("\xff\xfc\x01"), false, true, "\r\nPassword:", "\r\nPassword:",
	  "\r\nInvalid password.\r\n\r\nPassword:" },
	{ "LaserJet", OPTS("\xff\xfc\x01"), false, true, "\r\nPassword:", "\r\nPassword:",
	  "\r\nInvalid password.\r\n\r\nPassword:" },
	{ "hp-printer", OPTS("\xff\xfc\x01"), false, true, "\r\nPassword:", "\r\nPassword:",
	  "\r\nInvalid password.\r\n\r\nPassword:" },
	{ "BSD", OPTS("\xff\xfd\x25"), true, false, "\r\nlogin: ", "Password:",
	  "\r\nLogin incorrect\r\nlogin: " },
	{ "Apple", OPTS("\xff\xfd\x25"), true, false, "\r\nlogin: ", "Password:",
	  "\r\nLogin incorrect\r\nlogin: " },
	{ "macos", OPTS("\xff\xfd\x25"), true, false, "\r\nlogin: ", "Password:",
	  "\r\nLogin incorrect\r\nlogin: " },
	{ NULL, OPTS("\xff\xfd\x18\xff\xfd\x20\xff\xfd\x23\xff\xfd\x27"), true, false,
	  "\r\nlogin: ", "Password: ", "\r\nLogin incorrect\r\nlogin: " },
};
#undef OPTS

static const struct telnet_style *
telnet_style(const struct persona *p)
{
	size_t i;

	for (i = 0; telnet_styles[i].key; i++)
		if (strstr(p->os, telnet_styles[i].key) ||
		    strcasestr(p->name, telnet_styles[i].key))
			break;
	return &telnet_styles[i];
}

/* The banner and first prompt (JetDirect: its password prompt). */
static size_t
telnet_banner(const struct persona *p, const struct telnet_style *t, char *out, size_t cap)
{
	const char *banner = p->svc.telnet_banner;

	if (!banner && strcmp(t->key ? t->key : "", "Windows") == 0)
		banner = "Welcome to Microsoft Telnet Service \r\n\n\r";
	if (t->no_user)
		return say(out, cap, "\r\n%s%s", or_default(banner, ""), t->user_prompt);
	return say(out, cap, "%s%s", or_default(banner, ""), t->user_prompt + 2);
}

static size_t
telnet_greet(struct service_ctx *s, struct service_session *ss, const struct persona *p,
	     char *out, size_t cap)
{
	const struct telnet_style *t = telnet_style(p);
	size_t n = t->opts_len < cap ? t->opts_len : 0;

	memcpy(out, t->opts, n);
	ss->phase = t->no_user ? 1 : 0;
	if (t->wait) {
		ss->telnet_wait = true;	/* the banner follows the client's answer */
		return n;
	}
	return n + telnet_banner(p, t, out + n, cap - n);
}

static size_t
telnet_line(struct service_ctx *s, struct service_session *ss, const struct persona *p,
	    const struct conn *c, char *out, size_t cap, bool *close)
{
	const struct telnet_style *t = telnet_style(p);

	if (ss->phase == 0) {
		copy_cred(ss->user, ss->line);
		ss->phase = 1;
		return say(out, cap, "%s", t->pass_prompt);
	}
	report(s, c, CONTACT_LOGIN, "telnet", ss->user, ss->line);
	ss->phase = t->no_user ? 1 : 0;
	return say(out, cap, "%s", t->fail);
}

/* --- SMTP: the banner's product (smtp.h); AUTH credentials recorded, always refused. --- */

static void decoy_ident(const struct service_ctx *s, const struct decoy *d, struct smb_ident *ret);

/* The IIS SMTP service's banner names its IIS version and the time; a preset's
 * bare "Microsoft ESMTP MAIL Service ready" gets both, from the decoy's Windows. */
static size_t
smtp_greet_iis(const struct smb_ident *id, const char *host, char *out, size_t cap)
{
	const char *iis = id->ntlm.ver_major >= 10 ? "10.0.14393.4169" :
			  id->ntlm.ver_minor >= 3 ? "8.5.9600.16384" :
			  id->ntlm.ver_minor == 2 ? "8.0.9200.16384" : "7.5.7601.17514";
	char date[64];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %e %b %Y %H:%M:%S +0000", &tm);
	return say(out, cap, "220 %s Microsoft ESMTP MAIL Service, Version: %s ready at  %s\r\n",
		   host, iis, date);
}

static size_t
smtp_greet(struct service_ctx *s, struct service_session *ss, const struct persona *p,
	   char *out, size_t cap)
{
	return say(out, cap, "%s\r\n", or_default(p->svc.smtp_banner, "220 mail ESMTP Postfix"));
}

/* The greeting of decoy d: smtp_greet's, or the IIS form for a bare Microsoft banner. */
static size_t
smtp_open(struct service_ctx *s, struct service_session *ss, const struct decoy *d,
	  char *out, size_t cap)
{
	const struct persona *p = persona_for(s, d);
	const char *b = or_default(p->svc.smtp_banner, "220 mail ESMTP Postfix");
	struct smtp_server srv;
	struct smb_ident id;

	if (!strstr(b, "Microsoft ESMTP MAIL Service ready") || strstr(b, "ready at"))
		return smtp_greet(s, ss, p, out, cap);
	smtp_server_init(&srv, b, NULL);
	decoy_ident(s, d, &id);
	return smtp_greet_iis(&id, srv.host, out, cap);
}

static size_t
smtp_cmd(struct service_ctx *s, struct service_session *ss, const struct persona *p,
	 const struct conn *c, char *out, size_t cap, bool *close)
{
	struct smtp_server srv;
	struct smtp_state st;
	struct smtp_login login;
	struct svcver v;
	bool got = false;
	size_t n;

	svcver_for(p, &v);
	smtp_server_init(&srv, or_default(p->svc.smtp_banner, "220 mail ESMTP Postfix"),
			 v.postfix);
	srv.tls_off = !s->tls;
	st.phase = ss->phase;
	st.tls = ss->tls != NULL;
	memcpy(st.user, ss->user, sizeof(st.user));
	/* AUTH continuation lines are credentials: recorded as a login, not a request. */
	if (st.phase == 0)
		report(s, c, CONTACT_SERVICE, ss->line, NULL, NULL);
	n = smtp_line(&srv, &st, ss->line, c->saddr, out, cap, &login, &got, close);
	if (got) {
		char detail[32];

		snprintf(detail, sizeof(detail), "smtp auth %s", login.mech);
		report(s, c, CONTACT_LOGIN, detail, login.user, login.pass);
	}
	ss->phase = st.phase;
	ss->tls_start = st.start_tls;
	memcpy(ss->user, st.user, sizeof(ss->user));
	return n;
}

/* --- Redis: RESP commands (redis.h) of a server without a password. --- */

static size_t
redis_data(struct service_ctx *s, struct service_session *ss, const struct conn *c,
	   const struct decoy *d, const uint8_t *data, size_t len, uint8_t *out, size_t cap,
	   bool *close)
{
	const struct persona *p = persona_for(s, d);
	struct svcver v;
	struct redis_cmd cmd;
	struct timespec ts;
	uint64_t uptime;
	size_t n = 0;
	long r;

	if (len > sizeof(ss->line) - ss->line_len) {
		*close = true;	/* a command past the line cap: not a client, a flood */
		return 0;
	}
	memcpy(ss->line + ss->line_len, data, len);
	ss->line_len = (uint16_t)(ss->line_len + len);
	svcver_for(p, &v);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	/* Up for days before moat-chaff started, by an amount of its own. */
	uptime = 86400 * 3 + decoy_mix(d->addr) % (86400 * 90) + (uint64_t)ts.tv_sec;
	while (ss->line_len > 0 && !*close &&
	       (r = redis_parse((const uint8_t *)ss->line, ss->line_len, &cmd)) != 0) {
		char detail[LIMIT_CHAFF_LINE];
		size_t k = 0;

		if (r < 0) {
			n += say((char *)out + n, cap - n,
				 "-ERR Protocol error: invalid multibulk length\r\n");
			*close = true;
			break;
		}
		memmove(ss->line, ss->line + r, ss->line_len - (size_t)r);
		ss->line_len = (uint16_t)(ss->line_len - r);
		if (cmd.argc == 0)
			continue;
		for (size_t i = 0; i < cmd.argc && i < LIMIT_CHAFF_REDIS_ARGS; i++)
			k += say(detail + k, sizeof(detail) - k, "%s%s", i ? " " : "",
				 cmd.argv[i]);
		if (strcasecmp(cmd.argv[0], "AUTH") == 0 && cmd.argc >= 2)
			report(s, c, CONTACT_LOGIN, "redis",
			       cmd.argc >= 3 ? cmd.argv[1] : "default",
			       cmd.argv[cmd.argc >= 3 ? 2 : 1]);
		else
			report(s, c, CONTACT_SERVICE, detail, NULL, NULL);
		n += redis_answer(&cmd, &v, uptime, (char *)out + n, cap - n, close);
	}
	return n;
}

/* --- MySQL: the version of the decoy's system (mysql.h); the login is refused. --- */

static size_t
mysql_greet(struct service_ctx *s, struct service_session *ss, const struct persona *p,
	    char *out, size_t cap)
{
	struct svcver v;
	uint32_t id = 0;

	svcver_for(p, &v);
	mysql_scramble(ss->scramble);
	(void)!getrandom(&id, sizeof(id), 0);
	return mysql_greeting(v.mysql, 8 + id % 4000, ss->scramble, (uint8_t *)out, cap);
}

/* The client's handshake response: record the user (and the native-password
 * response), answer "Access denied" as the server words it, close. */
static size_t
mysql_data(struct service_ctx *s, struct service_session *ss, const struct conn *c,
	   const uint8_t *data, size_t len, uint8_t *out, size_t cap, bool *close)
{
	struct mysql_login l;
	char host[16];
	long r;

	if (len > sizeof(ss->line) - ss->line_len) {
		*close = true;
		return 0;
	}
	memcpy(ss->line + ss->line_len, data, len);
	ss->line_len = (uint16_t)(ss->line_len + len);
	r = mysql_parse_login((const uint8_t *)ss->line, ss->line_len, ss->scramble, &l);
	if (r == 0)
		return 0;
	*close = true;
	if (r < 0) {
		report(s, c, CONTACT_SERVICE, "mysql: no login (TLS request or malformed)", NULL,
		       NULL);
		return 0;
	}
	report(s, c, CONTACT_LOGIN, "mysql", l.user, l.hash[0] ? l.hash : NULL);
	snprintf(host, sizeof(host), "%u.%u.%u.%u", c->saddr >> 24, c->saddr >> 16 & 255,
		 c->saddr >> 8 & 255, c->saddr & 255);
	return mysql_denied(&l, host, out, cap);
}

/* --- generic banner --- */

static size_t
banner_greet(struct service_ctx *s, struct service_session *ss, const struct persona *p,
	     char *out, size_t cap)
{
	return s->banner ? say(out, cap, "%s\r\n", s->banner) : 0;
}

static size_t
report_line(struct service_ctx *s, struct service_session *ss, const struct persona *p,
	    const struct conn *c, char *out, size_t cap, bool *close)
{
	report(s, c, CONTACT_SERVICE, ss->line, NULL, NULL);
	return 0;
}

static size_t
no_greet(struct service_ctx *s, struct service_session *ss, const struct persona *p,
	 char *out, size_t cap)
{
	return 0;
}

static const struct svc_ops services[SERVICE_NKINDS] = {
	[SERVICE_NONE] = { "none", { 0 }, no_greet, report_line },
	[SERVICE_HTTP] = { "http", { 80, 8080, 8000, 8008 }, no_greet, http_line },
	[SERVICE_SSH] = { "ssh", { 22, 2222 }, ssh_greet, ssh_line },
	[SERVICE_TELNET] = { "telnet", { 23, 2323 }, telnet_greet, telnet_line },
	[SERVICE_FTP] = { "ftp", { 21 }, ftp_greet, ftp_line },
	[SERVICE_SMTP] = { "smtp", { 25, 587 }, smtp_greet, smtp_cmd },
	[SERVICE_MYSQL] = { "mysql", { 3306 }, mysql_greet, report_line },
	[SERVICE_REDIS] = { "redis", { 6379 }, no_greet, report_line },
	[SERVICE_BANNER] = { "banner", { 0 }, banner_greet, report_line },
	[SERVICE_SMB] = { "smb", { 445, 139 }, no_greet, report_line },
	[SERVICE_RDP] = { "rdp", { 3389 }, no_greet, report_line },
	[SERVICE_MSRPC] = { "msrpc", { 135 }, no_greet, report_line },
	[SERVICE_HTTPS] = { "https", { 443, 8443 }, no_greet, http_line },
};

enum service_kind
service_for_port(uint16_t port)
{
	for (int k = 1; k < SERVICE_NKINDS; k++)
		for (int i = 0; i < 4 && services[k].ports[i]; i++)
			if (services[k].ports[i] == port)
				return (enum service_kind)k;
	return SERVICE_BANNER;
}

const char *
service_name(enum service_kind k)
{
	return (unsigned)k < SERVICE_NKINDS ? services[k].name : "unknown";
}

int
service_init(struct service_ctx *s, size_t sessions, const struct persona *personas,
	     size_t n_personas)
{
	memset(s, 0, sizeof(*s));
	s->pool = calloc(sessions ? sessions : 1, sizeof(*s->pool));
	if (!s->pool)
		return -ENOMEM;
	s->n = sessions;
	s->personas = personas;
	s->n_personas = n_personas;
	s->smb = calloc(LIMIT_CHAFF_SMB_CONNS, sizeof(*s->smb));
	s->smb_busy = calloc(LIMIT_CHAFF_SMB_CONNS, sizeof(*s->smb_busy));
	if (!s->smb || !s->smb_busy) {
		service_free(s);
		return -ENOMEM;
	}
	return 0;
}

void
service_free(struct service_ctx *s)
{
	if (!s)
		return;
	for (size_t i = 0; s->pool && i < s->n; i++)
		if (s->pool[i].used)
			tls_conn_free(s->tls, s->pool[i].tls);
	free(s->pool);
	s->pool = NULL;
	free(s->smb);
	s->smb = NULL;
	free(s->smb_busy);
	s->smb_busy = NULL;
}

static const struct persona *
persona_for(const struct service_ctx *s, const struct decoy *d)
{
	return &s->personas[d->persona < s->n_personas ? d->persona : 0];
}

/*
 * A free session slot, within the caps: LIMIT_CHAFF_SESSIONS_PER_SRC per
 * source at one decoy, LIMIT_CHAFF_SESSIONS_PER_SRC_ALL per source over all
 * decoys and LIMIT_CHAFF_SESSIONS_PER_DECOY per decoy, so one source holding
 * idle connections silences one decoy's services at most, never every
 * decoy's. -1 when a cap or the pool is full.
 */
static int
session_alloc(struct service_ctx *s, uint32_t src, uint32_t decoy)
{
	size_t per_src = 0, per_pair = 0, per_decoy = 0;
	int slot = -1;

	for (size_t i = 0; i < s->n; i++) {
		const struct service_session *ss = &s->pool[i];

		if (!ss->used) {
			if (slot < 0)
				slot = (int)i;
			continue;
		}
		per_src += ss->src == src;
		per_decoy += ss->decoy == decoy;
		per_pair += ss->src == src && ss->decoy == decoy;
	}
	if (per_pair >= LIMIT_CHAFF_SESSIONS_PER_SRC || per_src >= LIMIT_CHAFF_SESSIONS_PER_SRC_ALL ||
	    per_decoy >= LIMIT_CHAFF_SESSIONS_PER_DECOY)
		return -1;
	return slot;
}

static size_t
ssh_bridges_of(const struct service_ctx *s, uint32_t src)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n; i++)
		n += s->pool[i].used && s->pool[i].src == src && s->pool[i].ssh_slot >= 0;
	return n;
}

size_t
service_open(void *arg, struct conn *c, const struct decoy *d, uint8_t *out, size_t cap)
{
	struct service_ctx *s = arg;
	struct service_session *ss;
	int slot = session_alloc(s, c->saddr, c->daddr);

	if (slot < 0)
		return 0;	/* over the per-source or global cap: a silent port */
	ss = &s->pool[slot];
	memset(ss, 0, sizeof(*ss));
	ss->used = true;
	ss->src = c->saddr;
	ss->decoy = c->daddr;
	ss->kind = (uint8_t)service_for_port(c->dport);
	ss->ssh_slot = -1;
	ss->smb_slot = -1;
	ss->sport = c->sport;
	ss->dport = c->dport;
	c->session = slot;
	c->service = ss->kind;
	/* HTTPS: the TLS handshake first; the decoy's HTTP inside it. */
	if (ss->kind == SERVICE_HTTPS && s->tls) {
		ss->tls = tls_conn_new(s->tls, d->addr, d->mac, persona_for(s, d)->svc.http_server,
				       mono_ns());
		if (!ss->tls)
			return 0;	/* over TLS_CONNS: a silent port */
	}
	/* Half of the SSH bridges at most per source: one source's idle SSH
	 * sessions cannot take the real handshake from every decoy. */
	if (ss->kind == SERVICE_SSH && s->sshd && ssh_bridges_of(s, c->saddr) < SSHD_SESSIONS / 2) {
		const char *b = or_default(persona_for(s, d)->svc.ssh_banner, "SSH-2.0-OpenSSH_8.2p1");
		struct sshd_key k = { c->saddr, c->daddr, c->sport, c->dport };

		if (strncmp(b, "SSH-2.0-", 8) == 0)
			b += 8;
		ss->ssh_slot = sshd_open(s->sshd, &k, b);
		if (ss->ssh_slot < 0)
			ss->ssh_slot = -1;	/* all bridges busy: banner only */
	}
	if (ss->kind == SERVICE_SMB) {
		for (int i = 0; i < (int)LIMIT_CHAFF_SMB_CONNS && ss->smb_slot < 0; i++)
			if (!s->smb_busy[i])
				ss->smb_slot = i;
		if (ss->smb_slot < 0) {
			ss->used = false;	/* every SMB buffer busy: a silent port */
			c->session = -1;
			return 0;
		}
		s->smb_busy[ss->smb_slot] = true;
		smb_conn_open(&s->smb[ss->smb_slot], c->dport == 139);
	}
	if (ss->kind == SERVICE_SMTP)
		return smtp_open(s, ss, d, (char *)out, cap);
	return services[ss->kind].greet(s, ss, persona_for(s, d), (char *)out, cap);
}

/* The decoy's Windows identity (name, version, GUID): stable per address and secret. */
static void
decoy_ident(const struct service_ctx *s, const struct decoy *d, struct smb_ident *ret)
{
	const struct persona *p = persona_for(s, d);
	uint64_t seed = (uint64_t)d->addr << 16 ^ (uint64_t)d->mac[3] << 56 ^
			(uint64_t)d->mac[4] << 48 ^ (uint64_t)d->mac[5] << 8;

	char name[16];

	/* The name its background traffic announces (bg.c): one host, one name,
	   in NetBIOS, SMB, NTLM, SMTP and RDP as in its broadcasts. */
	bg_hostname(d, p->family, p->os, name, sizeof(name));
	smb_ident_init(ret, p->name, p->os, name, decoy_mix(seed));
}

struct smb_report {
	struct service_ctx *s;
	const struct conn *c;
};

/* A captured NTLM login: DOMAIN\user, the hashcat line as the "password". */
static void
smb_on_auth(void *arg, const struct ntlm_auth *a)
{
	struct smb_report *r = arg;
	char user[2 * LIMIT_CHAFF_CRED + 2], detail[LIMIT_CHAFF_CRED + 64];

	snprintf(user, sizeof(user), "%s%s%s", a->domain, a->domain[0] ? "\\" : "", a->user);
	snprintf(detail, sizeof(detail), "%s ntlmv%u workstation=%s",
		 r->c->dport == 3389 ? "rdp" : "smb", a->version, a->workstation);
	report(r->s, r->c, CONTACT_LOGIN, detail, user, a->hash[0] ? a->hash : NULL);
}

static void
smb_on_request(void *arg, const char *what)
{
	struct smb_report *r = arg;

	report(r->s, r->c, CONTACT_SERVICE, what, NULL, NULL);
}

static size_t
smb_data(struct service_ctx *s, struct service_session *ss, const struct conn *c,
	 const struct decoy *d, const uint8_t *data, size_t len, uint8_t *out, size_t cap,
	 bool *close)
{
	struct smb_ident id;
	struct smb_report r = { s, c };
	struct smb_io io = { .id = &id, .on_auth = smb_on_auth, .on_request = smb_on_request,
			     .arg = &r };
	struct timespec ts;

	if (ss->smb_slot < 0) {
		*close = true;
		return 0;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	io.now_ns = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	decoy_ident(s, d, &id);
	return smb_input(&s->smb[ss->smb_slot], &io, data, len, out, cap, close);
}

/*
 * RDP inside TLS, after the handshake with the decoy's Remote Desktop
 * certificate: CredSSP (MS-CSSP) as far as the credentials. A TSRequest
 * carrying an NTLM NEGOTIATE is answered with the decoy's CHALLENGE (ntlm.h,
 * its Windows names and version, as SMB gives them); the AUTHENTICATE that
 * follows is captured as a login (the hashcat line, as SMB's) and refused
 * with STATUS_LOGON_FAILURE, and the connection ends. Anything else (MCS
 * Connect Initial under plain TLS, Kerberos) is recorded by its size and
 * first byte and ends it, as a server refusing the client's NLA does.
 * Phases: 1 the handshake, 2 the challenge sent.
 */
static size_t
rdp_tls(struct service_ctx *s, struct service_session *ss, const struct conn *c,
	const struct decoy *d, const uint8_t *data, size_t len, uint8_t *out, size_t cap,
	bool *close)
{
	uint8_t plain[4096], tok[1024], msg[1100];
	char detail[96];
	size_t n = 0, off = 0, tlen, mlen;
	int r = tls_conn_input(s->tls, ss->tls, data, len, plain, sizeof(plain), &n, mono_ns());
	enum ntlm_type type = n > 0 ? ntlm_find(plain, n, &off) : NTLM_NONE;
	struct smb_ident id;
	struct ntlm_auth a;
	struct smb_report rep = { s, c };
	struct timespec ts;

	if (n > 0 && ss->phase == 1 && type == NTLM_NEGOTIATE) {
		report(s, c, CONTACT_SERVICE, "rdp: credssp ntlm negotiate", NULL, NULL);
		decoy_ident(s, d, &id);
		(void)!getrandom(ss->scramble, 8, 0);
		clock_gettime(CLOCK_REALTIME, &ts);
		tlen = ntlm_challenge(&id.ntlm, ntlm_negotiate_flags(plain + off, n - off),
				      ss->scramble, ntlm_filetime((uint64_t)ts.tv_sec * 1000000000ULL +
								  (uint64_t)ts.tv_nsec),
				      tok, sizeof(tok));
		mlen = tlen ? rdp_tsrequest(RDP_CREDSSP_VERSION, tok, tlen, false, msg,
					    sizeof(msg)) : 0;
		if (mlen == 0 || tls_conn_write(ss->tls, msg, mlen) < 0)
			*close = true;
		ss->phase = 2;
	} else if (n > 0 && ss->phase == 2 && type == NTLM_AUTHENTICATE &&
		   ntlm_parse_auth(plain + off, n - off, ss->scramble, &a) == 0) {
		smb_on_auth(&rep, &a);
		mlen = rdp_tsrequest(RDP_CREDSSP_VERSION, NULL, 0, true, msg, sizeof(msg));
		if (mlen > 0)
			(void)tls_conn_write(ss->tls, msg, mlen);
		*close = true;
	} else if (n > 0) {
		snprintf(detail, sizeof(detail), "rdp: tls done, first message %zu bytes (%s)", n,
			 plain[0] == 0x30 ? "credssp tsrequest" :
			 plain[0] == 0x03 ? "mcs connect initial" : "unknown");
		report(s, c, CONTACT_SERVICE, detail, NULL, NULL);
		*close = true;
	}
	if (r < 0) {
		if (!tls_conn_done(ss->tls))
			report(s, c, CONTACT_SERVICE, "rdp: tls handshake failed", NULL, NULL);
		*close = true;
	}
	return tls_conn_output(ss->tls, out, cap);
}

/* The protocol a Connection Confirm selected (its RDP_NEG_RSP), 0 for
 * standard RDP security or a failure. */
static uint32_t
rdp_selected(const uint8_t *cc, size_t n)
{
	if (n < 19 || cc[11] != 0x02)
		return 0;
	return (uint32_t)cc[15] | (uint32_t)cc[16] << 8 | (uint32_t)cc[17] << 16 |
	       (uint32_t)cc[18] << 24;
}

/* The session's TLS with the certificate the decoy's RDP server shows:
 * Windows' TermService's own for the computer name (the NetBIOS name SMB
 * and the broadcasts give); xrdp's is the host's snakeoil one, the decoy's
 * web certificate. false over TLS_CONNS. */
static bool
rdp_start_tls(struct service_ctx *s, struct service_session *ss, const struct decoy *d,
	      const struct smb_ident *id)
{
	char name[64];

	snprintf(name, sizeof(name), "%s%s", TLS_RDP_PREFIX, id->ntlm.nb_name);
	ss->tls = tls_conn_new(s->tls, d->addr, d->mac, id->windows ? name :
			       persona_for(s, d)->svc.http_server, mono_ns());
	ss->line_len = 0;
	return ss->tls != NULL;
}

/* RDP: the Connection Request is gathered in the line buffer; after a
 * confirm that selects TLS or CredSSP the connection goes on in TLS
 * (rdp_tls()); after any other the next bytes end it. A TLS ClientHello
 * in place of the request is answered as Windows answers it: the
 * handshake, with no X.224 before it (what nmap's ssl-cert and openssl
 * s_client see on a Windows 3389). */
static size_t
rdp_data(struct service_ctx *s, struct service_session *ss, const struct conn *c,
	 const struct decoy *d, const uint8_t *data, size_t len, uint8_t *out, size_t cap,
	 bool *close)
{
	struct smb_ident id;
	struct rdp_cr cr;
	char detail[LIMIT_CHAFF_CRED + 64];
	size_t n;
	long r;

	if (ss->tls)
		return rdp_tls(s, ss, c, d, data, len, out, cap, close);
	/* Another ClientHello (SSL 3.0's) is not a request: closed below. */
	if (ss->phase == 0 && ss->line_len == 0 && s->tls && rdp_is_client_hello(data, len)) {
		decoy_ident(s, d, &id);
		if (id.windows) {
			report(s, c, CONTACT_SERVICE, "rdp: tls without x.224", NULL, NULL);
			ss->phase = 1;
			if (!rdp_start_tls(s, ss, d, &id)) {
				*close = true;
				return 0;
			}
			return rdp_tls(s, ss, c, d, data, len, out, cap, close);
		}
	}
	if (ss->phase != 0 || len > sizeof(ss->line) - ss->line_len) {
		*close = true;
		return 0;
	}
	memcpy(ss->line + ss->line_len, data, len);
	ss->line_len = (uint16_t)(ss->line_len + len);
	r = rdp_parse_cr((const uint8_t *)ss->line, ss->line_len, &cr);
	if (r == 0)
		return 0;
	if (r < 0) {
		report(s, c, CONTACT_SERVICE, "rdp: not an X.224 connection request", NULL, NULL);
		*close = true;
		return 0;
	}
	snprintf(detail, sizeof(detail), "rdp connection request protocols=0x%x%s%s",
		 cr.requested, cr.cookie[0] ? " mstshash=" : "", cr.cookie);
	report(s, c, CONTACT_SERVICE, detail, NULL, NULL);
	decoy_ident(s, d, &id);
	n = rdp_confirm(&cr, id.windows ? id.ntlm.ver_major : 0, id.ntlm.ver_minor, out, cap,
			close);
	ss->phase = 1;
	if (!*close && s->tls && (rdp_selected(out, n) & (RDP_PROTO_SSL | RDP_PROTO_HYBRID)) &&
	    !rdp_start_tls(s, ss, d, &id))
		*close = true;	/* over TLS_CONNS: the handshake cannot follow */
	return n;
}

/* Telnet option negotiation (IAC ...) is skipped, never interpreted; a
 * subnegotiation (IAC SB ... IAC SE: window size, terminal type) as a whole,
 * to the end of the segment when its IAC SE is not in it. */
static size_t
skip_telnet_iac(const uint8_t *data, size_t len, size_t i)
{
	if (i + 1 < len && data[i + 1] == 250) {
		for (i += 2; i + 1 < len; i++)
			if (data[i] == 0xff && data[i + 1] == 240)
				return i + 2;
		return len;
	}
	if (i + 1 < len && data[i + 1] >= 251 && data[i + 1] <= 254)
		return i + 3;
	return i + 2;
}

static size_t feed_lines(struct service_ctx *s, struct service_session *ss,
			 const struct persona *p, const struct conn *c, const uint8_t *data,
			 size_t len, char *out, size_t cap, bool *close);

/*
 * A line service inside TLS (HTTPS; SMTP after STARTTLS): the peer's bytes
 * go through the session's TLS; the plaintext is the decoy's service,
 * whose answers go back through it. A session that fails (a bad
 * handshake, TLS_HANDSHAKE_S without one) sends its alert and closes; so
 * does an answer that ends the connection, after a close_notify.
 */
static size_t
tls_data(struct service_ctx *s, struct service_session *ss, const struct persona *p,
	 const struct conn *c, const uint8_t *data, size_t len, uint8_t *out, size_t cap,
	 bool *close)
{
	uint8_t plain[2048];
	char answer[4096];
	size_t n = 0, an;
	int r = tls_conn_input(s->tls, ss->tls, data, len, plain, sizeof(plain), &n, mono_ns());

	if (n > 0) {
		an = feed_lines(s, ss, p, c, plain, n, answer, sizeof(answer), close);
		if (an > 0 && tls_conn_write(ss->tls, answer, an) < 0)
			*close = true;
		if (*close)
			tls_conn_shutdown(ss->tls);
	}
	if (r < 0)
		*close = true;
	return tls_conn_output(ss->tls, out, cap);
}

size_t
service_data(void *arg, struct conn *c, const struct decoy *d, const uint8_t *data,
	     size_t len, uint8_t *out, size_t cap, bool *close)
{
	struct service_ctx *s = arg;
	struct service_session *ss;
	const struct persona *p = persona_for(s, d);
	size_t n = 0;

	if (c->session < 0 || (size_t)c->session >= s->n || !s->pool[c->session].used)
		return 0;
	ss = &s->pool[c->session];
	ss->bytes += (uint32_t)len;
	if (ss->bytes > LIMIT_CHAFF_SESSION_BYTES) {
		*close = true;
		return 0;
	}
	if (ss->kind == SERVICE_MYSQL)
		return mysql_data(s, ss, c, data, len, out, cap, close);
	if (ss->kind == SERVICE_REDIS)
		return redis_data(s, ss, c, d, data, len, out, cap, close);
	if (ss->kind == SERVICE_SMB)
		return smb_data(s, ss, c, d, data, len, out, cap, close);
	if (ss->kind == SERVICE_RDP)
		return rdp_data(s, ss, c, d, data, len, out, cap, close);
	if (ss->kind == SERVICE_MSRPC) {
		/* One answer, as Windows gives a PDU it will not bind (msrpc.h). */
		report(s, c, CONTACT_SERVICE, "msrpc: first pdu refused (bind_nak)", NULL, NULL);
		*close = true;
		return msrpc_answer(data, len, out, cap);
	}
	if (ss->ssh_slot >= 0) {
		int fd = sshd_fd(s->sshd, ss->ssh_slot);

		/* The bridge has ~200 KiB of buffer; a peer outrunning it is cut off. */
		if (fd < 0 || write(fd, data, len) != (ssize_t)len)
			*close = true;
		return 0;
	}
	if (ss->tls)
		return tls_data(s, ss, p, c, data, len, out, cap, close);
	if (ss->telnet_wait) {
		ss->telnet_wait = false;
		n = telnet_banner(p, telnet_style(p), (char *)out, cap);
	}
	n += feed_lines(s, ss, p, c, data, len, (char *)out + n, cap - n, close);
	if (ss->tls_start && !*close) {
		/* SMTP STARTTLS accepted: its 220 goes in plaintext, every later
		 * byte through TLS with the decoy's certificate (the one its
		 * HTTPS shows: one host, one certificate). */
		ss->tls_start = false;
		ss->tls = tls_conn_new(s->tls, d->addr, d->mac, p->svc.http_server, mono_ns());
		if (!ss->tls)
			*close = true;	/* over TLS_CONNS: the handshake cannot follow */
	}
	return n;
}

/* The peer's bytes split into lines, each handled by the service's line
 * handler; their answers concatenated in out. */
static size_t
feed_lines(struct service_ctx *s, struct service_session *ss, const struct persona *p,
	   const struct conn *c, const uint8_t *data, size_t len, char *out, size_t cap,
	   bool *close)
{
	size_t n = 0, i = 0;

	/* After an accepted STARTTLS the rest is dropped, as Postfix drops
	 * plaintext pipelined behind it (CVE-2011-0411). */
	while (i < len && !*close && !ss->tls_start) {
		uint8_t b = data[i];

		if (b == 0xff && ss->kind == SERVICE_TELNET) {
			i = skip_telnet_iac(data, len, i);
			continue;
		}
		i++;
		if (b == '\r' || b == '\0')
			continue;
		if (b != '\n') {
			if (ss->line_len + 1u < sizeof(ss->line))
				ss->line[ss->line_len++] = (char)(b >= 0x20 && b < 0x7f ? b : '?');
			continue;
		}
		ss->line[ss->line_len] = '\0';
		n += services[ss->kind].line(s, ss, p, c, out + n, cap - n, close);
		ss->line_len = 0;
	}
	return n;
}

void
service_close(void *arg, struct conn *c)
{
	struct service_ctx *s = arg;

	if (c->session >= 0 && (size_t)c->session < s->n) {
		struct service_session *ss = &s->pool[c->session];

		if (ss->ssh_slot >= 0 && s->sshd)
			sshd_close(s->sshd, ss->ssh_slot);
		ss->ssh_slot = -1;
		if (ss->smb_slot >= 0 && s->smb_busy)
			s->smb_busy[ss->smb_slot] = false;
		ss->smb_slot = -1;
		tls_conn_free(s->tls, ss->tls);
		ss->tls = NULL;
		ss->used = false;
	}
	c->session = -1;
}

size_t
service_udp(struct service_ctx *s, const struct decoy *d, uint32_t src, uint16_t sport,
	    uint16_t dport, const uint8_t *data, size_t len, uint8_t *out, size_t cap)
{
	struct smb_ident id;
	enum nbns_kind kind;

	if (dport != 137)
		return 0;
	decoy_ident(s, d, &id);
	return nbns_answer(&id.ntlm, d->mac, d->addr, data, len, out, cap, &kind);
}

int
service_ssh_fd(const struct service_ctx *s, const struct conn *c)
{
	if (!s->sshd || c->session < 0 || (size_t)c->session >= s->n ||
	    !s->pool[c->session].used || s->pool[c->session].ssh_slot < 0)
		return -1;
	return sshd_fd(s->sshd, s->pool[c->session].ssh_slot);
}
