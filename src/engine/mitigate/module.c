/*
 * mitigation: the MitigationMgr inside moatd (see mitigate/module.h).
 */
#include "engine/mitigate/module.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/log.h"
#include "engine/detect/module.h"
#include "collect/reading.h"

#define MITIGATION_KV "mitigate/state"
/* Attacks declared since the last tick, waiting for their first top lists. */
#define MITIGATION_MAX_PENDING 256u

struct mitigation_ctx {
	struct engine *e;
	struct mit_mgr *mgr;
	bool dirty;		/* state changed since the last save */
	uint64_t pending[MITIGATION_MAX_PENDING];
	size_t npending;
	uint64_t last_tick_ns;	/* monotonic, for the drop rate */
};

/* One moatd per process: the module's instance, reset at fini. */
static struct mitigation_ctx *mitigation_instance;

struct mitigation_ctx *
mitigation_get(struct engine *e)
{
	return mitigation_instance != NULL && mitigation_instance->e == e ? mitigation_instance : NULL;
}

/* ---- configuration ---- */

/* The parsed `mitigate:` section: a manager not yet running. */
struct mitigation_section {
	struct mit_mgr *mgr;
};

int
mitigation_settings_parse(struct settings *c, const struct cfg_node *n, void **ret_ext,
    struct cfg_error *err)
{
	struct mitigation_section *sec = calloc(1, sizeof(*sec));
	int r;

	if (sec == NULL)
		return -ENOMEM;
	if ((r = mit_mgr_new(n, &sec->mgr, err)) < 0) {
		free(sec);
		return r;
	}
	*ret_ext = sec;
	return 0;
}

void
mitigation_settings_free(void *ext)
{
	struct mitigation_section *sec = ext;

	if (sec == NULL)
		return;
	mit_mgr_free(sec->mgr);
	free(sec);
}

/*
 * Adopt the manager the settings built. A reload builds a new one that is
 * only validated: driver settings take effect at the next start, since live
 * mitigations belong to the drivers that installed them.
 */
static int
mitigation_new_mgr(struct engine *e, struct mit_mgr **ret)
{
	const struct mitigation_section *sec = settings_ext(engine_settings(e), "mitigate");
	struct cfg_error err = { { 0 } };

	if (sec != NULL)
		return mit_mgr_take(sec->mgr, ret);
	return mit_mgr_new(NULL, ret, &err);
}

/* moatd's own API address is never blocked (unless it listens on any). */
static void
mitigation_allow_self(struct mitigation_ctx *m)
{
	const struct settings *s = engine_settings(m->e);
	struct prefix p = { .addr = s->api.addr };
	static const uint8_t zero[16];

	p.len = p.addr.af == AF_INET ? 32 : 128;
	if (p.addr.af != 0 && memcmp(p.addr.a, zero, sizeof(zero)) != 0)
		(void)mit_allow(m->mgr, &p);
}

/* ---- persistence and the flight record ---- */

static void
mitigation_save(struct mitigation_ctx *m)
{
	char *text = mit_save(m->mgr);
	int r;

	if (text == NULL) {
		log_warnx("mitigation: out of memory saving state");
		return;
	}
	if ((r = store_kv_put(engine_store(m->e), MITIGATION_KV, text, strlen(text))) < 0)
		log_warnx("mitigation: saving state: %s", strerror(-r));
	else
		m->dirty = false;
	free(text);
}

static void
mitigation_event(void *ctx, const struct mit_entry *e, const char *event)
{
	struct mitigation_ctx *m = ctx;
	char name[40];
	json_t *detail = mit_entry_to_json(e);

	snprintf(name, sizeof(name), "mitigation.%s", event);
	flight_record(engine_flight(m->e), "mitigation", name, detail,
	    "mitigation %" PRIu64 " of attack %" PRIu64 " (%s): %s%s%s%s", e->id,
	    e->rule.req.attack_id, e->rule.req.po, mit_status_name(e->status),
	    e->driver[0] ? " by " : "", e->driver, e->dry_run ? " (dry run)" : "");
	json_decref(detail);
	m->dirty = true;
}

static void
mitigation_load(struct mitigation_ctx *m)
{
	void *blob = NULL;
	size_t len = 0;
	char *text;
	int r;

	if ((r = store_kv_get(engine_store(m->e), MITIGATION_KV, &blob, &len)) < 0) {
		if (r != -ENOENT)
			log_warnx("mitigation: reading saved state: %s", strerror(-r));
		return;
	}
	if ((text = malloc(len + 1)) != NULL) {
		memcpy(text, blob, len);
		text[len] = '\0';
		if ((r = mit_load(m->mgr, text)) < 0)
			log_warnx("mitigation: saved state unusable (%s); starting empty", strerror(-r));
		free(text);
	}
	free(blob);
}

