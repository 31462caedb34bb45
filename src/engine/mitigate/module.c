/*
 * mitigation: the MitigationMgr inside moatd (see mitigate/module.h).
 */
#include "engine/mitigate/module.h"

#include <errno.h>
#include <ifaddrs.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/log.h"
#include "collect/conf.h"
#include "engine/cluster/conf.h"
#include "engine/detect/module.h"
#include "engine/priv/proxy.h"
#include "collect/reading.h"

#define MITIGATION_KV "mitigate/state"
/* Attacks declared since the last tick, waiting for their first top lists. */
#define MITIGATION_MAX_PENDING 256u

struct mitigation_ctx {
	struct engine *e;
	struct detection_ctx *d;	/* the engine's wiring; NULL: detection not running */
	mitigation_gate_fn gate;	/* the engine's wiring; NULL: act on every PO */
	void *gate_ctx;
	struct mit_mgr *mgr;
	struct priv_proxy_table *proxies;	/* split moatd: the drivers, forwarded */
	bool dirty;		/* state changed since the last save */
	uint64_t pending[MITIGATION_MAX_PENDING];
	size_t npending;
	uint64_t last_tick_ns;	/* monotonic, for the drop rate */
	uint64_t next_inspect_ns;	/* monotonic: the next reconciliation of every driver */
	struct mitigation_drv_seen {	/* drivers' status() as last reported */
		uint64_t failures, dropped;
		uint64_t next_record_ns;
	} seen[MIT_MAX_DRIVERS];
};

/*
 * Every driver is reconciled this often (and once at start): a rule missing
 * from its system (a failed asynchronous announcement, a speaker restarted
 * empty) is re-installed, a leftover removed, a driver that could not be
 * inspected tried again.
 */
#define MITIGATION_RECONCILE_NS (60ULL * CLOCK_NS_PER_SEC)
/* A driver's failures make at most one flight entry this often (all are counted). */
#define MITIGATION_DRV_RECORD_NS (60ULL * CLOCK_NS_PER_SEC)

/* The drivers moatd ships, in no particular order (a PO names its own). */
static const struct mit_driver_ops *const mitigation_drivers[] = {
	&drv_nft_ops,
	&drv_xdp_ops,
	&drv_bgp_ops,
	&drv_ins_ops,
	&drv_notify_ops,
};

#define MITIGATION_NDRIVERS (sizeof(mitigation_drivers) / sizeof(mitigation_drivers[0]))

const struct mit_driver_ops *const *
mitigation_driver_table(size_t *ret_n)
{
	*ret_n = MITIGATION_NDRIVERS;
	return mitigation_drivers;
}

struct mitigation_ctx *
mitigation_get(struct engine *e)
{
	return engine_slot(e, ENGINE_MOD_MITIGATION);
}

void
mitigation_set_gate(struct mitigation_ctx *m, mitigation_gate_fn fn, void *ctx)
{
	m->gate = fn;
	m->gate_ctx = ctx;
}

