/* Unit tests for engine/detect_rate: warm-up and learning declare nothing,
 * persistence and strong deviations, frozen baseline, hysteresis, the
 * hour-of-week profile (a morning rise is normal, a night doubling is not),
 * reset, the state blob (round trip and hostile blobs), learning-time
 * surges, level shifts of the same character re-learned while floods
 * are not, a bursty series' learned peaks, and a small SYN flood found by
 * its SYNs. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/limits.h"
#include "engine/detect/registry.h"

#define NS 1000000000ULL
#define T0 (1700000000ULL * NS)	/* a Tuesday */

struct harness {
	struct dparams p;
	void *st;
	unsigned attacks, suspects, learned;
	struct detection last;
	uint64_t first_attack_ns;
	uint64_t rng;
	double normal;	/* h_feed: packets/s above this are a flood's */
};

static const struct dparams *
h_params(void *ctx, uint32_t po_id)
{
	return &((struct harness *)ctx)->p;
}

static void
h_emit(void *ctx, const struct detection *d)
{
	struct harness *h = ctx;

	if (d->kind == DETECT_ATTACK) {
		if (h->attacks++ == 0)
			h->first_attack_ns = d->time_ns;
	} else {
		h->suspects++;
	}
	h->last = *d;
}

static void
h_learned(void *ctx, uint32_t po_id, uint8_t proto, uint8_t dir, uint16_t port)
{
	((struct harness *)ctx)->learned++;
}

static struct harness *
h_new(bool profile)
{
	struct harness *h = calloc(1, sizeof(*h));
	struct detect_env env = { .params = h_params, .emit = h_emit, .learned = h_learned };

	dparams_default(&h->p);
	h->p.rate.warmup_s = 10;
	h->p.rate.learn_s = 300;
	h->p.rate.profile = profile;
	h->rng = 42;
	h->normal = 1000;
	env.ctx = h;
	assert_int_equal(detect_rate_ops.new(&env, &h->st), 0);
	return h;
}

static void
h_free(struct harness *h)
{
	detect_rate_ops.free(h->st);
	free(h);
}

/* Uniform noise in [-1, 1). */
static double
h_noise(struct harness *h)
{
	h->rng ^= h->rng << 13;
	h->rng ^= h->rng >> 7;
	h->rng ^= h->rng << 17;
	return (double)(h->rng >> 11) / (double)(1ULL << 52) - 1.0;
}

/* One reading: `benign` packets/s (+-5 % noise) of 500 bytes with a new
 * flow every 10 packets, and `flood` packets/s of 60 bytes with a new flow
 * each (spoofed sources): the flood has another character. */
static void
h_feed_mix(struct harness *h, uint64_t t_ns, uint64_t interval_ns, double benign, double flood)
{
	double secs = (double)interval_ns / NS;
	double pk = benign * secs * (1 + 0.05 * h_noise(h)), fl = flood * secs;
	struct reading r = {
		.time_ns = t_ns,
		.interval_ns = interval_ns,
		.po_id = 7,
		.proto = PROTO_UDP,
		.dir = DIR_IN,
		.packets = (uint64_t)(pk + fl),
		.bytes = (uint64_t)(pk * 500 + fl * 60),
		.flows = (uint64_t)(pk / 10 + fl),
	};

	detect_rate_ops.feed(h->st, &r);
}

/* `pps` packets/s: up to h->normal benign, the rest a flood. */
static void
h_feed(struct harness *h, uint64_t t_ns, uint64_t interval_ns, double pps)
{
	h_feed_mix(h, t_ns, interval_ns, fmin(pps, h->normal), fmax(pps - h->normal, 0));
}

/* The same traffic at `pps` packets/s, all benign. */
static void
h_run_benign(struct harness *h, unsigned from, unsigned to, double pps)
{
	for (unsigned s = from; s < to; s++)
		h_feed_mix(h, T0 + (uint64_t)(s + 1) * NS, NS, pps, 0);
}

/* Feed seconds [from, to) at a constant rate. */
static void
h_run(struct harness *h, unsigned from, unsigned to, double pps)
{
	for (unsigned s = from; s < to; s++)
		h_feed(h, T0 + (uint64_t)(s + 1) * NS, NS, pps);
}

