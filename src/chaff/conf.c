/* conf: moat-chaff configuration, validated with positions. */
#include "chaff/conf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "chaff/persona.h"
#include "chaff/vendor.h"
#include "common/limits.h"
#include "common/prefix.h"
#include "common/strnum.h"

static const char *const top_keys[] = {
	"interface", "osdb", "seed", "decoys", "alarms", "alive", "user", "claim", "vlans",
	"state_dir", "background", NULL
};
static const char *const group_keys[] = {
	"ranges", "exclude", "personality", "fingerprint", "tcp", "udp", "vendor", "background",
	"ipv6", NULL
};
static const char *const ipv6_keys[] = { "prefix", "iid", NULL };
static const char *const alarm_keys[] = {
	"file", "window", "allow", "syslog", "moatd_url", "moatd_token_file", NULL
};
static const char *const alive_keys[] = { "interval", "pps", "start", NULL };
static const char *const claim_keys[] = {
	"ranges", "reserved", "after", "within", "max", "personality", "fingerprint", "tcp", "udp",
	"vendor", "background", NULL
};

static int
copy_str(const struct cfg_node *map, const char *key, char *dst, size_t cap,
	 struct cfg_error *err)
{
	const char *s = NULL;
	int r = cfg_get_str(map, key, &s, err);

	if (r < 0 || !s)
		return r;
	if (strlen(s) >= cap)
		return cfg_fail(err, cfg_get(map, key), "%s: longer than %zu bytes", key, cap - 1);
	memcpy(dst, s, strlen(s) + 1);
	return 0;
}

/* A sequence of IPv4 prefixes (or addresses) into a malloc'd array. */
static int
parse_prefixes(const struct cfg_node *map, const char *key, size_t max,
	       struct decoy_prefix **ret, size_t *ret_n, struct cfg_error *err)
{
	const struct cfg_node *seq = NULL;
	struct decoy_prefix *v;
	size_t n;
	int r;

