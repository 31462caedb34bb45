/*
 * flight: FlightRecorder on top of the store. The recorder owns no rows in
 * memory: entries go straight to the store so a crash loses nothing that was
 * reported as recorded.
 *
 * Entries driven by outside traffic (decoy contacts, exporters, detection)
 * are rate limited so a spray can neither fill the store nor stall the event
 * loop writing it: per (category, event, source) the first LIMIT_FLIGHT_BURST
 * of a LIMIT_FLIGHT_WINDOW_S window are written singly, the rest counted and
 * written as one summary when the window closes ("decoy.contact from
 * 203.0.113.9 x3200 in 10 s"); and at most LIMIT_FLIGHT_WRITES_PER_S single
 * rows a second are written in all. Operator-driven categories (config,
 * lifecycle, store) are never aggregated: they are authenticated and rare.
 */
#include "engine/core/flight.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "common/limits.h"
#include "common/strnum.h"

#define FLIGHT_PROBES	16u
#define FLIGHT_PRUNE_TICKS 60u

struct flight_agg {
	bool used;
	char category[16];
	char event[48];
	char source[64];	/* "" when the entry names none; "*" for overflow */
	int64_t start_ms;	/* window start */
	uint32_t seen;		/* entries in the window, written or not */
	uint32_t suppressed;	/* not written singly */
};

struct flight {
	struct store *store;
	const struct clock *clock;
	struct flight_config cfg;
	struct hash_key key;
	struct flight_agg agg[LIMIT_FLIGHT_KEYS];
	int64_t rate_sec;	/* the second rate_n counts */
	uint32_t rate_n;
	uint64_t suppressed_total;
	unsigned ticks;
	bool prune_behind;	/* the last step hit its batch: go on next tick */
};

/* The categories of the API contract; new ones are new rows. */
static const char *const flight_categories[] = {
	"config", "lifecycle", "store", "health", "traffic", "learning", "detection",
	"attack", "mitigation", "exporter", "decoy", "ins", "cluster",
};

bool
flight_category_known(const char *category)
{
	for (size_t i = 0; i < sizeof(flight_categories) / sizeof(flight_categories[0]); i++)
		if (strcmp(flight_categories[i], category) == 0)
			return true;
	return false;
}

int
flight_new(struct store *store, const struct clock *clock,
    const struct flight_config *cfg, struct flight **ret)
{
	struct flight *f = calloc(1, sizeof(*f));

	if (!f)
		return -ENOMEM;
	f->store = store;
	f->clock = clock;
	f->cfg = *cfg;
	if (hash_key_init(&f->key) < 0) {
		free(f);
		return -EIO;
	}
	*ret = f;
	return 0;
}

void
flight_free(struct flight *f)
{
	free(f);
}

void
flight_set_config(struct flight *f, const struct flight_config *cfg)
{
	f->cfg = *cfg;
}

void
flight_set_store(struct flight *f, struct store *store)
{
	f->store = store;
}

static int64_t
flight_now_ms(const struct flight *f)
{
	return (int64_t)(clock_wall_ns(f->clock) / 1000000u);
}

static int
flight_write(struct flight *f, const char *category, const char *event, const json_t *detail,
    const char *message)
{
	struct store_flight_entry e;
	char *detail_text = NULL;
	int r;

	if (detail) {
		detail_text = json_dumps(detail, JSON_COMPACT | JSON_ENCODE_ANY);
		if (!detail_text)
			return -ENOMEM;
	}
	e = (struct store_flight_entry){
		.time_ms = flight_now_ms(f),
		.category = category,
		.event = event,
		.message = message,
		.detail = detail_text,
	};
	r = store_flight_append(f->store, &e);
	free(detail_text);
	return r;
}

static bool
flight_aggregated(const char *category)
{
	return strcmp(category, "config") != 0 && strcmp(category, "lifecycle") != 0 &&
	    strcmp(category, "store") != 0 && strcmp(category, "cluster") != 0;
}

/* The address an entry is about: the first string member of these names. */
static const char *
flight_source(const json_t *detail)
{
	static const char *const names[] = { "src", "source", "exporter", "address" };

	for (size_t i = 0; json_is_object(detail) && i < sizeof(names) / sizeof(names[0]); i++) {
		const char *v = json_string_value(json_object_get(detail, names[i]));

		if (v != NULL)
			return v;
	}
	return "";
}

