/*
 * priv/proto: the messages between moatd's unprivileged engine and its
 * privileged part (priv/server.c), over one AF_UNIX SOCK_SEQPACKET
 * socketpair made before the engine drops its privileges.
 *
 * The privileged part does one thing: drive the mitigation drivers, which
 * are the only code of moatd that changes kernel or router state (nftables
 * rules, the XDP program and its maps, the BGP speaker's announcements,
 * moat-ins denies). Everything else — the parsers of network input,
 * detection, the REST API, the store — runs in the engine, which holds no
 * capability. So the vocabulary is the driver interface of
 * mitigate/manager.h and nothing more: open a driver, apply a rule,
 * withdraw a rule, list rules, read counters, list the driver's peers
 * (never to be blocked), read an asynchronous driver's status (failures
 * and drops after apply() returned), close.
 *
 * Every message is one datagram: a fixed header, then a body whose size is
 * exact for its type. Requests carry a sequence number the reply echoes.
 * The server checks version, type, size and every field of a rule before
 * anything reaches a driver, and answers a malformed request with -EPROTO
 * and a log line; it never trusts the engine (which parses hostile input)
 * more than these few typed requests allow.
 */
#ifndef MOAT_ENGINE_PRIV_PROTO_H
#define MOAT_ENGINE_PRIV_PROTO_H

#include <stdint.h>

#include "engine/mitigate/manager.h"

#define PRIV_VERSION 1u
/* Rule ids one INSTALLED reply lists; a driver with more answers -E2BIG. */
#define PRIV_MAX_IDS 1024u
/* Peers one PEERS reply lists (a BGP speaker's neighbours). */
#define PRIV_MAX_PEERS 64u

enum priv_type {
	PRIV_OPEN = 1,		/* body: priv_open; reply: handle */
	PRIV_CLOSE,		/* no body */
	PRIV_APPLY,		/* body: struct mit_rule */
	PRIV_WITHDRAW,		/* body: priv_id */
	PRIV_INSTALLED,		/* no body; reply body: n ids */
	PRIV_COUNTERS,		/* body: priv_id; reply body: struct mit_counters */
	PRIV_PEERS,		/* no body; reply body: n struct ipaddr */
	PRIV_STATUS,		/* no body; reply body: struct mit_driver_status */
	PRIV_REPLY = 0x80,
};

struct priv_hdr {
	uint16_t version;	/* PRIV_VERSION */
	uint16_t type;		/* enum priv_type */
	uint32_t seq;		/* echoed by the reply */
	int32_t handle;		/* the driver, from OPEN's reply; -1 for OPEN */
	int32_t result;		/* replies: 0 or a negative errno */
};

struct priv_open {
	char driver[MIT_DRIVER_NAME];	/* NUL-terminated, a name of the server's table */
};

struct priv_id {
	uint64_t id;
};

/* The largest datagram either side sends. */
#define PRIV_MSG_MAX (sizeof(struct priv_hdr) + PRIV_MAX_IDS * sizeof(uint64_t))

#endif
