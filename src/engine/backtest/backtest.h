/*
 * backtest: run the detectors and the decision point over recorded traffic
 * on a replay clock, and report what would have been declared, when and
 * why. Inputs: readings fed directly (the evaluation's generator, pcap or
 * flow replays through the collectors), or a CSV counter series:
 *
 *   time,po,protocol,direction,bytes,packets[,port][,flows][,syns][,frags]
 *
 * with a header row naming the columns (any order; the six first are
 * required). time is Unix seconds (integer or decimal), non-decreasing
 * through the file; bytes and packets are those seen since the same
 * series' previous row (the first row of a series counts as one second).
 * Blank lines and lines starting with '#' are skipped. Every PO is evaluated
 * with the backtest's parameters (a preset plus overrides).
 *
 * A CSV series has no per-host figures, so host limits (host_limits.*) are
 * checked only on packet input (backtest_pcap_file), where the counters
 * keep the hosts as live. A host column was left out on purpose: a host
 * row is another kind of series (one per destination address, unbounded in
 * number) whose totals must agree with the PO rows, which a hand-written
 * or exported CSV cannot be trusted to do.
 */
#ifndef MOAT_ENGINE_BACKTEST_H
#define MOAT_ENGINE_BACKTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/prefix.h"
#include "engine/detect/decision.h"
#include "engine/detect/params.h"
#include "collect/reading.h"

struct backtest;

struct backtest_error {
	char msg[256];		/* "line N: what is wrong" */
};

struct backtest_stats {
	uint64_t readings;
	uint64_t detections;	/* attack detections from all detectors */
	uint64_t suspicions;	/* suspect detections */
	uint64_t dropped;	/* suspected attacks that faded without a declaration */
	uint64_t host_intervals;	/* intervals whose hosts were checked (pcap input) */
	uint64_t hosts_dropped;	/* (PO, protocol, host) entries the counters' full table lost */
	uint64_t first_ns, last_ns;
};

/* A backtest evaluating every PO with params (copied). */
int backtest_new(const struct dparams *params, struct backtest **ret);
void backtest_free(struct backtest *bt);	/* accepts NULL */

/* The id of PO `name`, registered on first use (ids count from 0).
 * -EINVAL for a bad name, -ENOSPC past LIMIT_BACKTEST_POS. */
int backtest_po(struct backtest *bt, const char *name, uint32_t *ret_id);
/* The name of PO id, or "?". */
const char *backtest_po_name(const struct backtest *bt, uint32_t id);

/* One reading. Time must not go backwards (-EINVAL); a later time first
 * closes the previous instant (detections expire, attacks move on). */
int backtest_feed(struct backtest *bt, const struct reading *r);
/* One observed flow/packet, for the attacks' top lists and typing. */
void backtest_observe(struct backtest *bt, const struct decision_obs *o);
/* The per-host figures of the interval cnt closed last — every (PO,
 * protocol, destination host), as moatd's counters keep them — checked
 * against the host limits exactly as live (engine/hostcheck); a host over
 * its limit is declared on (PO, protocol, any port) with the host in the
 * reason and as the attack's target. Call after the readings of that
 * interval were fed; an interval is checked once. */
struct counters;
void backtest_hosts(struct backtest *bt, const struct counters *cnt);
/* Close the last instant; call once after the last reading. */
void backtest_finish(struct backtest *bt);

/* Parse and feed CSV text made of whole lines; may be called again with the
 * next lines of the same file (the header is read once, line numbers go
 * on). On error, returns -EINVAL (or -ENOSPC/-ENOMEM) with err naming the
 * line; rows before it were fed. */
int backtest_csv(struct backtest *bt, const char *buf, size_t len, struct backtest_error *err);
/* After the last chunk: -EINVAL if no header row was ever seen. */
int backtest_csv_done(struct backtest *bt, struct backtest_error *err);
/* Read a whole CSV stream in bounded chunks (backtest_csv + _done). */
int backtest_csv_file(struct backtest *bt, FILE *f, struct backtest_error *err);

const struct decision *backtest_decision(const struct backtest *bt);
const struct backtest_stats *backtest_stats(const struct backtest *bt);

/* Print the declared attacks (suspicions that faded are counted only):
 * a table for people, or JSON {"attacks":[...],"stats":{...}}. */
int backtest_report_text(const struct backtest *bt, FILE *out);
int backtest_report_json(const struct backtest *bt, FILE *out);

/* A PO for packet input, where the file does not name POs: packets are
 * matched to the longest prefix of any PO. */
struct backtest_po_def {
	const char *name;
	const struct prefix *prefixes;
	size_t nprefixes;
	const uint16_t *ports;	/* its configured ports (per-port readings), ascending */
	size_t nports;		/* <= LIMIT_PO_PORTS */
};

/*
 * Replay a pcap or pcapng file (backtest/pcap.c): packets are matched to
 * POs by destination (inbound) and source (outbound), counted per 1 s of
 * packet time into readings exactly as moatd's counters do (port 0 and
 * each configured port of a PO), and each packet
 * also feeds the live attacks' top lists (so amplification is typed by its
 * source port). Returns 0, or a negative errno with err filled.
 */
int backtest_pcap_file(struct backtest *bt, const char *path, const struct backtest_po_def *pos,
    size_t npos, struct backtest_error *err);

/*
 * The command line of `moatd --backtest` (argv[0] is "--backtest";
 * backtest/pcap.c):
 *   --backtest [--json] [--preset NAME] [--set KEY=VALUE ...] FILE|-
 *   --backtest --pcap --po NAME=PREFIX[,PREFIX...][@PORT[,PORT...]] [--po ...] [...] FILE
 * Prints the report on stdout; returns the exit status (0 done, 1 bad
 * input, 2 usage).
 */
int backtest_cli(int argc, char **argv);

#endif
