#include "cli/cliarg.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "common/limits.h"
#include "common/strnum.h"

int
cliarg_uint(const char *s, uint64_t min, uint64_t max, bool si, uint64_t *ret)
{
	static const struct { char suffix; uint64_t mult; } units[] = {
		{ 'k', 1000ull }, { 'K', 1000ull }, { 'M', 1000000ull }, { 'G', 1000000000ull },
	};
	char buf[32];
	size_t n, i;
	uint64_t mult = 1, v;
	int r;

	if (s == NULL || (n = strlen(s)) == 0 || n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, n + 1);
	if (si) {
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			if (buf[n - 1] == units[i].suffix) {
				mult = units[i].mult;
				buf[--n] = '\0';
				break;
			}
		}
	}
	if (n == 0 || (buf[0] == '0' && n > 1))
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (!isdigit((unsigned char)buf[i]))
			return -EINVAL;
	if ((r = strnum_u64(buf, 0, UINT64_MAX / mult, &v)) < 0)
		return r;
	v *= mult;
	if (v < min || v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}

int
cliarg_port(const char *s, uint16_t *ret)
{
	uint64_t v;
	int r;

	if ((r = cliarg_uint(s, 1, 65535, false, &v)) < 0)
		return r;
	*ret = (uint16_t)v;
	return 0;
}

int
cliarg_time(const char *s, int64_t now_s, int64_t *ret_s)
{
	uint64_t abs_s;
	int64_t ago;
	size_t n;
	int r;

	if (s == NULL || (n = strlen(s)) == 0)
		return -EINVAL;
	if (strcmp(s, "now") == 0) {
		*ret_s = now_s;
		return 0;
	}
	if (isdigit((unsigned char)s[n - 1])) {
		if ((r = cliarg_uint(s, 0, INT64_MAX / 2, false, &abs_s)) < 0)
			return r;
		*ret_s = (int64_t)abs_s;
		return 0;
	}
	if (!isdigit((unsigned char)s[0]))
		return -EINVAL;
	if ((r = strnum_duration(s, 0, now_s, &ago)) < 0)
		return r;
	*ret_s = now_s - ago;
	return 0;
}

/* Index of s in a NULL-terminated list, or -1. */
static int
cliarg_lookup(const char *const *list, const char *s, size_t n)
{
	for (int i = 0; list[i] != NULL; i++)
		if (strlen(list[i]) == n && strncmp(list[i], s, n) == 0)
			return i;
	return -1;
}

int
cliarg_threshold(const char *s, json_t *thresholds)
{
	static const char *const protos[] = { "tcp", "udp", "icmp", "other", NULL };
	static const char *const metrics[] = { "pps", "bps", "flows", "syn_pps", NULL };
	const char *dot, *eq;
	json_t *proto;
	uint64_t v;
	int p, m, r;

	if ((dot = strchr(s, '.')) == NULL || (eq = strchr(dot, '=')) == NULL)
		return -EINVAL;
	if ((p = cliarg_lookup(protos, s, (size_t)(dot - s))) < 0 ||
	    (m = cliarg_lookup(metrics, dot + 1, (size_t)(eq - dot - 1))) < 0)
		return -EINVAL;
	if ((r = cliarg_uint(eq + 1, 0, (uint64_t)INT64_MAX, true, &v)) < 0)
		return r;
	if ((proto = json_object_get(thresholds, protos[p])) == NULL) {
		if ((proto = json_object()) == NULL ||
		    json_object_set_new(thresholds, protos[p], proto) < 0)
			return -ENOMEM;
	}
	if (json_object_set_new(proto, metrics[m], json_integer((json_int_t)v)) < 0)
		return -ENOMEM;
	return 0;
}

bool
cliarg_po_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > LIMIT_PO_NAME || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '.' && *s != '-')
			return false;
	return true;
}

bool
cliarg_categories_ok(const char *s)
{
	bool empty_item = true;

	if (*s == '\0' || strlen(s) > 256)
		return false;
	for (; *s; s++) {
		if (*s == ',') {
			if (empty_item)
				return false;
			empty_item = true;
		} else if (islower((unsigned char)*s) || isdigit((unsigned char)*s) ||
		    *s == '_' || *s == '-') {
			empty_item = false;
		} else {
			return false;
		}
	}
	return !empty_item;
}
