/*
 * Unit tests of engine/mitigate (the MitigationMgr) with fake drivers: no
 * root, no kernel, no GoBGP. Each fake keeps its "external state" (the rules
 * it holds) in a test-global that outlives the manager, so a restart
 * (free, new, load, reconcile) sees what a killed moatd left behind. The
 * real drivers are tested in test_mitigate_drivers.c (suite integration).
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "common/cfg.h"
#include "engine/mitigate/manager.h"

#define FAKE_MAX_RULES 64

/* One fake driver: what its calls return and what it holds. */
struct fake {
	int apply_rc;		/* apply() returns this (0 = installs) */
	int installed_rc;	/* installed() returns this (0 = lists) */
	int open_rc;		/* open() returns this */
	struct mit_rule rules[FAKE_MAX_RULES];	/* the external state */
	size_t n;
	unsigned opens, closes, applies, withdraws, inspections;
	uint64_t packets;	/* counters() of every rule */
	uint64_t order[FAKE_MAX_RULES * 4];	/* +id applied, id|1<<63 withdrawn */
	size_t n_order;
};

static struct fake fakes[3];

static struct fake *
fake_of(void *state)
{
	return state;
}

static int
fake_open(struct fake *f, const struct cfg_node *conf, void **ret, struct cfg_error *err)
{
	static const char *const keys[] = { "knob", NULL };
	int r;

	if (conf != NULL && (r = cfg_check_keys(conf, keys, err)) < 0)
		return r;
	f->opens++;
	if (f->open_rc < 0)
		return f->open_rc;
	*ret = f;
	return 0;
}

static int fake_open_a(const struct mit_driver_ops *s, const struct cfg_node *c, void **r, struct cfg_error *e) { return fake_open(&fakes[0], c, r, e); }
static int fake_open_b(const struct mit_driver_ops *s, const struct cfg_node *c, void **r, struct cfg_error *e) { return fake_open(&fakes[1], c, r, e); }
static int fake_open_c(const struct mit_driver_ops *s, const struct cfg_node *c, void **r, struct cfg_error *e) { return fake_open(&fakes[2], c, r, e); }

static void
fake_close(void *state)
{
	fake_of(state)->closes++;	/* the rules stay, like the kernel's */
}

static ssize_t
fake_find(const struct fake *f, uint64_t id)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->rules[i].id == id)
			return (ssize_t)i;
	return -1;
}

static int
fake_apply(void *state, const struct mit_rule *r)
{
	struct fake *f = fake_of(state);
	ssize_t i;

	f->applies++;
	if (f->apply_rc != 0)
		return f->apply_rc;
	if ((i = fake_find(f, r->id)) < 0) {
		assert_true(f->n < FAKE_MAX_RULES);
		i = (ssize_t)f->n++;
	}
	f->rules[i] = *r;
	if (f->n_order < sizeof(f->order) / sizeof(f->order[0]))
		f->order[f->n_order++] = r->id;
	return 0;
}

static int
fake_withdraw(void *state, uint64_t id)
{
	struct fake *f = fake_of(state);
	ssize_t i = fake_find(f, id);

	f->withdraws++;
	if (i < 0)
		return -ENOENT;
	f->rules[i] = f->rules[--f->n];
	if (f->n_order < sizeof(f->order) / sizeof(f->order[0]))
		f->order[f->n_order++] = id | 1ull << 63;
	return 0;
}

static int
fake_installed(void *state, uint64_t **ret_ids, size_t *ret_n)
{
	struct fake *f = fake_of(state);
	uint64_t *ids;

	f->inspections++;
	if (f->installed_rc < 0)
		return f->installed_rc;
	if ((ids = calloc(f->n + 1, sizeof(*ids))) == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < f->n; i++)
		ids[i] = f->rules[i].id;
	*ret_ids = ids;
	*ret_n = f->n;
	return 0;
}

static int
fake_counters(void *state, uint64_t id, struct mit_counters *ret)
{
	struct fake *f = fake_of(state);

	if (fake_find(f, id) < 0)
		return -ENOENT;
	ret->packets = f->packets;
	ret->bytes = f->packets * 100;
	return 0;
}

/* fa's peers: a BGP speaker's neighbours; fails like a speaker that is down. */
static int
fake_peers(void *state, struct ipaddr *out, size_t max, size_t *ret_n)
{
	struct fake *f = fake_of(state);

	if (f->installed_rc < 0)
		return f->installed_rc;
	assert_true(max >= 2);
	assert_int_equal(ipaddr_parse("198.51.100.1", &out[0]), 0);
	assert_int_equal(ipaddr_parse("2001:db8::1", &out[1]), 0);
	*ret_n = 2;
	return 0;
}

static const struct mit_driver_ops fake_a = { "fa", fake_open_a, fake_close, fake_apply,
	fake_withdraw, fake_installed, fake_counters, fake_peers, NULL, NULL };
static const struct mit_driver_ops fake_b = { "fb", fake_open_b, fake_close, fake_apply,
	fake_withdraw, fake_installed, fake_counters, NULL, NULL, NULL };
static const struct mit_driver_ops fake_c = { "fc", fake_open_c, fake_close, fake_apply,
	fake_withdraw, fake_installed, fake_counters, NULL, NULL, NULL };
static const struct mit_driver_ops *const fake_table[] = { &fake_a, &fake_b, &fake_c };

#define FA (&fakes[0])
#define FB (&fakes[1])
#define FC (&fakes[2])

static int
reset_fakes(void **state)
{
	memset(fakes, 0, sizeof(fakes));
	return 0;
}

/* ---- helpers ---- */

static struct mit_mgr *
new_mgr(const char *yaml)
{
	struct cfg_error err = { { 0 } };
	struct cfg_doc *doc = NULL;
	struct mit_mgr *m = NULL;

	if (yaml != NULL)
		assert_int_equal(cfg_load_buffer("test.yaml", yaml, strlen(yaml), &doc, &err), 0);
	if (mit_mgr_new(doc ? cfg_root(doc) : NULL, fake_table, 3, &m, &err) < 0)
		fail_msg("mit_mgr_new: %s", err.msg);
	cfg_free(doc);
	return m;
}

