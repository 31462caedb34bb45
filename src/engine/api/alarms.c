/*
 * api_alarms: moat-chaff's alarms into the engine.
 *   POST /api/v1/alarms   one alarm report (docs/chaff.md), bearer token
 *
 * Every report is a flight entry (category "decoy", the whole report as its
 * detail, credentials included: operators want to see them). When a PO
 * covers the decoy, the report is also a detection: "scan" when the source
 * touched several decoys or the kind is a scan, "decoy" for a single
 * contact. Both declare (or prolong) one attack of type scan per PO, whose
 * top source is the contacting address — so the PO's drivers block the
 * scanner. Fields the engine does not use are accepted as they are, so
 * moat-chaff can add fields without breaking older engines.
 *
 * Spoofable evidence never mitigates by itself (STYLE rule 28): only a
 * report with "proven": true (a completed TCP handshake, which a forged
 * source address cannot achieve) drives mitigation. Any other report (ARP,
 * ICMP, UDP, single segments; "proven" absent or false) is a detect-only
 * detection: the attack is declared and shown, never mitigated, and its
 * source never becomes a mitigation source (it is not observed).
 */
#include "engine/api/alarms.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "common/lpm.h"
#include "engine/api/server.h"
#include "engine/detect/module.h"

/* How long one alarm keeps its detection alive; each report prolongs it. */
#define ALARM_EXPIRY_NS (60ULL * CLOCK_NS_PER_SEC)

struct alarm {
	const char *kind;
	struct ipaddr src, decoy;
	int64_t n_decoys, count;
	bool scan;
	bool proven;	/* the contact proves the source address */
};

static bool
alarm_is_scan_kind(const char *kind)
{
	static const char *const scans[] = { "syn_scan", "null_scan", "fin_scan", "xmas_scan",
		"ack_scan", "os_probe", "udp_scan", NULL };

	for (size_t i = 0; scans[i] != NULL; i++)
		if (strcmp(scans[i], kind) == 0)
			return true;
	return false;
}

/* Validate what the engine uses; returns the offending field or NULL. */
static const char *
alarm_parse(json_t *doc, struct alarm *al)
{
	json_t *v;

	if (!json_is_object(doc))
		return "";
	if (!json_is_string(v = json_object_get(doc, "type")) ||
	    strcmp(json_string_value(v), "chaff.alarm") != 0)
		return "type";
	if (!json_is_string(v = json_object_get(doc, "kind")) || json_string_length(v) == 0 ||
	    json_string_length(v) > 32)
		return "kind";
	al->kind = json_string_value(v);
	if (!json_is_string(v = json_object_get(doc, "src")) ||
	    ipaddr_parse(json_string_value(v), &al->src) < 0)
		return "src";
	if (!json_is_string(v = json_object_get(doc, "decoy")) ||
	    ipaddr_parse(json_string_value(v), &al->decoy) < 0)
		return "decoy";
	v = json_object_get(doc, "n_decoys");
	if (v != NULL && (!json_is_integer(v) || json_integer_value(v) < 0))
		return "n_decoys";
	al->n_decoys = v != NULL ? json_integer_value(v) : 1;
	v = json_object_get(doc, "count");
	if (v != NULL && (!json_is_integer(v) || json_integer_value(v) < 0))
		return "count";
	al->count = v != NULL ? json_integer_value(v) : 1;
	v = json_object_get(doc, "scan");
	if (v != NULL && !json_is_boolean(v))
		return "scan";
	al->scan = json_is_true(v) || al->n_decoys > 1 || alarm_is_scan_kind(al->kind);
	v = json_object_get(doc, "proven");
	if (v != NULL && !json_is_boolean(v))
		return "proven";
	al->proven = json_is_true(v);
	return NULL;
}

const char *
api_alarms_check(const char *body, size_t len)
{
	static const char *const fields[] = { "", "type", "kind", "src", "decoy", "n_decoys",
		"count", "scan" };
	json_error_t jerr;
	json_t *doc = json_loadb(body, len, 0, &jerr);
	struct alarm al = { 0 };
	const char *bad = alarm_parse(doc, &al);

	json_decref(doc);
	if (bad == NULL)
		return NULL;
	/* alarm_parse names fields with constants; return our own copy. */
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (strcmp(fields[i], bad) == 0)
			return fields[i];
	return "";
}

/* The detection and the observation of the scanning source for PO po_id. */
static void
alarm_detect(struct engine *e, struct detection_ctx *d, const struct alarm *al, uint32_t po_id)
{
	uint64_t now = clock_wall_ns(engine_clock(e));
	char src[IPADDR_STRLEN];
	struct detection det = {
		.kind = DETECT_ATTACK,
		.detector = al->scan ? "scan" : "decoy",
		.type_hint = DETECT_HINT_SCAN,
		.po_id = po_id,
		.proto = PROTO_OTHER,	/* one scan attack per PO, whatever it probes with */
		.dir = DIR_IN,
		.confidence = al->scan ? 95 : 70,
		.detect_only = !al->proven,
		.time_ns = now,
		.expiry_ns = now + ALARM_EXPIRY_NS,
	};
	struct decision_obs obs = {
		.po_id = po_id,
		.proto = PROTO_OTHER,
		.alen = al->src.af == AF_INET ? 4 : 16,
		.packets = al->count > 0 ? (uint64_t)al->count : 1,
	};

	snprintf(det.reason, sizeof(det.reason), "moat-chaff: %s from %s touched %lld decoy(s)%s",
	    al->kind, ipaddr_format(&al->src, src, sizeof(src)), (long long)al->n_decoys,
	    al->proven ? "" : " (source unproven: detect-only)");
	memcpy(obs.src, al->src.a, sizeof(obs.src));
	memcpy(obs.dst, al->decoy.a, sizeof(obs.dst));
	detection_external(d, &det, al->proven ? &obs : NULL);
	(void)detection_save(d);	/* a scan's attack outlives a crash */
}

void
api_alarms_post(struct api_req *r)
{
	struct engine *e = api_req_engine(r);
	struct detection_ctx *d = detection_get(e);
	json_error_t jerr;
	json_t *doc = json_loadb(api_req_body(r), api_req_body_len(r), 0, &jerr);
	const struct po *po = NULL;
	struct alarm al = { 0 };
	const char *bad;
	char src[IPADDR_STRLEN];
	uint32_t po_id;

	if ((bad = alarm_parse(doc, &al)) != NULL) {
		if (*bad == '\0')
			api_reply_error(r, 400, NULL, "expected a JSON object (a moat-chaff alarm)");
		else
			api_reply_error(r, 400, bad, "'%s': missing or not what moat-chaff sends", bad);
		json_decref(doc);
		return;
	}
	po_id = lpm_lookup(engine_lpm(e), &al.decoy);
	if (po_id != LPM_NONE)
		po = poset_at(engine_pos(e), po_id);
	flight_record(engine_flight(e), "decoy", al.scan ? "decoy.scan" : "decoy.contact", doc,
	    "decoy %s: %s from %s%s%s", json_string_value(json_object_get(doc, "decoy")), al.kind,
	    ipaddr_format(&al.src, src, sizeof(src)), po ? ", PO " : " (no PO covers it)",
	    po ? po->name : "");
	if (po != NULL && d != NULL)
		alarm_detect(e, d, &al, po_id);
	api_reply_json(r, 202, json_pack("{s:b,s:s?,s:b,s:b}", "accepted", 1, "po",
	    po ? po->name : NULL, "detection", po != NULL && d != NULL, "detect_only", !al.proven));
	json_decref(doc);
}
