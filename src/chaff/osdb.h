/*
 * osdb: reader for nmap's OS fingerprint database (nmap-os-db).
 *
 * The database is read at run time from Debian's nmap-common (never copied
 * into moat): osdb_find() scans the text for the line "Fingerprint NAME"
 * (the nth such line, counting from 0, because nmap reuses names) and parses
 * the test lines that follow — SEQ, OPS, WIN, ECN, T1..T7, U1, IE — into
 * attribute/expression pairs. Expressions stay text; osdb_pick() turns one
 * into a concrete value a responder can send.
 *
 * The text is untrusted in the sense that it is a file on disk: every line
 * is length-capped (LIMIT_CHAFF_OSDB_LINE), every attribute count bounded,
 * and a malformed test line is an error. Nothing logs.
 */
#ifndef MOAT_CHAFF_OSDB_H
#define MOAT_CHAFF_OSDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OSDB_PATH	"/usr/share/nmap/nmap-os-db"
#define OSDB_NAME_MAX	256
#define OSDB_ATTRS	16	/* a test has at most 11 attributes today */
#define OSDB_KEY_MAX	8
#define OSDB_VAL_MAX	320	/* OPS lines list up to 8 alternatives */

enum osdb_test {
	OSDB_SEQ, OSDB_OPS, OSDB_WIN, OSDB_ECN,
	OSDB_T1, OSDB_T2, OSDB_T3, OSDB_T4, OSDB_T5, OSDB_T6, OSDB_T7,
	OSDB_U1, OSDB_IE,
	OSDB_NTESTS
};

struct osdb_attr {
	char key[OSDB_KEY_MAX];
	char val[OSDB_VAL_MAX];
};

struct osdb_line {
	bool present;
	uint8_t nattr;
	struct osdb_attr attr[OSDB_ATTRS];
};

struct osdb_fp {
	char name[OSDB_NAME_MAX];
	/* The first Class line: "vendor | OS family | OS generation | device type"
	 * (vendor.c infers the MAC vendor, banners and services from them). */
	char vendor[64];
	char osfamily[48];
	char osgen[32];
	char devtype[48];
	struct osdb_line test[OSDB_NTESTS];
};

/* Find the nth "Fingerprint NAME" in text[0..len) and parse it into *ret.
 * -ENOENT when absent, -EINVAL when its lines are malformed. */
int osdb_find(const char *text, size_t len, const char *name, unsigned nth,
	      struct osdb_fp *ret);

/* The database file is read with fileio_read(path, LIMIT_CHAFF_OSDB_BYTES, ...). */

/* The expression of test t, attribute key; NULL when the test or the
 * attribute is absent. An empty string is a present, empty value (O=). */
const char *osdb_get(const struct osdb_fp *fp, enum osdb_test t, const char *key);

/*
 * Choose a concrete number satisfying a numeric expression: the first
 * alternative of "A|B", the low end of "A-B" (or the middle when mid is
 * set), N-1 for "<N", N+1 for ">N". Numbers are hex, as nmap writes them.
 * -EINVAL for an expression that is not numeric.
 */
int osdb_pick(const char *expr, bool mid, uint64_t *ret);

/* Copy the first alternative of a string expression ("M5B4ST11|M5B4") into buf. */
void osdb_pick_str(const char *expr, char *buf, size_t len);

#endif
