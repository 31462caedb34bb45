#include "engine/api/traffic.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/limits.h"
#include "engine/api/metrics.h"
#include "engine/api/server.h"
#include "engine/collect/module.h"
#include "engine/conntab/conntab.h"
#include "engine/core/engine.h"

#define TOP_HOSTS 10u

static const char *const proto_names[PROTO__COUNT] = { "tcp", "udp", "icmp", "other" };
static const char *const dir_names[DIR__COUNT] = { "in", "out" };
static const char *const field_names[CNT__COUNT] = { "bytes", "packets", "flows", "syns", "frags" };
static const char *const rate_names[CNT__COUNT] = { "bps", "pps", "fps", "syn_pps", "frag_pps" };
static const char *const window_names[CNT_W__COUNT] = { "1s", "10s", "60s" };

static json_t *
counts_json(const uint64_t v[CNT__COUNT])
{
	json_t *o = json_object();

	for (unsigned k = 0; o && k < CNT__COUNT; k++)
		json_object_set_new(o, field_names[k], json_integer((json_int_t)v[k]));
	return o;
}

/* Rates per second; bytes become bits (bps). */
static json_t *
rates_json(const double rate[CNT__COUNT])
{
	json_t *o = json_object();

	for (unsigned k = 0; o && k < CNT__COUNT; k++)
		json_object_set_new(o, rate_names[k], json_real(k == CNT_BYTES ? rate[k] * 8 : rate[k]));
	return o;
}

static json_t *
stat_json(const struct counters_stat *st)
{
	json_t *rates = json_object();

	for (unsigned w = 0; rates && w < CNT_W__COUNT; w++)
		json_object_set_new(rates, window_names[w], rates_json(st->rate[w]));
	return json_pack("{s:o, s:o, s:o}", "total", counts_json(st->total), "last",
	    counts_json(st->last), "rate", rates);
}

static json_t *
host_list_json(const struct counters_host *top, size_t n)
{
	json_t *arr = json_array();
	char buf[IPADDR_STRLEN];

	for (size_t i = 0; arr && i < n; i++)
		json_array_append_new(arr, json_pack("{s:s, s:I, s:I, s:I, s:I}", "address",
		    ipaddr_format(&top[i].addr, buf, sizeof(buf)), "bytes", (json_int_t)top[i].bytes,
		    "packets", (json_int_t)top[i].packets, "flows", (json_int_t)top[i].flows,
		    "syns", (json_int_t)top[i].syns));
	return arr;
}

/* The busiest hosts over all protocols. */
static json_t *
hosts_json(const struct counters *cnt, uint32_t po)
{
	struct counters_host top[TOP_HOSTS];

	return host_list_json(top, counters_top_hosts(cnt, po, top, TOP_HOSTS));
}

/* ... and per protocol: {"tcp": [...], "udp": [...], ...}. */
static json_t *
hosts_by_proto_json(const struct counters *cnt, uint32_t po)
{
	json_t *o = json_object();
	struct counters_host top[TOP_HOSTS];

	for (unsigned p = 0; o && p < PROTO__COUNT; p++)
		json_object_set_new(o, proto_names[p], host_list_json(top,
		    counters_top_hosts_proto(cnt, po, p, top, TOP_HOSTS)));
	return o;
}

/* Per configured port: [{"port": 53, "in": {"tcp": {...}, "udp": {...}},
 * "out": {...}}, ...] — TCP and UDP only (ports mean nothing elsewhere). */
static json_t *
ports_json(const struct counters *cnt, const struct po *p, uint32_t po)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < p->nports; i++) {
		json_t *e = json_pack("{s:i}", "port", (int)p->ports[i]);

		for (unsigned d = 0; e && d < DIR__COUNT; d++) {
			json_t *protos = json_object();

			for (unsigned pr = 0; protos && pr <= PROTO_UDP; pr++) {
				struct counters_stat st;

				if (counters_port_stat(cnt, po, pr, d, p->ports[i], &st) == 0)
					json_object_set_new(protos, proto_names[pr], stat_json(&st));
			}
			json_object_set_new(e, dir_names[d], protos);
		}
		json_array_append_new(arr, e);
	}
	return arr;
}

static json_t *
po_traffic_json(const struct counters *cnt, uint32_t po)
{
	json_t *dirs = json_object();

	for (unsigned d = 0; dirs && d < DIR__COUNT; d++) {
		json_t *protos = json_object();

		for (unsigned p = 0; protos && p < PROTO__COUNT; p++) {
			struct counters_stat st;

			if (counters_po_stat(cnt, po, p, d, &st) == 0)
				json_object_set_new(protos, proto_names[p], stat_json(&st));
		}
		json_object_set_new(dirs, dir_names[d], protos);
	}
	return dirs;
}

