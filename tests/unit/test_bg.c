/*
 * Unit tests for src/chaff/bg.c: the frame builders (NetBIOS name encoding,
 * DNS names, NBNS registration, browser host announcement, mDNS records,
 * IP and UDP checksums), the per-decoy schedule (start-up spread, its own
 * period, stable per decoy and secret, each family's streams) and the
 * global budget (never more than pps frames a second, however many decoys;
 * background: off / arp).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "chaff/bg.h"
#include "chaff/vendor.h"

#define SEC	1000000000ULL

static uint16_t
be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t
sum16(const uint8_t *p, size_t n, uint32_t s)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += be16(p + i);
	if (n % 2)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

static uint16_t
fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* An Ethernet/IPv4/UDP frame whose IP and UDP checksums verify; returns the
 * UDP payload's offset. */
static size_t
check_udp(const uint8_t *f, size_t len, uint16_t dport)
{
	size_t ihl;
	uint32_t s;

	assert_true(len >= 42);
	assert_int_equal(be16(f + 12), 0x0800);
	ihl = (size_t)(f[14] & 15) * 4;
	assert_int_equal(fold(sum16(f + 14, ihl, 0)), 0xffff);
	assert_int_equal(be16(f + 16), len - 14);
	assert_int_equal(f[14 + 9], 17);
	assert_int_equal(be16(f + 14 + ihl + 2), dport);
	assert_int_equal(be16(f + 14 + ihl + 4), len - 14 - ihl);
	assert_int_not_equal(be16(f + 14 + ihl + 6), 0);
	/* Pseudo-header + UDP. */
	s = sum16(f + 26, 8, 0) + 17 + (uint32_t)(len - 14 - ihl);
	assert_int_equal(fold(sum16(f + 14 + ihl, len - 14 - ihl, s)), 0xffff);
	return 14 + ihl + 8;
}

static void
test_nbns_name(void **state)
{
	uint8_t out[34];

	(void)state;
	/* RFC 1001 14.1's example, with the <00> suffix. */
	assert_int_equal(bg_nbns_name("fred", 0x00, out), 34);
	assert_int_equal(out[0], 32);
	assert_memory_equal(out + 1, "EGFCEFEECACACACACACACACACACACAAA", 32);
	assert_int_equal(out[33], 0);
	/* WORKGROUP<1d>; too long a name is cut at 15. */
	bg_nbns_name("WORKGROUP", 0x1d, out);
	assert_memory_equal(out + 1, "FHEPFCELEHFCEPFFFACACACACACACABN", 32);
	bg_nbns_name("ABCDEFGHIJKLMNOPQ", 0x20, out);
	assert_memory_equal(out + 29, "EPCA", 4);
}

static void
test_dns_name(void **state)
{
	uint8_t buf[128];
	char long_label[70];

	(void)state;
	assert_int_equal(bg_dns_name(buf, sizeof(buf), "HP LaserJet [1A2B3C]", "_ipp._tcp.local"),
			 1 + 20 + 1 + 4 + 1 + 4 + 1 + 5 + 1);
	assert_memory_equal(buf, "\x14HP LaserJet [1A2B3C]\x04_ipp\x04_tcp\x05local\x00", 39);
	assert_int_equal(bg_dns_name(buf, sizeof(buf), NULL, "a.b"), 5);
	assert_memory_equal(buf, "\x01" "a\x01" "b\x00", 5);
	assert_int_equal(bg_dns_name(buf, sizeof(buf), NULL, "a..b"), 0);
	memset(long_label, 'x', 64);
	long_label[64] = '\0';
	assert_int_equal(bg_dns_name(buf, sizeof(buf), long_label, "local"), 0);
	assert_int_equal(bg_dns_name(buf, 5, "host", "local"), 0);
}

