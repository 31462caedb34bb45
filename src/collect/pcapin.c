#include "common/clock.h"
#include "collect/pcapin.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collect/decode.h"
#include "collect/flowbatch.h"

/* Empty intervals announced one by one after a gap in packet time. */
#define PCAPIN_MAX_CATCHUP 60u

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif

struct pcapin {
	pcap_t *pc;
	enum decode_link link;
	uint64_t next_boundary;	/* packet time of the next on_time call */
	uint64_t pace_start_pkt, pace_start_wall;
};

static const struct {
	int dlt;
	enum decode_link link;
} dlt_table[] = {
	{ DLT_EN10MB, DECODE_ETHER },
	{ DLT_RAW, DECODE_RAW },
	{ 12, DECODE_RAW },		/* DLT_RAW on some BSDs */
	{ 14, DECODE_RAW },
	{ DLT_IPV4, DECODE_RAW },
	{ DLT_IPV6, DECODE_RAW },
	{ DLT_LINUX_SLL, DECODE_SLL },
	{ DLT_LINUX_SLL2, DECODE_SLL2 },
};

static int
pcapin_setup(pcap_t *pc, struct pcapin **ret, char *err, size_t errlen)
{
	struct pcapin *p;
	int dlt = pcap_datalink(pc);

	for (size_t i = 0; i < sizeof(dlt_table) / sizeof(dlt_table[0]); i++) {
		if (dlt_table[i].dlt != dlt)
			continue;
		p = calloc(1, sizeof(*p));
		if (p == NULL) {
			pcap_close(pc);
			return -ENOMEM;
		}
		p->pc = pc;
		p->link = dlt_table[i].link;
		*ret = p;
		return 0;
	}
	snprintf(err, errlen, "unsupported link type %d (%s)", dlt,
	    pcap_datalink_val_to_name(dlt) ? pcap_datalink_val_to_name(dlt) : "?");
	pcap_close(pc);
	return -ENOTSUP;
}

int
pcapin_open_file(const char *path, struct pcapin **ret, char *err, size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	FILE *f = fopen(path, "rbe");
	pcap_t *pc;

	if (f == NULL) {
		int e = errno;

		snprintf(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	/* pcap_fopen takes the FILE; it is closed with the pcap_t. */
	pc = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, ebuf);
	if (pc == NULL) {
		fclose(f);
		snprintf(err, errlen, "%s: %s", path, ebuf);
		return -EINVAL;
	}
	return pcapin_setup(pc, ret, err, errlen);
}

int
pcapin_open_mem(const void *buf, size_t len, struct pcapin **ret, char *err, size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	FILE *f;
	pcap_t *pc;

	if (len == 0) {
		snprintf(err, errlen, "empty capture");
		return -EINVAL;
	}
	f = fmemopen((void *)(uintptr_t)buf, len, "rb");
	if (f == NULL) {
		snprintf(err, errlen, "fmemopen: %s", strerror(errno));
		return -ENOMEM;
	}
	pc = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, ebuf);
	if (pc == NULL) {
		fclose(f);
		snprintf(err, errlen, "%s", ebuf);
		return -EINVAL;
	}
	return pcapin_setup(pc, ret, err, errlen);
}

void
pcapin_close(struct pcapin *p)
{
	if (p == NULL)
		return;
	pcap_close(p->pc);	/* closes the FILE it was given */
	free(p);
}

/* Realtime replay: sleep until the packet is due. */
static void
pace(struct pcapin *p, const struct pcapin_hooks *h, uint64_t ts)
{
	double speed = h->speed > 0 ? h->speed : 1.0;
	uint64_t due, now;

	if (p->pace_start_wall == 0) {
		p->pace_start_wall = clock_now_ns(CLOCK_MONOTONIC);
		p->pace_start_pkt = ts;
		return;
	}
	if (ts <= p->pace_start_pkt)
		return;
	due = p->pace_start_wall + (uint64_t)((double)(ts - p->pace_start_pkt) / speed);
	/* In slices, so a stop is noticed during a long recorded gap. */
	while ((now = clock_now_ns(CLOCK_MONOTONIC)) < due && !(h->stop && atomic_load(h->stop))) {
		uint64_t left = due - now < PCAPIN_PACE_SLICE_NS ? due - now : PCAPIN_PACE_SLICE_NS;
		struct timespec d = { (time_t)(left / 1000000000u), (long)(left % 1000000000u) };

		nanosleep(&d, NULL);
	}
}