/* Write a's summary if it held anything back, and free the slot. */
static int
flight_agg_close(struct flight *f, struct flight_agg *a, int64_t now_ms)
{
	json_t *detail;
	int r = 0;

	if (a->suppressed > 0) {
		int64_t secs = (now_ms - a->start_ms + 999) / 1000;
		char msg[LIMIT_FLIGHT_MESSAGE];

		detail = json_pack("{s:s, s:I, s:I, s:I}", "source", a->source,
		    "count", (json_int_t)a->seen, "not_recorded_singly", (json_int_t)a->suppressed,
		    "window_s", (json_int_t)secs);
		snprintf(msg, sizeof(msg), "%s from %s \u00d7%u in %lld s (%u not recorded singly)",
		    a->event, a->source[0] ? a->source : "unnamed sources", a->seen, (long long)secs,
		    a->suppressed);
		r = flight_write(f, a->category, a->event, detail, msg);
		json_decref(detail);
	}
	memset(a, 0, sizeof(*a));
	return r;
}

/* The aggregation slot of (category, event, source): found, or a new one
   (a window starting now), or the category's overflow bucket when the
   probe is exhausted; NULL only when even that has no room. */
static struct flight_agg *
flight_agg_get(struct flight *f, const char *category, const char *event, const char *source,
    int64_t now_ms)
{
	char key[sizeof(((struct flight_agg *)0)->category) + sizeof(((struct flight_agg *)0)->event) +
	    sizeof(((struct flight_agg *)0)->source) + 3];
	int n = snprintf(key, sizeof(key), "%s|%s|%s", category, event, source);
	uint64_t h = hash_bytes(&f->key, key, n > 0 && (size_t)n < sizeof(key) ? (size_t)n : 0);
	struct flight_agg *free_slot = NULL;

	for (unsigned p = 0; p < FLIGHT_PROBES; p++) {
		struct flight_agg *a = &f->agg[(h + p) % LIMIT_FLIGHT_KEYS];

		if (a->used && now_ms - a->start_ms >= (int64_t)LIMIT_FLIGHT_WINDOW_S * 1000)
			(void)flight_agg_close(f, a, now_ms);
		if (!a->used) {
			if (free_slot == NULL)
				free_slot = a;
			continue;
		}
		if (strcmp(a->category, category) == 0 && strcmp(a->event, event) == 0 &&
		    strcmp(a->source, source) == 0)
			return a;
	}
	if (free_slot == NULL) {
		if (strcmp(source, "*") == 0)
			return NULL;
		return flight_agg_get(f, category, event, "*", now_ms);
	}
	free_slot->used = true;
	snprintf(free_slot->category, sizeof(free_slot->category), "%s", category);
	snprintf(free_slot->event, sizeof(free_slot->event), "%s", event);
	snprintf(free_slot->source, sizeof(free_slot->source), "%s", source);
	free_slot->start_ms = now_ms;
	return free_slot;
}

/* True when this entry is to be written singly; else it was counted. */
static bool
flight_admit(struct flight *f, const char *category, const char *event, const json_t *detail)
{
	int64_t now_ms = flight_now_ms(f);
	struct flight_agg *a;

	if (!flight_aggregated(category))
		return true;
	a = flight_agg_get(f, category, event, flight_source(detail), now_ms);
	if (now_ms / 1000 != f->rate_sec) {
		f->rate_sec = now_ms / 1000;
		f->rate_n = 0;
	}
	if (a == NULL) {
		f->suppressed_total++;
		return false;
	}
	a->seen++;
	if (a->seen > LIMIT_FLIGHT_BURST || f->rate_n >= LIMIT_FLIGHT_WRITES_PER_S) {
		a->suppressed++;
		f->suppressed_total++;
		return false;
	}
	f->rate_n++;
	return true;
}

int
flight_record(struct flight *f, const char *category, const char *event,
    const json_t *detail, const char *fmt, ...)
{
	char message[LIMIT_FLIGHT_MESSAGE];
	va_list ap;

	if (!flight_category_known(category))
		return -EINVAL;
	if (!flight_admit(f, category, event, detail))
		return 0;	/* counted; its window's summary records it */
	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	return flight_write(f, category, event, detail, message);
}

