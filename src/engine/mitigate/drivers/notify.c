/*
 * drv_notify: tell people and other systems — a script and/or a webhook.
 *
 * The script follows FastNetMon's convention: it is run with arguments
 * `ACTION TARGET PO ATTACK_TYPE PPS` (ACTION is "ban" on start, "update" when
 * the same rule is applied again, "unban" on end) and the whole rule as JSON
 * on its standard input. It is never run through a shell. The webhook gets
 * the same JSON as a POST body. Scripts run in the background and are reaped
 * later. Webhooks are posted by a worker thread of the driver's own, one at
 * a time in order, each with the configured timeout, never on the caller's
 * thread (the engine's loop): apply() and withdraw() queue the body and
 * return. The queue is bounded (NOTIFY_MAX_QUEUE): when full the oldest post
 * is dropped. Failures and drops are counted for status(); close() lets the
 * worker post what is queued for at most timeout_ms more, then abandons the
 * rest (counted and logged).
 *
 * Notification has no external state to reconcile: installed() says so, and
 * the driver remembers what it announced only to send the matching "unban".
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

#include "common/log.h"
#include "common/spawn.h"
#include "engine/mitigate/manager.h"

/* Rules remembered for their "unban"; beyond this the oldest is forgotten. */
#define NOTIFY_MAX_RULES 4096u
/* Background scripts at once; more are refused rather than forking without bound. */
#define NOTIFY_MAX_CHILDREN 32u
/* Webhook posts waiting for the worker; when full the oldest is dropped. */
#define NOTIFY_MAX_QUEUE 64u

struct notify_entry {
	uint64_t id;
	json_t *doc;
};

struct drv_notify {
	char *script;
	char *webhook;
	int64_t timeout_ms;
	struct notify_entry *rules;	/* ring of NOTIFY_MAX_RULES */
	size_t n_rules, next;
	struct spawn_proc children[NOTIFY_MAX_CHILDREN];
	bool running[NOTIFY_MAX_CHILDREN];

	/* Shared with the worker, under mu. */
	pthread_mutex_t mu;
	pthread_cond_t work;
	pthread_t thread;
	bool started;
	atomic_bool stopping;
	uint64_t stop_deadline_ns;	/* close(): posts not done by then are abandoned */
	char *posts[NOTIFY_MAX_QUEUE];	/* ring of request bodies */
	size_t q_head, q_n;
	struct mit_driver_status st;
};

static uint64_t
notify_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int
notify_open(const struct mit_driver_ops *self, const struct cfg_node *conf, void **ret_state,
    struct cfg_error *err)
{
	static const char *const keys[] = { "script", "webhook", "timeout_ms", NULL };
	const char *script = NULL, *webhook = NULL;
	struct drv_notify *d;
	int64_t timeout_ms = 3000;
	int r;

	if (conf != NULL &&
	    ((r = cfg_check_keys(conf, keys, err)) < 0 ||
	    (r = cfg_get_str(conf, "script", &script, err)) < 0 ||
	    (r = cfg_get_str(conf, "webhook", &webhook, err)) < 0 ||
	    (r = cfg_get_i64(conf, "timeout_ms", 100, 60000, &timeout_ms, err)) < 0))
		return r;
	if (script != NULL && script[0] != '/')
		return cfg_fail(err, cfg_get(conf, "script"), "script: expected an absolute path");
	if (webhook != NULL && strncmp(webhook, "http://", 7) != 0 &&
	    strncmp(webhook, "https://", 8) != 0)
		return cfg_fail(err, cfg_get(conf, "webhook"), "webhook: expected an http:// or https:// URL");
	if ((d = calloc(1, sizeof(*d))) == NULL ||
	    (d->rules = calloc(NOTIFY_MAX_RULES, sizeof(*d->rules))) == NULL) {
		free(d);
		return -ENOMEM;
	}
	d->script = script ? strdup(script) : NULL;
	d->webhook = webhook ? strdup(webhook) : NULL;
	d->timeout_ms = timeout_ms;
	if (pthread_mutex_init(&d->mu, NULL) != 0 || pthread_cond_init(&d->work, NULL) != 0) {
		free(d->script);
		free(d->webhook);
		free(d->rules);
		free(d);
		return -ENOMEM;
	}
	*ret_state = d;
	return 0;
}

