/*
 * collect_conf: the `collect:` section of moatd's configuration.
 *
 *   collect:
 *     exporters: [192.0.2.0/24, "2001:db8::1"]  # who may export (default: see below)
 *     udp: ["0.0.0.0:2055", "[::]:2055"]   # NetFlow v5/v9, IPFIX, sFlow; format per datagram
 *     tcp:                                 # IPFIX over TCP; an input may have its own list
 *       - { listen: "127.0.0.1:4739", exporters: [127.0.0.1] }
 *     sampling:                            # override what exporters announce
 *       - { exporter: 192.0.2.1, rate: 1000 }
 *     capture:                             # AF_PACKET, TPACKET_V3, PACKET_FANOUT
 *       - { interface: eth1, threads: 2 }
 *     pcap:                                # offline replay
 *       - { file: /tmp/x.pcap, speed: max }  # max (or 0): as fast as possible;
 *                                         # recorded (or 1): recorded pace; 2.5: factor
 *     clock: packet                        # real (default) or packet
 *
 * `exporters` is the allow-list of the flow inputs (udp, tcp): prefixes or
 * addresses, or the word `any`. An input's own `exporters` replaces it.
 * Without any, the default is loopback plus the subnets directly attached to
 * moatd's interfaces when it starts (collect_allow_default()): a router on a
 * connected network works out of the box, a forged datagram from anywhere
 * else is refused (counted, a health issue naming the sender).
 *
 * No `collect:` section: nothing is collected. A `collect:` section without
 * `udp` listens on 0.0.0.0 and [::] ports 2055, 4739 and 6343.
 *
 * `clock: packet` makes moatd a replay-only engine whose clock is the packets'
 * clock: exactly one pcap file, no udp/tcp listeners and no capture (live
 * inputs have no place on a clock that jumps through a day in seconds), and
 * no default listeners. Anything else is a configuration error.
 * Named by the collector's row of engine_modules[] (core/modules.c); read back with
 * settings_ext(conf, "collect").
 */
#ifndef MOAT_ENGINE_COLLECT_CONF_H
#define MOAT_ENGINE_COLLECT_CONF_H

#include <net/if.h>
#include <stdint.h>

#include "common/cfg.h"
#include "common/limits.h"
#include "common/prefix.h"

struct settings;

enum collect_allow_mode {
	COLLECT_ALLOW_DEFAULT,	/* loopback + connected subnets, resolved at start */
	COLLECT_ALLOW_LIST,
	COLLECT_ALLOW_ANY,
};

struct collect_allow {
	uint8_t mode;		/* enum collect_allow_mode */
	unsigned n;
	struct prefix p[LIMIT_COLLECT_ALLOW];
};

struct collect_endpoint {
	struct ipaddr addr;
	uint16_t port;
	int allow;		/* index into collect_conf.allow[]; 0 = the section's */
};

struct collect_conf {
	struct collect_endpoint udp[LIMIT_COLLECT_LISTENERS];
	unsigned nudp;
	struct collect_endpoint tcp[LIMIT_COLLECT_LISTENERS];
	unsigned ntcp;
	struct {
		struct ipaddr exporter;
		uint32_t rate;
	} sampling[LIMIT_COLLECT_LISTENERS * 4];
	unsigned nsampling;
	struct {
		char ifname[IF_NAMESIZE];
		unsigned threads;
	} capture[LIMIT_COLLECT_LISTENERS];
	unsigned ncapture;
	struct {
		char *file;
		double speed;
	} pcap[LIMIT_COLLECT_LISTENERS];
	unsigned npcap;
	bool packet_time;	/* clock: packet */
	/* allow[0]: the section's `exporters`; then one per input that has its own */
	struct collect_allow allow[1 + 2 * LIMIT_COLLECT_LISTENERS];
	unsigned nallow;
};

/* settings_section parse/free for "collect". */
int collect_conf_parse(struct settings *c, const struct cfg_node *n, void **ret_ext,
    struct cfg_error *err);
void collect_conf_free(void *ext);

/* True when a may export to an input with this list (DEFAULT must have been
   resolved with collect_allow_default(); unresolved it admits loopback only). */
bool collect_allow_match(const struct collect_allow *a, const struct ipaddr *addr);
/* The default list: loopback and the subnets of moatd's interfaces now.
   0 or a negative errno (getifaddrs). */
int collect_allow_default(struct collect_allow *ret);
/* Text for logs: "127.0.0.0/8, 192.0.2.0/24" or "any". */
void collect_allow_format(const struct collect_allow *a, char *buf, size_t len);

/* "ADDR:PORT" or "[ADDR6]:PORT". -EINVAL. */
int collect_endpoint_parse(const char *s, struct collect_endpoint *ret);

#endif
