/*
 * privsep: moatd split in two processes, in the manner of OpenBSD's bgpd
 * and relayd.
 *
 *   moatd (root) ── the privileged part: supervises the engine and owns
 *     │             the mitigation drivers (priv/server.c); reads nothing
 *     │             from the network, parses nothing but its typed requests.
 *     └─ moatd: engine ── everything else: collectors and parsers, detection,
 *                         the store, the REST API. It opens what needs
 *                         privilege (listeners, capture sockets) and then
 *                         drops it for good: the engine user, no
 *                         capabilities, no_new_privs, a seccomp allow-list.
 *
 * The engine asks for kernel and router changes over a socketpair
 * (priv/proto.h). When it dies — a crash, a kill, a health-tracker restart
 * request — the privileged part keeps every rule in force, closes the
 * drivers' handles and starts a new engine, which reconciles what is
 * installed with what it had persisted. More than PRIVSEP_MAX_RESPAWNS
 * deaths within PRIVSEP_RESPAWN_WINDOW_S stop moatd with exit code 1 (the
 * service manager decides). SIGTERM/SIGINT and SIGHUP are passed on to the
 * engine; the privileged part exits with the engine's code once a stop was
 * asked for.
 */
#ifndef MOAT_ENGINE_PRIV_SEP_H
#define MOAT_ENGINE_PRIV_SEP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "engine/mitigate/manager.h"

#define PRIVSEP_MAX_RESPAWNS 5u
#define PRIVSEP_RESPAWN_WINDOW_S 60u
/* The engine's wait for one driver call; a BGP speaker can be slow. */
#define PRIVSEP_CALL_TIMEOUT_MS 30000

struct privsep_opts {
	const char *user;		/* the engine's user (its primary group) */
	const char *conf_path;		/* the drivers' configuration; NULL: default or embedded */
	const char *state_dir;		/* made the user's own, 0700 */
	const struct mit_driver_ops *const *table;	/* the drivers the privileged part runs */
	size_t ntable;
};

/* The engine user's ids, looked up once before anything changes. */
struct privsep_user {
	uid_t uid;
	gid_t gid;
};

/*
 * Split. Returns 1 in the engine process, with *ret_fd its end of the
 * channel; the engine's file system identity is already the user's (so what
 * it creates is the user's), its capabilities are still those it was
 * started with, until privsep_drop(). Returns 0 in the privileged process
 * when moatd is done, with *ret_exit the exit code. A negative errno (and a
 * log line) when the split could not be made.
 */
int privsep_split(const struct privsep_opts *o, int *ret_fd, int *ret_exit);

/*
 * In the engine, once its listeners and capture sockets are open: become
 * the user for good, with no capability, no_new_privs and the engine's
 * seccomp allow-list (a call outside it fails with EPERM). Returns 0 or a
 * negative errno with errbuf saying what failed (the engine must exit).
 */
int privsep_drop(const char *user, char *errbuf, size_t errbuf_len);

/* The system calls the engine makes besides sandbox_base_syscalls. */
extern const char *const privsep_engine_syscalls[];

#endif
