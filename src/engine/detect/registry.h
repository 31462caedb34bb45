/*
 * detect: the detector interface. A detector is an ops table; the engine
 * (or the backtest path) creates each configured detector once, feeds it
 * every reading, ticks it on the engine clock, and receives detections
 * through the emit callback of its environment. Detectors are registered in
 * one static table (detect.c); adding one is adding a file and a row.
 *
 * A detection names the traffic (PO, protocol, direction, port or 0 = any),
 * the detector, a confidence 0..100, its time and expiry. A SUSPECT
 * detection says "anomalous, not yet persistent": the decision point shows
 * a suspected attack but declares nothing on it.
 */
#ifndef MOAT_ENGINE_DETECT_H
#define MOAT_ENGINE_DETECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/detect/params.h"
#include "collect/reading.h"

enum detect_kind { DETECT_SUSPECT, DETECT_ATTACK };

/*
 * What a detection's source already knows of the attack's type; the decision
 * point types such an attack from it and readings never reclassify it. Rate
 * detectors leave it NONE: the type then follows the traffic's make-up.
 */
enum detect_type_hint {
	DETECT_HINT_NONE,
	DETECT_HINT_SCAN,		/* moat-chaff: decoy contacts and scans */
	DETECT_HINT_SLOW_CONNECTION,	/* moat-ins: slow connections shed */
};

struct detection {
	enum detect_kind kind;
	const char *detector;	/* the ops name; static */
	uint8_t type_hint;	/* enum detect_type_hint */
	uint32_t po_id;
	uint8_t proto;		/* enum proto_class */
	uint8_t dir;		/* enum direction */
	uint16_t port;		/* 0 = any */
	uint8_t confidence;	/* 0..100 */
	bool detect_only;	/* spoofable evidence (an unproven decoy alarm): never mitigates */
	uint64_t time_ns;
	uint64_t expiry_ns;
	double pps, bps;	/* the reading that caused it */
	double expected_pps, expected_bps;	/* 0 when the detector has no baseline */
	char reason[160];	/* one line for operators: what was measured against what */
};

/* What a detector gets from its owner. params() never returns NULL (POs
 * not configured get the defaults). The callbacks run synchronously inside
 * feed()/tick(); a detection is only valid during emit(). */
struct detect_env {
	const struct dparams *(*params)(void *ctx, uint32_t po_id);
	void (*emit)(void *ctx, const struct detection *d);
	void *ctx;
	/* Optional: a series finished its learning period (once per series). */
	void (*learned)(void *ctx, uint32_t po_id, uint8_t proto, uint8_t dir, uint16_t port);
};

/* One destination host's inbound traffic of one protocol over one reading
 * interval (from the counters' host table), for per-host limits. */
struct detect_host {
	uint32_t po_id;
	uint8_t proto;		/* enum proto_class */
	uint8_t alen;		/* 4 or 16 */
	uint8_t addr[16];	/* network order */
	uint64_t time_ns;	/* end of the interval */
	uint64_t interval_ns;
	uint64_t bytes, packets, flows, syns;
};

struct detect_ops {
	const char *name;
	/* Create the detector's state; env is copied. */
	int (*new)(const struct detect_env *env, void **ret);
	void (*free)(void *st);		/* accepts NULL */
	/* One reading; readings of one series arrive in time order. */
	void (*feed)(void *st, const struct reading *r);
	/* Time passes (called at least once per reading interval). */
	void (*tick)(void *st, uint64_t now_ns);
	/* Serialise the learned state into a malloc'd blob (caller frees). */
	int (*save)(void *st, uint8_t **ret_blob, size_t *ret_len);
	/* Replace the state with a saved blob (untrusted: from the store); on
	 * failure (-EINVAL, -ENOMEM) the state is left as before. */
	int (*load)(void *st, const uint8_t *blob, size_t len);
	/* Forget what is anomalous about this traffic in one direction (the
	 * decision point calls this when an attack on it ends); port 0 = any. */
	void (*reset)(void *st, uint32_t po_id, uint8_t proto, uint8_t dir, uint16_t port);
	/* Forget everything about a PO (deleted or replaced). */
	void (*forget_po)(void *st, uint32_t po_id);
	/* PO ids changed: map[old] is the new id or DETECT_PO_GONE (forget it);
	 * ids >= n are gone. */
	void (*remap_po)(void *st, const uint32_t *map, uint32_t n);
	/* Optional (NULL: the detector has no per-host view): one host's
	 * traffic of the last interval; detections it emits are for the
	 * host's (PO, protocol, port 0), inbound. */
	void (*feed_host)(void *st, const struct detect_host *h);
	/*
	 * Optional (NULL: nothing learned worth moving): a cluster take-over.
	 * From blob, another instance's save() (untrusted: a blob that does
	 * not parse is refused whole, -EINVAL), take the series of the POs
	 * map names an id of this state for (map[the blob's id]; ids >= n and
	 * DETECT_PO_GONE stay behind), install each under its new id with
	 * what it learned (no new learning period: a learned series stays
	 * learned) unless this state learned that series itself at least as
	 * recently, and return the blob without them in ret_rest (malloc'd,
	 * to write back in its place; NULL when nothing was taken). Returns
	 * the number taken, or a negative errno with this state unchanged.
	 */
	int (*adopt)(void *st, const uint8_t *blob, size_t len, const uint32_t *map, uint32_t n,
	    uint8_t **ret_rest, size_t *ret_rest_len);
};

#define DETECT_PO_GONE UINT32_MAX

extern const struct detect_ops detect_rate_ops;
extern const struct detect_ops detect_threshold_ops;

/* Registered detectors, NULL-terminated; owners size their per-detector
 * arrays with DETECT_NREGISTERED. */
#define DETECT_NREGISTERED 2
extern const struct detect_ops *const detect_registry[DETECT_NREGISTERED + 1];
/* The detector named `name`, or NULL. */
const struct detect_ops *detect_find(const char *name);
/* "tcp", "udp", "icmp", "other"; "?" out of range. */
const char *detect_proto_name(unsigned proto);
/* Parse a protocol name; -EINVAL if unknown. */
int detect_proto_parse(const char *s, uint8_t *ret);
/* "in", "out"; "?" out of range. */
const char *detect_dir_name(unsigned dir);
int detect_dir_parse(const char *s, uint8_t *ret);

/*
 * A growable output buffer for state blobs (big-endian, like the wire).
 * Writers never fail individually; detect_buf_take() reports -ENOMEM if any
 * write failed, so a save is one check at the end. Blobs are read back with
 * common/cursor.h (they come from the store: untrusted).
 */
struct detect_buf {
	uint8_t *p;
	size_t len, cap;
	bool failed;
};
void detect_buf_u8(struct detect_buf *b, uint8_t v);
void detect_buf_u16(struct detect_buf *b, uint16_t v);
void detect_buf_u32(struct detect_buf *b, uint32_t v);
void detect_buf_u64(struct detect_buf *b, uint64_t v);
void detect_buf_f64(struct detect_buf *b, double v);
void detect_buf_bytes(struct detect_buf *b, const void *p, size_t n);
/* Hand the bytes to the caller (malloc'd) or free them and return -ENOMEM. */
int detect_buf_take(struct detect_buf *b, uint8_t **ret, size_t *ret_len);
/* Read a double written by detect_buf_f64; false if short or not finite. */
struct cursor;
bool detect_cur_f64(struct cursor *c, double *ret);

#endif