static void
test_learning_declares_nothing(void **state)
{
	struct harness *h = h_new(false);

	h->p.rate.learn_ratio = 0;	/* blind while learning, as the seed */
	h_run(h, 0, 100, 1000);
	h_run(h, 100, 200, 50000);	/* a flood inside the learning period */
	assert_int_equal(h->attacks, 0);
	assert_int_equal(h->suspects, 0);
	assert_int_equal(h->learned, 0);
	h_run(h, 200, 400, 1000);
	assert_int_equal(h->learned, 1);	/* once, when the period is over */
	h_free(h);
}

static void
test_persistence_and_strength(void **state)
{
	struct harness *h = h_new(false);

	h_run(h, 0, 600, 1000);
	assert_int_equal(h->attacks, 0);
	h_run(h, 600, 603, 2000);	/* 2x: three readings */
	assert_int_equal(h->suspects, 2);
	assert_int_equal(h->attacks, 1);
	assert_int_equal(h->first_attack_ns, T0 + 603 * NS);
	assert_string_equal(h->last.detector, "rate");
	assert_int_equal(h->last.po_id, 7);
	assert_int_equal(h->last.proto, PROTO_UDP);
	assert_true(h->last.expiry_ns > h->last.time_ns);
	assert_in_range(h->last.confidence, 40, 60);
	h_free(h);

	h = h_new(false);
	h_run(h, 0, 600, 1000);
	h_run(h, 600, 602, 5000);	/* 5x: strong, counts twice */
	assert_int_equal(h->attacks, 1);
	assert_int_equal(h->first_attack_ns, T0 + 602 * NS);
	assert_in_range(h->last.confidence, 75, 85);
	h_free(h);
}

static void
test_small_and_short_are_ignored(void **state)
{
	struct harness *h = h_new(false);

	h_run(h, 0, 600, 1000);
	h_run(h, 600, 900, 1300);	/* +30 %: under the enter ratio */
	h_run(h, 900, 902, 3000);	/* two readings then normal */
	h_run(h, 902, 1000, 1000);
	h_run(h, 1000, 1002, 3000);
	h_run(h, 1002, 1100, 1000);
	assert_int_equal(h->attacks, 0);
	h_free(h);
}

static void
test_noise_floor(void **state)
{
	struct harness *h = h_new(false);

	h_run(h, 0, 600, 1);		/* 1 pps, 500 B/s */
	h_run(h, 600, 700, 5);		/* 5x, but under min_pps and min_bps */
	assert_int_equal(h->attacks, 0);
	h_free(h);
}

/* The baseline is frozen under attack: after an hour of 3x traffic the
 * expected rate is still the pre-attack one, and the series detects on the
 * stay thresholds (1.2x) but not below them. */
static void
test_frozen_baseline_and_hysteresis(void **state)
{
	struct harness *h = h_new(false);

	h_run(h, 0, 600, 1000);
	h_run(h, 600, 4200, 3000);
	assert_true(h->last.expected_pps > 900 && h->last.expected_pps < 1100);
	h->attacks = 0;
	h_run(h, 4200, 4300, 1400);	/* below enter (1.5x), above stay (1.2x) */
	assert_int_equal(h->attacks, 100);
	h->attacks = 0;
	h_run(h, 4300, 4400, 1000);
	assert_int_equal(h->attacks, 0);
	h_run(h, 4400, 4500, 1400);	/* no longer detected: enter applies */
	assert_int_equal(h->attacks, 0);
	h_free(h);
}

static void
test_reset(void **state)
{
	struct harness *h = h_new(false);

	h_run(h, 0, 600, 1000);
	h_run(h, 600, 610, 3000);
	assert_true(h->attacks > 0);
	detect_rate_ops.reset(h->st, 7, PROTO_UDP, DIR_IN, 0);
	h->attacks = h->suspects = 0;
	h_run(h, 610, 611, 1400);	/* enter thresholds again after the reset */
	assert_int_equal(h->attacks, 0);
	assert_int_equal(h->suspects, 0);
	/* the seed's behaviour: reset re-learns the baseline (warm-up again) */
	h->p.rate.reset_baseline = true;
	detect_rate_ops.reset(h->st, 7, PROTO_UDP, DIR_IN, 0);
	h_run(h, 611, 615, 3000);
	assert_int_equal(h->attacks + h->suspects, 0);
	h_free(h);
}