int
flight_flush(struct flight *f, bool all)
{
	int64_t now_ms = flight_now_ms(f);
	int r = 0;

	for (size_t i = 0; i < LIMIT_FLIGHT_KEYS; i++) {
		struct flight_agg *a = &f->agg[i];

		if (a->used && (all || now_ms - a->start_ms >= (int64_t)LIMIT_FLIGHT_WINDOW_S * 1000)) {
			int k = flight_agg_close(f, a, now_ms);

			if (k < 0)
				r = k;
		}
	}
	return r;
}

uint64_t
flight_suppressed(const struct flight *f)
{
	return f->suppressed_total;
}

int
flight_tick(struct flight *f)
{
	int r = flight_flush(f, false), p;

	if (++f->ticks % FLIGHT_PRUNE_TICKS != 0 && !f->prune_behind)
		return r;
	p = flight_prune(f);
	if (p < 0)
		return p;
	f->prune_behind = (uint32_t)p >= LIMIT_FLIGHT_PRUNE_BATCH;
	return r;
}

/* One stored entry as API JSON. Detail text that no longer parses (a
 * doctored backup) is shown as a string rather than dropped. */
static json_t *
flight_entry_json(const struct store_flight_entry *e)
{
	json_t *detail = NULL;

	if (e->detail) {
		detail = json_loads(e->detail, JSON_DECODE_ANY, NULL);
		if (!detail)
			detail = json_string(e->detail);
	}
	return json_pack("{s:I, s:f, s:s, s:s, s:s, s:o?}",
	    "id", (json_int_t)e->id,
	    "time", (double)e->time_ms / 1000.0,
	    "category", e->category,
	    "event", e->event,
	    "message", e->message,
	    "detail", detail);
}

static int
flight_collect(const struct store_flight_entry *e, void *arg)
{
	json_t *arr = arg;
	json_t *j = flight_entry_json(e);

	if (!j || json_array_append_new(arr, j) < 0)
		return -ENOMEM;
	return 0;
}

int
flight_query(struct flight *f, const struct flight_query *q, json_t **ret)
{
	struct store_flight_filter sf = {
		.ncategories = q->ncategories,
		.since_ms = q->since_ms,
		.until_ms = q->until_ms,
		.limit = q->limit,
	};
	json_t *arr;
	int r;

	if (q->limit == 0 || q->limit > LIMIT_FLIGHT_QUERY || q->ncategories > STORE_FLIGHT_MAX_CATEGORIES)
		return -EINVAL;
	for (size_t i = 0; i < q->ncategories; i++)
		sf.categories[i] = q->categories[i];
	arr = json_array();
	if (!arr)
		return -ENOMEM;
	r = store_flight_query(f->store, &sf, flight_collect, arr);
	if (r < 0) {
		json_decref(arr);
		return r;
	}
	*ret = arr;
	return 0;
}

int
flight_prune(struct flight *f)
{
	int64_t before = INT64_MIN;

	if (f->cfg.max_age_s > 0)
		before = flight_now_ms(f) - f->cfg.max_age_s * 1000;
	return store_flight_prune(f->store, before, f->cfg.max_rows, LIMIT_FLIGHT_PRUNE_BATCH);
}

int
flight_parse_time(const char *s, int64_t now_ms, bool upper, int64_t *ret_ms)
{
	/* 1e12 s is year 33658: far past any real bound, and keeps ms in range. */
	const double max_s = 1e12;
	int64_t ago_s, whole;
	double secs;

	if (strnum_i64(s, 0, (int64_t)max_s, &whole) == 0) {
		*ret_ms = whole * 1000 + (upper ? 999 : 0);
		return 0;
	}
	if (strnum_double(s, 0, max_s, &secs) == 0) {
		*ret_ms = (int64_t)(secs * 1000.0);
		return 0;
	}
	if (strnum_duration(s, 0, (int64_t)max_s, &ago_s) == 0) {
		*ret_ms = now_ms - ago_s * 1000;
		return 0;
	}
	return -EINVAL;
}

int
flight_parse_categories(char *buf, struct flight_query *q)
{
	char *save = NULL, *tok;
	size_t n = 0;

	if (*buf == '\0')
		return -EINVAL;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!flight_category_known(tok))
			return -EINVAL;
		if (n == STORE_FLIGHT_MAX_CATEGORIES)
			return -E2BIG;
		q->categories[n++] = tok;
	}
	if (n == 0)
		return -EINVAL;
	q->ncategories = n;
	return 0;
}
