/* alarm: contact aggregation and alarm reports (JSON, syslog). */
#include "chaff/alarm.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chaff/decoy.h"
#include "common/hash.h"

/* Entries examined per key before recycling the oldest. */
#define ALARM_PROBE 16u

int
alarm_init(struct alarm *a, uint64_t window_ns, const struct decoy_prefix *allow, size_t n_allow)
{
	struct timespec w, m;
	int r;

	memset(a, 0, sizeof(*a));
	/* Sources choose the keys: the table's slots must not be predictable. */
	r = hash_key_init(&a->key);
	if (r < 0)
		return r;
	/* jansson seeds its hash from /dev/urandom on first use: do it now,
	 * before the sandbox forbids open(). */
	json_object_seed(0);
	tzset();	/* strftime() reads /etc/localtime once; likewise */
	a->v = calloc(LIMIT_CHAFF_ALARM_KEYS, sizeof(*a->v));
	if (!a->v)
		return -ENOMEM;
	a->mask = LIMIT_CHAFF_ALARM_KEYS - 1;
	a->window_ns = window_ns;
	a->allow = allow;
	a->n_allow = n_allow;
	clock_gettime(CLOCK_REALTIME, &w);
	clock_gettime(CLOCK_MONOTONIC, &m);
	a->wall_offset_ns = ((uint64_t)w.tv_sec - (uint64_t)m.tv_sec) * 1000000000ULL +
			    (uint64_t)w.tv_nsec - (uint64_t)m.tv_nsec;
	return 0;
}

void
alarm_free(struct alarm *a)
{
	if (!a)
		return;
	free(a->v);
	a->v = NULL;
}

int
alarm_add_sink(struct alarm *a, alarm_sink_fn fn, void *arg)
{
	if (a->n_sinks >= ALARM_SINKS)
		return -ENOSPC;
	a->sinks[a->n_sinks++] = (struct alarm_sink){ fn, arg };
	return 0;
}

static bool
allowed(const struct alarm *a, uint32_t src)
{
	for (size_t i = 0; i < a->n_allow; i++) {
		uint32_t mask = a->allow[i].len ? ~0u << (32 - a->allow[i].len) : 0;

		if ((src & mask) == (a->allow[i].base & mask))
			return true;
	}
	return false;
}

static const char *
ip_str(uint32_t host, char *buf)
{
	uint32_t n = htonl(host);

	return inet_ntop(AF_INET, &n, buf, INET_ADDRSTRLEN);
}

/* The source of an entry as reported: its IPv6 address or its IPv4 one. */
static const char *
src_str(const struct alarm_entry *e, char *buf)
{
	if (e->v6)
		return inet_ntop(AF_INET6, e->src6, buf, INET6_ADDRSTRLEN);
	return ip_str(e->src, buf);
}

/* The decoy address touched: IPv6 for an IPv6 contact, else the first decoy. */
static const char *
decoy_str(const struct alarm_entry *e, char *buf)
{
	if (e->v6)
		return inet_ntop(AF_INET6, e->decoy6, buf, INET6_ADDRSTRLEN);
	return ip_str(e->decoys[0], buf);
}

static void
iso_time(uint64_t wall_ns, char *buf, size_t cap)
{
	time_t s = (time_t)(wall_ns / 1000000000ULL);
	struct tm tm;

	gmtime_r(&s, &tm);
	size_t n = strftime(buf, cap, "%Y-%m-%dT%H:%M:%S", &tm);

	snprintf(buf + n, cap - n, ".%06uZ", (unsigned)(wall_ns % 1000000000ULL / 1000));
}

static const char *
proto_name(uint8_t p)
{
	switch (p) {
	case 0: return "arp";
	case 1: return "icmp";
	case 6: return "tcp";
	case 17: return "udp";
	case 58: return "icmp6";
	default: return "ip";
	}
}