/* One reading of the port series `port` (0 = all ports) of PO 7, UDP in. */
static void
h_feed_port(struct harness *h, uint64_t t_ns, uint16_t port, double pps)
{
	double pk = pps * (1 + 0.05 * h_noise(h));
	struct reading r = {
		.time_ns = t_ns, .interval_ns = NS, .po_id = 7, .proto = PROTO_UDP, .dir = DIR_IN,
		.port = port, .packets = (uint64_t)pk, .bytes = (uint64_t)(pk * 500),
	};

	detect_rate_ops.feed(h->st, &r);
}

/* A port series learns and detects on its own: a flood that is 10x on port
 * 53 but under 10 % of the PO's whole UDP is declared on (PO, udp, 53)
 * only; resetting port 53 leaves port 0 alone. */
static void
test_port_series(void **state)
{
	struct harness *h = h_new(false);
	unsigned attacks_53 = 0, attacks_0 = 0;

	for (unsigned s = 0; s < 600; s++) {
		h_feed_port(h, T0 + (uint64_t)(s + 1) * NS, 0, 10000);
		h_feed_port(h, T0 + (uint64_t)(s + 1) * NS, 53, 100);
	}
	assert_int_equal(h->learned, 2);	/* two series */
	assert_int_equal(h->attacks, 0);
	for (unsigned s = 600; s < 610; s++) {
		unsigned before = h->attacks;

		h_feed_port(h, T0 + (uint64_t)(s + 1) * NS, 0, 10900);
		attacks_0 += h->attacks - before;
		before = h->attacks;
		h_feed_port(h, T0 + (uint64_t)(s + 1) * NS, 53, 1000);
		attacks_53 += h->attacks - before;
		if (h->attacks > before)
			assert_int_equal(h->last.port, 53);
	}
	assert_true(attacks_53 > 0);
	assert_int_equal(attacks_0, 0);
	assert_int_equal(h->last.proto, PROTO_UDP);
	assert_int_equal(h->last.po_id, 7);
	/* a reset of port 53 forgets its suspicion (enter thresholds again) */
	detect_rate_ops.reset(h->st, 7, PROTO_UDP, DIR_IN, 53);
	h->attacks = 0;
	h_feed_port(h, T0 + 611 * NS, 53, 130);
	assert_int_equal(h->attacks, 0);
	h_free(h);
}

/* Office shape: 10 % at night, ramping to 100 % between 07:00 and 08:00. */
static double
shape(uint64_t t_s)
{
	double hour = fmod((double)t_s / 3600.0, 24.0);

	if (hour < 7)
		return 0.1;
	if (hour < 8)
		return 0.1 + 0.9 * (hour - 7);
	if (hour < 18)
		return 1.0;
	if (hour < 20)
		return 1.0 - 0.9 * (hour - 18) / 2;
	return 0.1;
}

static unsigned
run_weeks(struct harness *h, unsigned weeks, double night_factor)
{
	const uint64_t step = 60;
	uint64_t start = T0 / NS - (T0 / NS) % 86400;	/* midnight */
	unsigned third_week_attacks = 0;

	h->p.rate.learn_s = 7 * 86400;
	for (uint64_t t = 0; t < weeks * 7 * 86400ULL; t += step) {
		double pps = 2000 * shape(start + t), flood = 0;
		uint64_t day = t / 86400, hour = (t % 86400) / 3600;

		if (day == 15 && hour == 3 && (t % 3600) >= 600 && (t % 3600) < 1200)
			flood = pps * (night_factor - 1);
		h_feed_mix(h, (start + t + step) * NS, step * NS, pps, flood);
		if (day == 14)
			third_week_attacks = h->attacks;
	}
	return third_week_attacks;
}

static void
test_profile_expects_morning_rise(void **state)
{
	struct harness *h = h_new(true);
	unsigned before;

	h->p.rate.min_pps = 0;
	h->p.rate.min_bps = 0;
	before = run_weeks(h, 3, 2.0);
	assert_int_equal(before, 0);		/* two weeks of mornings: no detection */
	assert_true(h->attacks > 0);		/* the night-time doubling on day 15 */
	assert_true(h->first_attack_ns / NS % 86400 / 3600 == 3);
	h_free(h);

	/* Without the profile (nor the character, nor the learned peaks) the
	 * same mornings look like attacks. */
	h = h_new(false);
	h->p.rate.peaks = false;
	h->p.rate.organic_ratio = 0;
	h->p.rate.relearn_s = 0;
	h->p.rate.min_pps = 0;
	h->p.rate.min_bps = 0;
	before = run_weeks(h, 3, 1.0);
	assert_true(before > 0);
	h_free(h);
}

