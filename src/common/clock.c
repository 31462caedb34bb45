#include "common/clock.h"

#include <errno.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

uint64_t
clock_now_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * CLOCK_NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

void
clock_init_real(struct clock *c)
{
	c->manual = false;
	c->now_ns = 0;
}

void
clock_init_manual(struct clock *c, uint64_t start_ns)
{
	c->manual = true;
	c->now_ns = start_ns;
}

uint64_t
clock_wall_ns(const struct clock *c)
{
	return c->manual ? c->now_ns : clock_now_ns(CLOCK_REALTIME);
}

uint64_t
clock_mono_ns(const struct clock *c)
{
	return c->manual ? c->now_ns : clock_now_ns(CLOCK_MONOTONIC);
}

void
clock_set(struct clock *c, uint64_t now_ns)
{
	if (c->manual && now_ns > c->now_ns)
		c->now_ns = now_ns;
}

void
clock_advance(struct clock *c, uint64_t delta_ns)
{
	if (c->manual)
		c->now_ns += delta_ns;
}

int
clock_step_init(struct clock_step *s)
{
	s->offered_ns = 0;
	s->done_ns = 0;
	s->cancelled = false;
	s->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (s->wake_fd < 0)
		return -errno;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	return 0;
}

void
clock_step_fini(struct clock_step *s)
{
	if (s->wake_fd < 0)
		return;
	close(s->wake_fd);
	s->wake_fd = -1;
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
}

int
clock_step_fd(const struct clock_step *s)
{
	return s->wake_fd;
}

static void
clock_step_wake(struct clock_step *s)
{
	uint64_t one = 1;

	/* Only fails when the counter would overflow: it is readable anyway. */
	(void)!write(s->wake_fd, &one, sizeof(one));
}

int
clock_step_offer(struct clock_step *s, uint64_t boundary_ns)
{
	int r = 0;

	pthread_mutex_lock(&s->lock);
	if (!s->cancelled && boundary_ns > s->done_ns) {
		s->offered_ns = boundary_ns;
		clock_step_wake(s);
		while (!s->cancelled && s->done_ns < boundary_ns)
			pthread_cond_wait(&s->cond, &s->lock);
	}
	if (s->cancelled)
		r = -ECANCELED;
	pthread_mutex_unlock(&s->lock);
	return r;
}

bool
clock_step_take(struct clock_step *s, uint64_t *ret_ns)
{
	uint64_t v;
	bool got;

	(void)!read(s->wake_fd, &v, sizeof(v));
	pthread_mutex_lock(&s->lock);
	got = s->offered_ns != 0 && !s->cancelled;
	if (got)
		*ret_ns = s->offered_ns;
	pthread_mutex_unlock(&s->lock);
	return got;
}

void
clock_step_done(struct clock_step *s, uint64_t boundary_ns)
{
	pthread_mutex_lock(&s->lock);
	if (boundary_ns > s->done_ns)
		s->done_ns = boundary_ns;
	if (s->offered_ns <= s->done_ns)
		s->offered_ns = 0;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

void
clock_step_cancel(struct clock_step *s)
{
	pthread_mutex_lock(&s->lock);
	s->cancelled = true;
	s->offered_ns = 0;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}
