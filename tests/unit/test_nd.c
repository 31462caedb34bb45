/* Unit tests for src/chaff/nd.c and the IPv6 paths of decoy.c/respond.c:
 * address generation, ND/ICMPv6 builders and checksums, NS -> NA, DAD
 * release, echo (unicast and all-nodes), TCP over IPv6. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "chaff/emit.h"
#include "chaff/frame.h"
#include "chaff/nd.h"
#include "chaff/respond.h"

static const char linux_fp[] =
	"Fingerprint Linux 4.15 - 5.6\n"
	"Class Linux | Linux | 4.X | general purpose\n"
	"SEQ(SP=FB-109%GCD=1-6%ISR=102-110%TI=Z%CI=Z%II=I%TS=A)\n"
	"OPS(O1=M5B4ST11NW7%O2=M5B4ST11NW7%O3=M5B4NNT11NW7%O4=M5B4ST11NW7%O5=M5B4ST11NW7%O6=M5B4ST11)\n"
	"WIN(W1=FE88%W2=FE88%W3=FE88%W4=FE88%W5=FE88%W6=FE88)\n"
	"ECN(R=Y%DF=Y%T=3B-45%TG=40%W=FAF0%O=M5B4NNSNW7%CC=Y%Q=)\n"
	"T1(R=Y%DF=Y%T=3B-45%TG=40%S=O%A=S+%F=AS%RD=0%Q=)\n"
	"T2(R=N)\n"
	"T3(R=N)\n"
	"T4(R=Y%DF=Y%T=3B-45%TG=40%W=0%S=A%A=Z%F=R%O=%RD=0%Q=)\n"
	"T5(R=Y%DF=Y%T=3B-45%TG=40%W=0%S=Z%A=S+%F=AR%O=%RD=0%Q=)\n"
	"T6(R=Y%DF=Y%T=3B-45%TG=40%W=0%S=A%A=Z%F=R%O=%RD=0%Q=)\n"
	"T7(R=Y%DF=Y%T=3B-45%TG=40%W=0%S=Z%A=S+%F=AR%O=%RD=0%Q=)\n"
	"U1(DF=N%T=3B-45%TG=40%IPL=164%UN=0%RIPL=G%RID=G%RIPCK=G%RUCK=G%RUD=G)\n"
	"IE(DFI=N%T=3B-45%TG=40%CD=S)\n";

#define DECOY 0xc6336411u
#define DECOY2 0xc6336412u

static const uint8_t peer_mac[6] = { 2, 0, 0, 0, 0, 1 };
static const uint8_t other_mac[6] = { 2, 0, 0, 0, 0, 9 };
static const uint8_t peer6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
static const uint8_t peer_ll[16] = { 0xfe, 0x80, [15] = 1 };
static const uint8_t unspec[16];

struct harness {
	struct decoy_table t;
	struct persona p;
	struct respond_group g;
	struct respond r;
	uint8_t out[8][EMIT_FRAME_MAX];
	size_t out_len[8];
	size_t n_out;
	struct respond_contact last;
	size_t n_contacts;
};

static void
on_send(void *arg, const uint8_t *frame, size_t len)
{
	struct harness *h = arg;

	if (h->n_out < 8) {
		memcpy(h->out[h->n_out], frame, len);
		h->out_len[h->n_out++] = len;
	}
}

static void
on_contact(void *arg, const struct respond_contact *c)
{
	struct harness *h = arg;

	h->last = *c;
	h->n_contacts++;
}

static int
setup(void **state)
{
	struct harness *h = calloc(1, sizeof(*h));
	struct osdb_fp *fp = calloc(1, sizeof(*fp));
	struct respond_hooks hooks = { .send = on_send, .contact = on_contact, .arg = h };
	struct decoy_v6group g6 = { .prefix = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1 },
				    .iid = DECOY_IID_STABLE };
	char err[128];

	assert_int_equal(osdb_find(linux_fp, strlen(linux_fp), "Linux 4.15 - 5.6", 0, fp), 0);
	assert_int_equal(persona_from_fp(persona_preset_find("linux-4.15"), fp, &h->p, err,
					 sizeof(err)), 0);
	free(fp);
	assert_int_equal(decoy_table_init(&h->t, 4, 5, 0), 0);
	assert_int_equal(decoy_table_add(&h->t, DECOY, 31, NULL, 0, 0, 0, h->p.oui), 0);
	assert_int_equal(decoy_table_seal(&h->t, NULL), 0);
	assert_int_equal(decoy_table_build_v6(&h->t, &g6, 1), 0);
	assert_int_equal(h->t.n6, 4);
	h->g.tcp_ports[0] = 22;
	h->g.n_tcp = 1;
	assert_int_equal(respond_init(&h->r, &h->t, &h->p, 1, &h->g, 1, 64, &hooks), 0);
	h->r.now_ns = 1000000000ULL;
	*state = h;
	return 0;
}

static int
teardown(void **state)
{
	struct harness *h = *state;

	respond_free(&h->r);
	decoy_table_free(&h->t);
	free(h);
	return 0;
}

static void
test_iid_eui64(void **state)
{
	static const uint8_t mac[6] = { 0x00, 0x1b, 0x21, 0x12, 0x34, 0x56 };
	static const uint8_t want[8] = { 0x02, 0x1b, 0x21, 0xff, 0xfe, 0x12, 0x34, 0x56 };
	uint8_t iid[8];

	(void)state;
	decoy_iid_eui64(mac, iid);
	assert_memory_equal(iid, want, 8);
}

static void
test_iid_stable(void **state)
{
	static const uint8_t mac[6] = { 0x00, 0x1b, 0x21, 0x12, 0x34, 0x56 };
	static const uint8_t p1[8] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1 };
	static const uint8_t p2[8] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 2 };
	uint8_t a[8], b[8], c[8], d[8], e[8];

	(void)state;
	decoy_iid_stable(42, p1, mac, DECOY, a);
	decoy_iid_stable(42, p1, mac, DECOY, b);
	decoy_iid_stable(42, p2, mac, DECOY, c);
	decoy_iid_stable(43, p1, mac, DECOY, d);
	decoy_iid_stable(42, p1, mac, DECOY2, e);
	assert_memory_equal(a, b, 8);		/* stable: same inputs, same IID */
	assert_memory_not_equal(a, c, 8);	/* per prefix (RFC 7217) */
	assert_memory_not_equal(a, d, 8);	/* keyed by the secret */
	assert_memory_not_equal(a, e, 8);	/* per decoy */
	/* Not EUI-64-shaped (no ff:fe in the middle) for this input. */
	assert_false(a[3] == 0xff && a[4] == 0xfe);
}

