/*
 * pcapin: pcap and pcapng files (through libpcap) -> flow records, one per
 * packet, decoded by decode.h.
 *
 * Replay is driven by packet time: before handing over the first record of a
 * packet whose timestamp crosses a multiple of `step_ns`, the records read so
 * far are flushed and on_time(step boundary) is called, so a caller can move
 * a manual clock (common/clock.h) and close counter intervals exactly on
 * packet time. With `realtime` the reader sleeps to keep the recorded pace
 * (scaled by `speed`); otherwise it reads as fast as it can.
 * Supported link types: Ethernet, raw IP (DLT_RAW, IPV4, IPV6), Linux cooked
 * (SLL, SLL2); others are refused at open.
 */
#ifndef MOAT_PCAPIN_H
#define MOAT_PCAPIN_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collect/flowrec.h"

struct pcapin;

struct pcapin_hooks {
	flowrec_sink_fn sink;
	void *sink_ctx;
	void (*on_time)(void *ctx, uint64_t boundary_ns);	/* may be NULL */
	void *time_ctx;
	uint64_t step_ns;	/* 0: never call on_time */
	uint32_t location;	/* flow_rec.location of every record */
	bool realtime;
	double speed;		/* realtime pace multiplier; <= 0 means 1 */
	/* May be NULL. When it turns true a realtime wait ends within
	   PCAPIN_PACE_SLICE_NS and pcapin_run() returns 0 (a long recorded
	   gap must not hold up a stop). */
	const _Atomic bool *stop;
};

#define PCAPIN_PACE_SLICE_NS 100000000ull	/* 100 ms */

struct pcapin_stats {
	uint64_t packets;	/* read from the file */
	uint64_t decoded;	/* IP packets passed on */
	uint64_t not_ip;	/* ARP and other non-IP frames */
	uint64_t malformed;	/* IP headers that did not decode */
	uint64_t bytes;		/* layer-3 bytes of decoded packets */
	uint64_t first_ns, last_ns;	/* packet time range */
};

/* Open a file; err (>= 256 bytes) receives libpcap's message. -EINVAL,
   -ENOENT, -ENOTSUP (link type). */
int pcapin_open_file(const char *path, struct pcapin **ret, char *err, size_t errlen);
/* Open a capture held in memory (the buffer must outlive the reader). */
int pcapin_open_mem(const void *buf, size_t len, struct pcapin **ret, char *err, size_t errlen);
void pcapin_close(struct pcapin *p);	/* accepts NULL */

/*
 * Read up to max_packets packets (0 = to the end) and hand them over.
 * Returns 1 if the end of the file was reached, 0 if max_packets were read,
 * -EIO on a read error (a truncated last record is an error, after the
 * packets before it were passed on). Stats accumulate across calls.
 */
int pcapin_run(struct pcapin *p, const struct pcapin_hooks *h, uint64_t max_packets,
    struct pcapin_stats *st);

/*
 * After the last pcapin_run(): announce the step boundary that closes the
 * interval of the last packet read, so its packets are counted in an
 * interval of their own. Nothing when no packet was read or no on_time hook.
 */
void pcapin_end_time(struct pcapin *p, const struct pcapin_hooks *h);

/* The timestamp (ns) of the first packet of a file, to start a packet-time
   clock at. -ENODATA for a file without packets; open errors as above. */
int pcapin_first_ns(const char *path, uint64_t *ret_ns, char *err, size_t errlen);

#endif
