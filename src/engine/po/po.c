/*
 * po: protected-object validation and JSON conversion. Every field check
 * fills struct po_error with the field at fault, so the REST API can answer
 * 400 {"error": ..., "field": ...} without knowing the rules.
 */
#include "engine/po/po.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strnum.h"

static const char *const po_driver_names[PO_DRV__COUNT] = {
	[PO_DRV_NFT] = "nft",
	[PO_DRV_XDP] = "xdp",
	[PO_DRV_BGP] = "bgp",
	[PO_DRV_INS] = "ins",
	[PO_DRV_NOTIFY] = "notify",
};

static const char *const po_proto_names[PROTO__COUNT] = {
	[PROTO_TCP] = "tcp",
	[PROTO_UDP] = "udp",
	[PROTO_ICMP] = "icmp",
	[PROTO_OTHER] = "other",
};

static const char *const po_fields[] = {
	"name", "prefixes", "ports", "thresholds", "host_thresholds", "drivers", "source",
	"created_at", "updated_at",
};

static int
po_fail(struct po_error *err, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
po_fail(struct po_error *err, const char *field, const char *fmt, ...)
{
	va_list ap;

	snprintf(err->field, sizeof(err->field), "%s", field);
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

const char *
po_driver_name(enum po_driver d)
{
	return (unsigned)d < PO_DRV__COUNT ? po_driver_names[d] : "?";
}

int
po_driver_parse(const char *s, enum po_driver *ret)
{
	for (int i = 0; i < PO_DRV__COUNT; i++) {
		if (strcmp(po_driver_names[i], s) == 0) {
			*ret = (enum po_driver)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *
po_source_name(enum po_source s)
{
	return s == PO_SOURCE_CONFIG ? "config" : "api";
}

bool
po_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > LIMIT_PO_NAME || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '_' || c == '.' || c == '-'))
			return false;
	}
	return true;
}

int
po_prefix_cmp(const struct prefix *a, const struct prefix *b)
{
	int c;

	if (a->addr.af != b->addr.af)
		return a->addr.af == AF_INET ? -1 : 1;
	c = memcmp(a->addr.a, b->addr.a, sizeof(a->addr.a));
	if (c != 0)
		return c;
	return (int)a->len - (int)b->len;
}

static int
po_prefix_qsort_cmp(const void *a, const void *b)
{
	return po_prefix_cmp(a, b);
}

static int
po_port_cmp(const void *a, const void *b)
{
	return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

static int
po_check_fields(json_t *j, struct po_error *err)
{
	const char *key;
	json_t *v;

	json_object_foreach(j, key, v) {
		bool known = false;

		for (size_t i = 0; i < sizeof(po_fields) / sizeof(po_fields[0]); i++)
			known = known || strcmp(key, po_fields[i]) == 0;
		if (!known)
			return po_fail(err, key, "unknown field \"%s\"", key);
	}
	return 0;
}

static int
po_parse_name(json_t *j, const char *url_name, struct po *p, struct po_error *err)
{
	json_t *v = json_object_get(j, "name");
	const char *name;

	if (!v) {
		if (!url_name)
			return po_fail(err, "name", "name is required");
		name = url_name;
	} else {
		if (!json_is_string(v))
			return po_fail(err, "name", "name must be a string");
		name = json_string_value(v);
		if (url_name && strcmp(name, url_name) != 0)
			return po_fail(err, "name", "name \"%.64s\" does not match the URL", name);
	}
	if (strlen(name) != (v ? json_string_length(v) : strlen(name)) || !po_name_valid(name))
		return po_fail(err, "name", "name must be 1 to %u of A-Z a-z 0-9 _ . - (not \".\" or \"..\")",
		    LIMIT_PO_NAME);
	memcpy(p->name, name, strlen(name) + 1);
	return 0;
}

/* Parse one canonical prefix, telling "host bits set" apart from garbage. */
static int
po_parse_prefix(const char *s, struct prefix *ret, struct po_error *err)
{
	char buf[PREFIX_STRLEN + 8], *slash;
	struct ipaddr a;
	struct prefix p;
	uint64_t len;

	if (prefix_parse(s, &p) == 0) {
		*ret = p;
		return 0;
	}
	if (strlen(s) >= sizeof(buf))
		return po_fail(err, "prefixes", "\"%.60s...\" is not a prefix", s);
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	if (slash && ipaddr_parse(buf, &a) == 0 &&
	    strnum_u64(slash + 1, 0, ipaddr_width(a.af), &len) == 0 &&
	    prefix_make(&a, (unsigned)len, &p) == 0 && !ipaddr_equal(&p.addr, &a))
		return po_fail(err, "prefixes", "prefix %s has host bits set", s);
	return po_fail(err, "prefixes", "\"%s\" is not a prefix", s);
}

static int
po_parse_prefixes(json_t *j, struct po *p, struct po_error *err)
{
	json_t *arr = json_object_get(j, "prefixes");
	size_t n;

	if (!arr)
		return po_fail(err, "prefixes", "prefixes is required");
	if (!json_is_array(arr))
		return po_fail(err, "prefixes", "prefixes must be an array of strings");
	n = json_array_size(arr);
	if (n < 1 || n > LIMIT_PO_PREFIXES)
		return po_fail(err, "prefixes", "1 to %u prefixes are required", LIMIT_PO_PREFIXES);
	p->prefixes = calloc(n, sizeof(*p->prefixes));
	if (!p->prefixes)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		json_t *v = json_array_get(arr, i);
		int r;

		if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
			return po_fail(err, "prefixes", "prefixes[%zu] must be a string", i);
		r = po_parse_prefix(json_string_value(v), &p->prefixes[i], err);
		if (r < 0)
			return r;
		p->nprefixes++;
	}
	qsort(p->prefixes, n, sizeof(*p->prefixes), po_prefix_qsort_cmp);
	for (size_t i = 1; i < n; i++) {
		if (po_prefix_cmp(&p->prefixes[i - 1], &p->prefixes[i]) == 0) {
			char buf[PREFIX_STRLEN];

			return po_fail(err, "prefixes", "prefix %s is listed twice",
			    prefix_format(&p->prefixes[i], buf, sizeof(buf)));
		}
	}
	return 0;
}

static int
po_parse_ports(json_t *j, struct po *p, struct po_error *err)
{
	json_t *arr = json_object_get(j, "ports");
	size_t n;

	if (!arr)
		return 0;
	if (!json_is_array(arr))
		return po_fail(err, "ports", "ports must be an array of integers");
	n = json_array_size(arr);
	if (n > LIMIT_PO_PORTS)
		return po_fail(err, "ports", "at most %u ports", LIMIT_PO_PORTS);
	for (size_t i = 0; i < n; i++) {
		json_t *v = json_array_get(arr, i);

		if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 65535)
			return po_fail(err, "ports", "ports[%zu] must be an integer 1..65535", i);
		p->ports[p->nports++] = (uint16_t)json_integer_value(v);
	}
	qsort(p->ports, p->nports, sizeof(p->ports[0]), po_port_cmp);
	for (size_t i = 1; i < p->nports; i++)
		if (p->ports[i - 1] == p->ports[i])
			return po_fail(err, "ports", "port %u is listed twice", p->ports[i]);
	return 0;
}