void
mitigation_set_detection(struct mitigation_ctx *m, struct detection_ctx *d)
{
	m->d = d;
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
	if ((r = mit_mgr_new(n, mitigation_drivers, MITIGATION_NDRIVERS, &sec->mgr, err)) < 0) {
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
	return mit_mgr_new(NULL, mitigation_drivers, MITIGATION_NDRIVERS, ret, &err);
}

/*
 * Split moatd (--user): the engine holds no capability, so its drivers are
 * proxies to the privileged part's (priv/proxy.h), swapped in before any
 * mitigation is restored.
 */
static int
mitigation_use_proxies(struct mitigation_ctx *m, struct priv_client *c)
{
	const struct mit_driver_ops *const *rows;
	struct cfg_error err = { { 0 } };
	size_t n;
	int r;

	if ((r = priv_proxy_table_new(c, mitigation_drivers, MITIGATION_NDRIVERS, &m->proxies)) < 0)
		return r;
	rows = priv_proxy_rows(m->proxies, &n);
	if ((r = mit_mgr_route(m->mgr, rows, n, &err)) < 0)
		log_warnx("mitigation: drivers through the privileged part: %s",
		    err.msg[0] ? err.msg : strerror(-r));
	return r;
}

static void
mitigation_never_block(struct mitigation_ctx *m, const struct ipaddr *a)
{
	static const uint8_t zero[16];
	struct prefix p;

	if ((a->af != AF_INET && a->af != AF_INET6) || memcmp(a->a, zero, sizeof(zero)) == 0)
		return;		/* unset, or "any" */
	if (prefix_make(a, ipaddr_width(a->af), &p) == 0)
		(void)mit_allow(m->mgr, &p);
}

/*
 * Never blocked, by any driver: moatd's own addresses (the API's and every
 * address of the host or namespace it runs in) and its configured peers
 * (the exporters named under collect.sampling, the collectors' listening
 * addresses). Drivers add their own peers after inspection (GoBGP's
 * neighbours, mit_allow_peers()); the POs' gateways and DNS servers are
 * configured under mitigate.po.NAME.never_block.
 */
static void
mitigation_allow_self(struct mitigation_ctx *m)
{
	const struct settings *s = engine_settings(m->e);
	const struct collect_conf *cc = settings_ext(s, "collect");
	struct ifaddrs *ifs = NULL;

	mitigation_never_block(m, &s->api.addr);
	for (unsigned i = 0; cc != NULL && i < cc->nsampling; i++)
		mitigation_never_block(m, &cc->sampling[i].exporter);
	for (unsigned i = 0; cc != NULL && i < cc->nudp; i++)
		mitigation_never_block(m, &cc->udp[i].addr);
	for (unsigned i = 0; cc != NULL && i < cc->ntcp; i++)
		mitigation_never_block(m, &cc->tcp[i].addr);
	if (getifaddrs(&ifs) < 0) {
		log_warnx("mitigation: listing own addresses: %s", strerror(errno));
		return;
	}
	for (struct ifaddrs *it = ifs; it != NULL; it = it->ifa_next) {
		struct ipaddr a = { 0 };

		if (it->ifa_addr == NULL)
			continue;
		if (it->ifa_addr->sa_family == AF_INET) {
			a.af = AF_INET;
			memcpy(a.a, &((struct sockaddr_in *)(void *)it->ifa_addr)->sin_addr, 4);
		} else if (it->ifa_addr->sa_family == AF_INET6) {
			a.af = AF_INET6;
			memcpy(a.a, &((struct sockaddr_in6 *)(void *)it->ifa_addr)->sin6_addr, 16);
		} else {
			continue;
		}
		mitigation_never_block(m, &a);
	}
	freeifaddrs(ifs);
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
	    "mitigation %" PRIu64 " of attack %" PRIu64 " (%s): %s%s%s%s%s%s%s%s", e->id,
	    e->rule.req.attack_id, e->rule.req.po, mit_status_name(e->status),
	    e->driver[0] ? " by " : "", e->driver, e->dry_run ? " (dry run)" : "",
	    e->reason[0] ? ": " : "", e->reason, e->narrowed[0] ? "; left out: " : "", e->narrowed);
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

/* An item's weight we are sure of: its count less what it may have inherited. */
static uint64_t
mitigation_item_weight(const struct sketch_item *it)
{
	return it->count > it->err ? it->count - it->err : 0;
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

	/* The weights let the manager keep only hosts with a real share of
	 * the attack (min_target_share): a busy host that is not attacked
	 * shows in the top list too. */
	if (ntop > 0)
		q->targets_total = a->top_total[DECISION_TOP_TARGETS];
	for (unsigned i = 0; i < ntop && q->n_targets < MIT_MAX_TARGETS; i++) {
		struct ipaddr addr;

		if (!mitigation_item_addr(&top[i], &addr) || (q->af != 0 && addr.af != q->af))
			continue;
		q->af = addr.af;
		q->target_weight[q->n_targets] = mitigation_item_weight(&top[i]);
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

	q->sources_total = a->top_total[DECISION_TOP_SOURCES];
	for (unsigned i = 0; i < a->ntop[DECISION_TOP_SOURCES] && q->n_sources < MIT_MAX_SOURCES; i++) {
		struct ipaddr addr;

		if (!mitigation_item_addr(&top[i], &addr) || addr.af != q->af)
			continue;
		q->source_weight[q->n_sources] = mitigation_item_weight(&top[i]);
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

	/* Fencing (cluster role engine): no rule for a PO whose shard this
	 * instance may no longer own. */
	if (m->gate != NULL && !m->gate(m->gate_ctx, a->po)) {
		log_warnx("mitigation: attack %" PRIu64 " (PO %s) not mitigated here: "
		    "this instance does not hold the PO's lease", a->id, a->po);
		return;
	}
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
void
mitigation_on_attack(void *arg, const struct decision_attack *a, enum decision_state old)
{
	struct mitigation_ctx *m = arg;

	/* From ENDING too: a probe may have ended the mitigation of an attack
	 * that then comes back (mit_start only refines a live one). */
	if (a->state == DECISION_DECLARED && old != DECISION_DECLARED && !a->detect_only) {
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
	struct detection_ctx *d = m->d;
	int r;

	if (d == NULL || m->npending == 0)
		return;
	for (size_t i = 0; i < m->npending; i++) {
		const struct decision_attack *a = decision_get(detection_decision(d), m->pending[i]);
		if (a != NULL && !a->detect_only &&
		    (a->state == DECISION_DECLARED || a->state == DECISION_ENDING))
			mitigation_start(m, a);
	}
	m->npending = 0;
	/* Rules now exist for these attacks: make sure the attacks outlive a
	 * crash too, so a restart ends the rules when the attacks end. */
	if ((r = detection_save(d)) < 0)
		log_warnx("mitigation: saving the attacks: %s", strerror(-r));
}

/*
 * Refine live mitigations as their attacks' top lists fill: the request
 * built at declaration has few or no sources yet (scope: sources then falls
 * back to the protocol), and targets' shares settle. The manager installs a
 * changed rule before it withdraws the old one. Checked every tick; a rule
 * only changes when what it would block changes.
 */
static void
mitigation_refine(struct mitigation_ctx *m)
{
	struct detection_ctx *d = detection_get(m->e);
	uint64_t now = clock_wall_s(engine_clock(m->e));
	const struct mit_entry *it;

	if (d == NULL)
		return;
	for (size_t i = 0; (it = mit_at(m->mgr, i)) != NULL; i++) {
		const struct decision_attack *a;
		struct mit_request q;
		int r;

		/* A refined rule is a new rule: fenced like a first one. */
		if (it->status != MIT_MITIGATING ||
		    (m->gate != NULL && !m->gate(m->gate_ctx, it->rule.req.po)))
			continue;
		a = decision_get(detection_decision(d), it->rule.req.attack_id);
		if (a == NULL || (a->state != DECISION_DECLARED && a->state != DECISION_ENDING) ||
		    strcmp(a->po, it->rule.req.po) != 0)
			continue;
		mitigation_request(m, a, &q);
		if ((r = mit_refine(m->mgr, &q, now)) < 0 && r != -ENOENT)
			log_warnx("mitigation: refining the rule of attack %" PRIu64 ": %s", a->id,
			    strerror(-r));
	}
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
	struct detection_ctx *d = m->d;
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

/*
 * Record what reconciliation found: every leftover removed is a flight
 * entry (what a killed run left must never go unseen), and a driver that
 * could not be inspected is a health issue until an inspection succeeds.
 */
static void
mitigation_reconcile(struct mitigation_ctx *m, bool only_failed, double significance)
{
	struct mit_reconcile_report rep;
	uint64_t now = clock_wall_s(engine_clock(m->e));
	int repairs = only_failed ? mit_reinspect(m->mgr, now, &rep) : mit_reconcile(m->mgr, now, &rep);

	for (size_t i = 0; i < rep.n; i++) {
		const struct mit_inspection *in = &rep.d[i];
		json_t *ids, *detail;

		if (in->error < 0) {
			health_report(engine_health(m->e), "mitigation", significance,
			    "cannot inspect driver %s for leftover rules: %s", in->driver,
			    strerror(-in->error));
			detail = json_pack("{s:s,s:s}", "driver", in->driver, "error",
			    strerror(-in->error));
			flight_record(engine_flight(m->e), "mitigation", "mitigation.inspect-failed",
			    detail, "cannot inspect %s for leftover rules: %s (retried every minute)",
			    in->driver, strerror(-in->error));
			json_decref(detail);
			continue;
		}
		if (in->removed == 0 && in->reinstalled == 0)
			continue;
		ids = json_array();
		for (uint32_t k = 0; k < in->removed && k < 16; k++)
			json_array_append_new(ids, json_integer((json_int_t)in->removed_ids[k]));
		detail = json_pack("{s:s,s:i,s:i,s:o}", "driver", in->driver, "removed",
		    (int)in->removed, "reinstalled", (int)in->reinstalled, "removed_ids", ids);
		flight_record(engine_flight(m->e), "mitigation", "mitigation.reconcile", detail,
		    "%s: %u leftover rule(s) removed, %u missing rule(s) re-installed", in->driver,
		    in->removed, in->reinstalled);
		json_decref(detail);
	}
	if (repairs > 0)
		log_info("mitigation: reconciliation repaired %d rule(s)", repairs);
	/* The drivers are open and their daemons answered (or will be asked
	 * again with the next inspection): their peers are never blocked. */
	(void)mit_allow_peers(m->mgr);
	m->dirty = true;
}

/* ---- the module ---- */

static void
mitigation_free(struct mitigation_ctx *m)
{
	if (m == NULL)
		return;
	mit_mgr_free(m->mgr);	/* closes the proxies' drivers first */
	priv_proxy_table_free(m->proxies);
	free(m);
}

int
mitigation_init(struct engine *e, void **ret_state)
{
	struct mitigation_ctx *m;
	int r;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return -ENOMEM;
	m->e = e;
	if ((r = mitigation_new_mgr(e, &m->mgr)) < 0) {
		free(m);
		return r;
	}
	if (engine_priv(e) != NULL && (r = mitigation_use_proxies(m, engine_priv(e))) < 0) {
		mitigation_free(m);
		return r;
	}
	mitigation_allow_self(m);
	mit_id_base(m->mgr, cluster_id_base(engine_settings(e)));
	mitigation_load(m);
	mit_set_event_hook(m->mgr, mitigation_event, m);
	*ret_state = m;
	return 0;
}

/* After the wiring: the attacks detection restored decide what is orphaned. */
int
mitigation_startup(void *state)
{
	struct mitigation_ctx *m = state;

	mitigation_end_orphans(m);	/* before reconciling: their rules are then stale */
	mitigation_reconcile(m, false, 0.3);
	if (m->dirty)
		mitigation_save(m);
	return 0;
}

void
mitigation_fini(void *state)
{
	struct mitigation_ctx *m = state;

	/* Rules stay installed across a restart; the next start reconciles. In
	 * the engine role the same holds for the shards' next owner: this runs
	 * before cluster_fini lets the leases go, so it adopts these
	 * mitigations from the saved state and withdraws them when their
	 * attacks end; a clean stop never withdraws them here. */
	mitigation_save(m);
	mitigation_free(m);
}

/*
 * The verdict of a probe (mit_probe_begin lifted the rule in mit_tick): the
 * attack still attacks when a detector other than the rule's own drop
 * counters ("mitigation", which went quiet with the rule) detected it a
 * second or more after the rule came out; then the rule goes back at once,
 * so a flood that is still on passes for the few readings its detection
 * takes. With no such detection for the probe window (long enough for
 * the detectors to see a flood again: rate.persist readings), the traffic
 * is back within its expected range: the mitigation ends and the attack ends
 * after its quiet period, unless it comes back (then it is mitigated again:
 * mitigation_on_attack).
 */
#define MITIGATION_PROBE_SETTLE_NS CLOCK_NS_PER_SEC

static bool
mitigation_attacks_again(const struct decision_attack *a, uint64_t since_ns)
{
	for (unsigned i = 0; i < a->ndet; i++)
		if (a->det[i].name != NULL && strcmp(a->det[i].name, "mitigation") != 0 &&
		    a->det[i].last_ns >= since_ns)
			return true;
	return false;
}

static void
mitigation_probe(struct mitigation_ctx *m)
{
	struct detection_ctx *d = m->d;
	uint64_t now = clock_wall_s(engine_clock(m->e)), window = mit_probe_window(m->mgr);
	const struct mit_entry *it;

	for (size_t i = 0; (it = mit_at(m->mgr, i)) != NULL; i++) {
		const struct decision_attack *a;
		uint64_t id = it->id, since = it->probe_s * CLOCK_NS_PER_SEC + MITIGATION_PROBE_SETTLE_NS;
		bool over = now >= it->probe_s + window;

		if (it->status != MIT_PROBING)
			continue;
		if (d == NULL) {	/* nothing measures: the rule goes back after the window */
			if (over)
				(void)mit_probe_end(m->mgr, id, true, now);
			continue;
		}
		a = decision_get(detection_decision(d), it->rule.req.attack_id);
		if (a != NULL && (a->state == DECISION_DECLARED || a->state == DECISION_ENDING) &&
		    mitigation_attacks_again(a, since))
			(void)mit_probe_end(m->mgr, id, true, now);
		else if (over || a == NULL || a->state == DECISION_ENDED)
			(void)mit_probe_end(m->mgr, id, false, now);
	}
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
	struct detection_ctx *d = m->d;
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

/*
 * Asynchronous drivers report what failed after apply() returned (status()):
 * growing counts are a health issue and a flight entry (at most one per
 * driver per MITIGATION_DRV_RECORD_NS, with the counts since the last one).
 * The periodic reconciliation repairs what the failures left.
 */
static void
mitigation_poll_drivers(struct mitigation_ctx *m, uint64_t now_ns)
{
	struct mit_driver_status st;
	const char *name;
	int r;

	for (size_t i = 0; i < MIT_MAX_DRIVERS &&
	    (r = mit_driver_status_at(m->mgr, i, &name, &st)) != 0; i++) {
		struct mitigation_drv_seen *seen = &m->seen[i];
		json_t *detail;
		uint64_t nf, nd;

		if (r < 0)
			continue;
		if (st.failures < seen->failures || st.dropped < seen->dropped)
			*seen = (struct mitigation_drv_seen){ 0 };	/* reopened */
		nf = st.failures - seen->failures;
		nd = st.dropped - seen->dropped;
		if ((nf == 0 && nd == 0) || now_ns < seen->next_record_ns)
			continue;
		health_report(engine_health(m->e), "mitigation", 0.2,
		    "driver %s: %" PRIu64 " operation(s) failed, %" PRIu64 " dropped: %s", name, nf,
		    nd, st.last_error);
		detail = json_pack("{s:s,s:I,s:I,s:I,s:I,s:s}", "driver", name,
		    "failed", (json_int_t)nf, "dropped", (json_int_t)nd,
		    "failures_total", (json_int_t)st.failures, "queued", (json_int_t)st.queued,
		    "last_error", st.last_error);
		flight_record(engine_flight(m->e), "mitigation", "mitigation.driver-failed", detail,
		    "driver %s: %" PRIu64 " operation(s) failed, %" PRIu64 " dropped (last: %s)",
		    name, nf, nd, st.last_error[0] ? st.last_error : "-");
		json_decref(detail);
		seen->failures = st.failures;
		seen->dropped = st.dropped;
		seen->next_record_ns = now_ns + MITIGATION_DRV_RECORD_NS;
	}
}

void
mitigation_tick(void *state, uint64_t now_ns)
{
	struct mitigation_ctx *m = state;

	mitigation_start_pending(m);
	mitigation_refine(m);
	if (now_ns >= m->next_inspect_ns) {
		if (m->next_inspect_ns != 0)
			mitigation_reconcile(m, false, 0.05);
		m->next_inspect_ns = now_ns + MITIGATION_RECONCILE_NS;
	}
	mitigation_poll_drivers(m, now_ns);
	/* The engine ticks on the monotonic clock; mitigations keep wall time. */
	mit_tick(m->mgr, clock_wall_s(engine_clock(m->e)));
	mitigation_probe(m);
	mitigation_traffic_floor(m, m->last_tick_ns ? now_ns - m->last_tick_ns : 0);
	m->last_tick_ns = now_ns;
	if (m->dirty)
		mitigation_save(m);
}

void
mitigation_reset(void *state, bool factory)
{
	struct mitigation_ctx *m = state;
	uint64_t now = clock_wall_s(engine_clock(m->e));
	const struct mit_entry *it;

	if (!factory)
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
	struct detection_ctx *d = m->d;
	const struct decision_attack *a = d != NULL ? decision_get(detection_decision(d), attack_id) : NULL;
	struct mit_request q;
	int r;

	if (a == NULL)
		return -ENOENT;
	if (mit_mgr_driver(m->mgr, driver) == NULL)
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

int
mitigation_adopt(struct mitigation_ctx *m, const char *text, mitigation_gate_fn keep, void *ctx,
    char **ret_rest)
{
	json_t *doc = json_loads(text, 0, NULL), *mine = json_array(), *rest = json_array(), *j;
	json_t *adopted = NULL;
	char *mtext = NULL;
	size_t i;
	int r = -ENOMEM, n = 0;

	*ret_rest = NULL;
	if (doc == NULL || !json_is_array(json_object_get(doc, "mitigations"))) {
		r = -EINVAL;
		goto out;
	}
	if (mine == NULL || rest == NULL)
		goto out;
	json_array_foreach(json_object_get(doc, "mitigations"), i, j) {
		const char *po = json_string_value(json_object_get(json_object_get(j, "request"), "po"));
		uint64_t id = (uint64_t)json_integer_value(json_object_get(j, "id"));

		if (po == NULL || !keep(ctx, po)) {
			json_array_append(rest, j);
		} else if (mit_get(m->mgr, id) == NULL) {
			json_array_append(mine, j);
			n++;
		}	/* else adopted before: ours already, only out of the rest */
	}
	/* next_id 0: the adopted ids are another instance's; ours stay ours. */
	if ((adopted = json_pack("{s:i, s:i, s:O}", "version", 1, "next_id", 0, "mitigations",
	    mine)) == NULL || (mtext = json_dumps(adopted, JSON_COMPACT)) == NULL)
		goto out;
	if (n > 0 && (r = mit_load(m->mgr, mtext)) < 0)
		goto out;
	json_object_set(doc, "mitigations", rest);
	if ((*ret_rest = json_dumps(doc, JSON_COMPACT)) == NULL)
		goto out;
	if (n > 0) {
		log_info("mitigation: adopted %d mitigation(s) from another instance", n);
		mitigation_save(m);
	}
	r = n;
out:
	free(mtext);
	json_decref(adopted);
	json_decref(mine);
	json_decref(rest);
	json_decref(doc);
	return r;
}

/* A mitigation mit_save() keeps (its rule may be in place). */
static bool
mitigation_entry_live(const struct mit_entry *e)
{
	return e->status == MIT_PENDING || e->status == MIT_MITIGATING ||
	    e->status == MIT_NO_RESOURCES || e->status == MIT_PROBING;
}

int
mitigation_hand_off(struct mitigation_ctx *m, mitigation_gate_fn keep, void *ctx,
    char **ret_text)
{
	json_t *mine = json_array(), *doc = NULL;
	int n = 0;

	*ret_text = NULL;
	if (mine == NULL)
		return -ENOMEM;
	for (size_t i = 0; mit_at(m->mgr, i) != NULL; i++) {
		const struct mit_entry *e = mit_at(m->mgr, i);

		if (!mitigation_entry_live(e) || !keep(ctx, e->rule.req.po))
			continue;
		json_array_append_new(mine, mit_entry_to_json(e));
		n++;
	}
	/* next_id 0: the ids are this instance's, not the taker's to hand out. */
	if ((doc = json_pack("{s:i, s:i, s:o}", "version", 1, "next_id", 0, "mitigations",
	    mine)) == NULL || (*ret_text = json_dumps(doc, JSON_COMPACT)) == NULL) {
		json_decref(doc);
		return -ENOMEM;
	}
	json_decref(doc);
	return n;
}

int
mitigation_forget(struct mitigation_ctx *m, mitigation_gate_fn keep, void *ctx)
{
	int n = 0;

	for (size_t i = 0; mit_at(m->mgr, i) != NULL;) {
		const struct mit_entry *e = mit_at(m->mgr, i);

		if (!mitigation_entry_live(e) || !keep(ctx, e->rule.req.po)) {
			i++;
			continue;
		}
		(void)mit_forget(m->mgr, e->id);
		n++;
	}
	if (n > 0)
		mitigation_save(m);
	return n;
}
