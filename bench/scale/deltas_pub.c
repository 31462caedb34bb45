/*
 * bench_deltas_pub: synthetic collectors for bench/scale/bench_scale.py
 * (docs/scale.md, "Measured").
 *
 *   bench_deltas_pub pub URL SHARDS NPOS COLLECTORS SECONDS
 *     Every wall-clock second, for SECONDS seconds, publish one deltas
 *     message per collector ("bc<COLLECTORS>-<n>") and shard to moat.deltas.<shard>
 *     (core NATS publishes, which the stream stores): each PO "po-<i>" of
 *     the shard (i < NPOS) with 4 readings (TCP/UDP, in/out) and one busy
 *     host, as a collect instance would. Prints what it sent per second.
 *   bench_deltas_pub local SHARDS NPOS COLLECTORS SECONDS
 *     The reference: the same messages decoded and merged in this process
 *     (cluster/deltas + cluster/merge, no NATS, no detection), as fast as
 *     it goes for SECONDS; prints readings per second.
 *
 * Output: one line "key value ..." for the script to parse.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nats/nats.h>

#include "engine/cluster/conf.h"
#include "engine/cluster/deltas.h"
#include "engine/cluster/merge.h"

#define NS UINT64_C(1000000000)

static uint64_t
now_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

/* Build collector col's message for shard at wall time t; returns readings. */
static unsigned
build(struct deltas_enc *e, uint32_t shards, unsigned npos, unsigned ncol, unsigned col,
    uint32_t shard,
    uint64_t seq, uint64_t t, const uint8_t **ret, size_t *ret_len)
{
	struct deltas_hdr h = { .shard = (uint16_t)shard, .seq = seq, .time_ns = t,
		.interval_ns = NS };
	char name[32];
	unsigned n = 0;

	/* A name per run size: a collector's sequence starts at 1 with it. */
	snprintf(h.instance, sizeof(h.instance), "bc%u-%u", ncol, col);
	deltas_enc_begin(e, &h);
	for (unsigned i = 0; i < npos; i++) {
		snprintf(name, sizeof(name), "po-%u", i);
		if (cluster_shard_of(name, shards) != shard)
			continue;
		for (unsigned k = 0; k < 4; k++) {
			struct reading r = { .proto = (uint8_t)(k & 1 ? PROTO_UDP : PROTO_TCP),
				.dir = (uint8_t)(k >> 1), .packets = 100 + i, .bytes = 100000 + i,
				.flows = 10, .syns = k & 1 ? 0 : 5 };

			deltas_enc_add(e, name, &r);
			n++;
		}
	}
	for (unsigned i = 0; i < npos; i++) {
		struct deltas_host dh = { .kind = DELTAS_TOP_DST, .proto = PROTO_UDP, .alen = 4,
			.addr = { 198, 51, 100, (uint8_t)col }, .packets = 100, .bytes = 10000 };

		snprintf(name, sizeof(name), "po-%u", i);
		if (cluster_shard_of(name, shards) == shard)
			deltas_enc_host(e, name, &dh);
	}
	if (deltas_enc_finish(e, ret, ret_len) < 0) {
		fprintf(stderr, "encoding failed\n");
		exit(1);
	}
	return n;
}

static int
run_pub(const char *url, uint32_t shards, unsigned npos, unsigned ncol, unsigned seconds)
{
	natsConnection *nc = NULL;
	struct deltas_enc e = { 0 };
	uint64_t *seq = calloc((size_t)ncol * shards, sizeof(*seq));
	uint64_t msgs = 0, readings = 0, bytes = 0, start, late = 0;
	natsStatus s;
	char subj[64];

	if (seq == NULL || (s = natsConnection_ConnectTo(&nc, url)) != NATS_OK) {
		fprintf(stderr, "connect %s failed\n", url);
		return 1;
	}
	start = now_ns(CLOCK_MONOTONIC);
	for (unsigned sec = 0; sec < seconds; sec++) {
		uint64_t due = start + (uint64_t)sec * NS, t;

		while ((t = now_ns(CLOCK_MONOTONIC)) < due) {
			struct timespec ts = { 0, (long)(due - t) };

			nanosleep(&ts, NULL);
		}
		t = now_ns(CLOCK_REALTIME);
		for (uint32_t sh = 0; sh < shards; sh++)
			for (unsigned c = 0; c < ncol; c++) {
				const uint8_t *p;
				size_t len;

				readings += build(&e, shards, npos, ncol, c, sh, ++seq[c * shards + sh], t, &p,
				    &len);
				snprintf(subj, sizeof(subj), "moat.deltas.%u", sh);
				if (natsConnection_Publish(nc, subj, p, (int)len) != NATS_OK) {
					fprintf(stderr, "publish failed\n");
					return 1;
				}
				msgs++;
				bytes += len;
			}
		natsConnection_Flush(nc);
		if (now_ns(CLOCK_MONOTONIC) > due + NS)
			late++;		/* the publisher itself could not keep the pace */
	}
	printf("pub msgs %" PRIu64 " readings %" PRIu64 " bytes %" PRIu64 " seconds %u behind %" PRIu64
	    "\n", msgs, readings, bytes, seconds, late);
	natsConnection_Destroy(nc);
	nats_Close();
	deltas_enc_free(&e);
	free(seq);
	return 0;
}