	r = cfg_get_seq(map, key, &seq, err);
	if (r < 0 || !seq)
		return r;
	n = cfg_len(seq);
	if (n > max)
		return cfg_fail(err, seq, "%s: at most %zu entries", key, max);
	v = calloc(n ? n : 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct cfg_node *it = cfg_seq_at(seq, i);
		const char *s = cfg_scalar(it);
		struct prefix p;

		if (!s || prefix_parse(s, &p) < 0 || p.addr.af != AF_INET) {
			free(v);
			return cfg_fail(err, it, "%s: expected an IPv4 prefix or address", key);
		}
		v[i].base = ipaddr_v4_host(&p.addr);
		v[i].len = p.len;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

static int
parse_ports(const struct cfg_node *map, const char *key, uint16_t *ports, uint8_t *ret_n,
	    struct cfg_error *err)
{
	const struct cfg_node *seq = NULL;
	size_t n;
	int r;

	r = cfg_get_seq(map, key, &seq, err);
	if (r < 0 || !seq)
		return r;
	n = cfg_len(seq);
	if (n > LIMIT_CHAFF_PORTS)
		return cfg_fail(err, seq, "%s: at most %u ports", key, LIMIT_CHAFF_PORTS);
	for (size_t i = 0; i < n; i++) {
		const struct cfg_node *it = cfg_seq_at(seq, i);
		const char *s = cfg_scalar(it);
		uint64_t v;

		if (!s || strnum_u64(s, 1, 65535, &v) < 0)
			return cfg_fail(err, it, "%s: expected a port 1..65535", key);
		ports[i] = (uint16_t)v;
	}
	*ret_n = (uint8_t)n;
	return 0;
}

/* background: on | arp | off (YAML's booleans too); absent leaves *ret. */
static int
parse_background(const struct cfg_node *map, uint8_t *ret, struct cfg_error *err)
{
	const struct cfg_node *n = cfg_get(map, "background");
	const char *s = n ? cfg_scalar(n) : NULL;

	if (!n)
		return 0;
	if (s && (!strcasecmp(s, "on") || !strcasecmp(s, "true") || !strcasecmp(s, "yes")))
		*ret = CONF_BG_ON;
	else if (s && !strcasecmp(s, "arp"))
		*ret = CONF_BG_ARP;
	else if (s && (!strcasecmp(s, "off") || !strcasecmp(s, "false") || !strcasecmp(s, "no")))
		*ret = CONF_BG_OFF;
	else
		return cfg_fail(err, n, "background: expected on, arp or off");
	return 0;
}

/* Fill a group from a map whose keys were already checked. */
static int
parse_group_fields(const struct cfg_node *g, struct conf_group *ret, struct cfg_error *err)
{
	int r;

	if ((r = parse_prefixes(g, "ranges", LIMIT_CHAFF_EXCLUDES, &ret->ranges,
				&ret->n_ranges, err)) < 0 ||
	    (r = parse_prefixes(g, "exclude", LIMIT_CHAFF_EXCLUDES, &ret->exclude,
				&ret->n_exclude, err)) < 0 ||
	    (r = copy_str(g, "personality", ret->personality, sizeof(ret->personality), err)) < 0 ||
	    (r = copy_str(g, "fingerprint", ret->fingerprint, sizeof(ret->fingerprint), err)) < 0 ||
	    (r = parse_ports(g, "tcp", ret->ports.tcp_ports, &ret->ports.n_tcp, err)) < 0 ||
	    (r = parse_ports(g, "udp", ret->ports.udp_ports, &ret->ports.n_udp, err)) < 0 ||
	    (r = copy_str(g, "vendor", ret->vendor, sizeof(ret->vendor), err)) < 0 ||
	    (r = parse_background(g, &ret->background, err)) < 0)
		return r;
	ret->ports_set = cfg_get(g, "tcp") || cfg_get(g, "udp");
	if (ret->vendor[0] && !vendor_find(ret->vendor)) {
		char list[512] = "";

		for (size_t i = 0; i < vendor_count(); i++) {
			strncat(list, i ? ", " : "", sizeof(list) - strlen(list) - 1);
			strncat(list, vendor_at(i)->name, sizeof(list) - strlen(list) - 1);
		}
		return cfg_fail(err, cfg_get(g, "vendor"), "vendor: unknown profile \"%s\" (profiles: %s)",
				ret->vendor, list);
	}
	if (ret->n_ranges == 0)
		return cfg_fail(err, g, "decoys: a group needs \"ranges\"");
	for (size_t i = 0; i < ret->n_ranges; i++)
		if (ret->ranges[i].len < 12)
			return cfg_fail(err, cfg_get(g, "ranges"),
					"ranges: prefixes shorter than /12 are not decoy ranges");
	if (ret->personality[0] && !persona_preset_find(ret->personality)) {
		char list[512] = "";

		for (size_t i = 0; i < persona_preset_count(); i++) {
			strncat(list, i ? ", " : "", sizeof(list) - strlen(list) - 1);
			strncat(list, persona_preset_at(i)->name, sizeof(list) - strlen(list) - 1);
		}
		return cfg_fail(err, cfg_get(g, "personality"),
				"personality: unknown preset \"%s\" (presets: %s)",
				ret->personality, list);
	}
	if (!ret->personality[0] && !ret->fingerprint[0])
		memcpy(ret->personality, "linux-5.4", sizeof("linux-5.4"));
	return 0;
}

/* ipv6: {prefix: 2001:db8:1::/64, iid: auto|eui64|stable}: SLAAC-style
 * addresses for the group's decoys (absent: IPv4 only). */
static int
parse_ipv6(const struct cfg_node *g, struct conf_group *ret, struct cfg_error *err)
{
	const struct cfg_node *m = NULL;
	const char *s = NULL, *iid = NULL;
	struct prefix p;
	int r;

	if ((r = cfg_get_map(g, "ipv6", &m, err)) < 0 || !m)
		return r;
	if ((r = cfg_check_keys(m, ipv6_keys, err)) < 0 || (r = cfg_get_str(m, "prefix", &s, err)) < 0 ||
	    (r = cfg_get_str(m, "iid", &iid, err)) < 0)
		return r;
	if (!s || prefix_parse(s, &p) < 0 || p.addr.af != AF_INET6 || p.len != 64)
		return cfg_fail(err, s ? cfg_get(m, "prefix") : m,
				"ipv6: prefix: expected an IPv6 /64 (SLAAC needs one)");
	if (p.addr.a[0] == 0xff || (p.addr.a[0] == 0xfe && (p.addr.a[1] & 0xc0) == 0x80))
		return cfg_fail(err, cfg_get(m, "prefix"),
				"ipv6: prefix: a unicast global or ULA prefix (link-local is implied)");
	if (!iid || strcmp(iid, "auto") == 0)
		ret->v6_iid = CONF_IID_AUTO;
	else if (strcmp(iid, "eui64") == 0)
		ret->v6_iid = CONF_IID_EUI64;
	else if (strcmp(iid, "stable") == 0)
		ret->v6_iid = CONF_IID_STABLE;
	else
		return cfg_fail(err, cfg_get(m, "iid"), "ipv6: iid: expected auto, eui64 or stable");
	ret->v6 = true;
	memcpy(ret->v6_prefix, p.addr.a, 8);
	return 0;
}

static int
parse_group(const struct cfg_node *g, struct conf_group *ret, struct cfg_error *err)
{
	int r;

	if (cfg_kind(g) != CFG_MAP)
		return cfg_fail(err, g, "decoys: expected a map per group");
	if ((r = cfg_check_keys(g, group_keys, err)) < 0)
		return r;
	if ((r = parse_ipv6(g, ret, err)) < 0)
		return r;
	return parse_group_fields(g, ret, err);
}

static int
parse_alarms(const struct cfg_node *root, struct conf *c, struct cfg_error *err)
{
	const struct cfg_node *al = NULL;
	int64_t window = (int64_t)c->alarm_window_s;
	int r;

	if ((r = cfg_get_map(root, "alarms", &al, err)) < 0 || !al)
		return r;
	if ((r = cfg_check_keys(al, alarm_keys, err)) < 0 ||
	    (r = copy_str(al, "file", c->alarm_file, sizeof(c->alarm_file), err)) < 0 ||
	    (r = copy_str(al, "syslog", c->syslog, sizeof(c->syslog), err)) < 0 ||
	    (r = copy_str(al, "moatd_url", c->moatd_url, sizeof(c->moatd_url), err)) < 0 ||
	    (r = copy_str(al, "moatd_token_file", c->moatd_token_file,
			  sizeof(c->moatd_token_file), err)) < 0 ||
	    (r = cfg_get_duration(al, "window", 1, 86400, &window, err)) < 0 ||
	    (r = parse_prefixes(al, "allow", LIMIT_CHAFF_ALLOW, &c->allow, &c->n_allow, err)) < 0)
		return r;
	c->alarm_window_s = (uint64_t)window;
	if (c->syslog[0] && strncmp(c->syslog, "udp:", 4) != 0 && strncmp(c->syslog, "unix:", 5) != 0)
		return cfg_fail(err, cfg_get(al, "syslog"),
				"syslog: expected \"udp:HOST:PORT\" or \"unix:PATH\"");
	if (c->moatd_url[0] && strncmp(c->moatd_url, "http://", 7) != 0)
		return cfg_fail(err, cfg_get(al, "moatd_url"), "moatd_url: expected http://HOST:PORT/PATH");
	return 0;
}

static int
parse_claim(const struct cfg_node *root, struct conf *c, struct cfg_error *err)
{
	const struct cfg_node *cl = NULL;
	struct conf_claim *k = &c->claim;
	int r;

	if ((r = cfg_get_map(root, "claim", &cl, err)) < 0 || !cl)
		return r;
	k->after = 3;
	k->within_s = 5;
	k->max = 256;
	if ((r = cfg_check_keys(cl, claim_keys, err)) < 0 ||
	    (r = parse_group_fields(cl, &k->group, err)) < 0 ||
	    (r = parse_prefixes(cl, "reserved", LIMIT_CHAFF_EXCLUDES, &k->reserved,
				&k->n_reserved, err)) < 0 ||
	    (r = cfg_get_u64(cl, "after", 1, 100, &k->after, err)) < 0 ||
	    (r = cfg_get_duration(cl, "within", 1, 3600, &k->within_s, err)) < 0 ||
	    (r = cfg_get_u64(cl, "max", 1, 65536, &k->max, err)) < 0)
		return r;
	k->enabled = true;
	return 0;
}

/* vlans: the 802.1Q ids whose tagged frames are answered (tagged alike). */
static int
parse_vlans(const struct cfg_node *root, struct conf *c, struct cfg_error *err)
{
	const struct cfg_node *seq = NULL;
	int r;

	r = cfg_get_seq(root, "vlans", &seq, err);
	if (r < 0 || !seq)
		return r;
	if (cfg_len(seq) > CONF_VLANS)
		return cfg_fail(err, seq, "vlans: at most %u", CONF_VLANS);
	for (size_t i = 0; i < cfg_len(seq); i++) {
		const struct cfg_node *it = cfg_seq_at(seq, i);
		const char *s = cfg_scalar(it);
		uint64_t v;

		if (!s || strnum_u64(s, 1, 4094, &v) < 0)
			return cfg_fail(err, it, "vlans: expected a VLAN id 1..4094");
		c->vlans[i] = (uint16_t)v;
	}
	c->n_vlans = cfg_len(seq);
	return 0;
}

static int
parse_root(const struct cfg_node *root, struct conf *c, struct cfg_error *err)
{
	const struct cfg_node *groups = NULL, *alive = NULL;
	int64_t interval = 60, start = 30;
	uint64_t seed = 0;
	int r;

	if (!root || cfg_kind(root) != CFG_MAP)
		return cfg_fail(err, root, "expected a map at the top level");
	if ((r = cfg_check_keys(root, top_keys, err)) < 0 ||
	    (r = copy_str(root, "interface", c->ifname, sizeof(c->ifname), err)) < 0 ||
	    (r = copy_str(root, "osdb", c->osdb, sizeof(c->osdb), err)) < 0 ||
	    (r = copy_str(root, "user", c->user, sizeof(c->user), err)) < 0 ||
	    (r = copy_str(root, "state_dir", c->state_dir, sizeof(c->state_dir), err)) < 0 ||
	    (r = cfg_get_u64(root, "seed", 0, UINT64_MAX, &seed, err)) < 0)
		return r;
	c->have_seed = cfg_get(root, "seed") != NULL;
	c->seed = seed;
	if (!c->ifname[0])
		return cfg_fail(err, root, "interface: required");
	if ((r = cfg_get_seq(root, "decoys", &groups, err)) < 0)
		return r;
	if (!groups || cfg_len(groups) == 0)
		return cfg_fail(err, root, "decoys: at least one group is required");
	if (cfg_len(groups) > LIMIT_CHAFF_GROUPS)
		return cfg_fail(err, groups, "decoys: at most %u groups", LIMIT_CHAFF_GROUPS);
	c->groups = calloc(cfg_len(groups), sizeof(*c->groups));
	if (!c->groups)
		return -ENOMEM;
	for (size_t i = 0; i < cfg_len(groups); i++) {
		c->n_groups = i + 1;
		if ((r = parse_group(cfg_seq_at(groups, i), &c->groups[i], err)) < 0)
			return r;
	}
	if ((r = parse_alarms(root, c, err)) < 0 || (r = parse_claim(root, c, err)) < 0 ||
	    (r = parse_vlans(root, c, err)) < 0)
		return r;
	if ((r = cfg_get_map(root, "alive", &alive, err)) < 0 ||
	    (r = cfg_check_keys(alive, alive_keys, err)) < 0 ||
	    (r = cfg_get_duration(alive, "interval", 0, 86400, &interval, err)) < 0 ||
	    (r = cfg_get_u64(alive, "pps", 0, LIMIT_CHAFF_ALIVE_PPS, &c->alive_pps, err)) < 0 ||
	    (r = cfg_get_duration(alive, "start", 0, 3600, &start, err)) < 0 ||
	    (r = parse_background(root, &c->background, err)) < 0)
		return r;
	c->alive_interval_s = (uint64_t)interval;
	c->alive_start_s = (uint64_t)start;
	return 0;
}

static void
conf_defaults(struct conf *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->osdb, sizeof(c->osdb), "%s", OSDB_PATH);
	snprintf(c->alarm_file, sizeof(c->alarm_file), "-");
	c->alarm_window_s = 60;
	c->alive_interval_s = 60;
	c->alive_pps = 100;
	c->alive_start_s = 30;
	c->background = CONF_BG_ON;
}

/* Parse a loaded document over the defaults; frees doc. *ret only on success. */
static int
conf_from_doc(struct cfg_doc *doc, struct conf *ret, struct cfg_error *err)
{
	struct conf c;
	int r;

	conf_defaults(&c);
	r = parse_root(cfg_root(doc), &c, err);
	cfg_free(doc);
	if (r < 0) {
		conf_free(&c);
		return r;
	}
	*ret = c;
	return 0;
}

int
conf_load_buffer(const char *name, const char *buf, size_t len, struct conf *ret,
		 struct cfg_error *err)
{
	struct cfg_doc *doc = NULL;
	int r = cfg_load_buffer(name, buf, len, &doc, err);

	return r < 0 ? r : conf_from_doc(doc, ret, err);
}

int
conf_load(const char *path, struct conf *ret, struct cfg_error *err)
{
	struct cfg_doc *doc = NULL;
	int r = cfg_load_file(path, &doc, err);

	return r < 0 ? r : conf_from_doc(doc, ret, err);
}

void
conf_free(struct conf *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_groups; i++) {
		free(c->groups[i].ranges);
		free(c->groups[i].exclude);
	}
	free(c->groups);
	free(c->allow);
	free(c->claim.group.ranges);
	free(c->claim.group.exclude);
	free(c->claim.reserved);
	memset(&c->claim, 0, sizeof(c->claim));
	c->groups = NULL;
	c->allow = NULL;
	c->n_groups = 0;
	c->n_allow = 0;
}
