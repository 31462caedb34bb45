/* respond: user-space ARP/ICMP/TCP/UDP responder driven by personalities. */
#include "chaff/respond.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chaff/emit.h"
#include "chaff/frame.h"
#include "chaff/nd.h"
#include "common/cursor.h"
#include "common/limits.h"
#include "common/wbuf.h"

/* The MSS of a 1500-byte Ethernet MTU: what every OS presets advertise
 * (over IPv6 20 bytes less: its header is 40). */
#define ETHERNET_MSS 1460u
#define IP6_EXTRA 20u

static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t zero_mac[6];

static const char *const contact_names[CONTACT_NKINDS] = {
	[CONTACT_ARP] = "arp", [CONTACT_PING] = "ping", [CONTACT_SYN] = "syn_scan",
	[CONTACT_CONNECT] = "connect", [CONTACT_NULL] = "null_scan",
	[CONTACT_FIN] = "fin_scan", [CONTACT_XMAS] = "xmas_scan", [CONTACT_ACK] = "ack_scan",
	[CONTACT_OSPROBE] = "os_probe", [CONTACT_UDP] = "udp_scan",
	[CONTACT_SERVICE] = "service", [CONTACT_LOGIN] = "login",
	[CONTACT_CONFLICT] = "arp_conflict", [CONTACT_ND] = "nd",
	[CONTACT_ND_CONFLICT] = "nd_conflict",
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
	struct hash_key key;
	int rc;

	memset(r, 0, sizeof(*r));
	r->decoys = decoys;
	r->personas = personas;
	r->n_personas = n_personas;
	r->groups = groups;
	r->n_groups = n_groups;
	r->hooks = *hooks;
	r->icmp_tokens = LIMIT_CHAFF_ICMP_ERR_BURST;
	rc = hash_key_init(&key);
	if (rc < 0)
		return rc;
	rc = conn_table_init(&r->conns, max_conns, &key);
	if (rc < 0)
		return rc;
	/* One send buffer per connection at most; calloc'd pages stay
	 * untouched (no memory) until a connection uses them. */
	r->n_sndbufs = r->conns.mask + 1 < LIMIT_CHAFF_SNDBUFS ? r->conns.mask + 1
							       : LIMIT_CHAFF_SNDBUFS;
	r->cap_timers = 2 * (r->conns.mask + 1);
	r->sndbufs = calloc(r->n_sndbufs, LIMIT_CHAFF_SNDBUF_BYTES);
	r->sndbuf_free = calloc(r->n_sndbufs, sizeof(*r->sndbuf_free));
	r->timers = calloc(r->cap_timers, sizeof(*r->timers));
	r->neigh = calloc(LIMIT_CHAFF_NEIGH, sizeof(*r->neigh));
	r->neigh_mac = calloc(LIMIT_CHAFF_NEIGH, sizeof(*r->neigh_mac));
	r->held = calloc(LIMIT_CHAFF_ARP_PENDING, sizeof(*r->held));
	r->frags = calloc(LIMIT_CHAFF_FRAGS, sizeof(*r->frags));
	r->conn6 = calloc((size_t)r->conns.mask + 1, sizeof(*r->conn6));
	if (!r->sndbufs || !r->sndbuf_free || !r->timers || !r->neigh || !r->neigh_mac ||
	    !r->held || !r->frags || !r->conn6) {
		respond_free(r);
		return -ENOMEM;
	}
	/* Stack of free slots, slot 0 on top. */
	for (uint32_t i = 0; i < r->n_sndbufs; i++)
		r->sndbuf_free[i] = (int32_t)(r->n_sndbufs - 1 - i);
	for (uint32_t i = 0; i < LIMIT_CHAFF_ARP_PENDING; i++)
		r->held[i].neigh = -1;
	r->n_sndbuf_free = r->n_sndbufs;
	return 0;
}

void
respond_free(struct respond *r)
{
	if (!r)
		return;
	conn_table_free(&r->conns);
	free(r->sndbufs);
	free(r->sndbuf_free);
	free(r->timers);
	free(r->neigh);
	free(r->neigh_mac);
	free(r->held);
	free(r->frags);
	r->frags = NULL;
	free(r->conn6);
	r->conn6 = NULL;
	r->sndbufs = NULL;
	r->sndbuf_free = NULL;
	r->timers = NULL;
	r->neigh = r->neigh_mac = NULL;
	r->held = NULL;
}

static void
send_frame(struct respond *r, const uint8_t *buf, size_t len)
{
	uint8_t tagged[EMIT_FRAME_MAX + 4];
	struct wbuf w;

	if (len == 0)
		return;
	r->stats.sent++;
	if (r->tx_vlan == 0 || len < 14 || len > EMIT_FRAME_MAX) {
		r->hooks.send(r->hooks.arg, buf, len);
		return;
	}
	/* Answer on the VLAN the question came from: insert the 802.1Q tag. */
	w = wb_init(tagged, sizeof(tagged));
	wb_bytes(&w, buf, 12);			/* the MAC addresses */
	wb_u16(&w, FRAME_ETH_VLAN);
	wb_u16(&w, r->tx_vlan & 0x0fff);	/* priority 0, the VLAN id */
	wb_bytes(&w, buf + 12, len - 12);
	if (wb_ok(&w))
		r->hooks.send(r->hooks.arg, tagged, wb_len(&w));
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
	if (f->v6) {
		c.v6 = true;
		memcpy(c.src6, f->ip6.src, 16);
		memcpy(c.decoy6, f->ip6.dst, 16);
	}
	r->hooks.contact(r->hooks.arg, &c);
}