/* One protocol's thresholds object; what is "thresholds" or
   "host_thresholds" (the JSON field, for errors). */
static int
po_parse_proto_thresholds(json_t *o, const char *what, int proto, struct po_thresholds *t,
    struct po_error *err)
{
	static const char *const keys[] = { "pps", "bps", "flows", "syn_pps" };
	char field[64];
	const char *key;
	json_t *v;

	if (!json_is_object(o)) {
		snprintf(field, sizeof(field), "%s.%s", what, po_proto_names[proto]);
		return po_fail(err, field, "%s must be an object", field);
	}
	json_object_foreach(o, key, v) {
		size_t k;

		snprintf(field, sizeof(field), "%s.%s.%.32s", what, po_proto_names[proto], key);
		for (k = 0; k < 4; k++)
			if (strcmp(key, keys[k]) == 0)
				break;
		if (k == 4 || (k == 3 && proto != PROTO_TCP))
			return po_fail(err, field, "unknown field \"%s\"", field);
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			return po_fail(err, field, "%s must be a non-negative integer", field);
		uint64_t val = (uint64_t)json_integer_value(v);
		if (k == 0)
			t->pps = val;
		else if (k == 1)
			t->bps = val;
		else if (k == 2)
			t->flows = val;
		else
			t->syn_pps = val;
	}
	return 0;
}

