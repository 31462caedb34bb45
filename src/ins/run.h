/*
 * run: moat-ins as a daemon around its broker (broker.h) — what main.c hands
 * over once the options are parsed.
 *
 * It claims the namespace's mark and installs the kernel's connect policy
 * (insnft.h), takes signals through the broker's event loop (SIGHUP reloads
 * the policy through the caller's callback; in run mode every other signal
 * is passed on to the command, which decides how to end; otherwise SIGTERM,
 * SIGINT, SIGQUIT, SIGUSR1 and SIGUSR2 stop the broker), starts the command
 * in run mode (with --isolate in a network namespace of its own, sealed by
 * isolate.h, as the --user, under notif.h's filter whose listener it serves),
 * confines the process (common/sandbox.h: the broker user, a few
 * capabilities, no_new_privs, seccomp; rofs.h: read-only file access) and
 * serves until the command exits or a signal says stop.
 *
 * Process-wide steps, so one run per process: signals are blocked for the
 * loop's signalfd and stay blocked; children are reaped with waitpid(-1).
 * Unrecoverable set-up errors (no control socket, a mark held by another
 * moat-ins, confinement refused) exit the process with a message, as the
 * daemon must not run half set up.
 */
#ifndef MOAT_INS_RUN_H
#define MOAT_INS_RUN_H

#include <stdbool.h>
#include <sys/types.h>

#include "ins/broker.h"
#include "ins/insnft.h"
#include "ins/notif.h"
#include "ins/policy.h"

/* The user the command runs as (--user), resolved by the caller. */
struct run_user {
	bool set;
	uid_t uid;
	gid_t gid;
	char name[64];
	char home[256];
};

/* SIGHUP: the policy again (defaults, file, command-line overrides) into *ret;
   0, or a negative errno to keep the current one. */
typedef int (*run_reload_fn)(void *ctx, struct policy *ret);

/* The system user moat-ins becomes after set-up unless told otherwise (scripts/deps makes it). */
#define RUN_BROKER_USER "moat"

struct run_opts {
	const char *sock;	/* control socket; NULL in run mode: a private directory */
	const char *ipfix;	/* "ADDR:PORT" of an IPFIX collector, or NULL */
	char **cmd;		/* run mode: the command (argv, NULL-terminated); NULL: serve */
	const char *shim;	/* run mode: LD_PRELOAD for the command; NULL: none */
	struct run_user user;	/* run mode: whom the command runs as, if set */
	bool isolate;		/* run mode: the command in an empty network namespace */
	bool no_sandbox;	/* skip confinement (debugging) */
	const char *broker_user;	/* --broker-user: whom moat-ins becomes after set-up;
					   NULL: RUN_BROKER_USER if it exists; "root": stays uid 0 */
	const char *policy;	/* the policy file SIGHUP re-reads, or NULL */
	run_reload_fn reload;	/* NULL: SIGHUP keeps the policy */
	void *reload_ctx;
};

struct run {
	struct broker b;
	struct insnft *nft;		/* the kernel's copy of the connect policy, or NULL */
	struct insnft_claim claim;	/* our mark in this network namespace (fd -1: none) */
	run_reload_fn reload;
	void *reload_ctx;
	struct notif *notif;		/* run mode: socket(2) past the shim (notif.h), or NULL */
	pid_t child;			/* run mode: the command, or 0 */
	int child_status;
	bool child_done;
};

/*
 * Run moat-ins with policy pol (its mark is claimed and written back) and
 * return its exit status: in run mode the command's (128 + signal when a
 * signal ended it, 126/127 when it could not be started); when serving, 0
 * after a stop signal and 1 when the loop failed.
 */
int run_main(const struct run_opts *o, struct policy *pol);

#endif
