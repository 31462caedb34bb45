/* Unit tests for engine/engine: PO lifecycle through the engine (conflicts,
 * config POs, persistence across a reopen), backup/restore, factory reset,
 * reload, the LPM swapped on every change, and the modules' state slots
 * (two engines in one process). Manual clock; temp state. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "engine/collect/module.h"
#include "engine/conntab/conntab.h"
#include "engine/core/engine.h"
#include "engine/detect/module.h"
#include "engine/mitigate/module.h"

#define T0_NS (1700000000ULL * CLOCK_NS_PER_SEC)

static const char cfg_yaml[] =
	"pos:\n"
	"  - name: cfgpo\n"
	"    prefixes: [203.0.113.0/24]\n";

struct fixture {
	char dir[64];
	struct engine *e;
};

static struct engine *
open_engine(const char *dir, const char *yaml)
{
	struct engine_opts o = { .state_dir = dir, .manual_clock = true, .start_ns = T0_NS };
	struct cfg_error err;
	struct settings *s = NULL;
	struct engine *e = NULL;

	assert_int_equal(settings_load_buffer("t.yaml", yaml, strlen(yaml), 1700000000, &s, &err), 0);
	assert_int_equal(engine_new(&o, s, &e), 0);
	return e;
}

static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	log_init("test_engine", LOG_DEST_STDERR, LOG_LVL_ERR, false);
	strcpy(fx->dir, "/tmp/moat-test-engine-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	fx->e = open_engine(fx->dir, cfg_yaml);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;
	char cmd[128];

	engine_free(fx->e);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
	assert_int_equal(system(cmd), 0);
	free(fx);
	return 0;
}

static struct po *
mk(const char *json)
{
	struct po_error err;
	struct po *p = NULL;

	assert_int_equal(po_from_text(json, strlen(json), NULL, PO_IN_API, &p, &err), 0);
	return p;
}

static int
put(struct engine *e, const char *json, bool create_only, struct po_error *err)
{
	const struct po *now = NULL;

	memset(err, 0, sizeof(*err));
	return engine_po_put(e, mk(json), create_only, &now, err);
}

static void
test_po_lifecycle(void **state)
{
	struct fixture *fx = *state;
	struct po_error err;
	const struct po *p;

	assert_int_equal(poset_count(engine_pos(fx->e)), 1);
	assert_int_equal(lpm_lookup4(engine_lpm(fx->e), 0xcb007101), 0);	/* cfgpo */

	assert_int_equal(put(fx->e, "{\"name\":\"web\",\"prefixes\":[\"192.0.2.0/24\"]}", true, &err), 0);
	assert_int_equal(put(fx->e, "{\"name\":\"web\",\"prefixes\":[\"192.0.2.0/24\"]}", true, &err),
	    -EEXIST);
	assert_string_equal(err.field, "name");
	assert_int_equal(put(fx->e, "{\"name\":\"x\",\"prefixes\":[\"203.0.113.0/24\"]}", true, &err),
	    -EEXIST);
	assert_string_equal(err.field, "prefixes");
	assert_int_equal(put(fx->e, "{\"name\":\"cfgpo\",\"prefixes\":[\"198.51.100.0/24\"]}", false,
	    &err), -EPERM);
	assert_int_equal(engine_po_del(fx->e, "cfgpo"), -EPERM);

	clock_advance(engine_clock(fx->e), 10 * CLOCK_NS_PER_SEC);
	assert_int_equal(put(fx->e, "{\"name\":\"web\",\"prefixes\":[\"192.0.2.0/25\"]}", false, &err), 1);
	p = poset_find(engine_pos(fx->e), "web", NULL);
	assert_int_equal(p->created_at, 1700000000);
	assert_int_equal(p->updated_at, 1700000010);
	assert_int_not_equal(lpm_lookup4(engine_lpm(fx->e), 0xc0000201), LPM_NONE);
	assert_int_equal(lpm_lookup4(engine_lpm(fx->e), 0xc0000281), LPM_NONE);	/* .129 left */

	/* Persisted: a new engine on the same state replays it. */
	engine_free(fx->e);
	fx->e = open_engine(fx->dir, cfg_yaml);
	assert_int_equal(poset_count(engine_pos(fx->e)), 2);
	assert_non_null(poset_find(engine_pos(fx->e), "web", NULL));

	assert_int_equal(engine_po_del(fx->e, "web"), 0);
	assert_int_equal(engine_po_del(fx->e, "web"), -ENOENT);
	assert_int_equal(lpm_lookup4(engine_lpm(fx->e), 0xc0000201), LPM_NONE);
}

