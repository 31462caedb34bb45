/*
 * xdp_maps: the map layout shared by the XDP program (moat_xdp.bpf.c) and
 * its loader (engine/drv_xdp.c). Plain fixed-width types only, so both the
 * BPF target and the host compiler agree on it.
 */
#ifndef MOAT_XDP_MAPS_H
#define MOAT_XDP_MAPS_H

#include <linux/types.h>

/* Destination prefixes per family: one per mitigated target. */
#define XDP_MAX_DSTS 16384
/* Rule slots: one per XDP mitigation. */
#define XDP_MAX_RULES 1024
/* Source addresses across all source-scoped rules. */
#define XDP_MAX_SRCS 65536
/* Rules that may share one destination prefix. */
#define XDP_SLOTS_PER_DST 8

struct xdp_lpm4 {
	__u32 prefixlen;
	__u32 addr;		/* network order */
};

struct xdp_lpm6 {
	__u32 prefixlen;
	__u8 addr[16];
};

struct xdp_dst {
	__u32 slots[XDP_SLOTS_PER_DST];	/* rule slot + 1; 0 = empty */
};

struct xdp_rule {
	__u64 id;		/* moat rule id; 0 = free slot */
	__u8 proto;		/* 0 = any */
	__u8 has_sources;
	__u16 dport;		/* host order; 0 = any */
	__u16 sport;
	__u16 pad;
};

struct xdp_src {
	__u32 slot;
	__u8 af;		/* 4 or 6 */
	__u8 pad[3];
	__u8 addr[16];
};

struct xdp_stat {
	__u64 packets;
	__u64 bytes;
};

#endif
