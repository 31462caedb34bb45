/* Unit tests for engine/detection: moatd's detection module inside a real
 * engine (manual clock, temp state dir): a threshold flood declared and
 * ended on the engine's ticks with flight entries, per-PO thresholds taken
 * from the PO, an attack in progress and learned state surviving a restart,
 * a deleted PO dropping its live attack, a factory reset, and the
 * `detection:` configuration section. */
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

#include "common/log.h"
#include "engine/detect/module.h"
#include "engine/core/engine.h"

#define NS CLOCK_NS_PER_SEC
#define T0_NS (1700000000ULL * NS)

static const char cfg_yaml[] = "pos: []\n";
static const char web_json[] =
	"{\"name\":\"web\",\"prefixes\":[\"192.0.2.0/24\"],"
	"\"thresholds\":{\"udp\":{\"pps\":1000}}}";

struct fixture {
	char dir[64];
	struct engine *e;
	uint32_t web;
};

static const char *engine_yaml = cfg_yaml;

static struct engine *
open_engine(const char *dir)
{
	struct engine_opts o = { .state_dir = dir, .manual_clock = true, .start_ns = T0_NS };
	struct cfg_error err;
	struct settings *s = NULL;
	struct engine *e = NULL;

	assert_int_equal(settings_load_buffer("t.yaml", engine_yaml, strlen(engine_yaml), 1700000000,
	    &s, &err), 0);
	assert_int_equal(engine_new(&o, s, &e), 0);
	return e;
}

static uint32_t
po_id(struct engine *e, const char *name)
{
	uint32_t id = UINT32_MAX;

	assert_non_null(poset_find(engine_pos(e), name, &id));
	return id;
}

