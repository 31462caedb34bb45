/*
 * Integration tests of engine/mitigate: the MitigationMgr with the real
 * drivers (nftables, XDP, notify, BGP through GoBGP and BIRD), inside a
 * network namespace of the test's own (unshare): rules are installed in the
 * kernel and read back with `nft -j`, never on the host. Without root (no
 * CLONE_NEWNET) or without gobgpd/bird the cases that need them are skipped.
 * The manager's own logic is tested with a fake driver in test_mitigate.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/stat.h>
#include <signal.h>
#include <sys/wait.h>

#include "common/cfg.h"
#include "engine/mitigate/manager.h"

static bool have_netns;

static const struct mit_driver_ops *const real_drivers[] = {
	&drv_nft_ops, &drv_xdp_ops, &drv_bgp_ops, &drv_ins_ops, &drv_notify_ops,
};
#define N_REAL (sizeof(real_drivers) / sizeof(real_drivers[0]))

/* Rule ids with a "moat:" comment currently in the kernel's inet moat table. */
static size_t
kernel_rules(uint64_t *ids, size_t max)
{
	FILE *f = popen("nft -j list table inet moat 2>/dev/null", "r");
	char buf[65536];
	size_t len, n = 0, i;
	json_t *doc, *it;

	assert_non_null(f);
	len = fread(buf, 1, sizeof(buf) - 1, f);
	pclose(f);
	buf[len] = '\0';
	if ((doc = json_loads(buf, 0, NULL)) == NULL)
		return 0;
	json_array_foreach(json_object_get(doc, "nftables"), i, it) {
		const char *c = json_string_value(json_object_get(json_object_get(it, "rule"), "comment"));
		if (c != NULL && strncmp(c, "moat:", 5) == 0 && n < max)
			ids[n++] = strtoull(c + 5, NULL, 10);
	}
	json_decref(doc);
	return n;
}

static void
flush_moat_table(void)
{
	assert_int_equal(system("nft delete table inet moat 2>/dev/null; true"), 0);
}

static struct mit_request
udp_flood_request(uint64_t attack_id, const char *target)
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

static struct mit_mgr *
new_mgr(const char *yaml)
{
	struct cfg_error err = { { 0 } };
	struct cfg_doc *doc = NULL;
	struct mit_mgr *m = NULL;

	if (yaml != NULL)
		assert_int_equal(cfg_load_buffer("test.yaml", yaml, strlen(yaml), &doc, &err), 0);
	if (mit_mgr_new(doc ? cfg_root(doc) : NULL, real_drivers, N_REAL, &m, &err) < 0)
		fail_msg("mit_mgr_new: %s", err.msg);
	cfg_free(doc);
	return m;
}

static void
test_nft_apply_and_exact_undo(void **state)
{
	const char *drivers[] = { "nft" };
	struct mit_request q = udp_flood_request(1, "192.0.2.10");
	struct mit_mgr *m;
	const struct mit_entry *e;
	uint64_t id, ids[8];

	if (!have_netns)
		skip();
	flush_moat_table();
	m = new_mgr(NULL);
	assert_int_equal(mit_start(m, &q, drivers, 1, 1000, &id), 0);
	e = mit_get(m, id);
	assert_int_equal(e->status, MIT_MITIGATING);
	assert_string_equal(e->driver, "nft");
	assert_int_equal(kernel_rules(ids, 8), 1);
	assert_true(ids[0] == e->rule.id);

	/* Starting again for the same attack is an update, not a second rule. */
	assert_int_equal(mit_start(m, &q, drivers, 1, 1001, &id), -EEXIST);
	assert_int_equal(kernel_rules(ids, 8), 1);

	assert_int_equal(mit_stop(m, id, 1002, "test"), 0);
	assert_int_equal(mit_get(m, id)->status, MIT_ENDED);
	assert_int_equal(kernel_rules(ids, 8), 0);
	/* The last rule took moat's table with it: nothing left behind. */
	assert_int_not_equal(system("nft list table inet moat >/dev/null 2>&1"), 0);
	assert_int_equal(mit_stop(m, id, 1003, "again"), -EALREADY);
	mit_mgr_free(m);
}

