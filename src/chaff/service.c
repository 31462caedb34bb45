/* service: line-based decoy services that record and deny. */
#include "chaff/service.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

struct svc_ops {
	const char *name;
	uint16_t ports[4];
	size_t (*greet)(struct service_ctx *s, struct service_session *ss, const struct persona *p,
			char *out, size_t cap);
	/* One complete input line (without CR/LF); *close ends the session. */
	size_t (*line)(struct service_ctx *s, struct service_session *ss, const struct persona *p,
		       const struct conn *c, char *out, size_t cap, bool *close);
};

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
		{ "nginx", "<!DOCTYPE html>\n<html>\n<head>\n<title>Welcome to nginx!</title>\n"
			   "</head>\n<body>\n<h1>Welcome to nginx!</h1>\n<p>If you see this page, "
			   "the nginx web server is successfully installed and working.</p>\n"
			   "</body>\n</html>\n" },
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
	char body[1024], date[64];
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
	keep = !ss->http_keep ? "Connection: close\r\n" :
	       f == HTTP_APACHE ? "Keep-Alive: timeout=5, max=100\r\nConnection: Keep-Alive\r\n" :
	       "Connection: keep-alive\r\n";
	allow = ss->http_status == 405 && f != HTTP_NGINX ? "Allow: GET, HEAD, POST, OPTIONS\r\n" : "";
	/* Each server's header order, as they send them. */
	switch (f) {
	case HTTP_APACHE:
		n = say(out, cap, "HTTP/1.1 %u %s\r\nDate: %s\r\nServer: %s\r\n%s"
			"Content-Length: %zu\r\n%sContent-Type: text/html%s\r\n\r\n",
			ss->http_status, http_reason(ss->http_status, f), date, server, allow, blen,
			keep, ss->http_status == 200 ? "" : "; charset=iso-8859-1");
		break;
	case HTTP_IIS:
		n = say(out, cap, "HTTP/1.1 %u %s\r\nContent-Type: text/html\r\nServer: %s\r\n%s"
			"Date: %s\r\n%sContent-Length: %zu\r\n\r\n", ss->http_status,
			http_reason(ss->http_status, f), server, allow, date,
			ss->http_keep ? "" : "Connection: close\r\n", blen);
		break;
	default:
		n = say(out, cap, "HTTP/1.1 %u %s\r\nServer: %s\r\nDate: %s\r\n"
			"Content-Type: text/html\r\nContent-Length: %zu\r\n%s%s\r\n",
			ss->http_status, http_reason(ss->http_status, f), server, date, blen, keep,
			allow);
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

/* --- Telnet: login/password prompts. --- */

static size_t
telnet_greet(struct service_ctx *s, struct service_session *ss, const struct persona *p,
	     char *out, size_t cap)
{
	return say(out, cap, "%s\r\nlogin: ", or_default(p->svc.telnet_banner, ""));
}

static size_t
telnet_line(struct service_ctx *s, struct service_session *ss, const struct persona *p,
	    const struct conn *c, char *out, size_t cap, bool *close)
{
	if (ss->phase == 0) {
		copy_cred(ss->user, ss->line);
		ss->phase = 1;
		return say(out, cap, "Password: ");
	}
	report(s, c, CONTACT_LOGIN, "telnet", ss->user, ss->line);
	ss->phase = 0;
	return say(out, cap, "\r\nLogin incorrect\r\nlogin: ");
}

/* --- SMTP: greeting, EHLO, AUTH refused. --- */

static size_t
smtp_greet(struct service_ctx *s, struct service_session *ss, const struct persona *p,
	   char *out, size_t cap)
{
	return say(out, cap, "%s\r\n", or_default(p->svc.smtp_banner, "220 mail ESMTP Postfix"));
}

static size_t
smtp_line(struct service_ctx *s, struct service_session *ss, const struct persona *p,
	  const struct conn *c, char *out, size_t cap, bool *close)
{
	report(s, c, CONTACT_SERVICE, ss->line, NULL, NULL);
	if (strncasecmp(ss->line, "EHLO", 4) == 0)
		return say(out, cap, "250-mail\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
				     "250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n");
	if (strncasecmp(ss->line, "HELO", 4) == 0)
		return say(out, cap, "250 mail\r\n");
	if (strncasecmp(ss->line, "AUTH", 4) == 0)
		return say(out, cap, "535 5.7.8 Error: authentication failed\r\n");
	if (strncasecmp(ss->line, "QUIT", 4) == 0) {
		*close = true;
		return say(out, cap, "221 2.0.0 Bye\r\n");
	}
	return say(out, cap, "530 5.7.0 Must issue a STARTTLS command first\r\n");
}

/* --- Redis: AUTH recorded, everything else needs it. --- */

static size_t
redis_line(struct service_ctx *s, struct service_session *ss, const struct persona *p,
	   const struct conn *c, char *out, size_t cap, bool *close)
{
	/* Inline commands only; RESP arrays arrive as "*N" / "$N" lines, skipped. */
	if (ss->line[0] == '*' || ss->line[0] == '$')
		return 0;
	report(s, c, CONTACT_SERVICE, ss->line, NULL, NULL);
	if (strncasecmp(ss->line, "PING", 4) == 0)
		return say(out, cap, "-NOAUTH Authentication required.\r\n");
	if (strncasecmp(ss->line, "AUTH ", 5) == 0) {
		report(s, c, CONTACT_LOGIN, "redis", "default", ss->line + 5);
		return say(out, cap, "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
	}
	return say(out, cap, "-NOAUTH Authentication required.\r\n");
}

/* --- MySQL: a protocol-10 greeting; the first reply is denied. --- */

static size_t
mysql_greet(struct service_ctx *s, struct service_session *ss, const struct persona *p,
	    char *out, size_t cap)
{
	static const char ver[] = "5.7.33-0ubuntu0.18.04.1";
	size_t n = 4, body;

	if (cap < 128)
		return 0;
	out[n++] = 10;
	memcpy(out + n, ver, sizeof(ver));
	n += sizeof(ver);
	memcpy(out + n, "\x08\x00\x00\x00", 4);		/* connection id */
	n += 4;
	memcpy(out + n, "abcdefgh\0", 9);		/* auth data part 1 + filler */
	n += 9;
	memcpy(out + n, "\xff\xf7\x08\x02\x00\xff\x81\x15", 8); /* caps, charset, status, caps */
	n += 8;
	out[n++] = 21;					/* auth data length */
	memset(out + n, 0, 10);
	n += 10;
	memcpy(out + n, "ijklmnopqrst\0", 13);
	n += 13;
	memcpy(out + n, "mysql_native_password", 22);
	n += 22;
	body = n - 4;
	out[0] = (char)(body & 0xff);
	out[1] = (char)(body >> 8);
	out[2] = 0;
	out[3] = 0;
	return n;
}

/* The client's handshake response: record the user name, answer "Access denied". */
static size_t
mysql_deny(struct service_ctx *s, const struct conn *c, const uint8_t *data, size_t len,
	   uint8_t *out, size_t cap, bool *close)
{
	static const char msg[] = "Access denied for user";
	char user[LIMIT_CHAFF_CRED] = "";
	size_t body = 1 + 2 + 1 + 5 + sizeof(msg) - 1, u = 0;

	/* 4-byte header, 4 caps, 4 max packet, 1 charset, 23 filler, then the
	 * NUL-terminated user name. */
	for (size_t i = 36; i < len && data[i] != 0 && u + 1 < sizeof(user); i++)
		user[u++] = (char)(data[i] >= 0x20 && data[i] < 0x7f ? data[i] : '?');
	user[u] = '\0';
	report(s, c, CONTACT_LOGIN, "mysql", user, NULL);
	*close = true;
	if (cap < 4 + body)
		return 0;
	out[0] = (uint8_t)body;
	out[1] = 0;
	out[2] = 0;
	out[3] = 2;
	out[4] = 0xff;
	out[5] = 0x15;	/* error 1045, little-endian */
	out[6] = 0x04;
	out[7] = '#';
	memcpy(out + 8, "28000", 5);
	memcpy(out + 13, msg, sizeof(msg) - 1);
	return 4 + body;
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
	[SERVICE_SMTP] = { "smtp", { 25, 587 }, smtp_greet, smtp_line },
	[SERVICE_MYSQL] = { "mysql", { 3306 }, mysql_greet, report_line },
	[SERVICE_REDIS] = { "redis", { 6379 }, no_greet, redis_line },
	[SERVICE_BANNER] = { "banner", { 0 }, banner_greet, report_line },
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
	return services[ss->kind].greet(s, ss, persona_for(s, d), (char *)out, cap);
}

/* Telnet option negotiation (IAC ...) is skipped, never interpreted. */
static size_t
skip_telnet_iac(const uint8_t *data, size_t len, size_t i)
{
	if (i + 1 < len && data[i + 1] >= 251 && data[i + 1] <= 254)
		return i + 3;
	return i + 2;
}

static size_t feed_lines(struct service_ctx *s, struct service_session *ss,
			 const struct persona *p, const struct conn *c, const uint8_t *data,
			 size_t len, char *out, size_t cap, bool *close);

/*
 * HTTPS: the peer's bytes go through the session's TLS; the plaintext is
 * the decoy's HTTP, whose answers go back through it. A session that
 * fails (a bad handshake, TLS_HANDSHAKE_S without one) sends its alert
 * and closes; so does an answer that ends the HTTP connection, after a
 * close_notify.
 */
static size_t
https_data(struct service_ctx *s, struct service_session *ss, const struct persona *p,
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

	if (c->session < 0 || (size_t)c->session >= s->n || !s->pool[c->session].used)
		return 0;
	ss = &s->pool[c->session];
	ss->bytes += (uint32_t)len;
	if (ss->bytes > LIMIT_CHAFF_SESSION_BYTES) {
		*close = true;
		return 0;
	}
	if (ss->kind == SERVICE_MYSQL)
		return mysql_deny(s, c, data, len, out, cap, close);
	if (ss->ssh_slot >= 0) {
		int fd = sshd_fd(s->sshd, ss->ssh_slot);

		/* The bridge has ~200 KiB of buffer; a peer outrunning it is cut off. */
		if (fd < 0 || write(fd, data, len) != (ssize_t)len)
			*close = true;
		return 0;
	}
	if (ss->tls)
		return https_data(s, ss, p, c, data, len, out, cap, close);
	return feed_lines(s, ss, p, c, data, len, (char *)out, cap, close);
}

/* The peer's bytes split into lines, each handled by the service's line
 * handler; their answers concatenated in out. */
static size_t
feed_lines(struct service_ctx *s, struct service_session *ss, const struct persona *p,
	   const struct conn *c, const uint8_t *data, size_t len, char *out, size_t cap,
	   bool *close)
{
	size_t n = 0, i = 0;

	while (i < len && !*close) {
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
		tls_conn_free(s->tls, ss->tls);
		ss->tls = NULL;
		ss->used = false;
	}
	c->session = -1;
}

int
service_ssh_fd(const struct service_ctx *s, const struct conn *c)
{
	if (!s->sshd || c->session < 0 || (size_t)c->session >= s->n ||
	    !s->pool[c->session].used || s->pool[c->session].ssh_slot < 0)
		return -1;
	return sshd_fd(s->sshd, s->pool[c->session].ssh_slot);
}
