/*
 * post: delivers alarm reports to moatd with HTTP POST, off the packet path.
 *
 * Reports are queued (at most LIMIT_CHAFF_POST_QUEUE; when full, one report
 * that is neither the first nor the newest queued of its source is dropped
 * and counted, so a flood from one source cannot flush everyone else's
 * alarms) and a worker thread POSTs each one as
 * application/json to the configured URL with a bearer token, one short
 * non-blocking connection per report, each step bounded by 2 seconds. The URL must name the host
 * by IP address ("http://127.0.0.1:8080/api/v1/alarms"): no DNS after the
 * sandbox is entered. Start the worker before sandbox_enter(); the worker
 * needs socket/connect, which the caller adds to the allow-list.
 */
#ifndef MOAT_CHAFF_POST_H
#define MOAT_CHAFF_POST_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct post_src {
	uint32_t src;
	uint16_t total, seen;
	bool used;
};

struct post {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char host[128];		/* Host: header */
	char path[256];
	char token[129];
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char **queue;
	uint32_t *srcs;		/* the source address of each queued report */
	struct post_src *scratch;	/* per-source counts when choosing what to drop */
	size_t head, count;
	bool stop, started;
	uint64_t sent, failed, dropped;
};

/* Parse "http://ADDR:PORT/PATH" (ADDR an IPv4 literal or [IPv6]); token may be NULL. */
int post_init(struct post *p, const char *url, const char *token);
/* Start the worker thread. */
int post_start(struct post *p);
/* Queue a copy of json (a report about source src); never blocks on the network. */
void post_enqueue(struct post *p, uint32_t src, const char *json);
/* Stop the worker (pending reports get one more try) and free everything. */
void post_free(struct post *p);

/* Parse the status code from an HTTP response head; -EINVAL if malformed. */
int post_parse_status(const char *buf, size_t len, int *ret_code);

#endif
