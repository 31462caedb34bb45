/* persona: presets and the translation of a fingerprint into answer values. */
#include "chaff/persona.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "chaff/frame.h"

static const struct persona_preset presets[] = {
	{ "linux-2.6", "Linux 2.6.32 - 3.10", 0, { 0x00, 0x14, 0x22 },
	  { "Apache/2.2.15 (CentOS)", "SSH-2.0-OpenSSH_5.3", "220 (vsFTPd 2.2.2)",
	    "CentOS release 6.10 (Final)\r\nKernel 2.6.32-754.el6.x86_64 on an x86_64\r\n",
	    "220 mail.localdomain ESMTP Postfix" } },
	{ "linux-3", "Linux 3.2 - 4.9", 0, { 0x00, 0x30, 0x48 },
	  { "Apache/2.4.25 (Debian)", "SSH-2.0-OpenSSH_7.4p1 Debian-10+deb9u7",
	    "220 ProFTPD 1.3.5b Server (Debian)", "Debian GNU/Linux 9\r\n",
	    "220 mail.localdomain ESMTP Exim 4.89" } },
	{ "linux-4.15", "Linux 4.15 - 5.6", 0, { 0x00, 0x1b, 0x21 },
	  { "nginx/1.14.0 (Ubuntu)", "SSH-2.0-OpenSSH_7.6p1 Ubuntu-4ubuntu0.3",
	    "220 (vsFTPd 3.0.3)", "Ubuntu 18.04.6 LTS\r\n",
	    "220 mail.localdomain ESMTP Postfix (Ubuntu)" } },
	{ "linux-5.4", "Linux 5.0 - 5.4", 0, { 0xf8, 0xbc, 0x12 },
	  { "nginx/1.18.0 (Ubuntu)", "SSH-2.0-OpenSSH_8.2p1 Ubuntu-4ubuntu0.5",
	    "220 (vsFTPd 3.0.3)", "Ubuntu 20.04.6 LTS\r\n",
	    "220 mail.localdomain ESMTP Postfix (Ubuntu)" } },
	{ "windows-7", "Microsoft Windows 7 SP1", 0, { 0x00, 0x1a, 0x4b },
	  { "Microsoft-IIS/7.5", NULL, "220 Microsoft FTP Service", NULL,
	    "220 mail Microsoft ESMTP MAIL Service ready" } },
	{ "windows-10", "Microsoft Windows 10 1607", 0, { 0xd4, 0xbe, 0xd9 },
	  { "Microsoft-IIS/10.0", "SSH-2.0-OpenSSH_for_Windows_7.7", "220 Microsoft FTP Service",
	    NULL, "220 mail Microsoft ESMTP MAIL Service ready" } },
	{ "windows-2016", "Microsoft Windows Server 2016 build 10586 - 14393", 0,
	  { 0xa4, 0xba, 0xdb },
	  { "Microsoft-IIS/10.0", "SSH-2.0-OpenSSH_for_Windows_7.7", "220 Microsoft FTP Service",
	    NULL, "220 mail Microsoft ESMTP MAIL Service ready" } },
	{ "macos", "Apple macOS 10.14 (Mojave) (Darwin 18.2.0 - 18.6.0)", 0, { 0x3c, 0x07, 0x54 },
	  { "Apache/2.4.34 (Unix)", "SSH-2.0-OpenSSH_7.9", NULL, NULL, NULL } },
	{ "freebsd-12", "FreeBSD 12.1-RELEASE", 0, { 0x00, 0xa0, 0xc9 },
	  { "nginx/1.16.1", "SSH-2.0-OpenSSH_7.9 FreeBSD-20200214", "220 FreeBSD FTP server ready.",
	    "FreeBSD/amd64 (decoy) (pts/0)\r\n", "220 mail.localdomain ESMTP Sendmail 8.15.2/8.15.2" } },
	{ "openbsd-6", "OpenBSD 6.3", 0, { 0x00, 0x15, 0xc5 },
	  { "OpenBSD httpd", "SSH-2.0-OpenSSH_7.7", NULL, NULL,
	    "220 mail.localdomain ESMTP OpenSMTPD" } },
	{ "cisco-ios", "Cisco 1921 router (IOS 15.1)", 0, { 0x00, 0x00, 0x0c },
	  { "cisco-IOS", "SSH-2.0-Cisco-1.25", NULL, "\r\nUser Access Verification\r\n", NULL } },
	{ "hp-printer", "HP LaserJet 2420 printer", 0, { 0x00, 0x12, 0x79 },
	  { "HP-ChaiSOE/1.0", NULL, "220 JD FTP Server Ready",
	    "HP JetDirect\r\n", NULL } },
	{ "axis-camera", "Axis M3006-V network camera", 0, { 0x00, 0x40, 0x8c },
	  { "Boa/0.94.14rc21", NULL, "220 AXIS M3006-V Network Camera 5.40.9 (2013) ready.",
	    NULL, NULL } },
};

