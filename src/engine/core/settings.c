/*
 * settings: the engine's own sections, and the walk over every module's
 * sections (the rows of engine_modules[], core/modules.h). Every check reports
 * the position of the offending node; PO declarations are validated by the
 * same po_from_json() the REST API uses, and the field it blames is mapped
 * back to its YAML node.
 */
#include "engine/core/settings.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/strnum.h"
#include "engine/core/module.h"
#include "engine/po/poset.h"
#include "engine/store/postgres.h"
#include "engine/store/store.h"

const char settings_defaults_yaml[] =
	"# moatd built-in defaults (used when there is no configuration file)\n"
	"log:\n"
	"  level: info\n"
	"  target: stderr\n"
	"  json: false\n"
	"api:\n"
	"  listen: \"" SETTINGS_DEFAULT_LISTEN "\"\n"
	"store:\n"
	"  backend: sqlite\n";

static int settings_parse_log(struct settings *c, const struct cfg_node *n, void **ret_ext,
    struct cfg_error *err);
static int settings_parse_state_dir(struct settings *c, const struct cfg_node *n, void **ret_ext,
    struct cfg_error *err);
static int settings_parse_api(struct settings *c, const struct cfg_node *n, void **ret_ext,
    struct cfg_error *err);
static int settings_parse_store(struct settings *c, const struct cfg_node *n, void **ret_ext,
    struct cfg_error *err);
static int settings_parse_flight(struct settings *c, const struct cfg_node *n, void **ret_ext,
    struct cfg_error *err);
static int settings_parse_health(struct settings *c, const struct cfg_node *n, void **ret_ext,
    struct cfg_error *err);
static int settings_parse_pos(struct settings *c, const struct cfg_node *n, void **ret_ext,
    struct cfg_error *err);

/* The engine's own top-level sections: the core row of engine_modules[]. */
const struct settings_section settings_core_sections[] = {
	{ "log", settings_parse_log, NULL },
	{ "state_dir", settings_parse_state_dir, NULL },
	{ "api", settings_parse_api, NULL },
	{ "store", settings_parse_store, NULL },
	{ "flight", settings_parse_flight, NULL },
	{ "health", settings_parse_health, NULL },
	{ "pos", settings_parse_pos, NULL },
	{ 0 },
};

/*
 * The i-th top-level section: every module's rows in the order of
 * engine_modules[], each module's sections in its order; NULL past the last
 * (or past SETTINGS_MAX_SECTIONS, which the unit tests check is enough).
 */
static const struct settings_section *
settings_section_at(const struct settings *c, size_t i)
{
	if (i >= SETTINGS_MAX_SECTIONS)
		return NULL;
	for (size_t m = 0; m < ENGINE_NMODS; m++)
		for (const struct settings_section *sec = c->mods[m].sections;
		    sec != NULL && sec->name != NULL; sec++)
			if (i-- == 0)
				return sec;
	return NULL;
}

static int
settings_parse_log(struct settings *c, const struct cfg_node *n, void **ret_ext, struct cfg_error *err)
{
	static const char *const keys[] = { "level", "target", "json", NULL };
	const char *level = NULL, *target = NULL;
	int r;

	r = cfg_check_keys(n, keys, err);
	if (r == 0)
		r = cfg_get_str(n, "level", &level, err);
	if (r == 0)
		r = cfg_get_str(n, "target", &target, err);
	if (r == 0)
		r = cfg_get_bool(n, "json", &c->log.json, err);
	if (r < 0)
		return r;
	if (level && log_level_parse(level, &c->log.level) < 0)
		return cfg_fail(err, cfg_get(n, "level"),
		    "level: expected one of error, warning, info, debug, got '%s'", level);
	if (target) {
		if (strcmp(target, "stderr") == 0)
			c->log.target = LOG_DEST_STDERR;
		else if (strcmp(target, "syslog") == 0)
			c->log.target = LOG_DEST_SYSLOG;
		else
			return cfg_fail(err, cfg_get(n, "target"),
			    "target: expected stderr or syslog, got '%s'", target);
	}
	return 0;
}