static void
notify_reap(struct drv_notify *d, bool wait)
{
	for (size_t i = 0; i < NOTIFY_MAX_CHILDREN; i++) {
		int status;

		if (!d->running[i])
			continue;
		if ((wait ? spawn_wait(&d->children[i], &status) :
		    spawn_reap(&d->children[i], &status)) == 0) {
			if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
				log_warnx("notify: script %s exited with status %d", d->script,
				    WEXITSTATUS(status));
			d->running[i] = false;
		}
	}
}

static void notify_stop(struct drv_notify *d);

static void
notify_close(void *state)
{
	struct drv_notify *d = state;

	if (d == NULL)
		return;
	notify_stop(d);
	notify_reap(d, true);
	for (size_t i = 0; i < NOTIFY_MAX_RULES; i++)
		json_decref(d->rules[i].doc);
	free(d->rules);
	free(d->script);
	free(d->webhook);
	free(d);
}

static json_t *
notify_rule_json(const struct mit_rule *r)
{
	static const char *const scopes[] = { "target", "proto", "sources" };
	const struct mit_request *q = &r->req;
	char buf[PREFIX_STRLEN];
	json_t *targets = json_array(), *sources = json_array();

	for (uint32_t i = 0; i < q->n_targets; i++)
		json_array_append_new(targets,
		    json_string(prefix_format(&q->targets[i], buf, sizeof(buf))));
	for (uint32_t i = 0; i < q->n_sources; i++)
		json_array_append_new(sources,
		    json_string(ipaddr_format(&q->sources[i], buf, sizeof(buf))));
	return json_pack("{s:I,s:I,s:s,s:s,s:s,s:i,s:i,s:i,s:o,s:o,s:f,s:f,s:s}",
	    "rule_id", (json_int_t)r->id, "attack_id", (json_int_t)q->attack_id,
	    "po", q->po, "attack_type", q->attack_type, "scope", scopes[r->scope],
	    "protocol", q->proto, "dport", q->dport, "sport", q->sport,
	    "targets", targets, "sources", sources,
	    "peak_pps", q->peak_pps, "peak_bps", q->peak_bps,
	    "action", r->action == MIT_ACT_DROP ? "drop" : "ratelimit");
}

/* Copy a JSON string member into dst; absent or not a string gives "". */
static void
notify_json_str(json_t *v, char *dst, size_t len)
{
	const char *s = json_string_value(v);

	snprintf(dst, len, "%s", s != NULL ? s : "");
}

static int
notify_spawn_script(struct drv_notify *d, const char *action, json_t *doc)
{
	char a_action[16], a_target[PREFIX_STRLEN], a_po[72], a_type[40], a_pps[32], *text, *line;
	char *argv[] = { d->script, a_action, a_target, a_po, a_type, a_pps, NULL };
	struct spawn_opts o = { .path = d->script, .argv = argv, .out = SPAWN_OUT_PASS,
		.err = SPAWN_OUT_PASS };
	size_t slot, len;
	int r;

	snprintf(a_action, sizeof(a_action), "%s", action);
	notify_json_str(json_array_get(json_object_get(doc, "targets"), 0), a_target, sizeof(a_target));
	notify_json_str(json_object_get(doc, "po"), a_po, sizeof(a_po));
	notify_json_str(json_object_get(doc, "attack_type"), a_type, sizeof(a_type));
	snprintf(a_pps, sizeof(a_pps), "%.0f", json_real_value(json_object_get(doc, "peak_pps")));
	notify_reap(d, false);
	for (slot = 0; slot < NOTIFY_MAX_CHILDREN && d->running[slot]; slot++)
		;
	if (slot == NOTIFY_MAX_CHILDREN)
		return -EAGAIN;
	/* The rule as one line of JSON on stdin: a few KiB, fed through the
	   pipe before the script starts (over SPAWN_STDIN_MAX: -EMSGSIZE). */
	if ((text = json_dumps(doc, JSON_COMPACT)) == NULL)
		return -ENOMEM;
	len = strlen(text);
	if ((line = realloc(text, len + 2)) == NULL) {
		free(text);
		return -ENOMEM;
	}
	line[len++] = '\n';
	line[len] = '\0';
	o.stdin_data = line;
	o.stdin_len = len;
	r = spawn_start(&o, &d->children[slot]);
	free(line);
	if (r < 0)
		return r;
	d->running[slot] = true;
	return 0;
}