size_t
persona_preset_count(void)
{
	return sizeof(presets) / sizeof(presets[0]);
}

const struct persona_preset *
persona_preset_at(size_t i)
{
	return i < persona_preset_count() ? &presets[i] : NULL;
}

const struct persona_preset *
persona_preset_find(const char *name)
{
	for (size_t i = 0; i < persona_preset_count(); i++)
		if (strcmp(presets[i].name, name) == 0)
			return &presets[i];
	return NULL;
}

/* Builder state: the fingerprint, and the first error. */
struct build {
	const struct osdb_fp *fp;
	char *err;
	size_t errlen;
	int r;
	uint8_t fast_ts_log2;
};

__attribute__((format(printf, 2, 3))) static void
fail(struct build *b, const char *fmt, ...)
{
	va_list ap;

	if (b->r < 0)
		return;
	b->r = -EINVAL;
	va_start(ap, fmt);
	vsnprintf(b->err, b->errlen, fmt, ap);
	va_end(ap);
}

static uint64_t
num(struct build *b, enum osdb_test t, const char *key, bool mid, uint64_t dflt)
{
	const char *e = osdb_get(b->fp, t, key);
	uint64_t v;

	if (!e || e[0] == '\0')
		return dflt;
	if (osdb_pick(e, mid, &v) < 0) {
		fail(b, "%s: cannot pick a value for %s=%s", b->fp->name, key, e);
		return dflt;
	}
	return v;
}

static char
letter(struct build *b, enum osdb_test t, const char *key, char dflt)
{
	const char *e = osdb_get(b->fp, t, key);

	return e && e[0] ? e[0] : dflt;
}

static uint8_t
ttl_of(struct build *b, enum osdb_test t)
{
	/* T is the TTL nmap saw (adjusted to distance 1), usually a range
	 * around the initial TTL; its middle is the initial TTL, and an exact
	 * T (HP's T=42) must be sent as is. TG, nmap's rounded guess, only
	 * when T is absent. */
	uint64_t v = num(b, t, "T", true, 0);

	if (v == 0)
		v = num(b, t, "TG", false, 64);
	return v > 255 ? 255 : (uint8_t)v;
}

static uint8_t
flags_of(const char *s)
{
	static const struct { char c; uint8_t f; } map[] = {
		{ 'E', FRAME_TCP_ECE }, { 'U', FRAME_TCP_URG }, { 'A', FRAME_TCP_ACK },
		{ 'P', FRAME_TCP_PSH }, { 'R', FRAME_TCP_RST }, { 'S', FRAME_TCP_SYN },
		{ 'F', FRAME_TCP_FIN }, { 'C', FRAME_TCP_CWR },
	};
	uint8_t f = 0;

	for (; *s && *s != '|'; s++)
		for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
			if (map[i].c == *s)
				f |= map[i].f;
	return f;
}

static uint8_t
seq_of(const char *s)
{
	if (!s || strncmp(s, "Z", 1) == 0)
		return PERSONA_SEQ_ZERO;
	if (strncmp(s, "A+", 2) == 0)
		return PERSONA_SEQ_ACK1;
	if (s[0] == 'A')
		return PERSONA_SEQ_ACK;
	return PERSONA_SEQ_OTHER;
}

static uint8_t
ack_of(const char *s)
{
	if (!s || strncmp(s, "Z", 1) == 0)
		return PERSONA_ACK_ZERO;
	if (strncmp(s, "S+", 2) == 0)
		return PERSONA_ACK_SEQ1;
	if (s[0] == 'S')
		return PERSONA_ACK_SEQ;
	return PERSONA_ACK_OTHER;
}