/* A configured path must be absolute: moatd runs with / as its directory. */
static int
settings_get_path(const struct cfg_node *map, const char *key, char **ret, struct cfg_error *err)
{
	const char *s = NULL;
	char *dup;
	int r;

	r = cfg_get_str(map, key, &s, err);
	if (r < 0 || !s)
		return r;
	if (s[0] != '/' || strlen(s) > 200)
		return cfg_fail(err, cfg_get(map, key),
		    "%s: expected an absolute path of at most 200 characters", key);
	dup = strdup(s);
	if (!dup)
		return -ENOMEM;
	free(*ret);
	*ret = dup;
	return 0;
}

/* state_dir is a top-level scalar. */
static int
settings_parse_state_dir(struct settings *c, const struct cfg_node *n, void **ret_ext,
    struct cfg_error *err)
{
	const char *s;
	char *dup;

	if (!n)
		return 0;
	s = cfg_scalar(n);
	if (!s || s[0] != '/' || strlen(s) > 200)
		return cfg_fail(err, n, "state_dir: expected an absolute path of at most 200 characters");
	dup = strdup(s);
	if (!dup)
		return -ENOMEM;
	free(c->state_dir);
	c->state_dir = dup;
	return 0;
}

int
settings_listen_parse(const char *s, struct settings_api *ret)
{
	char host[IPADDR_STRLEN + 2];
	const char *colon, *h = s;
	size_t hlen;
	uint64_t port;
	struct settings_api a;

	if (strlen(s) >= sizeof(a.listen))
		return -EINVAL;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':')
			return -EINVAL;
		h = s + 1;
		hlen = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return -EINVAL;
		hlen = (size_t)(colon - s);
	}
	if (hlen == 0 || hlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	if (ipaddr_parse(host, &a.addr) < 0 || (s[0] == '[') != (a.addr.af == AF_INET6))
		return -EINVAL;
	if (strnum_u64(colon + 1, 1, 65535, &port) < 0 || colon[1] < '1' || colon[1] > '9')
		return -EINVAL;
	a.port = (uint16_t)port;
	snprintf(ret->listen, sizeof(ret->listen), "%s", s);
	ret->addr = a.addr;
	ret->port = a.port;	/* api.hosts is left as it is */
	return 0;
}

static int
settings_parse_api(struct settings *c, const struct cfg_node *n, void **ret_ext, struct cfg_error *err)
{
	static const char *const keys[] = { "listen", "hosts", "www", NULL };
	const struct cfg_node *hosts = NULL;
	const char *listen = NULL;
	int r;

	r = cfg_check_keys(n, keys, err);
	if (r == 0)
		r = cfg_get_str(n, "listen", &listen, err);
	if (r == 0)
		r = cfg_get_seq(n, "hosts", &hosts, err);
	if (r == 0)
		r = settings_get_path(n, "www", &c->api_www, err);
	if (r < 0)
		return r;
	if (listen && settings_listen_parse(listen, &c->api) < 0)
		return cfg_fail(err, cfg_get(n, "listen"),
		    "listen: expected ADDRESS:PORT or [IPv6]:PORT, got '%s'", listen);
	if (cfg_len(hosts) > LIMIT_API_HOSTS)
		return cfg_fail(err, hosts, "hosts: at most %u names", LIMIT_API_HOSTS);
	c->api.nhosts = 0;
	for (size_t i = 0; i < cfg_len(hosts); i++) {
		const struct cfg_node *h = cfg_seq_at(hosts, i);
		const char *name = cfg_scalar(h);

		if (!name || !*name || strlen(name) > LIMIT_API_HOST_LEN ||
		    strpbrk(name, " \t/:@[]"))
			return cfg_fail(err, h, "hosts: expected a host name without port, "
			    "got '%s'", name ? name : "(not a string)");
		snprintf(c->api.hosts[c->api.nhosts++], sizeof(c->api.hosts[0]), "%s", name);
	}
	return 0;
}

/*
 * store: {backend: sqlite, path: FILE} or {backend: postgres, conninfo: STR,
 * passfile: FILE}. For postgres, store.path becomes the libpq connection
 * target store_pg_target() builds (a conninfo holding a password is refused:
 * passwords come only from a password file).
 */
