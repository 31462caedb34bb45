/*
 * priv_client: the engine's end of the privileged channel — each call is
 * one request of priv/proto.h and waits for its reply (the driver calls it
 * stands for were synchronous on the engine loop before the split, and
 * stay so). A reply that does not come within the timeout fails the call
 * with -ETIMEDOUT; a late reply is recognised by its sequence number and
 * dropped. A closed channel (the privileged side is gone) fails every call
 * with -EPIPE: the engine then stops, and the supervisor starts a new pair.
 */
#ifndef MOAT_ENGINE_PRIV_CLIENT_H
#define MOAT_ENGINE_PRIV_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "engine/mitigate/manager.h"

struct priv_client;

/* A client on the connected socket fd (ownership passes, also on failure). */
int priv_client_new(int fd, int timeout_ms, struct priv_client **ret);
void priv_client_free(struct priv_client *c);

/* Open the privileged side's driver `name` (configured there); *ret_handle. */
int priv_client_open(struct priv_client *c, const char *name, int32_t *ret_handle);
int priv_client_close(struct priv_client *c, int32_t handle);
int priv_client_apply(struct priv_client *c, int32_t handle, const struct mit_rule *r);
int priv_client_withdraw(struct priv_client *c, int32_t handle, uint64_t id);
/* The rule ids the driver finds installed; the caller frees *ret_ids. */
int priv_client_installed(struct priv_client *c, int32_t handle, uint64_t **ret_ids,
    size_t *ret_n);
int priv_client_counters(struct priv_client *c, int32_t handle, uint64_t id,
    struct mit_counters *ret);
/* The driver's peers (never blocked), at most max into out; -EOPNOTSUPP: none. */
int priv_client_peers(struct priv_client *c, int32_t handle, struct ipaddr *out, size_t max,
    size_t *ret_n);

/* An asynchronous driver's status (mit_driver_ops.status); -EOPNOTSUPP: none. */
int priv_client_status(struct priv_client *c, int32_t handle, struct mit_driver_status *ret);

/*
 * Send a raw datagram and wait for any reply's result: for tests of the
 * server's refusals. Returns the reply's result or a negative errno.
 */
int priv_client_raw(struct priv_client *c, const void *msg, size_t len);

#endif
