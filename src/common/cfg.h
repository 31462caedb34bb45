/*
 * cfg: the YAML configuration reader every moat program builds its config on.
 *
 * A file or buffer is parsed (libyaml, event API) into a read-only tree of
 * scalars, maps and sequences; every node remembers FILE:LINE:COL (1-based,
 * columns in characters) so that errors can point at it. The loader refuses
 * what a hand-written configuration never needs and an attacker could abuse:
 * anchors and aliases (billion laughs), explicit tags, several documents,
 * non-scalar map keys, duplicate keys, NUL characters in strings, nesting
 * deeper than LIMIT_CONFIG_DEPTH, files over LIMIT_CONFIG_BYTES, scalars over
 * LIMIT_CONFIG_SCALAR and more than LIMIT_CONFIG_NODES nodes.
 *
 * Every error is written to a caller's struct cfg_error as
 * "FILE:LINE:COL: what was expected/what is wrong" (I/O errors, which have no
 * position, as "FILE: ..."), and the function returns a negative errno. This
 * module never logs: the daemon reports the message once.
 *
 * All strings and nodes belong to the cfg_doc and live until cfg_free().
 * Accessors accept a NULL node where noted, so that an absent optional
 * section reads as "everything absent, keep defaults":
 *
 *	const struct cfg_node *api = NULL;
 *	if (cfg_get_map(root, "api", &api, err) < 0 ||
 *	    cfg_check_keys(api, api_keys, err) < 0 ||      (NULL map: ok)
 *	    cfg_get_u64(api, "port", 1, 65535, &port, err) < 0)
 *		return -EINVAL;
 */
#ifndef MOAT_CFG_H
#define MOAT_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cfg_doc;
struct cfg_node;

enum cfg_kind { CFG_SCALAR, CFG_MAP, CFG_SEQ };

struct cfg_error {
	char msg[512];
};

/*
 * Load a YAML file (read with O_CLOEXEC, at most LIMIT_CONFIG_BYTES) or a
 * buffer (`name` is used in messages; buf need not be NUL-terminated). On
 * success *ret is a new document the caller frees with cfg_free(); a file
 * with no document (empty, only comments, or a bare "---") loads fine and
 * has cfg_root() == NULL. Errors: -EINVAL (syntax or refused construct),
 * -EFBIG (too large), -ENOMEM, or the -errno of open/read.
 */
int cfg_load_file(const char *path, struct cfg_doc **ret, struct cfg_error *err);
int cfg_load_buffer(const char *name, const char *buf, size_t len, struct cfg_doc **ret,
		    struct cfg_error *err);
/* Free a document and every node and string in it. Accepts NULL. */
void cfg_free(struct cfg_doc *doc);

/* The top node, or NULL for an empty document. */
const struct cfg_node *cfg_root(const struct cfg_doc *doc);

/* Kind, position and file of a node (n must not be NULL). */
enum cfg_kind cfg_kind(const struct cfg_node *n);
unsigned cfg_line(const struct cfg_node *n);
unsigned cfg_column(const struct cfg_node *n);
const char *cfg_file(const struct cfg_node *n);

/* The text of a scalar (NUL-terminated, never containing NUL); NULL unless
 * n is a scalar. A missing value ("key:") is the empty string. */
const char *cfg_scalar(const struct cfg_node *n);
/* Entries of a map or sequence; 0 for a scalar or NULL. */
size_t cfg_len(const struct cfg_node *n);
/* Element i of a sequence, key or value i of a map, in document order; NULL
 * when n is of the wrong kind or i >= cfg_len(n). */
const struct cfg_node *cfg_seq_at(const struct cfg_node *seq, size_t i);
const char *cfg_map_key_at(const struct cfg_node *map, size_t i);
const struct cfg_node *cfg_map_val_at(const struct cfg_node *map, size_t i);
/* map[key] in O(log n); NULL if absent or if map is NULL or not a map. */
const struct cfg_node *cfg_get(const struct cfg_node *map, const char *key);

/*
 * Fail on the first key (in document order) not in `allowed` (a
 * NULL-terminated list), naming it and listing the allowed ones:
 * "f.yaml:3:5: unknown key 'prot'; expected one of: name, prefixes, ports".
 * A NULL map passes; a node that is not a map fails ("expected a map").
 */
int cfg_check_keys(const struct cfg_node *map, const char *const *allowed, struct cfg_error *err);

/*
 * Typed reads of map[key]. Absent key (or NULL map): return 0 and leave *ret
 * untouched, so it keeps its default. Present but of the wrong kind, not
 * parseable or out of [min, max]: -EINVAL and
 * err = "FILE:LINE:COL: key: expected an integer 1..65535, got 'http'".
 * Integers are decimal, or 0x hex (strnum). Booleans are true/false/yes/no
 * (any case). Durations are an integer number of seconds with an optional
 * unit s, m, h, d or w: "30", "30s", "5m", "1h", "7d". cfg_get_str accepts
 * any scalar, including the empty string of a missing value.
 */
int cfg_get_str(const struct cfg_node *map, const char *key, const char **ret,
		struct cfg_error *err);
int cfg_get_bool(const struct cfg_node *map, const char *key, bool *ret, struct cfg_error *err);
int cfg_get_u64(const struct cfg_node *map, const char *key, uint64_t min, uint64_t max,
		uint64_t *ret, struct cfg_error *err);
int cfg_get_i64(const struct cfg_node *map, const char *key, int64_t min, int64_t max,
		int64_t *ret, struct cfg_error *err);
int cfg_get_double(const struct cfg_node *map, const char *key, double min, double max,
		   double *ret, struct cfg_error *err);
int cfg_get_duration(const struct cfg_node *map, const char *key, int64_t min_s, int64_t max_s,
		     int64_t *ret_s, struct cfg_error *err);
/* map[key] must be a map / a sequence if present. */
int cfg_get_map(const struct cfg_node *map, const char *key, const struct cfg_node **ret,
		struct cfg_error *err);
int cfg_get_seq(const struct cfg_node *map, const char *key, const struct cfg_node **ret,
		struct cfg_error *err);

/*
 * Fill err for node n as "FILE:LINE:COL: " followed by the printf text, and
 * return -EINVAL, for `return cfg_fail(err, n, "expected ...")` in callers'
 * own checks. With n == NULL the message has no position. err may be NULL.
 */
int cfg_fail(struct cfg_error *err, const struct cfg_node *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
