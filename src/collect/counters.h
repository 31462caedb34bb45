/*
 * counters: traffic per protected object (PO), protocol class and
 * direction, fed by every collector, read every interval.
 *
 * Records are matched to POs by longest-prefix match: the destination for
 * inbound traffic, the source for outbound (a record between two POs counts
 * for both). Counts are scaled by the record's sampling rate. For every
 * (PO, {tcp,udp,icmp,other}, {in,out}) the counters keep bytes, packets,
 * flows, SYNs and fragments; for TCP and UDP also per configured port of the PO (inbound:
 * the destination port, outbound: the source port — the PO's service port
 * either way); per network location (exporter / capture point) the same,
 * summed over all POs; and, per interval, the inbound traffic of every
 * destination host inside each PO per protocol (at most LIMIT_COLLECT_HOSTS
 * (PO, protocol, host) entries per shard) so an attack names its targets
 * and per-host thresholds can be checked.
 *
 * Flows: a flow record counts one flow (times its sampling). Unsampled
 * packet input (pcap, AF_PACKET; sampling 1) counts a new flow for every
 * packet whose ordered 5-tuple (protocol, addresses, ports) was not seen in
 * the last COUNTERS_FLOW_AGE_S to 2 x COUNTERS_FLOW_AGE_S of packet time,
 * per writer shard, in a fixed bitmap of 2 x LIMIT_COLLECT_FLOW_BITS bits
 * under a random key per shard (see counters.c): a flood of spoofed sources costs
 * no memory, and the count stays an unbiased estimate (each counted flow
 * weighs the inverse of the chance that a new one finds its bits clear)
 * when collisions start to hide flows. Flows of traffic that matches no
 * PO are not counted. Sampled packets (sFlow) count no flows: a 1-in-N
 * sample sees a share of the flows that depends on their length.
 *
 * Threads: every writer thread owns one shard (counters_shard()); the add
 * path takes no lock, allocates nothing and writes only its shard's
 * cumulative counters. counters_tick() runs on one reader thread (the
 * engine's), sums the shards, turns the change since the last tick into
 * struct readings, and updates rates: the last interval, and exponential
 * moving averages over 10 s and 60 s. The query functions run on that same
 * reader thread.
 *
 * The LPM is published with counters_set_lpm(); a replaced lpm may be freed
 * once counters_lpm_idle() says no shard still uses it. The PO's ports are
 * published with counters_set_ports() (the counters own those tables and
 * free a replaced one once no shard uses it).
 */
#ifndef MOAT_ENGINE_COUNTERS_H
#define MOAT_ENGINE_COUNTERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collect/flowrec.h"
#include "common/lpm.h"
#include "collect/reading.h"

/* How long a quiet 5-tuple of packet input is remembered as a flow (one to
   two of these); NetFlow's usual inactive timeout. */
#define COUNTERS_FLOW_AGE_S 15u

enum counters_field {
	CNT_BYTES,
	CNT_PACKETS,
	CNT_FLOWS,
	CNT_SYNS,
	CNT_FRAGS,
	CNT__COUNT
};

enum counters_window { CNT_W1, CNT_W10, CNT_W60, CNT_W__COUNT };

struct counters;
struct counters_shard;

/*
 * Counters for PO ids below max_pos, locations below max_locations, with
 * nshards writer shards (>= 1). NULL + errno. Memory is calloc'd and only
 * touched for POs that see traffic.
 */
struct counters *counters_new(uint32_t max_pos, uint32_t max_locations, unsigned nshards);
void counters_free(struct counters *c);		/* accepts NULL */
unsigned counters_nshards(const struct counters *c);
struct counters_shard *counters_shard(struct counters *c, unsigned i);

/* Publish the LPM (values are PO ids) used by every shard from its next
   batch on. NULL: nothing matches. */
void counters_set_lpm(struct counters *c, const struct lpm *l);
/* True when no shard is inside a batch that may still use `old`. */
bool counters_lpm_idle(const struct counters *c, const struct lpm *old);
/* Readings are produced for PO ids below n (the engine's id limit). */
void counters_set_npos(struct counters *c, uint32_t n);

/* The configured ports of one PO, for counters_set_ports(). */
struct counters_po_ports {
	uint32_t po;
	const uint16_t *ports;	/* ascending, unique, none 0 */
	size_t nports;		/* <= LIMIT_PO_PORTS */
};