void
api_traffic_po(struct api_req *r)
{
	struct engine *e = api_req_engine(r);
	struct collector *c = collector_get(e);
	const char *name = api_req_param(r);
	const struct po *p;
	uint32_t id;

	if ((p = poset_find(engine_pos(e), name, &id)) == NULL) {
		api_reply_error(r, 404, NULL, "no PO named '%s'", name);
		return;
	}
	if (c == NULL) {
		api_reply_json(r, 200, json_pack("{s:s, s:b}", "name", name, "collecting", 0));
		return;
	}
	api_reply_json(r, 200, json_pack("{s:s, s:b, s:o, s:o, s:o, s:o}", "name", name,
	    "collecting", 1, "traffic", po_traffic_json(collector_counters(c), id),
	    "ports", ports_json(collector_counters(c), p, id),
	    "top_hosts", hosts_json(collector_counters(c), id),
	    "top_hosts_by_protocol", hosts_by_proto_json(collector_counters(c), id)));
}

static json_t *
exporter_json(const struct exporter_info *x)
{
	char buf[IPADDR_STRLEN];

	return json_pack("{s:s, s:I, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
	    "address", ipaddr_format(&x->addr, buf, sizeof(buf)), "domain", (json_int_t)x->domain,
	    "protocol", exporter_proto_name(x->proto), "location", (json_int_t)x->index,
	    "sampling", (json_int_t)x->sampling, "sampling_seen", (json_int_t)x->sampling_seen,
	    "templates", (json_int_t)x->templates,
	    "first_seen", (json_int_t)(x->first_seen_ns / 1000000000u),
	    "last_seen", (json_int_t)(x->last_seen_ns / 1000000000u),
	    "datagrams", (json_int_t)x->h.datagrams, "records", (json_int_t)x->h.records,
	    "sequence_gaps", (json_int_t)x->h.seq_gaps,
	    "template_misses", (json_int_t)x->h.template_misses,
	    "parse_errors", (json_int_t)x->h.parse_errors, "bytes", (json_int_t)x->h.bytes,
	    "packets", (json_int_t)x->h.packets);
}

static json_t *
input_json(const struct collector_input *in)
{
	return json_pack("{s:s, s:s, s:I, s:b, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:f, s:f}",
	    "kind", in->kind, "name", in->name, "location", (json_int_t)in->location,
	    "done", in->done, "failed", in->failed, "packets", (json_int_t)in->packets,
	    "decoded", (json_int_t)in->decoded, "not_ip", (json_int_t)in->not_ip,
	    "malformed", (json_int_t)in->malformed, "bytes", (json_int_t)in->bytes,
	    "kernel_drops", (json_int_t)in->kernel_drops,
	    "clock", in->packet_time ? "packet" : "real",
	    "first_packet", (double)in->first_ns / 1e9, "last_packet", (double)in->last_ns / 1e9);
}

/* {"not_allowed": {"count": N, "last_source": "192.0.2.9", "last_time": T}, ...,
   "evicted_idle": N, "evicted_lru": N} */
static json_t *
refusals_json(struct collector *c)
{
	struct exporter_refusals ref;
	json_t *o = json_object();
	char buf[IPADDR_STRLEN];

	collector_refusals(c, &ref);
	for (unsigned k = 0; o != NULL && k < EXPORTER_REFUSED__COUNT; k++)
		json_object_set_new(o, exporter_refusal_name(k), json_pack("{s:I, s:s?, s:I}",
		    "count", (json_int_t)ref.n[k],
		    "last_source", ref.n[k] ? ipaddr_format(&ref.last[k], buf, sizeof(buf)) : NULL,
		    "last_time", (json_int_t)(ref.last_ns[k] / 1000000000u)));
	if (o != NULL) {
		json_object_set_new(o, "evicted_idle", json_integer((json_int_t)ref.evicted_idle));
		json_object_set_new(o, "evicted_lru", json_integer((json_int_t)ref.evicted_lru));
	}
	return o;
}

