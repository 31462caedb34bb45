/*
 * settings: moatd's configuration ("conf" in the design notes), read with
 * common/cfg.h.
 *
 * Top-level sections come from the rows of engine_modules[] (core/modules.h):
 * each module's row names its sections (struct settings_section: parse and
 * free functions), in table order; the engine's own sections
 * (settings_core_sections: log, state_dir, api, store, flight, health, pos)
 * fill struct settings, a module's ("connections", "collect", "detection",
 * "mitigate") returns an object it reads back with settings_ext(). This file
 * includes no module. A section's parse function is also called when the
 * section is absent (node NULL) so it can fill its defaults. See
 * docs/config.md.
 *
 * No file: when -c is not given and SETTINGS_DEFAULT_PATH does not exist, the
 * embedded defaults (settings_defaults_yaml) are used. Errors are returned as
 * "FILE:LINE:COL: ..." in struct cfg_error; this module never logs.
 */
#ifndef MOAT_ENGINE_SETTINGS_H
#define MOAT_ENGINE_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/cfg.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/prefix.h"
#include "engine/core/flight.h"
#include "engine/core/health.h"
#include "engine/po/po.h"

#define SETTINGS_DEFAULT_PATH "/etc/moat/moatd.yaml"
#define SETTINGS_DEFAULT_STATE_DIR "/var/lib/moat"
#define SETTINGS_DEFAULT_LISTEN "127.0.0.1:8080"
#define SETTINGS_MAX_SECTIONS 16u

struct settings;

/*
 * One top-level section. parse() gets the section's node (NULL when absent)
 * and either fills struct settings directly (the engine's sections) or returns a
 * section object in *ret_ext that settings keeps and frees with free_ext().
 */
struct settings_section {
	const char *name;
	int (*parse)(struct settings *c, const struct cfg_node *n, void **ret_ext,
	    struct cfg_error *err);
	void (*free_ext)(void *ext);
};

struct settings_api {
	char listen[IPADDR_STRLEN + 10];	/* as written: "127.0.0.1:8080", "[::1]:8080" */
	struct ipaddr addr;
	uint16_t port;
	/* api.hosts: extra names accepted in the Host header (DNS rebinding). */
	char hosts[LIMIT_API_HOSTS][LIMIT_API_HOST_LEN + 1];
	size_t nhosts;
};

struct settings {
	char source[256];		/* file path, or "<defaults>" */
	int64_t loaded_at;		/* Unix seconds; stamps config POs */
	struct {
		enum log_level level;
		enum log_dest target;
		bool json;
	} log;
	char *state_dir;		/* NULL: not set (moatd --state or the default) */
	struct settings_api api;
	struct {
		char backend[16];
		char *path;		/* NULL: <state_dir>/moat.db */
	} store;
	struct flight_config flight;
	struct health_config health;
	struct po **pos;		/* source = config */
	size_t npos;
	void *ext[SETTINGS_MAX_SECTIONS];	/* by section, in the order of the module table */
};

/* The engine's own sections (the core row of engine_modules[]); ends with
 * a row whose name is NULL. */
extern const struct settings_section settings_core_sections[];

/* The built-in configuration used when there is no file. */
extern const char settings_defaults_yaml[];

/*
 * Load the configuration. path NULL: SETTINGS_DEFAULT_PATH if it exists, else the
 * embedded defaults. A given path that does not exist is an error. now_s
 * stamps the config POs' created_at/updated_at.
 */
int settings_load(const char *path, int64_t now_s, struct settings **ret, struct cfg_error *err);
/* Same from a buffer (tests, fuzzing); name is used in messages. */
int settings_load_buffer(const char *name, const char *buf, size_t len, int64_t now_s,
    struct settings **ret, struct cfg_error *err);
void settings_free(struct settings *c);

/* The object a registered section's parse() returned; NULL if none. */
const void *settings_ext(const struct settings *c, const char *section);

/* Parse "ADDR:PORT" or "[ADDR6]:PORT"; -EINVAL otherwise. */
int settings_listen_parse(const char *s, struct settings_api *ret);

#endif
