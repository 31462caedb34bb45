/* respond: user-space ARP/ICMP/TCP/UDP responder driven by personalities. */
#include "chaff/respond.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "chaff/emit.h"
#include "chaff/frame.h"
#include "common/limits.h"

/* The MSS of a 1500-byte Ethernet MTU: what every OS presets advertise. */
#define ETHERNET_MSS 1460u

static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t zero_mac[6];

static const char *const contact_names[CONTACT_NKINDS] = {
	[CONTACT_ARP] = "arp", [CONTACT_PING] = "ping", [CONTACT_SYN] = "syn_scan",
	[CONTACT_CONNECT] = "connect", [CONTACT_NULL] = "null_scan",
	[CONTACT_FIN] = "fin_scan", [CONTACT_XMAS] = "xmas_scan", [CONTACT_ACK] = "ack_scan",
	[CONTACT_OSPROBE] = "os_probe", [CONTACT_UDP] = "udp_scan",
	[CONTACT_SERVICE] = "service", [CONTACT_LOGIN] = "login",
	[CONTACT_CONFLICT] = "arp_conflict",
};

const char *
respond_contact_name(enum respond_contact_kind k)
{
	return (unsigned)k < CONTACT_NKINDS ? contact_names[k] : "unknown";
}

int
respond_init(struct respond *r, struct decoy_table *decoys, const struct persona *personas,
	     size_t n_personas, const struct respond_group *groups, size_t n_groups,
	     size_t max_conns, const struct respond_hooks *hooks)
{
	memset(r, 0, sizeof(*r));
	r->decoys = decoys;
	r->personas = personas;
	r->n_personas = n_personas;
	r->groups = groups;
	r->n_groups = n_groups;
	r->hooks = *hooks;
	r->icmp_tokens = LIMIT_CHAFF_ICMP_ERR_BURST;
	return conn_table_init(&r->conns, max_conns, decoy_mix(decoys->secret ^ 0xc0));
}

void
respond_free(struct respond *r)
{
	if (!r)
		return;
	conn_table_free(&r->conns);
}

static void
send_frame(struct respond *r, const uint8_t *buf, size_t len)
{
	uint8_t tagged[EMIT_FRAME_MAX + 4];

	if (len == 0)
		return;
	r->stats.sent++;
	if (r->tx_vlan == 0 || len < 14 || len > EMIT_FRAME_MAX) {
		r->hooks.send(r->hooks.arg, buf, len);
		return;
	}
	/* Answer on the VLAN the question came from: insert the 802.1Q tag. */
	memcpy(tagged, buf, 12);
	tagged[12] = FRAME_ETH_VLAN >> 8;
	tagged[13] = FRAME_ETH_VLAN & 0xff;
	tagged[14] = (uint8_t)(r->tx_vlan >> 8 & 0x0f);
	tagged[15] = (uint8_t)r->tx_vlan;
	memcpy(tagged + 16, buf + 12, len - 12);
	r->hooks.send(r->hooks.arg, tagged, len + 4);
}

static bool
vlan_allowed(const struct respond *r, uint16_t vlan)
{
	if (vlan == 0)
		return true;
	for (size_t i = 0; i < r->n_vlans; i++)
		if (r->vlans[i] == vlan)
			return true;
	return false;
}

static void
contact(struct respond *r, enum respond_contact_kind kind, const struct frame *f,
	const struct decoy *d, uint16_t sport, uint16_t dport)
{
	struct respond_contact c = {
		.kind = kind, .decoy = d->addr, .sport = sport, .dport = dport,
	};

	if (!r->hooks.contact)
		return;
	c.src = f->kind == FRAME_ARP ? f->arp.spa : f->ip.src;
	c.proto = f->kind == FRAME_ARP ? 0 : f->ip.proto;
	memcpy(c.src_mac, f->src, 6);
	r->hooks.contact(r->hooks.arg, &c);
}

bool
respond_contact_proven(enum respond_contact_kind k)
{
	return k == CONTACT_CONNECT || k == CONTACT_SERVICE || k == CONTACT_LOGIN;
}

static const struct persona *
persona_of(const struct respond *r, const struct decoy *d)
{
	return &r->personas[d->persona < r->n_personas ? d->persona : 0];
}

static bool
port_open(const uint16_t *ports, size_t n, uint16_t port)
{
	for (size_t i = 0; i < n; i++)
		if (ports[i] == port)
			return true;
	return false;
}

static bool
tcp_open(const struct respond *r, const struct decoy *d, uint16_t port)
{
	const struct respond_group *g;

	if (d->group >= r->n_groups)
		return false;
	g = &r->groups[d->group];
	return port_open(g->tcp_ports, g->n_tcp, port);
}

static bool
udp_open(const struct respond *r, const struct decoy *d, uint16_t port)
{
	const struct respond_group *g;

	if (d->group >= r->n_groups)
		return false;
	g = &r->groups[d->group];
	return port_open(g->udp_ports, g->n_udp, port);
}

/* --- per-decoy generators --- */

