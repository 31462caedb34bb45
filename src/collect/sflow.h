/*
 * sflow: sFlow version 5 datagrams -> one flow record per sampled packet.
 *
 * Flow samples and expanded flow samples are read; their raw packet header
 * records go through the same L2-L4 decoder as captured packets (decode.h),
 * sampled IPv4/IPv6 records are taken as they are. Each record carries the
 * sample's sampling rate. Counter samples (generic interface counters) are
 * kept per agent and interface, at most LIMIT_COLLECT_SFLOW_IFACES
 * interfaces. The exporter is (agent address, sub-agent id); the datagram
 * sequence number counts datagrams.
 */
#ifndef MOAT_SFLOW_H
#define MOAT_SFLOW_H

#include <stddef.h>
#include <stdint.h>

#include "collect/exporter.h"
#include "collect/flowrec.h"
#include "common/cursor.h"
#include "common/limits.h"

/* The latest generic interface counters (sFlow counter record 0:1). */
struct sflow_iface {
	uint32_t ifindex;
	uint64_t speed;
	uint64_t in_octets, out_octets;
	uint32_t in_ucast, out_ucast;
	uint32_t in_discards, out_discards;
	uint32_t in_errors, out_errors;
	uint64_t updated_ns;
};

struct sflow_ifaces {
	size_t n;
	struct sflow_iface i[LIMIT_COLLECT_SFLOW_IFACES];
};

void sflow_ifaces_free(struct sflow_ifaces *s);		/* accepts NULL */
/* The counters of ifindex on e, or NULL. */
const struct sflow_iface *sflow_iface_find(const struct exporter *e, uint32_t ifindex);

/*
 * Parse one datagram (`from` is its UDP source; the agent address inside
 * names the exporter). Returns records passed to fn, -EINVAL for a malformed
 * datagram (samples before the fault are kept), -ENOSPC when the exporter
 * table is full, -ENOMEM.
 */
int sflow_parse(struct exporter_table *t, const struct ipaddr *from, struct cursor *c,
    uint64_t now_ns, flowrec_sink_fn fn, void *ctx);

#endif