/* Flush and announce every step boundary the packet clock has passed. */
static void
advance_time(struct pcapin *p, const struct pcapin_hooks *h, struct flowbatch *b, uint64_t ts)
{
	if (h->step_ns == 0 || h->on_time == NULL)
		return;
	if (p->next_boundary == 0)
		p->next_boundary = (ts / h->step_ns + 1) * h->step_ns;
	if (ts < p->next_boundary)
		return;
	flowbatch_flush(b);
	/* A long silence (or a lying timestamp) is one long interval, not
	   millions of empty ones. */
	if ((ts - p->next_boundary) / h->step_ns > PCAPIN_MAX_CATCHUP)
		p->next_boundary = ts / h->step_ns * h->step_ns;
	while (ts >= p->next_boundary) {
		h->on_time(h->time_ctx, p->next_boundary);
		p->next_boundary += h->step_ns;
	}
}

/*
 * Opened with nanosecond precision: tv_usec holds nanoseconds. A file can
 * claim any second count (libpcap reads it signed); clamp to [0, 2^62) so
 * step arithmetic on it cannot overflow.
 */
static uint64_t
pkt_time_ns(const struct pcap_pkthdr *ph)
{
	const int64_t max_s = (int64_t)((1ull << 62) / 1000000000u);
	int64_t s = (int64_t)ph->ts.tv_sec;
	int64_t ns = (int64_t)ph->ts.tv_usec;

	if (s < 0 || ns < 0)
		return 0;
	if (s >= max_s)
		s = max_s - 1;
	return (uint64_t)s * 1000000000u + (uint64_t)(ns % 1000000000);
}

static void
account(struct pcapin_stats *st, uint64_t ts)
{
	st->packets++;
	if (st->first_ns == 0 || ts < st->first_ns)
		st->first_ns = ts;
	if (ts > st->last_ns)
		st->last_ns = ts;
}

/* Keep the decoded packet: a capture has no exporter and no sampling. */
static void
push_packet(struct flowbatch *b, uint32_t location)
{
	struct flow_rec *r = &b->r[b->n];

	r->location = location;
	r->sampling = 1;
	b->n++;
}

int
pcapin_run(struct pcapin *p, const struct pcapin_hooks *h, uint64_t max_packets,
    struct pcapin_stats *st)
{
	struct flowbatch b;
	struct pcap_pkthdr *ph;
	const u_char *data;
	uint64_t n = 0;
	int r, ret = 0;

	flowbatch_init(&b, h->sink, h->sink_ctx);
	while (max_packets == 0 || n < max_packets) {
		uint64_t ts;
		struct cursor c;
		struct flow_rec *rec;

		r = pcap_next_ex(p->pc, &ph, &data);
		if (r == PCAP_ERROR_BREAK) {
			ret = 1;
			break;
		}
		if (r != 1) {
			ret = -EIO;
			break;
		}
		n++;
		ts = pkt_time_ns(ph);
		account(st, ts);
		if (h->realtime) {
			flowbatch_flush(&b);
			pace(p, h, ts);
			if (h->stop && atomic_load(h->stop))
				break;		/* this packet is not handed over */
		}
		advance_time(p, h, &b, ts);
		c = cur_init(data, ph->caplen);
		rec = flowbatch_slot(&b);
		r = decode_packet(&c, p->link, rec);
		if (r == -ENOENT) {
			st->not_ip++;
			continue;
		}
		if (r < 0) {
			st->malformed++;
			continue;
		}
		rec->time_ns = ts;
		st->decoded++;
		st->bytes += rec->bytes;
		push_packet(&b, h->location);
	}
	flowbatch_flush(&b);
	return ret;
}

void
pcapin_end_time(struct pcapin *p, const struct pcapin_hooks *h)
{
	if (h->step_ns == 0 || h->on_time == NULL || p->next_boundary == 0)
		return;
	h->on_time(h->time_ctx, p->next_boundary);
	p->next_boundary += h->step_ns;
}

int
pcapin_first_ns(const char *path, uint64_t *ret_ns, char *err, size_t errlen)
{
	struct pcap_pkthdr *ph;
	const u_char *data;
	struct pcapin *p;
	int r = pcapin_open_file(path, &p, err, errlen);

	if (r < 0)
		return r;
	if (pcap_next_ex(p->pc, &ph, &data) == 1) {
		*ret_ns = pkt_time_ns(ph);
		r = 0;
	} else {
		snprintf(err, errlen, "%s: no packets", path);
		r = -ENODATA;
	}
	pcapin_close(p);
	return r;
}
