/* Unit tests for collect/pcapin: a known capture (data/collect/gen.py capture()). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>

#include "collect/pcapin.h"
#include "collect_test.h"

#define T0 1700000000000000000ull
#define SEC 1000000000ull

struct ticks {
	unsigned n;
	uint64_t at[16];
	unsigned recs_before[16];
	struct ct_sink *sink;
};

static void
on_time(void *ctx, uint64_t boundary)
{
	struct ticks *t = ctx;

	if (t->n < 16) {
		t->recs_before[t->n] = t->sink->n;
		t->at[t->n++] = boundary;
	}
}

static struct pcapin *
open_mix(void)
{
	char path[1024], err[256];
	const char *dir = getenv("MOAT_TEST_DATA");
	struct pcapin *p = NULL;

	snprintf(path, sizeof(path), "%s/collect/mix.pcap", dir ? dir : "data");
	assert_int_equal(pcapin_open_file(path, &p, err, sizeof(err)), 0);
	return p;
}

static void
test_known_mix(void **state)
{
	static struct ct_sink sink;
	struct ticks t = { .sink = &sink };
	struct pcapin_hooks h = { .sink = ct_sink_fn, .sink_ctx = &sink, .on_time = on_time,
		.time_ctx = &t, .step_ns = SEC, .location = 5 };
	struct pcapin_stats st = { 0 };
	struct pcapin *p = open_mix();

	assert_int_equal(pcapin_run(p, &h, 0, &st), 1);
	/* the end closes the last packet's second too (packet time replay) */
	assert_int_equal(t.n, 3);
	pcapin_end_time(p, &h);
	pcapin_close(p);
	assert_int_equal(t.n, 4);
	assert_int_equal(t.at[3], T0 + 4 * SEC);
	assert_int_equal(t.recs_before[3], 4);
	assert_int_equal(st.packets, 6);
	assert_int_equal(st.decoded, 4);
	assert_int_equal(st.not_ip, 1);
	assert_int_equal(st.malformed, 1);
	assert_int_equal(st.bytes, 40 + 140 + 68 + 28);
	assert_int_equal(sink.n, 4);
	assert_int_equal(sink.r[0].syns, 1);
	assert_int_equal(sink.r[1].syns, 0);
	assert_int_equal(sink.r[0].location, 5);
	assert_int_equal(sink.r[0].sampling, 1);
	assert_int_equal(sink.r[0].time_ns, T0);
	assert_int_equal(sink.r[2].proto, 17);
	/* packets at 0, .6, 1.2, 1.8, 2.4, 3.0 s: boundaries 1, 2, 3 s (and 4 s at the end), each
	   announced after the records before it were flushed */
	assert_int_equal(t.n, 4);
	assert_int_equal(t.at[0], T0 + SEC);
	assert_int_equal(t.recs_before[0], 2);
	assert_int_equal(t.at[2], T0 + 3 * SEC);
	assert_int_equal(st.first_ns, T0);
	assert_int_equal(st.last_ns, T0 + 3 * SEC);
}

static void
test_max_packets_resumes(void **state)
{
	static struct ct_sink sink;
	struct pcapin_hooks h = { .sink = ct_sink_fn, .sink_ctx = &sink };
	struct pcapin_stats st = { 0 };
	struct pcapin *p = open_mix();

	assert_int_equal(pcapin_run(p, &h, 2, &st), 0);
	assert_int_equal(st.packets, 2);
	assert_int_equal(pcapin_run(p, &h, 0, &st), 1);
	assert_int_equal(st.packets, 6);
	pcapin_close(p);
}

static void
test_first_ns_and_no_end_time(void **state)
{
	char path[1024], err[256];
	const char *dir = getenv("MOAT_TEST_DATA");
	struct pcapin_hooks h = { 0 };
	struct pcapin *p = open_mix();
	uint64_t first = 0;

	pcapin_end_time(p, &h);		/* no hook, nothing read: a no-op */
	pcapin_close(p);
	snprintf(path, sizeof(path), "%s/collect/mix.pcap", dir ? dir : "data");
	assert_int_equal(pcapin_first_ns(path, &first, err, sizeof(err)), 0);
	assert_int_equal(first, T0);
	assert_int_equal(pcapin_first_ns("/nonexistent/x.pcap", &first, err, sizeof(err)), -ENOENT);
}

static void
test_stop_ends_a_paced_replay(void **state)
{
	static struct ct_sink sink;
	_Atomic bool stop = true;
	struct pcapin_hooks h = { .sink = ct_sink_fn, .sink_ctx = &sink, .realtime = true,
		.speed = 1, .stop = &stop };
	struct pcapin_stats st = { 0 };
	struct pcapin *p = open_mix();

	sink.n = 0;
	assert_int_equal(pcapin_run(p, &h, 0, &st), 0);	/* not the end: stopped */
	assert_int_equal(sink.n, 0);
	pcapin_close(p);
}

static void
test_memory_and_bad_input(void **state)
{
	static uint8_t buf[4096];
	static struct ct_sink sink;
	size_t n = ct_load("mix.pcap", buf, sizeof(buf));
	struct pcapin_hooks h = { .sink = ct_sink_fn, .sink_ctx = &sink };
	struct pcapin_stats st = { 0 };
	struct pcapin *p = NULL;
	char err[256];

	assert_int_equal(pcapin_open_mem(buf, n, &p, err, sizeof(err)), 0);
	assert_int_equal(pcapin_run(p, &h, 0, &st), 1);
	pcapin_close(p);
	assert_int_equal(st.decoded, 4);
	/* cut inside the last record: the ones before still arrive, then -EIO */
	memset(&st, 0, sizeof(st));
	assert_int_equal(pcapin_open_mem(buf, n - 3, &p, err, sizeof(err)), 0);
	assert_int_equal(pcapin_run(p, &h, 0, &st), -EIO);
	assert_int_equal(st.packets, 5);
	pcapin_close(p);
	assert_int_equal(pcapin_open_mem("not a pcap file at all", 22, &p, err, sizeof(err)),
	    -EINVAL);
	assert_int_equal(pcapin_open_file("/nonexistent/x.pcap", &p, err, sizeof(err)), -ENOENT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_mix),
		cmocka_unit_test(test_max_packets_resumes),
		cmocka_unit_test(test_first_ns_and_no_end_time),
		cmocka_unit_test(test_stop_ends_a_paced_replay),
		cmocka_unit_test(test_memory_and_bad_input),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
