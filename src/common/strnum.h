/*
 * strnum: the one range-checked conversion from text to numbers (OpenBSD
 * strtonum). Decimal only ("010" is ten, never octal). Rejects empty strings, trailing garbage, and values outside
 * [min, max]. Returns 0, -EINVAL (not a number) or -ERANGE (out of range);
 * *ret is written only on success.
 */
#ifndef MOAT_STRNUM_H
#define MOAT_STRNUM_H

#include <stdint.h>

int strnum_i64(const char *s, int64_t min, int64_t max, int64_t *ret);
int strnum_u64(const char *s, uint64_t min, uint64_t max, uint64_t *ret);
int strnum_double(const char *s, double min, double max, double *ret);
/* "10", "10s", "5m", "2h", "1d", "1w" -> seconds. */
int strnum_duration(const char *s, int64_t min_s, int64_t max_s, int64_t *ret_s);

#endif
