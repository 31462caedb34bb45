/*
 * libFuzzer target: the whole responder on one decoy with the Linux
 * personality from the seed fingerprint, over IPv4 and IPv6; each input is a sequence of frames
 * (2-byte length prefix each), so handshakes and sessions are reached.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chaff/respond.h"
#include "chaff/service.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fp_text[] =
	"Fingerprint F\n"
	"SEQ(SP=C3-CD%GCD=1-6%ISR=C6-D0%TI=I%CI=RI%II=BI%SS=O%TS=7)\n"
	"OPS(O1=M550ST11NW4%O2=M550ST11NW4%O3=M550NNT11NW4%O4=M550ST11NW4%O5=M550ST11NW4%O6=M550ST11)\n"
	"WIN(W1=1510%W2=1510%W3=1510%W4=1510%W5=1510%W6=1510)\n"
	"ECN(R=Y%DF=Y%T=3B-45%TG=40%W=1540%O=M550NNSNW4%CC=S%Q=R)\n"
	"T1(R=Y%DF=Y%T=3B-45%TG=40%S=O%A=S+%F=AS%RD=0%Q=U)\n"
	"T2(R=Y%DF=Y%T=3D-47%TG=40%W=0%S=Z%A=S%F=AR%O=%RD=0%Q=)\n"
	"T3(R=Y%DF=Y%T=3D-47%TG=40%W=0%S=Z%A=O%F=AR%O=%RD=0%Q=)\n"
	"T4(R=Y%DF=Y%T=3B-45%TG=40%W=0%S=A%A=Z%F=R%O=%RD=0%Q=)\n"
	"T5(R=Y%DF=Y%T=3B-45%TG=40%W=0%S=Z%A=S+%F=AR%O=%RD=0%Q=)\n"
	"T6(R=Y%DF=Y%T=3B-45%TG=40%W=0%S=A%A=Z%F=R%O=%RD=0%Q=)\n"
	"T7(R=Y%DF=Y%T=3D-47%TG=40%W=0%S=A+%A=S+%F=AR%O=%RD=0%Q=)\n"
	"U1(DF=N%T=3B-45%TG=40%IPL=38%UN=0%RIPL=1234%RID=0%RIPCK=I%RUCK=0%RUD=I)\n"
	"IE(DFI=O%T=3B-45%TG=40%CD=99)\n";

struct world {
	struct decoy_table t;
	struct persona p;
	struct respond_group g;
	struct respond r;
	struct service_ctx s;
};

static void
sink(void *arg, const uint8_t *frame, size_t len)
{
	(void)arg;
	(void)frame;
	(void)len;
}

static size_t
w_open(void *arg, struct conn *c, const struct decoy *d, uint8_t *out, size_t cap)
{
	return service_open(&((struct world *)arg)->s, c, d, out, cap);
}

static size_t
w_data(void *arg, struct conn *c, const struct decoy *d, const uint8_t *data, size_t len,
       uint8_t *out, size_t cap, bool *close)
{
	return service_data(&((struct world *)arg)->s, c, d, data, len, out, cap, close);
}

static void
w_close(void *arg, struct conn *c)
{
	service_close(&((struct world *)arg)->s, c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct world *w = calloc(1, sizeof(*w));
	struct osdb_fp *fp = calloc(1, sizeof(*fp));
	struct respond_hooks hooks = { .send = sink, .svc_open = w_open, .svc_data = w_data,
				       .svc_close = w_close };
	char err[64];
	size_t off = 0;

	if (!w || !fp || osdb_find(fp_text, sizeof(fp_text) - 1, "F", 0, fp) < 0 ||
	    persona_from_fp(NULL, fp, &w->p, err, sizeof(err)) < 0)
		abort();
	hooks.arg = w;
	/* 198.51.100.16/30: .17 and .18, ports 21/22/23/80 open. */
	decoy_table_init(&w->t, 4, 1, 0);
	decoy_table_add(&w->t, 0xc6336410, 30, NULL, 0, 0, 0, w->p.oui);
	decoy_table_seal(&w->t, NULL);
	/* Fixed MACs 00:14:22:00:00:<last octet> so seeds can address the decoys. */
	for (size_t i = 0; i < w->t.n; i++) {
		static const uint8_t oui[3] = { 0x00, 0x14, 0x22 };

		memcpy(w->t.v[i].mac, oui, 3);
		w->t.v[i].mac[3] = 0;
		w->t.v[i].mac[4] = 0;
		w->t.v[i].mac[5] = (uint8_t)w->t.v[i].addr;
	}
	/* IPv6 in 2001:db8:1::/64 with EUI-64 IIDs: .17 is
	 * 2001:db8:1::214:22ff:fe00:11 (fe80::214:22ff:fe00:11). */
	{
		static const struct decoy_v6group g6 = {
			.prefix = { 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0 }, .iid = DECOY_IID_EUI64 };

		decoy_table_build_v6(&w->t, &g6, 1);
	}
	w->g.tcp_ports[0] = 21, w->g.tcp_ports[1] = 22, w->g.tcp_ports[2] = 23;
	w->g.tcp_ports[3] = 80, w->g.n_tcp = 4;
	w->g.udp_ports[0] = 53, w->g.n_udp = 1;
	service_init(&w->s, 8, &w->p, 1);
	respond_init(&w->r, &w->t, &w->p, 1, &w->g, 1, 16, &hooks);
	/* Odd-sized inputs resolve peers by ARP first (held frames, requests). */
	w->r.arp_resolve = (size & 1) != 0;
	while (off + 2 <= size) {
		size_t len = (size_t)data[off] << 8 | data[off + 1];

		off += 2;
		if (len > size - off)
			len = size - off;
		/* Sometimes long enough for retransmissions and ARP timeouts. */
		w->r.now_ns += (len & 2) ? 1500000000ULL : 1000000ULL;
		respond_timers(&w->r);
		respond_frame(&w->r, data + off, len, (len & 1) != 0);
		off += len;
	}
	while (respond_next_due(&w->r) != 0) {
		w->r.now_ns = respond_next_due(&w->r);
		respond_timers(&w->r);
	}
	respond_expire(&w->r, 0);
	respond_free(&w->r);
	service_free(&w->s);
	decoy_table_free(&w->t);
	free(fp);
	free(w);
	return 0;
}
