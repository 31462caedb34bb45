/* post: a queue and a worker thread POSTing alarm reports to moatd. */
#include "chaff/post.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <unistd.h>

#include "common/limits.h"
#include "common/log.h"
#include "common/strnum.h"

/* Each step of a POST (connect, write, read) waits at most this long. */
#define POST_TIMEOUT_MS 2000
/* Per-source scratch slots: twice the queue, so open addressing always finds one. */
#define POST_SCRATCH (2 * LIMIT_CHAFF_POST_QUEUE)

int
post_init(struct post *p, const char *url, const char *token)
{
	const char *hp, *slash, *colon;
	char host[128];
	uint64_t port = 80;
	size_t hlen;

	memset(p, 0, sizeof(*p));
	if (strncmp(url, "http://", 7) != 0)
		return -EINVAL;
	hp = url + 7;
	slash = strchr(hp, '/');
	hlen = slash ? (size_t)(slash - hp) : strlen(hp);
	if (hlen == 0 || hlen >= sizeof(host) || (slash && strlen(slash) >= sizeof(p->path)))
		return -EINVAL;
	memcpy(host, hp, hlen);
	host[hlen] = '\0';
	memcpy(p->host, host, hlen + 1);
	snprintf(p->path, sizeof(p->path), "%s", slash ? slash : "/");
	colon = strrchr(host, ':');
	if (colon && (host[0] != '[' || colon > strchr(host, ']'))) {
		if (strnum_u64(colon + 1, 1, 65535, &port) < 0)
			return -EINVAL;
		host[colon - host] = '\0';
	}
	if (host[0] == '[') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&p->addr;
		size_t n = strlen(host);

		if (n < 3 || host[n - 1] != ']')
			return -EINVAL;
		host[n - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) != 1)
			return -EINVAL;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		p->addrlen = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&p->addr;

		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			return -EINVAL;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		p->addrlen = sizeof(*s4);
	}
	if (token && strlen(token) >= sizeof(p->token))
		return -EINVAL;
	snprintf(p->token, sizeof(p->token), "%s", token ? token : "");
	p->queue = calloc(LIMIT_CHAFF_POST_QUEUE, sizeof(*p->queue));
	p->srcs = calloc(LIMIT_CHAFF_POST_QUEUE, sizeof(*p->srcs));
	p->scratch = calloc(POST_SCRATCH, sizeof(*p->scratch));
	if (!p->queue || !p->srcs || !p->scratch) {
		free(p->queue);
		free(p->srcs);
		free(p->scratch);
		p->queue = NULL;
		p->srcs = NULL;
		p->scratch = NULL;
		return -ENOMEM;
	}
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	return 0;
}

int
post_parse_status(const char *buf, size_t len, int *ret_code)
{
	int code = 0;

	if (len < 12 || strncmp(buf, "HTTP/1.", 7) != 0 || buf[8] != ' ')
		return -EINVAL;
	for (int i = 9; i < 12; i++) {
		if (buf[i] < '0' || buf[i] > '9')
			return -EINVAL;
		code = code * 10 + (buf[i] - '0');
	}
	*ret_code = code;
	return 0;
}

/* Wait until fd is ready for events, at most POST_TIMEOUT_MS. */
static int
wait_fd(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };
	int n;

	do {
		n = poll(&p, 1, POST_TIMEOUT_MS);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n == 0 ? -ETIMEDOUT : 0;
}

static int
write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		int r;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if ((r = wait_fd(fd, POLLOUT)) < 0)
				return r;
			continue;
		}
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
connect_nb(int fd, const struct sockaddr *sa, socklen_t len)
{
	int err = 0, r;
	socklen_t elen = sizeof(err);

	if (connect(fd, sa, len) == 0)
		return 0;
	if (errno != EINPROGRESS)
		return -errno;
	if ((r = wait_fd(fd, POLLOUT)) < 0)
		return r;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
		return -errno;
	return -err;
}

/* One POST over a fresh non-blocking connection, each step bounded by
 * POST_TIMEOUT_MS; the HTTP status or a negative errno. */