static size_t
notify_discard(char *ptr, size_t size, size_t nmemb, void *ud)
{
	return size * nmemb;
}

/* Abort a post under way once close()'s deadline has passed. */
static int
notify_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
    curl_off_t ulnow)
{
	struct drv_notify *d = ud;

	return atomic_load(&d->stopping) && notify_now_ns() >= d->stop_deadline_ns;
}

/* POST one body (the worker's, unlocked); why it failed into err. */
static int
notify_post(struct drv_notify *d, const char *text, char *err, size_t err_len)
{
	struct curl_slist *hdrs = NULL;
	long status = 0;
	CURLcode cc;
	CURL *c;
	int r = 0;

	if ((c = curl_easy_init()) == NULL) {
		snprintf(err, err_len, "webhook: out of memory");
		return -ENOMEM;
	}
	hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_URL, d->webhook);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, text);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)d->timeout_ms);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, notify_discard);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, notify_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, d);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (cc != CURLE_OK) {
		snprintf(err, err_len, "webhook: %s", curl_easy_strerror(cc));
		r = -EIO;
	} else if (status < 200 || status > 299) {
		snprintf(err, err_len, "webhook answered %ld", status);
		r = -EIO;
	}
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	return r;
}

/* Post what is queued, in order, until close(). */
static void *
notify_worker(void *arg)
{
	struct drv_notify *d = arg;
	size_t abandoned = 0;

	pthread_mutex_lock(&d->mu);
	for (;;) {
		char err[128] = "", *text;
		int r;

		if (atomic_load(&d->stopping) && d->q_n > 0 &&
		    notify_now_ns() >= d->stop_deadline_ns) {
			for (; d->q_n > 0; d->q_n--) {
				free(d->posts[d->q_head]);
				d->posts[d->q_head] = NULL;
				d->q_head = (d->q_head + 1) % NOTIFY_MAX_QUEUE;
				d->st.dropped++;
				abandoned++;
			}
		}
		if (d->q_n == 0) {
			if (atomic_load(&d->stopping))
				break;
			pthread_cond_wait(&d->work, &d->mu);
			continue;
		}
		text = d->posts[d->q_head];
		d->posts[d->q_head] = NULL;
		d->q_head = (d->q_head + 1) % NOTIFY_MAX_QUEUE;
		d->q_n--;
		pthread_mutex_unlock(&d->mu);
		r = notify_post(d, text, err, sizeof(err));
		free(text);
		if (r < 0)
			log_warnx("notify: %s: %s", d->webhook, err);
		pthread_mutex_lock(&d->mu);
		if (r < 0) {
			d->st.failures++;
			snprintf(d->st.last_error, sizeof(d->st.last_error), "%s", err);
		}
	}
	pthread_mutex_unlock(&d->mu);
	if (abandoned > 0)
		log_warnx("notify: %zu webhook post(s) abandoned at close", abandoned);
	return NULL;
}

/* Queue one body (ownership passes); the oldest goes when full. */
static int
notify_enqueue(struct drv_notify *d, char *text)
{
	sigset_t all, old;
	int r = 0;

	pthread_mutex_lock(&d->mu);
	if (!d->started) {
		/* Signals belong to the engine's loop: the worker takes none. */
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		r = pthread_create(&d->thread, NULL, notify_worker, d);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (r != 0) {
			r = -r;
			free(text);
			goto out;
		}
		d->started = true;
	}
	if (d->q_n == NOTIFY_MAX_QUEUE) {
		free(d->posts[d->q_head]);
		d->posts[d->q_head] = NULL;
		d->q_head = (d->q_head + 1) % NOTIFY_MAX_QUEUE;
		d->q_n--;
		d->st.dropped++;
		snprintf(d->st.last_error, sizeof(d->st.last_error),
		    "webhook queue full (%u posts): the oldest was dropped", NOTIFY_MAX_QUEUE);
	}
	d->posts[(d->q_head + d->q_n) % NOTIFY_MAX_QUEUE] = text;
	d->q_n++;
	pthread_cond_signal(&d->work);
out:
	pthread_mutex_unlock(&d->mu);
	return r;
}

