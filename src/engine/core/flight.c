/*
 * flight: FlightRecorder on top of the store. The recorder owns no rows in
 * memory: entries go straight to the store so a crash loses nothing that was
 * reported as recorded.
 */
#include "engine/core/flight.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/limits.h"
#include "common/strnum.h"

struct flight {
	struct store *store;
	const struct clock *clock;
	struct flight_config cfg;
};

/* The categories of the API contract; new ones are new rows. */
static const char *const flight_categories[] = {
	"config", "lifecycle", "store", "health", "traffic", "learning", "detection",
	"attack", "mitigation", "exporter", "decoy", "ins",
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

int
flight_record(struct flight *f, const char *category, const char *event,
    const json_t *detail, const char *fmt, ...)
{
	char message[LIMIT_FLIGHT_MESSAGE];
	struct store_flight_entry e;
	char *detail_text = NULL;
	va_list ap;
	int r;

	if (!flight_category_known(category))
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
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
	return store_flight_prune(f->store, before, f->cfg.max_rows);
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
