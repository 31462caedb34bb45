#include "collect/afpacket.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "collect/decode.h"
#include "collect/flowbatch.h"
#include "common/limits.h"

#define RING_BLOCK_SIZE	(1u << 20)	/* 1 MiB blocks */
#define RING_BLOCKS	16u		/* 16 MiB per worker */
#define RING_FRAME_SIZE	2048u
#define RING_TIMEOUT_MS	50u		/* a block is handed over after this at the latest */
#define POLL_MS		200

struct afp_worker {
	struct afpacket *a;
	int fd;
	uint8_t *ring;
	size_t ring_len;
	void *sink_ctx;
	pthread_t th;
	bool started;
	_Atomic uint64_t packets, decoded, not_ip, malformed, bytes, kpackets, kdrops;
};

struct afpacket {
	unsigned n;
	uint32_t location;
	flowrec_sink_fn sink;
	_Atomic bool stop;
	struct afp_worker w[LIMIT_COLLECT_CAPTURE_THREADS];
};

static void
add(_Atomic uint64_t *c, uint64_t v)
{
	/* one writer per worker: a plain load and store */
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + v,
	    memory_order_relaxed);
}

static int
worker_socket(struct afp_worker *w, int ifindex, int fanout_id, bool fanout)
{
	int v3 = TPACKET_V3;
	struct tpacket_req3 req = {
		.tp_block_size = RING_BLOCK_SIZE,
		.tp_block_nr = RING_BLOCKS,
		.tp_frame_size = RING_FRAME_SIZE,
		.tp_frame_nr = RING_BLOCK_SIZE / RING_FRAME_SIZE * RING_BLOCKS,
		.tp_retire_blk_tov = RING_TIMEOUT_MS,
	};
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_ALL),
		.sll_ifindex = ifindex,
	};
	/* No PACKET_FANOUT_FLAG_DEFRAG: it would hand us reassembled datagrams,
	   and fragments must be counted as they cross the wire. */
	int fan = fanout_id | PACKET_FANOUT_HASH << 16;

	w->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, htons(ETH_P_ALL));
	if (w->fd < 0)
		return -errno;
	if (setsockopt(w->fd, SOL_PACKET, PACKET_VERSION, &v3, sizeof(v3)) < 0 ||
	    setsockopt(w->fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)) < 0)
		return -errno;
	w->ring_len = (size_t)RING_BLOCK_SIZE * RING_BLOCKS;
	w->ring = mmap(NULL, w->ring_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_LOCKED, w->fd, 0);
	if (w->ring == MAP_FAILED)	/* MAP_LOCKED may exceed RLIMIT_MEMLOCK */
		w->ring = mmap(NULL, w->ring_len, PROT_READ | PROT_WRITE, MAP_SHARED, w->fd, 0);
	if (w->ring == MAP_FAILED) {
		w->ring = NULL;
		return -errno;
	}
	if (bind(w->fd, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		return -errno;
	if (fanout && setsockopt(w->fd, SOL_PACKET, PACKET_FANOUT, &fan, sizeof(fan)) < 0)
		return -errno;
	return 0;
}

static void
read_kernel_stats(struct afp_worker *w)
{
	struct tpacket_stats_v3 st;
	socklen_t sl = sizeof(st);

	/* Reading resets the kernel's counters: accumulate. */
	if (getsockopt(w->fd, SOL_PACKET, PACKET_STATISTICS, &st, &sl) == 0) {
		add(&w->kpackets, st.tp_packets);
		add(&w->kdrops, st.tp_drops);
	}
}

/* One packet of a block; the ring is kernel memory, the packet is not trusted. */
static void
worker_packet(struct afp_worker *w, struct flowbatch *b, const struct tpacket3_hdr *h,
    size_t room)
{
	struct flow_rec *r;
	struct cursor c;
	int err;

	add(&w->packets, 1);
	if ((size_t)h->tp_mac + h->tp_snaplen > room)
		return;
	c = cur_init((const uint8_t *)h + h->tp_mac, h->tp_snaplen);
	r = flowbatch_slot(b);
	err = decode_packet(&c, DECODE_ETHER, r);
	if (err == -ENOENT) {
		add(&w->not_ip, 1);
		return;
	}
	if (err < 0) {
		add(&w->malformed, 1);
		return;
	}
	r->time_ns = (uint64_t)h->tp_sec * 1000000000u + h->tp_nsec;
	r->location = w->a->location;
	r->sampling = 1;
	b->n++;
	add(&w->decoded, 1);
	add(&w->bytes, r->bytes);
}

static void
worker_block(struct afp_worker *w, struct tpacket_block_desc *bd)
{
	struct flowbatch b;
	uint32_t n = bd->hdr.bh1.num_pkts;
	size_t off = bd->hdr.bh1.offset_to_first_pkt;

	flowbatch_init(&b, w->a->sink, w->sink_ctx);
	for (uint32_t i = 0; i < n && off + sizeof(struct tpacket3_hdr) <= RING_BLOCK_SIZE; i++) {
		const struct tpacket3_hdr *h = (const struct tpacket3_hdr *)((uint8_t *)bd + off);

		worker_packet(w, &b, h, RING_BLOCK_SIZE - off);
		if (h->tp_next_offset == 0)
			break;
		off += h->tp_next_offset;
	}
	flowbatch_flush(&b);
}

static void *
worker_thread(void *arg)
{
	struct afp_worker *w = arg;
	unsigned blk = 0, idle = 0;

	while (!atomic_load(&w->a->stop)) {
		struct tpacket_block_desc *bd =
		    (struct tpacket_block_desc *)(w->ring + (size_t)blk * RING_BLOCK_SIZE);

		if (!(atomic_load_explicit((_Atomic uint32_t *)&bd->hdr.bh1.block_status,
		    memory_order_acquire) & TP_STATUS_USER)) {
			struct pollfd pfd = { .fd = w->fd, .events = POLLIN | POLLERR };

			if (poll(&pfd, 1, POLL_MS) == 0 && ++idle * POLL_MS >= 1000) {
				read_kernel_stats(w);
				idle = 0;
			}
			continue;
		}
		worker_block(w, bd);
		atomic_store_explicit((_Atomic uint32_t *)&bd->hdr.bh1.block_status, TP_STATUS_KERNEL,
		    memory_order_release);
		blk = (blk + 1) % RING_BLOCKS;
		if (blk == 0)
			read_kernel_stats(w);
	}
	read_kernel_stats(w);
	return NULL;
}

int
afpacket_open(const char *ifname, unsigned nthreads, uint32_t location,
    flowrec_sink_fn sink, void *const *sink_ctx, struct afpacket **ret)
{
	unsigned ifindex = if_nametoindex(ifname);
	struct afpacket *a;
	int fanout_id = (int)(((unsigned)getpid() ^ ifindex * 2654435761u) & 0xffffu);
	int r = 0;

	if (ifindex == 0)
		return -ENODEV;
	if (nthreads == 0 || nthreads > LIMIT_COLLECT_CAPTURE_THREADS)
		return -EINVAL;
	a = calloc(1, sizeof(*a));
	if (a == NULL)
		return -ENOMEM;
	a->n = nthreads;
	a->location = location;
	a->sink = sink;
	for (unsigned i = 0; i < nthreads; i++) {
		a->w[i].a = a;
		a->w[i].fd = -1;
		a->w[i].sink_ctx = sink_ctx[i];
	}
	for (unsigned i = 0; i < nthreads && r == 0; i++)
		r = worker_socket(&a->w[i], (int)ifindex, fanout_id, nthreads > 1);
	if (r < 0) {
		afpacket_close(a);
		return r;
	}
	*ret = a;
	return 0;
}

int
afpacket_start(struct afpacket *a)
{
	for (unsigned i = 0; i < a->n; i++) {
		int r = pthread_create(&a->w[i].th, NULL, worker_thread, &a->w[i]);

		if (r != 0)
			return -r;
		a->w[i].started = true;
	}
	return 0;
}

void
afpacket_stats(struct afpacket *a, struct afpacket_stats *ret)
{
	memset(ret, 0, sizeof(*ret));
	for (unsigned i = 0; i < a->n; i++) {
		struct afp_worker *w = &a->w[i];

		ret->packets += atomic_load(&w->packets);
		ret->decoded += atomic_load(&w->decoded);
		ret->not_ip += atomic_load(&w->not_ip);
		ret->malformed += atomic_load(&w->malformed);
		ret->bytes += atomic_load(&w->bytes);
		ret->kernel_packets += atomic_load(&w->kpackets);
		ret->kernel_drops += atomic_load(&w->kdrops);
	}
}

void
afpacket_close(struct afpacket *a)
{
	if (a == NULL)
		return;
	atomic_store(&a->stop, true);
	for (unsigned i = 0; i < a->n; i++) {
		struct afp_worker *w = &a->w[i];

		if (w->started)
			pthread_join(w->th, NULL);
		if (w->ring)
			munmap(w->ring, w->ring_len);
		if (w->fd >= 0)
			close(w->fd);
	}
	free(a);
}
