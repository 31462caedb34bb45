/*
 * dparams: the detection parameters of one protected object — the rate
 * detector's learning and deviation settings, absolute thresholds, and the
 * decision point's timing — with named presets ("moat", the default, and
 * "defense4all", the seed's published values for comparison) and a
 * "key=value" setter for configuration files and the backtest command line.
 */
#ifndef MOAT_ENGINE_DPARAMS_H
#define MOAT_ENGINE_DPARAMS_H

#include <stdbool.h>
#include <stdint.h>

#include "collect/reading.h"

struct dparams_rate {
	double warmup_s;	/* first seconds of a series: the baseline is seeded only */
	double learn_s;		/* learning period: the baseline learns, nothing is declared */
	double period_learn_s;	/* EWMA period P (alpha = dt/(P+dt)) while learning */
	double period_s;	/* ... and after learning */
	double enter_ratio;	/* suspicious when rate > expected * enter_ratio ... */
	double stay_ratio;	/* ... (stay_ratio once the series is detected: hysteresis) */
	double enter_spreads;	/* ... and rate - expected > enter_spreads * spread (0 = off) */
	double stay_spreads;
	double strong_ratio;	/* a reading above expected * strong_ratio counts twice (0 = off) */
	double spread_floor;	/* the spread is at least this fraction of the expected rate */
	double min_pps;		/* rates below these are never suspicious (noise floor) */
	double min_bps;
	double expiry_s;	/* a detection's lifetime; each repeat prolongs it */
	uint32_t persist;	/* suspicion count a detection needs */
	bool count_down;	/* a normal reading decrements the count instead of clearing it */
	bool profile;		/* learn the hour-of-week profile and expect its shape */
	bool reset_baseline;	/* an attack's end re-learns the baseline (the seed) or keeps it */
	/* Level shifts and surges that keep the traffic's character (packet
	 * size, SYN, fragment and new-flow shares of what is above the
	 * baseline; docs/detection.md): */
	double relearn_s;	/* a shift over the baseline this long with the same character is
				 * re-learned, ending its attack; re-examined every such span (0 = off) */
	double organic_ratio;	/* a surge with the same character is declared only above this (0 = off) */
	double learn_ratio;	/* during learning: declare above this x the short baseline (0 = blind) */
	double char_tolerance;	/* relative tolerance of the character comparison */
	bool peaks;		/* a reading must also exceed the series' learned usual peak (its
				 * 99th percentile): a bursty series' own bursts are not attacks */
};

/* Absolute limits for one protocol; 0 = no limit. */
struct dparams_limits {
	double pps;
	double bps;
	double flows_ps;	/* new flows per second */
	double syn_pps;
};

struct dparams {
	struct dparams_rate rate;
	struct dparams_limits limits[PROTO__COUNT];
	/* The same for each single destination host of the PO (the PO's
	 * host_thresholds; the threshold detector checks them per host). */
	struct dparams_limits host_limits[PROTO__COUNT];
	double threshold_expiry_s;	/* lifetime of a threshold detection */
	double quiet_s;		/* an attack ends this long after its last detection */
};

/* The default ("moat") parameters. */
void dparams_default(struct dparams *ret);
/* Fill *ret with preset `name` ("moat", "defense4all"); -ENOENT if unknown. */
int dparams_preset(const char *name, struct dparams *ret);
/* The preset names, NULL-terminated, for help texts. */
extern const char *const dparams_preset_names[];
/*
 * Set one parameter from text: "rate.persist", "rate.enter_ratio", ...,
 * "limits.udp.pps", "host_limits.udp.pps", "quiet", "threshold_expiry" (durations accept "30s",
 * "5m"; booleans "true"/"false"). -ENOENT for an unknown key, -EINVAL or
 * -ERANGE for a bad value; *p is unchanged on failure.
 */
int dparams_set(struct dparams *p, const char *key, const char *value);
/* Check cross-field consistency (stay <= enter, persist >= 1, ...); on
 * failure returns -EINVAL and points *ret_what at a static description. */
int dparams_check(const struct dparams *p, const char **ret_what);

#endif