/* Stop the worker: queued posts go out for at most timeout_ms more. */
static void
notify_stop(struct drv_notify *d)
{
	pthread_mutex_lock(&d->mu);
	d->stop_deadline_ns = notify_now_ns() + (uint64_t)d->timeout_ms * 1000000u;
	atomic_store(&d->stopping, true);
	pthread_cond_signal(&d->work);
	pthread_mutex_unlock(&d->mu);
	if (d->started)
		pthread_join(d->thread, NULL);
	for (size_t i = 0; i < NOTIFY_MAX_QUEUE; i++)
		free(d->posts[i]);
	pthread_cond_destroy(&d->work);
	pthread_mutex_destroy(&d->mu);
}

static int
notify_send(struct drv_notify *d, const char *action, json_t *doc)
{
	json_t *body;
	char *text;
	int r = 0, r2 = 0;

	if (d->script != NULL && (r = notify_spawn_script(d, action, doc)) < 0) {
		errno = -r;
		log_warn("notify: running %s", d->script);
		pthread_mutex_lock(&d->mu);
		d->st.failures++;
		snprintf(d->st.last_error, sizeof(d->st.last_error), "script: %s", strerror(-r));
		pthread_mutex_unlock(&d->mu);
	}
	if (d->webhook != NULL) {
		body = json_pack("{s:s,s:O}", "event", action, "rule", doc);
		text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
		json_decref(body);
		r2 = text != NULL ? notify_enqueue(d, text) : -ENOMEM;
	}
	return r < 0 ? r : r2;
}

static struct notify_entry *
notify_lookup(struct drv_notify *d, uint64_t id)
{
	for (size_t i = 0; i < NOTIFY_MAX_RULES; i++)
		if (d->rules[i].doc != NULL && d->rules[i].id == id)
			return &d->rules[i];
	return NULL;
}

static int
notify_apply(void *state, const struct mit_rule *r)
{
	struct drv_notify *d = state;
	struct notify_entry *e = notify_lookup(d, r->id);
	const char *action = e != NULL ? "update" : "ban";
	json_t *doc;

	if (d->script == NULL && d->webhook == NULL)
		return -EOPNOTSUPP;
	if ((doc = notify_rule_json(r)) == NULL)
		return -ENOMEM;
	if (e == NULL) {
		e = &d->rules[d->next];
		d->next = (d->next + 1) % NOTIFY_MAX_RULES;
	}
	json_decref(e->doc);
	e->id = r->id;
	e->doc = doc;
	/* A failed notification is logged, not a reason to try another driver. */
	(void)notify_send(d, action, doc);
	return 0;
}

/* A rule of a previous run or another instance: remembered, not announced,
 * so its withdraw() sends the unban. */
static int
notify_adopt(void *state, const struct mit_rule *r)
{
	struct drv_notify *d = state;
	struct notify_entry *e = notify_lookup(d, r->id);
	json_t *doc;

	if (e != NULL)
		return 0;
	if ((doc = notify_rule_json(r)) == NULL)
		return -ENOMEM;
	e = &d->rules[d->next];
	d->next = (d->next + 1) % NOTIFY_MAX_RULES;
	json_decref(e->doc);
	e->id = r->id;
	e->doc = doc;
	return 0;
}

static int
notify_withdraw(void *state, uint64_t id)
{
	struct drv_notify *d = state;
	struct notify_entry *e = notify_lookup(d, id);

	if (e == NULL)
		return -ENOENT;
	(void)notify_send(d, "unban", e->doc);
	json_decref(e->doc);
	e->doc = NULL;
	return 0;
}

static int
notify_installed(void *state, uint64_t **ret_ids, size_t *ret_n)
{
	return -EOPNOTSUPP;
}

static int
notify_counters(void *state, uint64_t id, struct mit_counters *ret)
{
	return -EOPNOTSUPP;
}

static int
notify_status(void *state, struct mit_driver_status *ret)
{
	struct drv_notify *d = state;

	pthread_mutex_lock(&d->mu);
	*ret = d->st;
	ret->queued = d->q_n;
	pthread_mutex_unlock(&d->mu);
	return 0;
}

const struct mit_driver_ops drv_notify_ops = {
	.name = "notify",
	.open = notify_open,
	.close = notify_close,
	.apply = notify_apply,
	.withdraw = notify_withdraw,
	.installed = notify_installed,
	.counters = notify_counters,
	.status = notify_status,
	.adopt = notify_adopt,
};
