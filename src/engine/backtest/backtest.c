/*
 * backtest: a manual clock, every registered detector, one decision point,
 * and a PO name table (hash-indexed: a hostile CSV with many names stays
 * linear). The CSV reader cuts lines and fields with the bounds-checked
 * cursor and converts every number through common/strnum.
 */
#include "engine/backtest/backtest.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/cursor.h"
#include "common/hash.h"
#include "common/limits.h"
#include "common/strnum.h"
#include "collect/counters.h"
#include "engine/detect/registry.h"
#include "engine/detect/hostcheck.h"

#define BT_NDET DETECT_NREGISTERED
#define BT_NAME_MAX 64

/* The time of the previous row of each series of a PO, for intervals. */
struct bt_port {
	uint16_t port;
	uint64_t last_ns[PROTO__COUNT][DIR__COUNT];
};

struct bt_po {
	char name[BT_NAME_MAX + 1];
	uint64_t last_ns[PROTO__COUNT][DIR__COUNT];	/* port 0 */
	struct bt_port *ports;
	unsigned nports;
};

enum bt_col { COL_TIME, COL_PO, COL_PROTO, COL_DIR, COL_BYTES, COL_PACKETS, COL_PORT, COL_FLOWS,
	COL_SYNS, COL_FRAGS, COL__COUNT };
#define BT_COL_REQUIRED 6

/* CSV reader state, kept across chunks of one file. */
struct bt_csv {
	bool have_header;
	int col_of[COL__COUNT];		/* column index of each field, -1 if absent */
	unsigned ncols;
	uint64_t line;
	struct backtest_error *err;
};

struct backtest {
	struct dparams params;
	struct bt_csv csv;
	struct clock clock;
	bool started;
	void *det[BT_NDET];
	struct decision *dp;
	struct hostcheck hc;	/* per-host figures (pcap input) against host limits */
	struct backtest_stats stats;
	struct bt_po *pos;
	uint32_t npos, cappos;
	uint32_t *index;	/* po id + 1; 0 = free */
	uint32_t mask;
	struct hash_key key;	/* PO names come from the input's files */
};

static const struct dparams *
bt_params(void *ctx, uint32_t po_id)
{
	return &((struct backtest *)ctx)->params;
}

static void
bt_emit(void *ctx, const struct detection *d)
{
	struct backtest *bt = ctx;

	if (d->kind == DETECT_ATTACK)
		bt->stats.detections++;
	else
		bt->stats.suspicions++;
	decision_detect(bt->dp, d);
	hostcheck_emitted(&bt->hc, d);
}

/* Every PO of the backtest is checked with the same parameters. */
static const struct dparams *
bt_host_params(void *ctx, uint32_t po_id)
{
	struct backtest *bt = ctx;

	return po_id < bt->npos ? &bt->params : NULL;
}

static const char *
bt_po_name(void *ctx, uint32_t po_id)
{
	return backtest_po_name(ctx, po_id);
}

static void
bt_changed(void *ctx, const struct decision_attack *a, enum decision_state old)
{
	struct backtest *bt = ctx;

	if (a->state == DECISION_ENDED && a->declared_ns == 0)
		bt->stats.dropped++;
}

static void
bt_reset(void *ctx, uint32_t po_id, uint8_t proto, uint8_t dir, uint16_t port)
{
	struct backtest *bt = ctx;

	for (size_t i = 0; i < BT_NDET; i++)
		detect_registry[i]->reset(bt->det[i], po_id, proto, dir, port);
}

int
backtest_new(const struct dparams *params, struct backtest **ret)
{
	struct backtest *bt = calloc(1, sizeof(*bt));
	struct detect_env env = { .params = bt_params, .emit = bt_emit, .ctx = bt };
	struct decision_hooks hooks = { .params = bt_params, .po_name = bt_po_name,
		.changed = bt_changed, .reset = bt_reset, .ctx = bt };
	int r = -ENOMEM;

	if (bt == NULL)
		return -ENOMEM;
	bt->params = *params;
	clock_init_manual(&bt->clock, 0);
	if ((r = hash_key_init(&bt->key)) < 0)
		goto fail;
	r = -ENOMEM;
	bt->mask = 63;
	bt->index = calloc(bt->mask + 1, sizeof(*bt->index));
	if (bt->index == NULL)
		goto fail;
	if ((r = decision_new(&hooks, &bt->dp)) < 0)
		goto fail;
	bt->hc = (struct hostcheck){ .det = bt->det, .dp = bt->dp, .params = bt_host_params,
		.ctx = bt };
	for (size_t i = 0; i < BT_NDET; i++)
		if ((r = detect_registry[i]->new(&env, &bt->det[i])) < 0)
			goto fail;
	*ret = bt;
	return 0;
fail:
	backtest_free(bt);
	return r;
}

