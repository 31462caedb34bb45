/*
 * cluster/status: every instance of a deployment says how it is, so that
 * any instance's API (GET /api/v1/cluster) and `moat status` show them all.
 *
 * Each instance (collector or engine) writes its status every second to
 * the key status.<instance> of the KV bucket moat_shards (cluster/nats.h):
 * a JSON object with at least "instance" and "role" (and its shards, lag,
 * counters, version and wall time, as the module builds it). The bucket's
 * TTL (lease_ttl) removes the key of an instance that stopped writing, so
 * the list holds only live instances. A clean stop deletes the key.
 *
 * clstatus_step() runs on the cluster worker thread (it blocks on NATS):
 * it writes this instance's status, then reads every status.* key into a
 * snapshot. The snapshot is what the other calls read, from any thread,
 * without touching NATS. Other instances' values are untrusted: one that
 * is not a JSON object with string "instance" and "role", or is longer
 * than CLSTATUS_VALUE_MAX, is left out.
 */
#ifndef MOAT_ENGINE_CLUSTER_STATUS_H
#define MOAT_ENGINE_CLUSTER_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "engine/cluster/conf.h"
#include "engine/cluster/nats.h"

/* Instances listed at most: a deployment's collectors and engines. */
#define CLSTATUS_MAX 256u
/* A status value's bytes at most (an engine with every shard listed). */
#define CLSTATUS_VALUE_MAX 16384u
#define CLSTATUS_PREFIX "status."

struct clstatus;

int clstatus_new(const struct cluster_conf *cc, struct clnats *n, struct clstatus **ret);
/* release: delete this instance's key (a clean stop). */
void clstatus_free(struct clstatus *s, bool release);

/* Worker thread: publish own (a JSON object, borrowed), then read all. */
void clstatus_step(struct clstatus *s, const json_t *own);

/* The live instances of the last step, sorted by instance name (a new
 * array, the caller owns it); NULL when out of memory. */
json_t *clstatus_instances(struct clstatus *s);
/* The engine whose last status lists shard among its "owned" ones, copied
 * into ret (len bytes); false when none does. */
bool clstatus_shard_owner(struct clstatus *s, uint32_t shard, char *ret, size_t len);

/* Whether a status value is one to list (exposed for the tests): a JSON
 * object with string "instance" (a valid instance name) and "role". */
json_t *clstatus_parse(const void *val, size_t len);

#endif