static void
test_blob_round_trip(void **state)
{
	struct harness *a = h_new(false), *b = h_new(false);
	uint8_t *blob, *blob2;
	size_t len, len2;

	h_run(a, 0, 600, 1000);
	assert_int_equal(detect_rate_ops.save(a->st, &blob, &len), 0);
	assert_int_equal(detect_rate_ops.load(b->st, blob, len), 0);
	assert_int_equal(detect_rate_ops.save(b->st, &blob2, &len2), 0);
	assert_int_equal(len, len2);
	assert_memory_equal(blob, blob2, len);
	/* the restored detector detects at once: no new learning period */
	b->rng = a->rng;
	h_run(b, 600, 603, 2000);
	assert_int_equal(b->attacks, 1);
	free(blob);
	free(blob2);
	h_free(a);
	h_free(b);
}

static void
test_blob_hostile(void **state)
{
	struct harness *a = h_new(false), *b = h_new(false);
	uint8_t *blob;
	size_t len;

	h_run(a, 0, 100, 1000);
	h_run(b, 0, 600, 1000);
	assert_int_equal(detect_rate_ops.save(a->st, &blob, &len), 0);
	for (size_t cut = 0; cut < len; cut += 97)
		assert_int_equal(detect_rate_ops.load(b->st, blob, cut), -EINVAL);
	blob[0] ^= 1;				/* bad magic */
	assert_int_equal(detect_rate_ops.load(b->st, blob, len), -EINVAL);
	blob[0] ^= 1;
	blob[8 + 4] = 9;			/* protocol out of range */
	assert_int_equal(detect_rate_ops.load(b->st, blob, len), -EINVAL);
	/* b kept its own (learned) state through all the failures */
	h_run(b, 600, 603, 2000);
	assert_int_equal(b->attacks, 1);
	free(blob);
	h_free(a);
	h_free(b);
}

static void
test_remap_po(void **state)
{
	struct harness *h = h_new(false);
	uint32_t map[8] = { [7] = 3 };
	struct reading r = { .time_ns = T0 + 601 * NS, .interval_ns = NS, .po_id = 3,
		.proto = PROTO_UDP, .dir = DIR_IN, .packets = 2000, .bytes = 1000000 };

	h_run(h, 0, 600, 1000);
	detect_rate_ops.remap_po(h->st, map, 8);	/* PO 7 is now PO 3 */
	for (int i = 0; i < 3; i++) {
		detect_rate_ops.feed(h->st, &r);
		r.time_ns += NS;
	}
	assert_int_equal(h->attacks, 1);		/* learned state kept */
	assert_int_equal(h->last.po_id, 3);
	map[3] = DETECT_PO_GONE;
	detect_rate_ops.remap_po(h->st, map, 8);
	h->attacks = 0;
	detect_rate_ops.feed(h->st, &r);
	assert_int_equal(h->attacks, 0);		/* forgotten: a new series */
	h_free(h);
}

static void
test_forget_po(void **state)
{
	struct harness *h = h_new(false);

	h_run(h, 0, 600, 1000);
	detect_rate_ops.forget_po(h->st, 7);
	h_run(h, 600, 700, 5000);	/* a new series: learning again */
	assert_int_equal(h->attacks, 0);
	h_free(h);
}

/* Silent series learn their zero baseline while there is room, but give
 * it up to traffic: after more silent POs than the cap, a PO whose traffic
 * starts later still learns and detects, and the silent ones are gone. */