/* "thresholds" or "host_thresholds" (what) into t[PROTO__COUNT]. */
static int
po_parse_thresholds(json_t *j, const char *what, struct po_thresholds *t, struct po_error *err)
{
	json_t *o = json_object_get(j, what);
	const char *key;
	json_t *v;

	if (!o)
		return 0;
	if (!json_is_object(o))
		return po_fail(err, what, "%s must be an object", what);
	json_object_foreach(o, key, v) {
		int proto, r;

		for (proto = 0; proto < PROTO__COUNT; proto++)
			if (strcmp(key, po_proto_names[proto]) == 0)
				break;
		if (proto == PROTO__COUNT) {
			char field[64];

			snprintf(field, sizeof(field), "%s.%.40s", what, key);
			return po_fail(err, field, "unknown protocol \"%s\" (tcp, udp, icmp, other)", key);
		}
		r = po_parse_proto_thresholds(v, what, proto, &t[proto], err);
		if (r < 0)
			return r;
	}
	return 0;
}

static int
po_parse_drivers(json_t *j, struct po *p, struct po_error *err)
{
	json_t *arr = json_object_get(j, "drivers");

	if (!arr)
		return 0;
	if (!json_is_array(arr))
		return po_fail(err, "drivers", "drivers must be an array of strings");
	for (size_t i = 0; i < json_array_size(arr); i++) {
		json_t *v = json_array_get(arr, i);
		enum po_driver d;

		if (!json_is_string(v) || po_driver_parse(json_string_value(v), &d) < 0)
			return po_fail(err, "drivers", "drivers[%zu] must be one of nft, xdp, bgp, ins, notify", i);
		for (size_t k = 0; k < p->ndrivers; k++)
			if (p->drivers[k] == d)
				return po_fail(err, "drivers", "driver %s is listed twice", po_driver_name(d));
		p->drivers[p->ndrivers++] = (uint8_t)d;
	}
	return 0;
}

static int
po_parse_time(json_t *j, const char *field, int64_t *ret, struct po_error *err)
{
	json_t *v = json_object_get(j, field);

	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return po_fail(err, field, "%s must be a non-negative integer", field);
	*ret = json_integer_value(v);
	return 0;
}

/* Server-owned fields: type-checked always, kept only for stored POs. */
static int
po_parse_meta(json_t *j, enum po_input in, struct po *p, struct po_error *err)
{
	json_t *v = json_object_get(j, "source");
	struct po tmp = { .source = PO_SOURCE_API };
	int r;

	if (v) {
		const char *s = json_is_string(v) ? json_string_value(v) : "";

		if (strcmp(s, "api") == 0)
			tmp.source = PO_SOURCE_API;
		else if (strcmp(s, "config") == 0 && in == PO_IN_STORED)
			tmp.source = PO_SOURCE_CONFIG;
		else
			return po_fail(err, "source", "source must be \"api\"");
	}
	r = po_parse_time(j, "created_at", &tmp.created_at, err);
	if (r == 0)
		r = po_parse_time(j, "updated_at", &tmp.updated_at, err);
	if (r < 0 || in != PO_IN_STORED)
		return r;
	p->source = tmp.source;
	p->created_at = tmp.created_at;
	p->updated_at = tmp.updated_at;
	return 0;
}

int
po_from_json(json_t *j, const char *url_name, enum po_input in,
    struct po **ret, struct po_error *err)
{
	struct po *p;
	int r;

	if (!json_is_object(j))
		return po_fail(err, "", "a PO must be a JSON object");
	r = po_check_fields(j, err);
	if (r < 0)
		return r;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	r = po_parse_name(j, url_name, p, err);
	if (r == 0)
		r = po_parse_prefixes(j, p, err);
	if (r == 0)
		r = po_parse_ports(j, p, err);
	if (r == 0)
		r = po_parse_thresholds(j, "thresholds", p->thresholds, err);
	if (r == 0)
		r = po_parse_thresholds(j, "host_thresholds", p->host_thresholds, err);
	if (r == 0)
		r = po_parse_drivers(j, p, err);
	if (r == 0)
		r = po_parse_meta(j, in, p, err);
	if (r < 0) {
		po_free(p);
		return r;
	}
	*ret = p;
	return 0;
}

int
po_from_text(const char *text, size_t len, const char *url_name, enum po_input in,
    struct po **ret, struct po_error *err)
{
	json_error_t jerr;
	json_t *j;
	int r;

