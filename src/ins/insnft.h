/*
 * insnft: the connect policy enforced by the kernel. moat-ins marks every
 * socket it hands to an application (SO_MARK = policy.mark) and keeps, in its
 * own network namespace, one nftables table whose output chain lets marked
 * packets out only to the policy's destinations:
 *
 *   table inet moat_ins {
 *     counter denied
 *     chain output { type filter hook output priority 0; policy accept;
 *       meta mark != MARK accept            # not ours: untouched
 *       ct state established,related accept  # replies on accepted connections
 *       meta l4proto udp counter name denied drop    # when connect.udp is false
 *       ip daddr { ALLOWED } accept ; ip6 daddr { ALLOWED } accept   # or "accept" when any
 *       meta l4proto tcp counter name denied reject with tcp reset
 *       counter name denied drop }
 *   }
 *
 * A refused TCP connect(2) gets a reset (ECONNREFUSED at once); a dropped
 * datagram fails its sendto(2) with EPERM. Changing
 * a socket's mark needs CAP_NET_ADMIN over moat-ins's namespace, which the
 * application must not have. Every change is one nftables transaction: a
 * reload never leaves a moment without rules.
 */
#ifndef MOAT_INS_INSNFT_H
#define MOAT_INS_INSNFT_H

#include <stdbool.h>
#include <stddef.h>

#include "ins/policy.h"

#define INSNFT_TABLE "moat_ins"
#define INSNFT_CHAIN "output"
#define INSNFT_COUNTER "denied"

struct insnft;

/*
 * The JSON batch (libnftables-json) that installs p's rules. fresh: delete
 * any table of that name first (a stale one from a crashed run), which also
 * zeroes the counter; otherwise the chain is flushed and refilled and the
 * counter kept. Returns a malloc'd string, or NULL on allocation failure.
 */
char *insnft_batch_json(const struct policy *p, bool fresh);

/* Install p's rules, replacing a stale table. Returns 0 or a negative errno; err gets nft's words. */
int insnft_open(struct insnft **ret, const struct policy *p, char *err, size_t errlen);
/* Replace the rules with p's in one transaction (policy reload). */
int insnft_update(struct insnft *n, const struct policy *p, char *err, size_t errlen);
/* Remove the table and free; NULL is fine. */
void insnft_close(struct insnft *n);

#endif