void
respond_contact_conn(struct respond *r, struct respond_contact *rc)
{
	const struct conn *c = conn_find(&r->conns, rc->src, rc->sport, rc->decoy, rc->dport);
	const struct respond_conn6 *a;

	if (!c || !(c->flags & CONN_F_V6))
		return;
	a = &r->conn6[c - r->conns.v];
	rc->v6 = true;
	memcpy(rc->src6, a->peer, 16);
	memcpy(rc->decoy6, a->self, 16);
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
/*
 * The decoy's own ISR and SP: the personality's, moved by up to isr_var /
 * sp_var (a quarter of the fingerprint's range) by a hash of the decoy's
 * address and the table's secret, so decoys of one personality, and one
 * decoy across runs without a fixed seed, do not share one ISN line. A
 * GCD above 9 keeps the middle: rounding to its whole steps already takes
 * the margin.
 */
static void
decoy_isn_line(const struct respond *r, const struct persona *p, const struct decoy *d,
	       double *ret_rate, double *ret_spread)
{
	uint64_t h = decoy_mix(r->decoys->secret ^ ((uint64_t)d->addr << 16) ^ 0x15aULL);
	double isr = p->isr, sp = p->sp, rate;

	/* Not with a large GCD: its whole steps already use the margin. */
	if (p->isr_var && p->isn_gcd <= 9)
		isr += (double)(int)(h % (2u * p->isr_var + 1)) - p->isr_var;
	if (p->sp_var && p->isn_gcd <= 9)
		sp += (double)(int)((h >> 16) % (2u * p->sp_var + 1)) - p->sp_var;
	rate = exp2(isr / 8.0);
	*ret_rate = rate;
	*ret_spread = p->isn_spread > 0 && sp > 0
			      ? exp2(sp / 8.0) * (p->isn_gcd > 9 ? p->isn_gcd : 1) / rate
			      : 0;
}

static uint32_t
next_isn(struct respond *r, const struct persona *p, struct decoy *d, bool advance)
{
	double dt, c, inc, spread, rate;
	uint32_t isn;

	if (p->random_isn || p->isn_rate <= 0)
		return (uint32_t)decoy_rand(d);
	decoy_isn_line(r, p, d, &rate, &spread);
	dt = d->isn_last_ns ? (double)(r->now_ns - d->isn_last_ns) / 1e9 : 0.1;
	spread = spread > 0.95 ? 0.95 : spread;
	c = (d->isn_phase ? 0.913 : -0.913) *
	    (0.95 + 0.1 * (double)(decoy_rand(d) % 1024) / 1024.0);
	if (p->isn_gcd > 9) {
		/* Steps of a large GCD (64000 on old BSD stacks) are a handful
		 * per probe interval: rounding each continuous increment would
		 * make them all equal (SP = 0). Alternate between two whole
		 * numbers of steps instead, lo and lo + span, whose spread is
		 * the one the continuous line would have had. */
		double m = rate * dt / p->isn_gcd;
		double span = floor(2.0 * 0.913 * spread * m + 0.5);
		double lo = floor(m - span / 2.0 + 0.5);

		if (lo < 0)
			lo = 0;
		inc = fmod((d->isn_phase ? lo + span : lo) * p->isn_gcd, 4294967296.0);
		isn = d->isn_last + (uint32_t)inc;
	} else {
		inc = fmod(rate * dt * (1.0 + spread * c), 4294967296.0);
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


/* --- neighbours: ARP resolution before answering a new peer --- */

#define NEIGH_PROBE		8u		/* slots examined for one key */
#define NEIGH_RETRANS_NS	1000000000ULL	/* Linux's retrans_time: 1 s */
#define NEIGH_HELD_PER_PEER	3u		/* Linux's historical unres_qlen */

/*
 * The entry for (decoy, ip) in r->neigh, or for (decoy, mac) in
 * r->neigh_mac; with add, a fresh one (state NEIGH_FREE) when absent, in a
 * free slot of the window or in place of its oldest entry.
 */
static struct respond_neigh *
neigh_slot(struct respond *r, struct respond_neigh *tab, uint32_t decoy, uint32_t ip,
	   const uint8_t *mac, bool add)
{
	struct respond_neigh *victim = NULL;
	uint8_t k[10] = { 0 };
	uint32_t s;

	wb_patch_u32(k, decoy);
	if (mac)
		memcpy(k + 4, mac, 6);
	else
		wb_patch_u32(k + 4, ip);
	s = (uint32_t)hash_bytes(&r->conns.key, k, sizeof(k)) & (LIMIT_CHAFF_NEIGH - 1);
	for (uint32_t i = 0; i < NEIGH_PROBE; i++) {
		struct respond_neigh *e = &tab[(s + i) & (LIMIT_CHAFF_NEIGH - 1)];

		if (e->state != NEIGH_FREE && e->decoy == decoy &&
		    (mac ? memcmp(e->mac, mac, 6) == 0 : e->ip == ip))
			return e;
		if (!add)
			continue;
		if (!victim || (victim->state != NEIGH_FREE &&
				(e->state == NEIGH_FREE || e->ns < victim->ns)))
			victim = e;
	}
	if (!add)
		return NULL;
	if (victim->state == NEIGH_INCOMPLETE) {
		/* Its held frames go with it. */
		for (uint32_t i = 0; i < LIMIT_CHAFF_ARP_PENDING; i++) {
			if (r->held[i].neigh == (int32_t)(victim - tab)) {
				r->held[i].neigh = -1;
				r->n_held--;
				r->stats.held_dropped++;
			}
		}
	}
	memset(victim, 0, sizeof(*victim));
	victim->decoy = decoy;
	victim->ip = ip;
	if (mac)
		memcpy(victim->mac, mac, 6);
	return victim;
}

/* Send the frames held for neighbour e, to its MAC. */
static void
neigh_flush(struct respond *r, struct respond_neigh *e)
{
	int32_t slot = (int32_t)(e - r->neigh);
	uint16_t saved_vlan = r->tx_vlan;

	for (uint32_t i = 0; i < LIMIT_CHAFF_ARP_PENDING && r->n_held > 0; i++) {
		struct respond_held *h = &r->held[i];

		if (h->neigh != slot)
			continue;
		memcpy(h->frame, e->mac, 6);
		r->tx_vlan = h->vlan;
		send_frame(r, h->frame, h->len);
		h->neigh = -1;
		r->n_held--;
	}
	r->tx_vlan = saved_vlan;
}

/*
 * The decoy learned ip is at mac: from ip's ARP request for it (create: a
 * kernel makes an entry for whoever asks for one of its addresses, and the
 * MAC that asked is on the link, a router forwarding to the decoy among
 * them), or from the reply to its own request (only an entry it has:
 * Linux's arp_accept=0). Frames held for ip go out.
 */
static void
neigh_learn(struct respond *r, uint32_t decoy, uint32_t ip, const uint8_t mac[6], bool create)
{
	struct respond_neigh *e = neigh_slot(r, r->neigh, decoy, ip, NULL, create);
	struct respond_neigh *m;
	bool waiting;

	if (!e)
		return;
	waiting = e->state == NEIGH_INCOMPLETE;
	memcpy(e->mac, mac, 6);
	e->state = NEIGH_REACHABLE;
	e->ns = r->now_ns;
	if (waiting)
		neigh_flush(r, e);
	if (create) {
		m = neigh_slot(r, r->neigh_mac, decoy, 0, mac, true);
		m->state = NEIGH_REACHABLE;
		m->ns = r->now_ns;
	}
}

/* Who has e->ip? Tell the decoy (broadcast, on the VLAN of the peer). */
static void
neigh_solicit(struct respond *r, struct respond_neigh *e, const struct decoy *d)
{
	uint8_t out[EMIT_FRAME_MAX];
	uint16_t saved_vlan = r->tx_vlan;

	r->tx_vlan = e->vlan;
	send_frame(r, out, emit_arp(out, sizeof(out), bcast, 1, d->mac, d->addr, zero_mac, e->ip));
	r->tx_vlan = saved_vlan;
	e->probes++;
	e->ns = r->now_ns;
	r->stats.arp_requests++;
}

/*
 * Send an IPv4 frame from decoy d to dst, as a kernel does: to the MAC the
 * decoy has for dst; when it has none, hold the frame and ask (ARP) first,
 * unless the frame's MAC is a router's that resolved the decoy (the peer
 * is off the link: the answer goes through it). buf's destination MAC is
 * the one the peer's frame came from, used when nobody answers (routed).
 */
static void
send_resolved(struct respond *r, const struct decoy *d, uint32_t dst, uint8_t *buf, size_t len)
{
	struct respond_neigh *e;
	uint32_t n_for = 0, free_slot = LIMIT_CHAFF_ARP_PENDING;

	if (!r->arp_resolve || len < 14 || len > EMIT_FRAME_MAX) {
		send_frame(r, buf, len);
		return;
	}
	e = neigh_slot(r, r->neigh, d->addr, dst, NULL, false);
	if (e && e->state == NEIGH_REACHABLE) {
		memcpy(buf, e->mac, 6);
		send_frame(r, buf, len);
		return;
	}
	if (!e) {
		if (neigh_slot(r, r->neigh_mac, d->addr, 0, buf, false)) {
			send_frame(r, buf, len);
			return;
		}
		/* Every held slot taken: no new unresolved neighbour (Linux's
		 * "neighbour table overflow"), so spoofed sources cannot make
		 * the decoys broadcast more than about LIMIT_CHAFF_ARP_PENDING
		 * requests a second. */
		if (r->n_held >= LIMIT_CHAFF_ARP_PENDING) {
			r->stats.held_dropped++;
			return;
		}
		e = neigh_slot(r, r->neigh, d->addr, dst, NULL, true);
		e->state = NEIGH_INCOMPLETE;
		memcpy(e->mac, buf, 6);
		e->vlan = r->tx_vlan;
	}
	for (uint32_t i = 0; i < LIMIT_CHAFF_ARP_PENDING; i++) {
		if (r->held[i].neigh == (int32_t)(e - r->neigh))
			n_for++;
		else if (r->held[i].neigh < 0 && free_slot == LIMIT_CHAFF_ARP_PENDING)
			free_slot = i;
	}
	if (n_for >= NEIGH_HELD_PER_PEER || free_slot == LIMIT_CHAFF_ARP_PENDING) {
		r->stats.held_dropped++;
	} else {
		struct respond_held *h = &r->held[free_slot];

		h->neigh = (int32_t)(e - r->neigh);
		h->len = (uint16_t)len;
		h->vlan = r->tx_vlan;
		memcpy(h->frame, buf, len);
		r->n_held++;
	}
	if (e->probes == 0)
		neigh_solicit(r, e, d);
}

/* The earliest time an incomplete neighbour needs its next request. */
static uint64_t
neigh_next_due(const struct respond *r)
{
	uint64_t due = 0;

	for (uint32_t i = 0; i < LIMIT_CHAFF_ARP_PENDING && r->n_held > 0; i++) {
		const struct respond_held *h = &r->held[i];
		uint64_t t;

		if (h->neigh < 0)
			continue;
		t = r->neigh[h->neigh].ns + NEIGH_RETRANS_NS;
		if (due == 0 || t < due)
			due = t;
	}
	return due;
}

/*
 * Incomplete neighbours whose request went unanswered for a second: the
 * peer is not on the link (or does not answer ARP), so it sits behind the
 * router its frame came from; the held frames go to that MAC, which is
 * kept for the peer. A real host would have resolved its gateway instead;
 * the decoys have no routing table, and one second is the price of not
 * answering straight to the frame's source.
 */
static void
neigh_timers(struct respond *r)
{
	for (uint32_t i = 0; i < LIMIT_CHAFF_ARP_PENDING && r->n_held > 0; i++) {
		struct respond_held *h = &r->held[i];
		struct respond_neigh *e;

		if (h->neigh < 0)
			continue;
		e = &r->neigh[h->neigh];
		if (e->ns + NEIGH_RETRANS_NS > r->now_ns)
			continue;
		if (!decoy_find(r->decoys, e->decoy)) {
			h->neigh = -1;
			r->n_held--;
			r->stats.held_dropped++;
			continue;
		}
		e->state = NEIGH_REACHABLE;
		e->ns = r->now_ns;
		neigh_flush(r, e);
	}
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
	/* The reply to a decoy's own request resolves what it waits for. */
	if (a->op == 2 && r->arp_resolve && a->spa != 0 && !(a->sha[0] & 1) &&
	    (d = decoy_find(r->decoys, a->tpa)) != NULL)
		neigh_learn(r, d->addr, a->spa, a->sha, false);
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
	if (a->spa != 0) {
		contact(r, CONTACT_ARP, f, d, 0, 0);
		if (r->arp_resolve)
			neigh_learn(r, d->addr, a->spa, a->sha, true);
	}
	send_frame(r, out, emit_arp(out, sizeof(out), a->sha, 2, d->mac, d->addr, a->sha, a->spa));
}

void
respond_announce(struct respond *r, struct decoy *d)
{
	uint8_t out[EMIT_FRAME_MAX];

	/* Gratuitous ARP request: sender and target are the decoy. */
	send_frame(r, out, emit_arp(out, sizeof(out), bcast, 1, d->mac, d->addr, zero_mac, d->addr));
}

void
respond_arp_probe(struct respond *r, const uint8_t mac[6], uint32_t addr)
{
	uint8_t out[EMIT_FRAME_MAX];

	send_frame(r, out, emit_arp(out, sizeof(out), bcast, 1, mac, 0, zero_mac, addr));
}

/* --- ICMP --- */

/*
 * An IPv4 datagram from decoy d to the sender of f. One that does not fit
 * the link's MTU (an echo reply to a reassembled jumbo ping) goes as
 * fragments (1,480 bytes on Ethernet), one IP ID, as a kernel fragments
 * it; only ICMP is that large (its checksum comes from the caller, so the
 * pieces need none).
 */
static void
send_ip(struct respond *r, const struct frame *f, const struct decoy *d,
	const struct emit_ip *ip, const uint8_t *l4, size_t l4_len)
{
	uint8_t out[EMIT_FRAME_MAX];
	unsigned mtu = r->mtu >= 576 && r->mtu <= 1500 ? r->mtu : 1500;
	const size_t piece = (mtu - 20) / 8 * 8;	/* 1480 on Ethernet */
	struct emit_ip fip;

	if (f->v6) {
		/* IPv6: from the address the frame went to, straight to the
		 * MAC it came from (no fragmentation: nothing is reassembled
		 * over IPv6, so no reply outgrows the request's link). */
		send_frame(r, out, nd_emit6(out, sizeof(out), f->src, d->mac, f->ip6.dst,
					    f->ip6.src, ip->ttl, 0, ip->proto, l4, l4_len));
		return;
	}
	if (l4_len <= piece || ip->proto != 1) {
		send_resolved(r, d, ip->dst, out,
			      emit_ipv4(out, sizeof(out), f->src, d->mac, ip, l4, l4_len));
		return;
	}
	fip = *ip;
	fip.df = false;
	for (size_t off = 0; off < l4_len; off += piece) {
		size_t n = l4_len - off > piece ? piece : l4_len - off;
		size_t len = emit_ipv4(out, sizeof(out), f->src, d->mac, &fip, l4 + off, n);
		uint8_t *h = out + 14;

		if (len == 0)
			return;
		wb_patch_u16(h + 6, (uint16_t)((off + n < l4_len ? 0x2000 : 0) | (off / 8)));
		wb_patch_u16(h + 10, 0);
		wb_patch_u16(h + 10, frame_csum_fold(frame_csum_add(0, h, 20)));
		send_resolved(r, d, ip->dst, out, len);
	}
}

/* IP fields of an ICMP reply (echo or timestamp): the IE line's. */
static void
icmp_reply_ip(const struct persona *p, struct decoy *d, const struct frame *f,
	      struct emit_ip *ip)
{
	bool req_df = (f->ip.frag & 0x4000) != 0;

	ip->ttl = p->ie.ttl;
	ip->df = p->ie.dfi == 'Y' || (p->ie.dfi == 'S' && req_df) || (p->ie.dfi == 'O' && !req_df);
	ip->id = icmp_ipid(p, d);
}

/*
 * ICMP timestamp request (type 13) -> reply (14), from the OS families
 * that answer them (persona icmp_tstamp: Linux, the BSDs but macOS,
 * Windows before Vista, routers and printers): the originate time copied,
 * receive and transmit the decoy's own time of day (ms since midnight UT,
 * its clock with its rate offset). Shorter requests are dropped as Linux
 * does.
 */
static void
icmp_timestamp(struct respond *r, const struct frame *f, struct decoy *d)
{
	const struct persona *p = persona_of(r, d);
	const struct frame_icmp *ic = &f->icmp;
	struct cursor in = cur_init(ic->data, ic->data_len);
	uint8_t body[20], *csum;
	struct wbuf w = wb_init(body, sizeof(body));
	struct emit_ip ip = { .src = d->addr, .dst = f->ip.src, .proto = 1, .tos = f->ip.tos };
	uint32_t orig, ms;
	uint64_t wall;

	if (!cur_be32(&in, &orig) || !cur_skip(&in, 8))
		return;
	contact(r, CONTACT_PING, f, d, 0, 0);
	if (!p->icmp_tstamp)
		return;
	wall = (uint64_t)((int64_t)r->decoys->start_ns + r->wall_off_ns) +
	       decoy_clock_ns(r->decoys, d, r->now_ns);
	ms = (uint32_t)((wall / 1000000ULL) % 86400000ULL);
	wb_u8(&w, 14);
	wb_u8(&w, 0);
	csum = wb_reserve(&w, 2);
	wb_patch_u16(csum, 0);
	wb_u16(&w, ic->id);
	wb_u16(&w, ic->seq);
	wb_u32(&w, orig);
	wb_u32(&w, ms);		/* receive */
	wb_u32(&w, ms);		/* transmit */
	if (!wb_ok(&w))
		return;
	wb_patch_u16(csum, frame_csum_fold(frame_csum_add(0, body, wb_len(&w))));
	icmp_reply_ip(p, d, f, &ip);
	send_ip(r, f, d, &ip, body, wb_len(&w));
}

static void
handle_icmp(struct respond *r, const struct frame *f, struct decoy *d)
{
	const struct persona *p = persona_of(r, d);
	const struct frame_icmp *ic = &f->icmp;
	uint8_t body[LIMIT_CHAFF_FRAG_BYTES + 8], *csum;	/* a reassembled ping's reply */
	struct wbuf w = wb_init(body, sizeof(body));
	struct emit_ip ip = { .src = d->addr, .dst = f->ip.src, .proto = 1, .tos = f->ip.tos };

	if (ic->type == 13) {
		icmp_timestamp(r, f, d);
		return;
	}
	if (ic->type != 8)
		return;
	contact(r, CONTACT_PING, f, d, 0, 0);
	if (!p->ie.respond)
		return;
	wb_u8(&w, 0);		/* echo reply */
	wb_u8(&w, p->ie.cd == 'S' ? ic->code : p->ie.cd == 'V' ? p->ie.cd_val : 0);
	csum = wb_reserve(&w, 2);
	wb_patch_u16(csum, 0);
	wb_u16(&w, ic->id);
	wb_u16(&w, ic->seq);
	wb_bytes(&w, ic->data, ic->data_len);
	if (!wb_ok(&w))
		return;
	wb_patch_u16(csum, frame_csum_fold(frame_csum_add(0, body, wb_len(&w))));
	icmp_reply_ip(p, d, f, &ip);
	send_ip(r, f, d, &ip, body, wb_len(&w));
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
	uint8_t body[EMIT_FRAME_MAX - 34], *csum, *q;
	struct wbuf w = wb_init(body, sizeof(body));
	struct emit_ip ip = { .src = d->addr, .dst = f->ip.src, .proto = 1 };
	size_t quote, orig = f->ip.total_len;

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
	wb_u8(&w, 3);		/* destination unreachable */
	wb_u8(&w, 3);		/* port unreachable */
	csum = wb_reserve(&w, 2);
	wb_patch_u16(csum, 0);
	wb_u32(&w, u->un);	/* the "unused" field as the personality fills it */
	q = wb_reserve(&w, quote);
	if (!wb_ok(&w))
		return;
	memcpy(q, f->ip.hdr, quote);
	/* The quoted header, altered the way the personality's stack does. */
	if (u->ripl >= 0)
		wb_patch_u16(q + 2, (uint16_t)u->ripl);
	if (u->rid >= 0)
		wb_patch_u16(q + 4, (uint16_t)u->rid);
	if (u->ripl >= 0 || u->rid >= 0 || u->ripck != 'G') {
		wb_patch_u16(q + 10, 0);
		if (u->ripck != 'Z')
			wb_patch_u16(q + 10, (uint16_t)(frame_csum_fold(frame_csum_add(0, q, f->ip.ihl)) +
							(u->ripck == 'I' ? 1 : 0)));
	}
	if (u->ruck >= 0 && quote >= f->ip.ihl + 8u)
		wb_patch_u16(q + f->ip.ihl + 6, (uint16_t)u->ruck);
	if (u->rud == 'I' && quote > f->ip.ihl + 8u)
		q[f->ip.ihl + 8] ^= 0xff;
	wb_patch_u16(csum, frame_csum_fold(frame_csum_add(0, body, wb_len(&w))));
	ip.ttl = u->ttl;
	ip.df = u->df;
	ip.id = icmp_ipid(p, d);
	send_ip(r, f, d, &ip, body, wb_len(&w));
}

/* The answer of a UDP service (NetBIOS name service), with the IP fields of
 * the personality's ordinary traffic. */
static void
udp_answer(struct respond *r, const struct frame *f, struct decoy *d)
{
	const struct persona *p = persona_of(r, d);
	uint8_t body[1024];
	struct emit_ip ip = { .src = d->addr, .dst = f->ip.src, .proto = 17 };
	size_t n = 0;

	if (r->hooks.udp_data)
		n = r->hooks.udp_data(r->hooks.arg, d, f->ip.src, f->udp.sport, f->udp.dport,
				      f->udp.data, f->udp.data_len, body + 8, sizeof(body) - 8);
	if (n == 0 || n > sizeof(body) - 8)
		return;
	wb_patch_u16(body, f->udp.dport);
	wb_patch_u16(body + 2, f->udp.sport);
	wb_patch_u16(body + 4, (uint16_t)(8 + n));
	wb_patch_u16(body + 6, 0);	/* emit_ipv4 fills the checksum */
	ip.ttl = p->tcp[PERSONA_SEQ1].ttl;
	ip.df = p->tcp[PERSONA_SEQ1].df;
	ip.id = tcp_ipid(p, d, false);
	send_ip(r, f, d, &ip, body, 8 + n);
}

static void
handle_udp(struct respond *r, const struct frame *f, struct decoy *d)
{
	contact(r, CONTACT_UDP, f, d, f->udp.sport, f->udp.dport);
	if (udp_open(r, d, f->udp.dport)) {
		udp_answer(r, f, d);	/* most open services stay silent to junk */
		return;
	}
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
real_mss(const struct respond *r, const char *fp_opts, const struct frame_tcpopt *peer, bool v6)
{
	unsigned mtu = r->mtu >= (v6 ? 1280u : 576u) && r->mtu <= 9216 ? r->mtu : 1500;
	unsigned mss = mtu - 40 - (v6 ? IP6_EXTRA : 0), fp = 0;
	const char *m = strchr(fp_opts, 'M');

	if (mss > ETHERNET_MSS - (v6 ? IP6_EXTRA : 0))
		mss = ETHERNET_MSS - (v6 ? IP6_EXTRA : 0);
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
	uint32_t tsval;		/* our TSval, when tsval_set */
	uint32_t tsecr;		/* our TSecr, when tsecr_set (else the frame's TSval) */
	uint8_t extra_flags;	/* ECN bits for the ECN probe's answer */
	bool real_syn;		/* the SYN/ACK of a real connection: ack = seq + 1 */
	bool tsval_set, tsecr_set;
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
		olen = emit_tcp_options(a->opts, a->tsval_set ? a->tsval : tsval_of(r, p, d),
					a->tsecr_set ? a->tsecr : peer.tsval, opt, sizeof(opt));
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
	static const struct frame_tcpopt none;
	char opts[40];

	if (!a.row->respond)
		return;
	if (f->v6 && strchr(a.opts, 'M')) {	/* IPv6: the link's MSS (synack_opts) */
		snprintf(opts, sizeof(opts), "%s", a.opts);
		set_opts_mss(opts, sizeof(opts), real_mss(r, p->tcp[PERSONA_SEQ1].opts, &none, true));
		a.opts = opts;
	}
	if (a.row->seq == PERSONA_SEQ_OTHER)
		a.isn = next_isn(r, p, d, false);
	send_tcp_answer(r, f, d, &a, NULL, 0);
}

/* --- connections: timers, send buffers, segments --- */

#define SEQ_LT(a, b)	((int32_t)((a) - (b)) < 0)
#define SEQ_LEQ(a, b)	((int32_t)((a) - (b)) <= 0)
#define RTO_MAX_MS	120000u		/* TCP_RTO_MAX: the backoff stops doubling here */

static uint32_t
conn_slot(const struct respond *r, const struct conn *c)
{
	return (uint32_t)(c - r->conns.v);
}

static bool
timer_stale(const struct respond *r, const struct respond_timer *e)
{
	const struct conn *c = &r->conns.v[e->slot];

	return c->state == CONN_FREE || c->rtx_due != e->due;
}

static void
heap_swap(struct respond_timer *a, struct respond_timer *b)
{
	struct respond_timer t = *a;

	*a = *b;
	*b = t;
}

static void
heap_up(struct respond *r, uint32_t i)
{
	while (i > 0 && r->timers[(i - 1) / 2].due > r->timers[i].due) {
		heap_swap(&r->timers[(i - 1) / 2], &r->timers[i]);
		i = (i - 1) / 2;
	}
}

static void
heap_pop(struct respond *r)
{
	uint32_t i = 0;

	r->timers[0] = r->timers[--r->n_timers];
	for (;;) {
		uint32_t l = 2 * i + 1, m = i;

		if (l < r->n_timers && r->timers[l].due < r->timers[m].due)
			m = l;
		if (l + 1 < r->n_timers && r->timers[l + 1].due < r->timers[m].due)
			m = l + 1;
		if (m == i)
			break;
		heap_swap(&r->timers[i], &r->timers[m]);
		i = m;
	}
}

/* Arm (due > 0) or cancel (0) the connection's one timer. A cancelled or
 * moved timer leaves a stale heap entry, skipped when it surfaces; when the
 * heap is full of them it is rebuilt from the table (each connection has at
 * most one live entry, so the rebuild leaves it at most half full). */
static void
conn_timer(struct respond *r, struct conn *c, uint64_t due)
{
	c->rtx_due = due;
	if (due == 0)
		return;
	if (r->n_timers == r->cap_timers) {
		r->n_timers = 0;
		for (uint32_t i = 0; i <= r->conns.mask; i++) {
			const struct conn *x = &r->conns.v[i];

			if (x->state == CONN_FREE || x->rtx_due == 0 || x == c)
				continue;
			r->timers[r->n_timers] = (struct respond_timer){ .due = x->rtx_due, .slot = i };
			heap_up(r, r->n_timers++);
		}
	}
	r->timers[r->n_timers] = (struct respond_timer){ .due = due, .slot = conn_slot(r, c) };
	heap_up(r, r->n_timers++);
}

static uint64_t
ms_after(uint64_t now_ns, uint32_t ms)
{
	return now_ns + (uint64_t)ms * 1000000ULL;
}

/* The timeout after `count` retransmissions: doubled each time, at most TCP_RTO_MAX. */
static uint32_t
backoff_ms(uint32_t rto_ms, unsigned count)
{
	uint64_t v = (uint64_t)rto_ms << (count < 16 ? count : 16);

	return v > RTO_MAX_MS ? RTO_MAX_MS : (uint32_t)v;
}

static void
sndbuf_release(struct respond *r, struct conn *c)
{
	if (c->sndbuf < 0)
		return;
	r->sndbuf_free[r->n_sndbuf_free++] = c->sndbuf;
	c->sndbuf = -1;
}

static uint8_t *
sndbuf_of(const struct respond *r, const struct conn *c)
{
	return r->sndbufs + (size_t)c->sndbuf * LIMIT_CHAFF_SNDBUF_BYTES;
}

/* Forget a connection: its send buffer back to the pool, its session closed. */
static void
drop_conn(struct respond *r, struct conn *c)
{
	if (c->session >= 0 && r->hooks.svc_close)
		r->hooks.svc_close(r->hooks.arg, c);
	sndbuf_release(r, c);
	conn_del(&r->conns, c);
}

/* Our TSval on a connection's segments: the decoy's clock, or for stacks
 * with a random offset per connection a 1 kHz clock plus that offset. */
static uint32_t
conn_tsval(const struct respond *r, const struct persona *p, const struct decoy *d,
	   const struct conn *c)
{
	uint64_t ns = decoy_clock_ns(r->decoys, d, r->now_ns);

	if (p->ts_hz == PERSONA_TS_RANDOM)
		return (uint32_t)(ns / 1000000ULL) + c->ts_off;
	if (p->ts_hz <= 0)
		return 0;
	return (uint32_t)((uint64_t)d->ts_base * (uint64_t)p->ts_hz +
			  ns / (1000000000ULL / (uint64_t)p->ts_hz));
}

/* The largest payload of one segment: the peer's MSS (536 when it sent
 * none, RFC 1122) and our link's, less the timestamp option when it is on
 * every segment. */
static size_t
conn_mss(const struct respond *r, const struct conn *c)
{
	unsigned mtu = r->mtu >= 576 && r->mtu <= 9216 ? r->mtu : 1500;
	unsigned mss = mtu - 40 - ((c->flags & CONN_F_V6) ? IP6_EXTRA : 0);
	/* No MSS option: 536 over IPv4 (RFC 1122), 1220 over IPv6 (RFC 8200's 1280). */
	unsigned peer = c->peer_mss ? c->peer_mss : (c->flags & CONN_F_V6) ? 1220 : 536;

	if (peer < mss)
		mss = peer;
	if (c->flags & CONN_F_TS)
		mss -= 12;
	return mss < 64 ? 64 : mss;
}

/* One segment of an established (or closing) connection: the personality's
 * TTL and DF, its IP ID rule, and timestamps when negotiated. */
static void
conn_segment(struct respond *r, struct conn *c, struct decoy *d, uint32_t seq, uint8_t flags,
	     const uint8_t *data, size_t n)
{
	const struct persona *p = persona_of(r, d);
	uint8_t seg[EMIT_FRAME_MAX - 34], out[EMIT_FRAME_MAX], opt[12];
	struct emit_tcp et;
	struct emit_ip ip;
	uint16_t saved_vlan = r->tx_vlan;
	int olen = 0;

	memset(&et, 0, sizeof(et));
	et.sport = c->dport;
	et.dport = c->sport;
	et.seq = seq;
	et.ack = c->rcv_nxt;
	et.flags = flags;
	et.win = c->win ? c->win : 0xffff;
	et.data = data;
	et.data_len = n;
	if (c->flags & CONN_F_TS) {
		olen = emit_tcp_options("NNT11", conn_tsval(r, p, d, c), c->ts_recent, opt,
					sizeof(opt));
		et.opt = opt;
		et.opt_len = olen > 0 ? (size_t)olen : 0;
	}
	memset(&ip, 0, sizeof(ip));
	ip.src = c->daddr;
	ip.dst = c->saddr;
	ip.proto = 6;
	ip.ttl = p->tcp[PERSONA_SEQ1].ttl;
	ip.df = p->tcp[PERSONA_SEQ1].df;
	if (p->ipid_per_conn && !(flags & FRAME_TCP_RST))
		ip.id = c->ip_id++;
	else
		ip.id = tcp_ipid(p, d, (flags & FRAME_TCP_RST) != 0);
	r->tx_vlan = c->vlan;
	if (c->flags & CONN_F_V6)
		send_frame(r, out, nd_emit6(out, sizeof(out), c->peer_mac, d->mac,
					    r->conn6[c - r->conns.v].self, r->conn6[c - r->conns.v].peer,
					    ip.ttl, 0, 6, seg, emit_tcp(seg, sizeof(seg), &et)));
	else
		send_resolved(r, d, c->saddr, out,
			      emit_ipv4(out, sizeof(out), c->peer_mac, d->mac, &ip, seg,
					emit_tcp(seg, sizeof(seg), &et)));
	r->tx_vlan = saved_vlan;
}

static void
conn_send_ack(struct respond *r, struct conn *c, struct decoy *d)
{
	conn_segment(r, c, d, c->snd_nxt, FRAME_TCP_ACK, NULL, 0);
}

/* Send what the peer's window allows of the queued data, then the FIN. */
static void
conn_output(struct respond *r, struct conn *c, struct decoy *d)
{
	size_t mss = conn_mss(r, c);

	while (!(c->flags & CONN_F_FIN_SENT)) {
		uint32_t off = c->snd_nxt - c->snd_una;
		uint32_t avail = c->snd_len > off ? c->snd_len - off : 0;
		uint32_t room = c->snd_wnd > off ? c->snd_wnd - off : 0;
		uint32_t n = avail < mss ? avail : (uint32_t)mss;
		uint8_t flags = FRAME_TCP_ACK;

		if (n > room)
			n = room;
		if (n == 0 && (avail > 0 || !(c->flags & CONN_F_FIN_QUEUED)))
			break;	/* window closed, or nothing to send */
		if (n > 0 && n == avail)
			flags |= FRAME_TCP_PSH;
		if (n == avail && (c->flags & CONN_F_FIN_QUEUED)) {
			flags |= FRAME_TCP_FIN;
			c->flags |= CONN_F_FIN_SENT;
		}
		conn_segment(r, c, d, c->snd_nxt, flags, n ? sndbuf_of(r, c) + off : NULL, n);
		c->snd_nxt += n + ((flags & FRAME_TCP_FIN) ? 1 : 0);
		if (c->rtx_due == 0)
			conn_timer(r, c, ms_after(r->now_ns, c->rto_ms));
	}
	/* A zero window with data waiting and nothing in flight: probe it
	 * when the timer runs out (RFC 9293's persist timer). */
	if (c->rtx_due == 0 && c->snd_nxt == c->snd_una && c->snd_len > 0)
		conn_timer(r, c, ms_after(r->now_ns, c->rto_ms));
}

/* Data without a buffer (the pool is empty): sent at once in MSS-sized
 * segments, never retransmitted. */
static void
conn_send_unbuffered(struct respond *r, struct conn *c, struct decoy *d, const uint8_t *data,
		     size_t len, bool fin)
{
	size_t mss = conn_mss(r, c);

	r->stats.sndbuf_short++;
	while (len > 0 || fin) {
		size_t n = len > mss ? mss : len;
		uint8_t flags = (uint8_t)(FRAME_TCP_ACK | (n ? FRAME_TCP_PSH : 0));

		if (n == len && fin)
			flags |= FRAME_TCP_FIN;
		conn_segment(r, c, d, c->snd_nxt, flags, data, n);
		c->snd_nxt += (uint32_t)n + ((flags & FRAME_TCP_FIN) ? 1 : 0);
		c->snd_una = c->snd_nxt;
		if (n > 0)
			data += n;
		len -= n;
		if (flags & FRAME_TCP_FIN) {
			c->flags |= CONN_F_FIN_QUEUED | CONN_F_FIN_SENT;
			break;
		}
	}
}

void
respond_tcp_send(struct respond *r, struct conn *c, const uint8_t *data, size_t len, bool fin)
{
	struct decoy *d = decoy_find(r->decoys, c->daddr);
	size_t room;

	if (!d || (c->flags & (CONN_F_FIN_QUEUED | CONN_F_FIN_SENT)))
		return;
	if (len > 0 && c->sndbuf < 0) {
		if (r->n_sndbuf_free == 0) {
			conn_send_unbuffered(r, c, d, data, len, fin);
			return;
		}
		c->sndbuf = r->sndbuf_free[--r->n_sndbuf_free];
	}
	if (len > 0) {
		room = LIMIT_CHAFF_SNDBUF_BYTES - c->snd_len;
		if (len > room) {
			/* More than a decoy service ever has in flight: cut, and close after it. */
			r->stats.sndbuf_short++;
			len = room;
			fin = true;
		}
		memcpy(sndbuf_of(r, c) + c->snd_len, data, len);
		c->snd_len = (uint16_t)(c->snd_len + len);
	}
	if (fin)
		c->flags |= CONN_F_FIN_QUEUED;
	conn_output(r, c, d);
}

static void
close_conn(struct respond *r, struct conn *c)
{
	drop_conn(r, c);
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

/* Our SYN/ACK options for a connection: the probe row's as written, or
 * the first SEQ row's filtered by what the peer's SYN offered. */
static void
synack_opts(const struct respond *r, const struct persona *p, const struct conn *c,
	    const struct frame_tcpopt *o, char *out, size_t cap)
{
	static const struct frame_tcpopt none;

	if (c->flags & CONN_F_PROBE) {
		snprintf(out, cap, "%s", p->tcp[c->syn_row].opts);
		/* nmap-os-db describes IPv4 (often over loopback): over IPv6
		 * the stack's own MSS for the link, as a real one sends. */
		if (c->flags & CONN_F_V6)
			set_opts_mss(out, cap, real_mss(r, p->tcp[PERSONA_SEQ1].opts, &none, true));
		return;
	}
	filter_opts(p->tcp[PERSONA_SEQ1].opts, o, out, cap);
	set_opts_mss(out, cap, real_mss(r, p->tcp[PERSONA_SEQ1].opts, o,
					(c->flags & CONN_F_V6) != 0));
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

	memset(&a, 0, sizeof(a));
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
	if (!probe)
		idx = PERSONA_SEQ1;
	a.row = &p->tcp[idx];
	if (!a.row->respond)
		return;
	a.isn = next_isn(r, p, d, idx != PERSONA_ECN);
	c = conn_add(&r->conns, f->ip.src, t->sport, d->addr, t->dport, r->now_ns,
		     &evicted, &did_evict);
	if (did_evict && evicted.session >= 0 && r->hooks.svc_close)
		r->hooks.svc_close(r->hooks.arg, &evicted);
	if (did_evict && evicted.sndbuf >= 0)
		r->sndbuf_free[r->n_sndbuf_free++] = evicted.sndbuf;
	memcpy(c->peer_mac, f->src, 6);
	c->vlan = r->tx_vlan;
	c->flags = (uint8_t)((probe ? CONN_F_PROBE : 0) | (o.ws_present ? CONN_F_PEER_WS : 0) |
			     (o.sack_ok ? CONN_F_PEER_SACK : 0) | (o.ts_present ? CONN_F_PEER_TS : 0) |
			     (f->v6 ? CONN_F_V6 : 0));
	if (f->v6) {
		memcpy(r->conn6[c - r->conns.v].peer, f->ip6.src, 16);
		memcpy(r->conn6[c - r->conns.v].self, f->ip6.dst, 16);
	}
	c->syn_row = (uint8_t)idx;
	c->syn_extra = a.extra_flags;
	c->peer_mss = o.mss_present ? o.mss : 0;
	synack_opts(r, p, c, &o, opts, sizeof(opts));
	a.opts = opts;
	c->snd_una = a.isn;
	c->snd_nxt = a.isn + 1;
	c->rcv_nxt = t->seq + 1;
	c->win = a.row->win;
	c->snd_wnd = t->win;	/* never scaled in a SYN */
	if (o.ws_present && strchr(opts, 'W'))
		c->snd_ws = o.ws > 14 ? 14 : o.ws;
	c->ts_recent = o.ts_present ? o.tsval : 0;
	if (o.ts_present && strchr(opts, 'T') && p->ts_hz != -1)
		c->flags |= CONN_F_TS;
	c->rto_ms = p->rto_init_ms ? p->rto_init_ms : 1000;
	c->ip_id = (uint16_t)decoy_rand(d);
	a.tsval = tsval_of(r, p, d);
	a.tsval_set = true;
	if (p->ts_hz == PERSONA_TS_RANDOM)
		c->ts_off = a.tsval - (uint32_t)(decoy_clock_ns(r->decoys, d, r->now_ns) / 1000000ULL);
	send_tcp_answer(r, f, d, &a, NULL, 0);
	conn_timer(r, c, ms_after(r->now_ns, c->rto_ms));
}

/* Our SYN/ACK again, as first sent but for a fresh TSval (a real stack
 * rebuilds it from the request it keeps). */
static void
resend_synack(struct respond *r, struct conn *c, struct decoy *d)
{
	const struct persona *p = persona_of(r, d);
	struct frame f;
	struct frame_tcpopt o = {
		.mss_present = c->peer_mss != 0, .mss = c->peer_mss,
		.ws_present = (c->flags & CONN_F_PEER_WS) != 0,
		.sack_ok = (c->flags & CONN_F_PEER_SACK) != 0,
		.ts_present = (c->flags & CONN_F_PEER_TS) != 0,
	};
	struct tcp_answer a = { .row = &p->tcp[c->syn_row], .isn = c->snd_una,
				.extra_flags = c->syn_extra, .real_syn = !(c->flags & CONN_F_PROBE),
				.tsval_set = true };
	char opts[40];
	uint16_t saved_vlan = r->tx_vlan;

	/* The answer builder reads the peer's side from a frame: rebuild the
	 * parts it uses (addresses, ports, sequence, no options). */
	memset(&f, 0, sizeof(f));
	f.kind = FRAME_TCP;
	memcpy(f.src, c->peer_mac, 6);
	f.ip.src = c->saddr;
	f.ip.dst = c->daddr;
	f.ip.proto = 6;
	if (c->flags & CONN_F_V6) {
		f.v6 = true;
		memcpy(f.ip6.src, r->conn6[c - r->conns.v].peer, 16);
		memcpy(f.ip6.dst, r->conn6[c - r->conns.v].self, 16);
	}
	f.tcp.sport = c->sport;
	f.tcp.dport = c->dport;
	f.tcp.seq = c->rcv_nxt - 1;
	synack_opts(r, p, c, &o, opts, sizeof(opts));
	a.opts = opts;
	a.tsval = conn_tsval(r, p, d, c);
	a.tsecr = c->ts_recent;	/* the SYN's TSval */
	a.tsecr_set = true;
	r->stats.retransmits++;
	r->tx_vlan = c->vlan;
	send_tcp_answer(r, &f, d, &a, NULL, 0);
	r->tx_vlan = saved_vlan;
}

/* The peer acknowledged up to ack and opened its window to win: drop what
 * is acked from the send buffer, restart or stop the timer, send more. */
static void
conn_acked(struct respond *r, struct conn *c, struct decoy *d, const struct frame_tcp *t)
{
	uint32_t ack = t->ack;

	if (SEQ_LT(ack, c->snd_una) || SEQ_LT(c->snd_nxt, ack))
		return;	/* old, or acks what we never sent */
	if (SEQ_LT(c->snd_una, ack)) {
		uint32_t acked = ack - c->snd_una;
		uint32_t data = acked < c->snd_len ? acked : c->snd_len;

		if (data > 0) {
			uint8_t *b = sndbuf_of(r, c);

			memmove(b, b + data, c->snd_len - data);
			c->snd_len = (uint16_t)(c->snd_len - data);
		}
		c->snd_una = ack;
		c->rtx_count = 0;
		conn_timer(r, c, c->snd_una == c->snd_nxt ? 0 : ms_after(r->now_ns, c->rto_ms));
		if (c->snd_len == 0)
			sndbuf_release(r, c);
	}
	c->snd_wnd = (uint32_t)t->win << c->snd_ws;
	conn_output(r, c, d);
}

/* The final ACK of our handshake: the connection is up, the service greets. */
static void
tcp_established(struct respond *r, const struct frame *f, struct decoy *d, struct conn *c)
{
	const struct persona *p = persona_of(r, d);
	uint8_t out[2048];
	size_t n = 0;

	/* The RTO from the handshake's round trip (none when the SYN/ACK was
	 * retransmitted: Karn), as a stack's first sample gives it:
	 * R + max(2R, the OS's minimum). */
	if (c->rtx_count == 0) {
		uint64_t rtt_ms = (r->now_ns - c->start_ns) / 1000000ULL;
		uint64_t var = 2 * rtt_ms > p->rto_min_ms ? 2 * rtt_ms : p->rto_min_ms;
		uint64_t rto = rtt_ms + var;

		c->rto_ms = (uint16_t)(rto > 60000 ? 60000 : rto);
	}
	c->rtx_count = 0;
	c->snd_una = f->tcp.ack;
	c->snd_wnd = (uint32_t)f->tcp.win << c->snd_ws;
	conn_timer(r, c, 0);
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
		conn_send_ack(r, c, d);	/* out of order or retransmission: re-ACK */
		return;
	}
	c->rcv_nxt += (uint32_t)t->data_len;
	c->bytes_in += (uint32_t)t->data_len;
	if (r->hooks.svc_data)
		n = r->hooks.svc_data(r->hooks.arg, c, d, t->data, t->data_len, out,
				      sizeof(out), &close);
	if (n > 0 || close) {
		uint32_t before = c->snd_nxt;

		respond_tcp_send(r, c, out, n, close);
		if (c->snd_nxt == before)
			conn_send_ack(r, c, d);	/* the window held it back: ack anyway */
	} else {
		conn_send_ack(r, c, d);
	}
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
	if ((c->flags & CONN_F_TS) && t->opt_len > 0 && SEQ_LEQ(t->seq, c->rcv_nxt)) {
		struct frame_tcpopt o;

		frame_tcp_options(t, &o);
		if (o.ts_present)
			c->ts_recent = o.tsval;
	}
	if (c->state == CONN_SYN_RCVD) {
		if (t->ack != c->snd_nxt)
			return;
		tcp_established(r, f, d, c);
	} else {
		conn_acked(r, c, d, t);
	}
	if (c->state == CONN_LAST_ACK) {
		if (c->snd_una == c->snd_nxt && (c->flags & CONN_F_FIN_SENT))
			drop_conn(r, c);
		return;
	}
	if (c->state == CONN_FIN_WAIT) {
		if (t->data_len > 0 && t->seq == c->rcv_nxt)
			c->rcv_nxt += (uint32_t)t->data_len;	/* read and dropped: the session is over */
		if (t->flags & FRAME_TCP_FIN) {
			c->rcv_nxt = t->seq + (uint32_t)t->data_len + 1;
			conn_send_ack(r, c, d);
			if (c->snd_una == c->snd_nxt)
				drop_conn(r, c);
			else
				c->state = CONN_LAST_ACK;	/* our FIN still unacked: wait */
		} else if (t->data_len > 0) {
			conn_send_ack(r, c, d);
		}
		return;
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

/* One connection's timer ran out: retransmit (SYN/ACK, the oldest
 * unacknowledged segment or FIN), probe a zero window, or give up. */
static void
conn_timeout(struct respond *r, struct conn *c)
{
	struct decoy *d = decoy_find(r->decoys, c->daddr);
	const struct persona *p;
	uint32_t limit;

	c->rtx_due = 0;
	if (!d) {
		drop_conn(r, c);
		return;
	}
	p = persona_of(r, d);
	/* A closing connection has no session left: an orphan, which Linux
	 * retries at most 8 times (tcp_orphan_retries). */
	limit = c->state == CONN_SYN_RCVD ? p->synack_retries : p->data_retries;
	if ((c->state == CONN_FIN_WAIT || c->state == CONN_LAST_ACK) && limit > 8)
		limit = 8;
	if (c->rtx_count >= limit) {
		/* Out of retries: the stack forgets the connection silently. */
		r->stats.rtx_dropped++;
		drop_conn(r, c);
		return;
	}
	c->rtx_count++;
	if (c->state == CONN_SYN_RCVD) {
		resend_synack(r, c, d);
	} else if (c->snd_una != c->snd_nxt) {
		uint32_t n = c->snd_len < conn_mss(r, c) ? c->snd_len : (uint32_t)conn_mss(r, c);
		uint8_t flags = FRAME_TCP_ACK;

		if (n > c->snd_nxt - c->snd_una)
			n = c->snd_nxt - c->snd_una;
		if (n > 0)
			flags |= FRAME_TCP_PSH;
		if ((c->flags & CONN_F_FIN_SENT) && c->snd_una + n + 1 == c->snd_nxt)
			flags |= FRAME_TCP_FIN;
		r->stats.retransmits++;
		conn_segment(r, c, d, c->snd_una, flags, n ? sndbuf_of(r, c) : NULL, n);
	} else if (c->snd_len > 0) {
		/* Zero-window probe: an old sequence number draws the peer's ACK
		 * with its current window (Linux's tcp_xmit_probe_skb). */
		conn_segment(r, c, d, c->snd_una - 1, FRAME_TCP_ACK, NULL, 0);
	} else {
		c->rtx_count = 0;
		return;
	}
	conn_timer(r, c, ms_after(r->now_ns, backoff_ms(c->state == CONN_SYN_RCVD ?
							 p->rto_init_ms : c->rto_ms,
							 c->rtx_count)));
}

uint64_t
respond_next_due(struct respond *r)
{
	uint64_t due, nd = neigh_next_due(r);

	while (r->n_timers > 0 && timer_stale(r, &r->timers[0]))
		heap_pop(r);
	due = r->n_timers > 0 ? r->timers[0].due : 0;
	return nd && (!due || nd < due) ? nd : due;
}

void
respond_timers(struct respond *r)
{
	neigh_timers(r);
	while (r->n_timers > 0 && r->timers[0].due <= r->now_ns) {
		struct respond_timer e = r->timers[0];

		heap_pop(r);
		if (!timer_stale(r, &e))
			conn_timeout(r, &r->conns.v[e.slot]);
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
	/* A token collision of two IPv6 peers (24 bits): the newcomer's. */
	if (c && f->v6 && ((c->flags & CONN_F_V6) == 0 ||
			   memcmp(r->conn6[c - r->conns.v].peer, f->ip6.src, 16) != 0 ||
			   memcmp(r->conn6[c - r->conns.v].self, f->ip6.dst, 16) != 0))
		c = NULL;
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


/* --- IPv4 reassembly (bounded) --- */

#define FRAG_TIMEOUT_NS	30000000000ULL	/* Linux's ipfrag_time: 30 s */

static void
frag_free(struct respond *r, struct respond_frag *q)
{
	if (q->used && q->have > 0)
		r->stats.frag_dropped++;
	memset(q, 0, sizeof(*q));
}

/* The datagram's slot, or a fresh one: a decoy holds at most
 * LIMIT_CHAFF_FRAGS_PER_DECOY (its oldest goes), all decoys
 * LIMIT_CHAFF_FRAGS (the oldest of all goes); stale ones are freed. */
static struct respond_frag *
frag_slot(struct respond *r, const struct frame_ip *ip)
{
	struct respond_frag *oldest = NULL, *oldest_dst = NULL, *free_q = NULL, *q;
	unsigned n_dst = 0;

	for (uint32_t i = 0; i < LIMIT_CHAFF_FRAGS; i++) {
		q = &r->frags[i];
		if (q->used && r->now_ns - q->first_ns >= FRAG_TIMEOUT_NS)
			frag_free(r, q);
		if (!q->used) {
			if (!free_q)
				free_q = q;
			continue;
		}
		if (q->src == ip->src && q->dst == ip->dst && q->id == ip->id && q->proto == ip->proto)
			return q;
		if (!oldest || q->first_ns < oldest->first_ns)
			oldest = q;
		if (q->dst == ip->dst) {
			n_dst++;
			if (!oldest_dst || q->first_ns < oldest_dst->first_ns)
				oldest_dst = q;
		}
	}
	q = n_dst >= LIMIT_CHAFF_FRAGS_PER_DECOY ? oldest_dst : free_q ? free_q : oldest;
	frag_free(r, q);
	q->used = true;
	q->src = ip->src;
	q->dst = ip->dst;
	q->id = ip->id;
	q->proto = ip->proto;
	q->first_ns = r->now_ns;
	return q;
}

/*
 * One fragment for decoy d. When it completes its datagram, the datagram
 * is rebuilt as one frame (the first fragment's header, no fragment bits,
 * the whole length) and handled like any other. As Linux (4.19 on), a
 * datagram with overlapping fragments is dropped whole; so is one larger
 * than LIMIT_CHAFF_FRAG_BYTES (a real stack takes up to 64 KiB).
 */
static void
frag_input(struct respond *r, const struct frame *f, struct decoy *d)
{
	const struct frame_ip *ip = &f->ip;
	struct respond_frag *q = frag_slot(r, ip);
	uint32_t off = (uint32_t)(ip->frag & 0x1fff) * 8, n = (uint32_t)ip->l4_len;
	bool more = (ip->frag & 0x2000) != 0;
	uint8_t buf[14 + 60 + LIMIT_CHAFF_FRAG_BYTES];
	struct wbuf w;
	struct frame whole;

	(void)d;
	if ((more && n % 8 != 0) || off + n > LIMIT_CHAFF_FRAG_BYTES || (!more && q->len) ||
	    (q->len && off + n > q->len) || ip->ihl > sizeof(q->hdr)) {
		frag_free(r, q);
		return;
	}
	for (uint32_t b = off / 8; b < (off + n + 7) / 8; b++) {
		if (q->got[b / 8] & (1u << (b % 8))) {
			frag_free(r, q);	/* overlap */
			return;
		}
	}
	for (uint32_t b = off / 8; b < (off + n + 7) / 8; b++)
		q->got[b / 8] |= (uint8_t)(1u << (b % 8));
	memcpy(q->data + off, ip->l4, n);
	q->have = (uint16_t)(q->have + n);
	if (!more)
		q->len = (uint16_t)(off + n);
	if (off == 0) {
		q->ihl = ip->ihl;
		memcpy(q->hdr, ip->hdr, ip->ihl);
		memcpy(q->mac_dst, f->dst, 6);
		memcpy(q->mac_src, f->src, 6);
	}
	if (q->len == 0 || q->have != q->len || q->ihl == 0)
		return;
	/* Complete: Ethernet + the first header (fragment bits cleared but DF,
	 * total length and checksum redone) + the payload. */
	w = wb_init(buf, sizeof(buf));
	wb_bytes(&w, q->mac_dst, 6);
	wb_bytes(&w, q->mac_src, 6);
	wb_u16(&w, FRAME_ETH_IPV4);
	wb_bytes(&w, q->hdr, q->ihl);
	wb_bytes(&w, q->data, q->len);
	if (wb_ok(&w) && wb_len(&w) <= sizeof(buf)) {
		uint8_t *h = buf + 14;

		wb_patch_u16(h + 2, (uint16_t)(q->ihl + q->len));
		wb_patch_u16(h + 6, (uint16_t)(((uint16_t)h[6] << 8 | h[7]) & 0x4000));
		wb_patch_u16(h + 10, 0);
		wb_patch_u16(h + 10, frame_csum_fold(frame_csum_add(0, h, q->ihl)));
		if (frame_parse(buf, wb_len(&w), &whole) == 0 && whole.kind != FRAME_IP_FRAG) {
			r->stats.reassembled++;
			memset(q, 0, sizeof(*q));
			respond_dispatch(r, &whole, false);
			return;
		}
	}
	frag_free(r, q);
}

static void respond_dispatch6(struct respond *r, struct frame *f, bool csum_unverified);

static void
respond_dispatch(struct respond *r, const struct frame *fp, bool csum_unverified)
{
	struct frame f = *fp;
	struct decoy *d;

	if (f.kind == FRAME_ARP) {
		handle_arp(r, &f);
		return;
	}
	if (f.v6) {
		respond_dispatch6(r, &f, csum_unverified);
		return;
	}
	if (f.kind != FRAME_TCP && f.kind != FRAME_UDP && f.kind != FRAME_ICMP &&
	    f.kind != FRAME_IP_FRAG) {
		r->stats.not_ours++;
		return;
	}
	d = decoy_find(r->decoys, f.ip.dst);
	/* Unicast to the decoy's MAC only (or broadcast for nothing): a frame
	 * for the address but another MAC is someone else's. A source in
	 * 0.0.0.0/8 is a martian Linux drops (and where IPv6 peers' tokens
	 * live: see conn.h). */
	if (!d || memcmp(f.dst, d->mac, 6) != 0 || (f.ip.src >> 24) == 0) {
		r->stats.not_ours++;
		return;
	}
	if (f.kind == FRAME_IP_FRAG) {
		frag_input(r, &f, d);
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
		if (c->rtx_due != 0 && c->state != CONN_ESTABLISHED)
			continue;	/* its retransmission timer ends it */
		if (r->now_ns - c->last_ns >= idle_ns)
			close_conn(r, c);
		else if (r->now_ns - c->start_ns >= max_life)
			respond_tcp_close(r, c);
	}
}


/* --- IPv6: neighbour discovery, ICMPv6, and TCP/UDP through the IPv4 paths --- */

/* The 0.0.0.0/8 token an IPv6 peer's TCP and UDP are keyed by (conn.h). */
static uint32_t
token6(const struct respond *r, const uint8_t peer[16], const uint8_t self[16])
{
	uint8_t k[32];

	memcpy(k, peer, 16);
	memcpy(k + 16, self, 16);
	return (uint32_t)hash_bytes(&r->conns.key, k, sizeof(k)) & 0x00ffffffu;
}

/* The hop limit a personality's stack sets: its default TTL (nmap's SEQ
 * row for TCP, the IE row for ICMP); every OS uses the same default for
 * both families (Linux 64, Windows 128, the BSDs 64). Cisco's IPv4 255 is
 * the exception: IOS's IPv6 hop limit is 64. */
static uint8_t
hop_limit(const struct persona *p, uint8_t ttl)
{
	return ttl > 128 && strstr(p->os, "Cisco") ? 64 : ttl;
}

static void
send6(struct respond *r, const uint8_t eth_dst[6], const struct decoy *d, const uint8_t src[16],
      const uint8_t dst[16], uint8_t hlim, const uint8_t *l4, size_t len)
{
	uint8_t out[EMIT_FRAME_MAX];

	send_frame(r, out, nd_emit6(out, sizeof(out), eth_dst, d->mac, src, dst, hlim, 0,
				    FRAME_IPPROTO_ICMP6, l4, len));
}

/*
 * Neighbor Solicitation for a decoy's address: the advertisement a host
 * sends (solicited, override; the target link-layer address when the
 * solicitation was multicast, as Linux's ndisc_recv_ns does). A DAD probe
 * (source ::) from another host means that host is taking the address:
 * the decoy gives it up at once and stays silent, so the host keeps it.
 */
static void
handle_ns(struct respond *r, const struct frame *f, const struct nd_msg *m)
{
	uint8_t body[32], sn[16];
	struct decoy6 *e = decoy_find6(r->decoys, m->target);
	struct decoy *d;
	struct frame fc;
	size_t n;

	if (!e || e->released || !(d = decoy_find(r->decoys, e->v4)))
		return;
	if (memcmp(f->src, d->mac, 6) == 0)
		return;
	if (nd_is_unspecified(f->ip6.src)) {
		e->released = true;
		r->stats.nd_released++;
		if (r->hooks.nd_released)
			r->hooks.nd_released(r->hooks.arg, d, e->addr, f->src, true);
		return;
	}
	nd_solicited_node(m->target, sn);
	if (nd_is_mcast(f->ip6.dst) ? memcmp(f->ip6.dst, sn, 16) != 0
				    : memcmp(f->ip6.dst, m->target, 16) != 0 ||
				      memcmp(f->dst, d->mac, 6) != 0)
		return;
	fc = *f;
	memcpy(fc.ip6.dst, m->target, 16);
	fc.ip.src = token6(r, f->ip6.src, m->target);
	contact(r, CONTACT_ND, &fc, d, 0, 0);
	n = nd_build_na(body, sizeof(body), m->target, ND_NA_SOLICITED | ND_NA_OVERRIDE,
			nd_is_mcast(f->ip6.dst) ? d->mac : NULL);
	send6(r, m->has_lla ? m->lla : f->src, d, m->target, f->ip6.src, ND_HLIM, body, n);
}

/* An advertisement for a decoy's address from another link-layer address:
 * a real host holds it. The decoy gives it up (an alarm: someone may be
 * spoofing, or an owner came back). */
static void
handle_na(struct respond *r, const struct frame *f, const struct nd_msg *m)
{
	struct decoy6 *e = decoy_find6(r->decoys, m->target);
	const uint8_t *mac = m->has_lla ? m->lla : f->src;
	struct decoy *d;
	struct frame fc;

	if (!e || e->released || !(d = decoy_find(r->decoys, e->v4)) ||
	    memcmp(mac, d->mac, 6) == 0 || (mac[0] & 1))
		return;
	e->released = true;
	r->stats.nd_released++;
	if (r->hooks.nd_released)
		r->hooks.nd_released(r->hooks.arg, d, e->addr, mac, false);
	fc = *f;
	memcpy(fc.ip6.dst, m->target, 16);
	fc.ip.src = token6(r, f->ip6.src, m->target);
	contact(r, CONTACT_ND_CONFLICT, &fc, d, 0, 0);
}

/* An echo reply body for request f (checksum by nd_emit6). */
static size_t
echo6_body(const struct frame *f, uint8_t *body, size_t cap)
{
	struct wbuf w = wb_init(body, cap);

	wb_u8(&w, ND_ECHO_REP);
	wb_u8(&w, 0);
	wb_u16(&w, 0);
	wb_u16(&w, f->icmp.id);
	wb_u16(&w, f->icmp.seq);
	wb_bytes(&w, f->icmp.data, f->icmp.data_len);
	return wb_ok(&w) ? wb_len(&w) : 0;
}

static void
echo6(struct respond *r, const struct frame *f, struct decoy *d)
{
	const struct persona *p = persona_of(r, d);
	uint8_t body[EMIT_FRAME_MAX];

	contact(r, CONTACT_PING, f, d, 0, 0);
	if (!p->ie.respond)
		return;
	send6(r, f->src, d, f->ip6.dst, f->ip6.src, hop_limit(p, p->ie.ttl), body,
	      echo6_body(f, body, sizeof(body)));
}

/*
 * An echo request to all nodes (ping -6 ff02::1): every decoy whose OS
 * answers multicast echoes replies, from its link-local address to a
 * link-local source, else from its global one (source address
 * selection). At most LIMIT_CHAFF_MCAST_ECHO decoys, the lowest link-local
 * addresses first, so one spoofed frame cannot draw a reply per decoy.
 */
static void
mcast_echo6(struct respond *r, const struct frame *f)
{
	uint8_t body[EMIT_FRAME_MAX];
	size_t n = echo6_body(f, body, sizeof(body));
	unsigned seen = 0;

	if (n == 0)
		return;
	for (size_t i = 0; i < r->decoys->n6; i++) {
		const struct decoy6 *e = &r->decoys->v6[i];
		const struct persona *p;
		struct decoy *d;
		struct frame fc;

		if (!e->link_local || e->released || !(d = decoy_find(r->decoys, e->v4)))
			continue;
		if (seen++ >= LIMIT_CHAFF_MCAST_ECHO) {
			r->stats.mcast_echo_capped++;
			break;
		}
		p = persona_of(r, d);
		fc = *f;
		if (nd_is_link_local(f->ip6.src))
			memcpy(fc.ip6.dst, e->addr, 16);
		else if (!decoy_addr6_of(r->decoys, d, false, fc.ip6.dst) ||
			 !decoy_find6(r->decoys, fc.ip6.dst) ||
			 decoy_find6(r->decoys, fc.ip6.dst)->released)
			continue;
		fc.ip.src = token6(r, f->ip6.src, fc.ip6.dst);
		contact(r, CONTACT_PING, &fc, d, 0, 0);
		if (!p->ie.respond || !nd_answers_mcast_echo(p))
			continue;
		send6(r, f->src, d, fc.ip6.dst, f->ip6.src, hop_limit(p, p->ie.ttl), body, n);
	}
}

/* UDP to a closed port: ICMPv6 port unreachable, quoting as much of the
 * datagram as fits the minimum MTU (RFC 4443), from the OSes whose IPv4
 * stack sends port unreachables (the U1 line). */
static void
udp6(struct respond *r, const struct frame *f, struct decoy *d)
{
	const struct persona *p = persona_of(r, d);
	uint8_t body[1280 - 40];
	struct wbuf w = wb_init(body, sizeof(body));
	size_t quote = 40 + f->ip6.plen;

	contact(r, CONTACT_UDP, f, d, f->udp.sport, f->udp.dport);
	if (udp_open(r, d, f->udp.dport) || !p->u1.respond || !icmp_error_allowed(r))
		return;
	if (quote > sizeof(body) - 8)
		quote = sizeof(body) - 8;
	wb_u8(&w, ND_UNREACH);
	wb_u8(&w, 4);		/* port unreachable */
	wb_u16(&w, 0);
	wb_u32(&w, 0);
	wb_bytes(&w, f->ip.hdr, quote);
	if (wb_ok(&w))
		send6(r, f->src, d, f->ip6.dst, f->ip6.src, hop_limit(p, p->u1.ttl), body,
		      wb_len(&w));
}

/* Hop-by-hop options past the first header: ICMPv6 parameter problem,
 * code 1 (unrecognized next header), pointing at the field that named it,
 * as Linux (and RFC 8200 4.1) answers; rate limited like every error. */
static void
param_problem6(struct respond *r, const struct frame *f, struct decoy *d)
{
	const struct persona *p = persona_of(r, d);
	uint8_t body[1280 - 40];
	struct wbuf w = wb_init(body, sizeof(body));
	size_t quote = 40 + f->ip6.plen;

	if (!icmp_error_allowed(r))
		return;
	if (quote > sizeof(body) - 8)
		quote = sizeof(body) - 8;
	wb_u8(&w, 4);		/* parameter problem */
	wb_u8(&w, 1);		/* unrecognized next header */
	wb_u16(&w, 0);
	wb_u32(&w, f->ip6.pp_ptr);
	wb_bytes(&w, f->ip.hdr, quote);
	if (wb_ok(&w))
		send6(r, f->src, d, f->ip6.dst, f->ip6.src, hop_limit(p, p->ie.ttl), body,
		      wb_len(&w));
}

static void
respond_dispatch6(struct respond *r, struct frame *f, bool csum_unverified)
{
	struct nd_msg m;
	struct decoy6 *e;
	struct decoy *d;

	if (f->kind == FRAME_IP_FRAG) {
		r->stats.frag6_dropped++;
		return;
	}
	if (f->kind != FRAME_TCP && f->kind != FRAME_UDP && f->kind != FRAME_ICMP &&
	    f->kind != FRAME_IP6_BADHDR) {
		r->stats.not_ours++;
		return;
	}
	if (r->decoys->n6 == 0 || nd_is_mcast(f->ip6.src)) {
		r->stats.not_ours++;
		return;
	}
	if (f->kind != FRAME_IP6_BADHDR && !csum_unverified && !frame_l4_csum_ok(f)) {
		r->stats.dropped_csum++;
		return;
	}
	/* Neighbour discovery is seen wherever it goes (promiscuous): an NA
	 * or a DAD probe for a decoy's address may be addressed to others. */
	if (f->kind == FRAME_ICMP && (f->icmp.type == ND_NS || f->icmp.type == ND_NA)) {
		if (nd_parse(f, &m) < 0) {
			r->stats.dropped_malformed++;
			return;
		}
		if (m.type == ND_NS)
			handle_ns(r, f, &m);
		else
			handle_na(r, f, &m);
		return;
	}
	if (nd_is_mcast(f->ip6.dst)) {
		if (f->kind == FRAME_ICMP && f->icmp.type == ND_ECHO_REQ &&
		    memcmp(f->ip6.dst, nd_all_nodes, 16) == 0 && (f->dst[0] & 1))
			mcast_echo6(r, f);
		else
			r->stats.not_ours++;
		return;
	}
	e = decoy_find6(r->decoys, f->ip6.dst);
	if (!e || e->released || !(d = decoy_find(r->decoys, e->v4)) ||
	    memcmp(f->dst, d->mac, 6) != 0 || nd_is_unspecified(f->ip6.src)) {
		r->stats.not_ours++;
		return;
	}
	/* From here the IPv4 paths serve it: keyed by the peer's token and
	 * the decoy's IPv4 identity, answered over IPv6 (send_ip, conn_segment). */
	f->ip.src = token6(r, f->ip6.src, f->ip6.dst);
	f->ip.dst = d->addr;
	switch (f->kind) {
	case FRAME_IP6_BADHDR:
		param_problem6(r, f, d);
		break;
	case FRAME_TCP:
		handle_tcp(r, f, d);
		break;
	case FRAME_UDP:
		udp6(r, f, d);
		break;
	default:
		if (f->icmp.type == ND_ECHO_REQ)	/* any code, as Linux (nmap's IE1 sends 9) */
			echo6(r, f, d);
		break;
	}
}