void
backtest_free(struct backtest *bt)
{
	if (bt == NULL)
		return;
	for (size_t i = 0; i < BT_NDET; i++)
		if (bt->det[i] != NULL)
			detect_registry[i]->free(bt->det[i]);
	decision_free(bt->dp);
	for (uint32_t i = 0; i < bt->npos; i++)
		free(bt->pos[i].ports);
	free(bt->pos);
	free(bt->index);
	free(bt);
}

/* --- PO names --- */

static uint32_t
bt_name_hash(const struct backtest *bt, const char *s)
{
	return (uint32_t)hash_bytes(&bt->key, s, strlen(s));
}

static bool
bt_name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > BT_NAME_MAX)
		return false;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '_' || *s == '.' || *s == '-'))
			return false;
	return true;
}

static int
bt_index_grow(struct backtest *bt)
{
	uint32_t slots = (bt->mask + 1) * 2;
	uint32_t *index = calloc(slots, sizeof(*index));

	if (index == NULL)
		return -ENOMEM;
	free(bt->index);
	bt->index = index;
	bt->mask = slots - 1;
	for (uint32_t i = 0; i < bt->npos; i++) {
		uint32_t h = bt_name_hash(bt, bt->pos[i].name) & bt->mask;

		while (bt->index[h] != 0)
			h = (h + 1) & bt->mask;
		bt->index[h] = i + 1;
	}
	return 0;
}

int
backtest_po(struct backtest *bt, const char *name, uint32_t *ret_id)
{
	uint32_t h;
	int r;

	if (!bt_name_valid(name))
		return -EINVAL;
	for (h = bt_name_hash(bt, name) & bt->mask; bt->index[h] != 0; h = (h + 1) & bt->mask)
		if (strcmp(bt->pos[bt->index[h] - 1].name, name) == 0) {
			*ret_id = bt->index[h] - 1;
			return 0;
		}
	if (bt->npos >= LIMIT_BACKTEST_POS)
		return -ENOSPC;
	if (bt->npos == bt->cappos) {
		uint32_t cap = bt->cappos ? bt->cappos * 2 : 16;
		struct bt_po *p = realloc(bt->pos, (size_t)cap * sizeof(*p));

		if (p == NULL)
			return -ENOMEM;
		bt->pos = p;
		bt->cappos = cap;
	}
	memset(&bt->pos[bt->npos], 0, sizeof(bt->pos[0]));
	strcpy(bt->pos[bt->npos].name, name);
	bt->index[h] = bt->npos + 1;
	*ret_id = bt->npos++;
	if ((uint64_t)bt->npos * 2 > (uint64_t)bt->mask + 1 && (r = bt_index_grow(bt)) < 0) {
		bt->npos--;
		return r;
	}
	return 0;
}

const char *
backtest_po_name(const struct backtest *bt, uint32_t id)
{
	return id < bt->npos ? bt->pos[id].name : "?";
}

/* --- replay --- */

static void
bt_close_instant(struct backtest *bt)
{
	uint64_t now = clock_wall_ns(&bt->clock);

	for (size_t i = 0; i < BT_NDET; i++)
		detect_registry[i]->tick(bt->det[i], now);
	decision_tick(bt->dp, now);
}

int
backtest_feed(struct backtest *bt, const struct reading *r)
{
	if (bt->started && r->time_ns < clock_wall_ns(&bt->clock))
		return -EINVAL;
	if (!bt->started) {
		bt->started = true;
		bt->stats.first_ns = r->time_ns;
		clock_set(&bt->clock, r->time_ns);
	} else if (r->time_ns > clock_wall_ns(&bt->clock)) {
		bt_close_instant(bt);
		clock_set(&bt->clock, r->time_ns);
	}
	bt->stats.readings++;
	bt->stats.last_ns = r->time_ns;
	for (size_t i = 0; i < BT_NDET; i++)
		detect_registry[i]->feed(bt->det[i], r);
	decision_feed(bt->dp, r);
	return 0;
}