static int
new_mgr_err(const char *yaml, struct cfg_error *err)
{
	struct cfg_doc *doc = NULL;
	struct mit_mgr *m = NULL;
	int r;

	assert_int_equal(cfg_load_buffer("t.yaml", yaml, strlen(yaml), &doc, err), 0);
	r = mit_mgr_new(cfg_root(doc), fake_table, 3, &m, err);
	if (r == 0)
		mit_mgr_free(m);
	else
		assert_null(m);
	cfg_free(doc);
	return r;
}

static struct mit_request
flood(uint64_t attack_id, const char *target)
{
	struct mit_request q = { .attack_id = attack_id, .af = AF_INET, .proto = 17, .dport = 53 };

	snprintf(q.po, sizeof(q.po), "web");
	snprintf(q.attack_type, sizeof(q.attack_type), "udp-flood");
	assert_int_equal(prefix_parse(target, &q.targets[0]), 0);
	q.n_targets = 1;
	assert_int_equal(ipaddr_parse("198.51.100.7", &q.sources[0]), 0);
	q.n_sources = 1;
	return q;
}

static uint64_t
start(struct mit_mgr *m, const struct mit_request *q, const char *list, uint64_t now)
{
	const char *names[8];
	char buf[128], *save = NULL;
	size_t n = 0;
	uint64_t id = 0;

	snprintf(buf, sizeof(buf), "%s", list);
	for (char *t = strtok_r(buf, ",", &save); t != NULL && n < 8; t = strtok_r(NULL, ",", &save))
		names[n++] = t;
	assert_int_equal(mit_start(m, q, names, n, now, &id), 0);
	assert_int_not_equal(id, 0);
	return id;
}

struct events {
	char names[32][24];
	size_t n;
};

static void
record_event(void *ctx, const struct mit_entry *e, const char *event)
{
	struct events *ev = ctx;

	if (ev->n < 32)
		snprintf(ev->names[ev->n++], sizeof(ev->names[0]), "%s", event);
}

static bool
saw(const struct events *ev, const char *name)
{
	for (size_t i = 0; i < ev->n; i++)
		if (strcmp(ev->names[i], name) == 0)
			return true;
	return false;
}

/* ---- decline order ---- */

static void
test_not_applicable_moves_to_next(void **state)
{
	struct mit_mgr *m = new_mgr(NULL);
	struct mit_request q = flood(1, "192.0.2.10");
	uint64_t id;

	FA->apply_rc = -EOPNOTSUPP;
	id = start(m, &q, "fa,fb,fc", 100);
	assert_int_equal(mit_get(m, id)->status, MIT_MITIGATING);
	assert_string_equal(mit_get(m, id)->driver, "fb");
	assert_int_equal(FA->applies, 1);
	assert_int_equal(FB->applies, 1);
	assert_int_equal(FC->applies, 0);	/* never asked once fb holds it */
	assert_int_equal(FA->n, 0);
	assert_int_equal(FB->n, 1);
	assert_int_equal(FB->rules[0].id, mit_get(m, id)->rule.id);
	mit_mgr_free(m);
}

static void
test_unknown_driver_is_skipped(void **state)
{
	struct mit_mgr *m = new_mgr(NULL);
	struct mit_request q = flood(1, "192.0.2.10");
	uint64_t id = start(m, &q, "nosuch,fc", 100);

	assert_int_equal(mit_get(m, id)->status, MIT_MITIGATING);
	assert_string_equal(mit_get(m, id)->driver, "fc");
	assert_null(mit_mgr_driver(m, "nosuch"));
	assert_non_null(mit_mgr_driver(m, "fb"));
	mit_mgr_free(m);
}

static void
test_no_resources_moves_on_then_holds(void **state)
{
	struct mit_mgr *m = new_mgr(NULL);
	struct mit_request q = flood(1, "192.0.2.10");
	uint64_t id;

	FA->apply_rc = -ENOSPC;
	id = start(m, &q, "fa,fb", 100);
	assert_int_equal(mit_get(m, id)->status, MIT_MITIGATING);
	assert_string_equal(mit_get(m, id)->driver, "fb");
	mit_mgr_free(m);
}

static void
test_nothing_applicable_is_not_mitigated_and_not_retried(void **state)
{
	struct mit_mgr *m = new_mgr("retry: 10s\n");
	struct mit_request q = flood(1, "192.0.2.10");
	uint64_t id;

	FA->apply_rc = FB->apply_rc = -EOPNOTSUPP;
	id = start(m, &q, "fa,fb", 100);
	assert_int_equal(mit_get(m, id)->status, MIT_NOT_MITIGATED);
	assert_non_null(strstr(mit_get(m, id)->reason, "not applicable"));
	FA->apply_rc = 0;
	mit_tick(m, 200);
	assert_int_equal(mit_get(m, id)->status, MIT_NOT_MITIGATED);
	assert_int_equal(FA->applies, 1);
	mit_mgr_free(m);
}

static void
test_po_without_drivers(void **state)
{
	struct mit_mgr *m = new_mgr(NULL);
	struct mit_request q = flood(1, "192.0.2.10");
	uint64_t id;

	assert_int_equal(mit_start(m, &q, NULL, 0, 100, &id), 0);
	assert_int_equal(mit_get(m, id)->status, MIT_NOT_MITIGATED);
	assert_non_null(strstr(mit_get(m, id)->reason, "no driver"));
	mit_mgr_free(m);
}

/* ---- retries ---- */

