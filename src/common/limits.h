/*
 * limits: every cap on a resource an attacker or a misconfiguration can
 * grow, in one place, each with the reason for its value. Parts add their
 * own section; keep one line of why per cap.
 */
#ifndef MOAT_LIMITS_H
#define MOAT_LIMITS_H

/* --- configuration --- */
/* A config file is hand-written YAML; 16 MiB is far past any real one. */
#define LIMIT_CONFIG_BYTES		(16u << 20)
/* Nesting deeper than this is a mistake or an attack on the parser's stack. */
#define LIMIT_CONFIG_DEPTH		32u

/* --- engine: protected objects and the REST API --- */
/* A PO name is an identifier in URLs and logs. */
#define LIMIT_PO_NAME			64u
/* Prefixes per PO; large estates use several POs. */
#define LIMIT_PO_PREFIXES		4096u
/* Ports listed per PO. */
#define LIMIT_PO_PORTS			64u
/* POs in total; the LPM is sized for millions of prefixes, POs are fewer. */
#define LIMIT_POS			100000u
/* REST request body: a PO with 4096 prefixes is ~200 KiB of JSON. */
#define LIMIT_API_BODY			(1u << 20)
/* REST restore body: a whole backup file. */
#define LIMIT_API_RESTORE_BODY		(256u << 20)
/* Concurrent REST connections; the API is for operators and the CLI. */
#define LIMIT_API_CONNS			256u
/* Flight-record entries returned by one query. */
#define LIMIT_FLIGHT_QUERY		10000u

/* --- common: configuration reader (src/common/cfg.c) --- */
/* One scalar: a name, number, path or an embedded PEM block is far below 1 MiB. */
#define LIMIT_CONFIG_SCALAR		(1u << 20)
/* Nodes (scalars, maps, sequences, keys) per file: a 16 MiB file of short
 * prefixes is ~2M nodes; this bounds memory to ~40 bytes x 4M = 160 MiB. */
#define LIMIT_CONFIG_NODES		(4u << 20)

/* --- cli: the moat command line --- */
/* api.url holds one URL; a longer file is not one moatd wrote. */
#define LIMIT_CLI_URL			512u
/* api.token holds 64 hex chars; anything much longer is not a token. */
#define LIMIT_CLI_TOKEN			256u
/* A reply from moatd (JSON, or a backup): the largest is a backup, which
 * restore must accept again, so the same cap. */
#define LIMIT_CLI_REPLY			LIMIT_API_RESTORE_BODY
/* A PO file for `moat po add --file`: one REST body. */
#define LIMIT_CLI_PO_FILE		LIMIT_API_BODY

/* --- common: prefixes and longest-prefix match (src/common/prefix.c, lpm.c) --- */
/* Prefixes per family in one lpm: 16x the largest table benchmarked, and it
 * keeps every internal node index (< 2^31) far from overflowing. */
#define LIMIT_LPM_PREFIXES		(16u << 20)

/* --- engine: detection, attacks, backtest (src/engine/detect_*, decision, sketch, backtest) --- */
/* Keys a sketch holds: top-k of targets/sources; 256 finds anything above 0.4 % of the traffic. */
#define LIMIT_SKETCH_K			256u
/* Traffic series (PO x protocol x direction x configured port) the rate detector learns, each
   with a 168-hour profile (~1.5 KiB); past it new series are counted, not learned. */
#define LIMIT_DETECT_SERIES		(1u << 18)
/* Live attacks (suspected..ending) at once; a new one past it is refused and counted. */
#define LIMIT_ATTACKS_LIVE		4096u
/* Ended attacks kept in memory for the API and reports (oldest dropped first). */
#define LIMIT_ATTACKS_HISTORY		1024u
/* Detectors that can join one attack (rate, threshold, slowconn, decoy, scan, ...). */
#define LIMIT_ATTACK_DETECTORS		8u
/* A detector/decision state blob loaded from the store; larger is corrupt. */
#define LIMIT_DETECT_BLOB		(1u << 30)
/* Backtest CSV: one line (six numbers and a PO name), and distinct POs in one file. */
#define LIMIT_BACKTEST_LINE		1024u
#define LIMIT_BACKTEST_POS		65536u

#endif