void
api_traffic_exporters(struct api_req *r)
{
	struct collector *c = collector_get(api_req_engine(r));
	struct exporter_info *xs;
	struct collector_input ins[2 * LIMIT_COLLECT_LISTENERS];
	json_t *ex, *inputs;
	size_t n, ni;

	if (c == NULL) {
		api_reply_json(r, 200, json_pack("{s:b, s:[], s:[]}", "collecting", 0, "exporters",
		    "inputs"));
		return;
	}
	xs = calloc(LIMIT_COLLECT_EXPORTERS, sizeof(*xs));
	ex = json_array();
	inputs = json_array();
	if (xs == NULL || ex == NULL || inputs == NULL) {
		free(xs);
		json_decref(ex);
		json_decref(inputs);
		api_reply_error(r, 500, NULL, "out of memory");
		return;
	}
	n = collector_exporters(c, xs, LIMIT_COLLECT_EXPORTERS);
	for (size_t i = 0; i < n && i < LIMIT_COLLECT_EXPORTERS; i++)
		json_array_append_new(ex, exporter_json(&xs[i]));
	free(xs);
	ni = collector_inputs(c, ins, sizeof(ins) / sizeof(ins[0]));
	for (size_t i = 0; i < ni; i++)
		json_array_append_new(inputs, input_json(&ins[i]));
	api_reply_json(r, 200, json_pack("{s:b, s:o, s:o, s:I, s:o}", "collecting", 1, "exporters", ex,
	    "inputs", inputs, "unparsed", (json_int_t)collector_unparsed(c),
	    "refused", refusals_json(c)));
}

/* ---- Prometheus text ---- */

static void
metrics_pos(FILE *f, struct engine *e, const struct counters *cnt)
{
	const struct poset *ps = engine_pos(e);

	fprintf(f, "# HELP moat_po_traffic_total Traffic per protected object, scaled by sampling.\n"
	    "# TYPE moat_po_traffic_total counter\n");
	for (uint32_t id = 0; id < poset_id_limit(ps); id++) {
		const struct po *p = poset_at(ps, id);

		if (p == NULL)
			continue;
		for (unsigned d = 0; d < DIR__COUNT; d++)
			for (unsigned pr = 0; pr < PROTO__COUNT; pr++) {
				struct counters_stat st;

				if (counters_po_stat(cnt, id, pr, d, &st) < 0)
					continue;
				for (unsigned k = 0; k < CNT__COUNT; k++)
					fprintf(f, "moat_po_traffic_total{po=\"%s\",dir=\"%s\",proto=\"%s\","
					    "unit=\"%s\"} %" PRIu64 "\n", p->name, dir_names[d],
					    proto_names[pr], field_names[k], st.total[k]);
			}
	}
}

static void
metrics_ports(FILE *f, struct engine *e, const struct counters *cnt)
{
	const struct poset *ps = engine_pos(e);

	fprintf(f, "# HELP moat_po_port_traffic_total Traffic per configured port of a protected "
	    "object (in: destination port, out: source port), scaled by sampling.\n"
	    "# TYPE moat_po_port_traffic_total counter\n");
	for (uint32_t id = 0; id < poset_id_limit(ps); id++) {
		const struct po *p = poset_at(ps, id);

		for (size_t i = 0; p != NULL && i < p->nports; i++)
			for (unsigned d = 0; d < DIR__COUNT; d++)
				for (unsigned pr = 0; pr <= PROTO_UDP; pr++) {
					struct counters_stat st;

					if (counters_port_stat(cnt, id, pr, d, p->ports[i], &st) < 0)
						continue;
					for (unsigned k = 0; k < CNT__COUNT; k++)
						fprintf(f, "moat_po_port_traffic_total{po=\"%s\",dir=\"%s\","
						    "proto=\"%s\",port=\"%u\",unit=\"%s\"} %" PRIu64 "\n",
						    p->name, dir_names[d], proto_names[pr], p->ports[i],
						    field_names[k], st.total[k]);
				}
	}
}