/* Build and hand out one report. Extra fields (detail, credentials) are optional. */
static void
report(struct alarm *a, const struct alarm_entry *e, const struct respond_contact *c)
{
	char buf[INET6_ADDRSTRLEN + 16], t0[40], t1[40];
	const char *kind = respond_contact_name((enum respond_contact_kind)e->kind);
	json_t *o, *decoys;
	char *s;

	o = json_object();
	decoys = json_array();
	if (!o || !decoys)
		goto out;
	iso_time(e->last_ns + a->wall_offset_ns, t1, sizeof(t1));
	iso_time(e->first_ns + a->wall_offset_ns, t0, sizeof(t0));
	json_object_set_new(o, "time", json_string(t1));
	json_object_set_new(o, "type", json_string("chaff.alarm"));
	json_object_set_new(o, "kind", json_string(kind));
	json_object_set_new(o, "src", json_string(src_str(e, buf)));
	snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x", e->src_mac[0],
		 e->src_mac[1], e->src_mac[2], e->src_mac[3], e->src_mac[4], e->src_mac[5]);
	json_object_set_new(o, "src_mac", json_string(buf));
	json_object_set_new(o, "decoy", json_string(decoy_str(e, buf)));
	if (e->v6)	/* the decoy's identity, as "decoys" lists it */
		json_object_set_new(o, "decoy_v4", json_string(ip_str(e->decoys[0], buf)));
	for (unsigned i = 0; i < e->n_decoys; i++)
		json_array_append_new(decoys, json_string(ip_str(e->decoys[i], buf)));
	json_object_set_new(o, "decoys", decoys);
	decoys = NULL;
	json_object_set_new(o, "n_decoys", json_integer((json_int_t)alarm_distinct(e)));
	json_object_set_new(o, "count", json_integer((json_int_t)e->count));
	json_object_set_new(o, "first", json_string(t0));
	json_object_set_new(o, "last", json_string(t1));
	json_object_set_new(o, "scan", json_boolean(alarm_distinct(e) > 1));
	json_object_set_new(o, "proven",
			    json_boolean(respond_contact_proven((enum respond_contact_kind)e->kind)));
	json_object_set_new(o, "proto", json_string(proto_name(e->proto)));
	if (e->proto == 6 || e->proto == 17)
		json_object_set_new(o, "dport", json_integer(e->dport));
	if (a->persona_name)
		json_object_set_new(o, "personality",
				    json_string(a->persona_name(a->persona_arg, e->decoys[0])));
	if (c && c->detail)
		json_object_set_new(o, "detail", json_string(c->detail));
	if (c && c->user)
		json_object_set_new(o, "username", json_string(c->user));
	if (c && c->pass)
		json_object_set_new(o, "password", json_string(c->pass));
	s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
	if (s) {
		a->reports++;
		for (size_t i = 0; i < a->n_sinks; i++)
			a->sinks[i].fn(a->sinks[i].arg, s, e, kind);
		free(s);
	}
out:
	json_decref(decoys);
	json_decref(o);
}

static void
entry_from_contact(struct alarm_entry *e, const struct respond_contact *c, uint64_t now_ns)
{
	memset(e, 0, sizeof(*e));
	e->used = true;
	e->src = c->src;
	e->kind = (uint8_t)c->kind;
	e->proto = c->proto;
	e->dport = c->dport;
	memcpy(e->src_mac, c->src_mac, 6);
	e->first_ns = e->last_ns = now_ns;
	if (c->v6) {
		e->v6 = true;
		memcpy(e->src6, c->src6, 16);
		memcpy(e->decoy6, c->decoy6, 16);
	}
}

static void
add_decoy(const struct alarm *a, struct alarm_entry *e, uint32_t decoy)
{
	uint32_t bit = (uint32_t)hash_u32(&a->key, decoy) & 511;

	e->seen[bit / 64] |= 1ULL << (bit % 64);
	for (unsigned i = 0; i < e->n_decoys; i++)
		if (e->decoys[i] == decoy)
			return;
	if (e->n_decoys < LIMIT_CHAFF_ALARM_DECOYS)
		e->decoys[e->n_decoys++] = decoy;
}

uint64_t
alarm_distinct(const struct alarm_entry *e)
{
	unsigned set = 0;

	for (int i = 0; i < 8; i++)
		set += (unsigned)__builtin_popcountll(e->seen[i]);
	if (e->n_decoys < LIMIT_CHAFF_ALARM_DECOYS)
		return e->n_decoys;	/* all remembered: exact */
	if (set >= 512)
		return e->count;	/* sketch saturated: at most one per contact */
	/* Linear counting: n = -m ln(empty / m). */
	{
		double est = -512.0 * log((512.0 - set) / 512.0);
		uint64_t n = (uint64_t)(est + 0.5);

		return n < e->n_decoys ? e->n_decoys : n > e->count ? e->count : n;
	}
}

