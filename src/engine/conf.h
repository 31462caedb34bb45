/*
 * conf: moatd's configuration, read with common/cfg.h.
 *
 * Top-level sections are dispatched through the static table conf_sections[]
 * in conf.c. The engine's own sections (log, state_dir, api, store, flight,
 * health, pos) fill struct conf; another part adds its section ("collect",
 * "detect", "mitigate") with one table row naming its parse and free
 * functions, and reads its result back with conf_ext(). A section's parse
 * function is also called when the section is absent (node NULL) so it can
 * fill its defaults. See docs/config.md.
 *
 * No file: when -c is not given and CONF_DEFAULT_PATH does not exist, the
 * embedded defaults (conf_defaults_yaml) are used. Errors are returned as
 * "FILE:LINE:COL: ..." in struct cfg_error; this module never logs.
 */
#ifndef MOAT_ENGINE_CONF_H
#define MOAT_ENGINE_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/cfg.h"
#include "common/log.h"
#include "common/prefix.h"
#include "engine/flight.h"
#include "engine/health.h"
#include "engine/po.h"

#define CONF_DEFAULT_PATH "/etc/moat/moatd.yaml"
#define CONF_DEFAULT_STATE_DIR "/var/lib/moat"
#define CONF_DEFAULT_LISTEN "127.0.0.1:8080"
#define CONF_MAX_SECTIONS 16u

struct conf;

/*
 * One top-level section. parse() gets the section's node (NULL when absent)
 * and either fills struct conf directly (the engine's sections) or returns a
 * section object in *ret_ext that conf keeps and frees with free_ext().
 */
struct conf_section {
	const char *name;
	int (*parse)(struct conf *c, const struct cfg_node *n, void **ret_ext,
	    struct cfg_error *err);
	void (*free_ext)(void *ext);
};

struct conf_api {
	char listen[IPADDR_STRLEN + 10];	/* as written: "127.0.0.1:8080", "[::1]:8080" */
	struct ipaddr addr;
	uint16_t port;
};

struct conf {
	char source[256];		/* file path, or "<defaults>" */
	int64_t loaded_at;		/* Unix seconds; stamps config POs */
	struct {
		enum log_level level;
		enum log_dest target;
		bool json;
	} log;
	char *state_dir;		/* NULL: not set (moatd --state or the default) */
	struct conf_api api;
	struct {
		char backend[16];
		char *path;		/* NULL: <state_dir>/moat.db */
	} store;
	struct flight_config flight;
	struct health_config health;
	struct po **pos;		/* source = config */
	size_t npos;
	void *ext[CONF_MAX_SECTIONS];	/* by conf_sections[] row */
};

/* The built-in configuration used when there is no file. */
extern const char conf_defaults_yaml[];

/*
 * Load the configuration. path NULL: CONF_DEFAULT_PATH if it exists, else the
 * embedded defaults. A given path that does not exist is an error. now_s
 * stamps the config POs' created_at/updated_at.
 */
int conf_load(const char *path, int64_t now_s, struct conf **ret, struct cfg_error *err);
/* Same from a buffer (tests, fuzzing); name is used in messages. */
int conf_load_buffer(const char *name, const char *buf, size_t len, int64_t now_s,
    struct conf **ret, struct cfg_error *err);
void conf_free(struct conf *c);

/* The object a registered section's parse() returned; NULL if none. */
const void *conf_ext(const struct conf *c, const char *section);

/* Parse "ADDR:PORT" or "[ADDR6]:PORT"; -EINVAL otherwise. */
int conf_listen_parse(const char *s, struct conf_api *ret);

#endif
