/* Unit tests for src/chaff/respond.c: answers per personality, checked on the wire. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "chaff/emit.h"
#include "chaff/frame.h"
#include "chaff/respond.h"
#include "common/cursor.h"
#include "common/limits.h"

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

/* nmap-os-db's HP LaserJet 2420: T1 says A=O|S+ (it acked nmap's probes oddly). */
static const char hp_fp[] =
	"Fingerprint HP LaserJet 2420 printer\n"
	"Class HP | embedded || printer\n"
	"SEQ(SP=93-9D%GCD=1-6%ISR=9A-A4%TI=I%II=I%SS=S%TS=1)\n"
	"OPS(O1=M5B4NW0NNT11%O2=M5B4NW0NNT11%O3=M5B4NW0NNT11%O4=M5B4NW0NNT11%O5=M5B4NW0NNT11%O6=M5B4NNT11)\n"
	"WIN(W1=5B4%W2=5B4%W3=5B4%W4=5B4%W5=5B4%W6=5B4)\n"
	"ECN(R=N)\n"
	"T1(R=Y%DF=N%T=42%TG=40%S=O%A=O|S+%F=AS%RD=0%Q=)\n"
	"T2(R=N)\n"
	"T3(R=N)\n"
	"T4(R=Y%DF=N%T=42%TG=40%W=5B4%S=A%A=Z%F=R%O=%RD=0%Q=)\n"
	"T5(R=Y%DF=N%T=42%TG=40%W=0%S=Z%A=S+%F=AR%O=%RD=0%Q=)\n"
	"T6(R=Y%DF=N%T=42%TG=40%W=0%S=A%A=Z%F=R%O=%RD=0%Q=)\n"
	"T7(R=Y%DF=N%T=42%TG=40%W=0%S=Z%A=S%F=AR%O=%RD=0%Q=)\n"
	"U1(DF=N%T=42%TG=40%IPL=38%UN=0%RIPL=G%RID=4210%RIPCK=Z%RUCK=0%RUD=G)\n"
	"IE(DFI=S%T=42%TG=40%CD=S)\n";

/* nmap-os-db's 3Com 5500-EI: ISNs in steps of 64000 (GCD=FA00), SP=B-15. */
static const char gcd_fp[] =
	"Fingerprint 3Com 5500-EI switch\n"
	"Class 3Com | embedded || switch\n"
	"SEQ(SP=B-15%GCD=FA00|1F400|2EE00|3E800|4E200%ISR=96-A0%TI=I%II=I%SS=S%TS=U)\n"
	"OPS(O1=M5B4%O2=M5B4%O3=M5B4%O4=M5B4%O5=M5B4%O6=M5B4)\n"
	"WIN(W1=2000%W2=2000%W3=2000%W4=2000%W5=2000%W6=2000)\n"
	"ECN(R=Y%DF=N%T=FB-105%TG=FF%W=2000%O=M5B4%CC=N)\n"
	"T1(R=Y%DF=N%T=FB-105%TG=FF%S=O%A=O|S+%F=AS%RD=0)\n"
	"T2(R=N)\n"
	"T3(R=N)\n"
	"T4(R=N)\n"
	"T5(R=Y%DF=N%T=FB-105%TG=FF%W=0%S=Z%A=S+%F=AR%RD=0)\n"
	"T6(R=N)\n"
	"T7(R=N)\n"
	"U1(DF=N%T=FB-105%TG=FF%IPL=38%UN=0%RIPL=G%RID=G%RIPCK=G%RUCK=0%RUD=G)\n"
	"IE(DFI=S%T=FB-105%TG=FF%CD=S)\n";

#define DECOY 0xc6336411u
#define PEER 0xc6336401u

static const uint8_t peer_mac[6] = { 2, 0, 0, 0, 0, 1 };

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
	size_t n_conflicts;
	bool conflict_probe;
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

static bool
on_conflict(void *arg, struct decoy *d, const uint8_t sha[6], bool probe)
{
	struct harness *h = arg;

	h->n_conflicts++;
	h->conflict_probe = probe;
	return false;
}

static int
setup_fp(void **state, const char *text, const char *name)
{
	struct harness *h = calloc(1, sizeof(*h));
	struct osdb_fp *fp = calloc(1, sizeof(*fp));
	struct respond_hooks hooks = { .send = on_send, .contact = on_contact,
				       .arp_conflict = on_conflict, .arg = h };
	char err[128];

	assert_int_equal(osdb_find(text, strlen(text), name, 0, fp), 0);
	assert_int_equal(persona_from_fp(persona_preset_find("linux-4.15"), fp, &h->p, err,
					 sizeof(err)), 0);
	free(fp);
	assert_int_equal(decoy_table_init(&h->t, 4, 5, 0), 0);
	assert_int_equal(decoy_table_add(&h->t, DECOY, 32, NULL, 0, 0, 0, h->p.oui), 0);
	assert_int_equal(decoy_table_seal(&h->t, NULL), 0);
	h->g.tcp_ports[0] = 22;
	h->g.n_tcp = 1;
	assert_int_equal(respond_init(&h->r, &h->t, &h->p, 1, &h->g, 1, 64, &hooks), 0);
	h->r.now_ns = 1000000000ULL;
	*state = h;
	return 0;
}

