/*
 * backtest_pcap: the backtest over packets, and the `moatd --backtest`
 * command line (which needs both inputs). Packets go through the
 * collectors' own path — pcapin decodes them into flow records on packet
 * time, the counters turn each second into readings — so a replay counts
 * exactly what moatd would have counted live.
 */
#include "engine/backtest/backtest.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "collect/pcapin.h"
#include "common/clock.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/lpm.h"
#include "common/strnum.h"
#include "collect/counters.h"

struct bt_pcap {
	struct backtest *bt;
	struct counters *cnt;
	struct counters_shard *shard;
	const struct lpm *lpm;
	uint64_t last_boundary;
	int error;
};

static void
bt_pcap_reading(void *ctx, const struct reading *r)
{
	struct bt_pcap *bp = ctx;

	if (bp->error == 0 && backtest_feed(bp->bt, r) < 0)
		bp->error = -EINVAL;
}

static void
bt_pcap_time(void *ctx, uint64_t boundary_ns)
{
	struct bt_pcap *bp = ctx;

	counters_tick(bp->cnt, boundary_ns, bt_pcap_reading, bp);
	if (bp->error == 0)
		backtest_hosts(bp->bt, bp->cnt);
	bp->last_boundary = boundary_ns;
}

/* Each packet is also an observation for the top lists of a live attack on
 * the PO it goes to. */
static void
bt_pcap_observe(struct bt_pcap *bp, const struct flow_rec *rec)
{
	struct decision_obs o = { 0 };
	uint32_t po = lpm_lookup(bp->lpm, &rec->dst);
	uint64_t scale = rec->sampling ? rec->sampling : 1;

	if (po == LPM_NONE)
		return;
	o.po_id = po;
	o.proto = (uint8_t)counters_proto_class(rec->proto);
	o.alen = rec->dst.af == AF_INET ? 4 : 16;
	memcpy(o.src, rec->src.a, sizeof(o.src));
	memcpy(o.dst, rec->dst.a, sizeof(o.dst));
	o.sport = rec->sport;
	o.dport = rec->dport;
	o.packets = rec->packets * scale;
	o.bytes = rec->bytes * scale;
	backtest_observe(bp->bt, &o);
}

static void
bt_pcap_sink(void *ctx, const struct flow_rec *recs, unsigned n)
{
	struct bt_pcap *bp = ctx;

	counters_add(bp->shard, recs, n);
	for (unsigned i = 0; i < n; i++)
		bt_pcap_observe(bp, &recs[i]);
}

static int
bt_pcap_lpm(struct backtest *bt, const struct backtest_po_def *pos, size_t npos, struct lpm **ret,
    struct backtest_error *err)
{
	struct lpm *l = lpm_new();
	int r = -ENOMEM;

	if (l == NULL)
		goto fail;
	for (size_t i = 0; i < npos; i++) {
		uint32_t id;

		if ((r = backtest_po(bt, pos[i].name, &id)) < 0) {
			snprintf(err->msg, sizeof(err->msg), "PO %s: bad name or too many POs", pos[i].name);
			goto fail;
		}
		for (size_t j = 0; j < pos[i].nprefixes; j++)
			if ((r = lpm_insert(l, &pos[i].prefixes[j], id)) < 0) {
				snprintf(err->msg, sizeof(err->msg), "PO %s: prefix not accepted (%s)",
				    pos[i].name, strerror(-r));
				goto fail;
			}
	}
	if ((r = lpm_build(l)) < 0) {
		snprintf(err->msg, sizeof(err->msg), "building the prefix table: %s", strerror(-r));
		goto fail;
	}
	*ret = l;
	return 0;
fail:
	if (r == -ENOMEM && err->msg[0] == '\0')
		snprintf(err->msg, sizeof(err->msg), "out of memory");
	lpm_free(l);
	return r;
}

static int
bt_pcap_port_cmp(const void *a, const void *b)
{
	const struct counters_po_ports *x = a, *y = b;

	return x->po < y->po ? -1 : x->po > y->po;
}