static void
test_iid_per_persona(void **state)
{
	struct persona p;

	(void)state;
	memset(&p, 0, sizeof(p));
	strcpy(p.name, "linux-2.6");
	strcpy(p.os, "Linux 2.6.32 - 3.10");
	assert_int_equal(nd_iid_for(&p), DECOY_IID_EUI64);
	assert_true(nd_answers_mcast_echo(&p));
	strcpy(p.name, "windows-10");
	strcpy(p.os, "Microsoft Windows 10 1607");
	assert_int_equal(nd_iid_for(&p), DECOY_IID_STABLE);
	assert_false(nd_answers_mcast_echo(&p));
	strcpy(p.name, "cisco-ios");
	strcpy(p.os, "Cisco 1921 router (IOS 15.1)");
	assert_int_equal(nd_iid_for(&p), DECOY_IID_EUI64);
}

static void
test_table_v6(void **state)
{
	struct harness *h = *state;
	struct decoy *d = decoy_find(&h->t, DECOY);
	uint8_t a[16], ll[16];
	struct decoy6 *e;

	assert_true(decoy_addr6_of(&h->t, d, false, a));
	assert_true(decoy_addr6_of(&h->t, d, true, ll));
	assert_int_equal(a[7], 1);
	assert_int_equal(ll[0], 0xfe);
	assert_int_equal(ll[1], 0x80);
	assert_memory_not_equal(a + 8, ll + 8, 8);
	e = decoy_find6(&h->t, a);
	assert_non_null(e);
	assert_int_equal(e->v4, DECOY);
	assert_false(e->link_local);
	e = decoy_find6(&h->t, ll);
	assert_non_null(e);
	assert_true(e->link_local);
	/* A release survives a rebuild (claims rebuild the index). */
	e->released = true;
	assert_int_equal(decoy_table_build_v6(&h->t, h->t.v6groups, h->t.n_v6groups), 0);
	assert_true(decoy_find6(&h->t, ll)->released);
	assert_false(decoy_find6(&h->t, a)->released);
}

