/*
 * insnft: the connect policy enforced by the kernel. moat-ins marks every
 * socket it hands to an application (SO_MARK = policy.mark) and keeps, in its
 * own network namespace, one nftables table whose output chain lets marked
 * packets out only to the policy's destinations:
 *
 *   table inet moat_ins_MARK {       # MARK in 8 hex digits: one table per moat-ins
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
 *
 * Several moat-ins may share a network namespace (`moat run`, one per
 * program), so each holds its own mark and its own table: the mark is claimed
 * with an flock on DIR/net-NETNS-mark-MARK.lock (NETNS = inode of
 * /proc/self/ns/net) held for the process's life. The kernel drops the lock
 * when its holder dies however it dies, so a table whose mark we have just
 * locked is stale by definition; tables of marks held by others are never
 * touched.
 */
#ifndef MOAT_INS_INSNFT_H
#define MOAT_INS_INSNFT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ins/policy.h"

#define INSNFT_TABLE_PREFIX "moat_ins_"
#define INSNFT_TABLE_LEN sizeof(INSNFT_TABLE_PREFIX "12345678")
#define INSNFT_CHAIN "output"
#define INSNFT_COUNTER "denied"
/* Where the mark locks live (created 0700); one directory per mount namespace. */
#define INSNFT_LOCK_DIR "/run/moat-ins"

struct insnft;

/* A mark held by this process: the locked file's descriptor and path. */
struct insnft_claim {
	int fd;			/* -1: none held */
	uint32_t mark;
	char path[PATH_MAX];
};

/* The table of mark: "moat_ins_" and the mark in 8 lower-case hex digits. */
void insnft_table_name(uint32_t mark, char buf[INSNFT_TABLE_LEN]);

/* This process's network namespace, as the inode of /proc/self/ns/net. 0 or a negative errno. */
int insnft_netns(uint64_t *ret);

/* DIR/net-NETNS-mark-MARK.lock (MARK in 8 hex digits). 0 or -ENAMETOOLONG. */
int insnft_lock_path(char *buf, size_t len, const char *dir, uint64_t netns, uint32_t mark);

/*
 * Claim a mark in network namespace netns for the rest of this process's
 * life (the lock descriptor is CLOEXEC, so the command does not inherit it).
 * any: the first free mark of POLICY_MARK_BASE + 0..POLICY_MARK_COUNT-1;
 * otherwise exactly mark. dir is created 0700 if missing and must be ours
 * and writable by us only. The claim's file holds our pid, for the message
 * of whoever finds the mark taken.
 *
 * Returns 0 and fills *ret; -EBUSY when the explicit mark is held by a live
 * process (*ret_holder = its pid, 0 if unknown); -EADDRINUSE when every mark
 * of the range is held; another negative errno when dir or a file cannot be
 * made. *ret and *ret_holder are written only in those cases.
 */
int insnft_mark_claim(const char *dir, uint64_t netns, uint32_t mark, bool any,
		      struct insnft_claim *ret, pid_t *ret_holder);

/*
 * Give the mark up: remove the file, then unlock. Only once our table is
 * gone, or the next claimer's fresh table would be deleted by our exit.
 * A claim with fd -1 is fine.
 */
void insnft_mark_release(struct insnft_claim *c);

/*
 * The JSON batch (libnftables-json) that installs p's rules in table
 * moat_ins_<p->mark>. fresh: delete any table of that name first (a stale
 * one: its mark is claimed by us, so its owner is dead), which also
 * zeroes the counter; otherwise the chain is flushed and refilled and the
 * counter kept. Returns a malloc'd string, or NULL on allocation failure.
 */
char *insnft_batch_json(const struct policy *p, bool fresh);

/*
 * Install p's rules, replacing a stale table of p->mark. The caller holds
 * the claim of p->mark. Returns 0 or a negative errno; err gets nft's words.
 */
int insnft_open(struct insnft **ret, const struct policy *p, char *err, size_t errlen);
/* Replace the rules with p's in one transaction (policy reload). */
int insnft_update(struct insnft *n, const struct policy *p, char *err, size_t errlen);
/* Remove the table and free; NULL is fine. Then release the mark's claim, not before. */
void insnft_close(struct insnft *n);

#endif