static void
test_decline_moves_to_next_driver(void **state)
{
	/* "notify" with nothing configured is not applicable; nft takes it. */
	const char *drivers[] = { "nosuch", "notify", "nft" };
	struct mit_request q = udp_flood_request(2, "192.0.2.11");
	struct mit_mgr *m;
	uint64_t id, ids[8];

	if (!have_netns)
		skip();
	flush_moat_table();
	m = new_mgr(NULL);
	assert_int_equal(mit_start(m, &q, drivers, 3, 1000, &id), 0);
	assert_int_equal(mit_get(m, id)->status, MIT_MITIGATING);
	assert_string_equal(mit_get(m, id)->driver, "nft");
	assert_int_equal(kernel_rules(ids, 8), 1);
	assert_int_equal(mit_stop_attack(m, 2, 1001), 0);
	assert_int_equal(kernel_rules(ids, 8), 0);
	mit_mgr_free(m);
}

static void
test_not_mitigated_when_nothing_applies(void **state)
{
	const char *drivers[] = { "notify" };
	struct mit_request q = udp_flood_request(3, "192.0.2.12");
	struct mit_mgr *m = new_mgr(NULL);
	uint64_t id;

	assert_int_equal(mit_start(m, &q, drivers, 1, 1000, &id), 0);
	assert_int_equal(mit_get(m, id)->status, MIT_NOT_MITIGATED);
	mit_mgr_free(m);
}

static void
test_allowlist_is_never_blocked(void **state)
{
	const char *drivers[] = { "nft" };
	struct mit_request q = udp_flood_request(4, "192.0.2.13");
	struct mit_mgr *m = new_mgr("allowlist: [192.0.2.0/24]\n");
	uint64_t id, ids[8];

	if (have_netns)
		flush_moat_table();
	assert_int_equal(mit_start(m, &q, drivers, 1, 1000, &id), 0);
	assert_int_equal(mit_get(m, id)->status, MIT_NOT_MITIGATED);
	assert_non_null(strstr(mit_get(m, id)->reason, "never-block"));
	if (have_netns)
		assert_int_equal(kernel_rules(ids, 8), 0);
	mit_mgr_free(m);
}

static void
test_dry_run_records_without_effect(void **state)
{
	const char *drivers[] = { "nft" };
	struct mit_request q = udp_flood_request(5, "192.0.2.14");
	struct mit_mgr *m = new_mgr("dry_run: [nft]\n");
	uint64_t id, ids[8];

	if (have_netns)
		flush_moat_table();
	assert_int_equal(mit_start(m, &q, drivers, 1, 1000, &id), 0);
	assert_int_equal(mit_get(m, id)->status, MIT_MITIGATING);
	assert_true(mit_get(m, id)->dry_run);
	if (have_netns)
		assert_int_equal(kernel_rules(ids, 8), 0);
	assert_int_equal(mit_stop(m, id, 1001, "test"), 0);
	mit_mgr_free(m);
}

static void
test_max_duration_ends(void **state)
{
	const char *drivers[] = { "nft" };
	struct mit_request q = udp_flood_request(6, "192.0.2.15");
	struct mit_mgr *m;
	uint64_t id, ids[8];

	if (!have_netns)
		skip();
	flush_moat_table();
	m = new_mgr("max_duration: 10m\nprobe_after: 0\n");
	assert_int_equal(mit_start(m, &q, drivers, 1, 1000, &id), 0);
	mit_tick(m, 1000 + 599);
	assert_int_equal(mit_get(m, id)->status, MIT_MITIGATING);
	mit_tick(m, 1000 + 600);
	assert_int_equal(mit_get(m, id)->status, MIT_ENDED);
	assert_int_equal(kernel_rules(ids, 8), 0);
	mit_mgr_free(m);
}

