/*
 * lsn: listeners owned by moat-ins on behalf of the application.
 *
 * The broker keeps the real listening socket; the application gets the other
 * end of a SOCK_SEQPACKET socketpair — the doorbell. Each accepted connection
 * is either handed over at once or held (policy: until first bytes or
 * complete HTTP headers, peeking without consuming, within a deadline and a
 * per-source cap), then sent on the doorbell as an INS_CONN message carrying
 * the connected socket. When the doorbell is full the connection waits in a
 * bounded per-listener queue; when the application closes every copy of its
 * doorbell the listener is closed.
 */
#ifndef MOAT_INS_LSN_H
#define MOAT_INS_LSN_H

#include <stdbool.h>
#include <stdint.h>

#include "ins/broker.h"
#include "proto/insproto.h"

/*
 * Make sock (a bound or unbound TCP socket of the application, received over
 * the control socket) a broker-owned listener. On success the broker owns
 * sock and *ret_bell is the application's doorbell end (the caller sends it
 * and closes its copy). Returns 0 or a negative errno (sock untouched).
 */
int lsn_create(struct broker *b, int sock, int backlog, int *ret_bell);

/* The local address of the listener whose doorbell is bell (an app-side end). */
int lsn_getname(struct broker *b, int bell, struct ins_addr *ret);

/*
 * True if a connection with this local address was accepted on one of the
 * application's listeners: same port, and the listener's address is the
 * wildcard or the same address (IPv4-mapped forms compare equal). The
 * observer judges and may destroy only such connections, never others of the
 * namespace that happen to share a port number.
 */
bool lsn_owns_local(const struct broker *b, const struct ins_addr *local);

/* Expire held connections past their deadline; called from the loop. */
void lsn_tick(struct broker *b, uint64_t now_ms);

/* Close every listener and held connection. */
void lsn_free_all(struct broker *b);

#endif