void
backtest_observe(struct backtest *bt, const struct decision_obs *o)
{
	decision_observe(bt->dp, o);
}

void
backtest_hosts(struct backtest *bt, const struct counters *cnt)
{
	if (!bt->started || !hostcheck_feed(&bt->hc, cnt, counters_last_tick_ns(cnt)))
		return;
	bt->stats.host_intervals++;
	bt->stats.hosts_dropped += counters_hosts_dropped(cnt);
}

void
backtest_finish(struct backtest *bt)
{
	if (bt->started)
		bt_close_instant(bt);
}

const struct decision *
backtest_decision(const struct backtest *bt)
{
	return bt->dp;
}

const struct backtest_stats *
backtest_stats(const struct backtest *bt)
{
	return &bt->stats;
}

/* --- CSV --- */

static const char *const bt_col_names[COL__COUNT] = {
	"time", "po", "protocol", "direction", "bytes", "packets", "port", "flows", "syns", "frags",
};

static int
bt_fail(struct bt_csv *csv, const char *what, const char *detail)
{
	snprintf(csv->err->msg, sizeof(csv->err->msg), "line %" PRIu64 ": %s%s%s", csv->line, what,
	    detail ? ": " : "", detail ? detail : "");
	return -EINVAL;
}

/* Split a NUL-terminated line in place at commas; at most max fields. */
static unsigned
bt_split(char *line, char **fields, unsigned max)
{
	unsigned n = 0;
	char *p = line;

	for (;;) {
		char *comma = strchr(p, ',');

		if (n == max)
			return max + 1;
		fields[n++] = p;
		if (comma == NULL)
			return n;
		*comma = '\0';
		p = comma + 1;
	}
}

static int
bt_header(struct bt_csv *csv, char *line)
{
	char *fields[COL__COUNT + 1];
	unsigned n = bt_split(line, fields, COL__COUNT);

	if (n > COL__COUNT)
		return bt_fail(csv, "too many columns in the header", NULL);
	for (int c = 0; c < COL__COUNT; c++)
		csv->col_of[c] = -1;
	for (unsigned i = 0; i < n; i++) {
		int c;

		for (c = 0; c < COL__COUNT; c++)
			if (strcmp(fields[i], bt_col_names[c]) == 0)
				break;
		if (c == COL__COUNT)
			return bt_fail(csv, "unknown column", fields[i]);
		if (csv->col_of[c] >= 0)
			return bt_fail(csv, "duplicate column", fields[i]);
		csv->col_of[c] = (int)i;
	}
	for (int c = 0; c < BT_COL_REQUIRED; c++)
		if (csv->col_of[c] < 0)
			return bt_fail(csv, "missing column", bt_col_names[c]);
	csv->ncols = n;
	return 0;
}

/* Unix seconds, integer or decimal, to ns. The bound (year 2286) keeps
 * the product within uint64_t: a larger time would wrap, or as a double
 * convert with undefined behaviour. */
#define BT_TIME_MAX_S 10000000000ULL

static int
bt_time(const char *s, uint64_t *ret)
{
	uint64_t secs;
	double d;

	if (strnum_u64(s, 0, BT_TIME_MAX_S, &secs) == 0) {
		*ret = secs * CLOCK_NS_PER_SEC;
		return 0;
	}
	if (strnum_double(s, 0, (double)BT_TIME_MAX_S, &d) < 0)
		return -EINVAL;
	*ret = (uint64_t)(d * 1e9 + 0.5);
	return 0;
}

static uint64_t *
bt_last_slot(struct bt_po *po, uint16_t port, uint8_t proto, uint8_t dir)
{
	struct bt_port *p;

	if (port == 0)
		return &po->last_ns[proto][dir];
	for (unsigned i = 0; i < po->nports; i++)
		if (po->ports[i].port == port)
			return &po->ports[i].last_ns[proto][dir];
	if (po->nports >= LIMIT_PO_PORTS)
		return NULL;
	p = realloc(po->ports, (po->nports + 1) * sizeof(*p));
	if (p == NULL)
		return NULL;
	po->ports = p;
	memset(&p[po->nports], 0, sizeof(p[0]));
	p[po->nports].port = port;
	return &p[po->nports++].last_ns[proto][dir];
}