/* A probe lifts the nft rule and puts the same rule id back. */
static void
test_probe_lifts_and_reinstalls_nft(void **state)
{
	const char *drivers[] = { "nft" };
	struct mit_request q = udp_flood_request(7, "192.0.2.16");
	struct mit_mgr *m;
	uint64_t id, rule, ids[8];

	if (!have_netns)
		skip();
	flush_moat_table();
	m = new_mgr("probe_after: 5m\n");
	assert_int_equal(mit_start(m, &q, drivers, 1, 1000, &id), 0);
	rule = mit_get(m, id)->rule.id;
	assert_int_equal(kernel_rules(ids, 8), 1);
	mit_tick(m, 1300);
	assert_int_equal(mit_get(m, id)->status, MIT_PROBING);
	assert_int_equal(kernel_rules(ids, 8), 0);
	assert_int_equal(mit_probe_end(m, id, true, 1302), 0);
	assert_int_equal(mit_get(m, id)->status, MIT_MITIGATING);
	assert_int_equal(kernel_rules(ids, 8), 1);
	assert_int_equal(ids[0], rule);
	assert_int_equal(mit_stop(m, id, 1303, "test"), 0);
	assert_int_equal(kernel_rules(ids, 8), 0);
	mit_mgr_free(m);
}

static void
test_restart_reconciles_both_ways(void **state)
{
	const char *drivers[] = { "nft" };
	struct mit_request q1 = udp_flood_request(7, "192.0.2.16");
	struct mit_request q2 = udp_flood_request(8, "192.0.2.17");
	struct mit_mgr *m;
	uint64_t id1, id2, ids[8];
	char *saved, cmd[256];
	size_t n;

	if (!have_netns)
		skip();
	flush_moat_table();
	m = new_mgr(NULL);
	assert_int_equal(mit_start(m, &q1, drivers, 1, 1000, &id1), 0);
	assert_int_equal(mit_start(m, &q2, drivers, 1, 1000, &id2), 0);
	saved = mit_save(m);
	assert_non_null(saved);
	/* "SIGKILL": the manager goes away without withdrawing anything. */
	mit_mgr_free(m);
	assert_int_equal(kernel_rules(ids, 8), 2);

	/* Someone deletes rule 1 by hand and leaves a stale moat rule behind. */
	snprintf(cmd, sizeof(cmd),
	    "h=$(nft -a list chain inet moat mitigate | sed -n 's/.*comment \"moat:%" PRIu64
	    "\" # handle \\([0-9]*\\).*/\\1/p'); nft delete rule inet moat mitigate handle $h", id1);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(system("nft add rule inet moat mitigate ip daddr 203.0.113.9 drop "
	    "comment '\"moat:42\"'"), 0);
	assert_int_equal(kernel_rules(ids, 8), 2);

	m = new_mgr(NULL);
	assert_int_equal(mit_load(m, saved), 0);
	assert_int_equal(mit_reconcile(m, 2000, NULL), 2);	/* one re-added, one removed */
	n = kernel_rules(ids, 8);
	assert_int_equal(n, 2);
	assert_true((ids[0] == id1 && ids[1] == id2) || (ids[0] == id2 && ids[1] == id1));
	assert_int_equal(mit_reconcile(m, 2001, NULL), 0);	/* nothing duplicated */
	assert_int_equal(kernel_rules(ids, 8), 2);

	assert_int_equal(mit_stop_attack(m, 7, 2002), 0);
	assert_int_equal(mit_stop_attack(m, 8, 2002), 0);
	assert_int_equal(kernel_rules(ids, 8), 0);
	mit_mgr_free(m);
	free(saved);
}

/* ---- XDP: the program's verdicts, checked with BPF_PROG_TEST_RUN ---- */

static int
xdp_prog_fd(const char *ifname)
{
	__u32 id = 0;

	if (bpf_xdp_query_id((int)if_nametoindex(ifname), 0, &id) < 0 || id == 0)
		return -1;
	return bpf_prog_get_fd_by_id(id);
}

/* Run the attached program on an Ethernet/IPv4/UDP frame; returns its verdict. */
static int
xdp_verdict(int prog_fd, const char *src, const char *dst, uint16_t dport)
{
	/* Offset by 2 so the IP header after the 14-byte Ethernet header is aligned. */
	uint8_t buf[66] __attribute__((aligned(8))) = { 0 };
	uint8_t *frame = buf + 2;
	struct ethhdr *eth = (struct ethhdr *)frame;
	struct iphdr *ip = (struct iphdr *)(eth + 1);
	struct udphdr *udp = (struct udphdr *)(ip + 1);
	struct ipaddr s, d;
	struct bpf_test_run_opts opts = { .sz = sizeof(opts), .data_in = frame,
		.data_size_in = 64, .repeat = 1 };

	assert_int_equal(ipaddr_parse(src, &s), 0);
	assert_int_equal(ipaddr_parse(dst, &d), 0);
	eth->h_proto = htons(ETH_P_IP);
	ip->version = 4;
	ip->ihl = 5;
	ip->ttl = 64;
	ip->protocol = 17;
	ip->tot_len = htons(64 - sizeof(*eth));
	memcpy(&ip->saddr, s.a, 4);
	memcpy(&ip->daddr, d.a, 4);
	udp->source = htons(40000);
	udp->dest = htons(dport);
	assert_int_equal(bpf_prog_test_run_opts(prog_fd, &opts), 0);
	return (int)opts.retval;
}