static int
setup(void **state)
{
	return setup_fp(state, linux_fp, "Linux 4.15 - 5.6");
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

static const uint8_t *
decoy_mac(struct harness *h)
{
	return decoy_find(&h->t, DECOY)->mac;
}

static void
feed_tcp(struct harness *h, uint16_t dport, uint8_t flags, uint32_t seq, uint32_t ack,
	 uint16_t win, const char *opts, const char *data)
{
	uint8_t seg[256], opt[40], buf[EMIT_FRAME_MAX];
	int olen = opts ? emit_tcp_options(opts, 0xffffffffu, 0, opt, sizeof(opt)) : 0;
	struct emit_tcp t = { .sport = 40000, .dport = dport, .seq = seq, .ack = ack,
			      .flags = flags, .win = win, .opt = opt, .opt_len = (size_t)olen,
			      .data = (const uint8_t *)data, .data_len = data ? strlen(data) : 0 };
	struct emit_ip ip = { .src = PEER, .dst = DECOY, .ttl = 64, .proto = 6 };
	size_t n = emit_ipv4(buf, sizeof(buf), decoy_mac(h), peer_mac, &ip, seg,
			     emit_tcp(seg, sizeof(seg), &t));

	h->n_out = 0;
	respond_frame(&h->r, buf, n, false);
}

static void
parse_out(struct harness *h, size_t i, struct frame *f)
{
	assert_true(i < h->n_out);
	assert_int_equal(frame_parse(h->out[i], h->out_len[i], f), 0);
	assert_memory_equal(f->dst, peer_mac, 6);
}

static void
test_arp_reply(void **state)
{
	struct harness *h = *state;
	uint8_t buf[EMIT_FRAME_MAX];
	struct frame f;
	size_t n = emit_arp(buf, sizeof(buf), (const uint8_t *)"\xff\xff\xff\xff\xff\xff", 1,
			    peer_mac, PEER, (const uint8_t *)"\0\0\0\0\0\0", DECOY);

	respond_frame(&h->r, buf, n, false);
	assert_int_equal(h->n_out, 1);
	parse_out(h, 0, &f);
	assert_int_equal(f.arp.op, 2);
	assert_int_equal(f.arp.spa, DECOY);
	assert_memory_equal(f.arp.sha, decoy_mac(h), 6);
	assert_int_equal(h->last.kind, CONTACT_ARP);
	/* Malformed (hardware length 8): silence, like a real stack. */
	h->n_out = 0;
	buf[18] = 8;
	respond_frame(&h->r, buf, n, false);
	assert_int_equal(h->n_out, 0);
	/* A request for an address that is not a decoy: silence. */
	n = emit_arp(buf, sizeof(buf), (const uint8_t *)"\xff\xff\xff\xff\xff\xff", 1,
		     peer_mac, PEER, (const uint8_t *)"\0\0\0\0\0\0", DECOY + 1);
	respond_frame(&h->r, buf, n, false);
	assert_int_equal(h->n_out, 0);
}

static void
test_syn_open_and_handshake(void **state)
{
	struct harness *h = *state;
	struct frame f;
	struct frame_tcpopt o;
	uint32_t isn;

	/* nmap's first SEQ probe: window 1, WS10 NOP MSS TS SACK. */
	feed_tcp(h, 22, FRAME_TCP_SYN, 5000, 0, 1, "W9NM5B4T10S", NULL);
	assert_int_equal(h->n_out, 1);
	parse_out(h, 0, &f);
	assert_int_equal(f.tcp.flags, FRAME_TCP_SYN | FRAME_TCP_ACK);
	assert_int_equal(f.tcp.ack, 5001);
	assert_int_equal(f.tcp.win, 0xfe88);
	assert_int_equal(f.ip.ttl, 64);
	assert_int_equal(f.ip.frag, 0x4000);	/* DF */
	assert_int_equal(f.ip.id, 0);		/* TI=Z */
	frame_tcp_options(&f.tcp, &o);
	assert_int_equal(o.first_kind, 2);	/* M first: M5B4ST11NW7 */
	assert_int_equal(o.mss, 0x5b4);
	assert_int_equal(o.ws, 7);
	assert_true(o.ts_present && o.sack_ok);
	assert_int_equal(o.tsecr, 0xffffffffu);
	assert_int_equal(h->last.kind, CONTACT_OSPROBE);
	isn = f.tcp.seq;
	/* Complete the handshake: a connect contact. */
	feed_tcp(h, 22, FRAME_TCP_ACK, 5001, isn + 1, 500, NULL, NULL);
	assert_int_equal(h->last.kind, CONTACT_CONNECT);
	/* A plain SYN without options gets only the MSS back. */
	feed_tcp(h, 22, FRAME_TCP_SYN, 9000, 0, 29200, NULL, NULL);
	parse_out(h, 0, &f);
	assert_int_equal(f.tcp.doff, 24);
	assert_int_equal(h->last.kind, CONTACT_SYN);
}

static void
test_closed_and_probes(void **state)
{
	struct harness *h = *state;
	struct frame f;

	/* T5: SYN to a closed port -> RST+ACK, seq 0, ack seq+1. */
	feed_tcp(h, 23, FRAME_TCP_SYN, 700, 0, 31337, NULL, NULL);
	parse_out(h, 0, &f);
	assert_int_equal(f.tcp.flags, FRAME_TCP_RST | FRAME_TCP_ACK);
	assert_int_equal(f.tcp.seq, 0);
	assert_int_equal(f.tcp.ack, 701);
	assert_int_equal(f.tcp.win, 0);
	/* T6: ACK to a closed port -> RST, seq = their ack. */
	feed_tcp(h, 23, FRAME_TCP_ACK, 700, 4242, 32768, NULL, NULL);
	parse_out(h, 0, &f);
	assert_int_equal(f.tcp.flags, FRAME_TCP_RST);
	assert_int_equal(f.tcp.seq, 4242);
	/* T2 (NULL to an open port): Linux says R=N. */
	feed_tcp(h, 22, 0, 700, 0, 128, NULL, NULL);
	assert_int_equal(h->n_out, 0);
	assert_int_equal(h->last.kind, CONTACT_OSPROBE);
	/* FIN to an open port: silence; XMAS to a closed one: RST. */
	feed_tcp(h, 22, FRAME_TCP_FIN, 700, 0, 1024, NULL, NULL);
	assert_int_equal(h->n_out, 0);
	assert_int_equal(h->last.kind, CONTACT_FIN);
	feed_tcp(h, 24, FRAME_TCP_FIN | FRAME_TCP_PSH | FRAME_TCP_URG, 700, 0, 1024, NULL, NULL);
	assert_int_equal(h->n_out, 1);
	assert_int_equal(h->last.kind, CONTACT_XMAS);
	/* A RST never gets an answer. */
	feed_tcp(h, 24, FRAME_TCP_RST, 700, 0, 0, NULL, NULL);
	assert_int_equal(h->n_out, 0);
}

static void
test_bad_checksum_dropped(void **state)
{
	struct harness *h = *state;
	uint8_t seg[40], buf[EMIT_FRAME_MAX];
	struct emit_tcp t = { .sport = 1, .dport = 22, .seq = 1, .flags = FRAME_TCP_SYN, .win = 9 };
	struct emit_ip ip = { .src = PEER, .dst = DECOY, .ttl = 64, .proto = 6 };
	size_t n = emit_ipv4(buf, sizeof(buf), decoy_mac(h), peer_mac, &ip, seg,
			     emit_tcp(seg, sizeof(seg), &t));

	buf[14 + 20 + 16] ^= 1;
	respond_frame(&h->r, buf, n, false);
	assert_int_equal(h->n_out, 0);
	assert_int_equal(h->r.stats.dropped_csum, 1);
	/* The kernel never computed it (veth): it is not checked. */
	respond_frame(&h->r, buf, n, true);
	assert_int_equal(h->n_out, 1);
}

static void
test_udp_unreachable(void **state)
{
	struct harness *h = *state;
	uint8_t udp[8 + 300], buf[EMIT_FRAME_MAX];
	struct emit_ip ip = { .src = PEER, .dst = DECOY, .ttl = 64, .proto = 17, .id = 0x1042 };
	struct frame f, q;
	size_t n;

	memset(udp, 'C', sizeof(udp));
	udp[0] = 0x9c, udp[1] = 0x40, udp[2] = 0x80, udp[3] = 0x01;
	udp[4] = (uint8_t)(sizeof(udp) >> 8), udp[5] = (uint8_t)sizeof(udp);
	n = emit_ipv4(buf, sizeof(buf), decoy_mac(h), peer_mac, &ip, udp, sizeof(udp));
	respond_frame(&h->r, buf, n, false);
	assert_int_equal(h->n_out, 1);
	parse_out(h, 0, &f);
	assert_int_equal(f.kind, FRAME_ICMP);
	assert_int_equal(f.icmp.type, 3);
	assert_int_equal(f.icmp.code, 3);
	assert_int_equal(f.ip.total_len, 0x164);	/* IPL=164: the whole probe quoted */
	assert_true(frame_l4_csum_ok(&f));
	/* The quoted header is the probe's, untouched (RIPL/RID/RIPCK=G). */
	assert_memory_equal(f.icmp.data, buf + 14, 20);
	(void)q;
	assert_int_equal(h->last.kind, CONTACT_UDP);
	assert_int_equal(h->last.dport, 0x8001);
}

static void
test_icmp_errors_are_budgeted(void **state)
{
	struct harness *h = *state;
	uint8_t udp[8 + 4] = { 0x9c, 0x40, 0x80, 0x01, 0, 12, 0, 0, 'a', 'b', 'c', 'd' };
	uint8_t buf[EMIT_FRAME_MAX];
	struct emit_ip ip = { .src = PEER, .dst = DECOY, .ttl = 64, .proto = 17 };
	size_t n = emit_ipv4(buf, sizeof(buf), decoy_mac(h), peer_mac, &ip, udp, sizeof(udp));
	size_t answered = 0;

	/* A burst of 1,000 datagrams in one instant: only the burst is answered. */
	for (int i = 0; i < 1000; i++) {
		h->n_out = 0;
		respond_frame(&h->r, buf, n, false);
		answered += h->n_out;
	}
	assert_int_equal(answered, LIMIT_CHAFF_ICMP_ERR_BURST);
	assert_int_equal(h->r.stats.icmp_limited, 1000 - LIMIT_CHAFF_ICMP_ERR_BURST);
	/* 10 ms later the budget allows 10 more. */
	h->r.now_ns += 10000000ULL;
	answered = 0;
	for (int i = 0; i < 100; i++) {
		h->n_out = 0;
		respond_frame(&h->r, buf, n, false);
		answered += h->n_out;
	}
	assert_int_equal(answered, 10);
}

static void
test_ping(void **state)
{
	struct harness *h = *state;
	uint8_t icmp[8 + 16] = { 8, 9, 0, 0, 0x12, 0x34, 0x01, 0x27 }, buf[EMIT_FRAME_MAX];
	struct emit_ip ip = { .src = PEER, .dst = DECOY, .ttl = 64, .proto = 1, .df = true };
	struct frame f;
	uint16_t c = frame_csum_fold(frame_csum_add(0, icmp, sizeof(icmp)));
	size_t n;

	icmp[2] = (uint8_t)(c >> 8), icmp[3] = (uint8_t)c;
	n = emit_ipv4(buf, sizeof(buf), decoy_mac(h), peer_mac, &ip, icmp, sizeof(icmp));
	respond_frame(&h->r, buf, n, false);
	parse_out(h, 0, &f);
	assert_int_equal(f.icmp.type, 0);
	assert_int_equal(f.icmp.code, 9);	/* CD=S: the code echoed */
	assert_int_equal(f.icmp.id, 0x1234);
	assert_int_equal(f.ip.frag, 0);		/* DFI=N */
	assert_true(frame_l4_csum_ok(&f));
	assert_int_equal(h->last.kind, CONTACT_PING);
}

static void
test_session_lifetime(void **state)
{
	struct harness *h = *state;
	struct frame f;
	struct conn *c;
	uint32_t isn;

	feed_tcp(h, 22, FRAME_TCP_SYN, 100, 0, 29200, "M5B4", NULL);
	parse_out(h, 0, &f);
	isn = f.tcp.seq;
	feed_tcp(h, 22, FRAME_TCP_ACK, 101, isn + 1, 29200, NULL, NULL);
	c = conn_find(&h->r.conns, PEER, 40000, DECOY, 22);
	assert_non_null(c);
	assert_int_equal(c->state, CONN_ESTABLISHED);
	/* Busy (not idle) but past the lifetime cap: we send FIN. */
	h->r.now_ns += (uint64_t)(LIMIT_CHAFF_SESSION_SECONDS + 1) * 1000000000ULL;
	c->last_ns = h->r.now_ns;
	h->n_out = 0;
	respond_expire(&h->r, 30ULL * 1000000000ULL);
	parse_out(h, 0, &f);
	assert_true(f.tcp.flags & FRAME_TCP_FIN);
	assert_int_equal(c->state, CONN_FIN_WAIT);
	/* The peer's FIN completes the close without any alarm for a scan. */
	feed_tcp(h, 22, FRAME_TCP_FIN | FRAME_TCP_ACK, 101, isn + 2, 29200, NULL, NULL);
	assert_null(conn_find(&h->r.conns, PEER, 40000, DECOY, 22));
	assert_int_equal(h->last.kind, CONTACT_CONNECT);
}

/* A=O|S+: nmap's probes get the odd ack, a real SYN an ack a client accepts. */
static void
test_ack_other_only_for_probes(void **state)
{
	struct harness *h;
	struct frame f;
	uint32_t isn;

	setup_fp(state, hp_fp, "HP LaserJet 2420 printer");
	h = *state;
	h->g.tcp_ports[0] = 80;
	feed_tcp(h, 80, FRAME_TCP_SYN, 7000, 0, 29200, "M5B4ST11NW7", NULL);
	parse_out(h, 0, &f);
	assert_int_equal(f.tcp.flags, FRAME_TCP_SYN | FRAME_TCP_ACK);
	assert_int_equal(f.tcp.ack, 7001);
	isn = f.tcp.seq;
	feed_tcp(h, 80, FRAME_TCP_ACK, 7001, isn + 1, 29200, NULL, NULL);
	assert_int_equal(h->last.kind, CONTACT_CONNECT);
	/* nmap's first SEQ probe: the fingerprint's A=O. */
	feed_tcp(h, 80, FRAME_TCP_SYN, 9000, 0, 1, "W9NM5B4T10S", NULL);
	parse_out(h, 0, &f);
	assert_int_not_equal(f.tcp.ack, 9001);
	teardown(state);
}

/* nmap's SEQ arithmetic (osscan2.cc) over the ISNs of SYN/ACKs 100 ms apart. */
static void
nmap_seq(const uint32_t *isn, size_t n, double dt, uint32_t *ret_gcd, int *ret_isr, int *ret_sp)
{
	uint32_t diff[8], g = 0;
	double rate[8], avg = 0, sd = 0, div;

	for (size_t i = 0; i + 1 < n; i++) {
		uint32_t a = isn[i + 1] - isn[i], b = isn[i] - isn[i + 1];

		diff[i] = a < b ? a : b;
		for (uint32_t x = g, y = diff[i]; ; ) {
			if (y == 0) {
				g = x;
				break;
			}
			uint32_t t = x % y;

			x = y;
			y = t;
		}
		rate[i] = diff[i] / dt;
		avg += rate[i];
	}
	avg /= (double)(n - 1);
	div = g > 9 ? g : 1;
	for (size_t i = 0; i + 1 < n; i++)
		sd += (rate[i] / div - avg / div) * (rate[i] / div - avg / div);
	sd = sqrt(sd / (double)(n - 2));
	*ret_gcd = g;
	*ret_isr = (int)(0.5 + log2(avg) * 8);
	*ret_sp = sd <= 1 ? 0 : (int)(0.5 + log2(sd) * 8);
}

/* A large GCD: SP is measured in GCD steps, and must land in the fingerprint's range. */
static void
test_large_gcd_sp(void **state)
{
	struct harness *h;
	struct frame f;
	uint32_t isn[6], g;
	int isr, sp;

	setup_fp(state, gcd_fp, "3Com 5500-EI switch");
	h = *state;
	for (int round = 0; round < 4; round++) {
		for (int i = 0; i < 6; i++) {
			feed_tcp(h, 22, FRAME_TCP_SYN, 100u + (uint32_t)i, 0, 1, "W9NM5B4T10S", NULL);
			parse_out(h, 0, &f);
			isn[i] = f.tcp.seq;
			h->r.now_ns += 100000000ULL;
		}
		nmap_seq(isn, 6, 0.1, &g, &isr, &sp);
		assert_int_equal(g % 64000, 0);
		assert_true(g >= 64000 && g <= 5 * 64000);
		assert_in_range(isr, 0x96, 0xa0);
		assert_in_range(sp, 0xb, 0x15);
		h->r.now_ns += 3000000000ULL;
	}
	teardown(state);
}

/* Ordinary SYNs get an Ethernet MSS (capped by the peer's and the MTU), nmap's the O1 value. */
static void
test_realistic_mss(void **state)
{
	static char fp[sizeof(linux_fp) + 8];
	struct harness *h;
	struct frame f;
	struct frame_tcpopt o;
	const char *m;

	/* O1's MSS made macOS's (16344: measured over loopback). */
	m = strstr(linux_fp, "O1=M5B4");
	snprintf(fp, sizeof(fp), "%.*sO1=M3FD8%s", (int)(m - linux_fp), linux_fp, m + 7);
	setup_fp(state, fp, "Linux 4.15 - 5.6");
	h = *state;
	feed_tcp(h, 22, FRAME_TCP_SYN, 100, 0, 64240, "M5B4ST11NW7", NULL);
	parse_out(h, 0, &f);
	frame_tcp_options(&f.tcp, &o);
	assert_int_equal(o.mss, 1460);
	feed_tcp(h, 22, FRAME_TCP_SYN, 200, 0, 64240, "M4B0ST11NW7", NULL);
	parse_out(h, 0, &f);
	frame_tcp_options(&f.tcp, &o);
	assert_int_equal(o.mss, 1200);
	h->r.mtu = 1400;
	feed_tcp(h, 22, FRAME_TCP_SYN, 300, 0, 64240, "M5B4ST11NW7", NULL);
	parse_out(h, 0, &f);
	frame_tcp_options(&f.tcp, &o);
	assert_int_equal(o.mss, 1360);
	/* nmap's probe: the fingerprint's own value. */
	feed_tcp(h, 22, FRAME_TCP_SYN, 400, 0, 1, "W9NM5B4T10S", NULL);
	parse_out(h, 0, &f);
	frame_tcp_options(&f.tcp, &o);
	assert_int_equal(o.mss, 0x3fd8);
	teardown(state);
}

static size_t
arp_frame(uint8_t *buf, uint32_t spa, uint32_t tpa, uint16_t op)
{
	return emit_arp(buf, EMIT_FRAME_MAX, (const uint8_t *)"\xff\xff\xff\xff\xff\xff", op,
			peer_mac, spa, (const uint8_t *)"\0\0\0\0\0\0", tpa);
}

/* RFC 5227 probe (sender 0.0.0.0): answered like Linux, but no alarm. */
static void
test_arp_probe_no_alarm(void **state)
{
	struct harness *h = *state;
	uint8_t buf[EMIT_FRAME_MAX];
	size_t n = arp_frame(buf, 0, DECOY, 1);

	respond_frame(&h->r, buf, n, false);
	assert_int_equal(h->n_out, 1);
	assert_int_equal(h->n_contacts, 0);
	assert_int_equal(h->n_conflicts, 1);
	assert_true(h->conflict_probe);
	/* ARP from the decoy's own address with another MAC: its owner. */
	h->n_out = 0;
	n = arp_frame(buf, DECOY, PEER, 2);
	respond_frame(&h->r, buf, n, false);
	assert_int_equal(h->n_out, 0);
	assert_int_equal(h->n_conflicts, 2);
	assert_false(h->conflict_probe);
}

/* 802.1Q: only configured VLANs are answered, tagged as they came. */
static void
test_vlan(void **state)
{
	static const uint16_t vlans[] = { 10 };
	struct harness *h = *state;
	uint8_t plain[EMIT_FRAME_MAX], tagged[EMIT_FRAME_MAX + 4];
	size_t n = arp_frame(plain, PEER, DECOY, 1);
	struct frame f;

	memcpy(tagged, plain, 12);
	tagged[12] = 0x81, tagged[13] = 0x00, tagged[14] = 0x00, tagged[15] = 10;
	memcpy(tagged + 16, plain + 12, n - 12);
	respond_frame(&h->r, tagged, n + 4, false);
	assert_int_equal(h->n_out, 0);
	assert_int_equal(h->r.stats.vlan_refused, 1);
	/* The kernel took the tag off (auxdata): the same. */
	h->r.rx_vlan = 10;
	respond_frame(&h->r, plain, n, false);
	assert_int_equal(h->n_out, 0);
	h->r.vlans = vlans;
	h->r.n_vlans = 1;
	respond_frame(&h->r, tagged, n + 4, false);
	assert_int_equal(h->n_out, 1);
	assert_int_equal(h->out[0][12], 0x81);
	assert_int_equal(h->out[0][15], 10);
	parse_out(h, 0, &f);
	assert_int_equal(f.vlan, 10);
	assert_int_equal(f.arp.op, 2);
	h->n_out = 0;
	h->r.rx_vlan = 10;
	respond_frame(&h->r, plain, n, false);
	assert_int_equal(h->n_out, 1);
	assert_int_equal(h->out[0][15], 10);
	/* Untagged stays untagged. */
	h->n_out = 0;
	respond_frame(&h->r, plain, n, false);
	assert_int_equal(h->n_out, 1);
	assert_int_equal(h->out[0][12], 0x08);
}

/* Run the responder's timers at their due time; returns the delay in ms. */
static uint64_t
run_due(struct harness *h)
{
	uint64_t due = respond_next_due(&h->r), was = h->r.now_ns;

	assert_true(due > was);
	h->r.now_ns = due;
	h->n_out = 0;
	respond_timers(&h->r);
	return (due - was) / 1000000ULL;
}

/* An unanswered SYN/ACK goes again after Linux's 1 s, doubling, 5 times;
 * then the connection is dropped and nothing is left to wake up for. */
static void
test_synack_retransmit(void **state)
{
	struct harness *h = *state;
	struct frame f, g;
	const uint64_t want[] = { 1000, 2000, 4000, 8000, 16000 };

	assert_int_equal(h->p.rto_init_ms, 1000);
	assert_int_equal(h->p.synack_retries, 5);
	assert_int_equal(respond_next_due(&h->r), 0);
	feed_tcp(h, 22, FRAME_TCP_SYN, 7000, 0, 64240, "M5B4ST11NW7", NULL);
	parse_out(h, 0, &f);
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(run_due(h), want[i]);
		assert_int_equal(h->n_out, 1);
		parse_out(h, 0, &g);
		assert_int_equal(g.tcp.flags, FRAME_TCP_SYN | FRAME_TCP_ACK);
		assert_int_equal(g.tcp.seq, f.tcp.seq);
		assert_int_equal(g.tcp.ack, 7001);
		assert_int_equal(g.tcp.doff, f.tcp.doff);
		assert_int_equal(g.tcp.win, f.tcp.win);
		assert_int_equal(g.ip.ttl, f.ip.ttl);
	}
	assert_int_equal(run_due(h), 32000);
	assert_int_equal(h->n_out, 0);
	assert_null(conn_find(&h->r.conns, PEER, 40000, DECOY, 22));
	assert_int_equal(respond_next_due(&h->r), 0);
	assert_int_equal(h->r.stats.rtx_dropped, 1);
	/* Idle expiry leaves a half-open connection to its timer. */
	feed_tcp(h, 22, FRAME_TCP_SYN, 8000, 0, 64240, "M5B4", NULL);
	h->r.now_ns += 31ULL * 1000000000ULL;
	respond_expire(&h->r, 30ULL * 1000000000ULL);
	assert_non_null(conn_find(&h->r.conns, PEER, 40000, DECOY, 22));
	/* The handshake's ACK stops it. */
	parse_out(h, 0, &f);
	feed_tcp(h, 22, FRAME_TCP_ACK, 8001, f.tcp.seq + 1, 500, NULL, NULL);
	assert_int_equal(respond_next_due(&h->r), 0);
}