static void
test_no_resources_retried_on_timer(void **state)
{
	struct mit_mgr *m = new_mgr("retry: 30s\n");
	struct mit_request q = flood(1, "192.0.2.10");
	struct events ev = { .n = 0 };
	uint64_t id;

	mit_set_event_hook(m, record_event, &ev);
	FA->apply_rc = -ENOSPC;
	FB->apply_rc = -EOPNOTSUPP;
	id = start(m, &q, "fa,fb", 100);
	assert_int_equal(mit_get(m, id)->status, MIT_NO_RESOURCES);
	assert_int_equal(mit_get(m, id)->next_retry_s, 130);
	assert_true(saw(&ev, "start"));

	mit_tick(m, 129);	/* not yet */
	assert_int_equal(FA->applies, 1);
	mit_tick(m, 130);	/* still no room: stays, retried again later */
	assert_int_equal(FA->applies, 2);
	assert_int_equal(mit_get(m, id)->status, MIT_NO_RESOURCES);
	assert_int_equal(mit_get(m, id)->next_retry_s, 160);

	FA->apply_rc = 0;	/* room again */
	mit_tick(m, 160);
	assert_int_equal(mit_get(m, id)->status, MIT_MITIGATING);
	assert_string_equal(mit_get(m, id)->driver, "fa");
	assert_int_equal(FA->n, 1);
	assert_true(saw(&ev, "retry"));
	mit_mgr_free(m);
}

/* ---- caps ---- */

static void
test_rule_cap_defers_then_admits(void **state)
{
	struct mit_mgr *m = new_mgr("max_rules: 2\nretry: 10s\n");
	struct mit_request q1 = flood(1, "192.0.2.10"), q2 = flood(2, "192.0.2.11"),
	    q3 = flood(3, "192.0.2.12");
	uint64_t id1 = start(m, &q1, "fa", 100), id3;

	(void)start(m, &q2, "fa", 100);
	id3 = start(m, &q3, "fa", 100);
	assert_int_equal(mit_get(m, id3)->status, MIT_NO_RESOURCES);
	assert_non_null(strstr(mit_get(m, id3)->reason, "cap"));
	assert_int_equal(FA->n, 2);
	assert_int_equal(mit_stop(m, id1, 105, "test"), 0);
	mit_tick(m, 110);
	assert_int_equal(mit_get(m, id3)->status, MIT_MITIGATING);
	assert_int_equal(FA->n, 2);
	mit_mgr_free(m);
}

static void
test_max_duration_ends_and_withdraws(void **state)
{
	struct mit_mgr *m = new_mgr("max_duration: 10m\nprobe_after: 0\n");	/* no probe */
	struct mit_request q = flood(1, "192.0.2.10");
	uint64_t id = start(m, &q, "fa", 1000);

	mit_tick(m, 1599);
	assert_int_equal(mit_get(m, id)->status, MIT_MITIGATING);
	mit_tick(m, 1600);
	assert_int_equal(mit_get(m, id)->status, MIT_ENDED);
	assert_non_null(strstr(mit_get(m, id)->reason, "maximum"));
	assert_int_equal(FA->n, 0);
	mit_mgr_free(m);
}

static void
test_allowlist_is_never_blocked(void **state)
{
	struct mit_mgr *m = new_mgr("allowlist: [192.0.2.0/24]\n");
	struct mit_request q = flood(1, "192.0.2.10");
	uint64_t id = start(m, &q, "fa", 100);

	assert_int_equal(mit_get(m, id)->status, MIT_NOT_MITIGATED);
	assert_non_null(strstr(mit_get(m, id)->reason, "never-block"));
	assert_int_equal(FA->applies, 0);
	mit_mgr_free(m);
}

/* ---- undo ---- */

static void
test_stop_withdraws_exactly_what_was_applied(void **state)
{
	struct mit_mgr *m = new_mgr(NULL);
	struct mit_request q1 = flood(1, "192.0.2.10"), q2 = flood(2, "192.0.2.11");
	uint64_t id1, id2, rule2;

	FA->apply_rc = -EOPNOTSUPP;
	id1 = start(m, &q1, "fa,fb", 100);	/* held by fb */
	FA->apply_rc = 0;
	id2 = start(m, &q2, "fa,fb", 100);	/* held by fa */
	rule2 = mit_get(m, id2)->rule.id;
	/* Someone else's rule with another id sits in fb too. */
	FB->rules[FB->n++] = (struct mit_rule){ .id = 999 };

	assert_int_equal(mit_stop_attack(m, 1, 110), 0);
	assert_int_equal(mit_get(m, id1)->status, MIT_ENDED);
	assert_int_equal(FB->withdraws, 1);
	assert_int_equal(FA->withdraws, 0);	/* only the holder is asked */
	assert_int_equal(FB->n, 1);
	assert_int_equal(FB->rules[0].id, 999);
	assert_int_equal(FA->n, 1);
	assert_int_equal(FA->rules[0].id, rule2);

	assert_int_equal(mit_stop(m, id1, 111, "again"), -EALREADY);
	assert_int_equal(mit_stop(m, 12345, 111, "nobody"), -ENOENT);
	assert_int_equal(mit_stop_attack(m, 1, 111), -ENOENT);
	assert_int_equal(mit_stop(m, id2, 112, "operator"), 0);
	assert_int_equal(FA->n, 0);
	assert_string_equal(mit_get(m, id2)->reason, "operator");
	mit_mgr_free(m);
}

static void
test_same_attack_updates_in_place(void **state)
{
	struct mit_mgr *m = new_mgr(NULL);
	struct mit_request q = flood(1, "192.0.2.10");
	const char *names[] = { "fa" };
	uint64_t id = start(m, &q, "fa", 100), again = 0;

	assert_int_equal(mit_start(m, &q, names, 1, 101, &again), -EEXIST);
	assert_int_equal(again, id);
	assert_int_equal(FA->n, 1);
	mit_mgr_free(m);
}

static void
test_dry_run_driver_installs_nothing(void **state)
{
	struct mit_mgr *m = new_mgr("dry_run: [fa]\n");
	struct mit_request q = flood(1, "192.0.2.10");
	uint64_t id = start(m, &q, "fa", 100);

	assert_int_equal(mit_get(m, id)->status, MIT_MITIGATING);
	assert_true(mit_get(m, id)->dry_run);
	assert_int_equal(FA->applies, 0);
	assert_int_equal(mit_stop(m, id, 101, "test"), 0);
	assert_int_equal(FA->withdraws, 0);
	mit_mgr_free(m);
}

