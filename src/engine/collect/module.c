#include "engine/collect/module.h"

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "collect/afpacket.h"
#include "collect/dgram.h"
#include "collect/ipfix.h"
#include "collect/pcapin.h"
#include "common/clock.h"
#include "common/limits.h"
#include "common/log.h"
#include "collect/conf.h"
#include "engine/core/flight.h"
#include "engine/core/health.h"
#include "engine/po/poset.h"
#include "engine/core/settings.h"

#define RECV_BATCH	32u		/* datagrams per recvmmsg */
#define RECV_ROUNDS	16u		/* recvmmsg calls per socket per wakeup: fairness */
#define DGRAM_MAX	65536u
#define PCAP_CHUNK	4096u		/* packets between stats updates */
#define RETIRED_MAX	8u
#define SWEEP_NS	500000000u	/* exporter expiry, TCP deadlines, publishing */
#define REFUSAL_REPORT_S 60u		/* one health issue per refusal reason a minute */

struct tcp_conn {
	int fd;
	struct ipaddr peer;
	uint64_t accepted_ns;
	uint64_t progress_ns;		/* the last complete message (or accept) */
	bool header_seen;		/* a complete message header has arrived */
	size_t len;
	uint8_t buf[65536];		/* one IPFIX message at most (16-bit length) */
};

struct pcap_job {
	struct collector *c;
	unsigned idx;			/* into inputs[] */
	char *file;
	double speed;
	struct counters_shard *shard;
	const struct pcapin_stats *st;	/* the running replay's, for on_time */
	pthread_t th;
	bool started;
};

struct collector {
	struct engine *e;
	const struct collect_conf *conf;
	struct counters *cnt;
	/* set by the engine's wiring, before start */
	counters_reading_fn reading_fn;
	void *reading_ctx;
	counters_obs_fn sample_fn;
	void *sample_ctx;

	/* PO matching: our own LPM, so a swap never frees one a thread uses */
	struct lpm *lpm;
	struct lpm *retired[RETIRED_MAX];

	/* network thread: UDP and IPFIX/TCP */
	struct exporter_table *exp;
	int epfd;
	int udp[LIMIT_COLLECT_LISTENERS];
	unsigned nudp;
	int tcpl[LIMIT_COLLECT_LISTENERS];
	unsigned ntcpl;
	/* Allow-lists, resolved at start; each listener's index into allow[] */
	struct collect_allow allow[1 + 2 * LIMIT_COLLECT_LISTENERS];
	uint8_t udp_allow[LIMIT_COLLECT_LISTENERS];
	uint8_t tcp_allow[LIMIT_COLLECT_LISTENERS];
	/* Refusals as last reported (engine thread) */
	struct exporter_refusals ref_seen;
	uint64_t ref_report_ns[EXPORTER_REFUSED__COUNT];
	uint64_t hosts_report_ns;
	struct tcp_conn *conns[LIMIT_COLLECT_TCP_CONNS];
	pthread_t net_th;
	bool net_started;
	uint8_t (*rbuf)[DGRAM_MAX];	/* RECV_BATCH buffers */
	_Atomic uint64_t unparsed;

	/* pcap replays and capture workers, one shard each */
	struct pcap_job pcap[LIMIT_COLLECT_LISTENERS];
	unsigned npcap;
	/* clock: packet — the replay offers each 1 s boundary and waits for
	   the engine's tick (common/clock.h) */
	bool packet_time;
	struct clock_step step;
	/* Inputs' locations start here: after the exporters' — or at 0 on
	   packet time, which has no exporters, so a tick sums a handful of
	   locations instead of a thousand (a day of replay is 86,400 ticks). */
	uint32_t loc_base;
	struct afpacket *cap[LIMIT_COLLECT_LISTENERS];
	unsigned ncap;
	_Atomic bool stop;

	pthread_mutex_t lock;		/* guards inputs[] */
	struct collector_input inputs[2 * LIMIT_COLLECT_LISTENERS];
	unsigned ninputs;
};

struct collector *
collector_get(struct engine *e)
{
	return engine_slot(e, ENGINE_MOD_COLLECT);
}

const struct counters *
collector_counters(const struct collector *c)
{
	return c->cnt;
}