	j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!j)
		return po_fail(err, "", "bad JSON at line %d column %d: %s", jerr.line,
		    jerr.column, jerr.text);
	r = po_from_json(j, url_name, in, ret, err);
	json_decref(j);
	return r;
}

static json_t *
po_thresholds_json(const struct po_thresholds *tt)
{
	json_t *o = json_object();

	for (int proto = 0; o && proto < PROTO__COUNT; proto++) {
		const struct po_thresholds *t = &tt[proto];
		json_t *pt = json_object();

		if (!pt)
			goto fail;
		if ((t->pps && json_object_set_new(pt, "pps", json_integer((json_int_t)t->pps)) < 0) ||
		    (t->bps && json_object_set_new(pt, "bps", json_integer((json_int_t)t->bps)) < 0) ||
		    (t->flows && json_object_set_new(pt, "flows", json_integer((json_int_t)t->flows)) < 0) ||
		    (t->syn_pps && json_object_set_new(pt, "syn_pps",
		    json_integer((json_int_t)t->syn_pps)) < 0)) {
			json_decref(pt);
			goto fail;
		}
		if (json_object_size(pt) == 0)
			json_decref(pt);
		else if (json_object_set_new(o, po_proto_names[proto], pt) < 0)
			goto fail;
	}
	return o;
fail:
	json_decref(o);
	return NULL;
}

/* Add "host_thresholds" after "thresholds" when there are any (POs without
 * keep the form they always had); j is released on failure. */
static json_t *
po_host_thresholds_json(const struct po *p, json_t *j)
{
	json_t *h = po_thresholds_json(p->host_thresholds), *out;
	const char *key;
	json_t *v;

	if (h == NULL) {
		json_decref(j);
		return NULL;
	}
	if (json_object_size(h) == 0) {
		json_decref(h);
		return j;
	}
	/* Rebuild to keep the canonical key order: host_thresholds follows thresholds. */
	out = json_object();
	json_object_foreach(j, key, v) {
		if (out == NULL || json_object_set(out, key, v) < 0)
			break;
		if (strcmp(key, "thresholds") == 0 && json_object_set(out, "host_thresholds", h) < 0)
			break;
	}
	json_decref(h);
	if (out == NULL || json_object_size(out) != json_object_size(j) + 1) {
		json_decref(out);
		out = NULL;
	}
	json_decref(j);
	return out;
}

json_t *
po_to_json(const struct po *p)
{
	json_t *prefixes = json_array(), *ports = json_array(), *drivers = json_array(), *j;
	char buf[PREFIX_STRLEN];
	bool ok = prefixes && ports && drivers;

	for (size_t i = 0; ok && i < p->nprefixes; i++)
		ok = json_array_append_new(prefixes, json_string(prefix_format(&p->prefixes[i],
		    buf, sizeof(buf)))) == 0;
	for (size_t i = 0; ok && i < p->nports; i++)
		ok = json_array_append_new(ports, json_integer(p->ports[i])) == 0;
	for (size_t i = 0; ok && i < p->ndrivers; i++)
		ok = json_array_append_new(drivers, json_string(po_driver_name(p->drivers[i]))) == 0;
	if (!ok) {
		json_decref(prefixes);
		json_decref(ports);
		json_decref(drivers);
		return NULL;
	}
	j = json_pack("{s:s, s:o, s:o, s:o*, s:o, s:s, s:I, s:I}",
	    "name", p->name,
	    "prefixes", prefixes,
	    "ports", ports,
	    "thresholds", po_thresholds_json(p->thresholds),
	    "drivers", drivers,
	    "source", po_source_name(p->source),
	    "created_at", (json_int_t)p->created_at,
	    "updated_at", (json_int_t)p->updated_at);
	return j ? po_host_thresholds_json(p, j) : NULL;
}

char *
po_to_text(const struct po *p)
{
	json_t *j = po_to_json(p);
	char *s;

	if (!j)
		return NULL;
	s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(j);
	return s;
}

void
po_free(struct po *p)
{
	if (!p)
		return;
	free(p->prefixes);
	free(p);
}

struct po *
po_dup(const struct po *p)
{
	struct po *d = malloc(sizeof(*d));

	if (!d)
		return NULL;
	*d = *p;
	d->prefixes = malloc(p->nprefixes * sizeof(*p->prefixes));
	if (!d->prefixes) {
		free(d);
		return NULL;
	}
	memcpy(d->prefixes, p->prefixes, p->nprefixes * sizeof(*p->prefixes));
	return d;
}