static uint16_t
next_ipid(struct decoy *d, enum persona_ipid mode, uint16_t val, uint16_t *ctr)
{
	switch (mode) {
	case PERSONA_IPID_ZERO:
		return 0;
	case PERSONA_IPID_CONST:
		return val;
	case PERSONA_IPID_BI:
		*ctr = (uint16_t)(*ctr + 256);
		return *ctr;
	case PERSONA_IPID_RI:
		do {
			*ctr = (uint16_t)(*ctr + 1000 + decoy_rand(d) % 4000);
		} while (*ctr % 256 == 0);
		return *ctr;
	case PERSONA_IPID_RD:
		/* Random, but every step past nmap's 20000 threshold either way. */
		*ctr = (uint16_t)(*ctr + 25000 + decoy_rand(d) % 15536);
		return *ctr;
	case PERSONA_IPID_INC:
	default:
		return ++*ctr;
	}
}

static uint16_t
tcp_ipid(const struct persona *p, struct decoy *d, bool rst)
{
	if (rst)
		return next_ipid(d, p->ci, p->ci_val, &d->ipid_tcp);
	return next_ipid(d, p->ti, p->ti_val, &d->ipid_tcp);
}

static uint16_t
icmp_ipid(const struct persona *p, struct decoy *d)
{
	return next_ipid(d, p->ii, p->ii_val, p->ss_shared ? &d->ipid_tcp : &d->ipid_icmp);
}

/*
 * The next ISN. nmap measures, over six SYN/ACKs 100 ms apart, the mean
 * rate of ISN increase (ISR = 8 log2 rate) and its standard deviation
 * (SP = 8 log2 std). The decoy advances its ISN by rate x elapsed time x
 * (1 + spread x c), where c alternates between about +0.91 and -0.91 with
 * a little jitter: five consecutive rates then have a standard deviation
 * of spread x rate — what SP says — and their mean is the rate — what ISR
 * says, every time instead of only on average (independent noise misses
 * nmap's +-5 windows about one time in five with five samples).
 * advance = false answers with the next ISN without moving the state
 * (nmap's T-probe answers, which it does not use for SEQ).
 */
static uint32_t
next_isn(struct respond *r, const struct persona *p, struct decoy *d, bool advance)
{
	double dt, c, inc, spread;
	uint32_t isn;

	if (p->random_isn || p->isn_rate <= 0)
		return (uint32_t)decoy_rand(d);
	dt = d->isn_last_ns ? (double)(r->now_ns - d->isn_last_ns) / 1e9 : 0.1;
	spread = p->isn_spread > 0.95 ? 0.95 : p->isn_spread;
	c = (d->isn_phase ? 0.913 : -0.913) *
	    (0.95 + 0.1 * (double)(decoy_rand(d) % 1024) / 1024.0);
	if (p->isn_gcd > 9) {
		/* Steps of a large GCD (64000 on old BSD stacks) are a handful
		 * per probe interval: rounding each continuous increment would
		 * make them all equal (SP = 0). Alternate between two whole
		 * numbers of steps instead, lo and lo + span, whose spread is
		 * the one the continuous line would have had. */
		double m = p->isn_rate * dt / p->isn_gcd;
		double span = floor(2.0 * 0.913 * spread * m + 0.5);
		double lo = floor(m - span / 2.0 + 0.5);

		if (lo < 0)
			lo = 0;
		inc = fmod((d->isn_phase ? lo + span : lo) * p->isn_gcd, 4294967296.0);
		isn = d->isn_last + (uint32_t)inc;
	} else {
		inc = fmod(p->isn_rate * dt * (1.0 + spread * c), 4294967296.0);
		isn = d->isn_last + (uint32_t)((uint64_t)(inc / p->isn_gcd + 0.5) * p->isn_gcd);
	}
	if (advance) {
		d->isn_last = isn;
		d->isn_last_ns = r->now_ns;
		d->isn_phase ^= 1;
	}
	return isn;
}

static uint32_t
tsval_of(const struct respond *r, const struct persona *p, struct decoy *d)
{
	uint64_t ns;

	if (p->ts_hz == PERSONA_TS_RANDOM) {
		/* Stacks with a random timestamp offset per connection look to
		 * nmap like a clock of 2^k Hz between its probes: advance by
		 * that much per elapsed time (at most 2^32 - 1), with a little
		 * noise, so consecutive SYN/ACKs measure as that rate. */
		double dt = (double)(r->now_ns - d->ts_last_ns) / 1e9;
		double inc = exp2(p->ts_fast_log2) * dt * (0.97 + 0.06 * (double)(decoy_rand(d) % 1000) / 1000.0);

		if (d->ts_last_ns == 0 || inc > 4294967295.0)
			inc = 4294967295.0 - (double)(decoy_rand(d) % 65536);
		d->ts_last += (uint32_t)inc;
		d->ts_last_ns = r->now_ns;
		return d->ts_last;
	}
	if (p->ts_hz <= 0)
		return 0;
	ns = decoy_clock_ns(r->decoys, d, r->now_ns);
	return (uint32_t)((uint64_t)d->ts_base * (uint64_t)p->ts_hz +
			  ns / (1000000000ULL / (uint64_t)p->ts_hz));
}