static void
test_nbns_register_frame(void **state)
{
	static const uint8_t mac[6] = { 0xd4, 0xbe, 0xd9, 1, 2, 3 };
	static const uint8_t bc[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	uint8_t pl[256], f[1514];
	size_t n, len, off;

	(void)state;
	n = bg_nbns_register(pl, sizeof(pl), 0x1234, "DESKTOP-ABC1234", 0x00, 0xc0000205);
	assert_int_equal(n, 68);
	assert_int_equal(be16(pl), 0x1234);
	assert_int_equal(be16(pl + 2), 0x2910);
	assert_int_equal(be16(pl + 4), 1);
	assert_int_equal(be16(pl + 10), 1);
	assert_int_equal(be16(pl + 12 + 34), 0x20);
	assert_int_equal(be16(pl + 50), 0xc00c);
	assert_memory_equal(pl + 64, "\xc0\x00\x02\x05", 4);
	len = bg_udp_frame(f, sizeof(f), bc, mac, 0xc0000205, 0xc00002ff, 128, 7, 137, 137, pl, n);
	assert_int_equal(len, 14 + 20 + 8 + 68);
	off = check_udp(f, len, 137);
	assert_memory_equal(f + off, pl, n);
	assert_int_equal(f[14 + 8], 128);
	assert_int_equal(bg_nbns_register(pl, 60, 1, "X", 0, 1), 0);
}

static void
test_browser_frame(void **state)
{
	uint8_t pl[512];
	const uint8_t *smb, *data;
	size_t n;

	(void)state;
	n = bg_browser_announce(pl, sizeof(pl), 0x4242, 0xc0000205, "desktop-abc1234",
				"WORKGROUP", 720000, 10, 0);
	assert_true(n > 0);
	assert_int_equal(pl[0], 0x11);
	assert_int_equal(be16(pl + 8), 138);
	assert_int_equal(be16(pl + 10), n - 14);	/* datagram length */
	smb = pl + 14 + 34 + 34;
	assert_memory_equal(smb, "\xffSMB\x25", 5);
	assert_int_equal(smb[32], 17);
	/* The data offset points at the HostAnnouncement. */
	assert_int_equal(smb[33 + 24] | smb[33 + 25] << 8, 86);
	assert_memory_equal(smb + 33 + 34 + 2, "\\MAILSLOT\\BROWSE", 17);
	data = smb + 86;
	assert_int_equal((size_t)(data - pl) + 33, n);
	assert_int_equal(data[0], 1);
	assert_int_equal(data[2] | data[3] << 8 | data[4] << 16, 720000);
	assert_string_equal((const char *)data + 6, "DESKTOP-ABC1234");
	assert_int_equal(data[22], 10);
	assert_int_equal(data[30] | data[31] << 8, 0xaa55);
}

/* Walk a DNS name (no compression) and return the offset after it. */
static size_t
skip_name(const uint8_t *p, size_t len, size_t off)
{
	while (off < len && p[off] != 0) {
		assert_true(p[off] <= 63);
		off += 1 + p[off];
	}
	assert_true(off < len);
	return off + 1;
}

/* Every record is well-formed and the message is exactly its records;
 * returns the number of records of type want. */
static unsigned
walk_mdns(const uint8_t *p, size_t len, unsigned ancount, uint16_t want)
{
	size_t off = 12;
	unsigned n = 0;

	assert_int_equal(be16(p), 0);
	assert_int_equal(be16(p + 2), 0x8400);
	assert_int_equal(be16(p + 6), ancount);
	for (unsigned i = 0; i < ancount; i++) {
		uint16_t type, rdlen;

		off = skip_name(p, len, off);
		assert_true(off + 10 <= len);
		type = be16(p + off);
		rdlen = be16(p + off + 8);
		off += 10 + rdlen;
		assert_true(off <= len);
		n += type == want;
	}
	assert_int_equal(off, len);
	return n;
}

static void
test_mdns_frames(void **state)
{
	static const uint8_t mac[6] = { 0x3c, 0x07, 0x54, 1, 2, 3 };
	static const uint8_t mc[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb };
	uint8_t pl[1400], f[1514];
	size_t n, len, off;

	(void)state;
	n = bg_mdns_announce(pl, sizeof(pl), "Annas-MacBook-Pro", 0xc0000205, "MacBookPro15,1",
			     NULL, NULL);
	assert_true(n > 0);
	assert_int_equal(walk_mdns(pl, n, 3, 1), 1);	/* A */
	assert_int_equal(walk_mdns(pl, n, 3, 16), 1);	/* _device-info TXT */
	assert_memory_equal(pl + 12, "\x11" "Annas-MacBook-Pro\x05local", 24);
	len = bg_udp_frame(f, sizeof(f), mc, mac, 0xc0000205, 0xe00000fb, 255, 0, 5353, 5353, pl,
			   n);
	off = check_udp(f, len, 5353);
	assert_memory_equal(f + off, pl, n);
	assert_memory_equal(f + 30, "\xe0\x00\x00\xfb", 4);

	n = bg_mdns_announce(pl, sizeof(pl), "NPI010203", 0xc0000206, NULL, "HP LaserJet 2420",
			     "010203");
	assert_true(n > 0);
	assert_int_equal(walk_mdns(pl, n, 8, 33), 2);	/* SRV for _ipp and _printer */
	assert_int_equal(walk_mdns(pl, n, 8, 12), 3);	/* reverse + 2 service PTRs */
	assert_non_null(memmem(pl, n, "\x04_ipp\x04_tcp\x05local", 17));
	assert_non_null(memmem(pl, n, "HP LaserJet 2420 [010203]", 25));
	assert_non_null(memmem(pl, n, "\x02\x77", 2));	/* SRV port 631 */
	assert_int_equal(bg_mdns_announce(pl, 40, "NPI010203", 1, NULL, "HP", "0"), 0);
}

static const struct bg_params prm = {
	.interval_ns = 60 * SEC, .window_ns = 20 * SEC, .pps = 100, .secret = 42,
};

static void
test_schedule_spread(void **state)
{
	struct bg_params other = prm;
	uint64_t lo = UINT64_MAX, hi = 0, p_lo = UINT64_MAX, p_hi = 0;
	unsigned in_first_second = 0, same = 0;
	enum bg_kind k;
	uint64_t next;

	(void)state;
	other.secret = 43;
	for (uint32_t a = 0; a < 1000; a++) {
		uint64_t t = bg_first(&prm, VENDOR_FAM_LINUX, 0xc0000000 + a, 0);

		assert_true(t < prm.window_ns);
		/* Stable for the decoy, different under another secret. */
		assert_int_equal(t, bg_first(&prm, VENDOR_FAM_LINUX, 0xc0000000 + a, 0));
		same += t == bg_first(&other, VENDOR_FAM_LINUX, 0xc0000000 + a, 0);
		in_first_second += t < SEC;
		lo = t < lo ? t : lo;
		hi = t > hi ? t : hi;
		/* Each decoy's own period: interval x 0.75..1.25, +-10 %. */
		assert_true(bg_step(&prm, VENDOR_FAM_LINUX, 0xc0000000 + a, 0, 5, &k, &next));
		assert_int_equal(k, BG_ARP);
		assert_true(next >= 60 * SEC * 75 / 100 * 90 / 100);
		assert_true(next <= 60 * SEC * 125 / 100 * 110 / 100);
		p_lo = next < p_lo ? next : p_lo;
		p_hi = next > p_hi ? next : p_hi;
	}
	assert_true(hi - lo > 18 * SEC);		/* spread over the window */
	assert_true(in_first_second < 100);		/* not one burst */
	assert_true(same < 5);
	assert_true(p_hi - p_lo > 30 * SEC);		/* not in step */
	/* Jitter per event: one decoy's consecutive periods differ. */
	{
		uint64_t a, b;

		bg_step(&prm, VENDOR_FAM_LINUX, 7, 0, 5, &k, &a);
		bg_step(&prm, VENDOR_FAM_LINUX, 7, 0, 6, &k, &b);
		assert_int_not_equal(a, b);
	}
	/* interval 0: the start-up announcement only. */
	other = prm;
	other.interval_ns = 0;
	assert_true(bg_step(&other, VENDOR_FAM_LINUX, 7, 0, 0, &k, &next));
	assert_int_equal(next, 0);
}

static void
test_schedule_families(void **state)
{
	enum bg_kind k;
	uint64_t next;
	static const uint64_t win_min[] = { 2, 4, 8, 12, 12, 12 };

	(void)state;
	/* Linux and routers: ARP only; one announcement at start. */
	assert_false(bg_step(&prm, VENDOR_FAM_LINUX, 7, 1, 0, &k, &next));
	assert_false(bg_step(&prm, VENDOR_FAM_OTHER, 7, 1, 0, &k, &next));
	assert_true(bg_step(&prm, VENDOR_FAM_LINUX, 7, 0, 0, &k, &next));
	assert_true(next > 40 * SEC);
	/* RFC 5227: Windows announces twice, 2 s apart. */
	assert_true(bg_step(&prm, VENDOR_FAM_WINDOWS, 7, 0, 0, &k, &next));
	assert_int_equal(next, 2 * SEC);
	/* Windows: three NBNS registrations, then browser announcements at
	 * 1, 2, 4, 8, 12 min, then every 12 min. */
	for (uint16_t s = 0; s < 3; s++) {
		assert_true(bg_step(&prm, VENDOR_FAM_WINDOWS, 7, 1, s, &k, &next));
		assert_int_equal(k, BG_NBNS);
	}
	assert_true(next > 58 * SEC && next < 62 * SEC);
	for (uint16_t s = 3; s < 9; s++) {
		uint64_t want = win_min[s - 3] * 60 * SEC;

		assert_true(bg_step(&prm, VENDOR_FAM_WINDOWS, 7, 1, s, &k, &next));
		assert_int_equal(k, BG_BROWSER);
		assert_true(next > want * 97 / 100 && next < want * 103 / 100);
	}
	/* mDNS families: two announcements 1 s apart, again after 30-90 min. */
	assert_true(bg_step(&prm, VENDOR_FAM_PRINTER, 7, 1, 0, &k, &next));
	assert_int_equal(k, BG_MDNS);
	assert_int_equal(next, SEC);
	assert_true(bg_step(&prm, VENDOR_FAM_MACOS, 7, 1, 1, &k, &next));
	assert_true(next >= 30 * 60 * SEC && next <= 90 * 60 * SEC);
	assert_true(bg_first(&prm, VENDOR_FAM_MACOS, 7, 1) > bg_first(&prm, VENDOR_FAM_MACOS, 7, 0));
}

/* A world of decoys for the budget tests. */
/* A DAD probe (RFC 4862 5.4.2): Ethernet to 33:33:ff + the target's last
 * three bytes, IPv6 from :: to its solicited-node group, hop limit 255,
 * an NS without options, ICMPv6 checksum valid. */
static void
check_dad6(const uint8_t *f, size_t len)
{
	static const uint8_t zero[16], sn[13] = { 0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff };
	uint32_t s;

	assert_int_equal(len, 14 + 40 + 24);
	assert_int_equal(f[14 + 6], 58);
	assert_int_equal(f[14 + 7], 255);
	assert_int_equal(be16(f + 14 + 4), 24);
	assert_memory_equal(f + 22, zero, 16);
	assert_memory_equal(f + 38, sn, 13);
	assert_memory_equal(f + 51, f + 54 + 8 + 13, 3);
	assert_int_equal(f[0], 0x33);
	assert_int_equal(f[1], 0x33);
	assert_memory_equal(f + 2, f + 50, 4);
	assert_int_equal(f[54], 135);
	s = sum16(f + 22, 32, 0) + 24 + 58;
	assert_int_equal(fold(sum16(f + 54, 24, s)), 0xffff);
}

struct world {
	struct decoy_table t;
	struct persona personas[2];
	struct bg_group groups[2];
	struct bg b;
	uint64_t frames, kinds[BG_NKINDS];
	uint64_t per_second[64];
	uint64_t now;
};

static void
on_send(void *arg, const uint8_t *f, size_t len)
{
	struct world *w = arg;

	w->frames++;
	w->per_second[w->now / SEC < 64 ? w->now / SEC : 63]++;
	if (len >= 14 && be16(f + 12) == 0x86dd) {
		check_dad6(f, len);
		w->kinds[BG_DAD6]++;
	} else if (len >= 42 && be16(f + 12) == 0x0806) {
		w->kinds[BG_ARP]++;
		assert_memory_equal(f + 28, f + 38, 4);	/* gratuitous: sender = target */
	} else {
		size_t off = check_udp(f, len, be16(f + 36));

		w->kinds[be16(f + 36) == 137 ? BG_NBNS : be16(f + 36) == 138 ? BG_BROWSER :
										BG_MDNS]++;
		(void)off;
	}
}

static struct world *
world(size_t n, uint8_t family, uint8_t mode, double pps, uint64_t window)
{
	struct world *w = calloc(1, sizeof(*w));
	static const uint8_t oui[3] = { 0xd4, 0xbe, 0xd9 };
	struct bg_params p = prm;

	assert_non_null(w);
	assert_int_equal(decoy_table_init(&w->t, n, 99, 0), 0);
	assert_int_equal(decoy_table_add(&w->t, 0xc6330000, (uint8_t)(32 - __builtin_ctzl(n)),
					 NULL, 0, 0, 0, oui), 0);
	assert_int_equal(decoy_table_seal(&w->t, NULL), 0);
	w->personas[0].family = family;
	snprintf(w->personas[0].os, sizeof(w->personas[0].os), "%s",
		 family == VENDOR_FAM_PRINTER ? "HP LaserJet 2420 printer" : "Test OS");
	w->personas[0].tcp[PERSONA_SEQ1].ttl = 128;
	w->groups[0].mode = mode;
	w->groups[0].bcast_len = 24;
	p.pps = pps;
	p.window_ns = window;
	assert_int_equal(bg_init(&w->b, &p, &w->t, w->personas, 1, w->groups, 1, on_send, w), 0);
	bg_start(&w->b, 0);
	return w;
}

static void
world_free(struct world *w)
{
	bg_free(&w->b);
	decoy_table_free(&w->t);
	free(w);
}

/* Drive bg_run() as the timer would, until until_ns. */
static void
world_run(struct world *w, uint64_t until_ns)
{
	uint64_t next = 0;

	for (int i = 0; i < 1000000 && next <= until_ns; i++) {
		w->now = next;
		next = bg_run(&w->b, w->now);
		assert_true(next > w->now);
	}
}

static void
test_budget_caps_thousands(void **state)
{
	/* 4,094 decoys all due at once (window 0) under 100 frames/s: no
	 * second carries more than the budget plus its 100 ms burst. */
	struct world *w = world(4096, VENDOR_FAM_LINUX, BG_MODE_ON, 100, 0);

	(void)state;
	world_run(w, 30 * SEC);
	for (int s = 0; s < 30; s++)
		assert_true(w->per_second[s] <= 100 + 10 + 1);
	assert_true(w->frames >= 30 * 100 - 50);
	assert_int_equal(w->frames, w->kinds[BG_ARP]);
	world_free(w);
}

static void
test_windows_traffic_and_modes(void **state)
{
	struct world *w;

	(void)state;
	/* 256 Windows decoys over a 10 s window: ARP twice each, NBNS three
	 * times each, all within the first 20 s; the first browser
	 * announcement a minute later. */
	w = world(256, VENDOR_FAM_WINDOWS, BG_MODE_ON, 1000, 10 * SEC);
	world_run(w, 20 * SEC);
	assert_int_equal(w->kinds[BG_ARP], 2 * 254);
	assert_int_equal(w->kinds[BG_NBNS], 3 * 254);
	assert_int_equal(w->kinds[BG_BROWSER], 0);
	world_run(w, 75 * SEC);
	assert_int_equal(w->kinds[BG_BROWSER], 254);
	/* Not one burst: the first second has a small share. */
	assert_true(w->per_second[0] < 200);
	world_free(w);

	/* background: arp — the ARP stream only. */
	w = world(256, VENDOR_FAM_WINDOWS, BG_MODE_ARP, 1000, 10 * SEC);
	world_run(w, 20 * SEC);
	assert_int_equal(w->kinds[BG_ARP], 2 * 254);
	assert_int_equal(w->kinds[BG_NBNS], 0);
	world_free(w);

	/* background: off — nothing at all, nothing scheduled. */
	w = world(256, VENDOR_FAM_WINDOWS, BG_MODE_OFF, 1000, 10 * SEC);
	assert_int_equal(bg_run(&w->b, 0), UINT64_MAX);
	assert_int_equal(w->frames, 0);
	world_free(w);

	/* Printers: mDNS twice each. */
	w = world(16, VENDOR_FAM_PRINTER, BG_MODE_ON, 1000, 5 * SEC);
	world_run(w, 10 * SEC);
	assert_int_equal(w->kinds[BG_MDNS], 2 * 14);
	world_free(w);
}

/* IPv6 decoys: at start-up two DAD probes each, link-local then global,
 * under the same budget and modes as the rest; none without IPv6. */
static void
test_ipv6_dad(void **state)
{
	struct decoy_v6group g6 = { .prefix = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1 },
				    .iid = DECOY_IID_STABLE };
	static const uint8_t oui[3] = { 0xf8, 0xbc, 0x12 };
	struct bg_params p = prm;
	struct world *w;
	uint8_t mode;

	(void)state;
	for (mode = BG_MODE_ON; mode <= BG_MODE_OFF; mode++) {
		w = calloc(1, sizeof(*w));
		assert_non_null(w);
		assert_int_equal(decoy_table_init(&w->t, 16, 99, 0), 0);
		assert_int_equal(decoy_table_add(&w->t, 0xc6330000, 28, NULL, 0, 0, 0, oui), 0);
		assert_int_equal(decoy_table_seal(&w->t, NULL), 0);
		assert_int_equal(decoy_table_build_v6(&w->t, &g6, 1), 0);
		w->personas[0].family = VENDOR_FAM_LINUX;
		w->groups[0].mode = mode;
		p.pps = 1000;
		p.window_ns = 5 * SEC;
		assert_int_equal(bg_init(&w->b, &p, &w->t, w->personas, 1, w->groups, 1, on_send,
					 w), 0);
		bg_start(&w->b, 0);
		world_run(w, 10 * SEC);
		assert_int_equal(w->kinds[BG_DAD6], mode == BG_MODE_OFF ? 0 : 2 * 14);
		assert_int_equal(w->kinds[BG_ARP], mode == BG_MODE_OFF ? 0 : 14);
		assert_int_equal(w->b.sent[BG_DAD6], w->kinds[BG_DAD6]);
		/* Spread over the window as the ARPs are, not one burst. */
		if (mode != BG_MODE_OFF)
			assert_true(w->per_second[0] < 2 * 14);
		world_free(w);
	}
}

