/*
 * cluster/nats: moat's use of NATS JetStream through the C client
 * (libnats): one connection, the deltas stream and the shard-lease KV
 * bucket. Nothing here is a protocol of moat's own: publishing is a
 * JetStream publish acknowledged by the stream (with a message id, so a
 * retried publish is stored once), leases are KV create/update with the
 * expected revision, consuming is an ephemeral push consumer per subject.
 *
 *   stream  MOAT_DELTAS  subjects moat.deltas.>  (file storage, 5 min, 2 min dedup window)
 *   bucket  moat_shards  keys shard.<n> (lease: value = instance) and
 *                        engine.<instance> (liveness), TTL = lease_ttl
 *
 * Every call may block up to the JetStream request timeout (1 s): call
 * them from the cluster module's worker thread, never from the engine's
 * loop. Message callbacks run on libnats's threads. Errors are negative
 * errno values with a text in err (libnats's status text).
 */
#ifndef MOAT_ENGINE_CLUSTER_NATS_H
#define MOAT_ENGINE_CLUSTER_NATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/cluster/conf.h"

#define CLNATS_STREAM "MOAT_DELTAS"
#define CLNATS_BUCKET "moat_shards"
#define CLNATS_SUBJECT_PREFIX "moat.deltas."

struct clnats;
struct clnats_sub;

/* Connect (libnats keeps retrying in the background when no server
 * answers yet, and reconnects forever after). */
int clnats_open(const struct cluster_conf *cc, struct clnats **ret, char *err, size_t errlen);
void clnats_close(struct clnats *n);
/* Release libnats's own threads and memory (after the last clnats_close). */
void clnats_library_close(void);
bool clnats_connected(struct clnats *n);
/* Make sure the stream and the bucket exist (idempotent); 0 once done. */
int clnats_setup(struct clnats *n, char *err, size_t errlen);

/* Publish and wait for the stream's ack; msgid de-duplicates a retry. */
int clnats_publish(struct clnats *n, const char *subject, const void *data, size_t len,
    const char *msgid, char *err, size_t errlen);

typedef void (*clnats_msg_fn)(void *ctx, const void *data, size_t len);
/* Consume subject from now on (an ephemeral consumer, no acks). */
int clnats_subscribe(struct clnats *n, const char *subject, clnats_msg_fn fn, void *ctx,
    struct clnats_sub **ret, char *err, size_t errlen);
void clnats_unsubscribe(struct clnats_sub *s);

/* KV: create only if absent (-EEXIST otherwise); update only at revision
 * last (-ESTALE otherwise); delete; count keys starting with prefix. */
int clnats_kv_create(struct clnats *n, const char *key, const char *val, uint64_t *ret_rev);
int clnats_kv_update(struct clnats *n, const char *key, const char *val, uint64_t last,
    uint64_t *ret_rev);
int clnats_kv_delete(struct clnats *n, const char *key);
/* The value (NUL-terminated, cut to max - 1 bytes) of key; -ENOENT. */
int clnats_kv_get(struct clnats *n, const char *key, char *val, size_t max);
int clnats_kv_count(struct clnats *n, const char *prefix, unsigned *ret);
/* Write key unconditionally (no revision check). */
int clnats_kv_put(struct clnats *n, const char *key, const void *val, size_t len);
/* Call fn with the key and value of each key starting with prefix, at most
 * max of them (the rest are not read); returns how many were read. */
typedef void (*clnats_kv_fn)(void *ctx, const char *key, const void *val, size_t len);
int clnats_kv_each(struct clnats *n, const char *prefix, unsigned max, clnats_kv_fn fn, void *ctx);

#endif
