/*
 * priv_server: the privileged half of moatd. It owns the mitigation
 * drivers (the only code that changes kernel or router state) and answers
 * the typed requests of priv/proto.h from the unprivileged engine.
 *
 * Drivers are opened from the server's own copy of the configuration
 * (`mitigate.drivers.<name>`, or defaults), never from anything the engine
 * sends, and only drivers of the table given at creation exist. Each
 * request is checked in full — version, type, exact size, handle, and every
 * field of a rule (enums, families, counts, prefix lengths, NUL-terminated
 * names, a rule that blocks something specific) — before a driver sees it;
 * a bad one is answered -EPROTO, counted and logged (rate-limited).
 *
 * Closing the server closes the drivers without withdrawing anything: the
 * rules stay in force for the next engine, which reconciles them.
 */
#ifndef MOAT_ENGINE_PRIV_SERVER_H
#define MOAT_ENGINE_PRIV_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "common/cfg.h"
#include "engine/mitigate/manager.h"

struct priv_server;

/*
 * A server over the driver table and the configuration document conf (may
 * be NULL: every driver on defaults); both are borrowed and must outlive
 * the server (or be replaced with priv_server_set_conf()).
 */
int priv_server_new(const struct mit_driver_ops *const *table, size_t n,
    const struct cfg_doc *conf, struct priv_server **ret);
/* Open drivers from conf from now on (a reloaded file); open ones stay. */
void priv_server_set_conf(struct priv_server *s, const struct cfg_doc *conf);
/* Close every open driver (nothing is withdrawn); accepts NULL. */
void priv_server_free(struct priv_server *s);

/*
 * Answer one request datagram req[0..len) into out (at least PRIV_MSG_MAX
 * bytes). Returns the reply's length; every request, good or bad, gets one.
 */
size_t priv_server_handle(struct priv_server *s, const void *req, size_t len, void *out);

/*
 * Read one request from the socket fd and send its reply. Returns 0, 1 when
 * the peer closed the socket, or a negative errno of the socket.
 */
int priv_server_serve(struct priv_server *s, int fd);

/* Requests refused as malformed since the server started. */
uint64_t priv_server_refused(const struct priv_server *s);

#endif