static int
settings_parse_store(struct settings *c, const struct cfg_node *n, void **ret_ext, struct cfg_error *err)
{
	static const char *const keys[] = { "backend", "path", "conninfo", "passfile", NULL };
	const char *backend = NULL, *conninfo = NULL, *why = NULL;
	char *passfile = NULL, *target = NULL;
	int r;

	r = cfg_check_keys(n, keys, err);
	if (r == 0)
		r = cfg_get_str(n, "backend", &backend, err);
	if (r == 0)
		r = cfg_get_str(n, "conninfo", &conninfo, err);
	if (r == 0)
		r = settings_get_path(n, "passfile", &passfile, err);
	if (r < 0)
		goto out;
	if (backend) {
		if (!store_backend_known(backend)) {
			r = cfg_fail(err, cfg_get(n, "backend"),
			    "backend: expected sqlite or postgres, got '%s'", backend);
			goto out;
		}
		snprintf(c->store.backend, sizeof(c->store.backend), "%s", backend);
	}
	if (strcmp(c->store.backend, "postgres") != 0) {
		if (conninfo || passfile) {
			r = cfg_fail(err, cfg_get(n, conninfo ? "conninfo" : "passfile"),
			    "%s: only for backend postgres", conninfo ? "conninfo" : "passfile");
			goto out;
		}
		r = settings_get_path(n, "path", &c->store.path, err);
		goto out;
	}
	if (cfg_get(n, "path")) {
		r = cfg_fail(err, cfg_get(n, "path"), "path: only for backend sqlite (postgres "
		    "takes conninfo)");
		goto out;
	}
	if (!conninfo) {
		r = cfg_fail(err, n, "conninfo: required for backend postgres "
		    "(e.g. \"host=/run/postgresql dbname=moat user=moat\")");
		goto out;
	}
	r = store_pg_target(conninfo, passfile, &target, &why);
	if (r < 0) {
		r = r == -ENOMEM ? r : cfg_fail(err, cfg_get(n, "conninfo"), "%s", why);
		goto out;
	}
	free(c->store.path);
	c->store.path = target;
out:
	free(passfile);
	return r;
}

static int
settings_parse_flight(struct settings *c, const struct cfg_node *n, void **ret_ext, struct cfg_error *err)
{
	static const char *const keys[] = { "retention", "max_rows", NULL };
	int r;

	r = cfg_check_keys(n, keys, err);
	if (r == 0)
		r = cfg_get_duration(n, "retention", 0, 100LL * 365 * 86400, &c->flight.max_age_s, err);
	if (r == 0)
		r = cfg_get_u64(n, "max_rows", 0, 1000000000, &c->flight.max_rows, err);
	return r;
}

static int
settings_parse_health(struct settings *c, const struct cfg_node *n, void **ret_ext, struct cfg_error *err)
{
	static const char *const keys[] = { "half_life", "degraded", "failing", "reset", "fatal",
		"reset_cooldown", NULL };
	struct health_config *h = &c->health;
	int64_t half_life = (int64_t)h->half_life_s;
	int r;

	r = cfg_check_keys(n, keys, err);
	if (r == 0)
		r = cfg_get_duration(n, "half_life", 1, 86400, &half_life, err);
	if (r == 0)
		r = cfg_get_double(n, "degraded", 0.01, 1000, &h->degraded, err);
	if (r == 0)
		r = cfg_get_double(n, "failing", 0.01, 1000, &h->failing, err);
	if (r == 0)
		r = cfg_get_double(n, "reset", 0.01, 1000, &h->reset, err);
	if (r == 0)
		r = cfg_get_double(n, "fatal", 0.01, 1000, &h->fatal, err);
	if (r == 0)
		r = cfg_get_duration(n, "reset_cooldown", 0, 86400, &h->reset_cooldown_s, err);
	if (r < 0)
		return r;
	h->half_life_s = (double)half_life;
	if (!(h->degraded <= h->failing && h->failing <= h->reset && h->reset <= h->fatal))
		return cfg_fail(err, n, "health: expected degraded <= failing <= reset <= fatal");
	return 0;
}

/* Scalars that the PO schema wants as integers become JSON integers when
 * they read as one; anything else stays a string so po names the field. */
static json_t *
settings_scalar_json(const struct cfg_node *n, bool want_int)
{
	const char *s = cfg_scalar(n);
	int64_t v;

	if (want_int && strnum_i64(s, INT64_MIN, INT64_MAX, &v) == 0)
		return json_integer(v);
	return json_string(s);
}