/* --- ARP --- */

static void
handle_arp(struct respond *r, const struct frame *f)
{
	const struct frame_arp *a = &f->arp;
	uint8_t out[EMIT_FRAME_MAX];
	struct decoy *d;

	/* Someone else speaks for a decoy's address: its real owner. */
	if (a->spa != 0 && !(a->sha[0] & 1) && r->hooks.arp_conflict &&
	    (d = decoy_find(r->decoys, a->spa)) != NULL && memcmp(a->sha, d->mac, 6) != 0) {
		(void)r->hooks.arp_conflict(r->hooks.arg, d, a->sha, false);
		return;
	}
	if (a->spa == 0 && a->op == 1 && !(a->sha[0] & 1) && r->hooks.arp_conflict &&
	    (d = decoy_find(r->decoys, a->tpa)) != NULL &&
	    r->hooks.arp_conflict(r->hooks.arg, d, a->sha, true))
		return;
	/* Like Linux: only requests, never from a multicast/broadcast sender,
	 * never for a multicast target. Replies and others' traffic only
	 * feed address claiming. */
	if (a->op != 1 || (a->sha[0] & 1) || (f->src[0] & 1) || (a->tpa >> 28) == 0xe) {
		if (r->hooks.arp_other && !(a->sha[0] & 1))
			r->hooks.arp_other(r->hooks.arg, f->src, a);
		return;
	}
	d = decoy_find(r->decoys, a->tpa);
	if (!d && r->hooks.arp_other)
		r->hooks.arp_other(r->hooks.arg, f->src, a);
	if (!d || a->spa == a->tpa)
		return;
	/* An address probe (RFC 5227, sender 0.0.0.0: a DHCP client checking
	 * its lease) is answered as Linux does, but is no contact. */
	if (a->spa != 0)
		contact(r, CONTACT_ARP, f, d, 0, 0);
	send_frame(r, out, emit_arp(out, sizeof(out), a->sha, 2, d->mac, d->addr, a->sha, a->spa));
}

void
respond_announce(struct respond *r, struct decoy *d)
{
	uint8_t out[EMIT_FRAME_MAX];

	/* Gratuitous ARP request: sender and target are the decoy. */
	send_frame(r, out, emit_arp(out, sizeof(out), bcast, 1, d->mac, d->addr, zero_mac, d->addr));
}

/* --- ICMP --- */