/* Other families: 3 s and 3 retransmissions (the 3Com switch). */
static void
test_synack_retransmit_other_os(void **state)
{
	struct harness *h;
	const uint64_t want[] = { 3000, 6000, 12000, 24000 };

	setup_fp(state, gcd_fp, "3Com 5500-EI switch");
	h = *state;
	assert_false(h->p.ipid_per_conn);
	feed_tcp(h, 22, FRAME_TCP_SYN, 7000, 0, 64240, "M5B4", NULL);
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(run_due(h), want[i]);
		assert_int_equal(h->n_out, i < 3 ? 1 : 0);
	}
	assert_null(conn_find(&h->r.conns, PEER, 40000, DECOY, 22));
	teardown(state);
}

static uint32_t
handshake(struct harness *h, const char *opts, uint16_t win)
{
	struct frame f;

	feed_tcp(h, 22, FRAME_TCP_SYN, 100, 0, 64240, opts, NULL);
	parse_out(h, 0, &f);
	h->r.now_ns += 20000000ULL;	/* a 20 ms round trip */
	feed_tcp(h, 22, FRAME_TCP_ACK, 101, f.tcp.seq + 1, win, NULL, NULL);
	return f.tcp.seq + 1;
}

/* Data is kept until acked: retransmitted from snd_una with backoff from
 * the RTO the handshake measured (20 ms + Linux's 200 ms floor). */