static void
test_silent_series_yield_to_traffic(void **state)
{
	struct harness *h = h_new(false);
	uint8_t *blob;
	size_t len, len_one;

	for (uint32_t po = 100; po < 100 + LIMIT_DETECT_SERIES + 10; po++) {
		struct reading r = { .time_ns = T0 + NS, .interval_ns = NS, .po_id = po,
			.proto = PROTO_TCP, .dir = DIR_IN };

		detect_rate_ops.feed(h->st, &r);
	}
	assert_int_equal(detect_rate_ops.save(h->st, &blob, &len), 0);
	free(blob);
	h_run(h, 0, 600, 1000);
	assert_int_equal(h->learned, 1);
	assert_int_equal(detect_rate_ops.save(h->st, &blob, &len_one), 0);
	free(blob);
	assert_true(len_one < len / 1000);	/* one series left: the one with traffic */
	h_run(h, 600, 603, 2000);
	assert_int_equal(h->attacks, 1);
	h_free(h);
}

/* Protection from the first hour: during learning a flood above
 * learn_ratio x the short learning baseline is declared; a 2x flood stays
 * under learn_ratio. */
static void
test_learning_catches_surges(void **state)
{
	struct harness *h = h_new(false);

	h->p.rate.learn_s = 86400;
	h_run(h, 0, 100, 1000);
	h_run(h, 100, 160, 2000);	/* 2x: below learn_ratio (2.5) */
	assert_int_equal(h->attacks, 0);
	h_run(h, 160, 400, 1000);
	h_run(h, 400, 410, 5000);	/* 5x flood in the first minutes */
	assert_true(h->attacks > 0);
	assert_int_equal(h->learned, 0);
	assert_true(h->last.pps > 4000 && h->last.expected_pps < 1500);
	h_free(h);
}

/* A sustained step with the same character: +100 % is never declared and
 * becomes the baseline within rate.relearn; a 6x one (above organic_ratio)
 * is declared and re-learned within rate.relearn, so its detections stop. */
static void
test_shift_relearned(void **state)
{
	struct harness *h = h_new(false);
	unsigned n;

	h_run_benign(h, 0, 600, 1000);
	h_run_benign(h, 600, 600 + 660, 2000);	/* +100 % for good */
	assert_int_equal(h->attacks, 0);
	n = h->suspects;
	h_run_benign(h, 1260, 1400, 2000);
	assert_int_equal(h->suspects, n);	/* the new level is normal now */
	h_run_benign(h, 1400, 1400 + 660, 12000);	/* 6x the new level, same character */
	assert_true(h->attacks > 0);
	n = h->attacks;
	h_run_benign(h, 2060, 2200, 12000);
	assert_int_equal(h->attacks, n);	/* re-learned: no more detections */
	/* ... and the new level still sees a flood */
	h_feed_mix(h, T0 + 2201 * NS, NS, 12000, 24000);
	h_feed_mix(h, T0 + 2202 * NS, NS, 12000, 24000);
	h_feed_mix(h, T0 + 2203 * NS, NS, 12000, 24000);
	assert_true(h->attacks > n);
	h_free(h);
}

/* A flood (tiny packets, a flow per packet) is never re-learned: it stays
 * declared through several rate.relearn windows. */
static void
test_flood_not_relearned(void **state)
{
	struct harness *h = h_new(false);
	unsigned n;

	h_run(h, 0, 600, 1000);
	h_run(h, 600, 600 + 3 * 600 + 10, 3000);
	n = h->attacks;
	assert_true(n > 1700);
	h_run(h, 2410, 2420, 3000);
	assert_int_equal(h->attacks, n + 10);
	h_free(h);
}

/* An organic surge below organic_ratio is suspected, never declared; the
 * same size with a flood's character is declared. */
static void
test_organic_surge(void **state)
{
	struct harness *h = h_new(false);

	h_run_benign(h, 0, 600, 1000);
	h_run_benign(h, 600, 780, 2000);	/* a 2x flash crowd for 3 minutes */
	assert_int_equal(h->attacks, 0);
	assert_true(h->suspects > 0);
	h_run_benign(h, 780, 1400, 1000);
	h_run(h, 1400, 1403, 2000);		/* a 2x flood */
	assert_int_equal(h->attacks, 1);
	h_free(h);
}

/* One TCP reading: `benign` packets/s (+-50 %: a busy web server's seconds
 * vary that much) of 60 bytes with `syn_share` of them SYNs (each opening a
 * flow), `syns` packets/s of SYN flood and `acks` packets/s of ACK flood
 * from random ports (40 bytes each, a new flow each). */
