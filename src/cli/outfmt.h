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

#endif
