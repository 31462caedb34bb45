/*
 * bg: decoys' background traffic — what a host sends when nobody talks to
 * it, so that a passive listener sees hosts living their own lives rather
 * than a responder that only ever answers.
 *
 * Each decoy has up to two streams of events, each a schedule that depends
 * only on its OS family (vendor.h), its address and a secret (so it is
 * stable for the decoy, but decoys are not in step):
 *
 *   stream 0, every family: a gratuitous ARP at start-up, at a per-decoy
 *     offset within the start window (alive.start); a second one 2 s later
 *     where the OS follows RFC 5227 (Windows, macOS, iOS: ANNOUNCE_NUM 2,
 *     ANNOUNCE_INTERVAL 2 s); then one every period, where the period is the
 *     decoy's own (alive.interval x 0.75..1.25) and each event moves by up
 *     to +-10 %;
 *   stream 1, by family:
 *     Windows: NetBIOS name registration of NAME<00> (UDP 137, broadcast,
 *       3 times 750 ms apart as Windows retries), then browser host
 *       announcements (UDP 138, \MAILSLOT\BROWSE) after 1, 2, 4, 8 and 12
 *       minutes and every 12 minutes after ([MS-BRWS] 3.2.6);
 *     macOS / iOS: two mDNS announcements one second apart (RFC 6762 8.3) of
 *       the host name (A and reverse PTR; macOS also _device-info._tcp),
 *       again every 30-90 min (as a machine waking from sleep);
 *     printers: the same with _ipp._tcp and _printer._tcp (PTR, SRV, TXT);
 *     Linux, the BSDs, routers and anything else: none (a server that
 *       runs no avahi is quiet);
 *   stream 2, decoys with IPv6 addresses (decoy.h): the duplicate address
 *     detection a booting host sends (RFC 4862 5.4), a neighbour
 *     solicitation from :: to the solicited-node group with no link-layer
 *     option, for its link-local address within 1 s of its first ARP, then
 *     for its global address 1 s (+-10 %) later; nothing after (no MLD
 *     report, no unsolicited NA, no router solicitation). Sent in the
 *     "arp" mode too (address announcements, as the ARPs); not for a
 *     claimed address, nor for an address released by DAD (nd.h).
 *
 * DHCP is never sent: a decoy has no lease, and a DHCPREQUEST renewing an
 * address the server never leased would be NAKed, logged by the server, or
 * worse, make it record a binding for a MAC that is no host's; a DISCOVER
 * would take a lease from the pool. Either confuses the real DHCP server,
 * which a decoy must never do.
 *
 * All decoys' next events are one min-heap of (due, address, stream, step)
 * entries, 16 bytes each, sized at start for three per decoy slot: no timer
 * per decoy. bg_run() sends what is due within one global budget (pps,
 * alive.pps, at most LIMIT_CHAFF_ALIVE_PPS): late events wait rather than
 * burst, and the next event of a stream is scheduled from when the last was
 * actually sent, so a segment with more decoys than the budget can serve
 * slows every decoy down rather than flooding. A decoy that is gone (a
 * released claim) is dropped when its event comes up.
 *
 * Frame builders are pure functions (exported for tests). Nothing logs.
 */
#ifndef MOAT_CHAFF_BG_H
#define MOAT_CHAFF_BG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chaff/decoy.h"
#include "chaff/persona.h"

enum bg_kind { BG_ARP, BG_NBNS, BG_BROWSER, BG_MDNS, BG_DAD6, BG_NKINDS };

/* What a group's decoys send (conf.h's enum conf_background, resolved). */
enum bg_mode { BG_MODE_ON, BG_MODE_ARP, BG_MODE_OFF };

struct bg_entry {
	uint64_t due;		/* monotonic ns */
	uint32_t addr;
	uint16_t step;
	uint8_t stream;
	uint8_t pad;
};

struct bg_group {
	uint8_t mode;		/* enum bg_mode */
	uint8_t bcast_len;	/* prefix length of the subnet broadcast (NetBIOS) */
};

struct bg_params {
	uint64_t interval_ns;	/* mean ARP period (0: start-up only) */
	uint64_t window_ns;	/* start-up announcements spread over this */
	double pps;		/* budget, frames per second (0: send nothing) */
	uint64_t secret;	/* keys the per-decoy offsets and jitter */
};

struct bg {
	struct bg_params prm;
	struct decoy_table *decoys;
	const struct persona *personas;
	size_t n_personas;
	const struct bg_group *groups;
	size_t n_groups;
	void (*send)(void *arg, const uint8_t *frame, size_t len);
	void *arg;
	struct bg_entry *heap;
	uint32_t n, cap;
	double credit;
	uint64_t credit_ns;
	uint64_t sent[BG_NKINDS];
	uint64_t dropped;	/* events of decoys no longer in the table */
};