static void
test_data_retransmit(void **state)
{
	struct harness *h = *state;
	struct conn *c;
	struct frame f;
	uint32_t snd = handshake(h, "M5B4", 64000);

	c = conn_find(&h->r.conns, PEER, 40000, DECOY, 22);
	assert_non_null(c);
	assert_int_equal(c->rto_ms, 220);
	h->n_out = 0;
	respond_tcp_send(&h->r, c, (const uint8_t *)"hello world", 11, false);
	assert_int_equal(h->n_out, 1);
	parse_out(h, 0, &f);
	assert_int_equal(f.tcp.seq, snd);
	assert_int_equal(f.tcp.data_len, 11);
	assert_int_equal(run_due(h), 220);
	parse_out(h, 0, &f);
	assert_int_equal(f.tcp.seq, snd);
	assert_memory_equal(f.tcp.data, "hello world", 11);
	assert_int_equal(run_due(h), 440);
	parse_out(h, 0, &f);
	assert_int_equal(f.tcp.seq, snd);
	/* A partial ack trims the buffer; the rest goes again from there. */
	feed_tcp(h, 22, FRAME_TCP_ACK, 101, snd + 5, 64000, NULL, NULL);
	assert_int_equal(run_due(h), 220);
	parse_out(h, 0, &f);
	assert_int_equal(f.tcp.seq, snd + 5);
	assert_memory_equal(f.tcp.data, " world", 6);
	feed_tcp(h, 22, FRAME_TCP_ACK, 101, snd + 11, 64000, NULL, NULL);
	assert_int_equal(respond_next_due(&h->r), 0);
	assert_int_equal(c->sndbuf, -1);
	assert_int_equal(h->r.n_sndbuf_free, h->r.n_sndbufs);
	/* Unacked FIN: retransmitted too, then the peer's ACK ends it. */
	h->n_out = 0;
	respond_tcp_close(&h->r, c);
	parse_out(h, 0, &f);
	assert_true(f.tcp.flags & FRAME_TCP_FIN);
	assert_int_equal(run_due(h), 220);
	parse_out(h, 0, &f);
	assert_true(f.tcp.flags & FRAME_TCP_FIN);
	assert_int_equal(f.tcp.seq, snd + 11);
	feed_tcp(h, 22, FRAME_TCP_FIN | FRAME_TCP_ACK, 101, snd + 12, 64000, NULL, NULL);
	assert_null(conn_find(&h->r.conns, PEER, 40000, DECOY, 22));
	assert_int_equal(respond_next_due(&h->r), 0);
}