/* The POs' ports for the counters, as live (per-port readings). */
static int
bt_pcap_ports(struct backtest *bt, struct counters *cnt, const struct backtest_po_def *pos,
    size_t npos, struct backtest_error *err)
{
	struct counters_po_ports *list = calloc(npos ? npos : 1, sizeof(*list));
	size_t n = 0;
	int r = 0;

	if (list == NULL)
		r = -ENOMEM;
	for (size_t i = 0; r == 0 && i < npos; i++) {
		uint32_t id;

		if (pos[i].nports == 0)
			continue;
		if ((r = backtest_po(bt, pos[i].name, &id)) == 0)
			list[n++] = (struct counters_po_ports){ id, pos[i].ports, pos[i].nports };
	}
	if (r == 0) {
		qsort(list, n, sizeof(*list), bt_pcap_port_cmp);
		r = counters_set_ports(cnt, list, n);
	}
	if (r < 0)
		snprintf(err->msg, sizeof(err->msg), "%s", r == -ENOMEM ? "out of memory" :
		    "bad ports, or ports for one PO given twice");
	free(list);
	return r;
}

int
backtest_pcap_file(struct backtest *bt, const char *path, const struct backtest_po_def *pos,
    size_t npos, struct backtest_error *err)
{
	struct bt_pcap bp = { .bt = bt };
	struct pcapin_hooks hooks = { .sink = bt_pcap_sink, .sink_ctx = &bp, .on_time = bt_pcap_time,
		.time_ctx = &bp, .step_ns = CLOCK_NS_PER_SEC };
	struct pcapin_stats st = { 0 };
	struct pcapin *in = NULL;
	struct lpm *l = NULL;
	char perr[sizeof(err->msg)];
	int r;

	err->msg[0] = '\0';
	if ((r = bt_pcap_lpm(bt, pos, npos, &l, err)) < 0)
		return r;
	bp.lpm = l;
	bp.cnt = counters_new((uint32_t)npos, 1, 1);
	if (bp.cnt == NULL) {
		snprintf(err->msg, sizeof(err->msg), "out of memory");
		r = -ENOMEM;
		goto out;
	}
	bp.shard = counters_shard(bp.cnt, 0);
	counters_set_lpm(bp.cnt, l);
	counters_set_npos(bp.cnt, (uint32_t)npos);
	if ((r = bt_pcap_ports(bt, bp.cnt, pos, npos, err)) < 0)
		goto out;
	if ((r = pcapin_open_file(path, &in, perr, sizeof(perr))) < 0) {
		snprintf(err->msg, sizeof(err->msg), "%s", perr);
		goto out;
	}
	r = pcapin_run(in, &hooks, 0, &st);
	if (r < 0) {
		snprintf(err->msg, sizeof(err->msg), "read error after %llu packets",
		    (unsigned long long)st.packets);
		goto out;
	}
	if (bp.last_boundary != 0)	/* close the last second */
		bt_pcap_time(&bp, bp.last_boundary + CLOCK_NS_PER_SEC);
	r = bp.error;
	if (r < 0)
		snprintf(err->msg, sizeof(err->msg), "packet time went backwards");
out:
	pcapin_close(in);
	counters_free(bp.cnt);
	lpm_free(l);
	return r < 0 ? r : 0;
}

/* --- command line --- */

/* A --po option, owned. */
struct bt_po_arg {
	char *name;
	struct prefix *prefixes;
	size_t n;
	uint16_t ports[LIMIT_PO_PORTS];	/* ascending */
	size_t nports;
};

struct bt_args {
	struct dparams params;
	bool json;
	bool pcap;
	struct bt_po_arg *pos;
	size_t npos;
};

static void
bt_args_free(struct bt_args *a)
{
	for (size_t i = 0; i < a->npos; i++) {
		free(a->pos[i].name);
		free(a->pos[i].prefixes);
	}
	free(a->pos);
}