/* ---- attacks to requests ---- */

static uint8_t
mitigation_ip_proto(uint8_t proto_class, uint8_t af)
{
	switch (proto_class) {
	case PROTO_TCP: return 6;
	case PROTO_UDP: return 17;
	case PROTO_ICMP: return af == AF_INET ? 1 : 58;
	default: return 0;
	}
}

static bool
mitigation_item_addr(const struct sketch_item *it, struct ipaddr *ret)
{
	if (it->key_len != 4 && it->key_len != 16)
		return false;
	memset(ret, 0, sizeof(*ret));
	ret->af = it->key_len == 4 ? AF_INET : AF_INET6;
	memcpy(ret->a, it->key, it->key_len);
	return true;
}

/*
 * Targets: the attack's top destination hosts, else the PO's prefixes. A
 * scan's targets are the whole PO: the decoys it touched are only where the
 * scanner happened to look.
 */
static void
mitigation_targets(const struct decision_attack *a, const struct po *po, struct mit_request *q)
{
	const struct sketch_item *top = a->top[DECISION_TOP_TARGETS];
	unsigned ntop = a->type == DECISION_TYPE_SCAN ? 0 : a->ntop[DECISION_TOP_TARGETS];

	for (unsigned i = 0; i < ntop && q->n_targets < MIT_MAX_TARGETS; i++) {
		struct ipaddr addr;

		if (!mitigation_item_addr(&top[i], &addr) || (q->af != 0 && addr.af != q->af))
			continue;
		q->af = addr.af;
		q->targets[q->n_targets].addr = addr;
		q->targets[q->n_targets++].len = addr.af == AF_INET ? 32 : 128;
	}
	for (size_t i = 0; q->n_targets == 0 && po != NULL && i < po->nprefixes; i++) {
		for (size_t j = i; j < po->nprefixes && q->n_targets < MIT_MAX_TARGETS; j++) {
			if (po->prefixes[j].addr.af != po->prefixes[i].addr.af)
				continue;
			q->af = po->prefixes[i].addr.af;
			q->targets[q->n_targets++] = po->prefixes[j];
		}
	}
}

static void
mitigation_sources(const struct decision_attack *a, struct mit_request *q)
{
	const struct sketch_item *top = a->top[DECISION_TOP_SOURCES];

	for (unsigned i = 0; i < a->ntop[DECISION_TOP_SOURCES] && q->n_sources < MIT_MAX_SOURCES; i++) {
		struct ipaddr addr;

		if (mitigation_item_addr(&top[i], &addr) && addr.af == q->af)
			q->sources[q->n_sources++] = addr;
	}
}

/* Build the request for attack a; returns the PO (NULL if it is gone). */
static const struct po *
mitigation_request(struct mitigation_ctx *m, const struct decision_attack *a, struct mit_request *q)
{
	const struct po *po = poset_find(engine_pos(m->e), a->po, NULL);

	memset(q, 0, sizeof(*q));
	q->attack_id = a->id;
	snprintf(q->po, sizeof(q->po), "%s", a->po);
	snprintf(q->attack_type, sizeof(q->attack_type), "%s", decision_type_name(a->type));
	mitigation_targets(a, po, q);
	mitigation_sources(a, q);
	q->proto = mitigation_ip_proto(a->proto, q->af);
	q->dport = a->port;
	q->sport = a->type == DECISION_TYPE_AMPLIFICATION ? a->amp_port : 0;
	q->peak_pps = a->peak_pps;
	q->peak_bps = a->peak_bps;
	q->sources_only = a->type == DECISION_TYPE_SCAN;
	return po;
}

static void
mitigation_start(struct mitigation_ctx *m, const struct decision_attack *a)
{
	const char *drivers[PO_DRV__COUNT];
	struct mit_request q;
	const struct po *po = mitigation_request(m, a, &q);
	size_t n = 0;
	uint64_t id;
	int r;

	for (size_t i = 0; po != NULL && i < po->ndrivers; i++)
		drivers[n++] = po_driver_name((enum po_driver)po->drivers[i]);
	r = mit_start(m->mgr, &q, drivers, n, clock_wall_s(engine_clock(m->e)), &id);
	if (r < 0 && r != -EEXIST)
		log_warnx("mitigation: attack %" PRIu64 ": %s", a->id, strerror(-r));
}

