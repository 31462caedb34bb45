/*
 * collector: traffic collection inside moatd — the glue between the inputs
 * in src/collect and the per-PO counters.
 *
 * One network thread serves every UDP listener (NetFlow v5/v9, IPFIX and
 * sFlow on any port; the format is told per datagram) and IPFIX over TCP;
 * each pcap replay and each capture worker runs in a thread of its own.
 * Every thread writes its own counters shard, so nothing on the packet path
 * takes a lock.
 *
 * With `collect.clock: packet` the engine runs on packet time instead: its
 * manual clock starts at the first packet's second, the one replay offers
 * every 1 s boundary of packet time and waits there (clock_step) until the
 * engine has moved the clock to it and ticked counters, detection and
 * decisions; the real 1 s timer does not tick. When the file ends the last
 * second is closed, the input says done, the clock stands still and moatd
 * keeps serving the API. The engine's 1 s tick closes the counters' interval and
 * hands the readings to the reading function and the samples to the sample
 * function; PO changes build a fresh LPM for the counters, and the old one
 * is freed once no thread uses it.
 *
 * Wiring: the collector's state lives in the engine's ENGINE_MOD_COLLECT
 * slot (collector_get()); its row of engine_modules[] (core/modules.c)
 * names the `collect:` section (collect/conf.h) and its REST routes
 * (api/traffic.c). It includes no other module: between init and start the
 * engine hands it where readings and samples go (detection) and where
 * moat-ins's connection events go (the connection table), and hands its
 * counters to detection. The threads start in collector_start(), after
 * the wiring, and stop in collector_fini().
 */
#ifndef MOAT_ENGINE_COLLECTOR_H
#define MOAT_ENGINE_COLLECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collect/exporter.h"
#include "collect/counters.h"
#include "engine/core/engine.h"

struct collector;

/* The engine module (core/modules.h), a row of engine_modules[] before
   detection's, so a tick's readings reach the detectors in the same tick.
   init leaves the slot NULL when collection is not configured; every other
   function takes the struct collector. */
int collector_init(struct engine *e, void **ret_state);
int collector_start(void *state);
void collector_fini(void *state);
void collector_tick(void *state, uint64_t now_ns);
void collector_pos_changed(void *state);

/* The collector of engine e (its slot), or NULL when collection is not configured. */
struct collector *collector_get(struct engine *e);
const struct counters *collector_counters(const struct collector *c);

/* The engine's wiring, before collector_start(). Where readings go each
 * interval (detection) and where the samples of the interval go (the
 * attacks' top lists); NULL fn: nowhere. */
void collector_set_reading_fn(struct collector *c, counters_reading_fn fn, void *ctx);
void collector_set_sample_fn(struct collector *c, counters_obs_fn fn, void *ctx);
/* Where the network thread hands moat-ins's connection events (the
 * connection table's queue); NULL fn: nowhere. Not while the threads run. */
void collector_set_conn_sink(struct collector *c, ipfix_conn_fn fn, void *ctx);

/* A non-exporter input (pcap replay, capture interface) and its state. */
struct collector_input {
	char kind[8];		/* "pcap" or "capture" */
	char name[256];		/* file or interface */
	uint32_t location;
	bool done;		/* pcap: reached the end (or failed) */
	bool packet_time;	/* pcap: the engine clock follows this replay */
	bool failed;
	uint64_t packets, decoded, not_ip, malformed, bytes;
	uint64_t kernel_drops;	/* capture: PACKET_STATISTICS tp_drops */
	uint64_t first_ns, last_ns;
};

/*
 * Packet time: when the settings say `collect.clock: packet`, the time (ns,
 * a whole second) the engine's manual clock must start at — the first
 * packet's second, or now for a file without packets — and 1; 0 when the
 * engine runs on real time; a negative errno (err says why) when the file
 * cannot be read.
 */
int collector_packet_clock_start(const struct settings *s, uint64_t *ret_start_ns, char *err,
    size_t errlen);

/* Copies of the exporters' and inputs' state (published once a second and
   whenever a replay finishes); return the total count, fill up to max. */
size_t collector_exporters(struct collector *c, struct exporter_info *out, size_t max);
/* Flow exports refused per reason (allow-list, caps, deadlines), as of the
   network thread's last publish (every 0.5 s). */
void collector_refusals(struct collector *c, struct exporter_refusals *ret);
size_t collector_inputs(struct collector *c, struct collector_input *out, size_t max);
/* Datagrams that no format recognised or no exporter could own. */
uint64_t collector_unparsed(const struct collector *c);

#endif