static void
test_counters_read_back(void **state)
{
	struct mit_mgr *m = new_mgr(NULL);
	struct mit_request q = flood(1, "192.0.2.10");
	uint64_t id = start(m, &q, "fa", 100);

	FA->packets = 500;
	mit_tick(m, 101);
	assert_int_equal(mit_get(m, id)->counters.packets, 500);
	assert_int_equal(mit_take_dropped(m, 0), 500);
	FA->packets = 800;
	mit_tick(m, 102);
	assert_int_equal(mit_take_dropped(m, 0), 300);
	assert_int_equal(mit_take_dropped(m, 0), 0);
	mit_mgr_free(m);
}

/* ---- persistence and reconciliation ---- */

static void
test_save_load_reconcile_both_ways(void **state)
{
	struct mit_mgr *m = new_mgr(NULL);
	struct mit_request q1 = flood(1, "192.0.2.10"), q2 = flood(2, "192.0.2.11");
	uint64_t id1 = start(m, &q1, "fa", 100), id2 = start(m, &q2, "fa", 100), id3;
	char *saved = mit_save(m);

	assert_non_null(saved);
	mit_mgr_free(m);	/* "SIGKILL": nothing withdrawn */
	assert_int_equal(FA->n, 2);
	assert_int_equal(fake_withdraw(FA, id1), 0);	/* lost by hand */
	FA->rules[FA->n++] = (struct mit_rule){ .id = 42 };	/* a stale one */

	m = new_mgr(NULL);
	assert_int_equal(mit_load(m, saved), 0);
	assert_int_equal(mit_get(m, id1)->status, MIT_MITIGATING);
	assert_string_equal(mit_get(m, id1)->driver, "fa");
	assert_int_equal(mit_get(m, id1)->rule.req.dport, 53);
	assert_int_equal(mit_reconcile(m, 200, NULL), 2);	/* one re-added, one removed */
	assert_int_equal(FA->n, 2);
	assert_true(fake_find(FA, id1) >= 0 && fake_find(FA, id2) >= 0 && fake_find(FA, 42) < 0);
	assert_int_equal(mit_reconcile(m, 201, NULL), 0);	/* idempotent */
	/* Ids keep growing past the loaded ones. */
	id3 = start(m, &(struct mit_request){ .attack_id = 3, .af = AF_INET, .n_targets = 1,
	    .targets = { { .addr = { .af = AF_INET, .a = { 192, 0, 2, 12 } }, .len = 32 } } },
	    "fa", 100);
	assert_true(id3 > id2);
	assert_int_equal(mit_stop_attack(m, 1, 202), 0);
	assert_int_equal(mit_stop_attack(m, 2, 202), 0);
	assert_int_equal(fake_find(FA, id1), -1);
	mit_mgr_free(m);
	free(saved);
}

static const struct mit_inspection *
inspection(const struct mit_reconcile_report *rep, const char *name)
{
	for (size_t i = 0; i < rep->n; i++)
		if (strcmp(rep->d[i].driver, name) == 0)
			return &rep->d[i];
	return NULL;
}

static void
test_reconcile_inspects_unconfigured_drivers(void **state)
{
	/* Nothing configured, nothing saved: a killed run's leftover in fb
	 * (and fc) is still found and removed. */
	struct mit_mgr *m = new_mgr(NULL);
	struct mit_reconcile_report rep;

	FB->rules[FB->n++] = (struct mit_rule){ .id = 77 };
	FC->rules[FC->n++] = (struct mit_rule){ .id = 78 };
	FC->rules[FC->n++] = (struct mit_rule){ .id = 79 };
	assert_int_equal(mit_reconcile(m, 100, &rep), 3);
	assert_int_equal(rep.n, 3);
	assert_int_equal(FA->inspections + FB->inspections + FC->inspections, 3);
	assert_int_equal(FB->n + FC->n, 0);
	assert_int_equal(inspection(&rep, "fb")->removed, 1);
	assert_int_equal(inspection(&rep, "fb")->removed_ids[0], 77);
	assert_int_equal(inspection(&rep, "fc")->removed, 2);
	assert_int_equal(inspection(&rep, "fa")->removed, 0);
	assert_int_equal(mit_uninspected(m), 0);
	mit_mgr_free(m);
}

static void
test_unreachable_driver_never_stops_the_others(void **state)
{
	struct mit_mgr *m = new_mgr(NULL);
	struct mit_request q = flood(1, "192.0.2.10");
	struct mit_reconcile_report rep;
	uint64_t id = start(m, &q, "fa", 100);
	char *saved = mit_save(m);

	mit_mgr_free(m);
	/* Restart with fa's daemon down (it is first in the table) and
	 * leftovers in fb and fc. */
	FA->installed_rc = -ECONNREFUSED;
	FB->rules[FB->n++] = (struct mit_rule){ .id = 77 };
	FC->rules[FC->n++] = (struct mit_rule){ .id = 78 };
	m = new_mgr(NULL);
	assert_int_equal(mit_load(m, saved), 0);
	assert_int_equal(mit_reconcile(m, 200, &rep), 2);
	assert_int_equal(inspection(&rep, "fa")->error, -ECONNREFUSED);
	assert_int_equal(FB->n + FC->n, 0);
	assert_int_equal(FA->n, 1);	/* its live rule is left as it is */
	assert_int_equal(mit_get(m, id)->status, MIT_MITIGATING);
	assert_int_equal(mit_uninspected(m), 1);

	/* Still down: reinspect only asks fa. */
	assert_int_equal(mit_reinspect(m, 260, &rep), 0);
	assert_int_equal(rep.n, 1);
	assert_int_equal(rep.d[0].error, -ECONNREFUSED);
	assert_int_equal(FB->inspections, 1);
	/* Back: a leftover it holds is removed, the live rule kept. */
	FA->installed_rc = 0;
	FA->rules[FA->n++] = (struct mit_rule){ .id = 5 };
	assert_int_equal(mit_reinspect(m, 320, &rep), 1);
	assert_int_equal(inspection(&rep, "fa")->removed_ids[0], 5);
	assert_int_equal(FA->n, 1);
	assert_int_equal(FA->rules[0].id, mit_get(m, id)->rule.id);
	assert_int_equal(mit_uninspected(m), 0);
	assert_int_equal(mit_reinspect(m, 380, &rep), 0);
	assert_int_equal(rep.n, 0);
	mit_mgr_free(m);
	free(saved);
}