/* YAML node -> JSON for the PO schema. ints: integers expected below. */
static json_t *
settings_node_json(const struct cfg_node *n, bool ints)
{
	json_t *j;

	switch (cfg_kind(n)) {
	case CFG_SCALAR:
		return settings_scalar_json(n, ints);
	case CFG_SEQ:
		j = json_array();
		for (size_t i = 0; j && i < cfg_len(n); i++)
			if (json_array_append_new(j, settings_node_json(cfg_seq_at(n, i), ints)) < 0) {
				json_decref(j);
				return NULL;
			}
		return j;
	case CFG_MAP:
		j = json_object();
		for (size_t i = 0; j && i < cfg_len(n); i++) {
			const char *key = cfg_map_key_at(n, i);
			bool child_ints = ints || strcmp(key, "ports") == 0 ||
			    strcmp(key, "thresholds") == 0 || strcmp(key, "host_thresholds") == 0 ||
			    strcmp(key, "created_at") == 0 ||
			    strcmp(key, "updated_at") == 0;

			if (json_object_set_new(j, key, settings_node_json(cfg_map_val_at(n, i),
			    child_ints)) < 0) {
				json_decref(j);
				return NULL;
			}
		}
		return j;
	}
	return NULL;
}

/* The node a po_error field ("thresholds.tcp.pps") points at, or the
 * nearest existing ancestor. */
static const struct cfg_node *
settings_field_node(const struct cfg_node *po, const char *field)
{
	char buf[64], *save = NULL, *tok;
	const struct cfg_node *n = po;

	snprintf(buf, sizeof(buf), "%s", field);
	for (tok = strtok_r(buf, ".", &save); tok; tok = strtok_r(NULL, ".", &save)) {
		const struct cfg_node *next = cfg_get(n, tok);

		if (!next)
			break;
		n = next;
	}
	return n;
}

static int
settings_parse_po(struct settings *c, const struct cfg_node *n, struct poset *seen,
    struct cfg_error *err)
{
	struct po_error perr = { 0 };
	struct po *p = NULL, *dup;
	json_t *j;
	int r;

	if (cfg_kind(n) != CFG_MAP)
		return cfg_fail(err, n, "pos: expected a map describing a PO");
	if (cfg_get(n, "source") || cfg_get(n, "created_at") || cfg_get(n, "updated_at"))
		return cfg_fail(err, n, "source, created_at and updated_at are set by moatd");
	j = settings_node_json(n, false);
	if (!j)
		return -ENOMEM;
	r = po_from_json(j, NULL, PO_IN_API, &p, &perr);
	json_decref(j);
	if (r == -EINVAL)
		return cfg_fail(err, settings_field_node(n, perr.field), "%s", perr.msg);
	if (r < 0)
		return r;
	if (poset_find(seen, p->name, NULL)) {
		r = cfg_fail(err, cfg_get(n, "name"), "name: PO '%s' is declared twice", p->name);
		goto fail;
	}
	r = poset_check(seen, p, &perr);
	if (r < 0) {
		r = cfg_fail(err, settings_field_node(n, perr.field), "%s", perr.msg);
		goto fail;
	}
	p->source = PO_SOURCE_CONFIG;
	p->created_at = p->updated_at = c->loaded_at;
	dup = po_dup(p);
	if (!dup || poset_put(seen, dup, NULL) < 0) {
		po_free(dup);
		r = -ENOMEM;
		goto fail;
	}
	c->pos[c->npos++] = p;
	return 0;
fail:
	po_free(p);
	return r;
}

static int
settings_parse_pos(struct settings *c, const struct cfg_node *n, void **ret_ext, struct cfg_error *err)
{
	struct poset *seen;
	int r = 0;

	if (!n)
		return 0;
	if (cfg_kind(n) != CFG_SEQ)
		return cfg_fail(err, n, "pos: expected a list of POs");
	if (cfg_len(n) > LIMIT_POS)
		return cfg_fail(err, n, "pos: at most %u POs", LIMIT_POS);
	c->pos = calloc(cfg_len(n) ? cfg_len(n) : 1, sizeof(*c->pos));
	if (!c->pos)
		return -ENOMEM;
	r = poset_new(&seen);
	if (r < 0)
		return r;
	for (size_t i = 0; r == 0 && i < cfg_len(n); i++)
		r = settings_parse_po(c, cfg_seq_at(n, i), seen, err);
	poset_free(seen);
	return r;
}

