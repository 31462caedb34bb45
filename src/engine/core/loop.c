/*
 * loop: libevent glue for moatd.
 */
#include "engine/core/loop.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "common/log.h"
#include "engine/api/server.h"

struct loop {
	struct event_base *base;
	struct engine *e;
	const struct loop_opts *o;
	struct event *tick;		/* the 1 s timer, or packet time's driver fd */
	struct event *watchdog;
	struct event *sigs[3];
};

static void
loop_notify(const char *state)
{
#ifdef HAVE_SYSTEMD
	/* A no-op unless NOTIFY_SOCKET is set (we run under systemd). */
	sd_notify(0, state);
#else
	(void)state;
#endif
}

static void
loop_on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct loop *l = arg;

	engine_tick(l->e);
	if (engine_stop_requested(l->e, NULL))
		event_base_loopexit(l->base, NULL);
}

/* Packet time: the replay offers the next interval boundary. */
static void
loop_on_clock(evutil_socket_t fd, short what, void *arg)
{
	struct loop *l = arg;

	engine_clock_driver_run(l->e);
	if (engine_stop_requested(l->e, NULL))
		event_base_loopexit(l->base, NULL);
}

static void
loop_on_watchdog(evutil_socket_t fd, short what, void *arg)
{
	loop_notify("WATCHDOG=1");
}

/* Apply the log settings of a configuration (-d keeps debug on stderr). */
static void
loop_apply_log(const struct settings *c, bool debug)
{
	if (debug)
		log_init("moatd", LOG_DEST_STDERR, LOG_LVL_DEBUG, c->log.json);
	else
		log_init("moatd", c->log.target, c->log.level, c->log.json);
}

static void
loop_reload(struct loop *l)
{
	struct clock *clk = engine_clock(l->e);
	struct cfg_error err = { "" };
	struct settings *c = NULL;
	int r;

	loop_notify("RELOADING=1");
	r = settings_load(l->o->conf_path, (int64_t)clock_wall_s(clk), &c, &err);
	if (r < 0) {
		log_warnx("reload: %s; keeping the running configuration", err.msg);
		flight_record(engine_flight(l->e), "config", "reload.failed", NULL,
		    "configuration reload refused: %s", err.msg);
	} else {
		loop_apply_log(c, l->o->debug);
		if (engine_reload(l->e, c) == 0)
			log_info("configuration reloaded from %s", engine_settings(l->e)->source);
	}
	loop_notify("READY=1");
}

static void
loop_on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct loop *l = arg;

	if (sig == SIGHUP) {
		loop_reload(l);
		return;
	}
	log_info("signal %d: stopping", (int)sig);
	engine_request_stop(l->e, 0);
	event_base_loopexit(l->base, NULL);
}

static int
loop_add_signals(struct loop *l)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP };

	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		l->sigs[i] = evsignal_new(l->base, sigs[i], loop_on_signal, l);
		if (!l->sigs[i] || evsignal_add(l->sigs[i], NULL) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int
loop_add_timers(struct loop *l)
{
	struct timeval one = { 1, 0 };
	int cfd = engine_clock_driver_fd(l->e);

	if (cfd >= 0) {
		/* Packet time: ticks come from the replay, never from the timer. */
		l->tick = event_new(l->base, cfd, EV_READ | EV_PERSIST, loop_on_clock, l);
		if (!l->tick || event_add(l->tick, NULL) < 0)
			return -ENOMEM;
	} else {
		l->tick = event_new(l->base, -1, EV_PERSIST, loop_on_tick, l);
		if (!l->tick || evtimer_add(l->tick, &one) < 0)
			return -ENOMEM;
	}
#ifdef HAVE_SYSTEMD
	{
		uint64_t usec = 0;

		if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
			struct timeval half = { (time_t)(usec / 2000000), (suseconds_t)(usec / 2 % 1000000) };

			l->watchdog = event_new(l->base, -1, EV_PERSIST, loop_on_watchdog, l);
			if (!l->watchdog || evtimer_add(l->watchdog, &half) < 0)
				return -ENOMEM;
		}
	}
#endif
	return 0;
}

static void
loop_cleanup(struct loop *l)
{
	for (size_t i = 0; i < sizeof(l->sigs) / sizeof(l->sigs[0]); i++)
		if (l->sigs[i])
			event_free(l->sigs[i]);
	if (l->tick)
		event_free(l->tick);
	if (l->watchdog)
		event_free(l->watchdog);
	if (l->base)
		event_base_free(l->base);
}

int
loop_run(struct engine *e, const struct loop_opts *o)
{
	struct loop l = { .e = e, .o = o };
	struct api *api = NULL;
	int code = 1, r;

	signal(SIGPIPE, SIG_IGN);
	l.base = event_base_new();
	if (!l.base) {
		log_errx("event loop: cannot create");
		return 1;
	}
	r = loop_add_signals(&l);
	if (r == 0)
		r = loop_add_timers(&l);
	if (r < 0) {
		log_errx("event loop: %s", strerror(-r));
		goto out;
	}
	r = api_start(l.base, e, &engine_settings(e)->api, o->token, &api);
	if (r < 0 || (o->ready && o->ready(o->ready_arg) != 0))
		goto out;
	loop_notify("READY=1");
	log_info("moatd %s running, state in %s", ENGINE_VERSION, engine_state_dir(e));
	event_base_dispatch(l.base);
	loop_notify("STOPPING=1");
	engine_stop_requested(e, &code);
out:
	api_free(api);
	loop_cleanup(&l);
	return code;
}
