/*
 * collect_conf: the `collect:` section of moatd's configuration.
 *
 *   collect:
 *     udp: ["0.0.0.0:2055", "[::]:2055"]   # NetFlow v5/v9, IPFIX, sFlow; format per datagram
 *     tcp: ["127.0.0.1:4739"]              # IPFIX over TCP
 *     sampling:                            # override what exporters announce
 *       - { exporter: 192.0.2.1, rate: 1000 }
 *     capture:                             # AF_PACKET, TPACKET_V3, PACKET_FANOUT
 *       - { interface: eth1, threads: 2 }
 *     pcap:                                # offline replay
 *       - { file: /tmp/x.pcap, speed: max }  # max (or 0): as fast as possible;
 *                                         # recorded (or 1): recorded pace; 2.5: factor
 *     clock: packet                        # real (default) or packet
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

struct collect_endpoint {
	struct ipaddr addr;
	uint16_t port;
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
};

/* settings_section parse/free for "collect". */
int collect_conf_parse(struct settings *c, const struct cfg_node *n, void **ret_ext,
    struct cfg_error *err);
void collect_conf_free(void *ext);

/* "ADDR:PORT" or "[ADDR6]:PORT". -EINVAL. */
int collect_endpoint_parse(const char *s, struct collect_endpoint *ret);

#endif