struct local {
	struct merge *m;
	uint32_t shards;
	uint32_t shard;
	uint64_t fed;
};

static void
local_reading(void *ctx, const char *po, const struct reading *r)
{
	struct local *l = ctx;
	struct reading w = *r;

	w.po_id = (uint32_t)strtoul(po + 3, NULL, 10);
	if (cluster_shard_of(po, l->shards) == l->shard)
		merge_add(l->m, &w);
}

static void
local_host(void *ctx, const char *po, const struct deltas_host *h)
{
	struct local *l = ctx;

	merge_top(l->m, (uint32_t)strtoul(po + 3, NULL, 10), h);
}

static void
local_fed(void *ctx, const struct reading *r)
{
	struct local *l = ctx;

	(void)r;
	l->fed++;
}

/* Offset of time_ns in a message (deltas.h: magic, version, flags, shard,
 * seq): patched each simulated second, so the codec's work is all that is
 * timed. */
#define TIME_AT 14u

static int
run_local(uint32_t shards, unsigned npos, unsigned ncol, unsigned seconds)
{
	struct local l = { .shards = shards };
	struct merge_sink ms = { .reading = local_fed, .ctx = &l };
	const struct deltas_sink ds = { .reading = local_reading, .host = local_host };
	struct deltas_enc e = { 0 };
	size_t nmsg = (size_t)ncol * shards;
	uint8_t **msg = calloc(nmsg, sizeof(*msg));
	size_t *len = calloc(nmsg, sizeof(*len));
	unsigned *nread = calloc(nmsg, sizeof(*nread));
	uint64_t start, el, in = 0, t0 = now_ns(CLOCK_REALTIME), mono = 0;
	unsigned sec = 0;

	if (msg == NULL || len == NULL || nread == NULL || merge_new(shards, NS, 3 * NS, &ms, &l.m) < 0)
		return 1;
	for (uint32_t sh = 0; sh < shards; sh++)
		for (unsigned c = 0; c < ncol; c++) {
			const uint8_t *p;
			size_t i = c * shards + sh;

			nread[i] = build(&e, shards, npos, ncol, c, sh, 1, t0, &p, &len[i]);
			if ((msg[i] = malloc(len[i])) == NULL)
				return 1;
			memcpy(msg[i], p, len[i]);
		}
	start = now_ns(CLOCK_MONOTONIC);
	do {
		uint64_t t = t0 + (uint64_t)sec * NS;

		for (uint32_t sh = 0; sh < shards; sh++)
			for (unsigned c = 0; c < ncol; c++) {
				size_t i = c * shards + sh;
				struct deltas_hdr h;

				for (unsigned k = 0; k < 8; k++)
					msg[i][TIME_AT + k] = (uint8_t)(t >> (56 - 8 * k));
				if (deltas_decode(msg[i], len[i], &h, NULL, NULL) < 0)
					return 1;
				l.shard = sh;
				if (merge_begin(l.m, h.instance, sh, h.time_ns, h.interval_ns, mono) == 0)
					(void)deltas_decode(msg[i], len[i], &h, &ds, &l);
				in += nread[i];
			}
		merge_flush(l.m, mono, false);
		mono += NS / 100;
		sec++;
		el = now_ns(CLOCK_MONOTONIC) - start;
	} while (el < (uint64_t)seconds * NS);
	merge_flush(l.m, mono, true);
	printf("local readings_in %" PRIu64 " fed %" PRIu64 " elapsed_ns %" PRIu64
	    " readings_per_s %.0f msgs_per_s %.0f\n", in, l.fed, el, (double)in * 1e9 / (double)el,
	    (double)sec * (double)nmsg * 1e9 / (double)el);
	merge_free(l.m);
	deltas_enc_free(&e);
	for (size_t i = 0; i < nmsg; i++)
		free(msg[i]);
	free(msg);
	free(len);
	free(nread);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc == 7 && strcmp(argv[1], "pub") == 0)
		return run_pub(argv[2], (uint32_t)atoi(argv[3]), (unsigned)atoi(argv[4]),
		    (unsigned)atoi(argv[5]), (unsigned)atoi(argv[6]));
	if (argc == 6 && strcmp(argv[1], "local") == 0)
		return run_local((uint32_t)atoi(argv[2]), (unsigned)atoi(argv[3]),
		    (unsigned)atoi(argv[4]), (unsigned)atoi(argv[5]));
	fprintf(stderr, "usage: bench_deltas_pub pub URL SHARDS NPOS COLLECTORS SECONDS\n"
	    "       bench_deltas_pub local SHARDS NPOS COLLECTORS SECONDS\n");
	return 2;
}