static size_t
frame6(uint8_t *buf, size_t cap, const uint8_t eth_dst[6], const uint8_t eth_src[6],
       const uint8_t src[16], const uint8_t dst[16], uint8_t hlim, uint8_t next,
       const uint8_t *l4, size_t len)
{
	return nd_emit6(buf, cap, eth_dst, eth_src, src, dst, hlim, 0, next, l4, len);
}

static void
test_builders_checksums(void **state)
{
	uint8_t body[64], buf[EMIT_FRAME_MAX], sn[16], mac[6];
	static const uint8_t target[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x11 };
	static const uint8_t want_sn[16] = { 0xff, 0x02, [11] = 1, 0xff, 0, 0, 0x11 };
	struct frame f;
	struct nd_msg m;
	size_t n;

	(void)state;
	nd_solicited_node(target, sn);
	assert_memory_equal(sn, want_sn, 16);
	nd_mcast_mac(sn, mac);
	assert_memory_equal(mac, "\x33\x33\xff\x00\x00\x11", 6);
	n = nd_build_na(body, sizeof(body), target, ND_NA_SOLICITED | ND_NA_OVERRIDE, peer_mac);
	assert_int_equal(n, 32);
	n = frame6(buf, sizeof(buf), other_mac, peer_mac, target, peer6, 255, 58, body, n);
	assert_int_equal(frame_parse(buf, n, &f), 0);
	assert_true(f.v6);
	assert_int_equal(f.kind, FRAME_ICMP);
	assert_true(frame_l4_csum_ok(&f));
	assert_int_equal(nd_parse(&f, &m), 0);
	assert_int_equal(m.type, ND_NA);
	assert_true(m.has_lla);
	assert_memory_equal(m.lla, peer_mac, 6);
	assert_int_equal(m.flags, ND_NA_SOLICITED | ND_NA_OVERRIDE);
	/* One flipped bit breaks the checksum. */
	buf[n - 1] ^= 1;
	assert_int_equal(frame_parse(buf, n, &f), 0);
	assert_false(frame_l4_csum_ok(&f));
	/* A hop limit below 255 is not neighbour discovery (RFC 4861 7.1.1). */
	n = nd_build_ns(body, sizeof(body), target, peer_mac);
	n = frame6(buf, sizeof(buf), mac, peer_mac, peer6, sn, 64, 58, body, n);
	assert_int_equal(frame_parse(buf, n, &f), 0);
	assert_int_equal(nd_parse(&f, &m), -EINVAL);
	/* A DAD probe with a source link-layer option is invalid. */
	n = nd_build_ns(body, sizeof(body), target, peer_mac);
	n = frame6(buf, sizeof(buf), mac, peer_mac, unspec, sn, 255, 58, body, n);
	assert_int_equal(frame_parse(buf, n, &f), 0);
	assert_int_equal(nd_parse(&f, &m), -EINVAL);
	/* UDP over IPv6 with checksum 0 is dropped. */
	memset(body, 0, 12);
	body[5] = 12;
	n = nd_emit6(buf, sizeof(buf), mac, peer_mac, peer6, target, 64, 0, 250, body, 12);
	buf[14 + 6] = 17;
	assert_int_equal(frame_parse(buf, n, &f), 0);
	assert_int_equal(f.kind, FRAME_UDP);
	assert_false(frame_l4_csum_ok(&f));
}

