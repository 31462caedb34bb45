/*
 * bench_chaff: moat-chaff's responder measured in process, no network.
 *
 * Builds the decoy world of a /16 (65,536 decoys across the 13 presets;
 * the addresses are only numbers in memory — 198.18.0.0/16, RFC 2544's
 * benchmarking range — no frame is ever sent), then reports:
 *   - start-up time (nmap-os-db read + personalities + decoy table + tables)
 *   - resident memory per idle decoy (table only, and whole process / decoys)
 *   - frames per second per core through respond_frame() for SYNs to open
 *     ports and for ARP requests, against a reference measured in the same
 *     run: decoding alone (frame_parse + checksum) of the same frames
 *   - per-frame handling time p50/p99 for ARP requests
 *   - first-alarm latency: from respond_frame() of a first contact to the
 *     alarm sink receiving the JSON report
 * Usage: bench_chaff [seconds per measurement, default 1]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chaff/alarm.h"
#include "chaff/emit.h"
#include "chaff/frame.h"
#include "chaff/osdb.h"
#include "chaff/persona.h"
#include "chaff/respond.h"
#include "chaff/service.h"
#include "common/clock.h"
#include "common/fileio.h"
#include "common/limits.h"

#define NFRAMES 4096
#define BASE 0xc6120000u	/* 198.18.0.0/16 */

static long
rss_kib(void)
{
	long pages = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "re");

	if (!f)
		return 0;
	if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
		resident = 0;
	fclose(f);
	return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static uint64_t sent_frames;

static void
null_send(void *arg, const uint8_t *frame, size_t len)
{
	(void)arg;
	(void)frame;
	(void)len;
	sent_frames++;
}

static uint64_t alarm_seen_ns;

static void
alarm_sink(void *arg, const char *json, const struct alarm_entry *e, const char *kind)
{
	if (!alarm_seen_ns)
		alarm_seen_ns = clock_now_ns(CLOCK_MONOTONIC);
}

static void
on_contact(void *arg, const struct respond_contact *c)
{
	alarm_contact(arg, c, clock_now_ns(CLOCK_MONOTONIC));
}

struct frames {
	uint8_t buf[NFRAMES][128];
	size_t len[NFRAMES];
};

static void
make_syns(struct frames *fr, const struct decoy_table *t)
{
	static const uint8_t peer[6] = { 2, 0, 0, 0, 0, 1 };
	uint8_t seg[80], opt[40];
	int olen = emit_tcp_options("M5B4ST11NW7", 12345, 0, opt, sizeof(opt));

	for (size_t i = 0; i < NFRAMES; i++) {
		const struct decoy *d = &t->v[(i * 7919) % t->n];
		struct emit_tcp tcp = { .sport = (uint16_t)(1024 + i), .dport = 22,
					.seq = (uint32_t)i, .flags = FRAME_TCP_SYN, .win = 64240,
					.opt = opt, .opt_len = (size_t)olen };
		struct emit_ip ip = { .src = 0xc6336401u + (uint32_t)(i % 200), .dst = d->addr,
				      .ttl = 64, .proto = 6 };

		fr->len[i] = emit_ipv4(fr->buf[i], sizeof(fr->buf[i]), d->mac, peer, &ip, seg,
				       emit_tcp(seg, sizeof(seg), &tcp));
	}
}

static void
make_arps(struct frames *fr, const struct decoy_table *t)
{
	static const uint8_t peer[6] = { 2, 0, 0, 0, 0, 1 }, bc[6] = { 0xff, 0xff, 0xff, 0xff,
									  0xff, 0xff };

	for (size_t i = 0; i < NFRAMES; i++)
		fr->len[i] = emit_arp(fr->buf[i], sizeof(fr->buf[i]), bc, 1, peer, 0xc6336401u,
				      (const uint8_t *)"\0\0\0\0\0\0", t->v[(i * 7919) % t->n].addr);
}