static int
bt_u64_field(struct bt_csv *csv, char **f, enum bt_col c, uint64_t *ret)
{
	if (csv->col_of[c] < 0) {
		*ret = 0;
		return 0;
	}
	if (strnum_u64(f[csv->col_of[c]], 0, UINT64_C(1) << 62, ret) < 0)
		return bt_fail(csv, "not a count", bt_col_names[c]);
	return 0;
}

static int
bt_row(struct backtest *bt, struct bt_csv *csv, char *line)
{
	char *f[COL__COUNT + 1];
	struct reading r = { 0 };
	uint64_t port = 0, *last;
	uint32_t po;
	int e;

	if (bt_split(line, f, csv->ncols) != csv->ncols)
		return bt_fail(csv, "wrong number of fields", NULL);
	if (bt_time(f[csv->col_of[COL_TIME]], &r.time_ns) < 0)
		return bt_fail(csv, "bad time", f[csv->col_of[COL_TIME]]);
	if ((e = backtest_po(bt, f[csv->col_of[COL_PO]], &po)) < 0) {
		bt_fail(csv, e == -ENOSPC ? "too many POs" : "bad PO name", f[csv->col_of[COL_PO]]);
		return e;
	}
	if (detect_proto_parse(f[csv->col_of[COL_PROTO]], &r.proto) < 0)
		return bt_fail(csv, "protocol must be tcp, udp, icmp or other", NULL);
	if (detect_dir_parse(f[csv->col_of[COL_DIR]], &r.dir) < 0)
		return bt_fail(csv, "direction must be in or out", NULL);
	if (csv->col_of[COL_PORT] >= 0 && strnum_u64(f[csv->col_of[COL_PORT]], 0, 65535, &port) < 0)
		return bt_fail(csv, "port must be 0..65535", NULL);
	if (bt_u64_field(csv, f, COL_BYTES, &r.bytes) < 0 ||
	    bt_u64_field(csv, f, COL_PACKETS, &r.packets) < 0 ||
	    bt_u64_field(csv, f, COL_FLOWS, &r.flows) < 0 ||
	    bt_u64_field(csv, f, COL_SYNS, &r.syns) < 0 ||
	    bt_u64_field(csv, f, COL_FRAGS, &r.frags) < 0)
		return -EINVAL;
	r.po_id = po;
	r.port = (uint16_t)port;
	last = bt_last_slot(&bt->pos[po], r.port, r.proto, r.dir);
	if (last == NULL)
		return bt_fail(csv, "too many ports for one PO", NULL);
	if (*last != 0 && r.time_ns <= *last)
		return bt_fail(csv, "time does not advance for this series", NULL);
	r.interval_ns = *last != 0 ? r.time_ns - *last : CLOCK_NS_PER_SEC;
	if (backtest_feed(bt, &r) < 0)
		return bt_fail(csv, "time goes backwards", NULL);
	*last = r.time_ns;
	return 0;
}

int
backtest_csv(struct backtest *bt, const char *buf, size_t len, struct backtest_error *err)
{
	struct cursor c = cur_init(buf, len);
	struct bt_csv *csv = &bt->csv;
	char line[LIMIT_BACKTEST_LINE + 1];
	int r;

	csv->err = err;
	err->msg[0] = '\0';
	while (!cur_empty(&c)) {
		const uint8_t *nl = memchr(cur_ptr(&c), '\n', cur_left(&c));
		size_t n = nl != NULL ? (size_t)(nl - cur_ptr(&c)) : cur_left(&c);
		struct cursor lc;

		csv->line++;
		if (!cur_sub(&c, n, &lc))
			return bt_fail(csv, "internal cursor error", NULL);
		(void)cur_skip(&c, 1);		/* the newline, if any */
		if (n > 0 && lc.p[n - 1] == '\r')
			n--;
		if (n > LIMIT_BACKTEST_LINE)
			return bt_fail(csv, "line too long", NULL);
		if (!cur_bytes(&lc, line, n))
			return bt_fail(csv, "internal cursor error", NULL);
		line[n] = '\0';
		if (memchr(line, '\0', n) != NULL)
			return bt_fail(csv, "NUL byte in line", NULL);
		if (n == 0 || line[0] == '#')
			continue;
		r = csv->have_header ? bt_row(bt, csv, line) : bt_header(csv, line);
		if (r < 0)
			return r;
		csv->have_header = true;
	}
	return 0;
}

