/*
 * slow: slow-connection judge. See slow.h.
 */
#include "ins/slow.h"

#include <stdbool.h>

static const char *const slow_names[] = {
	[SLOW_OK] = "ok",
	[SLOW_BODY] = "slow-body",
	[SLOW_READ] = "slow-read",
	[SLOW_IDLE] = "idle",
};

const char *
slow_name(enum slow_verdict v)
{
	return (unsigned)v < sizeof(slow_names) / sizeof(slow_names[0]) ? slow_names[v] : "?";
}

static void
slow_window_reset(struct slow_track *t, const struct slow_sample *s)
{
	t->win_start_ms = s->t_ms;
	t->win_rx = s->bytes_received;
	t->win_acked = s->bytes_acked;
	t->has_mid = 0;
}

/* The judged window passed: the next one starts half a window in (or now). */
static void
slow_window_slide(struct slow_track *t, const struct slow_sample *s)
{
	if (t->has_mid && t->mid_ms > t->win_start_ms) {
		t->win_start_ms = t->mid_ms;
		t->win_rx = t->mid_rx;
		t->win_acked = t->mid_acked;
		t->mid_ms = s->t_ms;
		t->mid_rx = s->bytes_received;
		t->mid_acked = s->bytes_acked;
		return;
	}
	slow_window_reset(t, s);
}

void
slow_start(struct slow_track *t, const struct slow_sample *s, uint64_t first_ms)
{
	*t = (struct slow_track){ .started = 1, .first_ms = first_ms, .good_ms = s->t_ms,
				  .body_end = s->body_end };
	slow_window_reset(t, s);
}

/* Bytes per second of delta over ms, in 64 bits (delta is at most 2^64, ms >= 1). */
static uint64_t
slow_rate(uint64_t delta, uint64_t ms)
{
	return ms ? delta * 1000u / ms : 0;
}

/* Judge one window of span ms ending at s. */
static enum slow_verdict
slow_window_verdict(const struct slow_rules *r, const struct slow_track *t,
		    const struct slow_sample *s, uint64_t span)
{
	uint64_t rx = s->bytes_received - t->win_rx;
	uint64_t acked = s->bytes_acked - t->win_acked;

	bool body_due = s->bytes_received < t->body_end;

	/* Server waits on the client: nothing went back, and what came in trickles
	 * (or nothing came while the request's body is still due). */
	if (!s->peer_closed && acked == 0 && s->wqueue == 0 && (rx > 0 || body_due) &&
	    slow_rate(rx, span) < r->min_rate)
		return SLOW_BODY;
	/* Client reads slowly: data waits to be sent, acknowledgements crawl. */
	if (s->wqueue > 0 && slow_rate(acked, span) < r->min_rate)
		return SLOW_READ;
	return SLOW_OK;
}

/* A reader that took a full buffer and stopped for less than pause_ms. */
static bool
slow_paused_reader(const struct slow_rules *r, const struct slow_track *t,
		   const struct slow_sample *s)
{
	return r->pause_ms && s->bytes_acked >= r->pause_min_bytes &&
	       s->t_ms - t->good_ms < r->pause_ms;
}

enum slow_verdict
slow_judge(const struct slow_rules *r, struct slow_track *t, const struct slow_sample *s)
{
	uint64_t span;
	enum slow_verdict v = SLOW_OK;

	if (!t->started) {
		slow_start(t, s, s->t_ms);
		return SLOW_OK;
	}
	if (s->t_ms < t->win_start_ms)
		return SLOW_OK;		/* a sample older than the window: nothing to learn */
	span = s->t_ms - t->win_start_ms;
	if (!t->has_mid && span * 2 >= r->window_ms && span < r->window_ms) {
		t->has_mid = 1;
		t->mid_ms = s->t_ms;
		t->mid_rx = s->bytes_received;
		t->mid_acked = s->bytes_acked;
	}
	if (s->t_ms < t->first_ms + r->grace_ms)
		return SLOW_OK;
	if (r->idle_ms && s->last_data_recv_ms >= r->idle_ms &&
	    s->last_data_sent_ms >= r->idle_ms && s->wqueue == 0)
		return SLOW_IDLE;
	if (span < r->window_ms)
		return SLOW_OK;
	if (r->min_rate)
		v = slow_window_verdict(r, t, s, span);
	t->paused = 0;
	if (v == SLOW_READ && slow_paused_reader(r, t, s)) {
		t->paused = 1;
		v = SLOW_OK;
	} else if (v == SLOW_OK) {
		t->good_ms = s->t_ms;
	}
	if (v == SLOW_OK)
		slow_window_slide(t, s);
	return v;
}
