/*
 * moat_xdp: drop attack traffic at the driver, before the kernel's stack.
 *
 * Userspace (engine/drv_xdp.c) owns the maps: destination prefixes (one LPM
 * trie per family) point at up to XDP_SLOTS_PER_DST rule slots; each slot
 * says which protocol/ports it matches and whether it is narrowed to a set of
 * sources (the `srcs` hash). A packet matching any slot is dropped and
 * counted in that slot's per-CPU counter; everything else passes untouched.
 * Rule ids live in the slot so a restarted moatd can read back what exists.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "xdp_maps.h"

struct vlan_hdr {
	__be16 tci;
	__be16 proto;
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, XDP_MAX_DSTS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct xdp_lpm4);
	__type(value, struct xdp_dst);
} moat_dst4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, XDP_MAX_DSTS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct xdp_lpm6);
	__type(value, struct xdp_dst);
} moat_dst6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XDP_MAX_RULES);
	__type(key, __u32);
	__type(value, struct xdp_rule);
} moat_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XDP_MAX_SRCS);
	__type(key, struct xdp_src);
	__type(value, __u8);
} moat_srcs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XDP_MAX_RULES);
	__type(key, __u32);
	__type(value, struct xdp_stat);
} moat_stats SEC(".maps");

struct pkt {
	__u8 af;
	__u8 proto;
	__u16 sport, dport;	/* host order; 0 when unknown */
	__u8 saddr[16];
};

static __always_inline int
rule_matches(const struct xdp_rule *r, __u32 slot, const struct pkt *p)
{
	struct xdp_src key = { .slot = slot, .af = p->af };

	if (r->id == 0)
		return 0;
	if (r->proto != 0 && r->proto != p->proto)
		return 0;
	if (r->dport != 0 && r->dport != p->dport)
		return 0;
	if (r->sport != 0 && r->sport != p->sport)
		return 0;
	if (r->has_sources) {
		__builtin_memcpy(key.addr, p->saddr, 16);
		if (bpf_map_lookup_elem(&moat_srcs, &key) == NULL)
			return 0;
	}
	return 1;
}

static __always_inline int
verdict(const struct xdp_dst *d, const struct pkt *p, __u64 bytes)
{
#pragma unroll
	for (int i = 0; i < XDP_SLOTS_PER_DST; i++) {
		__u32 slot = d->slots[i];
		struct xdp_rule *r;
		struct xdp_stat *st;

		if (slot == 0)
			continue;
		slot -= 1;
		r = bpf_map_lookup_elem(&moat_rules, &slot);
		if (r == NULL || !rule_matches(r, slot, p))
			continue;
		st = bpf_map_lookup_elem(&moat_stats, &slot);
		if (st != NULL) {
			st->packets++;
			st->bytes += bytes;
		}
		return XDP_DROP;
	}
	return XDP_PASS;
}

static __always_inline void
parse_ports(void *l4, void *end, struct pkt *p)
{
	if (p->proto == IPPROTO_TCP) {
		struct tcphdr *th = l4;
		if ((void *)(th + 1) <= end) {
			p->sport = bpf_ntohs(th->source);
			p->dport = bpf_ntohs(th->dest);
		}
	} else if (p->proto == IPPROTO_UDP) {
		struct udphdr *uh = l4;
		if ((void *)(uh + 1) <= end) {
			p->sport = bpf_ntohs(uh->source);
			p->dport = bpf_ntohs(uh->dest);
		}
	}
}

SEC("xdp")
int
moat_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct pkt p = { 0 };
	struct xdp_dst *d;
	__u16 proto;
	void *l3;
	__u64 bytes = (__u64)(end - data);

	if ((void *)(eth + 1) > end)
		return XDP_PASS;
	proto = eth->h_proto;
	l3 = eth + 1;
#pragma unroll
	for (int i = 0; i < 2; i++) {	/* 802.1Q and QinQ */
		if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
			struct vlan_hdr *vh = l3;
			if ((void *)(vh + 1) > end)
				return XDP_PASS;
			proto = vh->proto;
			l3 = vh + 1;
		}
	}
	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = l3;
		struct xdp_lpm4 key = { .prefixlen = 32 };

		if ((void *)(ip + 1) > end || ip->ihl < 5)
			return XDP_PASS;
		p.af = 4;
		p.proto = ip->protocol;
		__builtin_memcpy(p.saddr, &ip->saddr, 4);
		/* Only the first fragment carries ports. */
		if ((ip->frag_off & bpf_htons(0x1fff)) == 0)
			parse_ports((__u8 *)ip + ip->ihl * 4, end, &p);
		key.addr = ip->daddr;
		d = bpf_map_lookup_elem(&moat_dst4, &key);
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = l3;
		struct xdp_lpm6 key = { .prefixlen = 128 };

		if ((void *)(ip6 + 1) > end)
			return XDP_PASS;
		p.af = 6;
		p.proto = ip6->nexthdr;
		__builtin_memcpy(p.saddr, &ip6->saddr, 16);
		parse_ports(ip6 + 1, end, &p);
		__builtin_memcpy(key.addr, &ip6->daddr, 16);
		d = bpf_map_lookup_elem(&moat_dst6, &key);
	} else {
		return XDP_PASS;
	}
	if (d == NULL)
		return XDP_PASS;
	return verdict(d, &p, bytes);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