static void
test_removed_and_claimed(void **state)
{
	struct world *w = world(16, VENDOR_FAM_LINUX, BG_MODE_ON, 1000, 5 * SEC);
	static const uint8_t oui[3] = { 0xd4, 0xbe, 0xd9 };

	(void)state;
	/* A decoy gone before its turn is dropped, not sent. */
	assert_int_equal(decoy_table_remove(&w->t, 0xc6330001), 0);
	world_run(w, 10 * SEC);
	assert_int_equal(w->kinds[BG_ARP], 13);
	assert_int_equal(w->b.dropped, 1);
	/* A claimed one joins at its period (its first ARP came with the claim). */
	assert_int_equal(decoy_table_insert(&w->t, 0xc6330001, 0, 0, oui), 0);
	bg_add(&w->b, decoy_find(&w->t, 0xc6330001), w->now);
	world_run(w, 30 * SEC);
	assert_int_equal(w->kinds[BG_ARP], 13);
	world_run(w, 120 * SEC);
	assert_true(w->kinds[BG_ARP] >= 14 + 13);
	world_free(w);
}

static void
test_hostnames(void **state)
{
	struct decoy d = { .addr = 0xc0000205, .mac = { 0x3c, 0x07, 0x54, 0xab, 0xcd, 0xef } };
	char a[64], b[64];

	(void)state;
	bg_hostname(&d, VENDOR_FAM_WINDOWS, "Microsoft Windows 10 1607", a, sizeof(a));
	assert_int_equal(strlen(a), 15);
	assert_memory_equal(a, "DESKTOP-", 8);
	bg_hostname(&d, VENDOR_FAM_WINDOWS, "Microsoft Windows 10 1607", b, sizeof(b));
	assert_string_equal(a, b);
	bg_hostname(&d, VENDOR_FAM_WINDOWS, "Microsoft Windows Server 2016", a, sizeof(a));
	assert_memory_equal(a, "WIN-", 4);
	assert_int_equal(strlen(a), 15);
	bg_hostname(&d, VENDOR_FAM_WINDOWS, "Microsoft Windows 7 SP1", a, sizeof(a));
	assert_non_null(strstr(a, "-PC"));
	assert_true(a[0] >= 'A' && a[0] <= 'Z' && a[1] >= 'A' && a[1] <= 'Z');
	bg_hostname(&d, VENDOR_FAM_PRINTER, "HP", a, sizeof(a));
	assert_string_equal(a, "NPIABCDEF");
	bg_hostname(&d, VENDOR_FAM_MACOS, "Apple", a, sizeof(a));
	assert_non_null(strstr(a, "s-MacBook-Pro"));
	d.addr++;
	bg_hostname(&d, VENDOR_FAM_WINDOWS, "Microsoft Windows 10 1607", b, sizeof(b));
	bg_hostname(&(struct decoy){ .addr = 0xc0000205, .mac = { 0, 0, 0, 0xab, 0xcd, 0xef } },
		    VENDOR_FAM_WINDOWS, "Microsoft Windows 10 1607", a, sizeof(a));
	assert_string_not_equal(a, b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nbns_name),
		cmocka_unit_test(test_dns_name),
		cmocka_unit_test(test_nbns_register_frame),
		cmocka_unit_test(test_browser_frame),
		cmocka_unit_test(test_mdns_frames),
		cmocka_unit_test(test_schedule_spread),
		cmocka_unit_test(test_schedule_families),
		cmocka_unit_test(test_budget_caps_thousands),
		cmocka_unit_test(test_windows_traffic_and_modes),
		cmocka_unit_test(test_removed_and_claimed),
		cmocka_unit_test(test_ipv6_dad),
		cmocka_unit_test(test_hostnames),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