/* The common fields of a T-style line (T1..T7, and ECN). */
static void
tcp_line(struct build *b, enum osdb_test t, struct persona_tcp *ret)
{
	const char *e;
	struct persona_tcp p;

	memset(&p, 0, sizeof(p));
	if (!b->fp->test[t].present || letter(b, t, "R", 'Y') == 'N') {
		*ret = p;
		return;
	}
	p.respond = true;
	p.df = letter(b, t, "DF", 'N') == 'Y';
	p.ttl = ttl_of(b, t);
	p.win = (uint16_t)num(b, t, "W", false, 0);
	e = osdb_get(b->fp, t, "F");
	p.flags = e ? flags_of(e) : (uint8_t)(FRAME_TCP_RST | FRAME_TCP_ACK);
	p.seq = seq_of(osdb_get(b->fp, t, "S"));
	p.ack = ack_of(osdb_get(b->fp, t, "A"));
	e = osdb_get(b->fp, t, "Q");
	if (e) {
		p.quirk_reserved = strchr(e, 'R') != NULL && (strchr(e, '|') == NULL ||
				   strchr(e, 'R') < strchr(e, '|'));
		p.quirk_urgent = strchr(e, 'U') != NULL && (strchr(e, '|') == NULL ||
				 strchr(e, 'U') < strchr(e, '|'));
	}
	e = osdb_get(b->fp, t, "O");
	if (e)
		osdb_pick_str(e, p.opts, sizeof(p.opts));
	*ret = p;
}

static void
seq_probes(struct build *b, struct persona *p)
{
	static const char *const okey[6] = { "O1", "O2", "O3", "O4", "O5", "O6" };
	static const char *const wkey[6] = { "W1", "W2", "W3", "W4", "W5", "W6" };
	struct persona_tcp t1;

	tcp_line(b, OSDB_T1, &t1);
	for (int i = 0; i < 6; i++) {
		const char *o = osdb_get(b->fp, OSDB_OPS, okey[i]);

		p->tcp[PERSONA_SEQ1 + i] = t1;
		p->tcp[PERSONA_SEQ1 + i].win = (uint16_t)num(b, OSDB_WIN, wkey[i], false, 0xffff);
		if (o)
			osdb_pick_str(o, p->tcp[PERSONA_SEQ1 + i].opts,
				      sizeof(p->tcp[PERSONA_SEQ1 + i].opts));
	}
}

static enum persona_ipid
ipid_of(struct build *b, const char *key, uint16_t *ret_val)
{
	const char *e = osdb_get(b->fp, OSDB_SEQ, key);
	char v[16];
	uint64_t n;

	if (!e)
		return PERSONA_IPID_INC;
	osdb_pick_str(e, v, sizeof(v));
	if (strcmp(v, "Z") == 0)
		return PERSONA_IPID_ZERO;
	if (strcmp(v, "I") == 0)
		return PERSONA_IPID_INC;
	if (strcmp(v, "BI") == 0)
		return PERSONA_IPID_BI;
	if (strcmp(v, "RI") == 0)
		return PERSONA_IPID_RI;
	if (strcmp(v, "RD") == 0)
		return PERSONA_IPID_RD;
	if (osdb_pick(v, false, &n) == 0 && n <= 0xffff) {
		*ret_val = (uint16_t)n;
		return PERSONA_IPID_CONST;
	}
	fail(b, "%s: unknown IP ID class %s=%s", b->fp->name, key, e);
	return PERSONA_IPID_INC;
}

static int32_t
ts_hz_of(struct build *b)
{
	const char *e = osdb_get(b->fp, OSDB_SEQ, "TS");
	uint64_t v;

	if (!e || e[0] == 'U')
		return -1;
	if (osdb_pick(e, false, &v) < 0)
		return -1;
	/* nmap's classes: 0 zero, 1 ~2 Hz, 7 ~100 Hz, 8 ~200 Hz, else 2^v;
	 * beyond 2^20 Hz it is a random offset per connection (FreeBSD,
	 * OpenBSD: TS=22). */
	if (v >= 0x14) {
		/* A fingerprint file may claim more: clamp, 2^47 Hz is already random. */
		b->fast_ts_log2 = (uint8_t)(v < 0x30 ? v : 0x2f);
		return PERSONA_TS_RANDOM;
	}
	switch (v) {
	case 0: return 0;
	case 1: return 2;
	case 7: return 100;
	case 8: return 250;
	default: return (int32_t)(1u << v);
	}
}