static void
h_feed_tcp(struct harness *h, unsigned s, double benign, double syn_share, double syns,
    double acks)
{
	double pk = benign * (1 + 0.5 * h_noise(h));
	struct reading r = {
		.time_ns = T0 + (uint64_t)(s + 1) * NS,
		.interval_ns = NS,
		.po_id = 7,
		.proto = PROTO_TCP,
		.dir = DIR_IN,
		.packets = (uint64_t)(pk + syns + acks),
		.bytes = (uint64_t)(pk * 60 + (syns + acks) * 40),
		.syns = (uint64_t)(pk * syn_share + syns),
		.flows = (uint64_t)(pk * syn_share + syns + acks),
	};

	detect_rate_ops.feed(h->st, &r);
}

/* A bursty series: 30 packets/s, 12 % SYNs, and every 30 s a download's
 * two-second ACK train of 150 packets/s (2 % SYNs): 5x its mean. */
static void
h_run_bursty2(struct harness *h, unsigned from, unsigned to, double syns, double acks)
{
	for (unsigned s = from; s < to; s++) {
		bool burst = s % 30 == 17 || s % 30 == 18;

		h_feed_tcp(h, s, burst ? 150 : 30, burst ? 0.02 : 0.12, syns, acks);
	}
}

static void
h_run_bursty(struct harness *h, unsigned from, unsigned to, double syns)
{
	h_run_bursty2(h, from, to, syns, 0);
}

static void
test_bursty_series_learned(void **state)
{
	struct harness *h = h_new(false);
	unsigned learning;

	h->p.rate.learn_s = 1800;
	h_run_bursty(h, 0, 1800, 0);
	learning = h->attacks;
	h_run_bursty(h, 1800, 5400, 0);
	assert_int_equal(h->attacks, learning);	/* its usual bursts are not attacks */
	h_free(h);

	h = h_new(false);			/* without the learned peaks they are */
	h->p.rate.learn_s = 1800;
	h->p.rate.peaks = false;
	h_run_bursty(h, 0, 1800, 0);
	learning = h->attacks;
	h_run_bursty(h, 1800, 5400, 0);
	assert_true(h->attacks > learning);
	h_free(h);
}

static void
test_small_syn_flood_on_bursty_series(void **state)
{
	struct harness *h = h_new(false);
	unsigned before;

	h->p.rate.learn_s = 1800;
	h_run_bursty(h, 0, 1800, 0);
	before = h->attacks;
	h_run_bursty(h, 1800, 2400, 0);
	assert_int_equal(h->attacks, before);
	/* +30 SYNs/s: 2x the series' packets, under its usual peaks, but
	 * SYNs go from ~4/s to ~34/s */
	h_run_bursty(h, 2400, 2410, 30);
	assert_true(h->attacks > before);
	assert_non_null(strstr(h->last.reason, "SYNs"));
	h_free(h);
}

/* +60 ACKs/s from random ports (a new flow each): 2.6x the series' mean
 * packets, inside its usual download bursts (150/s), with its packet size
 * and no SYNs; only its new flows (~4/s to ~64/s) tell it apart. Without
 * flow counts (sFlow) it stays unseen. */
static void
test_ack_flood_on_bursty_series(void **state)
{
	struct harness *h = h_new(false);
	unsigned before;

	h->p.rate.learn_s = 1800;
	h_run_bursty(h, 0, 2400, 0);
	before = h->attacks;
	for (unsigned s = 2400; s < 2410 && h->attacks == before; s++)
		h_run_bursty2(h, s, s + 1, 0, 60);
	assert_true(h->attacks > before);
	assert_non_null(strstr(h->last.reason, "new flows"));	/* the declaring reading's */
	h_free(h);

	h = h_new(false);
	h->p.rate.learn_s = 1800;
	h_run_bursty(h, 0, 2400, 0);
	before = h->attacks;
	for (unsigned s = 2400; s < 2410; s++) {	/* the same flood, no flows counted */
		bool burst = s % 30 == 17 || s % 30 == 18;
		double pk = burst ? 150 : 30;
		struct reading r = {
			.time_ns = T0 + (uint64_t)(s + 1) * NS, .interval_ns = NS, .po_id = 7,
			.proto = PROTO_TCP, .dir = DIR_IN, .packets = (uint64_t)(pk + 60),
			.bytes = (uint64_t)(pk * 60 + 60 * 40),
			.syns = (uint64_t)(pk * (burst ? 0.02 : 0.12)),
		};

		detect_rate_ops.feed(h->st, &r);
	}
	assert_int_equal(h->attacks, before);
	h_free(h);
}