static void
make_veth(void)
{
	assert_int_equal(system("ip link del mx0 2>/dev/null; ip link add mx0 type veth peer name mx1 "
	    "&& ip link set mx0 up && ip link set mx1 up"), 0);
}

static void
test_xdp_drops_exactly_the_attack(void **state)
{
	const char *drivers[] = { "xdp" };
	struct mit_request q = udp_flood_request(20, "192.0.2.0/24");
	struct mit_request q2 = udp_flood_request(21, "192.0.2.10");
	struct mit_counters c;
	struct mit_mgr *m;
	uint64_t id, id2;
	const struct mit_entry *e;
	int fd;

	if (!have_netns)
		skip();
	make_veth();
	m = new_mgr("drivers:\n  xdp: {interfaces: [mx0]}\n");
	q.n_sources = 0;
	assert_int_equal(mit_start(m, &q, drivers, 1, 1000, &id), 0);
	assert_int_equal(mit_get(m, id)->status, MIT_MITIGATING);
	assert_string_equal(mit_get(m, id)->driver, "xdp");
	fd = xdp_prog_fd("mx0");
	assert_true(fd >= 0);

	/* Scope "proto": UDP to port 53 of the /24 is dropped, nothing else. */
	assert_int_equal(xdp_verdict(fd, "198.51.100.1", "192.0.2.77", 53), XDP_DROP);
	assert_int_equal(xdp_verdict(fd, "198.51.100.1", "192.0.2.77", 80), XDP_PASS);
	assert_int_equal(xdp_verdict(fd, "198.51.100.1", "192.0.3.1", 53), XDP_PASS);

	/* A more specific source-scoped rule must not hide the covering one. */
	assert_int_equal(mit_start(m, &q2, drivers, 1, 1000, &id2), 0);
	assert_int_equal(xdp_verdict(fd, "198.51.100.1", "192.0.2.10", 53), XDP_DROP);
	assert_int_equal(mit_stop(m, id, 1001, "test"), 0);
	/* Rule 1 withdrawn: only rule 2's /32 still drops. */
	assert_int_equal(xdp_verdict(fd, "198.51.100.1", "192.0.2.10", 53), XDP_DROP);
	assert_int_equal(xdp_verdict(fd, "198.51.100.1", "192.0.2.77", 53), XDP_PASS);

	/* The program counted what it dropped for rule 2; the tick reads it back. */
	mit_tick(m, 1002);
	e = mit_get(m, id2);
	assert_int_equal(e->status, MIT_MITIGATING);
	c = e->counters;
	assert_true(c.packets >= 1 && c.bytes >= 64);
	assert_int_equal(mit_stop(m, id2, 1003, "test"), 0);
	close(fd);
	/* The last rule gone, the program is detached: nothing left behind. */
	assert_int_equal(xdp_prog_fd("mx0"), -1);
	mit_mgr_free(m);
}

static void
test_xdp_survives_restart(void **state)
{
	const char *drivers[] = { "xdp" };
	const char *yaml = "drivers:\n  xdp: {interfaces: [mx0]}\n";
	struct mit_request q = udp_flood_request(22, "192.0.2.20");
	struct mit_mgr *m;
	uint64_t id;
	char *saved;
	int fd;

	if (!have_netns)
		skip();
	make_veth();
	m = new_mgr(yaml);
	assert_int_equal(mit_start(m, &q, drivers, 1, 1000, &id), 0);
	saved = mit_save(m);
	mit_mgr_free(m);	/* killed: the program stays and keeps dropping */
	fd = xdp_prog_fd("mx0");
	assert_true(fd >= 0);
	assert_int_equal(xdp_verdict(fd, "198.51.100.7", "192.0.2.20", 53), XDP_DROP);
	close(fd);

	m = new_mgr(yaml);
	assert_int_equal(mit_load(m, saved), 0);
	assert_int_equal(mit_reconcile(m, 2000, NULL), 0);	/* found as it was: no repair */
	assert_int_equal(mit_stop_attack(m, 22, 2001), 0);
	assert_int_equal(xdp_prog_fd("mx0"), -1);
	mit_mgr_free(m);
	free(saved);
}