static void
seq_generator(struct build *b, struct persona *p)
{
	/* ISR = 8 log2(mean ISN increments per second); SP = 8 log2(their
	 * standard deviation). Even "random" stacks are generated as a rate
	 * with a controlled spread (see respond.c next_isn): it hits nmap's
	 * SP/ISR windows far more reliably than uniform ISNs, whose 5-sample
	 * spread wanders. Only rates a 32-bit sequence space cannot show
	 * between probes 100 ms apart are random. */
	uint64_t isr = num(b, OSDB_SEQ, "ISR", true, 0);
	uint64_t sp = num(b, OSDB_SEQ, "SP", true, 0);
	uint64_t isr_lo = num(b, OSDB_SEQ, "ISR", false, 0);
	uint64_t sp_lo = num(b, OSDB_SEQ, "SP", false, 0);

	p->isn_gcd = (uint32_t)num(b, OSDB_SEQ, "GCD", false, 1);
	if (p->isn_gcd == 0)
		p->isn_gcd = 1;
	p->isn_rate = isr ? exp2((double)isr / 8.0) : 0;
	p->random_isn = isr > 0x118;
	p->isr = (double)isr;
	p->sp = (double)sp;
	/* Half of the way from the middle to either end of the range. */
	p->isr_var = (uint8_t)(isr > isr_lo && isr - isr_lo < 64 ? (isr - isr_lo) / 2 : 0);
	p->sp_var = (uint8_t)(sp > sp_lo && sp - sp_lo < 64 ? (sp - sp_lo) / 2 : 0);
	p->isn_spread = 0;
	/* nmap divides the standard deviation by the GCD when the GCD is
	 * above 9 (osscan2.cc): SP is then in GCD steps, not in ISNs. */
	if (p->isn_rate > 0 && sp > 0)
		p->isn_spread = exp2((double)sp / 8.0) * (p->isn_gcd > 9 ? p->isn_gcd : 1) /
				p->isn_rate;
	p->ti = ipid_of(b, "TI", &p->ti_val);
	p->ci = ipid_of(b, "CI", &p->ci_val);
	p->ii = ipid_of(b, "II", &p->ii_val);
	p->ss_shared = letter(b, OSDB_SEQ, "SS", 'S') == 'S';
	p->ts_hz = ts_hz_of(b);
	p->ts_fast_log2 = b->fast_ts_log2;
}

static void
u1_line(struct build *b, struct persona_u1 *u)
{
	const char *e;

	memset(u, 0, sizeof(*u));
	if (!b->fp->test[OSDB_U1].present || letter(b, OSDB_U1, "R", 'Y') == 'N')
		return;
	u->respond = true;
	u->df = letter(b, OSDB_U1, "DF", 'N') == 'Y';
	u->ttl = ttl_of(b, OSDB_U1);
	u->ipl = (uint16_t)num(b, OSDB_U1, "IPL", false, 0x38);
	u->un = (uint32_t)num(b, OSDB_U1, "UN", false, 0);
	e = osdb_get(b->fp, OSDB_U1, "RIPL");
	u->ripl = !e || e[0] == 'G' ? -1 : (int32_t)num(b, OSDB_U1, "RIPL", false, 0);
	e = osdb_get(b->fp, OSDB_U1, "RID");
	u->rid = !e || e[0] == 'G' ? -1 : (int32_t)num(b, OSDB_U1, "RID", false, 0);
	u->ripck = letter(b, OSDB_U1, "RIPCK", 'G');
	e = osdb_get(b->fp, OSDB_U1, "RUCK");
	u->ruck = !e || e[0] == 'G' ? -1 : (int32_t)num(b, OSDB_U1, "RUCK", false, 0);
	u->rud = letter(b, OSDB_U1, "RUD", 'G');
}

static void
ie_line(struct build *b, struct persona_ie *ie)
{
	const char *cd;
	uint64_t v;

	memset(ie, 0, sizeof(*ie));
	if (!b->fp->test[OSDB_IE].present || letter(b, OSDB_IE, "R", 'Y') == 'N')
		return;
	ie->respond = true;
	ie->dfi = letter(b, OSDB_IE, "DFI", 'N');
	ie->ttl = ttl_of(b, OSDB_IE);
	cd = osdb_get(b->fp, OSDB_IE, "CD");
	if (!cd || cd[0] == 'Z' || cd[0] == '\0')
		ie->cd = 'Z';
	else if (cd[0] == 'S' || cd[0] == 'O')
		ie->cd = 'S';
	else if (osdb_pick(cd, false, &v) == 0 && v <= 0xff) {
		ie->cd = 'V';
		ie->cd_val = (uint8_t)v;
	} else
		ie->cd = 'Z';
}

