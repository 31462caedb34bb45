/*
 * conf: moat-chaff's configuration (YAML through common/cfg.h).
 *
 *   interface: eth1
 *   osdb: /usr/share/nmap/nmap-os-db      # where nmap's fingerprints are
 *   seed: 42                              # optional: reproducible MACs/clocks
 *   decoys:
 *     - ranges: [192.0.2.0/24]            # prefixes or single addresses
 *       exclude: [192.0.2.1]              # real hosts inside the ranges
 *       personality: linux-5.4            # a preset, or
 *       fingerprint: "Linux 5.0 - 5.4"    # any nmap-os-db fingerprint name
 *       tcp: [22, 80]                     # open ports
 *       udp: [53]
 *       ipv6:                             # optional: IPv6 decoys too
 *         prefix: 2001:db8:1::/64         # the segment's /64 (SLAAC)
 *         iid: auto                       # auto (per personality), eui64 or stable
 *   alarms:
 *     file: "-"                           # JSON lines; "-" = stdout
 *     window: 60s                         # aggregation window
 *     allow: [203.0.113.5/32]             # sources that never alarm
 *     syslog: "udp:127.0.0.1:514"         # or "unix:/dev/log"
 *     moatd_url: "http://127.0.0.1:8080/api/v1/alarms"   # IP literal: no DNS
 *     moatd_token_file: /var/lib/moat/api.token        # bearer token for the POST
 *   alive:
 *     interval: 60s                       # mean period of each decoy's ARP
 *     pps: 100                            # global budget for all background frames
 *     start: 30s                          # start-up announcements spread over this
 *   background: on                        # on | arp (ARP only) | off (nothing unprompted)
 *   user: nobody                          # privileges dropped to after start-up
 *   claim:                                # optional, LaBrea-style
 *     ranges: [192.0.2.0/24]              # addresses that may be claimed
 *     reserved: [192.0.2.1]               # never claimed
 *     after: 3                            # unanswered ARP requests ...
 *     within: 5s                          # ... within this time
 *     max: 256                            # claimed addresses at most
 *     personality: linux-5.4
 *     tcp: [22]
 *
 * conf_load() validates everything (unknown keys, ranges, IPv4 only for
 * decoys, personalities that exist as presets) and reports the first error
 * as "FILE:LINE:COL: ..." in err.
 */
#ifndef MOAT_CHAFF_CONF_H
#define MOAT_CHAFF_CONF_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chaff/decoy.h"
#include "chaff/osdb.h"
#include "chaff/respond.h"
#include "common/cfg.h"

/* Background traffic (bg.h): everything, gratuitous ARP only, or nothing. */
enum conf_background { CONF_BG_DEFAULT, CONF_BG_ON, CONF_BG_ARP, CONF_BG_OFF };

struct conf_group {
	struct decoy_prefix *ranges;	/* IPv4 prefixes, host order */
	size_t n_ranges;
	struct decoy_prefix *exclude;
	size_t n_exclude;
	char personality[32];		/* preset name, or "" */
	char fingerprint[OSDB_NAME_MAX];	/* nmap-os-db name, or "" */
	struct respond_group ports;
	bool ports_set;			/* tcp: or udp: given (else a fingerprint's defaults) */
	char vendor[24];		/* vendor.h profile overriding the inference, or "" */
	uint8_t background;		/* enum conf_background; DEFAULT: the top-level one */
	bool v6;			/* ipv6: configured */
	uint8_t v6_prefix[8];		/* the /64 */
	uint8_t v6_iid;			/* CONF_IID_* */
};

enum { CONF_IID_AUTO, CONF_IID_EUI64, CONF_IID_STABLE };

/* LaBrea-style claiming of unused addresses (see claim.h). */
struct conf_claim {
	bool enabled;
	struct conf_group group;	/* ranges, personality, ports */
	struct decoy_prefix *reserved;
	size_t n_reserved;
	uint64_t after;
	int64_t within_s;
	uint64_t max;
};

/* VLAN ids a decoy network may answer on (a handful per segment in practice). */
#define CONF_VLANS 64

struct conf {
	char ifname[IF_NAMESIZE];
	char osdb[256];
	uint64_t seed;
	bool have_seed;
	struct conf_group *groups;
	size_t n_groups;
	char alarm_file[256];
	uint64_t alarm_window_s;
	struct decoy_prefix *allow;
	size_t n_allow;
	char syslog[256];
	char moatd_url[256];
	char moatd_token_file[256];
	uint64_t alive_interval_s;
	uint64_t alive_pps;
	uint64_t alive_start_s;	/* start-up announcements spread over this */
	uint8_t background;	/* enum conf_background, never DEFAULT */
	char user[64];
	char state_dir[256];	/* kept across restarts: the SSH host key secret; "" = none */
	struct conf_claim claim;
	uint16_t vlans[CONF_VLANS];	/* tagged frames answered only on these */
	size_t n_vlans;
};

int conf_load(const char *path, struct conf *ret, struct cfg_error *err);
int conf_load_buffer(const char *name, const char *buf, size_t len, struct conf *ret,
		     struct cfg_error *err);
void conf_free(struct conf *c);

#endif