/* Batching: when the budget is what holds events back, bg_run() asks to be
 * called again no sooner than this (the budget refills meanwhile). */
#define BG_TICK_NS	50000000ULL

/* Tables for a decoy table of decoys->cap slots; -ENOMEM. */
int bg_init(struct bg *b, const struct bg_params *prm, struct decoy_table *decoys,
	    const struct persona *personas, size_t n_personas, const struct bg_group *groups,
	    size_t n_groups, void (*send)(void *, const uint8_t *, size_t), void *arg);
void bg_free(struct bg *b);

/* Schedule every decoy of the table from now (the start-up announcements). */
void bg_start(struct bg *b, uint64_t now);

/* Schedule one decoy added later (a claimed address; its first ARP has
 * already been sent by the claim, so stream 0 starts at its period). */
void bg_add(struct bg *b, const struct decoy *d, uint64_t now);

/* Send what is due at now within the budget; returns when to call again
 * (UINT64_MAX: nothing scheduled). */
uint64_t bg_run(struct bg *b, uint64_t now);

/* --- schedule (pure) --- */

/* Stream s's step: its kind and the delay from this step to the next
 * (*ret_next_ns = 0: the stream ends). False when the stream has no such
 * step (a family without stream 1). */
bool bg_step(const struct bg_params *prm, uint8_t family, uint32_t addr, uint8_t stream,
	     uint16_t step, enum bg_kind *ret_kind, uint64_t *ret_next_ns);

/* Delay from start to a decoy's first event of stream s. */
uint64_t bg_first(const struct bg_params *prm, uint8_t family, uint32_t addr, uint8_t stream);

/* --- names and frames (pure) --- */

/* The decoy's host name as its OS would have made it up (Windows
 * "DESKTOP-XXXXXXX", "WIN-XXXXXXXXXXX" on servers; "Annas-MacBook-Pro";
 * "Annas-iPhone"; HP printers "NPI" + the MAC's last 3 bytes; others
 * "host-" + those bytes), derived from its MAC and address. */
void bg_hostname(const struct decoy *d, uint8_t family, const char *os, char *buf, size_t cap);

/* NetBIOS first-level encoding (RFC 1001 14.1) of name padded to 15
 * characters plus suffix: 0x20, 32 letters A-P, 0x00. Names are upper-cased
 * and cut at 15. Returns 34. */
size_t bg_nbns_name(const char *name, uint8_t suffix, uint8_t out[34]);

/* A DNS name: instance (one label, may hold spaces and dots; NULL: none)
 * followed by domain's dot-separated labels, then the root. 0 when a label
 * is empty or longer than 63 bytes, or it does not fit. */
size_t bg_dns_name(uint8_t *buf, size_t cap, const char *instance, const char *domain);

/* NBNS name registration request (UDP 137 payload, broadcast, B-node). */
size_t bg_nbns_register(uint8_t *buf, size_t cap, uint16_t trn_id, const char *name,
			uint8_t suffix, uint32_t addr);

/* Browser host announcement (UDP 138 payload: a NetBIOS datagram carrying
 * SMB_COM_TRANSACTION to \MAILSLOT\BROWSE) from name to workgroup<1d>. */
size_t bg_browser_announce(uint8_t *buf, size_t cap, uint16_t dgm_id, uint32_t addr,
			   const char *name, const char *workgroup, uint32_t period_ms,
			   uint8_t os_major, uint8_t os_minor);

/* An unsolicited mDNS response (UDP 5353 payload) announcing host.local at
 * addr; model (non-NULL) adds HOST._device-info._tcp TXT model=...; printer
 * (non-NULL, the make and model) adds its _ipp._tcp and _printer._tcp
 * instances "PRINTER [XXXXXX]" (tag = XXXXXX). */
size_t bg_mdns_announce(uint8_t *buf, size_t cap, const char *host, uint32_t addr,
			const char *model, const char *printer, const char *tag);

/* A DAD probe for target from the interface with that MAC: Ethernet +
 * IPv6 (:: to target's solicited-node group, hop limit 255) + ICMPv6
 * neighbour solicitation without a link-layer option, checksum filled in. */
size_t bg_dad6_frame(uint8_t *buf, size_t cap, const uint8_t mac[6], const uint8_t target[16]);

/* Ethernet + IPv4 + UDP around payload (checksums filled in). */
size_t bg_udp_frame(uint8_t *buf, size_t cap, const uint8_t eth_dst[6], const uint8_t eth_src[6],
		    uint32_t src, uint32_t dst, uint8_t ttl, uint16_t ip_id, uint16_t sport,
		    uint16_t dport, const uint8_t *payload, size_t len);

#endif