/*
 * Publish the per-port series (reader thread, like counters_tick()): the
 * given POs (ascending ids below max_pos) with their ports; every other PO
 * has none. A series that stays (same PO id and port) keeps its totals and
 * rates. -EINVAL for an unsorted list or a bad port, -ENOMEM; on failure
 * the old table stays.
 */
int counters_set_ports(struct counters *c, const struct counters_po_ports *list, size_t n);

/* Count a batch (writer side; one thread per shard). */
void counters_add(struct counters_shard *s, const struct flow_rec *recs, unsigned n);
/* The same, as a flowrec_sink_fn whose ctx is the shard. */
void counters_sink(void *shard, const struct flow_rec *recs, unsigned n);

typedef void (*counters_reading_fn)(void *ctx, const struct reading *r);

/*
 * A sampled inbound record of a PO, for the attacks' top sources and source
 * ports (the heavy-hitter sketches live in the decision point, on the
 * engine's thread). About one inbound record in COUNTERS_OBS_EVERY is
 * sampled, at most LIMIT_COLLECT_OBS per shard and interval.
 */
#define COUNTERS_OBS_EVERY 16u

struct counters_obs {
	uint32_t po;
	uint8_t proto;			/* enum proto_class */
	struct ipaddr src, dst;
	uint16_t sport, dport;
	uint64_t bytes, packets;	/* scaled by the record's sampling */
};

typedef void (*counters_obs_fn)(void *ctx, const struct counters_obs *o);

/* Who gets the interval's samples at each tick (NULL: nobody; sampling
 * still runs, it costs a counter per record). */
void counters_set_observer(struct counters *c, counters_obs_fn fn, void *ctx);

/*
 * Close the interval ending at now_ns: for every PO below the npos limit,
 * protocol and direction, call fn with the interval's scaled totals
 * (port 0 = all ports), then for every configured port of a PO, TCP and
 * UDP and both directions, a reading with that port; then update rates and
 * the host breakdown. fn may be NULL. The first call only starts the clock.
 */
void counters_tick(struct counters *c, uint64_t now_ns, counters_reading_fn fn, void *ctx);

/* One (PO or location, protocol, direction) as of the last tick. */
struct counters_stat {
	uint64_t total[CNT__COUNT];	/* since start */
	uint64_t last[CNT__COUNT];	/* during the last interval */
	double rate[CNT_W__COUNT][CNT__COUNT];	/* per second: last interval, EMA 10 s, EMA 60 s */
};

int counters_po_stat(const struct counters *c, uint32_t po, enum proto_class proto,
    enum direction dir, struct counters_stat *ret);	/* -ERANGE */
int counters_location_stat(const struct counters *c, uint32_t loc, enum proto_class proto,
    enum direction dir, struct counters_stat *ret);	/* -ERANGE */
/* One configured port's series; -ERANGE (bad PO id, protocol or
   direction), -ENOENT (not a configured port of the PO, or not TCP/UDP). */
int counters_port_stat(const struct counters *c, uint32_t po, enum proto_class proto,
    enum direction dir, uint16_t port, struct counters_stat *ret);
/* Traffic that matched no PO, since start (summed over protocols): bytes, packets. */
void counters_unmatched(const struct counters *c, uint64_t *ret_bytes, uint64_t *ret_packets);

struct counters_host {
	struct ipaddr addr;
	/* scaled, last interval, inbound */
	uint64_t bytes, packets, flows, syns;
};

/* The busiest destination hosts of po in the last interval, by bytes, over
   all protocols; returns how many were written (<= max). */
size_t counters_top_hosts(const struct counters *c, uint32_t po, struct counters_host *out,
    size_t max);
/* The same for one protocol. */
size_t counters_top_hosts_proto(const struct counters *c, uint32_t po, enum proto_class proto,
    struct counters_host *out, size_t max);

typedef void (*counters_host_fn)(void *ctx, uint32_t po, enum proto_class proto,
    const struct counters_host *h);
/* Every (PO, protocol, destination host) of the last interval, in no order. */
void counters_walk_hosts(const struct counters *c, counters_host_fn fn, void *ctx);
/* The last interval: its end (the now_ns of the last counters_tick()) and
   its length; 0 before the second tick. */
uint64_t counters_last_tick_ns(const struct counters *c);
uint64_t counters_interval_ns(const struct counters *c);
/* Host entries dropped in the last interval because a table was full. */
uint64_t counters_hosts_dropped(const struct counters *c);

/* The class of an IP protocol number. */
enum proto_class counters_proto_class(uint8_t proto);

#endif
