/*
 * obs: sock_diag rounds, slow verdicts, SOCK_DESTROY. See obs.h.
 */
#include "ins/obs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/clock.h"
#include "common/limits.h"
#include "common/log.h"
#include "ins/policy.h"
#include "ins/srctab.h"

#define OBS_BUCKETS (LIMIT_INS_OBSERVED / 2)

struct obs_entry {
	struct obs_entry *next;
	uint64_t cookie;
	uint64_t first_ms;
	uint32_t gen;
	struct slow_track track;
	struct diag_sock last;
	uint64_t rx_reported, segs_reported;	/* counters at the previous report */
	uint64_t reported_ms;
	uint8_t fin;			/* a round saw the peer's FIN */
	uint8_t fin_out;		/* a round saw our FIN acknowledged */
	uint8_t shed;			/* we destroyed it */
};

struct obs {
	struct diag *diag;		/* dumps; its buffer is being parsed during a round */
	struct diag *killer;		/* SOCK_DESTROY, on its own socket and buffer */
	struct diag *events;		/* destroy broadcasts, or NULL */
	struct obs_entry *pool, *free_list;
	struct obs_entry *buckets[OBS_BUCKETS];
	uint32_t gen;			/* round in progress (or last) */
	uint32_t done_gen;		/* last completed round */
	obs_event_fn event;
	void *event_ctx;
	struct obs_env env;
	struct obs_stats st;
	/* per-round context for the dump callback */
	uint64_t now_ms;
	struct slow_rules rules;
};

int
obs_init(const struct obs_env *env, struct obs **ret)
{
	struct obs *o = calloc(1, sizeof(*o));
	int r;

	if (!o)
		return -ENOMEM;
	o->env = *env;
	o->pool = calloc(LIMIT_INS_OBSERVED, sizeof(*o->pool));
	if (!o->pool) {
		free(o);
		return -ENOMEM;
	}
	for (size_t i = 0; i < LIMIT_INS_OBSERVED; i++) {
		o->pool[i].next = o->free_list;
		o->free_list = &o->pool[i];
	}
	r = diag_open(&o->diag);
	if (r == 0)
		r = diag_open(&o->killer);
	if (r < 0) {
		obs_free(o);
		return r;
	}
	if (diag_open_events(&o->events) < 0)
		o->events = NULL;	/* without CAP_NET_ADMIN: rounds notice closes */
	*ret = o;
	return 0;
}

void
obs_free(struct obs *o)
{
	if (!o)
		return;
	diag_close(o->diag);
	diag_close(o->killer);
	diag_close(o->events);
	free(o->pool);
	free(o);
}

void
obs_set_event_fn(struct obs *o, obs_event_fn fn, void *ctx)
{
	o->event = fn;
	o->event_ctx = ctx;
}

const struct obs_stats *
obs_stats(const struct obs *o)
{
	return &o->st;
}

uint32_t
obs_gen(const struct obs *o)
{
	return o->done_gen;
}

static size_t
obs_bucket(uint64_t cookie)
{
	cookie ^= cookie >> 33;
	cookie *= 0xff51afd7ed558ccdull;
	cookie ^= cookie >> 33;
	return (size_t)(cookie % OBS_BUCKETS);
}

static struct obs_entry *
obs_find(struct obs *o, uint64_t cookie)
{
	struct obs_entry *e;

	for (e = o->buckets[obs_bucket(cookie)]; e; e = e->next)
		if (e->cookie == cookie)
			return e;
	return NULL;
}

/* The history of a connection, created on first sight; NULL when the pool is empty. */
static struct obs_entry *
obs_lookup(struct obs *o, const struct diag_sock *s, bool *ret_new)
{
	size_t b = obs_bucket(s->cookie);
	struct obs_entry *e;

	*ret_new = false;
	for (e = o->buckets[b]; e; e = e->next)
		if (e->cookie == s->cookie)
			return e;
	if (!o->free_list)
		return NULL;
	e = o->free_list;
	o->free_list = e->next;
	memset(e, 0, sizeof(*e));
	e->cookie = s->cookie;
	e->first_ms = o->now_ms;
	e->next = o->buckets[b];
	o->buckets[b] = e;
	*ret_new = true;
	return e;
}

void
obs_track_handoff(struct obs *o, uint64_t cookie, const struct ins_addr *peer,
		  const struct ins_addr *local, uint64_t t0_ms, const struct slow_sample *at)
{
	struct diag_sock s = { .cookie = cookie, .peer = *peer, .local = *local };
	struct obs_entry *e;
	bool fresh;

	e = obs_lookup(o, &s, &fresh);
	if (!e) {
		o->st.untracked++;
		return;
	}
	if (!fresh)
		return;		/* a cookie seen twice: keep what the rounds know */
	o->st.handoffs_tracked++;
	e->first_ms = t0_ms;
	/* Counts as seen in the last round: the next round either sees it or
	 * sweeps it, reporting its CLOSE from these (zero) figures. */
	e->gen = o->gen;
	if (at) {
		/* Judged from the handoff on, its grace counted from accept. */
		slow_start(&e->track, at, t0_ms);
		s.has_info = true;
		s.bytes_received = at->bytes_received;
		s.bytes_acked = at->bytes_acked;
		s.segs_in = at->segs_in;
	}
	e->last = s;
	e->reported_ms = t0_ms;
}