static void
test_driver_needing_settings_is_skipped_unless_used(void **state)
{
	struct mit_mgr *m = new_mgr(NULL);
	struct mit_reconcile_report rep;
	char *saved;
	uint64_t id;
	struct mit_request q = flood(1, "192.0.2.10");

	FC->open_rc = -EINVAL;	/* like bgp without local_as */
	assert_int_equal(mit_reconcile(m, 100, &rep), 0);
	assert_true(inspection(&rep, "fc")->unconfigured);
	assert_int_equal(inspection(&rep, "fc")->error, 0);
	mit_mgr_free(m);

	/* A saved live mitigation held by fc, fc unusable now: an error. */
	FC->open_rc = 0;
	m = new_mgr(NULL);
	id = start(m, &q, "fc", 100);
	saved = mit_save(m);
	mit_mgr_free(m);
	FC->open_rc = -EINVAL;
	m = new_mgr(NULL);
	assert_int_equal(mit_load(m, saved), 0);
	assert_int_equal(mit_reconcile(m, 200, &rep), 0);
	assert_int_equal(inspection(&rep, "fc")->error, -EINVAL);
	assert_int_equal(mit_get(m, id)->status, MIT_MITIGATING);
	mit_mgr_free(m);
	free(saved);
}

static void
test_load_refuses_garbage(void **state)
{
	struct mit_mgr *m = new_mgr(NULL);

	assert_int_equal(mit_load(m, "not json"), -EINVAL);
	assert_int_equal(mit_load(m, "{\"version\":2}"), -EINVAL);
	assert_int_equal(mit_load(m, "{\"version\":1,\"mitigations\":[{\"id\":5,\"request\":"
	    "{\"targets\":[\"nope\"]}}]}"), -EINVAL);
	assert_null(mit_at(m, 0));
	mit_mgr_free(m);
}

/* ---- block only what attacks ---- */

static void
add_target(struct mit_request *q, const char *prefix, uint64_t weight)
{
	assert_int_equal(prefix_parse(prefix, &q->targets[q->n_targets]), 0);
	q->target_weight[q->n_targets++] = weight;
}

static void
add_source(struct mit_request *q, const char *addr, uint64_t weight)
{
	assert_int_equal(ipaddr_parse(addr, &q->sources[q->n_sources]), 0);
	q->source_weight[q->n_sources++] = weight;
}

static struct mit_request
weighted(uint64_t attack_id)
{
	struct mit_request q = { .attack_id = attack_id, .af = AF_INET, .proto = 17 };

	snprintf(q.po, sizeof(q.po), "web");
	return q;
}

static void
test_only_hosts_with_a_real_share_are_blocked(void **state)
{
	struct mit_mgr *m = new_mgr(NULL);
	struct mit_request q = weighted(1);
	const struct mit_entry *e;

	/* The flooded host, and two busy hosts of the PO in the attack's top list. */
	add_target(&q, "192.0.2.10/32", 9000);
	add_target(&q, "192.0.2.11/32", 600);
	add_target(&q, "192.0.2.12/32", 200);
	q.targets_total = 10000;
	e = mit_get(m, start(m, &q, "fa", 100));
	assert_int_equal(e->status, MIT_MITIGATING);
	assert_int_equal(FA->rules[0].req.n_targets, 1);
	assert_int_equal(FA->rules[0].req.targets[0].addr.a[3], 10);
	assert_non_null(strstr(e->narrowed, "192.0.2.11/32 (6.0% of the attack < 20%)"));
	assert_non_null(strstr(e->narrowed, "192.0.2.12/32"));
	mit_mgr_free(m);
}

static void
test_share_threshold_is_configurable_and_exact(void **state)
{
	struct mit_mgr *m = new_mgr("min_target_share: 5\n");
	struct mit_request q = weighted(1);

	add_target(&q, "192.0.2.10/32", 9000);
	add_target(&q, "192.0.2.11/32", 500);	/* exactly 5 %: kept */
	add_target(&q, "192.0.2.12/32", 499);
	q.targets_total = 10000;
	(void)start(m, &q, "fa", 100);
	assert_int_equal(FA->rules[0].req.n_targets, 2);
	mit_mgr_free(m);
}

static void
test_spread_attack_is_not_blocked_blindly(void **state)
{
	struct mit_mgr *m = new_mgr(NULL);
	struct mit_request q = weighted(1);
	const struct mit_entry *e;

	for (int i = 0; i < 5; i++) {
		char t[32];
		snprintf(t, sizeof(t), "192.0.2.%d/32", 10 + i);
		add_target(&q, t, 150);
	}
	q.targets_total = 1000;
	e = mit_get(m, start(m, &q, "fa", 100));
	assert_int_equal(e->status, MIT_NOT_MITIGATED);
	assert_non_null(strstr(e->reason, "min_target_share"));
	assert_int_equal(FA->applies, 0);
	/* Unknown weights (a manual request): no share applies. */
	q.attack_id = 2;
	q.targets_total = 0;
	e = mit_get(m, start(m, &q, "fa", 100));
	assert_int_equal(e->status, MIT_MITIGATING);
	assert_int_equal(FA->rules[0].req.n_targets, 5);
	mit_mgr_free(m);
}

static void
test_never_block_global_and_per_po(void **state)
{
	struct mit_mgr *m = new_mgr("never_block: [192.0.2.11]\n"
	    "po: {web: {never_block: [192.0.2.12/32]}}\n");
	struct mit_request q = weighted(1);
	struct ipaddr a;
	const struct mit_entry *e;

	add_target(&q, "192.0.2.10/32", 0);
	add_target(&q, "192.0.2.11/32", 0);
	add_target(&q, "192.0.2.12/32", 0);
	e = mit_get(m, start(m, &q, "fa", 100));
	assert_int_equal(FA->rules[0].req.n_targets, 1);
	assert_non_null(strstr(e->narrowed, "192.0.2.11/32 (never-block)"));
	assert_non_null(strstr(e->narrowed, "192.0.2.12/32 (never-block)"));

	/* The PO's own list is only the PO's. */
	q.attack_id = 2;
	snprintf(q.po, sizeof(q.po), "mail");
	(void)start(m, &q, "fb", 100);
	assert_int_equal(FB->rules[0].req.n_targets, 2);

	/* A prefix covering the target counts too; so does mit_allow(). */
	assert_int_equal(ipaddr_parse("192.0.2.12", &a), 0);
	assert_true(mit_never_blocked(m, "web", &a));
	assert_false(mit_never_blocked(m, "mail", &a));
	mit_mgr_free(m);
}

