/*
 * alarm: every contact with a decoy becomes an alarm, aggregated so that a
 * sweep is a handful of lines, not one per address.
 *
 * Contacts are keyed by (source address, kind), and by port for service
 * requests and logins. The first contact of a key is reported at once (so
 * the first alarm is immediate); later ones are counted, with up to
 * LIMIT_CHAFF_ALARM_DECOYS distinct decoys remembered, and reported as one
 * aggregate when the key's window ends: 18 KB of SMTP NOOPs are one alarm
 * and a count, not thousands of lines. Logins (which carry credentials)
 * are reported one by one up to LIMIT_CHAFF_ALARM_LOGINS per key and
 * window, then counted. Every report says whether its contact proves the
 * source address ("proven": a completed TCP handshake); moatd mitigates
 * only on proven reports. IPv6 sources are keyed by their full address
 * and reported as such (the allow-list is IPv4 only). Sources
 * on the allow-list never alarm. The key table is bounded
 * (LIMIT_CHAFF_ALARM_KEYS): when it is full the oldest key is reported and
 * recycled.
 *
 * A report is one JSON object (documented in docs/chaff.md) handed to every
 * configured sink: JSON lines to a file or stdout, RFC 5424 syslog over a
 * datagram socket, and POST to moatd.
 */
#ifndef MOAT_CHAFF_ALARM_H
#define MOAT_CHAFF_ALARM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "chaff/respond.h"
#include "common/hash.h"
#include "common/limits.h"

struct alarm_entry {
	uint32_t src;
	uint8_t kind;
	bool used;
	bool reported_first;
	uint8_t n_decoys;
	uint8_t proto;
	uint8_t src_mac[6];
	uint16_t dport;
	uint32_t decoys[LIMIT_CHAFF_ALARM_DECOYS];
	uint64_t count;
	uint32_t reported;	/* contacts already reported one by one */
	uint64_t seen[8];	/* 512-bit linear-counting sketch of distinct decoys */
	uint64_t first_ns, last_ns;
	/* IPv6 contacts: src is the peer's 0.0.0.0/8 token (respond.h), these
	 * the addresses reported (decoy6: the first decoy address touched). */
	bool v6;
	uint8_t src6[16], decoy6[16];
};

/* A sink receives each report as one line of JSON (no newline). */
typedef void (*alarm_sink_fn)(void *arg, const char *json, const struct alarm_entry *e,
			      const char *kind_name);

struct alarm_sink {
	alarm_sink_fn fn;
	void *arg;
};

#define ALARM_SINKS 4

struct alarm {
	struct alarm_entry *v;
	uint32_t mask;
	uint64_t window_ns;
	const struct decoy_prefix *allow;
	size_t n_allow;
	struct alarm_sink sinks[ALARM_SINKS];
	size_t n_sinks;
	/* Maps a decoy address to its personality name for reports (optional). */
	const char *(*persona_name)(void *arg, uint32_t decoy);
	void *persona_arg;
	uint64_t reports, suppressed_allow;
	uint64_t wall_offset_ns;	/* wall - monotonic, for timestamps */
	struct hash_key key;	/* slots and the decoy sketch (alarm_init draws it) */
};

int alarm_init(struct alarm *a, uint64_t window_ns, const struct decoy_prefix *allow,
	       size_t n_allow);
void alarm_free(struct alarm *a);
int alarm_add_sink(struct alarm *a, alarm_sink_fn fn, void *arg);

/* Account one contact at monotonic time now_ns. */
void alarm_contact(struct alarm *a, const struct respond_contact *c, uint64_t now_ns);
/* Report and drop the keys whose window has ended (all of them when
   flush_all); returns the number of keys still held, whose windows need
   more ticks (0: nothing to tick until the next contact). */
size_t alarm_tick(struct alarm *a, uint64_t now_ns, bool flush_all);

/* Sink: JSON lines to a stdio stream (flushed per line). arg is the FILE *. */
void alarm_sink_file(void *arg, const char *json, const struct alarm_entry *e,
		     const char *kind_name);

/* Distinct decoys of an entry: exact for small counts, estimated past them. */
uint64_t alarm_distinct(const struct alarm_entry *e);

/* Format an RFC 5424 syslog message for a report into buf; returns its length. */
size_t alarm_format_syslog(char *buf, size_t cap, const char *hostname, int pid,
			   uint64_t wall_ns, const char *kind_name, const struct alarm_entry *e,
			   const char *json);

#endif