static void
test_ext_headers(void **state)
{
	uint8_t l4[40], buf[EMIT_FRAME_MAX];
	struct emit_tcp t = { .sport = 1, .dport = 22, .flags = FRAME_TCP_SYN, .win = 1 };
	struct frame f;
	size_t n, tl = emit_tcp(l4, sizeof(l4), &t);
	uint8_t pkt[200];

	(void)state;
	/* hop-by-hop, destination options, TCP */
	memset(pkt, 0, sizeof(pkt));
	pkt[0] = 60;
	pkt[8] = 6;
	memcpy(pkt + 16, l4, tl);
	n = nd_emit6(buf, sizeof(buf), peer_mac, other_mac, peer6, peer6, 64, 0, 0, pkt, 16 + tl);
	assert_int_equal(frame_parse(buf, n, &f), 0);
	assert_int_equal(f.kind, FRAME_TCP);
	assert_int_equal(f.ip6.n_ext, 2);
	assert_int_equal(f.tcp.dport, 22);
	/* hop-by-hop not first: a parameter problem pointing at the
	 * destination options' Next Header byte (offset 40) */
	pkt[0] = 0;
	n = nd_emit6(buf, sizeof(buf), peer_mac, other_mac, peer6, peer6, 64, 0, 60, pkt, 16 + tl);
	assert_int_equal(frame_parse(buf, n, &f), 0);
	assert_int_equal(f.kind, FRAME_IP6_BADHDR);
	assert_int_equal(f.ip6.pp_ptr, 40);
	/* a fragment header: FRAME_IP_FRAG */
	pkt[0] = 6;
	n = nd_emit6(buf, sizeof(buf), peer_mac, other_mac, peer6, peer6, 64, 0, 44, pkt, 16 + tl);
	assert_int_equal(frame_parse(buf, n, &f), 0);
	assert_int_equal(f.kind, FRAME_IP_FRAG);
	/* a chain longer than the cap: dropped */
	for (int i = 0; i < 12; i++) {
		pkt[i * 8] = 60;
		pkt[i * 8 + 1] = 0;
	}
	n = nd_emit6(buf, sizeof(buf), peer_mac, other_mac, peer6, peer6, 64, 0, 60, pkt, 96);
	assert_int_equal(frame_parse(buf, n, &f), -EINVAL);
	/* a payload length past the frame */
	n = nd_emit6(buf, sizeof(buf), peer_mac, other_mac, peer6, peer6, 64, 0, 6, l4, tl);
	buf[14 + 5] += 1;
	assert_int_equal(frame_parse(buf, n, &f), -EINVAL);
}

static void
feed(struct harness *h, const uint8_t eth_dst[6], const uint8_t eth_src[6],
     const uint8_t src[16], const uint8_t dst[16], uint8_t hlim, uint8_t next,
     const uint8_t *l4, size_t len)
{
	uint8_t buf[EMIT_FRAME_MAX];

	h->n_out = 0;
	respond_frame(&h->r, buf, frame6(buf, sizeof(buf), eth_dst, eth_src, src, dst, hlim, next,
					 l4, len), false);
}

static void
test_ns_na_and_dad(void **state)
{
	struct harness *h = *state;
	struct decoy *d = decoy_find(&h->t, DECOY);
	uint8_t a[16], sn[16], mac[6], body[64];
	struct frame f;
	struct nd_msg m;

	assert_true(decoy_addr6_of(&h->t, d, false, a));
	nd_solicited_node(a, sn);
	nd_mcast_mac(sn, mac);
	feed(h, mac, peer_mac, peer6, sn, 255, 58, body,
	     nd_build_ns(body, sizeof(body), a, peer_mac));
	assert_int_equal(h->n_out, 1);
	assert_int_equal(frame_parse(h->out[0], h->out_len[0], &f), 0);
	assert_true(frame_l4_csum_ok(&f));
	assert_memory_equal(f.dst, peer_mac, 6);
	assert_memory_equal(f.src, d->mac, 6);
	assert_memory_equal(f.ip6.src, a, 16);
	assert_memory_equal(f.ip6.dst, peer6, 16);
	assert_int_equal(f.ip6.hlim, 255);
	assert_int_equal(nd_parse(&f, &m), 0);
	assert_int_equal(m.type, ND_NA);
	assert_memory_equal(m.target, a, 16);
	assert_true(m.has_lla);
	assert_memory_equal(m.lla, d->mac, 6);
	assert_int_equal(h->last.kind, CONTACT_ND);
	assert_true(h->last.v6);
	assert_memory_equal(h->last.src6, peer6, 16);
	assert_memory_equal(h->last.decoy6, a, 16);
	/* A DAD probe for it from another host: released, silent. */
	feed(h, mac, other_mac, unspec, sn, 255, 58, body, nd_build_ns(body, sizeof(body), a, NULL));
	assert_int_equal(h->n_out, 0);
	assert_true(decoy_find6(&h->t, a)->released);
	assert_int_equal(h->r.stats.nd_released, 1);
	feed(h, mac, peer_mac, peer6, sn, 255, 58, body,
	     nd_build_ns(body, sizeof(body), a, peer_mac));
	assert_int_equal(h->n_out, 0);
}