static void
bt_usage(FILE *out, const char *prog)
{
	fprintf(out, "usage: %s [--json] [--preset NAME] [--set KEY=VALUE ...] FILE|-\n"
	    "       %s --pcap --po NAME=PREFIX[,PREFIX...][@PORT[,PORT...]] [--po ...] [--json]\n"
	    "             [--preset NAME]\n"
	    "             [--set KEY=VALUE ...] FILE\n"
	    "  CSV header: time,po,protocol,direction,bytes,packets[,port,flows,syns,frags]\n"
	    "  presets: moat (default), defense4all; keys: rate.persist, rate.learn, rate.enter_ratio,\n"
	    "  rate.enter_spreads, rate.expiry, quiet, limits.udp.pps, host_limits.udp.pps (--pcap\n"
	    "  only: CSV has no hosts), ... (docs/detection.md)\n",
	    prog, prog);
}

static int
bt_apply_set(struct dparams *p, char *kv)
{
	char *eq = strchr(kv, '=');
	int r;

	if (eq == NULL) {
		log_warnx("--set %s: expected KEY=VALUE", kv);
		return -EINVAL;
	}
	*eq = '\0';
	if ((r = dparams_set(p, kv, eq + 1)) < 0) {
		log_warnx("--set %s: %s", kv, r == -ENOENT ? "unknown parameter" : "bad value");
		return r;
	}
	return 0;
}

static int
bt_port_cmp(const void *a, const void *b)
{
	return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

/* "PORT[,PORT...]" into d's ports, ascending and unique. */
static int
bt_parse_ports(struct bt_po_arg *d, char *list, const char *spec)
{
	char *tok, *save = NULL;
	uint64_t port;

	for (tok = strtok_r(list, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		if (d->nports == LIMIT_PO_PORTS || strnum_u64(tok, 1, 65535, &port) < 0) {
			log_warnx("--po %s: bad or too many ports at '%s'", spec, tok);
			return -EINVAL;
		}
		d->ports[d->nports++] = (uint16_t)port;
	}
	qsort(d->ports, d->nports, sizeof(d->ports[0]), bt_port_cmp);
	for (size_t i = 1; i < d->nports; i++)
		if (d->ports[i] == d->ports[i - 1]) {
			log_warnx("--po %s: port %u listed twice", spec, d->ports[i]);
			return -EINVAL;
		}
	return 0;
}

/* --po NAME=PREFIX[,PREFIX...][@PORT[,PORT...]] */
static int
bt_add_po(struct bt_args *a, char *spec)
{
	char *eq = strchr(spec, '='), *at, *tok, *save = NULL;
	struct bt_po_arg *d, *pos;
	struct prefix *pfx;
	size_t n = 0;

	if (eq == NULL || eq == spec) {
		log_warnx("--po %s: expected NAME=PREFIX[,PREFIX...]", spec);
		return -EINVAL;
	}
	if (a->npos >= LIMIT_BACKTEST_POS) {
		log_warnx("--po: more than %u POs", LIMIT_BACKTEST_POS);
		return -ENOSPC;
	}
	*eq = '\0';
	pos = realloc(a->pos, (a->npos + 1) * sizeof(*pos));
	pfx = calloc(LIMIT_PO_PREFIXES, sizeof(*pfx));
	if (pos == NULL || pfx == NULL) {
		free(pfx);
		if (pos != NULL)
			a->pos = pos;
		return -ENOMEM;
	}
	a->pos = pos;
	d = &a->pos[a->npos];
	memset(d, 0, sizeof(*d));
	if ((at = strchr(eq + 1, '@')) != NULL) {
		*at = '\0';
		if (bt_parse_ports(d, at + 1, spec) < 0) {
			free(pfx);
			return -EINVAL;
		}
	}
	for (tok = strtok_r(eq + 1, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		if (n == LIMIT_PO_PREFIXES || prefix_parse(tok, &pfx[n]) < 0) {
			log_warnx("--po %s: bad or too many prefixes at '%s'", spec, tok);
			free(pfx);
			return -EINVAL;
		}
		n++;
	}
	if (n == 0) {
		log_warnx("--po %s: no prefix", spec);
		free(pfx);
		return -EINVAL;
	}
	d->name = strdup(spec);
	d->prefixes = pfx;
	d->n = n;
	if (d->name == NULL) {
		free(pfx);
		return -ENOMEM;
	}
	a->npos++;
	return 0;
}

static int
bt_parse_args(int argc, char **argv, struct bt_args *a)
{
	enum { OPT_PCAP = 1, OPT_PO };
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "preset", required_argument, NULL, 'p' },
		{ "set", required_argument, NULL, 's' },
		{ "pcap", no_argument, NULL, OPT_PCAP },
		{ "po", required_argument, NULL, OPT_PO },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *what;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "jp:s:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			a->json = true;
			break;
		case 'p':
			if (dparams_preset(optarg, &a->params) < 0) {
				log_warnx("unknown preset %s", optarg);
				return 2;
			}
			break;
		case 's':
			if (bt_apply_set(&a->params, optarg) < 0)
				return 2;
			break;
		case OPT_PCAP:
			a->pcap = true;
			break;
		case OPT_PO:
			if (bt_add_po(a, optarg) < 0)
				return 2;
			break;
		case 'h':
			bt_usage(stdout, argv[0]);
			return 0;
		default:
			bt_usage(stderr, argv[0]);
			return 2;
		}
	}
	if (optind != argc - 1 || (a->pcap && a->npos == 0) || (!a->pcap && a->npos > 0)) {
		if (a->pcap != (a->npos > 0))
			log_warnx("--pcap needs at least one --po, and --po needs --pcap");
		bt_usage(stderr, argv[0]);
		return 2;
	}
	if (dparams_check(&a->params, &what) < 0) {
		log_warnx("parameters: %s", what);
		return 2;
	}
	return -1;
}