static void
send_ip(struct respond *r, const struct frame *f, const struct decoy *d,
	const struct emit_ip *ip, const uint8_t *l4, size_t l4_len)
{
	uint8_t out[EMIT_FRAME_MAX];

	send_frame(r, out, emit_ipv4(out, sizeof(out), f->src, d->mac, ip, l4, l4_len));
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
handle_icmp(struct respond *r, const struct frame *f, struct decoy *d)
{
	const struct persona *p = persona_of(r, d);
	const struct frame_icmp *ic = &f->icmp;
	uint8_t body[EMIT_FRAME_MAX - 34];
	struct emit_ip ip = { .src = d->addr, .dst = f->ip.src, .proto = 1, .tos = f->ip.tos };
	bool req_df = (f->ip.frag & 0x4000) != 0;
	size_t len;

	if (ic->type != 8)
		return;
	contact(r, CONTACT_PING, f, d, 0, 0);
	if (!p->ie.respond || 8 + ic->data_len > sizeof(body))
		return;
	len = 8 + ic->data_len;
	body[0] = 0;
	body[1] = p->ie.cd == 'S' ? ic->code : p->ie.cd == 'V' ? p->ie.cd_val : 0;
	body[2] = body[3] = 0;
	put16(body + 4, ic->id);
	put16(body + 6, ic->seq);
	memcpy(body + 8, ic->data, ic->data_len);
	put16(body + 2, frame_csum_fold(frame_csum_add(0, body, len)));
	ip.ttl = p->ie.ttl;
	ip.df = p->ie.dfi == 'Y' || (p->ie.dfi == 'S' && req_df) || (p->ie.dfi == 'O' && !req_df);
	ip.id = icmp_ipid(p, d);
	send_ip(r, f, d, &ip, body, len);
}

/* --- UDP --- */

/* One token of the global ICMP error budget, refilled at LIMIT_CHAFF_ICMP_ERR_PPS. */
static bool
icmp_error_allowed(struct respond *r)
{
	double add = (double)(r->now_ns - r->icmp_last_ns) / 1e9 * LIMIT_CHAFF_ICMP_ERR_PPS;

	r->icmp_last_ns = r->now_ns;
	r->icmp_tokens += add;
	if (r->icmp_tokens > LIMIT_CHAFF_ICMP_ERR_BURST)
		r->icmp_tokens = LIMIT_CHAFF_ICMP_ERR_BURST;
	if (r->icmp_tokens < 1.0) {
		r->stats.icmp_limited++;
		return false;
	}
	r->icmp_tokens -= 1.0;
	return true;
}

/* ICMP port unreachable quoting the probe the way the personality does. */
static void
udp_unreachable(struct respond *r, const struct frame *f, struct decoy *d)
{
	const struct persona *p = persona_of(r, d);
	const struct persona_u1 *u = &p->u1;
	uint8_t body[EMIT_FRAME_MAX - 34];
	struct emit_ip ip = { .src = d->addr, .dst = f->ip.src, .proto = 1 };
	size_t quote, orig = f->ip.total_len;
	uint8_t *q = body + 8;

	if (!u->respond || !icmp_error_allowed(r))
		return;
	/* IPL is our packet's total length: 20 + 8 + what we quote. */
	quote = u->ipl > 28 ? (size_t)u->ipl - 28 : 28;
	if (quote > orig)
		quote = orig;
	if (quote < f->ip.ihl + 8u && orig >= f->ip.ihl + 8u)
		quote = f->ip.ihl + 8u;
	if (8 + quote > sizeof(body))
		quote = sizeof(body) - 8;
	memset(body, 0, 8);
	body[0] = 3;
	body[1] = 3;
	body[4] = (uint8_t)(u->un >> 24);
	body[5] = (uint8_t)(u->un >> 16);
	body[6] = (uint8_t)(u->un >> 8);
	body[7] = (uint8_t)u->un;
	memcpy(q, f->ip.hdr, quote);
	if (u->ripl >= 0)
		put16(q + 2, (uint16_t)u->ripl);
	if (u->rid >= 0)
		put16(q + 4, (uint16_t)u->rid);
	if (u->ripl >= 0 || u->rid >= 0 || u->ripck != 'G') {
		put16(q + 10, 0);
		if (u->ripck != 'Z')
			put16(q + 10, (uint16_t)(frame_csum_fold(frame_csum_add(0, q, f->ip.ihl)) +
						  (u->ripck == 'I' ? 1 : 0)));
	}
	if (u->ruck >= 0 && quote >= f->ip.ihl + 8u)
		put16(q + f->ip.ihl + 6, (uint16_t)u->ruck);
	if (u->rud == 'I' && quote > f->ip.ihl + 8u)
		q[f->ip.ihl + 8] ^= 0xff;
	put16(body + 2, frame_csum_fold(frame_csum_add(0, body, 8 + quote)));
	ip.ttl = u->ttl;
	ip.df = u->df;
	ip.id = icmp_ipid(p, d);
	send_ip(r, f, d, &ip, body, 8 + quote);
}

static void
handle_udp(struct respond *r, const struct frame *f, struct decoy *d)
{
	contact(r, CONTACT_UDP, f, d, f->udp.sport, f->udp.dport);
	if (udp_open(r, d, f->udp.dport))
		return;	/* open UDP services stay silent, as most do to junk */
	udp_unreachable(r, f, d);
}

/* --- TCP --- */

/* Which of nmap's probes, or which ordinary class, a segment is. */
static int
seq_probe_index(const struct frame_tcp *t, const struct frame_tcpopt *o)
{
	switch (t->win) {
	case 1: return PERSONA_SEQ1;
	case 63: return PERSONA_SEQ2;
	case 4: return o->first_kind == 8 ? PERSONA_SEQ3 : PERSONA_SEQ4;
	case 16: return PERSONA_SEQ5;
	case 512: return PERSONA_SEQ6;
	default: return -1;
	}
}

static bool
is_nmap_probe(const struct frame_tcp *t, int seq_idx)
{
	uint8_t fl = t->flags;

	if (seq_idx >= 0 && t->opt_len > 0)
		return true;
	return (fl == 0 && t->win == 128) ||
	       (fl == (FRAME_TCP_SYN | FRAME_TCP_FIN | FRAME_TCP_URG | FRAME_TCP_PSH) && t->win == 256) ||
	       (fl == FRAME_TCP_ACK && (t->win == 1024 || t->win == 32768)) ||
	       (fl == FRAME_TCP_SYN && t->win == 31337) ||
	       (fl == (FRAME_TCP_FIN | FRAME_TCP_PSH | FRAME_TCP_URG) && t->win == 65535) ||
	       ((fl & (FRAME_TCP_ECE | FRAME_TCP_CWR)) == (FRAME_TCP_ECE | FRAME_TCP_CWR) &&
		t->win == 3);
}

/*
 * Drop the options from s that the peer did not offer (ordinary SYNs), and
 * re-pad what is left with NOPs the way stacks do: "NW" for a window scale,
 * "NNS" for SACK without timestamps (SACK directly before T stays "ST"),
 * "NNT" for timestamps without SACK before them.
 */
static void
filter_opts(const char *s, const struct frame_tcpopt *o, char *out, size_t cap)
{
	size_t n = 0;
	char prev = 0;

	while (*s) {
		const char *start = s;
		const char *pad = "";
		bool keep = true;
		char c = *s++;
		size_t len;

		switch (c) {
		case 'M':
			while ((*s >= '0' && *s <= '9') || (*s >= 'A' && *s <= 'F'))
				s++;
			break;
		case 'W':
			if (*s)
				s++;
			keep = o->ws_present;
			pad = "N";
			break;
		case 'T':
			if (s[0] && s[1])
				s += 2;
			keep = o->ts_present;
			pad = prev == 'S' ? "" : "NN";
			break;
		case 'S':
			keep = o->sack_ok;
			pad = o->ts_present && *s == 'T' ? "" : "NN";
			break;
		default:
			keep = false;	/* N and L are re-derived */
			break;
		}
		if (!keep)
			continue;
		len = (size_t)(s - start);
		if (n + strlen(pad) + len + 1 > cap)
			break;
		memcpy(out + n, pad, strlen(pad));
		n += strlen(pad);
		memcpy(out + n, start, len);
		n += len;
		prev = c;
	}
	out[n] = '\0';
}

/*
 * The MSS an ordinary SYN/ACK carries: what the decoy's Ethernet link
 * allows (the interface MTU less 40, at most the fingerprint's own value
 * when that is smaller, e.g. 536 or 1380), capped by the peer's MSS. The
 * fingerprint's O1 value (16344 on macOS, 65495 on some Windows: measured
 * over loopback) is only for nmap's probes; elsewhere p0f reads it as
 * "link=loopback".
 */
static uint16_t
real_mss(const struct respond *r, const char *fp_opts, const struct frame_tcpopt *peer)
{
	unsigned mtu = r->mtu >= 576 && r->mtu <= 9216 ? r->mtu : 1500;
	unsigned mss = mtu - 40, fp = 0;
	const char *m = strchr(fp_opts, 'M');

	if (mss > ETHERNET_MSS)
		mss = ETHERNET_MSS;
	if (m) {
		for (m++; (*m >= '0' && *m <= '9') || (*m >= 'A' && *m <= 'F'); m++)
			fp = fp * 16 + (unsigned)(*m <= '9' ? *m - '0' : *m - 'A' + 10);
		if (fp >= 64 && fp < mss)
			mss = fp;
	}
	if (peer->mss_present && peer->mss >= 64 && peer->mss < mss)
		mss = peer->mss;
	return (uint16_t)mss;
}

/* Replace the value of the M option in an nmap option string. */
static void
set_opts_mss(char *opts, size_t cap, uint16_t mss)
{
	char *m = strchr(opts, 'M'), *e, tail[40];

	if (!m)
		return;
	for (e = m + 1; (*e >= '0' && *e <= '9') || (*e >= 'A' && *e <= 'F'); e++)
		;
	snprintf(tail, sizeof(tail), "%s", e);
	snprintf(m, cap - (size_t)(m - opts), "M%X%s", mss, tail);
}

struct tcp_answer {
	const struct persona_tcp *row;
	const char *opts;
	uint32_t isn;		/* our sequence number when the row says "other" */
	uint8_t extra_flags;	/* ECN bits for the ECN probe's answer */
	bool real_syn;		/* the SYN/ACK of a real connection: ack = seq + 1 */
};

static void
send_tcp_answer(struct respond *r, const struct frame *f, struct decoy *d,
		const struct tcp_answer *a, const uint8_t *data, size_t data_len)
{
	const struct persona *p = persona_of(r, d);
	const struct persona_tcp *row = a->row;
	const struct frame_tcp *t = &f->tcp;
	struct frame_tcpopt peer;
	uint8_t opt[40], seg[EMIT_FRAME_MAX - 34];
	struct emit_tcp et;
	struct emit_ip ip = { .src = d->addr, .dst = f->ip.src, .proto = 6 };
	int olen = 0;

	frame_tcp_options(t, &peer);
	if (a->opts && a->opts[0]) {
		olen = emit_tcp_options(a->opts, tsval_of(r, p, d), peer.tsval, opt, sizeof(opt));
		if (olen < 0)
			olen = 0;
	}
	memset(&et, 0, sizeof(et));
	et.sport = t->dport;
	et.dport = t->sport;
	switch (row->seq) {
	case PERSONA_SEQ_ZERO: et.seq = 0; break;
	case PERSONA_SEQ_ACK: et.seq = t->ack; break;
	case PERSONA_SEQ_ACK1: et.seq = t->ack + 1; break;
	default: et.seq = a->isn; break;
	}
	/* A fingerprint's A=O (HP's T1) describes what the OS answered to
	 * nmap's probes; a SYN/ACK that opens a real connection acks the
	 * SYN, or no connection would ever complete. */
	switch (a->real_syn ? PERSONA_ACK_SEQ1 : row->ack) {
	case PERSONA_ACK_ZERO: et.ack = 0; break;
	case PERSONA_ACK_SEQ: et.ack = t->seq; break;
	case PERSONA_ACK_SEQ1: et.ack = t->seq + 1 + (uint32_t)t->data_len; break;
	default: et.ack = (uint32_t)decoy_rand(d); break;
	}
	et.flags = (uint8_t)(row->flags | a->extra_flags);
	et.reserved = row->quirk_reserved ? 1 : 0;
	et.urp = row->quirk_urgent ? 0xf7f5 : 0;
	et.win = row->win;
	et.opt = opt;
	et.opt_len = (size_t)olen;
	et.data = data;
	et.data_len = data_len;
	ip.ttl = row->ttl;
	ip.df = row->df;
	ip.id = tcp_ipid(p, d, (et.flags & FRAME_TCP_RST) != 0);
	send_ip(r, f, d, &ip, seg, emit_tcp(seg, sizeof(seg), &et));
}

static uint8_t
ecn_bits(uint8_t cc)
{
	switch (cc) {
	case 'Y': return FRAME_TCP_ECE;
	case 'S': return FRAME_TCP_ECE | FRAME_TCP_CWR;
	case 'O': return FRAME_TCP_CWR;
	default: return 0;
	}
}

static void
answer_row(struct respond *r, const struct frame *f, struct decoy *d, int row)
{
	const struct persona *p = persona_of(r, d);
	struct tcp_answer a = { .row = &p->tcp[row], .opts = p->tcp[row].opts, .real_syn = false };

	if (!a.row->respond)
		return;
	if (a.row->seq == PERSONA_SEQ_OTHER)
		a.isn = next_isn(r, p, d, false);
	send_tcp_answer(r, f, d, &a, NULL, 0);
}

static void
tcp_syn_open(struct respond *r, const struct frame *f, struct decoy *d)
{
	const struct persona *p = persona_of(r, d);
	const struct frame_tcp *t = &f->tcp;
	struct frame_tcpopt o;
	struct tcp_answer a;
	char opts[40];
	struct conn *c, evicted;
	bool did_evict, probe;
	int idx;

	frame_tcp_options(t, &o);
	if ((t->flags & (FRAME_TCP_ECE | FRAME_TCP_CWR)) == (FRAME_TCP_ECE | FRAME_TCP_CWR)) {
		idx = PERSONA_ECN;
		a.extra_flags = ecn_bits(p->ecn_cc);
	} else {
		idx = seq_probe_index(t, &o);
		a.extra_flags = 0;
	}
	/* nmap's ECN probe has window 3; a client that merely negotiates
	 * ECN is an ordinary SYN (with the ECN answer bits). */
	probe = idx >= 0 && t->opt_len > 0 && (idx != PERSONA_ECN || t->win == 3);
	/* The ECN line has no A test: every stack acks that SYN. */
	a.real_syn = !probe || idx == PERSONA_ECN;
	if (probe) {
		a.opts = p->tcp[idx].opts;
	} else {
		idx = PERSONA_SEQ1;
		filter_opts(p->tcp[idx].opts, &o, opts, sizeof(opts));
		set_opts_mss(opts, sizeof(opts), real_mss(r, p->tcp[idx].opts, &o));
		a.opts = opts;
	}
	a.row = &p->tcp[idx];
	if (!a.row->respond)
		return;
	a.isn = next_isn(r, p, d, idx != PERSONA_ECN);
	c = conn_add(&r->conns, f->ip.src, t->sport, d->addr, t->dport, r->now_ns,
		     &evicted, &did_evict);
	if (did_evict && evicted.session >= 0 && r->hooks.svc_close)
		r->hooks.svc_close(r->hooks.arg, &evicted);
	memcpy(c->peer_mac, f->src, 6);
	c->vlan = r->tx_vlan;
	c->snd_nxt = a.isn + 1;
	c->rcv_nxt = t->seq + 1;
	c->win = a.row->win;
	send_tcp_answer(r, f, d, &a, NULL, 0);
}

void
respond_tcp_send(struct respond *r, struct conn *c, const uint8_t *data, size_t len, bool fin)
{
	struct decoy *d = decoy_find(r->decoys, c->daddr);
	const struct persona *p;
	struct emit_tcp et;
	struct emit_ip ip;
	uint8_t seg[EMIT_FRAME_MAX - 34], out[EMIT_FRAME_MAX];
	uint16_t saved_vlan;

	if (!d)
		return;
	p = persona_of(r, d);
	saved_vlan = r->tx_vlan;
	r->tx_vlan = c->vlan;
	while (len > 0 || fin) {
		size_t n = len > 1400 ? 1400 : len;

		memset(&et, 0, sizeof(et));
		et.sport = c->dport;
		et.dport = c->sport;
		et.seq = c->snd_nxt;
		et.ack = c->rcv_nxt;
		et.flags = FRAME_TCP_ACK | (n ? FRAME_TCP_PSH : 0);
		if (n == len && fin)
			et.flags |= FRAME_TCP_FIN;
		et.win = c->win ? c->win : 0xffff;
		et.data = data;
		et.data_len = n;
		memset(&ip, 0, sizeof(ip));
		ip.src = c->daddr;
		ip.dst = c->saddr;
		ip.proto = 6;
		ip.ttl = p->tcp[PERSONA_SEQ1].ttl;
		ip.df = p->tcp[PERSONA_SEQ1].df;
		ip.id = tcp_ipid(p, d, false);
		send_frame(r, out, emit_ipv4(out, sizeof(out), c->peer_mac, d->mac, &ip, seg,
					     emit_tcp(seg, sizeof(seg), &et)));
		c->snd_nxt += (uint32_t)n + ((et.flags & FRAME_TCP_FIN) ? 1 : 0);
		if (n > 0)
			data += n;	/* data may be NULL for a bare FIN */
		len -= n;
		if (et.flags & FRAME_TCP_FIN)
			break;
	}
	r->tx_vlan = saved_vlan;
}

static void
close_conn(struct respond *r, struct conn *c)
{
	if (c->session >= 0 && r->hooks.svc_close)
		r->hooks.svc_close(r->hooks.arg, c);
	conn_del(&r->conns, c);
}

/* End the service session but keep the entry until the close completes. */
static void
end_session(struct respond *r, struct conn *c, enum conn_state next)
{
	if (c->session >= 0 && r->hooks.svc_close)
		r->hooks.svc_close(r->hooks.arg, c);
	c->state = (uint8_t)next;
}

void
respond_tcp_close(struct respond *r, struct conn *c)
{
	if (c->state != CONN_ESTABLISHED) {
		close_conn(r, c);
		return;
	}
	respond_tcp_send(r, c, NULL, 0, true);
	end_session(r, c, CONN_FIN_WAIT);
}

static void
send_ack(struct respond *r, struct conn *c)
{
	respond_tcp_send(r, c, NULL, 0, false);
}

/* The final ACK of our handshake: the connection is up, the service greets. */
static void
tcp_established(struct respond *r, const struct frame *f, struct decoy *d, struct conn *c)
{
	uint8_t out[2048];
	size_t n = 0;

	c->state = CONN_ESTABLISHED;
	contact(r, CONTACT_CONNECT, f, d, f->tcp.sport, f->tcp.dport);
	if (r->hooks.svc_open)
		n = r->hooks.svc_open(r->hooks.arg, c, d, out, sizeof(out));
	if (n > 0)
		respond_tcp_send(r, c, out, n, false);
}

static void
tcp_data(struct respond *r, const struct frame *f, struct decoy *d, struct conn *c)
{
	const struct frame_tcp *t = &f->tcp;
	uint8_t out[4096];
	bool close = false;
	size_t n = 0;

	if (t->seq != c->rcv_nxt) {
		send_ack(r, c);	/* out of order or retransmission: re-ACK */
		return;
	}
	c->rcv_nxt += (uint32_t)t->data_len;
	c->bytes_in += (uint32_t)t->data_len;
	if (r->hooks.svc_data)
		n = r->hooks.svc_data(r->hooks.arg, c, d, t->data, t->data_len, out,
				      sizeof(out), &close);
	if (n > 0 || close)
		respond_tcp_send(r, c, out, n, close);
	else
		send_ack(r, c);
	if (close)
		end_session(r, c, CONN_FIN_WAIT);
}

static void
tcp_on_conn(struct respond *r, const struct frame *f, struct decoy *d, struct conn *c)
{
	const struct frame_tcp *t = &f->tcp;

	c->last_ns = r->now_ns;
	if (t->flags & FRAME_TCP_RST) {
		close_conn(r, c);
		return;
	}
	if (t->flags & FRAME_TCP_SYN) {
		/* A new SYN on the same ports starts over (a retransmission
		 * gets a fresh SYN/ACK, as from a stack that lost its own). */
		contact(r, CONTACT_SYN, f, d, t->sport, t->dport);
		close_conn(r, c);
		tcp_syn_open(r, f, d);
		return;
	}
	if (!(t->flags & FRAME_TCP_ACK))
		return;
	if (c->state == CONN_LAST_ACK) {
		if (t->ack == c->snd_nxt)
			conn_del(&r->conns, c);
		return;
	}
	if (c->state == CONN_FIN_WAIT) {
		if (t->flags & FRAME_TCP_FIN) {
			c->rcv_nxt = t->seq + (uint32_t)t->data_len + 1;
			send_ack(r, c);
			conn_del(&r->conns, c);
		}
		return;
	}
	if (c->state == CONN_SYN_RCVD) {
		if (t->ack != c->snd_nxt)
			return;
		tcp_established(r, f, d, c);
	}
	if (t->data_len > 0 && c->state == CONN_ESTABLISHED)
		tcp_data(r, f, d, c);
	if ((t->flags & FRAME_TCP_FIN) && c->state == CONN_ESTABLISHED &&
	    t->seq + t->data_len == c->rcv_nxt) {
		c->rcv_nxt++;
		respond_tcp_send(r, c, NULL, 0, true);
		end_session(r, c, CONN_LAST_ACK);
	}
}

static enum respond_contact_kind
tcp_contact_kind(const struct frame_tcp *t, bool probe)
{
	uint8_t fl = t->flags & (uint8_t)~(FRAME_TCP_ECE | FRAME_TCP_CWR);

	if (probe)
		return CONTACT_OSPROBE;
	if (fl == FRAME_TCP_SYN)
		return CONTACT_SYN;
	if (fl == 0)
		return CONTACT_NULL;
	if (fl == FRAME_TCP_FIN)
		return CONTACT_FIN;
	if (fl == (FRAME_TCP_FIN | FRAME_TCP_PSH | FRAME_TCP_URG))
		return CONTACT_XMAS;
	return CONTACT_ACK;
}

static void
handle_tcp(struct respond *r, const struct frame *f, struct decoy *d)
{
	const struct frame_tcp *t = &f->tcp;
	struct frame_tcpopt o;
	struct conn *c;
	bool open, probe;
	uint8_t fl = t->flags;

	c = conn_find(&r->conns, f->ip.src, t->sport, d->addr, t->dport);
	if (c) {
		tcp_on_conn(r, f, d, c);
		return;
	}
	if (fl & FRAME_TCP_RST)
		return;	/* never answer a RST */
	frame_tcp_options(t, &o);
	probe = is_nmap_probe(t, (fl & FRAME_TCP_SYN) ? seq_probe_index(t, &o) : -1);
	contact(r, tcp_contact_kind(t, probe), f, d, t->sport, t->dport);
	open = tcp_open(r, d, t->dport);
	if (open) {
		if ((fl & (FRAME_TCP_SYN | FRAME_TCP_ACK)) == FRAME_TCP_SYN &&
		    !(fl & FRAME_TCP_FIN))
			tcp_syn_open(r, f, d);
		else if (fl == 0)
			answer_row(r, f, d, PERSONA_T2);
		else if ((fl & FRAME_TCP_SYN) && (fl & FRAME_TCP_FIN) && !(fl & FRAME_TCP_ACK))
			answer_row(r, f, d, PERSONA_T3);
		else if (fl & FRAME_TCP_ACK)
			answer_row(r, f, d, PERSONA_T4);
		/* FIN, XMAS and friends to an open port: silence, as RFC 793 says. */
		return;
	}
	if ((fl & (FRAME_TCP_SYN | FRAME_TCP_ACK)) == FRAME_TCP_SYN)
		answer_row(r, f, d, PERSONA_T5);
	else if (fl & FRAME_TCP_ACK)
		answer_row(r, f, d, PERSONA_T6);
	else
		answer_row(r, f, d, PERSONA_T7);
}

static void respond_dispatch(struct respond *r, const struct frame *fp, bool csum_unverified);

void
respond_frame(struct respond *r, const uint8_t *buf, size_t len, bool csum_unverified)
{
	struct frame f;

	r->stats.frames++;
	if (frame_parse(buf, len, &f) < 0) {
		r->stats.dropped_malformed++;
		r->rx_vlan = 0;
		return;
	}
	/* The tag is in the frame, or the kernel took it off (auxdata). */
	r->tx_vlan = f.vlan ? f.vlan : r->rx_vlan;
	r->rx_vlan = 0;
	if (!vlan_allowed(r, r->tx_vlan)) {
		r->stats.vlan_refused++;
		r->tx_vlan = 0;
		return;
	}
	respond_dispatch(r, &f, csum_unverified);
	r->tx_vlan = 0;
}

static void
respond_dispatch(struct respond *r, const struct frame *fp, bool csum_unverified)
{
	struct frame f = *fp;
	struct decoy *d;

	if (f.kind == FRAME_ARP) {
		handle_arp(r, &f);
		return;
	}
	if (f.kind != FRAME_TCP && f.kind != FRAME_UDP && f.kind != FRAME_ICMP) {
		r->stats.not_ours++;
		return;
	}
	d = decoy_find(r->decoys, f.ip.dst);
	/* Unicast to the decoy's MAC only (or broadcast for nothing): a frame
	 * for the address but another MAC is someone else's. */
	if (!d || memcmp(f.dst, d->mac, 6) != 0) {
		r->stats.not_ours++;
		return;
	}
	if (!csum_unverified && !frame_l4_csum_ok(&f)) {
		r->stats.dropped_csum++;
		return;
	}
	switch (f.kind) {
	case FRAME_TCP:
		handle_tcp(r, &f, d);
		break;
	case FRAME_UDP:
		handle_udp(r, &f, d);
		break;
	default:
		handle_icmp(r, &f, d);
		break;
	}
}

void
respond_expire(struct respond *r, uint64_t idle_ns)
{
	/* Idle entries go, and so does any connection older than the session
	 * lifetime cap, however busy: a decoy service never serves long. */
	const uint64_t max_life = (uint64_t)LIMIT_CHAFF_SESSION_SECONDS * 1000000000ULL;

	for (uint32_t i = 0; i <= r->conns.mask; i++) {
		struct conn *c = &r->conns.v[i];

		if (c->state == CONN_FREE)
			continue;
		if (r->now_ns - c->last_ns >= idle_ns)
			close_conn(r, c);
		else if (r->now_ns - c->start_ns >= max_life)
			respond_tcp_close(r, c);
	}
}