/* Segments of at most the peer's MSS, never past its window; a zero
 * window is probed (old sequence number), and reopening it resumes. */
static void
test_mss_and_window(void **state)
{
	struct harness *h = *state;
	static uint8_t data[3000];
	struct conn *c;
	struct frame f;
	uint32_t snd = handshake(h, "M218", 1000);	/* MSS 536, no window scale */

	c = conn_find(&h->r.conns, PEER, 40000, DECOY, 22);
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)i;
	h->n_out = 0;
	respond_tcp_send(&h->r, c, data, sizeof(data), false);
	assert_int_equal(h->n_out, 2);
	parse_out(h, 0, &f);
	assert_int_equal(f.tcp.data_len, 536);
	parse_out(h, 1, &f);
	assert_int_equal(f.tcp.seq, snd + 536);
	assert_int_equal(f.tcp.data_len, 1000 - 536);
	/* All acked, window 0: nothing goes, a probe after the RTO. */
	feed_tcp(h, 22, FRAME_TCP_ACK, 101, snd + 1000, 0, NULL, NULL);
	assert_int_equal(h->n_out, 0);
	run_due(h);
	assert_int_equal(h->n_out, 1);
	parse_out(h, 0, &f);
	assert_int_equal(f.tcp.seq, snd + 999);
	assert_int_equal(f.tcp.data_len, 0);
	/* The window opens: the next MSS-sized segments go. */
	feed_tcp(h, 22, FRAME_TCP_ACK, 101, snd + 1000, 2000, NULL, NULL);
	assert_int_equal(h->n_out, 4);
	parse_out(h, 0, &f);
	assert_int_equal(f.tcp.seq, snd + 1000);
	assert_int_equal(f.tcp.data_len, 536);
	assert_int_equal(f.tcp.data[0], (uint8_t)1000);
	parse_out(h, 3, &f);
	assert_int_equal(f.tcp.data_len, 2000 - 3 * 536);
	assert_true(f.tcp.flags & FRAME_TCP_PSH);
}

/* Timestamps negotiated: on every segment, TSecr echoing the peer's
 * latest TSval; Linux's IP ID on established segments is the socket's
 * own counter (the SYN/ACK's is 0). */
static void
test_timestamps_and_ipid(void **state)
{
	struct harness *h = *state;
	struct frame_tcpopt o;
	struct conn *c;
	struct frame f, g;
	uint32_t tsv;

	feed_tcp(h, 22, FRAME_TCP_SYN, 100, 0, 64240, "M5B4ST11NW7", NULL);
	parse_out(h, 0, &f);
	assert_int_equal(f.ip.id, 0);
	frame_tcp_options(&f.tcp, &o);
	tsv = o.tsval;
	h->r.now_ns += 500000000ULL;
	feed_tcp(h, 22, FRAME_TCP_ACK, 101, f.tcp.seq + 1, 500, "NNT11", NULL);
	c = conn_find(&h->r.conns, PEER, 40000, DECOY, 22);
	assert_true(c->flags & CONN_F_TS);
	assert_int_equal(c->snd_ws, 7);
	assert_int_equal(c->snd_wnd, 500u << 7);
	h->n_out = 0;
	respond_tcp_send(&h->r, c, (const uint8_t *)"abc", 3, false);
	feed_tcp(h, 22, FRAME_TCP_ACK | FRAME_TCP_PSH, 101, f.tcp.seq + 4, 500, "NNT11", "x");
	assert_int_equal(h->n_out, 1);	/* the ACK of "x" */
	parse_out(h, 0, &g);
	frame_tcp_options(&g.tcp, &o);
	assert_true(o.ts_present);
	assert_int_equal(o.tsecr, 0xffffffffu);
	assert_true(o.tsval - tsv >= 400 && o.tsval - tsv <= 600);	/* 1000 Hz, 0.5 s later */
	assert_int_equal(g.tcp.data_len, 0);
	assert_int_equal(g.ip.id, (uint16_t)(c->ip_id - 1));
	h->n_out = 0;
	respond_tcp_send(&h->r, c, (const uint8_t *)"def", 3, false);
	parse_out(h, 0, &f);
	assert_int_equal(f.ip.id, (uint16_t)(g.ip.id + 1));
	frame_tcp_options(&f.tcp, &o);
	assert_true(o.ts_present);
	/* MSS less the timestamp option: 1460 - 12 per segment. */
	assert_int_equal(c->peer_mss, 1460);
}