/*
 * A newly declared attack is mitigated at the next tick, not at once: its
 * type and its top targets and sources are filled from the readings of that
 * tick, and they decide what the rule matches (a victim's /32 rather than
 * the whole PO). The cost is at most one reading interval.
 */
static void
mitigation_on_attack(void *arg, const struct decision_attack *a, enum decision_state old)
{
	struct mitigation_ctx *m = arg;

	if (a->state == DECISION_DECLARED && old != DECISION_DECLARED && old != DECISION_ENDING) {
		if (m->npending < MITIGATION_MAX_PENDING)
			m->pending[m->npending++] = a->id;
		else
			mitigation_start(m, a);	/* a burst of attacks: no time to wait */
	} else if (a->state == DECISION_ENDED) {
		(void)mit_stop_attack(m->mgr, a->id, clock_wall_s(engine_clock(m->e)));
	}
	if (m->dirty)
		mitigation_save(m);
}

static void
mitigation_start_pending(struct mitigation_ctx *m)
{
	struct detection_ctx *d = detection_get(m->e);
	int r;

	if (d == NULL || m->npending == 0)
		return;
	for (size_t i = 0; i < m->npending; i++) {
		const struct decision_attack *a = decision_get(detection_decision(d), m->pending[i]);
		if (a != NULL && (a->state == DECISION_DECLARED || a->state == DECISION_ENDING))
			mitigation_start(m, a);
	}
	m->npending = 0;
	/* Rules now exist for these attacks: make sure the attacks outlive a
	 * crash too, so a restart ends the rules when the attacks end. */
	if ((r = detection_save(d)) < 0)
		log_warnx("mitigation: saving the attacks: %s", strerror(-r));
}

/*
 * After a restart: a live mitigation whose attack the detection module no
 * longer has (its state was older than the crash) or has seen end would
 * otherwise hold its rule until max_duration. End it; if the attack is
 * still on, detection declares it again and it is mitigated again.
 */
static void
mitigation_end_orphans(struct mitigation_ctx *m)
{
	struct detection_ctx *d = detection_get(m->e);
	uint64_t now = clock_wall_s(engine_clock(m->e));
	const struct mit_entry *it;

	if (d == NULL)
		return;
	for (size_t i = 0; (it = mit_at(m->mgr, i)) != NULL; i++) {
		const struct decision_attack *a = decision_get(detection_decision(d),
		    it->rule.req.attack_id);
		if (it->status == MIT_ENDED || it->status == MIT_NOT_MITIGATED)
			continue;
		if (a == NULL || a->state == DECISION_ENDED || strcmp(a->po, it->rule.req.po) != 0)
			(void)mit_stop(m->mgr, it->id, now, "its attack is gone after a restart");
	}
}

/* ---- the module ---- */

static void
mitigation_free(struct mitigation_ctx *m)
{
	if (m == NULL)
		return;
	mit_mgr_free(m->mgr);
	free(m);
}

int
mitigation_init(struct engine *e)
{
	struct detection_ctx *d = detection_get(e);
	struct mitigation_ctx *m;
	int r;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return -ENOMEM;
	m->e = e;
	if ((r = mitigation_new_mgr(e, &m->mgr)) < 0) {
		free(m);
		return r;
	}
	mitigation_allow_self(m);
	mitigation_load(m);
	mit_set_event_hook(m->mgr, mitigation_event, m);
	mitigation_end_orphans(m);	/* before reconciling: their rules are then stale */
	r = mit_reconcile(m->mgr, clock_wall_s(engine_clock(e)));
	if (r < 0)
		log_warnx("mitigation: reconciling with the drivers' state: %s", strerror(-r));
	else if (r > 0)
		flight_record(engine_flight(e), "mitigation", "mitigation.reconcile", NULL,
		    "restart: %d rule(s) repaired (missing re-installed, stale removed)", r);
	if (d == NULL)
		log_warnx("mitigation: detection is not running; only manual mitigation works");
	else if ((r = detection_listen(d, mitigation_on_attack, m)) < 0) {
		mitigation_free(m);
		return r;
	}
	mitigation_instance = m;
	if (m->dirty)
		mitigation_save(m);
	return 0;
}

void
mitigation_fini(struct engine *e)
{
	struct mitigation_ctx *m = mitigation_get(e);

	if (m == NULL)
		return;
	/* Rules stay installed across a restart; the next start reconciles. */
	mitigation_save(m);
	mitigation_instance = NULL;
	mitigation_free(m);
}