static void
test_driver_peers_are_never_blocked(void **state)
{
	struct mit_mgr *m = new_mgr(NULL);
	struct mit_request q = weighted(1);
	const struct mit_entry *e;
	struct ipaddr a;

	assert_int_equal(ipaddr_parse("198.51.100.1", &a), 0);
	FA->installed_rc = -ECONNREFUSED;	/* the speaker is down at start */
	(void)mit_reconcile(m, 100, NULL);
	assert_int_equal(mit_allow_peers(m), 0);
	assert_false(mit_never_blocked(m, NULL, &a));
	FA->installed_rc = 0;			/* it answers at the next inspection */
	(void)mit_reinspect(m, 160, NULL);
	assert_int_equal(mit_allow_peers(m), 2);
	assert_int_equal(mit_allow_peers(m), 0);	/* once each */
	assert_true(mit_never_blocked(m, "web", &a));
	add_target(&q, "198.51.100.1/32", 0);
	e = mit_get(m, start(m, &q, "fb", 200));
	assert_int_equal(e->status, MIT_NOT_MITIGATED);
	assert_int_equal(FB->applies, 0);
	mit_mgr_free(m);
}

static void
test_never_block_sources_are_not_named(void **state)
{
	struct mit_mgr *m = new_mgr("scope: sources\nnever_block: [198.51.100.0/28]\n");
	struct mit_request q = weighted(1);

	add_target(&q, "192.0.2.10/32", 0);
	add_source(&q, "198.51.100.2", 0);	/* a peer */
	add_source(&q, "198.51.100.77", 0);
	(void)start(m, &q, "fa", 100);
	assert_int_equal(FA->rules[0].scope, MIT_SCOPE_SOURCES);
	assert_int_equal(FA->rules[0].req.n_sources, 1);
	assert_int_equal(FA->rules[0].req.sources[0].a[3], 77);
	mit_mgr_free(m);
}

static void
test_address_cap(void **state)
{
	struct mit_mgr *m = new_mgr("max_block_addresses: 256\nscope: target\n");
	struct mit_request q = weighted(1);
	const struct mit_entry *e;

	add_target(&q, "192.0.2.0/24", 0);
	add_target(&q, "198.51.100.1/32", 0);	/* one too many */
	e = mit_get(m, start(m, &q, "fa", 100));
	assert_int_equal(e->status, MIT_MITIGATING);
	assert_int_equal(FA->rules[0].req.n_targets, 1);
	assert_non_null(strstr(e->narrowed, "max_block_addresses"));
	mit_mgr_free(m);

	m = new_mgr("max_block_addresses: 100\n");
	q.n_targets = 1;
	e = mit_get(m, start(m, &q, "fa", 100));
	assert_int_equal(e->status, MIT_NOT_MITIGATED);
	assert_non_null(strstr(e->reason, "max_block_addresses"));
	mit_mgr_free(m);
}

static void
test_max_mitigations(void **state)
{
	struct mit_mgr *m = new_mgr("max_mitigations: 1\n");
	struct mit_request q1 = flood(1, "192.0.2.10"), q2 = flood(2, "192.0.2.11");

	(void)start(m, &q1, "fa", 100);
	assert_int_equal(mit_get(m, start(m, &q2, "fa", 100))->status, MIT_NO_RESOURCES);
	assert_int_equal(FA->n, 1);
	mit_mgr_free(m);
}

static void
test_dry_run_everything_or_one_po(void **state)
{
	struct mit_mgr *m = new_mgr("dry_run: true\n");
	struct mit_request q = flood(1, "192.0.2.10");
	const struct mit_entry *e = mit_get(m, start(m, &q, "fa,fb", 100));

	assert_true(e->dry_run);
	assert_int_equal(e->status, MIT_MITIGATING);
	assert_non_null(strstr(e->reason, "would drop proto 17 dport 53 to 192.0.2.10/32"));
	assert_int_equal(FA->applies + FB->applies, 0);
	mit_tick(m, 101);
	assert_int_equal(mit_stop_attack(m, 1, 102), 0);
	assert_int_equal(FA->withdraws + FB->withdraws, 0);
	mit_mgr_free(m);

	m = new_mgr("po: {web: {dry_run: true}}\n");
	e = mit_get(m, start(m, &q, "fa", 100));
	assert_true(e->dry_run);
	assert_string_equal(e->driver, "fa");
	assert_int_equal(FA->applies, 0);
	q.attack_id = 2;
	snprintf(q.po, sizeof(q.po), "mail");
	e = mit_get(m, start(m, &q, "fa", 100));
	assert_false(e->dry_run);
	assert_int_equal(FA->n, 1);
	mit_mgr_free(m);
}

/* ---- refinement: scope sources ---- */