/* Decoys of one personality have ISN lines of their own, each inside
 * the fingerprint's ISR and SP ranges. */
static void
test_isn_per_decoy(void **state)
{
	struct harness *h = *state;
	struct frame f;
	int seen[512] = { 0 }, distinct = 0;

	(void)state;
	respond_free(&h->r);
	decoy_table_free(&h->t);
	assert_int_equal(decoy_table_init(&h->t, 16, 77, 0), 0);
	assert_int_equal(decoy_table_add(&h->t, DECOY & ~0xfu, 28, NULL, 0, 0, 0, h->p.oui), 0);
	assert_int_equal(decoy_table_seal(&h->t, NULL), 0);
	{
		struct respond_hooks hooks = { .send = on_send, .contact = on_contact, .arg = h };

		assert_int_equal(respond_init(&h->r, &h->t, &h->p, 1, &h->g, 1, 64, &hooks), 0);
	}
	h->r.now_ns = 1000000000ULL;
	assert_true(h->p.isr_var > 0 && h->p.sp_var > 0);
	for (size_t k = 0; k < h->t.n; k++) {
		struct decoy *d = &h->t.v[k];
		uint32_t isn[6], g;
		int isr, sp;

		for (int i = 0; i < 6; i++) {
			uint8_t seg[128], opt[40], buf[EMIT_FRAME_MAX];
			int olen = emit_tcp_options("W9NM5B4T10S", 1, 0, opt, sizeof(opt));
			struct emit_tcp t = { .sport = (uint16_t)(50000 + i), .dport = 22,
					      .seq = 1, .flags = FRAME_TCP_SYN, .win = 1, .opt = opt,
					      .opt_len = (size_t)olen };
			struct emit_ip ip = { .src = PEER, .dst = d->addr, .ttl = 64, .proto = 6 };
			size_t n = emit_ipv4(buf, sizeof(buf), d->mac, peer_mac, &ip, seg,
					     emit_tcp(seg, sizeof(seg), &t));

			h->n_out = 0;
			respond_frame(&h->r, buf, n, false);
			parse_out(h, 0, &f);
			isn[i] = f.tcp.seq;
			h->r.now_ns += 100000000ULL;
		}
		nmap_seq(isn, 6, 0.1, &g, &isr, &sp);
		assert_in_range(isr, 0x102, 0x110);
		assert_in_range(sp, 0xfb, 0x109);
		if (!seen[isr & 511]++)
			distinct++;
		h->r.now_ns += 2000000000ULL;
	}
	assert_true(distinct >= 3);
}

static size_t
tstamp_req(struct harness *h, uint8_t *buf, size_t body_len)
{
	uint8_t icmp[8 + 12] = { 13, 0, 0, 0, 0xab, 0xcd, 0x00, 0x05, 0x01, 0x02, 0x03, 0x04 };
	struct emit_ip ip = { .src = PEER, .dst = DECOY, .ttl = 64, .proto = 1 };
	uint16_t c = frame_csum_fold(frame_csum_add(0, icmp, body_len));

	icmp[2] = (uint8_t)(c >> 8), icmp[3] = (uint8_t)c;
	h->n_out = 0;
	return emit_ipv4(buf, EMIT_FRAME_MAX, decoy_mac(h), peer_mac, &ip, icmp, body_len);
}

/* ICMP timestamp: Linux answers (originate copied, its time of day in ms);
 * a short request is dropped; an OS that does not answer stays silent. */
static void
test_icmp_timestamp(void **state)
{
	struct harness *h = *state;
	uint8_t buf[EMIT_FRAME_MAX];
	struct frame f;
	struct cursor cur;
	uint32_t orig = 0, rx = 0, tx = 0;
	size_t n;

	assert_true(h->p.icmp_tstamp);
	h->r.wall_off_ns = 3600LL * 1000000000LL;	/* 01:00:00 UT plus the decoy's uptime */
	n = tstamp_req(h, buf, 20);
	respond_frame(&h->r, buf, n, false);
	parse_out(h, 0, &f);
	assert_int_equal(f.icmp.type, 14);
	assert_int_equal(f.icmp.id, 0xabcd);
	assert_int_equal(f.icmp.seq, 5);
	assert_true(frame_l4_csum_ok(&f));
	assert_int_equal(f.icmp.data_len, 12);
	cur = cur_init(f.icmp.data, f.icmp.data_len);
	assert_true(cur_be32(&cur, &orig) && cur_be32(&cur, &rx) && cur_be32(&cur, &tx));
	assert_int_equal(orig, 0x01020304);
	assert_int_equal(rx, tx);
	assert_in_range(rx, 3600000 + 990, 3600000 + 1010);	/* now_ns is 1 s, skew < 60 ppm */
	assert_int_equal(f.ip.ttl, 64);
	assert_int_equal(h->last.kind, CONTACT_PING);
	/* Truncated (no room for the three times): dropped. */
	n = tstamp_req(h, buf, 16);
	respond_frame(&h->r, buf, n, false);
	assert_int_equal(h->n_out, 0);
	/* Windows 10 does not answer. */
	h->p.icmp_tstamp = false;
	n = tstamp_req(h, buf, 20);
	respond_frame(&h->r, buf, n, false);
	assert_int_equal(h->n_out, 0);
}

/* The OS families' timers and ICMP timestamp habits. */
static void
test_os_timers(void **state)
{
	static const struct { const char *name; uint16_t rto; uint8_t retries; bool ts; } want[] = {
		{ "Linux 4.15 - 5.6", 1000, 5, true },
		{ "3Com 5500-EI switch", 3000, 3, true },
	};
	struct harness *h;

	setup_fp(state, linux_fp, want[0].name);
	h = *state;
	assert_int_equal(h->p.rto_init_ms, want[0].rto);
	assert_int_equal(h->p.synack_retries, want[0].retries);
	assert_true(h->p.icmp_tstamp == want[0].ts);
	assert_true(h->p.ipid_per_conn);
	teardown(state);
	setup_fp(state, gcd_fp, want[1].name);
	h = *state;
	assert_int_equal(h->p.rto_init_ms, want[1].rto);
	assert_int_equal(h->p.synack_retries, want[1].retries);
	assert_true(h->p.icmp_tstamp == want[1].ts);
	teardown(state);
}

/* ARP before answering a peer the decoy does not know, as a kernel does:
 * the answer waits (held, bounded) for the reply and goes to the MAC it
 * names, not to the frame's source; a peer that asked for the decoy is
 * known already; a router that asked forwards for peers off the link; a
 * peer that never answers is taken as routed after a second. */
