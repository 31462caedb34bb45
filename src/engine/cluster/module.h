/*
 * cluster: moatd's role in a deployment of several instances sharing the
 * work over NATS JetStream (docs/scale.md).
 *
 *   all      (default) the module does not run: one moatd as ever, no NATS.
 *   collect  the inputs and counters run as usual, but each second's
 *            readings go to JetStream (moat.deltas.<shard>, one message
 *            per shard, cluster/deltas.h) instead of to detection. While
 *            NATS is unreachable, messages wait in a bounded buffer
 *            (cluster.buffer seconds); past it the oldest are dropped and
 *            counted (health issue "cluster").
 *   engine   no inputs; owns shards through KV leases (cluster/lease.h),
 *            consumes their subjects and feeds the readings of its POs
 *            into detection exactly as the local collector does. A
 *            message's sequence number shows a gap (counted, never read
 *            as a drop in traffic: a missing second is no reading).
 *
 * NATS calls run on the module's worker thread; the engine's loop only
 * moves messages through two bounded queues (tick). Wiring (engine_wire):
 * the collector's reading function is cluster_reading_cb in the collect
 * role; the engine role's readings go to the function given with
 * cluster_set_reading_fn (detection). cluster_po_owned() is the fencing
 * check before acting on a PO.
 */
#ifndef MOAT_ENGINE_CLUSTER_MODULE_H
#define MOAT_ENGINE_CLUSTER_MODULE_H

#include <stdbool.h>
#include <stdint.h>

#include "collect/counters.h"
#include "engine/cluster/conf.h"
#include "engine/cluster/peers.h"
#include "engine/core/engine.h"

struct cluster;
struct api_req;

/* The engine module (core/module.h); init leaves the slot NULL in role all. */
int cluster_init(struct engine *e, void **ret_state);
int cluster_start(void *state);
void cluster_fini(void *state);
void cluster_tick(void *state, uint64_t now_ns);

/* The cluster state of engine e, or NULL (role all). */
struct cluster *cluster_get(struct engine *e);
enum cluster_role cluster_role(const struct cluster *c);

/* collect role: the collector's reading function (counters_reading_fn). */
void cluster_reading_cb(void *ctx, const struct reading *r);
/* The collector's samples of the interval (counters_obs_fn, ctx the
 * cluster), in the collect role: each PO's top sources and source ports
 * go into its shard's message at the tick. */
void cluster_sample_cb(void *ctx, const struct counters_obs *o);
/* collect role: the collector's counters, whose busiest hosts per PO go
 * out with the readings (an engine's top targets); NULL: none. */
void cluster_set_counters(struct cluster *c, const struct counters *cnt);
/* engine role: where the consumed readings go (detection_reading_cb). */
void cluster_set_reading_fn(struct cluster *c, counters_reading_fn fn, void *ctx);
/* engine role: detection and mitigation, whose state a take-over adopts
 * (detection_adopt(), mitigation_adopt()); NULL: none. */
struct detection_ctx;
struct mitigation_ctx;
void cluster_set_adopters(struct cluster *c, struct detection_ctx *d, struct mitigation_ctx *m);

/* Whether this instance may act on PO name now: always in roles all and
 * collect; in role engine only while it holds the lease of the PO's shard. */
bool cluster_po_owned(struct cluster *c, const char *po_name);
/* The same as a mitigation_gate_fn (ctx: the struct cluster). */
bool cluster_po_gate(void *ctx, const char *po_name);

/* The engine that owns PO name's shard as every instance's published status
 * last said (cluster/status.h), into ret; false (ret "") when none is
 * known. For telling an operator where to go, not for fencing. */
bool cluster_shard_owner(struct cluster *c, const char *po_name, char *ret, size_t len);

/* This instance's name. */
const char *cluster_instance(const struct cluster *c);
/* engine role: the other live engines' live attacks or mitigations, each
 * with "instance" (cluster/peers.h; cached for a second; the caller must
 * not change the elements); NULL in other roles or out of memory. Loop
 * thread. */
json_t *cluster_peer_list(struct cluster *c, enum clpeers_kind kind);

/* GET /api/v1/cluster: the role, owned shards, lag and counters, and
 * "instances": every live instance's status (cluster/status.h). */
void cluster_api_get(struct api_req *r);

#endif