int
backtest_csv_done(struct backtest *bt, struct backtest_error *err)
{
	bt->csv.err = err;
	if (!bt->csv.have_header)
		return bt_fail(&bt->csv, "no header row", NULL);
	return 0;
}

int
backtest_csv_file(struct backtest *bt, FILE *f, struct backtest_error *err)
{
	enum { CHUNK = 1 << 20 };
	char *buf = malloc(CHUNK);
	size_t have = 0;
	int r = 0;

	if (buf == NULL)
		return -ENOMEM;
	err->msg[0] = '\0';
	for (;;) {
		size_t got = fread(buf + have, 1, CHUNK - have, f);
		char *end;
		size_t used;

		have += got;
		if (got == 0) {
			if (ferror(f)) {
				snprintf(err->msg, sizeof(err->msg), "read error");
				r = -EIO;
			} else if (have > 0) {
				r = backtest_csv(bt, buf, have, err);	/* last line without newline */
			}
			break;
		}
		end = memrchr(buf, '\n', have);
		if (end == NULL) {
			if (have < CHUNK)
				continue;
			bt->csv.line++;
			bt->csv.err = err;
			r = bt_fail(&bt->csv, "line too long", NULL);
			break;
		}
		used = (size_t)(end - buf) + 1;
		if ((r = backtest_csv(bt, buf, used, err)) < 0)
			break;
		memmove(buf, buf + used, have - used);
		have -= used;
	}
	free(buf);
	if (r == 0)
		r = backtest_csv_done(bt, err);
	return r;
}

/* --- reports --- */

static void
bt_fmt_time(uint64_t ns, char *buf, size_t size)
{
	time_t t = (time_t)(ns / CLOCK_NS_PER_SEC);
	struct tm tm;

	if (ns == 0 || gmtime_r(&t, &tm) == NULL) {
		snprintf(buf, size, "-");
		return;
	}
	strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm);
}

static void
bt_fmt_type(const struct decision_attack *a, char *buf, size_t size)
{
	if (a->type == DECISION_TYPE_AMPLIFICATION)
		snprintf(buf, size, "amplification/%u", a->amp_port);
	else
		snprintf(buf, size, "%s", decision_type_name(a->type));
}

static void
bt_fmt_detectors(const struct decision_attack *a, char *buf, size_t size)
{
	size_t off = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < a->ndet && off < size; i++) {
		int n = snprintf(buf + off, size - off, "%s%s", i ? "+" : "", a->det[i].name);

		if (n < 0)
			return;
		off += (size_t)n;
	}
}

struct bt_report {
	const struct backtest *bt;
	FILE *out;
	json_t *list;
	unsigned n;
};

static int
bt_text_row(const struct decision_attack *a, void *arg)
{
	struct bt_report *rep = arg;
	char start[32], decl[32], end[32], type[32], dets[64];

	if (a->declared_ns == 0)
		return 0;
	bt_fmt_time(a->start_ns, start, sizeof(start));
	bt_fmt_time(a->declared_ns, decl, sizeof(decl));
	bt_fmt_time(a->end_ns, end, sizeof(end));
	bt_fmt_type(a, type, sizeof(type));
	bt_fmt_detectors(a, dets, sizeof(dets));
	fprintf(rep->out, "%-4" PRIu64 " %-12s %-5s %-5u %-18s %-19s %-19s %-19s %12.0f %14.0f %-15s %s\n",
	    a->id, a->po, detect_proto_name(a->proto), a->port, type,
	    start, decl, a->end_ns ? end : "(ongoing)", a->peak_pps, a->peak_bps, dets, a->reason);
	rep->n++;
	return 0;
}