static void
test_arp_resolution(void **state)
{
	struct harness *h = *state;
	static const uint8_t other_mac[6] = { 2, 0, 0, 0, 0, 0x42 };
	uint8_t buf[EMIT_FRAME_MAX];
	struct frame f;
	size_t n;

	h->r.arp_resolve = true;
	feed_tcp(h, 22, FRAME_TCP_SYN, 100, 0, 64240, "M5B4", NULL);
	assert_int_equal(h->n_out, 1);
	assert_int_equal(frame_parse(h->out[0], h->out_len[0], &f), 0);
	assert_int_equal(f.kind, FRAME_ARP);
	assert_int_equal(f.arp.op, 1);
	assert_int_equal(f.arp.tpa, PEER);
	assert_int_equal(f.arp.spa, DECOY);
	assert_memory_equal(f.dst, "\xff\xff\xff\xff\xff\xff", 6);
	assert_int_equal(h->last.kind, CONTACT_SYN);	/* the alarm does not wait */
	/* More frames for the same peer: held (at most 3), no second request. */
	for (int i = 0; i < 3; i++) {
		feed_tcp(h, 80, FRAME_TCP_SYN, 200, 0, 64240, "M5B4", NULL);	/* closed: RST */
		assert_int_equal(h->n_out, 0);
	}
	assert_int_equal(h->r.n_held, 3);
	assert_int_equal(h->r.stats.held_dropped, 1);
	/* The reply names another MAC than the SYN came from: answers go there. */
	h->n_out = 0;
	n = emit_arp(buf, sizeof(buf), decoy_mac(h), 2, other_mac, PEER, decoy_mac(h), DECOY);
	respond_frame(&h->r, buf, n, false);
	assert_int_equal(h->n_out, 3);
	assert_int_equal(frame_parse(h->out[0], h->out_len[0], &f), 0);
	assert_int_equal(f.tcp.flags, FRAME_TCP_SYN | FRAME_TCP_ACK);
	assert_memory_equal(f.dst, other_mac, 6);
	assert_int_equal(h->r.n_held, 0);
	assert_int_equal(respond_next_due(&h->r) > h->r.now_ns + 500000000ULL, true);
	/* Known now: the next answer goes at once. */
	feed_tcp(h, 80, FRAME_TCP_SYN, 300, 0, 64240, "M5B4", NULL);
	assert_int_equal(h->n_out, 1);
	assert_int_equal(frame_parse(h->out[0], h->out_len[0], &f), 0);
	assert_int_equal(f.kind, FRAME_TCP);
	assert_memory_equal(f.dst, other_mac, 6);
	assert_int_equal(h->r.stats.arp_requests, 1);
}

/* A peer that asked for the decoy is known; a peer that never answers the
 * decoy's request is answered through the MAC its frame came from. */
static void
test_arp_resolution_learned_and_routed(void **state)
{
	struct harness *h = *state;
	static const uint8_t router_mac[6] = { 2, 0, 0, 0, 0, 0x77 };
	uint8_t buf[EMIT_FRAME_MAX], seg[64];
	struct emit_tcp t = { .sport = 1234, .dport = 22, .seq = 1, .flags = FRAME_TCP_SYN,
			      .win = 1024 };
	struct emit_ip ip = { .src = 0xcb007101u, .dst = DECOY, .ttl = 60, .proto = 6 };
	struct frame f;
	size_t n;

	h->r.arp_resolve = true;
	/* The peer asks for the decoy first (a kernel's connect): no request back. */
	n = emit_arp(buf, sizeof(buf), (const uint8_t *)"\xff\xff\xff\xff\xff\xff", 1, peer_mac,
		     PEER, (const uint8_t *)"\0\0\0\0\0\0", DECOY);
	respond_frame(&h->r, buf, n, false);
	feed_tcp(h, 22, FRAME_TCP_SYN, 100, 0, 64240, "M5B4", NULL);
	assert_int_equal(h->n_out, 1);
	parse_out(h, 0, &f);
	assert_int_equal(f.tcp.flags, FRAME_TCP_SYN | FRAME_TCP_ACK);
	/* A router (198.51.100.254) resolved the decoy; a SYN from 203.0.113.1
	 * through it is answered through it at once. */
	n = emit_arp(buf, sizeof(buf), (const uint8_t *)"\xff\xff\xff\xff\xff\xff", 1, router_mac,
		     0xc63364feu, (const uint8_t *)"\0\0\0\0\0\0", DECOY);
	respond_frame(&h->r, buf, n, false);
	n = emit_ipv4(buf, sizeof(buf), decoy_mac(h), router_mac, &ip, seg,
		      emit_tcp(seg, sizeof(seg), &t));
	h->n_out = 0;
	respond_frame(&h->r, buf, n, false);
	assert_int_equal(h->n_out, 1);
	assert_int_equal(frame_parse(h->out[0], h->out_len[0], &f), 0);
	assert_int_equal(f.kind, FRAME_TCP);
	assert_memory_equal(f.dst, router_mac, 6);
	/* Another MAC, unknown source, no answer to the request: after 1 s the
	 * held SYN/ACK goes to the frame's source MAC. */
	ip.src = 0xcb007102u;
	n = emit_ipv4(buf, sizeof(buf), decoy_mac(h), (const uint8_t *)"\2\0\0\0\0\x99", &ip, seg,
		      emit_tcp(seg, sizeof(seg), &t));
	h->n_out = 0;
	respond_frame(&h->r, buf, n, false);
	assert_int_equal(h->n_out, 1);
	assert_int_equal(frame_parse(h->out[0], h->out_len[0], &f), 0);
	assert_int_equal(f.kind, FRAME_ARP);
	assert_int_equal(respond_next_due(&h->r), h->r.now_ns + 1000000000ULL);
	h->r.now_ns += 1000000000ULL;
	h->n_out = 0;
	respond_timers(&h->r);
	/* The held SYN/ACK first, then the three connections' first retransmissions. */
	assert_int_equal(h->n_out, 4);
	assert_int_equal(frame_parse(h->out[0], h->out_len[0], &f), 0);
	assert_int_equal(f.tcp.flags, FRAME_TCP_SYN | FRAME_TCP_ACK);
	assert_memory_equal(f.dst, "\2\0\0\0\0\x99", 6);
	assert_int_equal(h->r.n_held, 0);
}

/* One IPv4 fragment of payload l4[off..off+n) to the decoy. */
static void
feed_frag(struct harness *h, uint16_t id, uint8_t proto, const uint8_t *l4, size_t off, size_t n,
	  bool more)
{
	uint8_t buf[EMIT_FRAME_MAX];
	struct emit_ip ip = { .src = PEER, .dst = DECOY, .ttl = 64, .proto = proto, .id = id };
	size_t len = emit_ipv4(buf, sizeof(buf), decoy_mac(h), peer_mac, &ip, l4 + off, n);

	/* emit_ipv4 writes no fragment field: set it and redo the header checksum. */
	buf[20] = (uint8_t)((more ? 0x20 : 0) | (off / 8) >> 8);
	buf[21] = (uint8_t)(off / 8);
	buf[24] = buf[25] = 0;
	{
		uint16_t c = frame_csum_fold(frame_csum_add(0, buf + 14, 20));

		buf[24] = (uint8_t)(c >> 8), buf[25] = (uint8_t)c;
	}
	respond_frame(&h->r, buf, len, false);
}

/* Fragments are reassembled (any order) and answered like the whole
 * datagram: nmap -f's 8-byte SYN pieces, a fragmented ping. Overlaps drop
 * the datagram (Linux); slots are bounded per decoy. */
