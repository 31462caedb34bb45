/*
 * decision: the AttackDecisionPoint. Detections from every detector come
 * here; one attack is kept per (PO, protocol, direction, port-or-any),
 * joined by all detections of that traffic: an inbound flood and an
 * outbound burst of the same PO and protocol are separate attacks, each
 * typed from its own direction's readings. Outbound attacks are always
 * detect-only (reported, never mitigated).
 *
 * Lifecycle:  SUSPECTED --attack detection--> DECLARED --all detections
 * expired--> ENDING --quiet period since the last detection--> ENDED.
 * A new detection while ENDING returns the attack to DECLARED. A SUSPECTED
 * attack whose suspicions expire without a real detection is dropped
 * silently (it was never an attack). Ending an attack calls the reset hook
 * so the detectors forget that traffic's anomaly state. Each attack carries
 * its type, peak and current rates, and its top targets, sources and
 * source ports from bounded-memory sketches.
 *
 * Not thread-safe: the engine's loop (or the backtest) owns it.
 */
#ifndef MOAT_ENGINE_DECISION_H
#define MOAT_ENGINE_DECISION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/limits.h"
#include "engine/detect/registry.h"
#include "engine/detect/sketch.h"

enum decision_state {
	DECISION_NONE,		/* only as the "old" state of a new attack */
	DECISION_SUSPECTED,
	DECISION_DECLARED,
	DECISION_ENDING,
	DECISION_ENDED,
};

enum decision_type {
	DECISION_TYPE_UNKNOWN,
	DECISION_TYPE_SYN_FLOOD,
	DECISION_TYPE_UDP_FLOOD,
	DECISION_TYPE_ICMP_FLOOD,
	DECISION_TYPE_AMPLIFICATION,	/* with amp_port */
	DECISION_TYPE_TCP_OTHER,
	DECISION_TYPE_FRAGMENTS,
	DECISION_TYPE_OTHER,
	DECISION_TYPE_SLOWCONN,
	DECISION_TYPE_SCAN,
	DECISION_TYPE__COUNT,
};

enum decision_top { DECISION_TOP_TARGETS, DECISION_TOP_SOURCES, DECISION_TOP_SPORTS, DECISION_TOP__COUNT };
#define DECISION_TOP_N 5

/* One detector's contribution to an attack. */
struct decision_detector {
	const char *name;	/* static (the detector's ops name) */
	uint8_t confidence;	/* the latest */
	uint32_t count;		/* detections received */
	uint64_t first_ns, last_ns, expiry_ns;
};

struct decision_attack {
	uint64_t id;		/* 1, 2, ... never reused within a decision point's life */
	uint32_t po_id;		/* DECISION_PO_GONE once the PO was deleted */
	char po[LIMIT_PO_NAME + 1];	/* the PO's name when the attack began */
	uint8_t proto;		/* enum proto_class */
	uint8_t dir;		/* enum direction: part of the attack's key */
	uint16_t port;		/* 0 = any */
	enum decision_state state;
	enum decision_type type;
	uint16_t amp_port;	/* the reflector port for amplification */
	uint8_t confidence;	/* the highest seen */
	bool detect_only;	/* every detection so far was detect-only, or the attack is
				   outbound: not mitigated */
	uint64_t start_ns;	/* first (suspect or attack) detection */
	uint64_t declared_ns;	/* 0 until declared */
	uint64_t end_ns;	/* 0 until ended */
	uint64_t last_detection_ns;
	double peak_pps, peak_bps, cur_pps, cur_bps;
	double base_pps, base_bps;	/* the baseline when declared (0 if unknown) */
	uint64_t packets, bytes;	/* seen while live, from readings */
	char reason[160];	/* the declaring detection's reason */
	struct decision_detector det[LIMIT_ATTACK_DETECTORS];
	unsigned ndet;
	/* Top lists, refreshed every tick while live and frozen at the end. */
	struct sketch_item top[DECISION_TOP__COUNT][DECISION_TOP_N];
	unsigned ntop[DECISION_TOP__COUNT];
	uint64_t top_total[DECISION_TOP__COUNT];
};

/* One observed flow or packet of a PO's traffic, for the top lists. */
struct decision_obs {
	uint32_t po_id;
	uint8_t proto;		/* enum proto_class */
	uint8_t alen;		/* 4 or 16 */
	uint8_t src[16], dst[16];
	uint16_t sport, dport;
	uint64_t packets;
	uint64_t bytes;
	bool target_only;	/* only dst is known: per-host counters of the protocol (port 0) */
	uint8_t skip;		/* DECISION_OBS_NO_*: parts not known (a cluster collector's
				 * top lists carry a source or a source port alone) */
};
#define DECISION_OBS_NO_DST 0x01u
#define DECISION_OBS_NO_SRC 0x02u
#define DECISION_OBS_NO_SPORT 0x04u

#define DECISION_PO_GONE UINT32_MAX

