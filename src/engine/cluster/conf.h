/*
 * cluster/conf: the `cluster:` section of moatd.yaml — which role this
 * instance plays in a deployment sharing the work over NATS JetStream
 * (docs/scale.md):
 *
 *   cluster:
 *     role: all | collect | engine     # default all: one machine, no NATS
 *     instance: edge-1                 # default: the host name
 *     shards: 16                       # PO shards (the same on every instance)
 *     nats:
 *       urls: ["nats://10.0.0.1:4222", "nats://10.0.0.2:4222"]
 *       creds: /etc/moat/nats.creds    # a NATS credentials file (JWT + seed)
 *       tls: { ca: /etc/moat/nats-ca.pem, cert: ..., key: ... }
 *       replicas: 1                    # JetStream replicas of the stream and the bucket
 *     lease_ttl: 3s                    # a dead engine's shards free up after this
 *     buffer: 30s                      # seconds of deltas a collector keeps while NATS is down
 *     merge_grace_ms: 1500             # engine: how long a second waits for its other collectors
 *
 * Secrets are never in the file: a password in a URL (user:pw@) is refused;
 * credentials come from the creds file or a TLS client certificate. The
 * parse never logs; it returns FILE:LINE:COL errors.
 */
#ifndef MOAT_ENGINE_CLUSTER_CONF_H
#define MOAT_ENGINE_CLUSTER_CONF_H

#include <stdbool.h>
#include <stdint.h>

#include "common/cfg.h"

/* Caps (kept here, next to their only user). */
#define CLUSTER_MAX_URLS 8u		/* a NATS cluster is a handful of seed servers */
#define CLUSTER_MAX_SHARDS 1024u	/* a lease per shard is renewed every second */
#define CLUSTER_NAME_MAX 63u		/* instance names go into NATS subjects and KV keys */
#define CLUSTER_PATH_MAX 255u

enum cluster_role { CLUSTER_ALL, CLUSTER_COLLECT, CLUSTER_ENGINE };

struct cluster_conf {
	enum cluster_role role;
	char instance[CLUSTER_NAME_MAX + 1];
	uint32_t shards;
	char urls[CLUSTER_MAX_URLS][CLUSTER_PATH_MAX + 1];
	unsigned nurls;
	char creds[CLUSTER_PATH_MAX + 1];	/* "" = none */
	char tls_ca[CLUSTER_PATH_MAX + 1];	/* "" = no TLS unless a tls:// URL */
	char tls_cert[CLUSTER_PATH_MAX + 1];
	char tls_key[CLUSTER_PATH_MAX + 1];
	unsigned replicas;
	int64_t lease_ttl_s;
	int64_t buffer_s;
	uint64_t merge_grace_ms;	/* engine: wait for a second's other collectors */
};

struct settings;

/* The section's parse and free (settings.h); absent section: role all. */
int cluster_conf_parse(struct settings *c, const struct cfg_node *n, void **ret_ext,
    struct cfg_error *err);
void cluster_conf_free(void *ext);

const char *cluster_role_name(enum cluster_role r);

/* The shard of a PO: FNV-1a of its name modulo shards (every instance
 * computes the same). */
uint32_t cluster_shard_of(const char *po_name, uint32_t shards);

/* The first attack and mitigation id of this instance: 0 (ids from 1, as
 * ever) unless its role is engine; then a block of 2^32 ids of its own,
 * from its instance name ((FNV-1a mod 2^20) + 1) << 32, below 2^53 so ids
 * stay exact in JSON. Ids stay unique across engines, so an attack taken
 * over from another engine keeps its id. */
uint64_t cluster_id_base(const struct settings *s);

#endif