/*
 * The attack traffic floor: a mitigated attack's traffic may no longer
 * reach the capture (XDP drops before the packet taps; upstream BGP drops
 * before the router), so the rules' own drop counters stand for it. A rule
 * dropping more than the traffic's baseline by the attack's margin
 * (decision_drops_sustain) is a "mitigation" detection; the target's own
 * legitimate traffic caught by the rule is about its baseline, so it never
 * holds an attack open: when the flood stops the detections expire and the
 * attack ends as usual (docs/detection.md).
 */
#define MITIGATION_FLOOR_MIN_PPS 10.0
#define MITIGATION_FLOOR_EXPIRY_NS (5ULL * CLOCK_NS_PER_SEC)

static void
mitigation_traffic_floor(struct mitigation_ctx *m, uint64_t interval_ns)
{
	struct detection_ctx *d = detection_get(m->e);
	uint64_t now = clock_wall_ns(engine_clock(m->e));
	const struct mit_entry *it;

	for (size_t i = 0; (it = mit_at(m->mgr, i)) != NULL; i++) {
		uint64_t dropped = mit_take_dropped(m->mgr, i);
		const struct decision_attack *a;
		double pps;

		if (d == NULL || it->status != MIT_MITIGATING || dropped == 0 || interval_ns == 0)
			continue;
		a = decision_get(detection_decision(d), it->rule.req.attack_id);
		pps = (double)dropped * 1e9 / (double)interval_ns;
		if (a == NULL || (a->state != DECISION_DECLARED && a->state != DECISION_ENDING) ||
		    pps < MITIGATION_FLOOR_MIN_PPS ||
		    !decision_drops_sustain(detection_decision(d), a, pps))
			continue;
		struct detection det = {
			.kind = DETECT_ATTACK, .detector = "mitigation", .po_id = a->po_id,
			.proto = a->proto, .dir = a->dir, .port = a->port, .confidence = 80,
			.time_ns = now, .expiry_ns = now + MITIGATION_FLOOR_EXPIRY_NS, .pps = pps,
		};
		snprintf(det.reason, sizeof(det.reason), "%s still drops %.0f pps", it->driver, pps);
		detection_external(d, &det, NULL);
	}
}

void
mitigation_tick(struct engine *e, uint64_t now_ns)
{
	struct mitigation_ctx *m = mitigation_get(e);

	if (m == NULL)
		return;
	mitigation_start_pending(m);
	/* The engine ticks on the monotonic clock; mitigations keep wall time. */
	mit_tick(m->mgr, clock_wall_s(engine_clock(e)));
	mitigation_traffic_floor(m, m->last_tick_ns ? now_ns - m->last_tick_ns : 0);
	m->last_tick_ns = now_ns;
	if (m->dirty)
		mitigation_save(m);
}

void
mitigation_reset(struct engine *e, bool factory)
{
	struct mitigation_ctx *m = mitigation_get(e);
	uint64_t now = clock_wall_s(engine_clock(e));
	const struct mit_entry *it;

	if (m == NULL || !factory)
		return;
	for (size_t i = 0; (it = mit_at(m->mgr, i)) != NULL; i++)
		(void)mit_stop(m->mgr, it->id, now, "factory reset");
	mitigation_save(m);
}

/* ---- REST helpers ---- */

json_t *
mitigation_list_json(struct mitigation_ctx *m)
{
	json_t *list = json_array();
	const struct mit_entry *it;

	if (list == NULL)
		return NULL;
	for (size_t i = 0; (it = mit_at(m->mgr, i)) != NULL; i++)
		json_array_insert_new(list, 0, mit_entry_to_json(it));
	return list;
}

json_t *
mitigation_one_json(struct mitigation_ctx *m, uint64_t id)
{
	const struct mit_entry *it = mit_get(m->mgr, id);

	return it != NULL ? mit_entry_to_json(it) : NULL;
}

int
mitigation_manual(struct mitigation_ctx *m, uint64_t attack_id, const char *driver,
    uint64_t *ret_id)
{
	struct detection_ctx *d = detection_get(m->e);
	const struct decision_attack *a = d != NULL ? decision_get(detection_decision(d), attack_id) : NULL;
	struct mit_request q;
	int r;

	if (a == NULL)
		return -ENOENT;
	if (mit_driver_find(driver) == NULL)
		return -ESRCH;
	mitigation_request(m, a, &q);
	r = mit_start_with(m->mgr, &q, driver, clock_wall_s(engine_clock(m->e)), ret_id);
	if (m->dirty)
		mitigation_save(m);
	return r;
}

int
mitigation_stop(struct mitigation_ctx *m, uint64_t id)
{
	int r = mit_stop(m->mgr, id, clock_wall_s(engine_clock(m->e)), "ended by the operator");

	if (m->dirty)
		mitigation_save(m);
	return r;
}