static int
bt_run_csv(struct backtest *bt, const char *path, struct backtest_error *err)
{
	FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "re");
	int r;

	if (in == NULL) {
		snprintf(err->msg, sizeof(err->msg), "%s", strerror(errno));
		return -errno;
	}
	r = backtest_csv_file(bt, in, err);
	if (in != stdin)
		fclose(in);
	return r;
}

static int
bt_run_pcap(struct backtest *bt, const char *path, const struct bt_args *a,
    struct backtest_error *err)
{
	struct backtest_po_def *defs = calloc(a->npos, sizeof(*defs));
	int r;

	if (defs == NULL) {
		snprintf(err->msg, sizeof(err->msg), "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < a->npos; i++)
		defs[i] = (struct backtest_po_def){ a->pos[i].name, a->pos[i].prefixes, a->pos[i].n,
			a->pos[i].ports, a->pos[i].nports };
	r = backtest_pcap_file(bt, path, defs, a->npos, err);
	free(defs);
	return r;
}

int
backtest_cli(int argc, char **argv)
{
	struct bt_args a = { 0 };
	struct backtest *bt = NULL;
	struct backtest_error err = { "" };
	const char *path;
	int r;

	dparams_default(&a.params);
	if ((r = bt_parse_args(argc, argv, &a)) >= 0)
		goto out;
	path = argv[optind];
	if ((r = backtest_new(&a.params, &bt)) < 0) {
		log_warnx("backtest: %s", strerror(-r));
		r = 1;
		goto out;
	}
	r = a.pcap ? bt_run_pcap(bt, path, &a, &err) : bt_run_csv(bt, path, &err);
	if (r < 0) {
		log_warnx("%s: %s", path, err.msg);
		r = 1;
		goto out;
	}
	backtest_finish(bt);
	r = a.json ? backtest_report_json(bt, stdout) : backtest_report_text(bt, stdout);
	r = r < 0 ? 1 : 0;
out:
	backtest_free(bt);
	bt_args_free(&a);
	return r;
}