static void
test_na_conflict(void **state)
{
	struct harness *h = *state;
	struct decoy *d = decoy_find(&h->t, DECOY);
	uint8_t a[16], body[64], mac[6];

	assert_true(decoy_addr6_of(&h->t, d, true, a));
	nd_mcast_mac(nd_all_nodes, mac);
	feed(h, mac, other_mac, a, nd_all_nodes, 255, 58, body,
	     nd_build_na(body, sizeof(body), a, ND_NA_OVERRIDE, other_mac));
	assert_true(decoy_find6(&h->t, a)->released);
	assert_int_equal(h->last.kind, CONTACT_ND_CONFLICT);
}

static void
test_echo(void **state)
{
	struct harness *h = *state;
	struct decoy *d = decoy_find(&h->t, DECOY);
	uint8_t a[16], body[64] = { ND_ECHO_REQ, 0, 0, 0, 0x12, 0x34, 0, 1, 'h', 'i' }, mac[6];
	struct frame f;

	assert_true(decoy_addr6_of(&h->t, d, false, a));
	feed(h, d->mac, peer_mac, peer6, a, 64, 58, body, 10);
	assert_int_equal(h->n_out, 1);
	assert_int_equal(frame_parse(h->out[0], h->out_len[0], &f), 0);
	assert_true(frame_l4_csum_ok(&f));
	assert_int_equal(f.icmp.type, ND_ECHO_REP);
	assert_int_equal(f.icmp.id, 0x1234);
	assert_int_equal(f.icmp.data_len, 2);
	assert_int_equal(f.ip6.hlim, 64);
	assert_memory_equal(f.ip6.src, a, 16);
	assert_int_equal(h->last.kind, CONTACT_PING);
	/* To another MAC: someone else's. */
	feed(h, other_mac, peer_mac, peer6, a, 64, 58, body, 10);
	assert_int_equal(h->n_out, 0);
	/* All nodes: both decoys answer from their link-local addresses. */
	nd_mcast_mac(nd_all_nodes, mac);
	feed(h, mac, peer_mac, peer_ll, nd_all_nodes, 1, 58, body, 10);
	assert_int_equal(h->n_out, 2);
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(frame_parse(h->out[i], h->out_len[i], &f), 0);
		assert_true(frame_l4_csum_ok(&f));
		assert_true(nd_is_link_local(f.ip6.src));
		assert_memory_equal(f.ip6.dst, peer_ll, 16);
	}
}