static int
post_one(struct post *p, const char *json)
{
	char head[768], resp[256];
	size_t got = 0;
	int fd, r, code, n;

	fd = socket(p->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if ((r = connect_nb(fd, (struct sockaddr *)&p->addr, p->addrlen)) < 0)
		goto out;
	n = snprintf(head, sizeof(head),
		     "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
		     "%s%s%sContent-Length: %zu\r\nConnection: close\r\n\r\n",
		     p->path, p->host, p->token[0] ? "Authorization: Bearer " : "", p->token,
		     p->token[0] ? "\r\n" : "", strlen(json));
	if (n < 0 || (size_t)n >= sizeof(head)) {
		r = -EINVAL;
		goto out;
	}
	if ((r = write_all(fd, head, (size_t)n)) < 0 || (r = write_all(fd, json, strlen(json))) < 0)
		goto out;
	while (got < 12) {
		ssize_t k = read(fd, resp + got, sizeof(resp) - 1 - got);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno == EAGAIN) {
			if ((r = wait_fd(fd, POLLIN)) < 0)
				goto out;
			continue;
		}
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	r = post_parse_status(resp, got, &code) < 0 ? -EPROTO : code;
out:
	close(fd);
	return r;
}

static void *
worker(void *arg)
{
	struct post *p = arg;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		char *json;
		int r;

		while (p->count == 0 && !p->stop)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->count == 0)
			break;
		json = p->queue[p->head];
		p->queue[p->head] = NULL;
		p->head = (p->head + 1) % LIMIT_CHAFF_POST_QUEUE;
		p->count--;
		pthread_mutex_unlock(&p->mu);
		r = post_one(p, json);
		free(json);
		pthread_mutex_lock(&p->mu);
		if (r >= 200 && r < 300) {
			p->sent++;
		} else {
			p->failed++;
			log_ratelimited(1, 60, log_warnx, "POST to moatd %s%s: %s", p->host, p->path,
					r < 0 ? strerror(-r) : "rejected");
		}
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

int
post_start(struct post *p)
{
	int r = pthread_create(&p->thread, NULL, worker, p);

	if (r != 0)
		return -r;
	p->started = true;
	return 0;
}

static struct post_src *
scratch_slot(struct post *p, uint32_t src)
{
	uint32_t h = (uint32_t)(src * 2654435761u) % POST_SCRATCH;

	/* POST_SCRATCH is twice the queue: a free slot always exists. */
	while (p->scratch[h].used && p->scratch[h].src != src)
		h = (h + 1) % POST_SCRATCH;
	p->scratch[h].used = true;
	p->scratch[h].src = src;
	return &p->scratch[h];
}

/*
 * The queue position (from head) of the report to drop when the queue is
 * full and a report from src arrives: the oldest report that is neither the
 * first nor the newest of its source (the arriving one counts as src's
 * newest); when no source has such a report, the oldest of all.
 */
static size_t
victim(struct post *p, uint32_t src)
{
	size_t i;

	memset(p->scratch, 0, POST_SCRATCH * sizeof(*p->scratch));
	for (i = 0; i < p->count; i++)
		scratch_slot(p, p->srcs[(p->head + i) % LIMIT_CHAFF_POST_QUEUE])->total++;
	scratch_slot(p, src)->total++;
	for (i = 0; i < p->count; i++) {
		struct post_src *s = scratch_slot(p, p->srcs[(p->head + i) % LIMIT_CHAFF_POST_QUEUE]);

		if (s->seen++ > 0 && s->seen < s->total)
			return i;
	}
	return 0;
}

/* Remove the report at queue position pos (from head), keeping the order. */
static void
drop_at(struct post *p, size_t pos)
{
	size_t q = LIMIT_CHAFF_POST_QUEUE;

	free(p->queue[(p->head + pos) % q]);
	for (size_t i = pos; i > 0; i--) {
		p->queue[(p->head + i) % q] = p->queue[(p->head + i - 1) % q];
		p->srcs[(p->head + i) % q] = p->srcs[(p->head + i - 1) % q];
	}
	p->queue[p->head] = NULL;
	p->head = (p->head + 1) % q;
	p->count--;
	p->dropped++;
}

void
post_enqueue(struct post *p, uint32_t src, const char *json)
{
	char *copy = strdup(json);
	size_t tail;

	if (!copy)
		return;
	pthread_mutex_lock(&p->mu);
	if (p->count == LIMIT_CHAFF_POST_QUEUE)
		drop_at(p, victim(p, src));
	tail = (p->head + p->count) % LIMIT_CHAFF_POST_QUEUE;
	p->queue[tail] = copy;
	p->srcs[tail] = src;
	p->count++;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

void
post_free(struct post *p)
{
	if (!p || !p->queue)
		return;
	if (p->started) {
		pthread_mutex_lock(&p->mu);
		p->stop = true;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
		pthread_join(p->thread, NULL);
	}
	for (size_t i = 0; i < LIMIT_CHAFF_POST_QUEUE; i++)
		free(p->queue[i]);
	free(p->queue);
	p->queue = NULL;
	free(p->srcs);
	p->srcs = NULL;
	free(p->scratch);
	p->scratch = NULL;
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
}
