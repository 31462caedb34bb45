/*
 * resolv: worker threads around getaddrinfo(). See resolv.h.
 */
#include "ins/resolv.h"

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct resolv_job {
	struct resolv_job *next;
	uint64_t tag;
	struct ins_msg msg;	/* the request, then the reply */
};

struct resolv_queue {
	struct resolv_job *head, *tail;
	unsigned n;
};

struct resolv {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct resolv_queue todo, done;
	bool stop;
	int efd;
	unsigned nthreads;
	pthread_t threads[RESOLV_THREADS];
};

static void
queue_push(struct resolv_queue *q, struct resolv_job *j)
{
	j->next = NULL;
	if (q->tail)
		q->tail->next = j;
	else
		q->head = j;
	q->tail = j;
	q->n++;
}

static struct resolv_job *
queue_pop(struct resolv_queue *q)
{
	struct resolv_job *j = q->head;

	if (!j)
		return NULL;
	q->head = j->next;
	if (!q->head)
		q->tail = NULL;
	q->n--;
	return j;
}

/* glibc's entry type as the wire's; 0 for a type it never returns for inet. */
static uint8_t
resolv_socktype(int t)
{
	return t == SOCK_STREAM ? INS_SOCK_STREAM : t == SOCK_DGRAM ? INS_SOCK_DGRAM
	     : t == SOCK_RAW ? INS_SOCK_RAW : 0;
}

int
resolv_lookup(const struct ins_msg *req, struct ins_msg *rep)
{
	struct addrinfo hints = { 0 }, *res = NULL;
	bool ext = (req->ai_flags & INS_RESOLVE_EXT) != 0;
	int r;

	memset(rep, 0, sizeof(*rep));
	rep->type = INS_RESOLVE | INS_REPLY;
	rep->id = req->id;
	rep->has_ext = ext;
	hints.ai_family = req->family == INS_AF_INET ? AF_INET
			: req->family == INS_AF_INET6 ? AF_INET6 : AF_UNSPEC;
	/* Socktype 0 is "any" only for a shim that reads each entry's type (ext). */
	hints.ai_socktype = req->socktype == INS_SOCK_DGRAM ? SOCK_DGRAM
			  : req->socktype == INS_SOCK_STREAM || !ext ? SOCK_STREAM : 0;
	hints.ai_flags = (int)req->ai_flags & (AI_ADDRCONFIG | AI_V4MAPPED | AI_ALL |
					       AI_NUMERICSERV | (ext ? AI_CANONNAME : 0));
	r = getaddrinfo(req->name, req->service[0] ? req->service : NULL, &hints, &res);
	if (r != 0) {
		if (r > 0)
			r = EAI_FAIL;
		rep->status = -r;	/* EAI_* codes are negative; the wire carries them positive */
		return r;
	}
	if (ext && res && res->ai_canonname && strlen(res->ai_canonname) <= INS_NAME_MAX)
		snprintf(rep->canon, sizeof(rep->canon), "%s", res->ai_canonname);
	for (struct addrinfo *ai = res; ai && rep->naddrs < INS_RESOLVE_MAX; ai = ai->ai_next) {
		uint8_t t = resolv_socktype(ai->ai_socktype);

		if ((ext && (t == 0 || ai->ai_protocol < 0 || ai->ai_protocol > 255)) ||
		    insproto_addr_from_sa(ai->ai_addr, ai->ai_addrlen, &rep->addrs[rep->naddrs]) != 0)
			continue;
		rep->ai_socktype[rep->naddrs] = t;
		rep->ai_protocol[rep->naddrs] = (uint8_t)ai->ai_protocol;
		rep->naddrs++;
	}
	freeaddrinfo(res);
	return 0;
}

static void *
resolv_worker(void *arg)
{
	struct resolv *r = arg;
	uint64_t one = 1;

	pthread_mutex_lock(&r->lock);
	for (;;) {
		struct resolv_job *j;
		struct ins_msg rep;

		while (!r->stop && !r->todo.head)
			pthread_cond_wait(&r->cond, &r->lock);
		if (r->stop)
			break;
		j = queue_pop(&r->todo);
		pthread_mutex_unlock(&r->lock);
		resolv_lookup(&j->msg, &rep);
		j->msg = rep;
		pthread_mutex_lock(&r->lock);
		queue_push(&r->done, j);
		if (write(r->efd, &one, sizeof(one)) < 0) {
			/* the counter cannot overflow in practice; the next write wakes the loop */
		}
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

int
resolv_init(struct resolv **ret)
{
	struct resolv *r = calloc(1, sizeof(*r));
	int e;

	if (!r)
		return -ENOMEM;
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	r->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (r->efd < 0) {
		e = -errno;
		resolv_free(r);
		return e;
	}
	for (unsigned i = 0; i < RESOLV_THREADS; i++) {
		e = pthread_create(&r->threads[i], NULL, resolv_worker, r);
		if (e != 0) {
			resolv_free(r);
			return -e;
		}
		r->nthreads++;
	}
	*ret = r;
	return 0;
}

static void
resolv_free_queue(struct resolv_queue *q)
{
	struct resolv_job *j;

	while ((j = queue_pop(q)))
		free(j);
}

void
resolv_free(struct resolv *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	r->stop = true;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
	for (unsigned i = 0; i < r->nthreads; i++)
		pthread_join(r->threads[i], NULL);
	resolv_free_queue(&r->todo);
	resolv_free_queue(&r->done);
	if (r->efd >= 0)
		close(r->efd);
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

int
resolv_fd(const struct resolv *r)
{
	return r->efd;
}

int
resolv_submit(struct resolv *r, uint64_t tag, const struct ins_msg *req)
{
	struct resolv_job *j;

	pthread_mutex_lock(&r->lock);
	if (r->todo.n >= RESOLV_QUEUE_MAX) {
		pthread_mutex_unlock(&r->lock);
		return -EAGAIN;
	}
	pthread_mutex_unlock(&r->lock);
	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->tag = tag;
	j->msg = *req;
	pthread_mutex_lock(&r->lock);
	queue_push(&r->todo, j);
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
	return 0;
}

void
resolv_collect(struct resolv *r, void (*fn)(void *arg, uint64_t tag, const struct ins_msg *rep),
	       void *arg)
{
	struct resolv_queue done;
	struct resolv_job *j;
	uint64_t v;

	if (read(r->efd, &v, sizeof(v)) < 0) {
		/* EAGAIN: nothing signalled; the queue is checked anyway */
	}
	pthread_mutex_lock(&r->lock);
	done = r->done;
	r->done = (struct resolv_queue){ 0 };
	pthread_mutex_unlock(&r->lock);
	while ((j = queue_pop(&done))) {
		fn(arg, j->tag, &j->msg);
		free(j);
	}
}