void
collector_set_reading_fn(struct collector *c, counters_reading_fn fn, void *ctx)
{
	c->reading_fn = fn;
	c->reading_ctx = ctx;
}

void
collector_set_sample_fn(struct collector *c, counters_obs_fn fn, void *ctx)
{
	c->sample_fn = fn;
	c->sample_ctx = ctx;
}

void
collector_set_conn_sink(struct collector *c, ipfix_conn_fn fn, void *ctx)
{
	exporter_table_set_conn_sink(c->exp, fn, ctx);
}

uint64_t
collector_unparsed(const struct collector *c)
{
	return atomic_load(&c->unparsed);
}

/* ---- sockets ---- */

static socklen_t
ep_sockaddr(const struct collect_endpoint *ep, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (ep->addr.af == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(ep->port);
		memcpy(&s6->sin6_addr, ep->addr.a, 16);
		return sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(ep->port);
		memcpy(&s4->sin_addr, ep->addr.a, 4);
		return sizeof(*s4);
	}
}

static void
sockaddr_ipaddr(const struct sockaddr_storage *ss, struct ipaddr *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;

		ret->af = AF_INET6;
		memcpy(ret->a, &s6->sin6_addr, 16);
	} else if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;

		ret->af = AF_INET;
		memcpy(ret->a, &s4->sin_addr, 4);
	}
}