static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	struct po_error perr;
	const struct po *in;
	struct po *p = NULL;

	log_init("test_detection", LOG_DEST_STDERR, LOG_LVL_ERR, false);
	strcpy(fx->dir, "/tmp/moat-test-detection-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	fx->e = open_engine(fx->dir);
	assert_int_equal(po_from_text(web_json, strlen(web_json), NULL, PO_IN_API, &p, &perr), 0);
	assert_true(engine_po_put(fx->e, p, true, &in, &perr) >= 0);
	fx->web = po_id(fx->e, "web");
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

/* One second of UDP at pps on the engine's clock, then a tick. */
static void
second(struct fixture *fx, uint64_t pps)
{
	struct clock *c = engine_clock(fx->e);
	struct detection_ctx *d = detection_get(fx->e);
	struct reading r;

	clock_advance(c, NS);
	r = (struct reading){ .time_ns = clock_mono_ns(c), .interval_ns = NS, .po_id = fx->web,
		.proto = PROTO_UDP, .dir = DIR_IN, .packets = pps, .bytes = pps * 100 };
	assert_non_null(d);
	detection_reading_cb(d, &r);
	engine_tick(fx->e);
}

static const struct decision_attack *
attack(struct fixture *fx, uint64_t id)
{
	return decision_get(detection_decision(detection_get(fx->e)), id);
}

static unsigned
flight_count(struct fixture *fx, const char *event)
{
	struct flight_query q = { .categories = { "attack" }, .ncategories = 1, .until_ms = INT64_MAX,
		.limit = 100 };
	json_t *entries, *e;
	unsigned n = 0;
	size_t i;

	assert_int_equal(flight_query(engine_flight(fx->e), &q, &entries), 0);
	json_array_foreach(entries, i, e)
		n += strcmp(json_string_value(json_object_get(e, "event")), event) == 0;
	json_decref(entries);
	return n;
}

static void
test_threshold_flood_lifecycle(void **state)
{
	struct fixture *fx = *state;
	const struct decision_attack *a;
	json_t *j;

	second(fx, 900);
	assert_null(attack(fx, 1));
	second(fx, 5000);			/* over the PO's 1000 pps: at once */
	a = attack(fx, 1);
	assert_non_null(a);
	assert_int_equal(a->state, DECISION_DECLARED);
	assert_string_equal(a->po, "web");
	assert_int_equal(a->type, DECISION_TYPE_UDP_FLOOD);
	assert_int_equal(a->declared_ns, T0_NS + 2 * NS);	/* wall time */
	assert_int_equal(flight_count(fx, "attack.declared"), 1);
	j = detection_attack_json(a, true);
	assert_string_equal(json_string_value(json_object_get(j, "state")), "declared");
	assert_true(json_is_array(json_object_get(j, "detectors")));
	json_decref(j);
	for (int i = 0; i < 10; i++)
		second(fx, 5000);
	for (int i = 0; i < 10; i++)		/* the detection expires */
		second(fx, 500);
	assert_int_equal(attack(fx, 1)->state, DECISION_ENDING);
	for (int i = 0; i < 30; i++)		/* the quiet period */
		second(fx, 500);
	assert_int_equal(attack(fx, 1)->state, DECISION_ENDED);
	assert_int_equal(flight_count(fx, "attack.ended"), 1);
}

static void
test_attack_survives_restart(void **state)
{
	struct fixture *fx = *state;

	second(fx, 5000);
	assert_int_equal(attack(fx, 1)->state, DECISION_DECLARED);
	engine_free(fx->e);
	fx->e = open_engine(fx->dir);
	assert_non_null(attack(fx, 1));
	assert_int_equal(attack(fx, 1)->state, DECISION_DECLARED);
	assert_string_equal(attack(fx, 1)->po, "web");
	assert_int_equal(attack(fx, 1)->po_id, po_id(fx->e, "web"));
	second(fx, 5000);			/* the same attack goes on: no second one */
	assert_null(attack(fx, 2));
	assert_true(attack(fx, 1)->det[0].count >= 2);
}

static void
test_deleted_po_drops_live_attack(void **state)
{
	struct fixture *fx = *state;

	second(fx, 5000);
	assert_non_null(attack(fx, 1));
	assert_int_equal(engine_po_del(fx->e, "web"), 0);
	assert_null(attack(fx, 1));
	assert_int_equal(decision_live_count(detection_decision(detection_get(fx->e))), 0);
}

static void
test_factory_reset(void **state)
{
	struct fixture *fx = *state;

	struct detection_ctx *d = detection_get(fx->e);

	second(fx, 5000);
	assert_non_null(attack(fx, 1));
	assert_int_equal(engine_reset(fx->e), 0);
	/* Rebuilt in place: the engine's wiring handed this address out. */
	assert_ptr_equal(detection_get(fx->e), d);
	assert_null(attack(fx, 1));
}

/* `detection:` in the configuration: per-PO quiet period and expiry. */
static void
test_config_section(void **state)
{
	struct fixture *fx = *state;

	second(fx, 5000);
	assert_int_equal(attack(fx, 1)->state, DECISION_DECLARED);
	for (int i = 0; i < 4; i++)		/* expiry 2 s + quiet 3 s from the config */
		second(fx, 500);
	assert_int_equal(attack(fx, 1)->state, DECISION_ENDED);
}

static int
setup_configured(void **state)
{
	engine_yaml = "pos: []\n"
	    "detection:\n"
	    "  preset: moat\n"
	    "  set: { quiet: 20s }\n"
	    "  pos:\n"
	    "    web: { quiet: 3s, threshold_expiry: 2s }\n";
	return setup(state);
}

static int
teardown_configured(void **state)
{
	engine_yaml = cfg_yaml;
	return teardown(state);
}

static void
expect_config_error(const char *yaml, const char *msg)
{
	struct cfg_error err = { "" };
	struct settings *s = NULL;

	assert_int_not_equal(settings_load_buffer("t.yaml", yaml, strlen(yaml), 1700000000, &s, &err), 0);
	if (strstr(err.msg, msg) == NULL)
		fail_msg("expected \"%s\" in \"%s\"", msg, err.msg);
}

static void
test_config_errors(void **state)
{
	expect_config_error("detection:\n  set: { rate.nope: 1 }\n",
	    "t.yaml:2:21: rate.nope: unknown detection parameter");
	expect_config_error("detection:\n  set: { rate.persist: lots }\n", "rate.persist: bad value 'lots'");
	expect_config_error("detection:\n  preset: fast\n", "t.yaml:2:11: preset: expected moat or defense4all");
	expect_config_error("detection:\n  colour: red\n", "colour");
	expect_config_error("detection:\n  set: { rate.stay_ratio: 3 }\n", "must not exceed rate.enter_ratio");
	expect_config_error("detection:\n  pos: { web: 3 }\n", "expected a map of parameter: value");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_threshold_flood_lifecycle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_attack_survives_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deleted_po_drops_live_attack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_factory_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_section, setup_configured, teardown_configured),
		cmocka_unit_test(test_config_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