static void
metrics_exporters(FILE *f, struct collector *c)
{
	struct exporter_info *xs = calloc(LIMIT_COLLECT_EXPORTERS, sizeof(*xs));
	char buf[IPADDR_STRLEN];
	size_t n;

	if (xs == NULL)
		return;
	n = collector_exporters(c, xs, LIMIT_COLLECT_EXPORTERS);
	fprintf(f, "# HELP moat_exporter_events_total Flow exporter health counters.\n"
	    "# TYPE moat_exporter_events_total counter\n");
	for (size_t i = 0; i < n && i < LIMIT_COLLECT_EXPORTERS; i++) {
		const struct exporter_info *x = &xs[i];
		const struct {
			const char *name;
			uint64_t v;
		} rows[] = {
			{ "datagrams", x->h.datagrams }, { "records", x->h.records },
			{ "sequence_gaps", x->h.seq_gaps }, { "template_misses", x->h.template_misses },
			{ "parse_errors", x->h.parse_errors },
		};

		for (size_t k = 0; k < sizeof(rows) / sizeof(rows[0]); k++)
			fprintf(f, "moat_exporter_events_total{exporter=\"%s\",domain=\"%" PRIu32
			    "\",protocol=\"%s\",event=\"%s\"} %" PRIu64 "\n",
			    ipaddr_format(&x->addr, buf, sizeof(buf)), x->domain,
			    exporter_proto_name(x->proto), rows[k].name, rows[k].v);
	}
	fprintf(f, "# HELP moat_exporter_last_seen_timestamp_seconds When a flow exporter was "
	    "last heard from (Unix time).\n"
	    "# TYPE moat_exporter_last_seen_timestamp_seconds gauge\n");
	for (size_t i = 0; i < n && i < LIMIT_COLLECT_EXPORTERS; i++)
		fprintf(f, "moat_exporter_last_seen_timestamp_seconds{exporter=\"%s\",domain=\"%"
		    PRIu32 "\",protocol=\"%s\"} %.3f\n",
		    ipaddr_format(&xs[i].addr, buf, sizeof(buf)), xs[i].domain,
		    exporter_proto_name(xs[i].proto), (double)xs[i].last_seen_ns / 1e9);
	free(xs);
	fprintf(f, "# HELP moat_collect_unparsed_total Datagrams no parser or exporter slot took.\n"
	    "# TYPE moat_collect_unparsed_total counter\nmoat_collect_unparsed_total %" PRIu64 "\n",
	    collector_unparsed(c));
	{
		struct exporter_refusals ref;

		collector_refusals(c, &ref);
		fprintf(f, "# HELP moat_collect_refused_total Flow exports refused, by reason "
		    "(allow-list, per-sender cap, full table, hash probe, IPFIX/TCP caps).\n"
		    "# TYPE moat_collect_refused_total counter\n");
		for (unsigned k = 0; k < EXPORTER_REFUSED__COUNT; k++)
			fprintf(f, "moat_collect_refused_total{reason=\"%s\"} %" PRIu64 "\n",
			    exporter_refusal_name(k), ref.n[k]);
		fprintf(f, "# HELP moat_collect_exporters_evicted_total Exporters evicted (idle, or "
		    "least recently seen when the table was full).\n"
		    "# TYPE moat_collect_exporters_evicted_total counter\n"
		    "moat_collect_exporters_evicted_total{why=\"idle\"} %" PRIu64 "\n"
		    "moat_collect_exporters_evicted_total{why=\"lru\"} %" PRIu64 "\n",
		    ref.evicted_idle, ref.evicted_lru);
	}
}

static void
metrics_inputs(FILE *f, struct collector *c)
{
	struct collector_input ins[2 * LIMIT_COLLECT_LISTENERS];
	size_t n = collector_inputs(c, ins, sizeof(ins) / sizeof(ins[0]));

	char name[256];

	fprintf(f, "# HELP moat_input_packets_total Packets read by pcap replays and captures.\n"
	    "# TYPE moat_input_packets_total counter\n");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "moat_input_packets_total{kind=\"%s\",input=\"%s\"} %" PRIu64 "\n",
		    ins[i].kind, api_metrics_label(ins[i].name, name, sizeof(name)),
		    ins[i].packets);
	fprintf(f, "# HELP moat_input_kernel_drops_total Packets the kernel dropped before a "
	    "capture read them.\n# TYPE moat_input_kernel_drops_total counter\n");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "moat_input_kernel_drops_total{kind=\"%s\",input=\"%s\"} %" PRIu64 "\n",
		    ins[i].kind, api_metrics_label(ins[i].name, name, sizeof(name)),
		    ins[i].kernel_drops);
}

void
api_traffic_metrics(struct api_req *r)
{
	struct engine *e = api_req_engine(r);
	struct collector *c = collector_get(e);
	int fd = memfd_create("moat-metrics", MFD_CLOEXEC);
	FILE *f;

	if (fd < 0 || (f = fdopen(fcntl(fd, F_DUPFD_CLOEXEC, 0), "w")) == NULL) {
		if (fd >= 0)
			close(fd);
		api_reply_error(r, 500, NULL, "cannot build metrics: %s", strerror(errno));
		return;
	}
	fprintf(f, "# HELP moat_up moatd is running.\n# TYPE moat_up gauge\nmoat_up 1\n");
	fprintf(f, "# HELP moat_pos Protected objects configured.\n# TYPE moat_pos gauge\n"
	    "moat_pos %zu\n", poset_count(engine_pos(e)));
	api_metrics_health(f, e);
	api_metrics_attacks(f, e, api_req_metrics_mark(r));
	api_metrics_mitigations(f, e);
	if (c) {
		metrics_pos(f, e, collector_counters(c));
		metrics_ports(f, e, collector_counters(c));
		metrics_exporters(f, c);
		metrics_inputs(f, c);
	}
	conntab_metrics(f, e);
	fclose(f);
	lseek(fd, 0, SEEK_SET);
	api_reply_fd(r, 200, "text/plain; version=0.0.4", fd);
}
