/*
 * cluster/peers: the other engines' attacks and mitigations, for the REST
 * API of the whole deployment (GET /api/v1/attacks, /api/v1/mitigations on
 * an engine list the deployment's, each with the instance that owns it).
 *
 * Each engine keeps its learned state in the shared store under its own
 * namespace cluster/<instance>/ (engine/cluster/module.h): the decision
 * point's blob "detect/decision" (decision_save()) and the mitigation
 * table "mitigate/state" (JSON, only its live mitigations). This reads
 * them for the live engines other than this one (as their published
 * status lists them, cluster/status.h) and lists what they hold without
 * adopting anything. Blobs are untrusted: the decision blob goes through
 * decision_load() (bounds-checked, all or nothing); the mitigation table
 * must be a JSON object whose "mitigations" is an array of objects each
 * with a positive integer "id" and a "request" object with a string
 * "po" — other entries are left out; a blob that does not decode lists
 * nothing. Bounded: CLPEERS_BLOB_MAX bytes per blob, LIMIT_ATTACKS_LIVE
 * entries per instance. A listing is cached for a second (the state is
 * saved at each change and every minute anyway), so a dashboard polling
 * every instance costs one read per blob and second.
 *
 * Loop thread only (it uses the engine's store); the store's kv namespace
 * is switched to the other instance's for each read and back to self's.
 */
#ifndef MOAT_ENGINE_CLUSTER_PEERS_H
#define MOAT_ENGINE_CLUSTER_PEERS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "engine/store/store.h"

/* A blob of another instance read at most: 16 MiB (4096 live attacks with
 * their top lists, or mitigations, fit many times over). */
#define CLPEERS_BLOB_MAX (16u << 20)

/* CLPEERS_ATTACKS lists attacks as GET /api/v1/attacks does,
 * CLPEERS_ATTACKS_FULL as GET /api/v1/attacks/{id} does (detectors, top
 * lists); both read the same blob. */
enum clpeers_kind { CLPEERS_ATTACKS, CLPEERS_MITIGATIONS, CLPEERS_ATTACKS_FULL, CLPEERS__COUNT };

struct clpeers;

int clpeers_new(struct clpeers **ret);
void clpeers_free(struct clpeers *p);	/* accepts NULL */

/*
 * The live attacks (kind CLPEERS_ATTACKS, as GET /api/v1/attacks shows them)
 * or live mitigations of every engine in instances (a cluster/status
 * snapshot: objects with "instance" and "role") other than self, each with
 * "instance"; a new reference (the caller must not change the elements).
 * now_ns: monotonic, for the cache. NULL when out of memory.
 */
json_t *clpeers_list(struct clpeers *p, struct store *s, const char *self,
    const json_t *instances, enum clpeers_kind kind, uint64_t now_ns);

/* The entry of a clpeers_list() whose "id" is id (borrowed), or NULL. */
json_t *clpeers_find(const json_t *list, uint64_t id);

/* The decoders (exposed for the tests and the fuzzer): append to out what
 * the blob lists, each with "instance"; return how many, or -EINVAL when
 * the blob does not decode (out unchanged). */
int clpeers_decode_attacks(const void *blob, size_t len, const char *instance, json_t *out);
int clpeers_decode_mitigations(const void *blob, size_t len, const char *instance, json_t *out);

#endif