/* Service requests and logins are counted per port; scans per source and kind. */
static uint16_t
key_port(const struct respond_contact *c)
{
	return c->kind == CONTACT_SERVICE || c->kind == CONTACT_LOGIN ? c->dport : 0;
}

static struct alarm_entry *
slot_for(struct alarm *a, const struct respond_contact *c, uint8_t kind, uint16_t port,
	 uint64_t now_ns)
{
	uint32_t src = c->src;
	uint32_t h = (uint32_t)hash_u64(&a->key, (uint64_t)src << 24 | (uint64_t)port << 8 | kind) &
		     a->mask;
	struct alarm_entry *oldest = NULL;

	for (uint32_t i = 0; i < ALARM_PROBE; i++) {
		struct alarm_entry *e = &a->v[(h + i) & a->mask];

		if (!e->used || (e->src == src && e->kind == kind &&
				 (port == 0 || e->dport == port) && e->v6 == c->v6 &&
				 (!c->v6 || memcmp(e->src6, c->src6, 16) == 0)))
			return e;
		if (!oldest || e->first_ns < oldest->first_ns)
			oldest = e;
	}
	/* Full: report the oldest now and reuse its slot. */
	if (oldest->count > oldest->reported)
		report(a, oldest, NULL);
	oldest->used = false;
	(void)now_ns;
	return oldest;
}

void
alarm_contact(struct alarm *a, const struct respond_contact *c, uint64_t now_ns)
{
	struct alarm_entry *e, single;

	if (!c->v6 && allowed(a, c->src)) {
		a->suppressed_allow++;
		return;
	}
	e = slot_for(a, c, (uint8_t)c->kind, key_port(c), now_ns);
	if (!e->used) {
		entry_from_contact(e, c, now_ns);
		add_decoy(a, e, c->decoy);
		e->count = 1;
		report(a, e, c);
		e->reported_first = true;
		e->reported = 1;
		return;
	}
	add_decoy(a, e, c->decoy);
	e->count++;
	e->last_ns = now_ns;
	if (c->kind == CONTACT_LOGIN && e->reported < LIMIT_CHAFF_ALARM_LOGINS &&
	    e->reported == e->count - 1) {
		/* Credentials are worth a line each, up to the cap. */
		entry_from_contact(&single, c, now_ns);
		add_decoy(a, &single, c->decoy);
		single.count = 1;
		report(a, &single, c);
		e->reported++;
	}
}

size_t
alarm_tick(struct alarm *a, uint64_t now_ns, bool flush_all)
{
	size_t held = 0;

	for (uint32_t i = 0; i <= a->mask; i++) {
		struct alarm_entry *e = &a->v[i];

		if (!e->used)
			continue;
		if (!flush_all && now_ns - e->first_ns < a->window_ns) {
			held++;
			continue;
		}
		/* The first contact was reported when it came; report the window
		 * only if more followed. */
		if (e->count > e->reported)
			report(a, e, NULL);
		e->used = false;
	}
	return held;
}

void
alarm_sink_file(void *arg, const char *json, const struct alarm_entry *e, const char *kind_name)
{
	FILE *f = arg;

	fputs(json, f);
	fputc('\n', f);
	fflush(f);
}

size_t
alarm_format_syslog(char *buf, size_t cap, const char *hostname, int pid, uint64_t wall_ns,
		    const char *kind_name, const struct alarm_entry *e, const char *json)
{
	char t[40], src[INET6_ADDRSTRLEN], decoy[INET6_ADDRSTRLEN];
	int n;

	/* RFC 5424: <PRI>VERSION TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG.
	 * Facility local0 (16), severity warning (4): PRI = 16 * 8 + 4 = 132. */
	iso_time(wall_ns, t, sizeof(t));
	n = snprintf(buf, cap,
		     "<132>1 %s %s moat-chaff %d %s [moat@32473 src=\"%s\" decoy=\"%s\" "
		     "count=\"%llu\" decoys=\"%llu\"] %s",
		     t, hostname && hostname[0] ? hostname : "-", pid, kind_name,
		     src_str(e, src), decoy_str(e, decoy),
		     (unsigned long long)e->count, (unsigned long long)alarm_distinct(e), json);
	if (n < 0)
		return 0;
	return (size_t)n < cap ? (size_t)n : cap - 1;
}