static void
test_sources_refined_without_a_gap(void **state)
{
	struct mit_mgr *m = new_mgr("scope: sources\n");
	struct mit_request q = weighted(1);
	const struct mit_entry *e;
	uint64_t id, first, second;
	struct events ev = { .n = 0 };

	mit_set_event_hook(m, record_event, &ev);
	/* Declared before any source was seen: the protocol for now. */
	add_target(&q, "192.0.2.10/32", 0);
	id = start(m, &q, "fa", 100);
	e = mit_get(m, id);
	assert_int_equal(e->rule.scope, MIT_SCOPE_PROTO);
	first = e->rule.id;
	assert_int_equal(mit_refine(m, &q, 101), 0);	/* nothing new */

	/* Sources arrive: two flooders and a benign client below 10 %. */
	add_source(&q, "198.51.100.2", 6000);
	add_source(&q, "198.51.100.3", 3500);
	add_source(&q, "198.51.100.9", 500);
	q.sources_total = 10000;
	assert_int_equal(mit_refine(m, &q, 102), 1);
	e = mit_get(m, id);
	second = e->rule.id;
	assert_int_not_equal(second, first);
	assert_int_equal(e->rule.scope, MIT_SCOPE_SOURCES);
	assert_int_equal(e->rule.req.n_sources, 2);
	assert_true(saw(&ev, "refined"));
	/* What the driver saw: new rule applied, then the old one withdrawn. */
	assert_int_equal(FA->n_order, 3);
	assert_int_equal(FA->order[0], first);
	assert_int_equal(FA->order[1], second);
	assert_int_equal(FA->order[2], first | 1ull << 63);
	assert_int_equal(FA->n, 1);
	assert_int_equal(FA->rules[0].req.n_sources, 2);
	assert_int_equal(mit_refine(m, &q, 103), 0);	/* same again: no churn */

	/* A named source dipping below the share but above half of it stays
	 * (no churn at the threshold); below half it goes. */
	q.source_weight[1] = 600;
	assert_int_equal(mit_refine(m, &q, 103), 0);
	q.source_weight[1] = 400;
	assert_int_equal(mit_refine(m, &q, 103), 1);
	assert_int_equal(mit_get(m, id)->rule.req.n_sources, 1);
	second = mit_get(m, id)->rule.id;
	q.source_weight[1] = 3500;
	assert_int_equal(mit_refine(m, &q, 103), 1);
	second = mit_get(m, id)->rule.id;

	/* The driver refuses the next refinement: the old rule stays. */
	q.source_weight[2] = 2000;
	FA->apply_rc = -ENOSPC;
	assert_int_equal(mit_refine(m, &q, 104), -ENOSPC);
	assert_int_equal(mit_get(m, id)->rule.id, second);
	assert_int_equal(FA->n, 1);
	FA->apply_rc = 0;

	/* A request that narrows to nothing never lifts the rule. */
	q.n_targets = 0;
	assert_int_equal(mit_refine(m, &q, 105), 0);
	assert_int_equal(FA->n, 1);

	/* Ending withdraws the current rule. */
	assert_int_equal(mit_stop_attack(m, 1, 106), 0);
	assert_int_equal(FA->n, 0);
	assert_int_equal(mit_refine(m, &q, 107), -ENOENT);
	mit_mgr_free(m);
}

static void
test_refined_rule_survives_restart(void **state)
{
	struct mit_mgr *m = new_mgr("scope: sources\n");
	struct mit_request q = weighted(1);
	uint64_t id, rule;
	char *saved;

	add_target(&q, "192.0.2.10/32", 0);
	id = start(m, &q, "fa", 100);
	add_source(&q, "198.51.100.2", 100);
	q.sources_total = 100;
	assert_int_equal(mit_refine(m, &q, 101), 1);
	rule = mit_get(m, id)->rule.id;
	saved = mit_save(m);
	mit_mgr_free(m);

	m = new_mgr("scope: sources\n");
	assert_int_equal(mit_load(m, saved), 0);
	assert_int_equal(mit_get(m, id)->rule.id, rule);
	assert_int_equal(mit_reconcile(m, 200, NULL), 0);	/* neither stale nor missing */
	assert_int_equal(FA->n, 1);
	assert_int_equal(FA->rules[0].id, rule);
	assert_int_equal(mit_stop(m, id, 201, "test"), 0);
	assert_int_equal(FA->n, 0);
	mit_mgr_free(m);
	free(saved);
}

/* ---- configuration ---- */

static void
test_bad_config_names_position(void **state)
{
	struct cfg_error err = { { 0 } };

	assert_int_equal(new_mgr_err("scope: everything\n", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "t.yaml:1:"));
	assert_non_null(strstr(err.msg, "scope"));
	assert_int_equal(new_mgr_err("drivers: {nft: {}}\n", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "unknown driver"));
	assert_int_equal(new_mgr_err("drivers: {fa: {bogus: 1}}\n", &err), -EINVAL);
	assert_int_equal(new_mgr_err("dry_run: [nft]\n", &err), -EINVAL);
	assert_int_equal(new_mgr_err("min_target_share: 101\n", &err), -EINVAL);
	assert_int_equal(new_mgr_err("never_block: [not-a-prefix]\n", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "never_block"));
	assert_int_equal(new_mgr_err("po: {web: {dry_run: maybe}}\n", &err), -EINVAL);
	assert_int_equal(new_mgr_err("po: {web: {gateway: 192.0.2.1}}\n", &err), -EINVAL);
	assert_int_equal(new_mgr_err("drivers: {fa: {knob: 1}}\n", &err), 0);
	assert_int_equal(FA->opens, 1);
	assert_int_equal(FA->closes, 1);
}

/* ---- probes: a held rule is lifted and re-measured ---- */

static void
test_probe_lifts_reinstalls_and_ends(void **state)
{
	struct mit_mgr *m = new_mgr("probe_after: 5m\nprobe_window: 15s\n");
	struct mit_request q = flood(1, "192.0.2.10");
	struct events ev = { .n = 0 };
	uint64_t id, rule;

	mit_set_event_hook(m, record_event, &ev);
	id = start(m, &q, "fa", 1000);
	rule = mit_get(m, id)->rule.id;
	assert_int_equal(mit_probe_window(m), 15);
	mit_tick(m, 1299);
	assert_int_equal(mit_get(m, id)->status, MIT_MITIGATING);
	assert_int_equal(FA->n, 1);
	mit_tick(m, 1300);		/* held 5 minutes: lifted */
	assert_int_equal(mit_get(m, id)->status, MIT_PROBING);
	assert_int_equal(mit_get(m, id)->probe_s, 1300);
	assert_int_equal(FA->n, 0);
	assert_int_equal(FA->withdraws, 1);
	assert_true(saw(&ev, "probe"));
	assert_int_equal(mit_probe_begin(m, id, 1301), -EINVAL);	/* already lifted */
	/* Still attacking: the same rule goes back at once. */
	assert_int_equal(mit_probe_end(m, id, true, 1303), 0);
	assert_int_equal(mit_get(m, id)->status, MIT_MITIGATING);
	assert_int_equal(mit_get(m, id)->probes, 1);
	assert_int_equal(FA->n, 1);
	assert_int_equal(FA->rules[0].id, rule);
	assert_true(saw(&ev, "probe-reinstalled"));
	assert_int_equal(mit_probe_end(m, id, true, 1304), -EINVAL);	/* not probing */
	/* The next probe is probe_after from the re-install. */
	mit_tick(m, 1602);
	assert_int_equal(mit_get(m, id)->status, MIT_MITIGATING);
	mit_tick(m, 1603);
	assert_int_equal(mit_get(m, id)->status, MIT_PROBING);
	/* Back to normal: the mitigation ends; nothing is withdrawn twice. */
	assert_int_equal(mit_probe_end(m, id, false, 1618), 0);
	assert_int_equal(mit_get(m, id)->status, MIT_ENDED);
	assert_non_null(strstr(mit_get(m, id)->reason, "probe"));
	assert_int_equal(FA->n, 0);
	assert_int_equal(FA->withdraws, 2);
	/* The attack may come back: a new mitigation is possible. */
	assert_int_not_equal(start(m, &q, "fa", 1700), id);
	assert_int_equal(mit_probe_begin(m, 999, 1700), -ENOENT);
	mit_mgr_free(m);
}

