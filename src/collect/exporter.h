/*
 * exporter: the table of flow exporters (routers, switches, probes) a
 * collector has heard from, each with its health counters, its learned
 * sampling rate, an optional configured override and the per-protocol state
 * its parser keeps (NetFlow v9/IPFIX templates, sFlow interface counters).
 *
 * An exporter is identified by (source address, source id / observation
 * domain / sFlow sub-agent, protocol). The table is bounded by
 * LIMIT_COLLECT_EXPORTERS: once full, datagrams from new exporters are
 * refused (counted in exporter_table_refused()), never evicting a known one,
 * so a spoofing flood cannot push real exporters out.
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
	uint32_t domain;	/* v9 source id, IPFIX observation domain, sFlow sub-agent */
	uint8_t proto;		/* enum exporter_proto */
	uint32_t index;		/* stable slot number: the flow_rec "location" */
	uint32_t sampling;	/* learned (header / options data); 0 = not known */
	uint32_t sampling_override; /* configured; 0 = none, wins over everything */
	bool seq_valid;
	uint32_t seq_next;	/* next expected sequence number */
	uint64_t first_seen_ns, last_seen_ns;
	struct exporter_health h;
	struct nftmpl_cache *tmpl;	/* NetFlow v9 / IPFIX only, created on first use */
	struct sflow_ifaces *ifaces;	/* sFlow only, created on first use */
};

struct exporter_table;

/* A new empty table; NULL with errno on allocation failure. */
struct exporter_table *exporter_table_new(void);
/* Frees the table, every exporter and its parser state; accepts NULL. */
void exporter_table_free(struct exporter_table *t);

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
 * Find or create the exporter for (addr, domain, proto), and stamp it seen at
 * now_ns. Returns NULL when the table is full (the datagram must then be
 * dropped) or on allocation failure.
 */
struct exporter *exporter_get(struct exporter_table *t, const struct ipaddr *addr,
    uint32_t domain, enum exporter_proto proto, uint64_t now_ns);

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

/* Number of exporters, and the exporter in slot i (< count), for iteration. */
size_t exporter_count(const struct exporter_table *t);
struct exporter *exporter_at(struct exporter_table *t, size_t i);
/* Datagrams refused because the table was full. */
uint64_t exporter_table_refused(const struct exporter_table *t);
void exporter_table_count_refused(struct exporter_table *t);

/* A copy of one exporter's public state, for other threads. */
struct exporter_info {
	struct ipaddr addr;
	uint32_t domain;
	uint8_t proto;
	uint32_t index;
	uint32_t sampling;	/* effective rate applied when records carry none */
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

const char *exporter_proto_name(enum exporter_proto p);

#endif