/* Frames per second through fn over secs seconds. */
static double
rate(struct respond *r, struct frames *fr, double secs, bool respond)
{
	uint64_t t0 = clock_now_ns(CLOCK_MONOTONIC), n = 0, deadline = t0 + (uint64_t)(secs * 1e9);

	while (clock_now_ns(CLOCK_MONOTONIC) < deadline) {
		for (size_t i = 0; i < NFRAMES; i++) {
			if (respond) {
				r->now_ns = clock_now_ns(CLOCK_MONOTONIC);
				respond_frame(r, fr->buf[i], fr->len[i], false);
			} else {
				struct frame f;

				if (frame_parse(fr->buf[i], fr->len[i], &f) == 0)
					(void)frame_l4_csum_ok(&f);
			}
		}
		n += NFRAMES;
	}
	return (double)n / ((double)(clock_now_ns(CLOCK_MONOTONIC) - t0) / 1e9);
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 1.0;
	static struct persona personas[16];
	static struct respond_group group = { .tcp_ports = { 22, 80 }, .n_tcp = 2 };
	struct decoy_table t;
	struct respond r;
	struct alarm al;
	struct service_ctx svc;
	struct respond_hooks hooks = { .send = null_send, .contact = on_contact };
	struct frames *fr = malloc(sizeof(*fr));
	struct osdb_fp *fp = calloc(1, sizeof(*fp));
	uint64_t *lat = malloc(NFRAMES * sizeof(*lat));
	char *text = NULL, err[256];
	size_t len = 0, np = persona_preset_count();
	long rss0, rss1, rss2;
	uint64_t t0, t1;
	double syn, syn_ref, arp, arp_ref;

	if (!fr || !fp || !lat)
		return 1;
	rss0 = rss_kib();
	t0 = clock_now_ns(CLOCK_MONOTONIC);
	if (fileio_read(OSDB_PATH, LIMIT_CHAFF_OSDB_BYTES, 0, &text, &len) < 0) {
		fprintf(stderr, "bench_chaff: %s missing (install nmap-common)\n", OSDB_PATH);
		return 1;
	}
	for (size_t i = 0; i < np; i++) {
		const struct persona_preset *pre = persona_preset_at(i);

		if (osdb_find(text, len, pre->fingerprint, pre->nth, fp) < 0 ||
		    persona_from_fp(pre, fp, &personas[i], err, sizeof(err)) < 0)
			return 1;
	}
	free(text);
	rss1 = rss_kib();
	if (decoy_table_init(&t, 65536, 1, clock_now_ns(CLOCK_MONOTONIC)) < 0)
		return 1;
	for (size_t i = 0; i < 65536; i += 256) {
		size_t p = (i / 256) % np;

		decoy_table_add(&t, BASE + (uint32_t)i, 24, NULL, 0, 0, (uint16_t)p, personas[p].oui);
	}
	/* /24 blocks skip .0 and .255: fill those in to make exactly 65,536. */
	for (size_t i = 0; i < 65536; i += 256) {
		decoy_table_add(&t, BASE + (uint32_t)i, 32, NULL, 0, 0, 0, personas[0].oui);
		decoy_table_add(&t, BASE + (uint32_t)i + 255, 32, NULL, 0, 0, 0, personas[0].oui);
	}
	decoy_table_seal(&t, NULL);
	rss2 = rss_kib();
	if (alarm_init(&al, 60ULL * 1000000000ULL, NULL, 0) < 0 ||
	    service_init(&svc, 4096, personas, np) < 0)
		return 1;
	alarm_add_sink(&al, alarm_sink, NULL);
	hooks.arg = &al;
	if (respond_init(&r, &t, personas, np, &group, 1, 65536, &hooks) < 0)
		return 1;
	t1 = clock_now_ns(CLOCK_MONOTONIC);

	printf("decoys: %zu (13 presets), sizeof(struct decoy) = %zu bytes\n", t.n,
	       sizeof(struct decoy));
	printf("start-up (osdb + 13 personalities + table + conn/alarm/session tables): %.1f ms\n",
	       (double)(t1 - t0) / 1e6);
	printf("RSS: decoy table %.0f bytes/decoy; whole process growth since start %.0f "
	       "bytes/decoy (goal <= 2048)\n", (double)(rss2 - rss1) * 1024.0 / (double)t.n,
	       (double)(rss_kib() - rss0) * 1024.0 / (double)t.n);

	/* First alarm: one ARP request from a fresh source, timed to the sink. */
	make_arps(fr, &t);
	{
		uint64_t a0 = clock_now_ns(CLOCK_MONOTONIC);

		r.now_ns = a0;
		respond_frame(&r, fr->buf[0], fr->len[0], false);
		printf("first alarm latency (in process): %.1f us\n",
		       alarm_seen_ns ? (double)(alarm_seen_ns - a0) / 1e3 : -1.0);
	}
	for (size_t i = 0; i < NFRAMES; i++) {
		uint64_t a = clock_now_ns(CLOCK_MONOTONIC);

		r.now_ns = a;
		respond_frame(&r, fr->buf[i], fr->len[i], false);
		lat[i] = clock_now_ns(CLOCK_MONOTONIC) - a;
	}
	qsort(lat, NFRAMES, sizeof(*lat), cmp_u64);
	printf("ARP request handling (in process): p50 %.2f us, p99 %.2f us\n",
	       (double)lat[NFRAMES / 2] / 1e3, (double)lat[NFRAMES * 99 / 100] / 1e3);
	arp_ref = rate(&r, fr, secs, false);
	arp = rate(&r, fr, secs, true);
	printf("ARP: %.0f frames/s/core answered; decode-only reference %.0f frames/s; ratio %.2f\n",
	       arp, arp_ref, arp / arp_ref);
	make_syns(fr, &t);
	syn_ref = rate(&r, fr, secs, false);
	syn = rate(&r, fr, secs, true);
	printf("SYN to open port: %.0f frames/s/core answered (SYN/ACK + conn entry); "
	       "decode-only reference %.0f frames/s; ratio %.2f (goal >= 100,000/s)\n",
	       syn, syn_ref, syn / syn_ref);
	printf("frames sent by the responder: %llu\n", (unsigned long long)sent_frames);
	respond_free(&r);
	service_free(&svc);
	alarm_free(&al);
	decoy_table_free(&t);
	free(fr);
	free(fp);
	free(lat);
	return 0;
}
