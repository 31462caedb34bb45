/* bg: decoys' background traffic on one schedule heap. See bg.h. */
#include "chaff/bg.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chaff/emit.h"
#include "chaff/nd.h"
#include "chaff/vendor.h"
#include "common/wbuf.h"

#define MS	1000000ULL
#define SEC	1000000000ULL
#define MIN	(60 * SEC)

static const uint8_t bcast_mac[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t zero_mac[6] = { 0 };
static const uint8_t mdns_mac[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb };
#define MDNS_ADDR	0xe00000fbu	/* 224.0.0.251 */

/* --- schedule --- */

/* A uniform number in [0, 1) keyed by the secret, the decoy and a purpose. */
static double
unit(const struct bg_params *prm, uint32_t addr, uint64_t what)
{
	uint64_t h = decoy_mix(prm->secret ^ decoy_mix((uint64_t)addr << 16 ^ what));

	return (double)(h >> 11) * (1.0 / 9007199254740992.0);
}

/* What a purpose is, for unit(): stream, step and a tag. */
#define WHAT(tag, stream, step)	((uint64_t)(tag) << 40 | (uint64_t)(stream) << 32 | (step))
enum { TAG_START = 1, TAG_PERIOD, TAG_JITTER, TAG_LAG };

static uint64_t
jitter(const struct bg_params *prm, uint32_t addr, uint8_t stream, uint16_t step,
       uint64_t ns, double frac)
{
	double u = unit(prm, addr, WHAT(TAG_JITTER, stream, step));

	return (uint64_t)((double)ns * (1.0 - frac + 2.0 * frac * u));
}

/* RFC 5227 announcers: two gratuitous ARPs 2 s apart at start. */
static bool
rfc5227(uint8_t family)
{
	return family == VENDOR_FAM_WINDOWS || family == VENDOR_FAM_MACOS ||
	       family == VENDOR_FAM_IOS;
}

static bool
mdns_family(uint8_t family)
{
	return family == VENDOR_FAM_MACOS || family == VENDOR_FAM_IOS ||
	       family == VENDOR_FAM_PRINTER;
}

uint64_t
bg_first(const struct bg_params *prm, uint8_t family, uint32_t addr, uint8_t stream)
{
	uint64_t off = (uint64_t)((double)prm->window_ns * unit(prm, addr, WHAT(TAG_START, 0, 0)));

	if (stream == 0)
		return off;
	/* IPv6 comes up with the interface: DAD after RFC 4862 5.4.2's random
	 * delay of up to MAX_RTR_SOLICITATION_DELAY (1 s). */
	if (stream == 2)
		return off + (uint64_t)((double)SEC * unit(prm, addr, WHAT(TAG_LAG, 2, 0)));
	/* After the interface is configured (the ARP), the name services. */
	(void)family;
	return off + 500 * MS + (uint64_t)(500.0 * (double)MS * unit(prm, addr, WHAT(TAG_LAG, 1, 0)));
}

bool
bg_step(const struct bg_params *prm, uint8_t family, uint32_t addr, uint8_t stream,
	uint16_t step, enum bg_kind *ret_kind, uint64_t *ret_next_ns)
{
	uint64_t next;

	if (stream == 0) {
		unsigned n_start = rfc5227(family) ? 2 : 1;
		double period;

		if (step + 1u < n_start) {
			next = 2 * SEC;
		} else if (prm->interval_ns == 0) {
			next = 0;
		} else {
			period = (double)prm->interval_ns *
				 (0.75 + 0.5 * unit(prm, addr, WHAT(TAG_PERIOD, 0, 0)));
			next = jitter(prm, addr, 0, step, (uint64_t)period, 0.10);
			if (next < SEC)
				next = SEC;
		}
		*ret_kind = BG_ARP;
		*ret_next_ns = next;
		return true;
	}
	if (stream == 2) {
		/* Link-local DAD, then the global address's once the first has
		 * passed (RetransTimer, 1 s, DupAddrDetectTransmits 1) and the
		 * prefix is known; then nothing. */
		*ret_kind = BG_DAD6;
		*ret_next_ns = step == 0 ? jitter(prm, addr, 2, step, 1 * SEC, 0.10) : 0;
		return step < 2;
	}
	if (stream != 1)
		return false;
	if (family == VENDOR_FAM_WINDOWS) {
		if (step < 3) {
			*ret_kind = BG_NBNS;
			next = step < 2 ? 750 * MS : 1 * MIN;
		} else {
			unsigned k = step - 3u;

			*ret_kind = BG_BROWSER;
			next = k >= 3 ? 12 * MIN : (2ULL << k) * MIN;
		}
		*ret_next_ns = jitter(prm, addr, 1, step, next, 0.02);
		return true;
	}
	if (mdns_family(family)) {
		*ret_kind = BG_MDNS;
		if (step % 2 == 0)
			next = 1 * SEC;
		else
			next = 30 * MIN + (uint64_t)(60.0 * (double)MIN *
						     unit(prm, addr, WHAT(TAG_PERIOD, 1, step)));
		*ret_next_ns = next;
		return true;
	}
	return false;
}

/* --- heap --- */

static bool
before(const struct bg_entry *a, const struct bg_entry *b)
{
	return a->due < b->due;
}

static void
heap_push(struct bg *b, const struct bg_entry *e)
{
	uint32_t i;

	if (b->n >= b->cap) {
		b->dropped++;
		return;
	}
	i = b->n++;
	while (i > 0) {
		uint32_t up = (i - 1) / 2;

		if (!before(e, &b->heap[up]))
			break;
		b->heap[i] = b->heap[up];
		i = up;
	}
	b->heap[i] = *e;
}

static void
heap_pop(struct bg *b, struct bg_entry *ret)
{
	struct bg_entry last;
	uint32_t i = 0;

	*ret = b->heap[0];
	last = b->heap[--b->n];
	for (;;) {
		uint32_t c = 2 * i + 1;

		if (c >= b->n)
			break;
		if (c + 1 < b->n && before(&b->heap[c + 1], &b->heap[c]))
			c++;
		if (!before(&b->heap[c], &last))
			break;
		b->heap[i] = b->heap[c];
		i = c;
	}
	if (b->n)
		b->heap[i] = last;
}

int
bg_init(struct bg *b, const struct bg_params *prm, struct decoy_table *decoys,
	const struct persona *personas, size_t n_personas, const struct bg_group *groups,
	size_t n_groups, void (*send)(void *, const uint8_t *, size_t), void *arg)
{
	size_t cap = decoys->cap * 3;

	memset(b, 0, sizeof(*b));
	if (cap > UINT32_MAX)
		return -E2BIG;
	b->heap = calloc(cap ? cap : 1, sizeof(*b->heap));
	if (!b->heap)
		return -ENOMEM;
	b->cap = (uint32_t)cap;
	b->prm = *prm;
	b->decoys = decoys;
	b->personas = personas;
	b->n_personas = n_personas;
	b->groups = groups;
	b->n_groups = n_groups;
	b->send = send;
	b->arg = arg;
	return 0;
}

void
bg_free(struct bg *b)
{
	if (!b)
		return;
	free(b->heap);
	b->heap = NULL;
	b->n = b->cap = 0;
}

static uint8_t
mode_of(const struct bg *b, const struct decoy *d)
{
	return d->group < b->n_groups ? b->groups[d->group].mode : BG_MODE_ON;
}

static uint8_t
family_of(const struct bg *b, const struct decoy *d)
{
	return d->persona < b->n_personas ? b->personas[d->persona].family : VENDOR_FAM_OTHER;
}

static void
schedule(struct bg *b, const struct decoy *d, uint64_t now, bool claimed)
{
	uint8_t mode = mode_of(b, d), fam = family_of(b, d), a6[16];
	enum bg_kind kind;
	uint64_t next;

	if (mode == BG_MODE_OFF)
		return;
	if (!claimed) {
		heap_push(b, &(struct bg_entry){ .due = now + bg_first(&b->prm, fam, d->addr, 0),
						 .addr = d->addr, .step = 0, .stream = 0 });
	} else {
		/* Announced when claimed: on to its period (stream 0, step 1+). */
		uint16_t step = rfc5227(fam) ? 1 : 0;

		if (bg_step(&b->prm, fam, d->addr, 0, step, &kind, &next) && next)
			heap_push(b, &(struct bg_entry){ .due = now + next, .addr = d->addr,
							 .step = (uint16_t)(step + 1),
							 .stream = 0 });
	}
	if (mode == BG_MODE_ON && bg_step(&b->prm, fam, d->addr, 1, 0, &kind, &next))
		heap_push(b, &(struct bg_entry){ .due = now + bg_first(&b->prm, fam, d->addr, 1),
						 .addr = d->addr, .step = 0, .stream = 1 });
	/* IPv6 start-up (address announcements, as the ARPs are: every mode
	 * but off); a claimed address comes up on IPv4 only. */
	if (!claimed && decoy_addr6_of(b->decoys, d, true, a6))
		heap_push(b, &(struct bg_entry){ .due = now + bg_first(&b->prm, fam, d->addr, 2),
						 .addr = d->addr, .step = 0, .stream = 2 });
}

void
bg_start(struct bg *b, uint64_t now)
{
	b->credit = 1.0;
	b->credit_ns = now;
	for (size_t i = 0; i < b->decoys->n; i++)
		schedule(b, &b->decoys->v[i], now, false);
}

void
bg_add(struct bg *b, const struct decoy *d, uint64_t now)
{
	if (d)
		schedule(b, d, now, true);
}

/* --- names --- */

static const char *const first_names[] = {
	"Anna", "Ben", "Chloe", "David", "Emma", "Felix", "Grace", "Hugo",
	"Isabel", "Jonas", "Kate", "Liam", "Maria", "Noah", "Olivia", "Paul",
	"Rachel", "Sam", "Tom", "Zoe",
};

void
bg_hostname(const struct decoy *d, uint8_t family, const char *os, char *buf, size_t cap)
{
	static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	uint64_t h = decoy_mix((uint64_t)d->addr << 24 | (uint64_t)d->mac[3] << 16 |
			       (uint64_t)d->mac[4] << 8 | d->mac[5]);
	const char *who = first_names[h % (sizeof(first_names) / sizeof(first_names[0]))];
	char rnd[12];

	for (size_t i = 0; i < sizeof(rnd) - 1; i++) {
		rnd[i] = alnum[(h >> 8) % (sizeof(alnum) - 1)];
		h = decoy_mix(h);
	}
	rnd[sizeof(rnd) - 1] = '\0';
	switch (family) {
	case VENDOR_FAM_WINDOWS:
		/* Windows 10's setup names a PC DESKTOP- and 7 characters;
		 * Windows Server WIN- and 11. */
		if (os && strstr(os, "Server")) {
			snprintf(buf, cap, "WIN-%.11s", rnd);
		} else if (os && (strstr(os, "Windows 7") || strstr(os, "Vista") ||
				  strstr(os, "Windows XP"))) {
			/* Before 10, setup offered USER-PC. */
			snprintf(buf, cap, "%s-PC", who);
			for (char *c = buf; *c; c++)
				*c = (char)toupper((unsigned char)*c);
		} else {
			snprintf(buf, cap, "DESKTOP-%.7s", rnd);
		}
		break;
	case VENDOR_FAM_MACOS:
		snprintf(buf, cap, "%ss-MacBook-Pro", who);
		break;
	case VENDOR_FAM_IOS:
		snprintf(buf, cap, "%ss-iPhone", who);
		break;
	case VENDOR_FAM_PRINTER:
		/* HP JetDirect's default: NPI and the MAC's last three bytes. */
		snprintf(buf, cap, "NPI%02X%02X%02X", d->mac[3], d->mac[4], d->mac[5]);
		break;
	default:
		snprintf(buf, cap, "host-%02x%02x%02x", d->mac[3], d->mac[4], d->mac[5]);
		break;
	}
}

/* --- frames --- */

size_t
bg_nbns_name(const char *name, uint8_t suffix, uint8_t out[34])
{
	uint8_t raw[16];
	size_t n = strlen(name);

	memset(raw, ' ', sizeof(raw));
	for (size_t i = 0; i < 15 && i < n; i++)
		raw[i] = (uint8_t)toupper((unsigned char)name[i]);
	raw[15] = suffix;
	out[0] = 32;
	for (size_t i = 0; i < 16; i++) {
		out[1 + 2 * i] = (uint8_t)('A' + (raw[i] >> 4));
		out[2 + 2 * i] = (uint8_t)('A' + (raw[i] & 15));
	}
	out[33] = 0;
	return 34;
}

static void
put_label(struct wbuf *w, const char *s, size_t n)
{
	if (n == 0 || n > 63) {
		w->overflow = true;
		return;
	}
	wb_u8(w, (uint8_t)n);
	wb_bytes(w, s, n);
}

static void
put_name(struct wbuf *w, const char *instance, const char *domain)
{
	if (instance)
		put_label(w, instance, strlen(instance));
	while (domain && *domain) {
		const char *dot = strchr(domain, '.');
		size_t n = dot ? (size_t)(dot - domain) : strlen(domain);

		put_label(w, domain, n);
		domain += n + (dot ? 1 : 0);
	}
	wb_u8(w, 0);
}

size_t
bg_dns_name(uint8_t *buf, size_t cap, const char *instance, const char *domain)
{
	struct wbuf w = wb_init(buf, cap);

	put_name(&w, instance, domain);
	return wb_ok(&w) ? wb_len(&w) : 0;
}

size_t
bg_nbns_register(uint8_t *buf, size_t cap, uint16_t trn_id, const char *name, uint8_t suffix,
		 uint32_t addr)
{
	struct wbuf w = wb_init(buf, cap);
	uint8_t nm[34];

	bg_nbns_name(name, suffix, nm);
	wb_u16(&w, trn_id);
	wb_u16(&w, 0x2910);	/* request, opcode 5 (registration), RD, broadcast */
	wb_u16(&w, 1);		/* QDCOUNT */
	wb_u16(&w, 0);
	wb_u16(&w, 0);
	wb_u16(&w, 1);		/* ARCOUNT: the name's record */
	wb_bytes(&w, nm, sizeof(nm));
	wb_u16(&w, 0x0020);	/* NB */
	wb_u16(&w, 0x0001);	/* IN */
	wb_u16(&w, 0xc00c);	/* pointer to the question's name */
	wb_u16(&w, 0x0020);
	wb_u16(&w, 0x0001);
	wb_u32(&w, 300000);	/* TTL Windows registers with (3 d 11 h) */
	wb_u16(&w, 6);
	wb_u16(&w, 0x0000);	/* NB flags: unique name, B-node */
	wb_u32(&w, addr);
	return wb_ok(&w) ? wb_len(&w) : 0;
}

size_t
bg_browser_announce(uint8_t *buf, size_t cap, uint16_t dgm_id, uint32_t addr, const char *name,
		    const char *workgroup, uint32_t period_ms, uint8_t os_major, uint8_t os_minor)
{
	static const char slot[] = "\\MAILSLOT\\BROWSE";
	struct wbuf w = wb_init(buf, cap);
	uint8_t nm[34], *dlen;
	char server[16];
	size_t data_len;

	/* NetBIOS datagram header (RFC 1002 4.4.1): DIRECT_GROUP, first
	 * fragment, B-node; length and offset patched below. */
	wb_u8(&w, 0x11);
	wb_u8(&w, 0x02);
	wb_u16(&w, dgm_id);
	wb_u32(&w, addr);
	wb_u16(&w, 138);
	dlen = wb_reserve(&w, 2);
	wb_u16(&w, 0);		/* packet offset */
	bg_nbns_name(name, 0x00, nm);
	wb_bytes(&w, nm, sizeof(nm));
	bg_nbns_name(workgroup, 0x1d, nm);
	wb_bytes(&w, nm, sizeof(nm));

	/* HostAnnouncement ([MS-BRWS] 2.2.1). */
	data_len = 1 + 1 + 4 + 16 + 1 + 1 + 4 + 1 + 1 + 2 + 1;
	/* SMB header: SMB_COM_TRANSACTION, everything else zero. */
	wb_bytes(&w, "\xffSMB", 4);
	wb_u8(&w, 0x25);
	wb_zero(&w, 27);
	/* Transaction request: 14 words + 3 setup words. */
	wb_u8(&w, 17);
	wb_u16_le(&w, 0);			/* total parameter count */
	wb_u16_le(&w, (uint16_t)data_len);	/* total data count */
	wb_u16_le(&w, 0);			/* max parameter count */
	wb_u16_le(&w, 0);			/* max data count */
	wb_u8(&w, 0);				/* max setup count */
	wb_u8(&w, 0);
	wb_u16_le(&w, 0);			/* flags */
	wb_u32_le(&w, 1000);			/* timeout */
	wb_u16_le(&w, 0);
	wb_u16_le(&w, 0);			/* parameter count */
	wb_u16_le(&w, 86);			/* parameter offset (from the SMB header) */
	wb_u16_le(&w, (uint16_t)data_len);	/* data count */
	wb_u16_le(&w, 86);			/* data offset: 32 + 1 + 34 + 2 + 17 */
	wb_u8(&w, 3);				/* setup count */
	wb_u8(&w, 0);
	wb_u16_le(&w, 1);			/* mailslot write */
	wb_u16_le(&w, 1);			/* priority */
	wb_u16_le(&w, 2);			/* class: unreliable, broadcast */
	wb_u16_le(&w, (uint16_t)(sizeof(slot) + data_len));	/* byte count */
	wb_bytes(&w, slot, sizeof(slot));	/* with its NUL: 17 bytes */
	wb_u8(&w, 0x01);			/* HostAnnouncement */
	wb_u8(&w, 0);				/* update count */
	wb_u32_le(&w, period_ms);
	memset(server, 0, sizeof(server));
	for (size_t i = 0; i < 15 && name[i]; i++)
		server[i] = (char)toupper((unsigned char)name[i]);
	wb_bytes(&w, server, 16);
	wb_u8(&w, os_major);
	wb_u8(&w, os_minor);
	/* workstation, server, NT workstation, potential browser */
	wb_u32_le(&w, 0x00011003);
	wb_u8(&w, 15);				/* browser protocol 15.1 */
	wb_u8(&w, 1);
	wb_u16_le(&w, 0xaa55);
	wb_u8(&w, 0);				/* empty comment */
	if (!wb_ok(&w))
		return 0;
	wb_patch_u16(dlen, (uint16_t)(wb_len(&w) - 14));	/* after the 14-byte header */
	return wb_len(&w);
}

/* One resource record's header; returns where its RDLENGTH goes. */
static uint8_t *
rr(struct wbuf *w, const char *instance, const char *domain, uint16_t type, bool flush,
   uint32_t ttl)
{
	put_name(w, instance, domain);
	wb_u16(w, type);
	wb_u16(w, (uint16_t)(flush ? 0x8001 : 0x0001));
	wb_u32(w, ttl);
	return wb_reserve(w, 2);
}

static void
rr_end(struct wbuf *w, uint8_t *rdlen, size_t start)
{
	if (wb_ok(w))
		wb_patch_u16(rdlen, (uint16_t)(wb_len(w) - start));
}

static void
txt(struct wbuf *w, const char *s)
{
	size_t n = strlen(s);

	if (n > 255) {
		w->overflow = true;
		return;
	}
	wb_u8(w, (uint8_t)n);
	wb_bytes(w, s, n);
}

/* A printer's service: PTR, SRV and TXT of "INST._svc._tcp.local". */
static unsigned
printer_service(struct wbuf *w, const char *inst, const char *svc, uint16_t port,
		const char *host, const char *printer, const char *rp)
{
	char dom[32], ty[128];
	uint8_t *len;
	size_t at;

	snprintf(dom, sizeof(dom), "%s._tcp.local", svc);
	len = rr(w, NULL, dom, 12, false, 4500);
	at = wb_len(w);
	put_name(w, inst, dom);
	rr_end(w, len, at);
	len = rr(w, inst, dom, 33, true, 120);
	at = wb_len(w);
	wb_u16(w, 0);
	wb_u16(w, 0);
	wb_u16(w, port);
	put_name(w, host, "local");
	rr_end(w, len, at);
	len = rr(w, inst, dom, 16, true, 4500);
	at = wb_len(w);
	txt(w, "txtvers=1");
	txt(w, "qtotal=1");
	txt(w, rp);
	snprintf(ty, sizeof(ty), "ty=%s", printer);
	txt(w, ty);
	txt(w, "pdl=application/postscript,application/vnd.hp-PCL");
	rr_end(w, len, at);
	return 3;
}

size_t
bg_mdns_announce(uint8_t *buf, size_t cap, const char *host, uint32_t addr, const char *model,
		 const char *printer, const char *tag)
{
	struct wbuf w = wb_init(buf, cap);
	char rev[32], inst[64], m[96];
	uint8_t *ancount, *len;
	unsigned n = 0;
	size_t at;

	wb_u16(&w, 0);		/* ID 0 */
	wb_u16(&w, 0x8400);	/* response, authoritative */
	wb_u16(&w, 0);
	ancount = wb_reserve(&w, 2);
	wb_u16(&w, 0);
	wb_u16(&w, 0);
	len = rr(&w, host, "local", 1, true, 120);
	at = wb_len(&w);
	wb_u32(&w, addr);
	rr_end(&w, len, at);
	n++;
	snprintf(rev, sizeof(rev), "%u.%u.%u.%u.in-addr.arpa", addr & 255, addr >> 8 & 255,
		 addr >> 16 & 255, addr >> 24);
	len = rr(&w, NULL, rev, 12, true, 120);
	at = wb_len(&w);
	put_name(&w, host, "local");
	rr_end(&w, len, at);
	n++;
	if (model) {
		len = rr(&w, host, "_device-info._tcp.local", 16, false, 4500);
		at = wb_len(&w);
		snprintf(m, sizeof(m), "model=%s", model);
		txt(&w, m);
		txt(&w, "osxvers=18");
		rr_end(&w, len, at);
		n++;
	}
	if (printer) {
		snprintf(inst, sizeof(inst), "%.48s [%.6s]", printer, tag ? tag : "");
		n += printer_service(&w, inst, "_ipp", 631, host, printer, "rp=ipp/print");
		n += printer_service(&w, inst, "_printer", 515, host, printer, "rp=auto");
	}
	if (!wb_ok(&w))
		return 0;
	wb_patch_u16(ancount, (uint16_t)n);
	return wb_len(&w);
}

size_t
bg_udp_frame(uint8_t *buf, size_t cap, const uint8_t eth_dst[6], const uint8_t eth_src[6],
	     uint32_t src, uint32_t dst, uint8_t ttl, uint16_t ip_id, uint16_t sport,
	     uint16_t dport, const uint8_t *payload, size_t len)
{
	uint8_t udp[EMIT_FRAME_MAX];
	struct wbuf w = wb_init(udp, sizeof(udp));
	struct emit_ip ip = { .src = src, .dst = dst, .ttl = ttl, .proto = 17, .id = ip_id };

	wb_u16(&w, sport);
	wb_u16(&w, dport);
	wb_u16(&w, (uint16_t)(8 + len));
	wb_u16(&w, 0);		/* filled in by emit_ipv4() */
	wb_bytes(&w, payload, len);
	if (!wb_ok(&w))
		return 0;
	return emit_ipv4(buf, cap, eth_dst, eth_src, &ip, udp, wb_len(&w));
}

size_t
bg_dad6_frame(uint8_t *buf, size_t cap, const uint8_t mac[6], const uint8_t target[16])
{
	static const uint8_t unspec[16];
	uint8_t body[32], sn[16], dmac[6];

	nd_solicited_node(target, sn);
	nd_mcast_mac(sn, dmac);
	return nd_emit6(buf, cap, dmac, mac, unspec, sn, ND_HLIM, 0, FRAME_IPPROTO_ICMP6, body,
			nd_build_ns(body, sizeof(body), target, NULL));
}

/* --- sending --- */

static uint16_t
ip_id(struct decoy *d, const struct persona *p)
{
	switch (p->ti) {
	case PERSONA_IPID_ZERO:
		return 0;
	case PERSONA_IPID_INC:
		return d->ipid_tcp++;
	case PERSONA_IPID_BI:
		return d->ipid_tcp = (uint16_t)(d->ipid_tcp + 256);
	case PERSONA_IPID_CONST:
		return p->ti_val;
	default:
		return (uint16_t)decoy_rand(d);
	}
}

/* The printer's make and model from the fingerprint's name ("HP LaserJet
 * 2420 printer" -> "HP LaserJet 2420"). */
static void
printer_model(const char *os, char *buf, size_t cap)
{
	size_t n;
	char *p;

	snprintf(buf, cap, "%s", os);
	if ((p = strstr(buf, " (")))
		*p = '\0';
	n = strlen(buf);
	if (n > 8 && strcmp(buf + n - 8, " printer") == 0)
		buf[n - 8] = '\0';
}

static void
windows_version(const char *os, uint8_t *ret_major, uint8_t *ret_minor)
{
	static const struct { const char *s; uint8_t major, minor; } v[] = {
		{ "Windows XP", 5, 1 }, { "2003", 5, 2 }, { "Vista", 6, 0 }, { "2008 R2", 6, 1 },
		{ "2008", 6, 0 }, { "Windows 7", 6, 1 }, { "Windows 8.1", 6, 3 },
		{ "2012 R2", 6, 3 }, { "Windows 8", 6, 2 }, { "2012", 6, 2 },
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		if (strstr(os, v[i].s)) {
			*ret_major = v[i].major;
			*ret_minor = v[i].minor;
			return;
		}
	}
	*ret_major = 10;
	*ret_minor = 0;
}

static void
send_event(struct bg *b, struct decoy *d, enum bg_kind kind, uint16_t step)
{
	const struct persona *p = &b->personas[d->persona < b->n_personas ? d->persona : 0];
	uint8_t out[EMIT_FRAME_MAX], pl[1400];
	char host[64], model[OSDB_NAME_MAX], tag[8];
	uint32_t bc = 0xffffffffu;
	uint8_t len = d->group < b->n_groups ? b->groups[d->group].bcast_len : 0;
	uint8_t major, minor;
	size_t n = 0, f = 0;

	if (len > 0 && len < 31)
		bc = d->addr | (0xffffffffu >> len);
	if (kind == BG_ARP) {
		f = emit_arp(out, sizeof(out), bcast_mac, 1, d->mac, d->addr, zero_mac, d->addr);
	} else if (kind == BG_NBNS) {
		bg_hostname(d, p->family, p->os, host, sizeof(host));
		n = bg_nbns_register(pl, sizeof(pl), (uint16_t)decoy_rand(d), host, 0x00, d->addr);
		f = bg_udp_frame(out, sizeof(out), bcast_mac, d->mac, d->addr, bc,
				 p->tcp[PERSONA_SEQ1].ttl, ip_id(d, p), 137, 137, pl, n);
	} else if (kind == BG_BROWSER) {
		bg_hostname(d, p->family, p->os, host, sizeof(host));
		windows_version(p->os, &major, &minor);
		/* The announced period is the interval to the next one. */
		n = bg_browser_announce(pl, sizeof(pl), (uint16_t)decoy_rand(d), d->addr, host,
					"WORKGROUP", step >= 6 ? 720000 : 60000u << (step - 3 + 1),
					major, minor);
		f = bg_udp_frame(out, sizeof(out), bcast_mac, d->mac, d->addr, bc,
				 p->tcp[PERSONA_SEQ1].ttl, ip_id(d, p), 138, 138, pl, n);
	} else if (kind == BG_DAD6) {
		struct decoy6 *e;
		uint8_t a6[16];

		if (!decoy_addr6_of(b->decoys, d, step == 0, a6) ||
		    ((e = decoy_find6(b->decoys, a6)) && e->released))
			return;
		f = bg_dad6_frame(out, sizeof(out), d->mac, a6);
	} else if (kind == BG_MDNS) {
		bg_hostname(d, p->family, p->os, host, sizeof(host));
		snprintf(tag, sizeof(tag), "%02X%02X%02X", d->mac[3], d->mac[4], d->mac[5]);
		printer_model(p->os, model, sizeof(model));
		n = bg_mdns_announce(pl, sizeof(pl), host, d->addr,
				     p->family == VENDOR_FAM_MACOS ? "MacBookPro15,1" : NULL,
				     p->family == VENDOR_FAM_PRINTER ? model : NULL, tag);
		/* RFC 6762 11: mDNS goes out with IP TTL 255. */
		f = bg_udp_frame(out, sizeof(out), mdns_mac, d->mac, d->addr, MDNS_ADDR, 255,
				 ip_id(d, p), 5353, 5353, pl, n);
	}
	if (f == 0)
		return;
	b->send(b->arg, out, f);
	b->sent[kind]++;
}

uint64_t
bg_run(struct bg *b, uint64_t now)
{
	double burst = b->prm.pps / 10.0 > 1.0 ? b->prm.pps / 10.0 : 1.0;
	struct bg_entry e;

	if (b->prm.pps <= 0 || b->n == 0)
		return UINT64_MAX;
	if (now > b->credit_ns) {
		b->credit += b->prm.pps * (double)(now - b->credit_ns) / 1e9;
		if (b->credit > burst)
			b->credit = burst;
		b->credit_ns = now;
	}
	while (b->n > 0 && b->heap[0].due <= now && b->credit >= 1.0) {
		struct decoy *d;
		enum bg_kind kind;
		uint64_t next;

		heap_pop(b, &e);
		d = decoy_find(b->decoys, e.addr);
		if (!d || mode_of(b, d) == BG_MODE_OFF ||
		    (e.stream == 1 && mode_of(b, d) != BG_MODE_ON) ||
		    !bg_step(&b->prm, family_of(b, d), d->addr, e.stream, e.step, &kind, &next)) {
			b->dropped++;
			continue;
		}
		send_event(b, d, kind, e.step);
		b->credit -= 1.0;
		if (next) {
			uint16_t s = (uint16_t)(e.step + 1u);

			if (s > 65000)
				s = (uint16_t)(s - 1000);	/* keeps the parity mDNS needs */
			heap_push(b, &(struct bg_entry){ .due = now + next, .addr = e.addr,
							 .step = s, .stream = e.stream });
		}
	}
	if (b->n == 0)
		return UINT64_MAX;
	if (b->heap[0].due > now)
		return b->heap[0].due;
	/* Held back by the budget: wait for more than one frame's worth. */
	return now + BG_TICK_NS;
}