/*
 * State saved before packet input counted new flows (MDR4): a share learned
 * there is 0. Loaded, the share is unknown (not 0) and re-learned from the
 * next readings, so the series' own new flows are not a flood's; once
 * learned, an ACK flood of new flows is found again. The same blob as MDR5
 * keeps its share as saved.
 */
static void
test_blob_before_flow_counting(void **state)
{
	struct harness *a = h_new(false), *b = h_new(false);
	uint8_t *blob, *blob2;
	size_t len, len2;
	unsigned before;

	a->p.rate.learn_s = b->p.rate.learn_s = 1800;
	for (unsigned s = 0; s < 2400; s++) {	/* learned from input without flows */
		bool burst = s % 30 == 17 || s % 30 == 18;
		double pk = (burst ? 150 : 30) * (1 + 0.5 * h_noise(a));
		struct reading r = {
			.time_ns = T0 + (uint64_t)(s + 1) * NS, .interval_ns = NS, .po_id = 7,
			.proto = PROTO_TCP, .dir = DIR_IN, .packets = (uint64_t)pk,
			.bytes = (uint64_t)(pk * 60), .syns = (uint64_t)(pk * (burst ? 0.02 : 0.12)),
		};

		detect_rate_ops.feed(a->st, &r);
	}
	assert_int_equal(detect_rate_ops.save(a->st, &blob, &len), 0);
	assert_memory_equal(blob, "MDR5", 4);
	blob[3] = '4';
	assert_int_equal(detect_rate_ops.load(b->st, blob, len), 0);
	/* saved again: MDR5 with the share unknown (-1), and that loads too */
	assert_int_equal(detect_rate_ops.save(b->st, &blob2, &len2), 0);
	assert_int_equal(len, len2);
	assert_int_equal(detect_rate_ops.load(b->st, blob2, len2), 0);
	b->rng = a->rng;
	before = b->attacks;
	h_run_bursty(b, 2400, 3600, 0);			/* now with flows: its own */
	assert_int_equal(b->attacks, before);
	for (unsigned s = 3600; s < 3610 && b->attacks == before; s++)
		h_run_bursty2(b, s, s + 1, 0, 60);
	assert_true(b->attacks > before);
	assert_non_null(strstr(b->last.reason, "new flows"));
	/* hostile: a negative share other than -1 (unknown) is refused; the
	   series' last two counts are its new flows and fragments */
	assert_memory_equal(blob2 + len2 - 16, "\xbf\xf0\0\0\0\0\0\0", 8);	/* -1.0 */
	blob2[len2 - 16] = 0xc0;
	blob2[len2 - 15] = 0x00;					/* -2.0 */
	assert_int_equal(detect_rate_ops.load(a->st, blob2, len2), -EINVAL);
	free(blob);
	free(blob2);
	h_free(a);
	h_free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_learning_declares_nothing),
		cmocka_unit_test(test_learning_catches_surges),
		cmocka_unit_test(test_shift_relearned),
		cmocka_unit_test(test_flood_not_relearned),
		cmocka_unit_test(test_organic_surge),
		cmocka_unit_test(test_bursty_series_learned),
		cmocka_unit_test(test_small_syn_flood_on_bursty_series),
		cmocka_unit_test(test_ack_flood_on_bursty_series),
		cmocka_unit_test(test_persistence_and_strength),
		cmocka_unit_test(test_small_and_short_are_ignored),
		cmocka_unit_test(test_noise_floor),
		cmocka_unit_test(test_frozen_baseline_and_hysteresis),
		cmocka_unit_test(test_reset),
		cmocka_unit_test(test_port_series),
		cmocka_unit_test(test_profile_expects_morning_rise),
		cmocka_unit_test(test_blob_round_trip),
		cmocka_unit_test(test_blob_hostile),
		cmocka_unit_test(test_blob_before_flow_counting),
		cmocka_unit_test(test_remap_po),
		cmocka_unit_test(test_forget_po),
		cmocka_unit_test(test_silent_series_yield_to_traffic),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
