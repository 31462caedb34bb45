/*
 * cliarg: parsing and checking of command-line values (never atoi; numbers
 * go through common/strnum.h). Every function returns 0 or -EINVAL/-ERANGE
 * and writes its output only on success; none of them logs, the command
 * reports the error with the option's name.
 */
#ifndef MOAT_CLIARG_H
#define MOAT_CLIARG_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* A decimal number in [min, max] with an optional k/M/G (x1000) suffix when
 * si is true. Leading zeros are refused (no octal surprises). */
int cliarg_uint(const char *s, uint64_t min, uint64_t max, bool si, uint64_t *ret);

/* A TCP/UDP port, 1..65535. */
int cliarg_port(const char *s, uint16_t *ret);

/*
 * A point in time for --since/--until: Unix seconds ("1700000000"), "now",
 * or a relative duration ending in s/m/h/d/w ("30m", "2d") meaning that
 * long before now_s. Result in Unix seconds.
 */
int cliarg_time(const char *s, int64_t now_s, int64_t *ret_s);

/* "PROTO.METRIC=VALUE" with PROTO in tcp, udp, icmp, other and METRIC in
 * pps, bps, flows, syn_pps (VALUE may carry k/M/G): sets
 * thresholds[PROTO][METRIC] in the JSON object (creating the PROTO object). */
int cliarg_threshold(const char *s, json_t *thresholds);

/* A PO name as the API accepts it: [A-Za-z0-9_.-]{1,64}, not "." or "..". */
bool cliarg_po_name_ok(const char *s);

/* A comma list of category names ([a-z0-9_-]+, comma separated). */
bool cliarg_categories_ok(const char *s);

#endif