struct decision_hooks {
	/* Parameters of a PO (quiet_s); never NULL. */
	const struct dparams *(*params)(void *ctx, uint32_t po_id);
	/* The name of a PO, copied into new attacks; optional. */
	const char *(*po_name)(void *ctx, uint32_t po_id);
	/* An attack changed state (old = DECISION_NONE for a new one). */
	void (*changed)(void *ctx, const struct decision_attack *a, enum decision_state old);
	/* An attack ended: detectors should forget this traffic's anomaly. */
	void (*reset)(void *ctx, uint32_t po_id, uint8_t proto, uint8_t dir, uint16_t port);
	void *ctx;
};

struct decision;

int decision_new(const struct decision_hooks *hooks, struct decision **ret);
void decision_free(struct decision *dp);	/* accepts NULL */
/* A detection (any detector). Refused (counted) past LIMIT_ATTACKS_LIVE. */
void decision_detect(struct decision *dp, const struct detection *d);
/* A reading of the traffic: current/peak rates and the type of live attacks. */
void decision_feed(struct decision *dp, const struct reading *r);
/* An inbound flow or packet: feeds the top lists of the live inbound
   attack on its traffic. */
void decision_observe(struct decision *dp, const struct decision_obs *o);
/* Expire detections, move attacks along their lifecycle. */
void decision_tick(struct decision *dp, uint64_t now_ns);

/* PO ids changed (a restart replayed POs in another order, a PO was
 * deleted): map[old] is the new id, or DECISION_PO_GONE; ids >= n are gone.
 * Live attacks of a gone PO are dropped; ended ones keep their name. */
void decision_remap_po(struct decision *dp, const uint32_t *map, uint32_t n);

/* Walk live attacks (oldest first) and then ended ones (oldest first); the
 * callback returns 0 to go on, anything else stops the walk and is returned. */
typedef int (*decision_walk_fn)(const struct decision_attack *a, void *arg);
int decision_walk(const struct decision *dp, decision_walk_fn fn, void *arg);
/* The attack with this id (live or in history), or NULL. */
const struct decision_attack *decision_get(const struct decision *dp, uint64_t id);
size_t decision_live_count(const struct decision *dp);
/*
 * Does a mitigation rule that drops drop_pps of attack a's traffic keep the
 * attack alive? A rule may hide the attack's traffic from the capture, so
 * its drops stand for it, but a rule also drops the target's legitimate
 * traffic: the drops sustain the attack only while they exceed what the
 * traffic normally carries (the attack's baseline, else its PO's pps limit
 * for the protocol) by the attack's margin (its PO's rate.enter_ratio).
 * With neither a baseline nor a limit known, a tenth of the attack's peak.
 */
bool decision_drops_sustain(const struct decision *dp, const struct decision_attack *a,
    double drop_pps);
/* Detections refused because the live table was full. */
uint64_t decision_refused(const struct decision *dp);

/* Live and ended attacks as a malloc'd blob (caller frees), and back. A
 * loaded blob is untrusted: on any inconsistency -EINVAL and nothing changes.
 * Sketches are not saved (their top lists are). */
int decision_save(const struct decision *dp, uint8_t **ret_blob, size_t *ret_len);
int decision_load(struct decision *dp, const uint8_t *blob, size_t len);

/* Cluster (engine/cluster): hand out attack ids from base on (an instance's
 * own block of 2^32 ids, so ids stay unique in a deployment). */
void decision_id_base(struct decision *dp, uint64_t base);
/* keep: whether an attack on PO po moves here, and its PO id here. */
typedef bool (*decision_adopt_fn)(void *ctx, const char *po, uint32_t *ret_po_id);
/*
 * Take over another instance's live attacks: load src (a decision_save()
 * blob), move the live attacks keep() accepts into dp with their ids, and
 * return what stays in src as a new blob in ret_rest (malloc'd) to save back
 * in its place (an attack dp already holds by id leaves src too; one whose
 * traffic dp already has an attack of its own on stays). Returns the number adopted, or a negative errno (dp
 * unchanged then, except for attacks already moved on -ENOMEM).
 */
int decision_adopt(struct decision *dp, const uint8_t *src, size_t len, decision_adopt_fn keep,
    void *ctx, uint8_t **ret_rest, size_t *ret_rest_len);

/* Cluster hand-over: a decision_save() blob of the live attacks of the
 * POs keep() accepts only (no history). Returns their number. */
int decision_save_some(const struct decision *dp, decision_adopt_fn keep, void *ctx,
    uint8_t **ret_blob, size_t *ret_len);
/* Cluster hand-over: drop the live attacks of the POs keep() accepts
 * without a word (no hooks: their mitigations are handed over with them,
 * another instance ends them). Returns the number dropped. */
int decision_drop(struct decision *dp, decision_adopt_fn keep, void *ctx);

const char *decision_state_name(enum decision_state s);
const char *decision_type_name(enum decision_type t);

#endif