int
backtest_report_text(const struct backtest *bt, FILE *out)
{
	struct bt_report rep = { .bt = bt, .out = out };
	char first[32], last[32];

	bt_fmt_time(bt->stats.first_ns, first, sizeof(first));
	bt_fmt_time(bt->stats.last_ns, last, sizeof(last));
	fprintf(out, "%-4s %-12s %-5s %-5s %-18s %-19s %-19s %-19s %12s %14s %-15s %s\n", "ID", "PO",
	    "PROTO", "PORT", "TYPE", "START (UTC)", "DECLARED (UTC)", "END (UTC)", "PEAK PPS",
	    "PEAK BPS", "DETECTORS", "WHY");
	decision_walk(bt->dp, bt_text_row, &rep);
	fprintf(out, "%u attack(s) declared; %" PRIu64 " readings from %s to %s; %" PRIu64
	    " suspicion(s) faded without a declaration\n", rep.n, bt->stats.readings, first, last,
	    bt->stats.dropped);
	if (bt->stats.host_intervals > 0)
		fprintf(out, "hosts checked in %" PRIu64 " interval(s); %" PRIu64
		    " host entries dropped (table full)\n", bt->stats.host_intervals,
		    bt->stats.hosts_dropped);
	return ferror(out) ? -EIO : 0;
}

static double
bt_secs(uint64_t ns)
{
	return (double)ns / 1e9;
}

/* The attack's top targets: [{"address": ..., "packets": ...}]. */
static json_t *
bt_json_targets(const struct decision_attack *a)
{
	json_t *list = json_array();
	char addr[INET6_ADDRSTRLEN];

	for (unsigned i = 0; list != NULL && i < a->ntop[DECISION_TOP_TARGETS]; i++) {
		const struct sketch_item *it = &a->top[DECISION_TOP_TARGETS][i];

		if ((it->key_len != 4 && it->key_len != 16) ||
		    inet_ntop(it->key_len == 4 ? AF_INET : AF_INET6, it->key, addr, sizeof(addr)) == NULL)
			continue;
		json_array_append_new(list, json_pack("{s:s, s:I}", "address", addr, "packets",
		    (json_int_t)it->count));
	}
	return list;
}

static int
bt_json_row(const struct decision_attack *a, void *arg)
{
	struct bt_report *rep = arg;
	json_t *o, *dets;
	char type[32];

	if (a->declared_ns == 0)
		return 0;
	bt_fmt_type(a, type, sizeof(type));
	dets = json_array();
	for (unsigned i = 0; i < a->ndet; i++)
		json_array_append_new(dets, json_string(a->det[i].name));
	o = json_pack("{s:I, s:s, s:s, s:s, s:i, s:s, s:s, s:f, s:f, s:o, s:f, s:f, s:i, s:o, s:s, s:o}",
	    "id", (json_int_t)a->id,
	    "po", a->po,
	    "protocol", detect_proto_name(a->proto),
	    "direction", detect_dir_name(a->dir),
	    "port", (int)a->port,
	    "type", type,
	    "state", decision_state_name(a->state),
	    "start", bt_secs(a->start_ns),
	    "declared", bt_secs(a->declared_ns),
	    "end", a->end_ns ? json_real(bt_secs(a->end_ns)) : json_null(),
	    "peak_pps", a->peak_pps,
	    "peak_bps", a->peak_bps,
	    "confidence", (int)a->confidence,
	    "detectors", dets,
	    "reason", a->reason,
	    "targets", bt_json_targets(a));
	if (o == NULL || json_array_append_new(rep->list, o) < 0)
		return -ENOMEM;
	return 0;
}

int
backtest_report_json(const struct backtest *bt, FILE *out)
{
	struct bt_report rep = { .bt = bt, .out = out, .list = json_array() };
	json_t *root;
	int r;

	if (rep.list == NULL)
		return -ENOMEM;
	if ((r = decision_walk(bt->dp, bt_json_row, &rep)) < 0) {
		json_decref(rep.list);
		return r;
	}
	root = json_pack("{s:o, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:f}}", "attacks", rep.list,
	    "stats",
	    "readings", (json_int_t)bt->stats.readings,
	    "host_intervals", (json_int_t)bt->stats.host_intervals,
	    "hosts_dropped", (json_int_t)bt->stats.hosts_dropped,
	    "detections", (json_int_t)bt->stats.detections,
	    "suspicions", (json_int_t)bt->stats.suspicions,
	    "suspicions_faded", (json_int_t)bt->stats.dropped,
	    "first", bt_secs(bt->stats.first_ns), "last", bt_secs(bt->stats.last_ns));
	if (root == NULL)
		return -ENOMEM;
	r = json_dumpf(root, out, JSON_INDENT(2)) < 0 ? -EIO : 0;
	fputc('\n', out);
	json_decref(root);
	return r;
}