static void
test_tcp6(void **state)
{
	struct harness *h = *state;
	struct decoy *d = decoy_find(&h->t, DECOY);
	uint8_t a[16], seg[64], opt[8];
	int olen = emit_tcp_options("M5B4", 0, 0, opt, sizeof(opt));
	struct emit_tcp t = { .sport = 40000, .dport = 22, .seq = 100, .flags = FRAME_TCP_SYN,
			      .win = 64240, .opt = opt, .opt_len = (size_t)olen };
	struct frame_tcpopt o;
	struct frame f;

	assert_true(decoy_addr6_of(&h->t, d, false, a));
	feed(h, d->mac, peer_mac, peer6, a, 64, 6, seg, emit_tcp(seg, sizeof(seg), &t));
	assert_int_equal(h->n_out, 1);
	assert_int_equal(frame_parse(h->out[0], h->out_len[0], &f), 0);
	assert_true(frame_l4_csum_ok(&f));
	assert_int_equal(f.kind, FRAME_TCP);
	assert_int_equal(f.tcp.flags, FRAME_TCP_SYN | FRAME_TCP_ACK);
	assert_int_equal(f.tcp.ack, 101);
	assert_int_equal(f.ip6.hlim, 64);
	frame_tcp_options(&f.tcp, &o);
	assert_true(o.mss_present);
	assert_int_equal(o.mss, 1440);	/* the IPv6 MSS of a 1500-byte link */
	assert_int_equal(h->last.kind, CONTACT_SYN);
	assert_true(h->last.v6);
	assert_int_equal(h->last.src >> 24, 0);
	/* Unacknowledged, the SYN/ACK is retransmitted over IPv6 by the timer. */
	h->n_out = 0;
	h->r.now_ns = respond_next_due(&h->r);
	assert_true(h->r.now_ns > 1000000000ULL);
	respond_timers(&h->r);
	assert_int_equal(h->n_out, 1);
	{
		struct frame g;

		assert_int_equal(frame_parse(h->out[0], h->out_len[0], &g), 0);
		assert_true(g.v6);
		assert_true(frame_l4_csum_ok(&g));
		assert_memory_equal(g.ip6.src, a, 16);
		assert_memory_equal(g.ip6.dst, peer6, 16);
		assert_int_equal(g.tcp.seq, f.tcp.seq);
		assert_int_equal(g.tcp.flags, FRAME_TCP_SYN | FRAME_TCP_ACK);
	}
	/* The handshake completes: the connection is IPv6. */
	t.flags = FRAME_TCP_ACK;
	t.seq = 101;
	t.ack = f.tcp.seq + 1;
	t.opt_len = 0;
	feed(h, d->mac, peer_mac, peer6, a, 64, 6, seg, emit_tcp(seg, sizeof(seg), &t));
	assert_int_equal(h->last.kind, CONTACT_CONNECT);
	/* A closed port: RST over IPv6. */
	t.dport = 23;
	t.flags = FRAME_TCP_SYN;
	feed(h, d->mac, peer_mac, peer6, a, 64, 6, seg, emit_tcp(seg, sizeof(seg), &t));
	assert_int_equal(h->n_out, 1);
	assert_int_equal(frame_parse(h->out[0], h->out_len[0], &f), 0);
	assert_true(frame_l4_csum_ok(&f));
	assert_true(f.tcp.flags & FRAME_TCP_RST);
	/* UDP to a closed port: ICMPv6 port unreachable quoting it. */
	memset(seg, 0, 12);
	seg[1] = 9;
	seg[3] = 53;
	seg[5] = 12;
	feed(h, d->mac, peer_mac, peer6, a, 64, 17, seg, 12);
	assert_int_equal(h->n_out, 1);
	assert_int_equal(frame_parse(h->out[0], h->out_len[0], &f), 0);
	assert_true(frame_l4_csum_ok(&f));
	assert_int_equal(f.icmp.type, ND_UNREACH);
	assert_int_equal(f.icmp.code, 4);
	assert_int_equal(f.ip.l4_len, 8 + 40 + 12);
	/* Destination options, then hop-by-hop: a parameter problem (code 1)
	 * pointing at the Next Header field that named it (offset 40). */
	memset(seg, 0, 24);
	seg[0] = 0;		/* destination options -> hop-by-hop */
	seg[8] = 58;		/* hop-by-hop -> ICMPv6 */
	seg[16] = ND_ECHO_REQ;
	feed(h, d->mac, peer_mac, peer6, a, 64, 60, seg, 24);
	assert_int_equal(h->n_out, 1);
	assert_int_equal(frame_parse(h->out[0], h->out_len[0], &f), 0);
	assert_true(frame_l4_csum_ok(&f));
	assert_int_equal(f.icmp.type, 4);
	assert_int_equal(f.icmp.code, 1);
	assert_int_equal(f.icmp.id << 16 | f.icmp.seq, 40);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_iid_eui64),
		cmocka_unit_test(test_iid_stable),
		cmocka_unit_test(test_iid_per_persona),
		cmocka_unit_test(test_builders_checksums),
		cmocka_unit_test(test_ext_headers),
		cmocka_unit_test_setup_teardown(test_table_v6, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ns_na_and_dad, setup, teardown),
		cmocka_unit_test_setup_teardown(test_na_conflict, setup, teardown),
		cmocka_unit_test_setup_teardown(test_echo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp6, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