/*
 * Report an event of e from sample raw. fin: the peer's FIN is in
 * raw->bytes_received, fin_out: ours in raw->bytes_acked (the kernel counts
 * each FIN as one byte of sequence space); they are taken out, so that byte
 * counts are what the client sent and what it was sent.
 */
static void
obs_emit(struct obs *o, struct obs_entry *e, enum obs_event ev, enum slow_verdict v,
	 const struct diag_sock *raw, bool fin, bool fin_out)
{
	struct diag_sock sv = *raw;
	const struct diag_sock *s = &sv;
	struct obs_report r = { .event = ev, .verdict = v, .s = s, .first_ms = e->first_ms };

	if (fin && sv.bytes_received > 0)
		sv.bytes_received--;
	if (fin_out && sv.bytes_acked > 0)
		sv.bytes_acked--;
	r.in_delta = s->bytes_received - e->rx_reported;
	r.pkts_delta = s->segs_in - e->segs_reported;
	if (s->bytes_received < e->rx_reported)
		r.in_delta = 0;
	if (s->segs_in < e->segs_reported)
		r.pkts_delta = 0;
	e->rx_reported = s->bytes_received;
	e->segs_reported = s->segs_in;
	e->reported_ms = o->now_ms;
	if (o->event)
		o->event(o->event_ctx, &r);
}

/* Destroy an offender and count it against its source. */
static void
obs_shed(struct obs *o, const struct diag_sock *s, enum slow_verdict v)
{
	const struct policy *pol = o->env.pol;
	struct srctab_prefixes pfx = policy_src_prefixes(pol);
	struct srctab_set src;
	int r;

	o->st.verdicts[v]++;
	r = diag_destroy(o->killer, s);
	if (r < 0) {
		o->st.destroy_failed++;
		log_ratelimited(5, 10, log_warnx, "SOCK_DESTROY of a %s connection failed: %s",
				slow_name(v), strerror(-r));
		return;
	}
	o->st.destroyed++;
	srctab_lookup(o->env.src, &pfx, s->peer.family, s->peer.addr, true, o->now_ms, &src);
	if (srctab_set_note_drop(&src, pol->deny_after_drops, (uint64_t)pol->deny_seconds * 1000,
				 o->now_ms))
		log_ratelimited(10, 1, log_info, "source denied for %us after %u slow connections",
				pol->deny_seconds, pol->deny_after_drops);
	log_ratelimited(10, 1, log_info,
			"destroyed %s connection (port %u; in %llu out %llu bytes, send queue %u)",
			slow_name(v), s->local.port, (unsigned long long)s->bytes_received,
			(unsigned long long)s->bytes_acked, s->wqueue);
}

static void
obs_one(void *arg, const struct diag_sock *s)
{
	struct obs *o = arg;
	struct srctab_prefixes pfx = policy_src_prefixes(o->env.pol);
	struct slow_sample smp;
	struct srctab_set src;
	struct obs_entry *e;
	enum slow_verdict v;
	bool fresh;

	o->st.seen++;
	if (!s->has_info || !o->env.owns(o->env.owns_ctx, &s->local))
		return;	/* not a connection accepted for the application */
	if (diag_gone(s)) {
		/* Over, its descriptor not yet closed by the program: keep the
		 * entry (its destroy event brings the final figures), judge
		 * nothing and count nothing live. */
		e = obs_find(o, s->cookie);
		if (e) {
			e->gen = o->gen;
			e->last = *s;
		}
		return;
	}
	e = obs_lookup(o, s, &fresh);
	if (!e) {
		o->st.untracked++;
		return;
	}
	o->st.tracked++;
	o->st.round_tracked++;
	e->gen = o->gen;
	srctab_lookup(o->env.src, &pfx, s->peer.family, s->peer.addr, true, o->now_ms, &src);
	srctab_set_count_live(&src, o->gen);
	e->last = *s;
	if (diag_peer_closed(s))
		e->fin = 1;
	if (diag_fin_acked(s))
		e->fin_out = 1;
	if (fresh)
		e->reported_ms = o->now_ms;	/* the listener reported the open */
	else if (o->now_ms - e->reported_ms >= OBS_UPDATE_MS)
		obs_emit(o, e, OBS_UPDATE, SLOW_OK, s, e->fin, e->fin_out);
	smp = (struct slow_sample){
		.t_ms = o->now_ms,
		.bytes_received = s->bytes_received,
		.bytes_acked = s->bytes_acked,
		.wqueue = s->wqueue,
		.last_data_recv_ms = s->last_data_recv_ms,
		.last_data_sent_ms = s->last_data_sent_ms,
		.peer_closed = diag_peer_closed(s),
	};
	v = slow_judge(&o->rules, &e->track, &smp);
	if (v == SLOW_OK && srctab_set_denied(&src, o->now_ms)) {
		/* denied after it connected (by moatd, or for slow connections elsewhere) */
		o->st.denied_shed++;
		e->shed = 1;
		if (diag_destroy(o->killer, s) == 0)
			o->st.destroyed++;
		return;
	}
	if (v != SLOW_OK) {
		e->shed = 1;
		obs_emit(o, e, OBS_SHED, v, s, e->fin, e->fin_out);
		obs_shed(o, s, v);
	}
}