static void
test_probe_off_dry_run_and_max_duration(void **state)
{
	struct mit_mgr *m = new_mgr("probe_after: 0\n");
	struct mit_request q = flood(1, "192.0.2.10");
	uint64_t id = start(m, &q, "fa", 1000);

	mit_tick(m, 4000);		/* never probed */
	assert_int_equal(mit_get(m, id)->status, MIT_MITIGATING);
	assert_int_equal(FA->withdraws, 0);
	mit_mgr_free(m);

	reset_fakes(NULL);
	m = new_mgr("probe_after: 1m\ndry_run: true\n");
	id = start(m, &q, "fa", 1000);
	mit_tick(m, 2000);		/* a dry run has no rule to lift */
	assert_int_equal(mit_get(m, id)->status, MIT_MITIGATING);
	assert_true(mit_get(m, id)->dry_run);
	assert_int_equal(mit_probe_begin(m, id, 2000), -EINVAL);
	mit_mgr_free(m);

	/* max_duration ends a probing mitigation like any live one. */
	reset_fakes(NULL);
	m = new_mgr("probe_after: 1m\nmax_duration: 2m\n");
	id = start(m, &q, "fa", 1000);
	mit_tick(m, 1060);
	assert_int_equal(mit_get(m, id)->status, MIT_PROBING);
	mit_tick(m, 1120);
	assert_int_equal(mit_get(m, id)->status, MIT_ENDED);
	assert_int_equal(FA->withdraws, 1);
	mit_mgr_free(m);
}

static void
test_probe_refine_reconcile_and_restart(void **state)
{
	struct mit_mgr *m = new_mgr("probe_after: 1m\nscope: sources\n");
	struct mit_request q = flood(1, "192.0.2.10");
	uint64_t id = start(m, &q, "fa", 1000);
	char *saved;

	mit_tick(m, 1060);
	assert_int_equal(mit_get(m, id)->status, MIT_PROBING);
	/* Neither a refinement nor a reconciliation puts the rule back. */
	assert_int_equal(ipaddr_parse("198.51.100.8", &q.sources[1]), 0);
	q.n_sources = 2;
	assert_true(mit_refine(m, &q, 1061) >= 0);
	assert_int_equal(mit_reconcile(m, 1062, NULL), 0);
	assert_int_equal(FA->n, 0);
	assert_int_equal(mit_get(m, id)->status, MIT_PROBING);
	saved = mit_save(m);
	assert_non_null(strstr(saved, "\"probing\""));
	mit_mgr_free(m);

	/* A restart during a probe restores the rule. */
	m = new_mgr("probe_after: 1m\n");
	assert_int_equal(mit_load(m, saved), 0);
	free(saved);
	assert_int_equal(mit_get(m, id)->status, MIT_MITIGATING);
	assert_int_equal(mit_reconcile(m, 1100, NULL), 1);
	assert_int_equal(FA->n, 1);
	mit_mgr_free(m);
}

static void
test_probe_config_bounds(void **state)
{
	struct cfg_error err = { { 0 } };

	assert_int_equal(new_mgr_err("probe_window: 1s\n", &err), -EINVAL);
	assert_int_equal(new_mgr_err("probe_after: -1\n", &err), -EINVAL);
}

#define T(fn) cmocka_unit_test_setup(fn, reset_fakes)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_not_applicable_moves_to_next),
		T(test_unknown_driver_is_skipped),
		T(test_no_resources_moves_on_then_holds),
		T(test_nothing_applicable_is_not_mitigated_and_not_retried),
		T(test_po_without_drivers),
		T(test_no_resources_retried_on_timer),
		T(test_rule_cap_defers_then_admits),
		T(test_max_duration_ends_and_withdraws),
		T(test_allowlist_is_never_blocked),
		T(test_stop_withdraws_exactly_what_was_applied),
		T(test_same_attack_updates_in_place),
		T(test_dry_run_driver_installs_nothing),
		T(test_counters_read_back),
		T(test_save_load_reconcile_both_ways),
		T(test_reconcile_inspects_unconfigured_drivers),
		T(test_unreachable_driver_never_stops_the_others),
		T(test_driver_needing_settings_is_skipped_unless_used),
		T(test_load_refuses_garbage),
		T(test_only_hosts_with_a_real_share_are_blocked),
		T(test_share_threshold_is_configurable_and_exact),
		T(test_spread_attack_is_not_blocked_blindly),
		T(test_never_block_global_and_per_po),
		T(test_driver_peers_are_never_blocked),
		T(test_never_block_sources_are_not_named),
		T(test_address_cap),
		T(test_max_mitigations),
		T(test_dry_run_everything_or_one_po),
		T(test_sources_refined_without_a_gap),
		T(test_refined_rule_survives_restart),
		T(test_bad_config_names_position),
		T(test_probe_lifts_reinstalls_and_ends),
		T(test_probe_off_dry_run_and_max_duration),
		T(test_probe_refine_reconcile_and_restart),
		T(test_probe_config_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
