/*
 * detection_conf: parse `detection:` into ready parameter sets; every value
 * goes through dparams_set() (strnum), and every error names the node.
 */
#include "engine/detect/config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Apply a map of "key: value" to p; errors name the value's position. */
static int
detection_conf_apply(const struct cfg_node *map, struct dparams *p, struct cfg_error *err)
{
	const char *what;

	if (map == NULL)
		return 0;
	if (cfg_kind(map) != CFG_MAP)
		return cfg_fail(err, map, "expected a map of parameter: value");
	for (size_t i = 0; i < cfg_len(map); i++) {
		const char *key = cfg_map_key_at(map, i);
		const struct cfg_node *v = cfg_map_val_at(map, i);
		const char *text = cfg_scalar(v);
		int r;

		if (text == NULL)
			return cfg_fail(err, v, "%s: expected a scalar value", key);
		r = dparams_set(p, key, text);
		if (r == -ENOENT)
			return cfg_fail(err, v, "%s: unknown detection parameter (see docs/detection.md)",
			    key);
		if (r < 0)
			return cfg_fail(err, v, "%s: bad value '%s'", key, text);
	}
	if (dparams_check(p, &what) < 0)
		return cfg_fail(err, map, "%s", what);
	return 0;
}

static int
detection_conf_pos(const struct cfg_node *map, struct detection_conf *c, struct cfg_error *err)
{
	if (map == NULL)
		return 0;
	if (cfg_kind(map) != CFG_MAP)
		return cfg_fail(err, map, "expected a map of PO name: {parameter: value}");
	if (cfg_len(map) > LIMIT_POS)
		return cfg_fail(err, map, "more than %u POs", LIMIT_POS);
	c->pos = calloc(cfg_len(map) ? cfg_len(map) : 1, sizeof(*c->pos));
	if (c->pos == NULL)
		return cfg_fail(err, map, "out of memory");
	for (size_t i = 0; i < cfg_len(map); i++) {
		const char *name = cfg_map_key_at(map, i);
		struct detection_conf_po *po = &c->pos[c->npos];
		int r;

		if (strlen(name) > LIMIT_PO_NAME)
			return cfg_fail(err, cfg_map_val_at(map, i), "PO name longer than %u", LIMIT_PO_NAME);
		strcpy(po->name, name);
		po->params = c->defaults;
		if ((r = detection_conf_apply(cfg_map_val_at(map, i), &po->params, err)) < 0)
			return r;
		c->npos++;
	}
	return 0;
}

int
detection_conf_parse(struct settings *s, const struct cfg_node *n, void **ret_ext,
    struct cfg_error *err)
{
	static const char *const keys[] = { "preset", "set", "pos", NULL };
	struct detection_conf *c = calloc(1, sizeof(*c));
	const struct cfg_node *set = NULL, *pos = NULL;
	const char *preset = "moat";
	int r = -EINVAL;

	if (c == NULL)
		return -ENOMEM;
	dparams_default(&c->defaults);
	if (n != NULL) {
		if (cfg_kind(n) != CFG_MAP) {
			r = cfg_fail(err, n, "detection: expected a map with preset, set, pos");
			goto fail;
		}
		if ((r = cfg_check_keys(n, keys, err)) < 0 ||
		    (r = cfg_get_str(n, "preset", &preset, err)) < 0)
			goto fail;
		if (dparams_preset(preset, &c->defaults) < 0) {
			r = cfg_fail(err, cfg_get(n, "preset"), "preset: expected moat or defense4all");
			goto fail;
		}
		set = cfg_get(n, "set");
		pos = cfg_get(n, "pos");
		if ((r = detection_conf_apply(set, &c->defaults, err)) < 0 ||
		    (r = detection_conf_pos(pos, c, err)) < 0)
			goto fail;
	}
	*ret_ext = c;
	return 0;
fail:
	detection_conf_free(c);
	return r;
}

void
detection_conf_free(void *ext)
{
	struct detection_conf *c = ext;

	if (c == NULL)
		return;
	free(c->pos);
	free(c);
}

const struct dparams *
detection_conf_params(const struct detection_conf *c, const char *name)
{
	for (size_t i = 0; i < c->npos; i++)
		if (strcmp(c->pos[i].name, name) == 0)
			return &c->pos[i].params;
	return &c->defaults;
}
