/*
 * priv_proxy: the engine's mitigation drivers when moatd runs split
 * (--user). Each row of a proxy table bears the name of a real driver and
 * forwards every call over the privileged channel (priv/client.h), where
 * the real driver runs with the privileged part's own copy of the driver
 * configuration. The mitigation manager cannot tell the difference: it is
 * handed the proxy table instead of the real one (mit_mgr_route()).
 *
 * open()'s config is ignored on purpose: the engine parses hostile input
 * and must not be able to choose what a driver is configured to do; the
 * privileged part read the same file before the split.
 */
#ifndef MOAT_ENGINE_PRIV_PROXY_H
#define MOAT_ENGINE_PRIV_PROXY_H

#include <stddef.h>

#include "engine/mitigate/manager.h"

struct priv_client;
struct priv_proxy_table;

/*
 * A table with one proxy row per row of `real` (same names, at most
 * MIT_MAX_DRIVERS), all forwarding through c, which must outlive the table.
 */
int priv_proxy_table_new(struct priv_client *c, const struct mit_driver_ops *const *real,
    size_t n, struct priv_proxy_table **ret);
void priv_proxy_table_free(struct priv_proxy_table *t);
/* The rows, for mit_mgr_new()/mit_mgr_route(); valid while t lives. */
const struct mit_driver_ops *const *priv_proxy_rows(const struct priv_proxy_table *t,
    size_t *ret_n);

#endif