int
obs_events_fd(const struct obs *o)
{
	return o->events ? diag_fd(o->events) : -1;
}

/* Unlink the entry for cookie, if tracked; returns it (still owned by the pool). */
static struct obs_entry *
obs_unlink(struct obs *o, uint64_t cookie)
{
	struct obs_entry **pp = &o->buckets[obs_bucket(cookie)];

	for (; *pp; pp = &(*pp)->next) {
		struct obs_entry *e = *pp;

		if (e->cookie == cookie) {
			*pp = e->next;
			return e;
		}
	}
	return NULL;
}

static void
obs_one_closed(void *arg, const struct diag_sock *s)
{
	struct obs *o = arg;
	struct obs_entry *e;

	if (!o->env.owns(o->env.owns_ctx, &s->local))
		return;
	o->st.closed_events++;
	e = obs_unlink(o, s->cookie);
	if (!e) {
		/* Every handed-off connection is tracked from its handoff, so an
		 * unknown one was already reported by a round's sweep, or never
		 * handed over (dropped while held, or the peer left first): no
		 * record, so each connection gets exactly one CLOSE. */
		o->st.close_unknown++;
		return;
	}
	/* Freed: it ended with both FINs unless we destroyed it (or a reset
	 * without them, which is then counted a byte short each way). */
	obs_emit(o, e, OBS_CLOSE, SLOW_OK, s, e->fin || !e->shed, e->fin_out || !e->shed);
	e->next = o->free_list;
	o->free_list = e;
}

void
obs_read_events(struct obs *o, uint64_t now_ms)
{
	int r;

	if (!o->events)
		return;
	o->now_ms = now_ms;
	r = diag_read_events(o->events, LIMIT_INS_OBSERVED, obs_one_closed, o);
	if (r < 0)
		log_ratelimited(5, 60, log_warnx, "sock_diag destroy events: %s (some closes missed)",
				strerror(-r));
}

/*
 * Forget connections not seen in this round (freed), reporting each with the
 * figures last known. With the destroy subscription, a freed connection's
 * event (exact final figures) normally reported it already; one missing from
 * a single round is given one more round, since the kernel sends the event
 * from a work queue after the socket left its tables.
 */
static void
obs_sweep(struct obs *o)
{
	uint32_t keep = o->events ? 1 : 0;

	for (size_t b = 0; b < OBS_BUCKETS; b++) {
		struct obs_entry **pp = &o->buckets[b];

		while (*pp) {
			struct obs_entry *e = *pp;

			if (o->gen - e->gen <= keep) {
				pp = &e->next;
				continue;
			}
			obs_emit(o, e, OBS_CLOSE, SLOW_OK, &e->last, e->fin, e->fin_out);
			*pp = e->next;
			e->next = o->free_list;
			o->free_list = e;
		}
	}
}

void
obs_round(struct obs *o, uint64_t now_ms)
{
	static const int families[] = { AF_INET, AF_INET6 };
	const struct policy *pol = o->env.pol;
	uint64_t t0 = clock_mono_ns(o->env.clk);

	o->now_ms = now_ms;
	o->gen++;
	o->st.round_tracked = 0;
	o->rules = (struct slow_rules){
		.grace_ms = pol->slow_grace_ms,
		.window_ms = pol->slow_window_ms,
		.min_rate = pol->min_rate,
		.idle_ms = pol->idle_timeout_s * 1000u,
		.pause_ms = pol->read_pause_ms,
		.pause_min_bytes = pol->read_pause_min_bytes,
	};
	/* Closes already announced are reported from their exact figures
	 * first, so that this round's sweep does not report them from older ones. */
	obs_read_events(o, now_ms);
	o->now_ms = now_ms;
	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
		int r = diag_dump(o->diag, families[i], LIMIT_INS_OBSERVED, obs_one, o);

		if (r < 0) {
			log_ratelimited(5, 60, log_warnx, "sock_diag dump: %s", strerror(-r));
			o->gen--;	/* an incomplete round must not look like closes */
			return;
		}
	}
	obs_read_events(o, now_ms);
	o->now_ms = now_ms;
	obs_sweep(o);
	o->done_gen = o->gen;
	o->st.rounds++;
	o->st.last_round_us = (clock_mono_ns(o->env.clk) - t0) / 1000u;
	if (o->st.round_tracked >= o->st.max_tracked) {
		o->st.max_tracked = o->st.round_tracked;
		o->st.max_round_us = o->st.last_round_us;
	}
}