static void
test_fragment_reassembly(void **state)
{
	struct harness *h = *state;
	uint8_t icmp[8 + 40] = { 8, 0, 0, 0, 0x12, 0x34, 0, 1 }, syn[64], opt[40];
	struct emit_tcp t = { .sport = 40000, .dport = 22, .seq = 77, .flags = FRAME_TCP_SYN,
			      .win = 29200 };
	struct frame f;
	size_t seglen;
	uint16_t c;

	for (size_t i = 8; i < sizeof(icmp); i++)
		icmp[i] = (uint8_t)i;
	c = frame_csum_fold(frame_csum_add(0, icmp, sizeof(icmp)));
	icmp[2] = (uint8_t)(c >> 8), icmp[3] = (uint8_t)c;
	h->n_out = 0;
	feed_frag(h, 100, 1, icmp, 24, 24, false);	/* the last part first */
	assert_int_equal(h->n_out, 0);
	feed_frag(h, 100, 1, icmp, 0, 24, true);
	assert_int_equal(h->n_out, 1);
	parse_out(h, 0, &f);
	assert_int_equal(f.icmp.type, 0);
	assert_int_equal(f.icmp.data_len, 40);
	assert_memory_equal(f.icmp.data, icmp + 8, 40);
	assert_int_equal(h->r.stats.reassembled, 1);
	/* Overlapping pieces: the datagram is dropped, even once "complete". */
	h->n_out = 0;
	feed_frag(h, 101, 1, icmp, 0, 32, true);
	feed_frag(h, 101, 1, icmp, 24, 24, false);
	assert_int_equal(h->n_out, 0);
	/* nmap -f: a SYN in 8-byte pieces. */
	t.opt_len = (size_t)emit_tcp_options("M5B4", 0, 0, opt, sizeof(opt));
	t.opt = opt;
	seglen = emit_tcp(syn, sizeof(syn), &t);
	{
		/* emit_tcp leaves the checksum to emit_ipv4: fill it for the pieces. */
		uint8_t ph[12];
		uint32_t sum;

		ph[0] = (uint8_t)(PEER >> 24), ph[1] = (uint8_t)(PEER >> 16);
		ph[2] = (uint8_t)(PEER >> 8), ph[3] = (uint8_t)PEER;
		ph[4] = (uint8_t)(DECOY >> 24), ph[5] = (uint8_t)(DECOY >> 16);
		ph[6] = (uint8_t)(DECOY >> 8), ph[7] = (uint8_t)DECOY;
		ph[8] = 0, ph[9] = 6, ph[10] = 0, ph[11] = (uint8_t)seglen;
		syn[16] = syn[17] = 0;
		sum = frame_csum_add(frame_csum_add(0, ph, sizeof(ph)), syn, seglen);
		c = frame_csum_fold(sum);
		syn[16] = (uint8_t)(c >> 8), syn[17] = (uint8_t)c;
	}
	h->n_out = 0;
	for (size_t off = 0; off < seglen; off += 8)
		feed_frag(h, 102, 6, syn, off, seglen - off > 8 ? 8 : seglen - off,
			  off + 8 < seglen);
	assert_int_equal(h->n_out, 1);
	parse_out(h, 0, &f);
	assert_int_equal(f.tcp.flags, FRAME_TCP_SYN | FRAME_TCP_ACK);
	assert_int_equal(f.tcp.ack, 78);
	/* Bounded: first pieces of many datagrams keep at most 4 for the decoy. */
	for (uint16_t id = 200; id < 220; id++)
		feed_frag(h, id, 1, icmp, 0, 24, true);
	{
		unsigned used = 0;

		for (uint32_t i = 0; i < LIMIT_CHAFF_FRAGS; i++)
			used += h->r.frags[i].used;
		assert_int_equal(used, LIMIT_CHAFF_FRAGS_PER_DECOY);
	}
	/* The newest of them still completes. */
	h->n_out = 0;
	feed_frag(h, 219, 1, icmp, 24, 24, false);
	assert_int_equal(h->n_out, 1);
}

/* Spoofed sources cannot make a decoy broadcast without bound: once every
 * held slot waits, new unknown peers get no request (and no answer). */
static void
test_arp_resolution_bounded(void **state)
{
	struct harness *h = *state;
	uint8_t buf[EMIT_FRAME_MAX], seg[64];
	struct emit_tcp t = { .sport = 1234, .dport = 23, .seq = 1, .flags = FRAME_TCP_SYN,
			      .win = 1024 };

	h->r.arp_resolve = true;
	for (uint32_t i = 0; i < LIMIT_CHAFF_ARP_PENDING + 20; i++) {
		struct emit_ip ip = { .src = 0xcb007100u + i, .dst = DECOY, .ttl = 60, .proto = 6 };
		size_t n = emit_ipv4(buf, sizeof(buf), decoy_mac(h), peer_mac, &ip, seg,
				     emit_tcp(seg, sizeof(seg), &t));

		respond_frame(&h->r, buf, n, false);
	}
	assert_int_equal(h->r.stats.arp_requests, LIMIT_CHAFF_ARP_PENDING);
	assert_int_equal(h->r.n_held, LIMIT_CHAFF_ARP_PENDING);
	assert_int_equal(h->r.stats.held_dropped, 20);
	/* A second later they are all answered (routed) and the pool is free. */
	h->r.now_ns += 1000000000ULL;
	respond_timers(&h->r);
	assert_int_equal(h->r.n_held, 0);
	assert_int_equal(respond_next_due(&h->r), 0);
}

/* ping -s 3000: reassembled, answered in fragments of 1,480 bytes with one IP ID. */
static void
test_jumbo_ping(void **state)
{
	struct harness *h = *state;
	static uint8_t icmp[8 + 3000], got[8 + 3000];
	struct frame f;
	size_t have = 0;
	uint16_t c, id = 0;

	icmp[0] = 8, icmp[4] = 0x55, icmp[7] = 9;
	for (size_t i = 8; i < sizeof(icmp); i++)
		icmp[i] = (uint8_t)(i * 7);
	c = frame_csum_fold(frame_csum_add(0, icmp, sizeof(icmp)));
	icmp[2] = (uint8_t)(c >> 8), icmp[3] = (uint8_t)c;
	h->n_out = 0;
	feed_frag(h, 300, 1, icmp, 0, 1480, true);
	feed_frag(h, 300, 1, icmp, 1480, 1480, true);
	feed_frag(h, 300, 1, icmp, 2960, sizeof(icmp) - 2960, false);
	assert_int_equal(h->n_out, 3);
	for (size_t i = 0; i < 3; i++) {
		parse_out(h, i, &f);
		assert_int_equal(f.kind, FRAME_IP_FRAG);
		assert_int_equal((f.ip.frag & 0x1fff) * 8, have);
		assert_int_equal((f.ip.frag & 0x2000) != 0, i < 2);
		if (i == 0)
			id = f.ip.id;
		assert_int_equal(f.ip.id, id);
		memcpy(got + have, f.ip.l4, f.ip.l4_len);
		have += f.ip.l4_len;
	}
	assert_int_equal(have, sizeof(icmp));
	assert_int_equal(got[0], 0);	/* echo reply */
	assert_memory_equal(got + 4, icmp + 4, sizeof(icmp) - 4);
	assert_int_equal(frame_csum_fold(frame_csum_add(0, got, sizeof(got))), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_arp_reply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_syn_open_and_handshake, setup, teardown),
		cmocka_unit_test_setup_teardown(test_closed_and_probes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_checksum_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_udp_unreachable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_session_lifetime, setup, teardown),
		cmocka_unit_test_setup_teardown(test_icmp_errors_are_budgeted, setup, teardown),
		cmocka_unit_test(test_ack_other_only_for_probes),
		cmocka_unit_test(test_large_gcd_sp),
		cmocka_unit_test(test_realistic_mss),
		cmocka_unit_test_setup_teardown(test_arp_probe_no_alarm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vlan, setup, teardown),
		cmocka_unit_test_setup_teardown(test_synack_retransmit, setup, teardown),
		cmocka_unit_test(test_synack_retransmit_other_os),
		cmocka_unit_test_setup_teardown(test_data_retransmit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mss_and_window, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timestamps_and_ipid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_isn_per_decoy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_icmp_timestamp, setup, teardown),
		cmocka_unit_test(test_os_timers),
		cmocka_unit_test_setup_teardown(test_arp_resolution, setup, teardown),
		cmocka_unit_test_setup_teardown(test_arp_resolution_learned_and_routed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fragment_reassembly, setup, teardown),
		cmocka_unit_test_setup_teardown(test_arp_resolution_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_jumbo_ping, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
