/*
 * reading: one interval's traffic for one PO, protocol and direction — what
 * the counters hand the detectors every reading interval (default 1 s), and
 * what the backtest path builds from pcaps, flow exports or CSV series.
 */
#ifndef MOAT_READING_H
#define MOAT_READING_H

#include <stdint.h>

enum proto_class { PROTO_TCP, PROTO_UDP, PROTO_ICMP, PROTO_OTHER, PROTO__COUNT };
enum direction { DIR_IN, DIR_OUT, DIR__COUNT };

struct reading {
	uint64_t time_ns;	/* end of the interval, engine clock */
	uint64_t interval_ns;	/* its length */
	uint32_t po_id;		/* index of the PO in the engine's PO table */
	uint8_t proto;		/* enum proto_class */
	uint8_t dir;		/* enum direction */
	uint16_t port;		/* 0 = all ports; else a configured port of the PO */
	uint64_t bytes;		/* sampled-scaled totals over the interval */
	uint64_t packets;
	uint64_t flows;
	uint64_t syns;
	uint64_t frags;
};

#endif