/*
 * The TCP timers and ICMP timestamp habit of the fingerprint's OS family,
 * from each system's defaults:
 * - Linux (and Linux-based devices: Axis): TCP_TIMEOUT_INIT 1 s,
 *   tcp_synack_retries 5 (1, 2, 4, 8, 16 s), TCP_RTO_MIN 200 ms,
 *   tcp_retries2 15; icmp_timestamp answered (no sysctl turns it off);
 *   segments of an established connection take their IP ID from the
 *   socket's own counter (inet_id, random start), not the SYN/ACK's 0.
 * - Windows (Vista and later): InitialRto 3 s,
 *   TcpMaxConnectResponseRetransmissions 2, minimum RTO 300 ms,
 *   TcpMaxDataRetransmissions 5; ICMP timestamps not answered (XP/2003 did).
 * - FreeBSD (11 and later) and macOS: TCPTV_RTOBASE 1 s, syncache
 *   rexmtlimit 3, TCPTV_MIN 30 ms (macOS 10 ms is rounded up alike),
 *   TCP_MAXRXTSHIFT 12; FreeBSD answers timestamps (icmp.tstamprepl=1),
 *   macOS does not (net.inet.icmp.timestamp=0).
 * - OpenBSD: TCPTV_SRTTDFLT 3 s, the syn cache retransmits until
 *   TCPTV_KEEP_INIT (75 s): 4 times; tstamprepl=1.
 * - Anything else (routers, printers, embedded stacks): 3 s (RFC 1122's
 *   initial RTO), 3 retransmissions of a SYN/ACK, 8 of data, timestamps
 *   answered (IOS and printers do).
 */
static void
os_timers(struct persona *p)
{
	const char *n = p->os;

	/* Anything else first; families override it. */
	p->rto_init_ms = 3000, p->rto_min_ms = 1000;
	p->synack_retries = 3, p->data_retries = 8;
	p->icmp_tstamp = true;
	if (strstr(n, "Windows")) {
		p->rto_init_ms = 3000, p->rto_min_ms = 300;
		p->synack_retries = 2, p->data_retries = 5;
		p->icmp_tstamp = strstr(n, "XP") || strstr(n, "2000") || strstr(n, "2003");
	} else if (strstr(n, "Linux") || strstr(n, "Android") || strstr(n, "Axis")) {
		p->rto_init_ms = 1000, p->rto_min_ms = 200;
		p->synack_retries = 5, p->data_retries = 15;
		p->ipid_per_conn = true;
	} else if (strstr(n, "FreeBSD")) {
		p->rto_init_ms = 1000, p->rto_min_ms = 30;
		p->synack_retries = 3, p->data_retries = 12;
	} else if (strstr(n, "macOS") || strstr(n, "Mac OS") || strstr(n, "Darwin") ||
		   strstr(n, "iOS")) {
		p->rto_init_ms = 1000, p->rto_min_ms = 30;
		p->synack_retries = 3, p->data_retries = 12;
		p->icmp_tstamp = false;
	} else if (strstr(n, "OpenBSD")) {
		p->rto_init_ms = 3000, p->rto_min_ms = 1000;
		p->synack_retries = 4, p->data_retries = 12;
	}
}

int
persona_from_fp(const struct persona_preset *preset, const struct osdb_fp *fp,
		struct persona *ret, char *err, size_t errlen)
{
	struct build b = { .fp = fp, .err = err, .errlen = errlen, .r = 0 };
	struct persona p;

	memset(&p, 0, sizeof(p));
	if (!fp->test[OSDB_T1].present || !fp->test[OSDB_SEQ].present) {
		snprintf(err, errlen, "%s: fingerprint has no SEQ or T1 line", fp->name);
		return -EINVAL;
	}
	snprintf(p.name, sizeof(p.name), "%s", preset ? preset->name : "custom");
	snprintf(p.os, sizeof(p.os), "%s", fp->name);
	/* A bare fingerprint's OUI and banners: vendor_persona() (vendor.c)
	 * replaces these with those its Class line implies. */
	if (preset) {
		memcpy(p.oui, preset->oui, 3);
		p.svc = preset->svc;
	} else {
		p.oui[0] = 0x00, p.oui[1] = 0x1b, p.oui[2] = 0x21;
	}
	seq_generator(&b, &p);
	seq_probes(&b, &p);
	tcp_line(&b, OSDB_ECN, &p.tcp[PERSONA_ECN]);
	p.tcp[PERSONA_ECN].flags = FRAME_TCP_SYN | FRAME_TCP_ACK;
	p.ecn_cc = (uint8_t)letter(&b, OSDB_ECN, "CC", 'N');
	for (int i = 0; i < 6; i++)
		tcp_line(&b, (enum osdb_test)(OSDB_T2 + i), &p.tcp[PERSONA_T2 + i]);
	u1_line(&b, &p.u1);
	ie_line(&b, &p.ie);
	os_timers(&p);
	if (b.r < 0)
		return b.r;
	*ret = p;
	return 0;
}
