/*
 * Fuzz common/cfg: load any bytes as a configuration and walk the whole tree
 * with every accessor and typed getter, so that the loader's refusals, the
 * index behind cfg_get() and every error message path run on hostile input.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/cfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const some_keys[] = { "name", "port", "a", "", NULL };

/* Every typed read of map[key]; results are ignored, only safety matters. */
static void
read_all(const struct cfg_node *map, const char *key)
{
	struct cfg_error err;
	const struct cfg_node *n;
	const char *s;
	bool b;
	uint64_t u;
	int64_t i;
	double d;

	(void)cfg_get_str(map, key, &s, &err);
	(void)cfg_get_bool(map, key, &b, &err);
	(void)cfg_get_u64(map, key, 0, UINT64_MAX, &u, &err);
	(void)cfg_get_u64(map, key, 1, 65535, &u, &err);
	(void)cfg_get_i64(map, key, INT64_MIN, INT64_MAX, &i, &err);
	(void)cfg_get_i64(map, key, -5, 5, &i, &err);
	(void)cfg_get_double(map, key, -1e9, 1e9, &d, &err);
	(void)cfg_get_duration(map, key, 0, INT64_MAX, &i, &err);
	(void)cfg_get_duration(map, key, 1, 86400, &i, &err);
	(void)cfg_get_map(map, key, &n, &err);
	(void)cfg_get_seq(map, key, &n, &err);
	(void)cfg_fail(&err, cfg_get(map, key), "%s", key);
}

static void
walk(const struct cfg_node *n)
{
	struct cfg_error err;

	(void)cfg_file(n);
	(void)cfg_line(n);
	(void)cfg_column(n);
	switch (cfg_kind(n)) {
	case CFG_SCALAR:
		(void)strlen(cfg_scalar(n));
		break;
	case CFG_SEQ:
		for (size_t i = 0; i < cfg_len(n); i++)
			walk(cfg_seq_at(n, i));
		break;
	case CFG_MAP:
		(void)cfg_check_keys(n, some_keys, &err);
		for (size_t i = 0; i < cfg_len(n); i++) {
			const char *key = cfg_map_key_at(n, i);

			if (cfg_get(n, key) != cfg_map_val_at(n, i))
				__builtin_trap();	/* the index lost a key */
			read_all(n, key);
			walk(cfg_map_val_at(n, i));
		}
		read_all(n, "port");
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfg_error err;
	struct cfg_doc *doc = NULL;

	if (cfg_load_buffer("fuzz.yaml", (const char *)data, size, &doc, &err) == 0) {
		if (cfg_root(doc) != NULL)
			walk(cfg_root(doc));
		cfg_free(doc);
	} else if (memchr(err.msg, '\0', sizeof(err.msg)) == NULL) {
		__builtin_trap();	/* the message must always be terminated */
	}
	return 0;
}
