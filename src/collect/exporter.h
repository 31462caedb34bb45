/*
 * exporter: the table of flow exporters (routers, switches, probes) a
 * collector has heard from, each with its health counters, its learned
 * sampling rate, an optional configured override and the per-protocol state
 * its parser keeps (NetFlow v9/IPFIX templates, sFlow interface counters).
 *
 * An exporter is identified by (source address, source id / observation
 * domain / sFlow sub-agent, protocol). Every part of that key is chosen by
 * whoever sends the datagram, so the table defends itself:
 *  - its index is a SipHash keyed with a per-table random secret, and a
 *    lookup probes at most LIMIT_COLLECT_PROBES buckets (a key past that is
 *    refused, counted, never a long scan);
 *  - one sender address holds at most `per_sender` exporters (default
 *    LIMIT_COLLECT_EXPORTERS_PER_ADDR), so 1,024 forged source ids from one
 *    address take 16 slots, not the table;
 *  - exporters idle longer than `idle_ns` are evicted, and when the table is
 *    full the least recently seen one is evicted if it has been quiet at
 *    least `evict_quiet_ns`: a new real exporter gets in, an active one is
 *    never pushed out by a flood of new keys;
 *  - every refusal is counted per reason with the last offending sender
 *    (exporter_table_refusals()), for the health tracker and the API.
 * Which senders may export at all (the allow-list) is the caller's check,
 * before parsing; it reports its refusals here with exporter_table_refuse().
 *
 * The table is owned by one thread (the collector's); readers on other
 * threads use exporter_table_snapshot(), which copies under a lock.
 */
#ifndef MOAT_EXPORTER_H
#define MOAT_EXPORTER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/hash.h"
#include "common/prefix.h"

enum exporter_proto {
	EXPORTER_NF5,
	EXPORTER_NF9,
	EXPORTER_IPFIX,
	EXPORTER_SFLOW,
	EXPORTER_CAPTURE,	/* a capture interface or pcap file */
	EXPORTER__COUNT
};

struct exporter_health {
	uint64_t datagrams;	/* datagrams/messages accepted for parsing */
	uint64_t records;	/* flow records / samples decoded */
	uint64_t seq_gaps;	/* records (or datagrams, for v9/sFlow) missed per sequence numbers */
	uint64_t template_misses; /* data sets whose template was not (yet) known */
	uint64_t parse_errors;	/* datagrams or sets rejected as malformed */
	uint64_t bytes;		/* layer-3 bytes reported, unscaled */
	uint64_t packets;	/* packets reported, unscaled */
};

struct nftmpl_cache;
struct sflow_ifaces;

struct exporter {
	struct ipaddr addr;
	struct ipaddr sender;	/* the datagram's source (the sFlow agent may differ) */
	uint32_t domain;	/* v9 source id, IPFIX observation domain, sFlow sub-agent */
	uint8_t proto;		/* enum exporter_proto */
	uint32_t index;		/* stable slot number: the flow_rec "location" */
	uint32_t sampling;	/* learned (header / options data); 0 = not known */
	uint32_t sampling_seen;	/* sFlow: the last sample's rate; 0 = none */
	uint32_t sampling_override; /* configured; 0 = none, wins over everything */
	bool seq_valid;
	uint32_t seq_next;	/* next expected sequence number */
	uint64_t first_seen_ns, last_seen_ns;
	struct exporter_health h;
	struct nftmpl_cache *tmpl;	/* NetFlow v9 / IPFIX only, created on first use */
	struct sflow_ifaces *ifaces;	/* sFlow only, created on first use */
};

struct exporter_table;

enum exporter_refusal {
	EXPORTER_REFUSED_NOT_ALLOWED,	/* sender not on the input's allow-list */
	EXPORTER_REFUSED_SENDER_CAP,	/* sender already holds per_sender exporters */
	EXPORTER_REFUSED_FULL,		/* table full, no exporter quiet enough to evict */
	EXPORTER_REFUSED_PROBE,		/* no bucket within LIMIT_COLLECT_PROBES */
	EXPORTER_REFUSED_TCP_CAP,	/* IPFIX/TCP: sender holds its connection cap */
	EXPORTER_REFUSED_TCP_DEADLINE,	/* IPFIX/TCP: no complete message in time */
	EXPORTER_REFUSED__COUNT
};

struct exporter_refusals {
	uint64_t n[EXPORTER_REFUSED__COUNT];
	struct ipaddr last[EXPORTER_REFUSED__COUNT];	/* the last offending sender */
	uint64_t last_ns[EXPORTER_REFUSED__COUNT];
	uint64_t evicted_idle, evicted_lru;
};

struct exporter_limits {
	uint32_t per_sender;	/* 0: LIMIT_COLLECT_EXPORTERS_PER_ADDR */
	uint64_t idle_ns;	/* 0: never evicted for idleness */
	uint64_t evict_quiet_ns; /* full table: evict the LRU one if quiet this long */
};

