/*
 * afpacket: live capture on an interface with AF_PACKET TPACKET_V3 rings.
 *
 * Each of `nthreads` workers owns a socket with its own mmap'd ring; with
 * more than one worker the sockets join one PACKET_FANOUT group (flow hash;
 * no defragmentation, so fragments count as they cross the wire). Workers
 * decode packets (decode.h) into flow records and hand them, in batches, to
 * their own sink context, so counting needs no lock. Kernel drop counters
 * (PACKET_STATISTICS) are read once a second and accumulated.
 * Needs CAP_NET_RAW. Descriptors are CLOEXEC and NONBLOCK.
 */
#ifndef MOAT_AFPACKET_H
#define MOAT_AFPACKET_H

#include <stdint.h>

#include "collect/flowrec.h"

struct afpacket;

struct afpacket_stats {
	uint64_t packets, decoded, not_ip, malformed, bytes;
	uint64_t kernel_packets;	/* tp_packets: what the kernel handed to the rings */
	uint64_t kernel_drops;		/* tp_drops: lost because a ring was full */
};

/*
 * Open nthreads (1..LIMIT_COLLECT_CAPTURE_THREADS) ring sockets on ifname.
 * sink_ctx[i] is worker i's context for sink. Returns -errno (-ENODEV for
 * an unknown interface, -EPERM without CAP_NET_RAW).
 */
int afpacket_open(const char *ifname, unsigned nthreads, uint32_t location,
    flowrec_sink_fn sink, void *const *sink_ctx, struct afpacket **ret);
/* Start the worker threads. */
int afpacket_start(struct afpacket *a);
/* Totals so far (any thread). */
void afpacket_stats(struct afpacket *a, struct afpacket_stats *ret);
/* Stop the workers, unmap, close; accepts NULL. */
void afpacket_close(struct afpacket *a);

#endif
