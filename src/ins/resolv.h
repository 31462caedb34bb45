/*
 * resolv: name resolution for shim clients, off the broker's loop.
 *
 * getaddrinfo() may wait seconds for a DNS server; the broker must keep
 * accepting and shedding meanwhile. RESOLVE requests are queued (at most
 * RESOLV_QUEUE_MAX waiting) to RESOLV_THREADS worker threads; finished
 * replies wait in a completion queue and an eventfd becomes readable. The
 * broker then collects them on its own thread and sends them. A request is
 * identified by the caller's tag (the client's id), so a client that went
 * away meanwhile is simply not found.
 */
#ifndef MOAT_INS_RESOLV_H
#define MOAT_INS_RESOLV_H

#include <stdint.h>

#include "proto/insproto.h"

#define RESOLV_THREADS 2
/* Requests waiting for a worker; beyond it RESOLVE fails with EAI_AGAIN. */
#define RESOLV_QUEUE_MAX 256

struct resolv;

int resolv_init(struct resolv **ret);
/* Stops the workers (waiting for the current lookups) and frees everything. */
void resolv_free(struct resolv *r);
/* Readable when finished replies wait. */
int resolv_fd(const struct resolv *r);
/* Queue req (an INS_RESOLVE); -EAGAIN when the queue is full. */
int resolv_submit(struct resolv *r, uint64_t tag, const struct ins_msg *req);
/* Hand every finished reply (type RESOLVE|REPLY, id and status set) to fn. */
void resolv_collect(struct resolv *r, void (*fn)(void *arg, uint64_t tag, const struct ins_msg *rep),
		    void *arg);

/* Do one lookup synchronously into rep (exposed for tests); returns 0 or an EAI_* code. */
int resolv_lookup(const struct ins_msg *req, struct ins_msg *rep);

#endif
