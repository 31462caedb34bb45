/*
 * cluster/lease: which shards this engine instance owns, through leases in
 * the JetStream KV bucket (cluster/nats.h) — never a protocol of moat's own.
 *
 * A shard's lease is the key shard.<n> whose value is the owner's
 * instance name. It is taken with a KV create (only if the key is absent)
 * and renewed every step with a KV update at the revision the owner last
 * wrote (compare-and-set): the revision is the fencing token. The bucket's
 * TTL (lease_ttl) removes a key nobody renews, so a dead engine's shards
 * are free lease_ttl after its last renewal and another engine creates
 * them at its next step. Engines announce themselves with engine.<name>
 * keys under the same TTL; each takes up to its fair share,
 * ceil(shards / live engines), and gives back one shard per step while it
 * holds more (so a new engine gets work). For each shard it does not hold,
 * an engine notes who does (the key's value), so that when it takes a
 * shard over it knows whose state to adopt.
 *
 * lease_step() runs on the cluster worker thread (it blocks on NATS);
 * lease_holds() is safe from any thread: it says whether the lease was
 * renewed recently enough that no other engine can have taken it (the
 * last renewal less than lease_ttl - 1 s ago).
 */
#ifndef MOAT_ENGINE_CLUSTER_LEASE_H
#define MOAT_ENGINE_CLUSTER_LEASE_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/cluster/conf.h"
#include "engine/cluster/nats.h"

struct lease;

/* Told (on the worker thread) when a shard is won or lost; prev: when won,
 * the instance last seen holding it ("" = none seen, or this one). */
typedef void (*lease_change_fn)(void *ctx, uint32_t shard, bool owned, const char *prev);

int lease_new(const struct cluster_conf *cc, struct clnats *n, lease_change_fn fn, void *ctx,
    struct lease **ret);
/* Give every held shard back (delete its key) and free. */
void lease_free(struct lease *l, bool release);

/* One round: heartbeat, renew, give back, take; now_ns monotonic. */
void lease_step(struct lease *l, uint64_t now_ns);

/*
 * Hand-over on rebalance (optional): with fn set, a shard given back
 * because another engine joined is first announced, fn(ctx, shard) on the
 * worker thread, and stays held (renewed, so no other engine takes it)
 * but fenced (lease_holds() says no: the engine stops acting on it) until
 * lease_given(l, shard) says its state was handed off; the key is deleted
 * at the next step after that, so the taker finds the hand-off. One shard
 * is handed at a time; one not handed within LEASE_GIVE_MAX_S is given back
 * anyway. lease_given() is safe from any thread.
 */
typedef void (*lease_give_fn)(void *ctx, uint32_t shard);
void lease_on_give(struct lease *l, lease_give_fn fn);
/* The hand-off of shard starts (the loop thread): false if the shard is
 * not being given any more (lost, or given up waiting); once true, the
 * shard stays held until lease_given(). */
bool lease_hand_begin(struct lease *l, uint32_t shard);
void lease_given(struct lease *l, uint32_t shard);

bool lease_holds(struct lease *l, uint32_t shard, uint64_t now_ns, uint64_t *ret_rev);
/* Shards held now, the live engines seen at the last step. */
unsigned lease_owned(struct lease *l, uint32_t *out, unsigned max);
unsigned lease_live(struct lease *l);

#endif