static void
settings_set_defaults(struct settings *c)
{
	struct health_config h = HEALTH_DEFAULT_CONFIG;

	c->log.level = LOG_LVL_INFO;
	c->log.target = LOG_DEST_STDERR;
	c->log.json = false;
	settings_listen_parse(SETTINGS_DEFAULT_LISTEN, &c->api);
	snprintf(c->store.backend, sizeof(c->store.backend), "sqlite");
	c->flight.max_age_s = FLIGHT_DEFAULT_MAX_AGE_S;
	c->flight.max_rows = FLIGHT_DEFAULT_MAX_ROWS;
	c->health = h;
}

static int
settings_parse_root(struct settings *c, const struct cfg_node *root, struct cfg_error *err)
{
	const char *allowed[SETTINGS_MAX_SECTIONS + 1];
	const struct settings_section *sec;
	size_t nsec = 0;
	int r;

	if (root && cfg_kind(root) != CFG_MAP)
		return cfg_fail(err, root, "expected a map of sections");
	while ((sec = settings_section_at(c, nsec)) != NULL)
		allowed[nsec++] = sec->name;
	allowed[nsec] = NULL;
	r = cfg_check_keys(root, allowed, err);
	if (r < 0)
		return r;
	for (size_t i = 0; (sec = settings_section_at(c, i)) != NULL; i++) {
		const struct cfg_node *n = cfg_get(root, sec->name);

		r = sec->parse(c, n, &c->ext[i], err);
		if (r < 0)
			break;
	}
	return r;
}

static int
settings_from_doc(struct cfg_doc *doc, const char *source, const struct engine_module *mods,
    int64_t now_s, struct settings **ret, struct cfg_error *err)
{
	struct settings *c = calloc(1, sizeof(*c));
	int r;

	if (!c)
		return -ENOMEM;
	c->mods = mods;
	snprintf(c->source, sizeof(c->source), "%s", source);
	settings_set_defaults(c);
	c->loaded_at = now_s;
	r = settings_parse_root(c, cfg_root(doc), err);
	if (r < 0) {
		if (r == -ENOMEM)
			snprintf(err->msg, sizeof(err->msg), "%s: out of memory", source);
		settings_free(c);
		return r;
	}
	*ret = c;
	return 0;
}

int
settings_load_buffer(const char *name, const char *buf, size_t len,
    const struct engine_module *mods, int64_t now_s, struct settings **ret, struct cfg_error *err)
{
	struct cfg_doc *doc;
	int r;

	r = cfg_load_buffer(name, buf, len, &doc, err);
	if (r < 0)
		return r;
	r = settings_from_doc(doc, name, mods, now_s, ret, err);
	cfg_free(doc);
	return r;
}

int
settings_load(const char *path, const struct engine_module *mods, int64_t now_s,
    struct settings **ret, struct cfg_error *err)
{
	struct cfg_doc *doc;
	struct stat st;
	int r;

	if (!path) {
		if (stat(SETTINGS_DEFAULT_PATH, &st) < 0 && errno == ENOENT)
			return settings_load_buffer("<defaults>", settings_defaults_yaml,
			    strlen(settings_defaults_yaml), mods, now_s, ret, err);
		path = SETTINGS_DEFAULT_PATH;
	}
	r = cfg_load_file(path, &doc, err);
	if (r < 0)
		return r;
	r = settings_from_doc(doc, path, mods, now_s, ret, err);
	cfg_free(doc);
	return r;
}

void
settings_free(struct settings *c)
{
	const struct settings_section *sec;

	if (!c)
		return;
	for (size_t i = 0; (sec = settings_section_at(c, i)) != NULL; i++)
		if (c->ext[i] && sec->free_ext)
			sec->free_ext(c->ext[i]);
	for (size_t i = 0; i < c->npos; i++)
		po_free(c->pos[i]);
	free(c->pos);
	free(c->state_dir);
	free(c->api_www);
	free(c->store.path);
	free(c);
}

const void *
settings_ext(const struct settings *c, const char *section)
{
	const struct settings_section *sec;

	for (size_t i = 0; (sec = settings_section_at(c, i)) != NULL; i++)
		if (strcmp(sec->name, section) == 0)
			return c->ext[i];
	return NULL;
}
