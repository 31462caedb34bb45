/*
 * outfmt: human output for the CLI — aligned tables, key/value blocks, and
 * times, durations and rates in a readable form.
 *
 * Cells are copied; control characters in them (which a server could relay
 * from attacker-chosen data) are replaced by '?', so output never drives the
 * terminal. Widths count UTF-8 code points.
 */
#ifndef MOAT_OUTFMT_H
#define MOAT_OUTFMT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct outfmt_table;

/* A table with ncols columns; headers may be NULL (no header line).
 * NULL on allocation failure. */
struct outfmt_table *outfmt_table_new(size_t ncols, const char *const *headers);
/* Right-align column col (numbers). */
void outfmt_table_align_right(struct outfmt_table *t, size_t col);
/* Append a row of ncols cells (NULL cells print as "-"). 0 or -ENOMEM. */
int outfmt_table_add(struct outfmt_table *t, const char *const *cells);
/* Rows added so far. */
size_t outfmt_table_rows(const struct outfmt_table *t);
/* Print header and rows, columns separated by two spaces; the last column is
 * not padded. */
void outfmt_table_print(const struct outfmt_table *t, FILE *f);
void outfmt_table_free(struct outfmt_table *t);

/* "2026-11-22 03:42:26" (UTC) for Unix seconds; with millis if frac. */
void outfmt_time(char *buf, size_t len, double unix_s, bool frac);
/* "3d4h", "2h5m", "4m10s", "12s". */
void outfmt_duration(char *buf, size_t len, int64_t secs);
/* 1234567 -> "1.2M"; below 10000 printed exactly. */
void outfmt_si(char *buf, size_t len, uint64_t v);

/*
 * Tables straight from JSON: most list commands print an array of objects
 * from the server, one row per object, one column per (possibly nested)
 * field. A column names its field by a dotted path ("rates.pps") and says
 * how to show it.
 */
enum outfmt_kind {
	OUTFMT_STR,	 /* strings as they are; numbers and booleans printed */
	OUTFMT_INT,	 /* integer, exactly (right-aligned) */
	OUTFMT_SI,	 /* integer, 1.2M style (right-aligned) */
	OUTFMT_FLOAT,	 /* number with two decimals (right-aligned) */
	OUTFMT_TIME,	 /* Unix seconds -> "YYYY-MM-DD HH:MM:SS" UTC; 0 -> "-" (never) */
	OUTFMT_TIME_MS,	 /* the same with milliseconds */
	OUTFMT_DURATION, /* seconds -> "2h5m" */
	OUTFMT_LIST,	 /* array -> "a,b,c +N more" (at most 3 shown) */
	OUTFMT_JSON,	 /* any value as compact JSON, cut at the cell size */
};

struct outfmt_col {
	const char *header;
	const char *path;	/* dotted path into each row object */
	enum outfmt_kind kind;
};

/* The value at a dotted path ("a.b") in obj, or NULL. */
const json_t *outfmt_json_path(const json_t *obj, const char *path);
/* Join the scalars of a JSON array with ',', at most max of them, then
 * " +N more"; "-" for an empty or absent array. */
void outfmt_json_join(char *buf, size_t len, const json_t *arr, size_t max);
/* Format v as kind into buf; absent or mistyped values print "-". */
void outfmt_json_value(char *buf, size_t len, const json_t *v, enum outfmt_kind kind);
/*
 * Print the array rows as a table with the given columns; when it has no
 * rows, print the line `empty` instead (if not NULL). Accepts any JSON
 * value: a non-array is an empty table. Returns the number of rows.
 */
size_t outfmt_json_table(FILE *f, const json_t *rows, const struct outfmt_col *cols,
    size_t ncols, const char *empty);

#endif