static void
test_ratelimit_skips_xdp_for_nft(void **state)
{
	const char *drivers[] = { "xdp", "nft" };
	struct mit_request q = udp_flood_request(23, "192.0.2.30");
	struct mit_mgr *m;
	uint64_t id, ids[8];

	if (!have_netns)
		skip();
	make_veth();
	flush_moat_table();
	m = new_mgr("action: ratelimit\nrate_pps: 500\ndrivers:\n  xdp: {interfaces: [mx0]}\n");
	assert_int_equal(mit_start(m, &q, drivers, 1 + 1, 1000, &id), 0);
	assert_string_equal(mit_get(m, id)->driver, "nft");
	assert_int_equal(kernel_rules(ids, 8), 1);
	assert_int_equal(xdp_prog_fd("mx0"), -1);
	assert_int_equal(mit_stop(m, id, 1001, "test"), 0);
	mit_mgr_free(m);
}

/* ---- notify: a real script and a real HTTP receiver on loopback ---- */

struct receiver {
	int fd;
	char body[2][8192];
};

/* Accept one HTTP request, keep its body, answer 200. */
static void
receive_one(int fd, char *body, size_t body_len)
{
	char buf[16384];
	size_t len = 0;
	ssize_t n;
	int c;

	/* A script exiting (SIGCHLD) may interrupt us: retry. */
	while ((c = accept(fd, NULL, NULL)) < 0 && errno == EINTR)
		;
	if (c < 0) {
		snprintf(body, body_len, "accept: %s", strerror(errno));
		return;
	}
	while (len < sizeof(buf) - 1) {
		char *hdr_end, *cl;
		if ((n = read(c, buf + len, sizeof(buf) - 1 - len)) < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
		if ((hdr_end = strstr(buf, "\r\n\r\n")) == NULL)
			continue;
		cl = strcasestr(buf, "Content-Length:");
		if (cl != NULL && len >= (size_t)(hdr_end + 4 - buf) + strtoul(cl + 15, NULL, 10)) {
			snprintf(body, body_len, "%s", hdr_end + 4);
			break;
		}
	}
	if (body[0] == '\0') {
		buf[len] = '\0';
		snprintf(body, body_len, "incomplete after %zu bytes: %.1000s", len, buf);
	}
	dprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
	close(c);
}

/* The webhook receiver: the "ban" and then the "unban" call. */
static void *
receiver_main(void *arg)
{
	struct receiver *rv = arg;

	receive_one(rv->fd, rv->body[0], sizeof(rv->body[0]));
	receive_one(rv->fd, rv->body[1], sizeof(rv->body[1]));
	return NULL;
}

static void
test_notify_script_and_webhook(void **state)
{
	const char *drivers[] = { "notify" };
	struct mit_request q = udp_flood_request(30, "192.0.2.40");
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t slen = sizeof(sin);
	char dir[] = "/tmp/moat-notify-XXXXXX", script[128], out[160], yaml[512], got[4096];
	struct receiver rv = { 0 };
	struct mit_mgr *m;
	pthread_t th;
	uint64_t id;
	FILE *f;
	size_t n;

	assert_non_null(mkdtemp(dir));
	snprintf(script, sizeof(script), "%s/hook.sh", dir);
	snprintf(out, sizeof(out), "%s/calls", dir);
	f = fopen(script, "w");
	assert_non_null(f);
	/* One file per call: the ban and unban scripts may run at the same time. */
	fprintf(f, "#!/bin/sh\nf=$(mktemp %s.XXXXXX)\necho \"$@\" > $f\ncat >> $f\n", out);
	fclose(f);
	assert_int_equal(chmod(script, 0700), 0);

	rv.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(rv.fd >= 0);
	assert_int_equal(bind(rv.fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(rv.fd, 4), 0);
	/* accept() gives up after 10 s, so a broken webhook fails the test instead of hanging it. */
	assert_int_equal(setsockopt(rv.fd, SOL_SOCKET, SO_RCVTIMEO,
	    &(struct timeval){ .tv_sec = 10 }, sizeof(struct timeval)), 0);
	assert_int_equal(getsockname(rv.fd, (struct sockaddr *)&sin, &slen), 0);
	assert_int_equal(pthread_create(&th, NULL, receiver_main, &rv), 0);

	snprintf(yaml, sizeof(yaml), "drivers:\n  notify:\n    script: %s\n"
	    "    webhook: http://127.0.0.1:%d/hook\n", script, ntohs(sin.sin_port));
	m = new_mgr(yaml);
	q.peak_pps = 12345;
	assert_int_equal(mit_start(m, &q, drivers, 1, 1000, &id), 0);
	assert_int_equal(mit_get(m, id)->status, MIT_MITIGATING);
	assert_int_equal(mit_stop(m, id, 1001, "test"), 0);
	pthread_join(th, NULL);
	close(rv.fd);
	assert_non_null(strstr(rv.body[0], "\"event\":\"ban\""));
	assert_non_null(strstr(rv.body[0], "\"po\":\"web\""));
	assert_non_null(strstr(rv.body[0], "192.0.2.40"));
	if (strstr(rv.body[1], "\"event\":\"unban\"") == NULL)
		fail_msg("second webhook body: '%s' / first: '%s'", rv.body[1], rv.body[0]);
	mit_mgr_free(m);	/* waits for the scripts */
	snprintf(yaml, sizeof(yaml), "cat %s.* > %s", out, out);
	assert_int_equal(system(yaml), 0);
	f = fopen(out, "r");
	assert_non_null(f);
	n = fread(got, 1, sizeof(got) - 1, f);
	got[n] = '\0';
	fclose(f);
	assert_non_null(strstr(got, "ban 192.0.2.40/32 web udp-flood 12345\n{"));
	assert_non_null(strstr(got, "unban 192.0.2.40/32 web udp-flood 12345\n{"));
	assert_non_null(strstr(got, "\"attack_id\":30"));
	snprintf(yaml, sizeof(yaml), "rm -rf %s", dir);
	assert_int_equal(system(yaml), 0);
}

/* ---- bgp: GoBGP here, BIRD 2 in a second namespace, checked on BIRD's side ---- */

struct bgp_lab {
	char dir[64];
	char ns[32];
	pid_t gobgpd;
};

static struct bgp_lab lab;

static bool
have_program(const char *name)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", name);
	return system(cmd) == 0;
}

/* Run a shell command and return its output (static buffer). */
static const char *sh_out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *
sh_out(const char *fmt, ...)
{
	static char out[65536];
	char cmd[1024];
	va_list ap;
	size_t n;
	FILE *f;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	out[0] = '\0';
	if ((f = popen(cmd, "r")) == NULL)
		return out;
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	pclose(f);
	return out;
}

/* Format and run a shell command; returns its exit status. */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int
sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

/* Poll BIRD's view until `needle` is (present) or is not (!present) in it; 15 s at most. */
static bool
bird_shows(const char *table, const char *needle, bool present)
{
	for (int i = 0; i < 150; i++) {
		const char *o = sh_out("ip netns exec %s birdc -s %s/bird.ctl show route %s%s all",
		    lab.ns, lab.dir, table ? "table " : "", table ? table : "");
		if ((strstr(o, needle) != NULL) == present)
			return true;
		usleep(100 * 1000);
	}
	return false;
}

static int
bgp_lab_up(void **state)
{
	char path[128];
	FILE *f;

	if (!have_netns || !have_program("gobgpd") || !have_program("bird"))
		return 0;
	snprintf(lab.dir, sizeof(lab.dir), "/tmp/moat-bgp-XXXXXX");
	assert_non_null(mkdtemp(lab.dir));
	snprintf(lab.ns, sizeof(lab.ns), "moatbgp%d", (int)getpid());
	assert_int_equal(sh("ip netns add %s && ip link add bg0 type veth peer name bg1 netns %s"
	    " && ip addr add 198.51.100.1/30 dev bg0 && ip link set bg0 up"
	    " && ip -n %s addr add 198.51.100.2/30 dev bg1 && ip -n %s link set bg1 up"
	    " && ip -n %s link set lo up", lab.ns, lab.ns, lab.ns, lab.ns, lab.ns), 0);

	snprintf(path, sizeof(path), "%s/gobgpd.toml", lab.dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "[global.config]\n  as = 64500\n  router-id = \"198.51.100.1\"\n  port = 1790\n"
	    "[[neighbors]]\n  [neighbors.config]\n    neighbor-address = \"198.51.100.2\"\n"
	    "    peer-as = 64501\n  [neighbors.timers.config]\n    connect-retry = 1\n"
	    "  [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n"
	    "      afi-safi-name = \"ipv4-unicast\"\n"
	    "  [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n"
	    "      afi-safi-name = \"ipv4-flowspec\"\n");
	fclose(f);
	snprintf(path, sizeof(path), "%s/bird.conf", lab.dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "router id 198.51.100.2;\nprotocol device {}\nflow4 table flowtab4;\n"
	    "protocol bgp up {\n  local 198.51.100.2 as 64501;\n"
	    "  neighbor 198.51.100.1 port 1790 as 64500;\n  connect delay time 1;\n"
	    "  connect retry time 1;\n  ipv4 { import all; export none; };\n"
	    "  flow4 { table flowtab4; import all; export none; };\n}\n");
	fclose(f);

	lab.gobgpd = fork();
	assert_true(lab.gobgpd >= 0);
	if (lab.gobgpd == 0) {
		char conf[128], log[128];
		snprintf(conf, sizeof(conf), "%s/gobgpd.toml", lab.dir);
		snprintf(log, sizeof(log), "%s/gobgpd.log", lab.dir);
		if (freopen(log, "w", stdout) == NULL || freopen(log, "w", stderr) == NULL)
			_exit(127);
		execlp("gobgpd", "gobgpd", "-f", conf, "-t", "toml", "--api-hosts",
		    "127.0.0.1:50051", (char *)NULL);
		_exit(127);
	}
	assert_int_equal(sh("ip netns exec %s bird -c %s/bird.conf -s %s/bird.ctl -P %s/bird.pid",
	    lab.ns, lab.dir, lab.dir, lab.dir), 0);
	for (int i = 0; i < 300; i++) {
		if (strstr(sh_out("gobgp neighbor 2>/dev/null"), "Establ") != NULL)
			return 0;
		usleep(100 * 1000);
	}
	fail_msg("BGP session with BIRD did not come up: %s", sh_out("cat %s/gobgpd.log", lab.dir));
	return 0;
}

static int
bgp_lab_down(void **state)
{
	if (lab.gobgpd > 0) {
		kill(lab.gobgpd, SIGTERM);
		waitpid(lab.gobgpd, NULL, 0);
		lab.gobgpd = 0;
	}
	if (lab.ns[0] != '\0') {
		if (sh("kill $(cat %s/bird.pid) 2>/dev/null; ip link del bg0 2>/dev/null;"
		    " ip netns del %s; rm -rf %s", lab.dir, lab.ns, lab.dir) != 0)
			fprintf(stderr, "bgp lab: cleanup of %s failed\n", lab.ns);
		lab.ns[0] = '\0';
	}
	return 0;
}

static void
test_bgp_blackhole_and_flowspec(void **state)
{
	const char *drivers[] = { "bgp" };
	struct mit_request q1 = udp_flood_request(40, "192.0.2.10");
	struct mit_request q2 = udp_flood_request(41, "192.0.2.10");
	struct mit_mgr *m;
	uint64_t id1, id2;

	if (lab.ns[0] == '\0')
		skip();
	m = new_mgr("scope: target\ndrivers:\n  bgp: {local_as: 64500, next_hop: 198.51.100.1}\n");
	assert_int_equal(mit_start(m, &q1, drivers, 1, 1000, &id1), 0);
	assert_int_equal(mit_get(m, id1)->status, MIT_MITIGATING);
	assert_true(bird_shows(NULL, "BGP.community: (65535,666)", true));
	assert_true(bird_shows(NULL, "192.0.2.10/32", true));

	/* Two attacks want the same host route; ending one keeps it. */
	assert_int_equal(mit_start(m, &q2, drivers, 1, 1000, &id2), 0);
	assert_int_equal(mit_stop(m, id1, 1001, "test"), 0);
	assert_true(bird_shows(NULL, "192.0.2.10/32", true));
	assert_int_equal(mit_stop(m, id2, 1002, "test"), 0);
	assert_true(bird_shows(NULL, "192.0.2.10/32", false));
	mit_mgr_free(m);

	m = new_mgr("drivers:\n  bgp: {local_as: 64500, mode: flowspec}\n");
	assert_int_equal(mit_start(m, &q1, drivers, 1, 2000, &id1), 0);
	assert_int_equal(mit_get(m, id1)->status, MIT_MITIGATING);
	assert_true(bird_shows("flowtab4", "dst 192.0.2.10/32; proto 17; dport 53;", true));
	assert_int_equal(mit_stop(m, id1, 2001, "test"), 0);
	assert_true(bird_shows("flowtab4", "192.0.2.10/32", false));
	mit_mgr_free(m);
}

static void
test_bgp_restart_reconciles(void **state)
{
	const char *drivers[] = { "bgp" };
	const char *yaml = "scope: target\ndrivers:\n  bgp: {local_as: 64500, next_hop: 198.51.100.1}\n";
	struct mit_request q = udp_flood_request(42, "192.0.2.11");
	struct mit_mgr *m;
	uint64_t id;
	char *saved;

	if (lab.ns[0] == '\0')
		skip();
	m = new_mgr(yaml);
	assert_int_equal(mit_start(m, &q, drivers, 1, 1000, &id), 0);
	saved = mit_save(m);
	mit_mgr_free(m);
	assert_true(bird_shows(NULL, "192.0.2.11/32", true));
	/* By hand: the live route withdrawn, a stale moat-tagged one added. */
	assert_int_equal(system("gobgp global rib -a ipv4 del 192.0.2.11/32"), 0);
	assert_int_equal(system("gobgp global rib -a ipv4 add 192.0.2.99/32 nexthop 198.51.100.1 "
	    "community 65535:666 large-community 64500:0:7"), 0);
	assert_true(bird_shows(NULL, "192.0.2.99/32", true));

	m = new_mgr(yaml);
	assert_int_equal(mit_load(m, saved), 0);
	assert_int_equal(mit_reconcile(m, 2000, NULL), 2);
	assert_true(bird_shows(NULL, "192.0.2.11/32", true));
	assert_true(bird_shows(NULL, "192.0.2.99/32", false));
	assert_int_equal(mit_reconcile(m, 2001, NULL), 0);
	assert_int_equal(mit_stop_attack(m, 42, 2002), 0);
	assert_true(bird_shows(NULL, "192.0.2.11/32", false));
	mit_mgr_free(m);
	free(saved);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nft_apply_and_exact_undo),
		cmocka_unit_test(test_decline_moves_to_next_driver),
		cmocka_unit_test(test_not_mitigated_when_nothing_applies),
		cmocka_unit_test(test_allowlist_is_never_blocked),
		cmocka_unit_test(test_dry_run_records_without_effect),
		cmocka_unit_test(test_max_duration_ends),
		cmocka_unit_test(test_probe_lifts_and_reinstalls_nft),
		cmocka_unit_test(test_restart_reconciles_both_ways),
		cmocka_unit_test(test_xdp_drops_exactly_the_attack),
		cmocka_unit_test(test_xdp_survives_restart),
		cmocka_unit_test(test_ratelimit_skips_xdp_for_nft),
		cmocka_unit_test(test_notify_script_and_webhook),
		cmocka_unit_test_setup_teardown(test_bgp_blackhole_and_flowspec, bgp_lab_up, bgp_lab_down),
		cmocka_unit_test_setup_teardown(test_bgp_restart_reconciles, bgp_lab_up, bgp_lab_down),
	};

	/* A namespace of our own: nothing here can touch the host's ruleset. */
	have_netns = unshare(CLONE_NEWNET) == 0 && system("ip link set lo up") == 0;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