static size_t
count_flight(struct engine *e, const char *category)
{
	struct flight_query q = { .since_ms = 0, .until_ms = INT64_MAX, .limit = 1000 };
	json_t *arr = NULL;
	size_t n;

	if (category) {
		q.categories[0] = category;
		q.ncategories = 1;
	}
	assert_int_equal(flight_query(engine_flight(e), &q, &arr), 0);
	n = json_array_size(arr);
	json_decref(arr);
	return n;
}

static void
test_backup_reset_restore(void **state)
{
	struct fixture *fx = *state;
	struct po_error err;
	char path[128], junk[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/b.db", fx->dir);
	snprintf(junk, sizeof(junk), "%s/junk.db", fx->dir);
	assert_int_equal(put(fx->e, "{\"name\":\"web\",\"prefixes\":[\"192.0.2.0/24\"]}", true, &err), 0);
	assert_int_equal(engine_backup(fx->e, path), 0);

	assert_int_equal(engine_reset(fx->e), 0);
	assert_int_equal(poset_count(engine_pos(fx->e)), 1);	/* config PO only */
	assert_int_equal(count_flight(fx->e, "config"), 0);
	assert_int_equal(count_flight(fx->e, "lifecycle"), 1);	/* the reset */

	f = fopen(junk, "w");
	fputs("not a backup", f);
	fclose(f);
	assert_int_equal(engine_restore(fx->e, junk), -EINVAL);
	assert_int_equal(poset_count(engine_pos(fx->e)), 1);

	assert_int_equal(engine_restore(fx->e, path), 0);
	assert_int_equal(poset_count(engine_pos(fx->e)), 2);
	assert_int_equal(count_flight(fx->e, "config"), 1);	/* po.add from the backup */
}

static void
test_reload_replays_config(void **state)
{
	struct fixture *fx = *state;
	static const char yaml2[] =
		"pos:\n"
		"  - name: other\n"
		"    prefixes: [198.51.100.0/24]\n";
	struct cfg_error cerr;
	struct settings *s = NULL;
	struct po_error err;

	assert_int_equal(put(fx->e, "{\"name\":\"web\",\"prefixes\":[\"192.0.2.0/24\"]}", true, &err), 0);
	assert_int_equal(settings_load_buffer("t2.yaml", yaml2, strlen(yaml2), 0, &s, &cerr), 0);
	assert_int_equal(engine_reload(fx->e, s), 0);
	assert_null(poset_find(engine_pos(fx->e), "cfgpo", NULL));
	assert_non_null(poset_find(engine_pos(fx->e), "other", NULL));
	assert_non_null(poset_find(engine_pos(fx->e), "web", NULL));
}

static int ticks;

static void
on_tick(struct engine *e, uint64_t now_ns, void *arg)
{
	ticks++;
}

static void
test_tick_and_fatal(void **state)
{
	struct fixture *fx = *state;
	int code = -1;

	assert_int_equal(engine_on_tick(fx->e, on_tick, NULL), 0);
	engine_tick(fx->e);
	assert_int_equal(ticks, 1);
	assert_false(engine_stop_requested(fx->e, &code));
	for (int i = 0; i < 5; i++)
		health_report(engine_health(fx->e), "test", 1.0, "broken");
	engine_tick(fx->e);
	assert_true(engine_stop_requested(fx->e, &code));
	assert_int_equal(code, 1);
}

/* The connections of engine e's table. */
static unsigned
conns_of(struct engine *e)
{
	struct conntab_stats st;

	conntab_stats(conntab_get(e), &st);
	return (unsigned)st.entries;
}

/*
 * Each module's state lives in its engine's slot: two engines in one
 * process have their own detection, connection table and mitigation, what
 * one learns the other does not see, and freeing one leaves the other
 * running. (With process-wide instance pointers the second engine took
 * the first one's modules away.)
 */
static void
test_two_engines(void **state)
{
	struct fixture *fx = *state;
	char dir2[64] = "/tmp/moat-test-engine2-XXXXXX", cmd[128];
	struct engine *e1 = fx->e, *e2;
	struct detection_ctx *d1 = detection_get(e1), *d2;
	struct ipfix_conn ev = {
		.domain = 7, .event = INSIE_OPEN, .conn_id = 1, .sport = 40000, .dport = 80,
		.start_ms = 1700000000000ull, .end_ms = 1700000000001ull,
		.ttfb_ms = IPFIX_CONN_UNKNOWN, .headers_ms = IPFIX_CONN_UNKNOWN,
	};
	struct detection det = {
		.kind = DETECT_ATTACK, .detector = "test", .po_id = 0, .proto = PROTO_UDP,
		.dir = DIR_IN, .confidence = 90, .reason = "test flood",
	};

	assert_non_null(mkdtemp(dir2));
	e2 = open_engine(dir2, cfg_yaml);
	d2 = detection_get(e2);
	/* Both engines run every module, each with its own state. */
	assert_non_null(d1);
	assert_non_null(d2);
	assert_ptr_not_equal(d1, d2);
	assert_ptr_equal(detection_get(e1), d1);
	assert_non_null(conntab_get(e1));
	assert_non_null(conntab_get(e2));
	assert_ptr_not_equal(conntab_get(e1), conntab_get(e2));
	assert_non_null(mitigation_get(e1));
	assert_non_null(mitigation_get(e2));
	assert_ptr_not_equal(mitigation_get(e1), mitigation_get(e2));
	assert_null(collector_get(e1));	/* no collect: section */
	assert_null(collector_get(e2));

	/* An attack detected by the second engine is only the second's. */
	det.time_ns = clock_wall_ns(engine_clock(e2));
	det.expiry_ns = det.time_ns + 60 * CLOCK_NS_PER_SEC;
	detection_external(d2, &det, NULL);
	clock_advance(engine_clock(e2), CLOCK_NS_PER_SEC);
	engine_tick(e2);
	assert_int_equal(decision_live_count(detection_decision(d2)), 1);
	assert_int_equal(decision_live_count(detection_decision(d1)), 0);

	/* A connection moat-ins reports to the first engine's table stays there. */
	assert_int_equal(ipaddr_parse("192.0.2.1", &ev.exporter), 0);
	assert_int_equal(ipaddr_parse("198.51.100.9", &ev.src), 0);
	assert_int_equal(ipaddr_parse("203.0.113.5", &ev.dst), 0);
	conntab_sink(conntab_get(e1), &ev);
	engine_tick(e1);
	engine_tick(e2);
	assert_int_equal(conns_of(e1), 1);
	assert_int_equal(conns_of(e2), 0);

	/* Freeing the second engine leaves the first one's modules running. */
	engine_free(e2);
	assert_ptr_equal(detection_get(e1), d1);
	assert_non_null(conntab_get(e1));
	assert_non_null(mitigation_get(e1));
	clock_advance(engine_clock(e1), CLOCK_NS_PER_SEC);
	engine_tick(e1);
	assert_int_equal(conns_of(e1), 1);
	assert_int_equal(decision_live_count(detection_decision(d1)), 0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir2);
	assert_int_equal(system(cmd), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_po_lifecycle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backup_reset_restore, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload_replays_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tick_and_fatal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_engines, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