#define EXPORTER_DEFAULT_IDLE_NS	(600ull * 1000000000u)
#define EXPORTER_DEFAULT_QUIET_NS	(60ull * 1000000000u)

/* A new empty table with a random hash key; NULL with errno on failure. */
struct exporter_table *exporter_table_new(void);
/* The same with a fixed key (tests, fuzzing: reproducible probes). */
struct exporter_table *exporter_table_new_keyed(const struct hash_key *key);
/* Frees the table, every exporter and its parser state; accepts NULL. */
void exporter_table_free(struct exporter_table *t);
void exporter_table_set_limits(struct exporter_table *t, const struct exporter_limits *l);

/*
 * Where the IPFIX parser hands moat-ins's connection events (struct
 * ipfix_conn, ipfix.h) of this table's exporters; NULL fn: nowhere. Set it
 * before the parsing thread starts, clear it only after it stopped: the
 * owner of the table (moatd's engine wiring) decides, nothing process-wide.
 */
struct ipfix_conn;
typedef void (*ipfix_conn_fn)(void *ctx, const struct ipfix_conn *ev);
void exporter_table_set_conn_sink(struct exporter_table *t, ipfix_conn_fn fn, void *ctx);
/* The sink and its context (*ret_ctx); NULL when none is set. */
ipfix_conn_fn exporter_table_conn_sink(const struct exporter_table *t, void **ret_ctx);

/*
 * Find or create the exporter for (addr, domain, proto), datagram from
 * sender (== addr but for sFlow, whose agent address is in the datagram),
 * and stamp it seen at now_ns. Returns NULL when it is refused (counted
 * with its reason; the datagram must then be dropped) or on allocation
 * failure.
 */
struct exporter *exporter_get(struct exporter_table *t, const struct ipaddr *sender,
    const struct ipaddr *addr, uint32_t domain, enum exporter_proto proto, uint64_t now_ns);

/* Evict exporters idle past the limit (the owner calls it, e.g. each second). */
void exporter_table_expire(struct exporter_table *t, uint64_t now_ns);

/* Count a refusal decided outside the table (allow-list, TCP caps). */
void exporter_table_refuse(struct exporter_table *t, enum exporter_refusal why,
    const struct ipaddr *sender, uint64_t now_ns);
const char *exporter_refusal_name(enum exporter_refusal why);

/*
 * Configure a sampling rate for every exporter from `addr` (any domain,
 * protocol), present or future. rate 0 removes the override. At most
 * LIMIT_COLLECT_EXPORTERS overrides; -ENOSPC past that.
 */
int exporter_set_override(struct exporter_table *t, const struct ipaddr *addr, uint32_t rate);

/* The rate a record from e is scaled by: override, else rec_rate if it is
   not 0, else the learned rate, else 1. */
static inline uint32_t
exporter_sampling(const struct exporter *e, uint32_t rec_rate)
{
	if (e->sampling_override)
		return e->sampling_override;
	if (rec_rate)
		return rec_rate;
	return e->sampling ? e->sampling : 1;
}

/*
 * Account a sequence number: seq is what the header says, count what the
 * datagram carries (records for v5/IPFIX, 1 for v9/sFlow datagrams). A jump
 * forward adds to seq_gaps; a jump backwards (restart, reordering) resyncs
 * without counting.
 */
void exporter_seq(struct exporter *e, uint32_t seq, uint32_t count);

/* Slots in use, and the exporter in slot i (< LIMIT_COLLECT_EXPORTERS;
   NULL for a free slot), for iteration. */
size_t exporter_count(const struct exporter_table *t);
struct exporter *exporter_at(struct exporter_table *t, size_t i);
/* Datagrams refused, all reasons. */
uint64_t exporter_table_refused(const struct exporter_table *t);

/* A copy of one exporter's public state, for other threads. */
struct exporter_info {
	struct ipaddr addr;
	uint32_t domain;
	uint8_t proto;
	uint32_t index;
	uint32_t sampling;	/* effective rate applied when records carry none */
	uint32_t sampling_seen;	/* sFlow: the rate its samples carry; 0 = none */
	uint32_t templates;	/* templates cached */
	uint64_t first_seen_ns, last_seen_ns;
	struct exporter_health h;
};

/*
 * Publish the current state for readers (the owner calls this, e.g. once a
 * second) and read it back from any thread. exporter_table_snapshot() fills
 * up to max entries and returns how many exporters there are.
 */
void exporter_table_publish(struct exporter_table *t);
size_t exporter_table_snapshot(struct exporter_table *t, struct exporter_info *out, size_t max);
/* The refusals as of the last publish, from any thread. */
void exporter_table_refusals(struct exporter_table *t, struct exporter_refusals *ret);

const char *exporter_proto_name(enum exporter_proto p);

#endif