static int
open_socket(const struct collect_endpoint *ep, int type)
{
	struct sockaddr_storage ss;
	socklen_t sl = ep_sockaddr(ep, &ss);
	int one = 1, rcvbuf = 8 << 20;
	int fd = socket(ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (ss.ss_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (type == SOCK_STREAM)
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	else	/* best effort: bursts of export datagrams */
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0 ||
	    (type == SOCK_STREAM && listen(fd, 64) < 0)) {
		int e = errno;

		close(fd);
		return -e;
	}
	return fd;
}

static int
epoll_add(struct collector *c, int fd, uint64_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };

	return epoll_ctl(c->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

/* epoll tags: kind in the top byte, index below */
enum { TAG_UDP = 1, TAG_TCPL, TAG_CONN };
#define TAG(kind, i) ((uint64_t)(kind) << 56 | (uint64_t)(i))

static int
open_listeners(struct collector *c)
{
	char buf[IPADDR_STRLEN];
	int fd, r;

	for (unsigned i = 0; i < c->conf->nudp; i++) {
		const struct collect_endpoint *ep = &c->conf->udp[i];

		fd = open_socket(ep, SOCK_DGRAM);
		if (fd < 0) {
			errno = -fd;
			log_warn("collect: udp %s port %u", ipaddr_format(&ep->addr, buf, sizeof(buf)),
			    ep->port);
			return fd;
		}
		c->udp_allow[c->nudp] = (uint8_t)ep->allow;
		c->udp[c->nudp++] = fd;
		if ((r = epoll_add(c, fd, TAG(TAG_UDP, c->nudp - 1))) < 0)
			return r;
		log_info("collect: listening for flow exports on udp %s port %u",
		    ipaddr_format(&ep->addr, buf, sizeof(buf)), ep->port);
	}
	for (unsigned i = 0; i < c->conf->ntcp; i++) {
		const struct collect_endpoint *ep = &c->conf->tcp[i];

		fd = open_socket(ep, SOCK_STREAM);
		if (fd < 0) {
			errno = -fd;
			log_warn("collect: tcp %s port %u", ipaddr_format(&ep->addr, buf, sizeof(buf)),
			    ep->port);
			return fd;
		}
		c->tcp_allow[c->ntcpl] = (uint8_t)ep->allow;
		c->tcpl[c->ntcpl++] = fd;
		if ((r = epoll_add(c, fd, TAG(TAG_TCPL, c->ntcpl - 1))) < 0)
			return r;
		log_info("collect: listening for IPFIX on tcp %s port %u",
		    ipaddr_format(&ep->addr, buf, sizeof(buf)), ep->port);
	}
	return 0;
}

/* ---- the network thread ---- */

static void
count_result(struct collector *c, int r)
{
	if (r == -EPROTONOSUPPORT || r == -ENOSPC)
		atomic_fetch_add(&c->unparsed, 1);
}

static void
udp_drain(struct collector *c, unsigned idx, struct counters_shard *shard)
{
	const struct collect_allow *allow = &c->allow[c->udp_allow[idx]];
	int fd = c->udp[idx];
	struct mmsghdr msgs[RECV_BATCH];
	struct iovec iov[RECV_BATCH];
	struct sockaddr_storage from[RECV_BATCH];

	for (unsigned round = 0; round < RECV_ROUNDS; round++) {
		uint64_t now = clock_now_ns(CLOCK_REALTIME);
		int n;

		memset(msgs, 0, sizeof(msgs));
		for (unsigned i = 0; i < RECV_BATCH; i++) {
			iov[i] = (struct iovec){ c->rbuf[i], DGRAM_MAX };
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
			msgs[i].msg_hdr.msg_name = &from[i];
			msgs[i].msg_hdr.msg_namelen = sizeof(from[i]);
		}
		n = recvmmsg(fd, msgs, RECV_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;
		for (int i = 0; i < n; i++) {
			struct ipaddr src;

			sockaddr_ipaddr(&from[i], &src);
			if (!collect_allow_match(allow, &src)) {
				exporter_table_refuse(c->exp, EXPORTER_REFUSED_NOT_ALLOWED, &src, now);
				continue;
			}
			count_result(c, dgram_parse(c->exp, &src, c->rbuf[i], msgs[i].msg_len, now,
			    counters_sink, shard));
		}
		if ((unsigned)n < RECV_BATCH)
			return;
	}
}

static void
conn_close(struct collector *c, unsigned i)
{
	close(c->conns[i]->fd);	/* also leaves the epoll set */
	free(c->conns[i]);
	c->conns[i] = NULL;
}

/* Connections open from peer. */
static unsigned
conns_from(const struct collector *c, const struct ipaddr *peer)
{
	unsigned n = 0;

	for (unsigned i = 0; i < LIMIT_COLLECT_TCP_CONNS; i++)
		if (c->conns[i] && ipaddr_equal(&c->conns[i]->peer, peer))
			n++;
	return n;
}

static void
tcp_accept(struct collector *c, unsigned idx)
{
	const struct collect_allow *allow = &c->allow[c->tcp_allow[idx]];
	int lfd = c->tcpl[idx];

	for (;;) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		uint64_t now = clock_now_ns(CLOCK_REALTIME);
		struct ipaddr peer;
		unsigned i;

		if (fd < 0)
			return;
		sockaddr_ipaddr(&ss, &peer);
		if (!collect_allow_match(allow, &peer)) {
			exporter_table_refuse(c->exp, EXPORTER_REFUSED_NOT_ALLOWED, &peer, now);
			close(fd);
			continue;
		}
		if (conns_from(c, &peer) >= LIMIT_COLLECT_TCP_PER_SOURCE) {
			exporter_table_refuse(c->exp, EXPORTER_REFUSED_TCP_CAP, &peer, now);
			close(fd);
			continue;
		}
		for (i = 0; i < LIMIT_COLLECT_TCP_CONNS && c->conns[i]; i++)
			;
		if (i == LIMIT_COLLECT_TCP_CONNS || (c->conns[i] = calloc(1, sizeof(struct tcp_conn))) == NULL) {
			log_ratelimited(1, 10, log_warnx, "collect: IPFIX/TCP connection refused: %u open",
			    LIMIT_COLLECT_TCP_CONNS);
			close(fd);
			continue;
		}
		c->conns[i]->fd = fd;
		c->conns[i]->peer = peer;
		c->conns[i]->accepted_ns = now;
		c->conns[i]->progress_ns = now;
		if (epoll_add(c, fd, TAG(TAG_CONN, i)) < 0)
			conn_close(c, i);
	}
}

/* Parse every whole message in the buffer; false: the stream is broken. */
static bool
conn_messages(struct collector *c, struct tcp_conn *k, struct counters_shard *shard)
{
	size_t off = 0;

	for (;;) {
		long mlen = ipfix_frame(k->buf + off, k->len - off);

		if (mlen < 0)
			return false;
		if (mlen > 0 && k->len - off >= IPFIX_HEADER_LEN)
			k->header_seen = true;
		if (mlen == 0 || (size_t)mlen > k->len - off)
			break;
		k->progress_ns = clock_now_ns(CLOCK_REALTIME);
		if (ipfix_parse(c->exp, &k->peer, &(struct cursor){ k->buf + off, (size_t)mlen, 0 },
		    clock_now_ns(CLOCK_REALTIME), counters_sink, shard) < 0)
			atomic_fetch_add(&c->unparsed, 1);
		off += (size_t)mlen;
	}
	memmove(k->buf, k->buf + off, k->len - off);
	k->len -= off;
	return true;
}

static void
tcp_read(struct collector *c, unsigned i, struct counters_shard *shard)
{
	struct tcp_conn *k = c->conns[i];

	for (unsigned round = 0; round < RECV_ROUNDS; round++) {
		ssize_t n = read(k->fd, k->buf + k->len, sizeof(k->buf) - k->len);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			conn_close(c, i);
			return;
		}
		k->len += (size_t)n;
		if (!conn_messages(c, k, shard)) {
			log_ratelimited(5, 10, log_warnx, "collect: IPFIX/TCP stream not IPFIX; closed");
			conn_close(c, i);
			return;
		}
	}
}

/*
 * Close connections that hold a slot without exporting: no complete message
 * header within LIMIT_COLLECT_TCP_HEADER_S of the accept, or a partial
 * message trickling for LIMIT_COLLECT_TCP_IDLE_S. A connection with nothing
 * buffered may stay quiet (an exporter with no flows to report).
 */
static void
tcp_sweep(struct collector *c, uint64_t now)
{
	for (unsigned i = 0; i < LIMIT_COLLECT_TCP_CONNS; i++) {
		struct tcp_conn *k = c->conns[i];

		if (k == NULL)
			continue;
		if ((!k->header_seen && now - k->accepted_ns >= LIMIT_COLLECT_TCP_HEADER_S * 1000000000ull) ||
		    (k->len > 0 && now - k->progress_ns >= LIMIT_COLLECT_TCP_IDLE_S * 1000000000ull)) {
			exporter_table_refuse(c->exp, EXPORTER_REFUSED_TCP_DEADLINE, &k->peer, now);
			conn_close(c, i);
		}
	}
}

static void *
net_thread(void *arg)
{
	struct collector *c = arg;
	struct counters_shard *shard = counters_shard(c->cnt, 0);
	uint64_t last_pub = 0;

	while (!atomic_load(&c->stop)) {
		struct epoll_event evs[16];
		int n = epoll_wait(c->epfd, evs, 16, 500);

		for (int i = 0; i < n; i++) {
			unsigned kind = (unsigned)(evs[i].data.u64 >> 56);
			unsigned idx = (unsigned)(evs[i].data.u64 & 0xffffffu);

			if (kind == TAG_UDP)
				udp_drain(c, idx, shard);
			else if (kind == TAG_TCPL)
				tcp_accept(c, idx);
			else if (kind == TAG_CONN && c->conns[idx])
				tcp_read(c, idx, shard);
		}
		if (clock_now_ns(CLOCK_REALTIME) - last_pub >= SWEEP_NS) {
			last_pub = clock_now_ns(CLOCK_REALTIME);
			tcp_sweep(c, last_pub);
			exporter_table_expire(c->exp, last_pub);
			exporter_table_publish(c->exp);
		}
	}
	exporter_table_publish(c->exp);
	return NULL;
}

/* ---- pcap replay threads ---- */

static void
pcap_publish(struct collector *c, unsigned idx, const struct pcapin_stats *st, bool done,
    bool failed)
{
	struct collector_input *in = &c->inputs[idx];

	pthread_mutex_lock(&c->lock);
	in->packets = st->packets;
	in->decoded = st->decoded;
	in->not_ip = st->not_ip;
	in->malformed = st->malformed;
	in->bytes = st->bytes;
	in->first_ns = st->first_ns;
	in->last_ns = st->last_ns;
	in->packet_time = c->packet_time;
	in->done = done;
	in->failed = failed;
	pthread_mutex_unlock(&c->lock);
}

/* Packet time: everything before boundary_ns is counted; publish the
 * progress and park the replay until the engine has closed that interval
 * (on_time hook of pcapin). */
static void
pcap_on_time(void *ctx, uint64_t boundary_ns)
{
	struct pcap_job *j = ctx;

	pcap_publish(j->c, j->idx, j->st, false, false);
	(void)clock_step_offer(&j->c->step, boundary_ns);	/* -ECANCELED: stopping */
}

static void *
pcap_thread(void *arg)
{
	struct pcap_job *j = arg;
	struct collector *c = j->c;
	struct pcapin_hooks h = {
		.sink = counters_sink,
		.sink_ctx = j->shard,
		.on_time = c->packet_time ? pcap_on_time : NULL,
		.time_ctx = j,
		.step_ns = c->packet_time ? CLOCK_NS_PER_SEC : 0,
		.location = c->inputs[j->idx].location,
		.realtime = j->speed > 0,
		.speed = j->speed,
		.stop = &c->stop,
	};
	struct pcapin_stats st = { 0 };
	struct pcapin *p = NULL;
	/* A paced replay sleeps between packets anyway: publish each one. */
	uint64_t chunk = h.realtime ? 1 : PCAP_CHUNK;
	char err[512];
	int r;

	j->st = &st;
	r = pcapin_open_file(j->file, &p, err, sizeof(err));
	if (r < 0) {
		log_warnx("collect: pcap replay: %s", err);
		pcap_publish(c, j->idx, &st, true, true);
		return NULL;
	}
	do {
		r = pcapin_run(p, &h, chunk, &st);
		pcap_publish(c, j->idx, &st, false, false);
	} while (r == 0 && !atomic_load(&c->stop));
	/* Close the last second too, before saying done: a reader that sees
	   done sees every packet counted. */
	if (!atomic_load(&c->stop))
		pcapin_end_time(p, &h);
	pcapin_close(p);
	if (r < 0)
		log_warnx("collect: pcap replay of %s: read error after %llu packets", j->file,
		    (unsigned long long)st.packets);
	log_info("collect: pcap replay of %s done: %llu packets, %llu IP, %llu bytes", j->file,
	    (unsigned long long)st.packets, (unsigned long long)st.decoded,
	    (unsigned long long)st.bytes);
	pcap_publish(c, j->idx, &st, true, r < 0);
	return NULL;
}

/* ---- inputs table ---- */

static unsigned
input_add(struct collector *c, const char *kind, const char *name)
{
	struct collector_input *in = &c->inputs[c->ninputs];

	snprintf(in->kind, sizeof(in->kind), "%s", kind);
	snprintf(in->name, sizeof(in->name), "%s", name);
	in->location = c->loc_base + c->ninputs;
	return c->ninputs++;
}

size_t
collector_exporters(struct collector *c, struct exporter_info *out, size_t max)
{
	return exporter_table_snapshot(c->exp, out, max);
}

void
collector_refusals(struct collector *c, struct exporter_refusals *ret)
{
	exporter_table_refusals(c->exp, ret);
}

/*
 * Refused senders are a health issue naming the last offender, at most once
 * a minute per reason (significance 0.1: a steady flood keeps moatd
 * "degraded", never drives it to a reset), and a flight entry.
 */
static void
report_refusals(struct collector *c, uint64_t now_ns)
{
	struct exporter_refusals ref;
	char buf[IPADDR_STRLEN];

	exporter_table_refusals(c->exp, &ref);
	for (unsigned k = 0; k < EXPORTER_REFUSED__COUNT; k++) {
		uint64_t n = ref.n[k] - c->ref_seen.n[k];
		json_t *detail;

		if (n == 0 || (c->ref_report_ns[k] != 0 &&
		    now_ns - c->ref_report_ns[k] < REFUSAL_REPORT_S * 1000000000ull))
			continue;
		ipaddr_format(&ref.last[k], buf, sizeof(buf));
		health_report(engine_health(c->e), "collect", 0.1,
		    "flow exports refused (%s): %llu, the last from %s", exporter_refusal_name(k),
		    (unsigned long long)n, buf);
		log_warnx("collect: %llu flow exports refused (%s), the last from %s",
		    (unsigned long long)n, exporter_refusal_name(k), buf);
		detail = json_pack("{s:s, s:s, s:I}", "source", buf, "reason",
		    exporter_refusal_name(k), "count", (json_int_t)n);
		flight_record(engine_flight(c->e), "exporter", "exporter.refused", detail,
		    "%llu flow exports refused (%s), the last from %s", (unsigned long long)n,
		    exporter_refusal_name(k), buf);
		json_decref(detail);
		c->ref_seen.n[k] = ref.n[k];
		c->ref_report_ns[k] = now_ns;
	}
	/* A full host table loses the per-host breakdown (never the PO totals). */
	if (counters_hosts_dropped(c->cnt) > 0 && (c->hosts_report_ns == 0 ||
	    now_ns - c->hosts_report_ns >= REFUSAL_REPORT_S * 1000000000ull)) {
		health_report(engine_health(c->e), "collect", 0.1,
		    "host table full: %llu host entries dropped in the last interval",
		    (unsigned long long)counters_hosts_dropped(c->cnt));
		c->hosts_report_ns = now_ns;
	}
}

/* Resolve the default allow-lists, and say loudly what they admit. */
static int
setup_allow(struct collector *c)
{
	char text[1024];

	memcpy(c->allow, c->conf->allow, sizeof(c->allow));
	for (unsigned i = 0; i < c->conf->nallow; i++) {
		struct collect_allow *a = &c->allow[i];
		int r;

		if (a->mode == COLLECT_ALLOW_DEFAULT) {
			if ((r = collect_allow_default(a)) < 0)
				return r;
			if (c->conf->nudp + c->conf->ntcp == 0)
				continue;
			collect_allow_format(a, text, sizeof(text));
			log_warnx("collect: no exporters: allow-list configured; flow exports are "
			    "accepted only from loopback and this host's connected subnets (%s)", text);
		} else if (a->mode == COLLECT_ALLOW_ANY) {
			log_warnx("collect: exporters: any — flow exports are accepted from every "
			    "address; forged datagrams can create exporters and traffic");
		}
	}
	return 0;
}

static void
capture_refresh(struct collector *c)
{
	for (unsigned i = 0; i < c->ncap; i++) {
		struct afpacket_stats st;
		struct collector_input *in;

		afpacket_stats(c->cap[i], &st);
		pthread_mutex_lock(&c->lock);
		in = &c->inputs[c->npcap + i];
		in->packets = st.packets;
		in->decoded = st.decoded;
		in->not_ip = st.not_ip;
		in->malformed = st.malformed;
		in->bytes = st.bytes;
		in->kernel_drops = st.kernel_drops;
		pthread_mutex_unlock(&c->lock);
	}
}

size_t
collector_inputs(struct collector *c, struct collector_input *out, size_t max)
{
	size_t n;

	capture_refresh(c);
	pthread_mutex_lock(&c->lock);
	n = c->ninputs;
	memcpy(out, c->inputs, (n < max ? n : max) * sizeof(*out));
	pthread_mutex_unlock(&c->lock);
	return n;
}

/* ---- PO matching ---- */

static void
retire_idle(struct collector *c)
{
	for (unsigned i = 0; i < RETIRED_MAX; i++)
		if (c->retired[i] && counters_lpm_idle(c->cnt, c->retired[i])) {
			lpm_free(c->retired[i]);
			c->retired[i] = NULL;
		}
}

/* Publish each PO's ports[] for the per-port series. */
static int
publish_ports(struct counters *c, const struct poset *set)
{
	uint32_t n = poset_id_limit(set);
	struct counters_po_ports *list = calloc(n ? n : 1, sizeof(*list));
	size_t k = 0;
	int r;

	if (list == NULL)
		return -ENOMEM;
	for (uint32_t id = 0; id < n && id < LIMIT_POS; id++) {
		const struct po *p = poset_at(set, id);

		if (p != NULL && p->nports > 0)
			list[k++] = (struct counters_po_ports){ id, p->ports, p->nports };
	}
	r = counters_set_ports(c, list, k);
	free(list);
	return r;
}

void
collector_pos_changed(void *state)
{
	struct collector *c = state;
	const struct engine *e = c->e;
	struct lpm *l = NULL;
	unsigned i;

	if (poset_build_lpm(engine_pos(e), &l) < 0) {
		log_warnx("collect: cannot build the PO table for counting; keeping the old one");
		return;
	}
	counters_set_npos(c->cnt, poset_id_limit(engine_pos(e)));
	counters_set_lpm(c->cnt, l);
	if (publish_ports(c->cnt, engine_pos(e)) < 0)
		log_warnx("collect: cannot build the PO port table; keeping the old one");
	retire_idle(c);
	for (i = 0; i < RETIRED_MAX && c->retired[i]; i++)
		;
	if (i == RETIRED_MAX) {
		/* Every slot busy: wait for the oldest; a batch takes microseconds. */
		while (!counters_lpm_idle(c->cnt, c->retired[0]))
			sched_yield();
		lpm_free(c->retired[0]);
		i = 0;
	}
	c->retired[i] = c->lpm;
	c->lpm = l;
}

/* ---- packet time ---- */

/* The engine's side of the handshake (its clock driver): move the clock to
 * the boundary the replay waits at, tick, release the replay. */
static void
packet_clock_run(struct engine *e, void *arg)
{
	struct collector *c = arg;
	uint64_t b;

	while (clock_step_take(&c->step, &b)) {
		clock_set(engine_clock(e), b);
		engine_tick(e);
		clock_step_done(&c->step, b);
	}
}

static int
packet_clock_setup(struct collector *c)
{
	int r = clock_step_init(&c->step);

	if (r < 0)
		return r;
	c->packet_time = true;
	r = engine_set_clock_driver(c->e, clock_step_fd(&c->step), packet_clock_run, c);
	if (r == 0 && !engine_clock(c->e)->manual)
		r = -EINVAL;	/* moatd starts the engine on a manual clock for this */
	if (r == 0)
		log_info("collect: packet time: the engine clock follows the replay of %s",
		    c->conf->pcap[0].file);
	return r;
}

int
collector_packet_clock_start(const struct settings *s, uint64_t *ret_start_ns, char *err,
    size_t errlen)
{
	const struct collect_conf *cc = settings_ext(s, "collect");
	uint64_t first = 0;
	int r;

	if (cc == NULL || !cc->packet_time)
		return 0;
	r = pcapin_first_ns(cc->pcap[0].file, &first, err, errlen);
	if (r == -ENODATA) {
		first = clock_now_ns(CLOCK_REALTIME);	/* nothing to replay: real time */
	} else if (r < 0) {
		return r;
	}
	*ret_start_ns = first / CLOCK_NS_PER_SEC * CLOCK_NS_PER_SEC;
	return 1;
}

/* ---- module ---- */

static int
start_threads(struct collector *c)
{
	int r;

	if (c->nudp + c->ntcpl > 0) {
		if ((r = pthread_create(&c->net_th, NULL, net_thread, c)) != 0)
			return -r;
		c->net_started = true;
	}
	for (unsigned i = 0; i < c->npcap; i++) {
		if ((r = pthread_create(&c->pcap[i].th, NULL, pcap_thread, &c->pcap[i])) != 0)
			return -r;
		c->pcap[i].started = true;
	}
	for (unsigned i = 0; i < c->ncap; i++)
		if ((r = afpacket_start(c->cap[i])) < 0)
			return r;
	return 0;
}

static unsigned
shards_needed(const struct collect_conf *cc)
{
	unsigned n = 1 + cc->npcap;	/* network thread + one per replay */

	for (unsigned i = 0; i < cc->ncapture; i++)
		n += cc->capture[i].threads;
	return n;
}

static int
setup_inputs(struct collector *c)
{
	const struct collect_conf *cc = c->conf;
	unsigned shard = 1;
	int r;

	for (unsigned i = 0; i < cc->npcap; i++) {
		struct pcap_job *j = &c->pcap[c->npcap++];

		j->c = c;
		j->file = strdup(cc->pcap[i].file);	/* the settings may be reloaded */
		if (j->file == NULL)
			return -ENOMEM;
		j->speed = cc->pcap[i].speed;
		j->idx = input_add(c, "pcap", j->file);
		j->shard = counters_shard(c->cnt, shard++);
	}
	for (unsigned i = 0; i < cc->ncapture; i++) {
		unsigned idx = input_add(c, "capture", cc->capture[i].ifname);
		struct counters_shard *sh[LIMIT_COLLECT_CAPTURE_THREADS];

		for (unsigned t = 0; t < cc->capture[i].threads; t++)
			sh[t] = counters_shard(c->cnt, shard++);
		r = afpacket_open(cc->capture[i].ifname, cc->capture[i].threads, c->inputs[idx].location,
		    counters_sink, (void **)sh, &c->cap[c->ncap]);
		if (r < 0) {
			errno = -r;
			log_warn("collect: capture on %s", cc->capture[i].ifname);
			return r;
		}
		c->ncap++;
	}
	return 0;
}

int
collector_init(struct engine *e, void **ret_state)
{
	const struct collect_conf *cc = settings_ext(engine_settings(e), "collect");
	struct collector *c;
	int r = -ENOMEM;

	*ret_state = NULL;
	if (cc == NULL)
		return 0;	/* collection not configured */
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -ENOMEM;
	c->e = e;
	c->conf = cc;
	c->epfd = -1;
	c->step.wake_fd = -1;
	pthread_mutex_init(&c->lock, NULL);
	c->loc_base = cc->packet_time ? 0 : LIMIT_COLLECT_EXPORTERS;
	c->cnt = counters_new(LIMIT_POS, c->loc_base + 2 * LIMIT_COLLECT_LISTENERS,
	    shards_needed(cc));
	c->exp = exporter_table_new();
	c->rbuf = calloc(RECV_BATCH, sizeof(*c->rbuf));
	if (c->cnt == NULL || c->exp == NULL || c->rbuf == NULL)
		goto fail;
	for (unsigned i = 0; i < cc->nsampling; i++)
		if ((r = exporter_set_override(c->exp, &cc->sampling[i].exporter, cc->sampling[i].rate)) < 0)
			goto fail;
	if ((r = setup_allow(c)) < 0)
		goto fail;
	c->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (c->epfd < 0) {
		r = -errno;
		goto fail;
	}
	collector_pos_changed(c);
	if (cc->packet_time && (r = packet_clock_setup(c)) < 0)
		goto fail;
	if ((r = open_listeners(c)) < 0 || (r = setup_inputs(c)) < 0)
		goto fail;
	counters_tick(c->cnt, clock_mono_ns(engine_clock(e)), NULL, NULL);
	c->conf = NULL;	/* not kept: a reload replaces the settings */
	*ret_state = c;
	return 0;
fail:
	log_warnx("collect: start-up failed: %s", strerror(-r));
	collector_fini(c);
	return r;
}

/* After the engine wired the sinks: the threads may call them from now on. */
int
collector_start(void *state)
{
	struct collector *c = state;
	int r = start_threads(c);

	if (r < 0)
		log_warnx("collect: start-up failed: %s", strerror(-r));
	return r;
}

void
collector_fini(void *state)
{
	struct collector *c = state;

	atomic_store(&c->stop, true);
	if (c->step.wake_fd >= 0)
		clock_step_cancel(&c->step);	/* a replay may wait for a tick */
	if (c->net_started)
		pthread_join(c->net_th, NULL);
	for (unsigned i = 0; i < c->npcap; i++) {
		if (c->pcap[i].started)
			pthread_join(c->pcap[i].th, NULL);
		free(c->pcap[i].file);
	}
	for (unsigned i = 0; i < c->ncap; i++)
		afpacket_close(c->cap[i]);
	for (unsigned i = 0; i < c->nudp; i++)
		close(c->udp[i]);
	for (unsigned i = 0; i < c->ntcpl; i++)
		close(c->tcpl[i]);
	for (unsigned i = 0; i < LIMIT_COLLECT_TCP_CONNS; i++)
		if (c->conns[i])
			conn_close(c, i);
	if (c->epfd >= 0)
		close(c->epfd);
	counters_free(c->cnt);
	exporter_table_free(c->exp);
	lpm_free(c->lpm);
	for (unsigned i = 0; i < RETIRED_MAX; i++)
		lpm_free(c->retired[i]);
	free(c->rbuf);
	clock_step_fini(&c->step);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

void
collector_tick(void *state, uint64_t now_ns)
{
	struct collector *c = state;

	counters_set_observer(c->cnt, c->sample_fn, c->sample_ctx);
	counters_tick(c->cnt, now_ns, c->reading_fn, c->reading_ctx);
	report_refusals(c, now_ns);
	retire_idle(c);
}
