/*
 * slow: the slow-connection judge. Given successive kernel samples of one
 * handed-off connection (from sock_diag, see diag.h), decide whether it is a
 * slow attacker:
 *   SLOW_BODY — the client trickles bytes (slow body / R-U-D-Y, or headers
 *               that slipped past the hold) below min_rate over a window in
 *               which the server sent nothing back: it is waiting on the client;
 *   SLOW_READ — the server has data queued but the client's acknowledgements
 *               advance below min_rate over a window (tiny or zero window);
 *   SLOW_IDLE — nothing received or sent for idle_ms (hoarding a slot).
 * A request whose announced body (Content-Length, known from the hold) has
 * not all arrived is waiting on the client too: a window in which nothing at
 * all came is then SLOW_BODY (an idle keep-alive connection, whose request is
 * complete, is not).
 * A normal request/response exchange, even slow, always moves data the other
 * way in the window and is never judged slow; a client that has closed its
 * side is not trickling anything, so it is never SLOW_BODY. Nothing is judged before
 * grace_ms of age (counted from accept when the track starts at handoff).
 *
 * Windows slide by half: a window is judged as soon as it spans window_ms at
 * a sample; when it passes, the next one starts from the sample taken half a
 * window in, so a connection is judged every ~window_ms/2 over the last
 * window_ms..1.5*window_ms, and an attacker is judged at
 * max(grace_ms, window_ms) + one sampling interval after handoff.
 *
 * A paused reader is not SLOW_READ: a client whose kernel has acknowledged
 * at least pause_min_bytes (an ordinary receive buffer takes 64 KiB at once;
 * a slow-read attacker's deliberately tiny window does not) may stop reading
 * for up to pause_ms after its last passing window, as a player whose
 * buffer is full does. A stall longer than that is SLOW_READ.
 * Pure logic on values: no I/O, no clock.
 */
#ifndef MOAT_INS_SLOW_H
#define MOAT_INS_SLOW_H

#include <stdint.h>

enum slow_verdict { SLOW_OK, SLOW_BODY, SLOW_READ, SLOW_IDLE };

struct slow_rules {
	uint32_t grace_ms;	/* no verdict before this age */
	uint32_t window_ms;	/* rate measurement window */
	uint32_t min_rate;	/* bytes/s; 0 disables BODY and READ */
	uint32_t idle_ms;	/* 0 disables IDLE */
	uint32_t pause_ms;	/* a reader may stall this long (0: no pause allowed) */
	uint64_t pause_min_bytes;	/* once its kernel has acknowledged this much */
};

/* One sample of a connection's kernel state. */
struct slow_sample {
	uint64_t t_ms;
	uint64_t bytes_received;	/* tcpi_bytes_received */
	uint64_t bytes_acked;		/* tcpi_bytes_acked */
	uint32_t wqueue;		/* bytes queued to send, unacknowledged */
	uint32_t last_data_recv_ms;	/* tcpi_last_data_recv */
	uint32_t last_data_sent_ms;	/* tcpi_last_data_sent */
	uint8_t peer_closed;		/* the client sent its FIN (which bytes_received counts as 1) */
	uint32_t segs_in;		/* tcpi_segs_in (telemetry only; the judge ignores it) */
	uint64_t body_end;		/* slow_start only: bytes_received once the request's
					   announced body is in (Content-Length); 0 = none */
};

/* Per-connection memory between samples; zero-initialise before the first. */
struct slow_track {
	uint64_t first_ms;		/* grace counts from here */
	uint64_t win_start_ms;
	uint64_t win_rx, win_acked;
	uint64_t mid_ms, mid_rx, mid_acked;	/* the next window's start, once taken */
	uint64_t good_ms;		/* end of the last window that passed (not as a pause) */
	uint64_t body_end;		/* see slow_sample */
	uint8_t started, has_mid;
	uint8_t paused;			/* the last judged window passed as a reader's pause */
};

/*
 * Start a track from the connection's figures at handoff (s->t_ms), with grace
 * counted from first_ms (its accept). Without it, the first sample starts it.
 */
void slow_start(struct slow_track *t, const struct slow_sample *s, uint64_t first_ms);

enum slow_verdict slow_judge(const struct slow_rules *r, struct slow_track *t,
			     const struct slow_sample *s);

const char *slow_name(enum slow_verdict v);

#endif
