/*
 * flight: the FlightRecorder — every notable event with a category, an event
 * name, a human message and optional JSON detail, kept in the store and
 * queried by categories and time range, newest first. Retention (maximum age
 * and row count) is applied by flight_prune(), which the engine calls from
 * its timer.
 */
#ifndef MOAT_ENGINE_FLIGHT_H
#define MOAT_ENGINE_FLIGHT_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "common/clock.h"
#include "engine/store/store.h"

struct flight_config {
	int64_t max_age_s;	/* 0 = keep forever */
	uint64_t max_rows;	/* 0 = no row cap */
};

#define FLIGHT_DEFAULT_MAX_AGE_S (30 * 86400)
#define FLIGHT_DEFAULT_MAX_ROWS 1000000u

struct flight_query {
	const char *categories[STORE_FLIGHT_MAX_CATEGORIES];
	size_t ncategories;	/* 0 = all */
	int64_t since_ms;
	int64_t until_ms;
	uint32_t limit;		/* 1..LIMIT_FLIGHT_QUERY */
};

struct flight;

/* The recorder keeps pointers to store and clock; both outlive it. */
int flight_new(struct store *store, const struct clock *clock,
    const struct flight_config *cfg, struct flight **ret);
void flight_free(struct flight *f);
void flight_set_config(struct flight *f, const struct flight_config *cfg);
/* Point the recorder at another store (after the engine reopened it). */
void flight_set_store(struct flight *f, struct store *store);

/* True for the categories the API documents (config, lifecycle, store, ...). */
bool flight_category_known(const char *category);

/*
 * Record an event. category must be known, event is a short dotted name
 * ("po.add"), detail is borrowed and may be NULL. The message is printf
 * formatted. Returns 0 or a negative errno (the caller decides whether a
 * lost entry matters; most log it and go on). An entry past its rate (see
 * flight.c) is counted for its window's summary and 0 returned.
 */
int flight_record(struct flight *f, const char *category, const char *event,
    const json_t *detail, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Run a query; *ret is a new JSON array of entries
 * {"id","time","category","event","message","detail"}. */
int flight_query(struct flight *f, const struct flight_query *q, json_t **ret);

/* One bounded retention step (at most LIMIT_FLIGHT_PRUNE_BATCH rows): the
 * number of rows deleted (the batch: there may be more) or a negative errno. */
int flight_prune(struct flight *f);

/*
 * The engine's 1 s timer: write the summaries of aggregation windows that
 * closed, and run a retention step every minute (every tick while the last
 * step was cut short by its batch). 0 or a negative errno from the store.
 */
int flight_tick(struct flight *f);
/* Write the summaries of windows that closed (all: every window, e.g. at
   stop, while the store is still open). */
int flight_flush(struct flight *f, bool all);
/* Entries counted rather than written singly since start. */
uint64_t flight_suppressed(const struct flight *f);

/*
 * Parse a query bound: Unix seconds ("1700000000", "1700000000.5") or a
 * duration ago ("90s", "30m", "1h", "2d") relative to now_ms. An upper
 * bound in whole seconds covers that whole second (until=T includes an
 * entry at T.4), since clients round "now" down. -EINVAL otherwise.
 */
int flight_parse_time(const char *s, int64_t now_ms, bool upper, int64_t *ret_ms);

/* Split "a,b,c" into q->categories (pointers into buf, which is modified).
 * -EINVAL for an unknown or empty category, -E2BIG for too many. */
int flight_parse_categories(char *buf, struct flight_query *q);

#endif
