/*
 * ctl_bench: control-call round trips as an application sees them:
 * socket()+close(), socket+bind+listen, and connect->accept of one loopback
 * connection (under moat-ins: the connect policy check plus the accept
 * handoff through the doorbell). It measures natively (the reference), then
 * runs itself under moat-ins (../src/ins/moat-ins from the build's bench/
 * directory, or $MOAT_INS) and prints p50/p99 of both and their ratios.
 * Both run in a network namespace of its own (needs root): moat-ins installs
 * its nftables table where it runs, and that must never be the host's.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>

#include "common/clock.h"
#include "common/strnum.h"

#define ROUNDS_MAX 100000

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

struct result {
	double p50_us, p99_us;
};

static struct result
summarize(uint64_t *t, size_t n)
{
	qsort(t, n, sizeof(*t), cmp_u64);
	return (struct result){ t[n / 2] / 1000.0, t[n * 99 / 100] / 1000.0 };
}

static void
bench_socket(uint64_t *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t t0 = clock_now_ns(CLOCK_MONOTONIC);
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0) {
			perror("socket");
			exit(1);
		}
		close(fd);
		t[i] = clock_now_ns(CLOCK_MONOTONIC) - t0;
	}
}

static int
listener(struct sockaddr_in *sin)
{
	socklen_t len = sizeof(*sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	sin->sin_family = AF_INET;
	sin->sin_port = 0;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)sin, sizeof(*sin)) < 0 || listen(fd, 128) < 0 ||
	    getsockname(fd, (struct sockaddr *)sin, &len) < 0) {
		perror("listener");
		exit(1);
	}
	return fd;
}

static void
bench_listen(uint64_t *t, size_t n)
{
	struct sockaddr_in sin;

	for (size_t i = 0; i < n; i++) {
		uint64_t t0 = clock_now_ns(CLOCK_MONOTONIC);
		int fd = listener(&sin);

		t[i] = clock_now_ns(CLOCK_MONOTONIC) - t0;
		close(fd);
	}
}

static void
bench_accept(uint64_t *t, size_t n)
{
	struct sockaddr_in sin;
	int l = listener(&sin);

	for (size_t i = 0; i < n; i++) {
		int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), a;
		uint64_t t0;

		t0 = clock_now_ns(CLOCK_MONOTONIC);
		if (connect(c, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
			perror("connect");
			exit(1);
		}
		a = accept4(l, NULL, NULL, SOCK_CLOEXEC);
		t[i] = clock_now_ns(CLOCK_MONOTONIC) - t0;
		if (a < 0) {
			perror("accept");
			exit(1);
		}
		close(a);
		close(c);
	}
	close(l);
}

#define NCASES 3
static const char *const case_names[NCASES] = { "socket", "socket+bind+listen", "connect+accept" };

static void
measure(size_t n, struct result *r)
{
	static uint64_t t[ROUNDS_MAX];

	bench_socket(t, n);
	r[0] = summarize(t, n);
	bench_listen(t, n / 4);
	r[1] = summarize(t, n / 4);
	bench_accept(t, n);
	r[2] = summarize(t, n);
}

/* Run this program under moat-ins with --child (fork+exec, no shell) and read its results. */
static int
measure_under_ins(const char *self, uint64_t n, struct result *r)
{
	char ins[4096], nbuf[32], line[256];
	const char *env = getenv("MOAT_INS");
	const char *slash = strrchr(self, '/');
	int p[2], status, got = 0;
	FILE *f;
	pid_t pid;

	if (env)
		snprintf(ins, sizeof(ins), "%s", env);
	else if (slash)
		snprintf(ins, sizeof(ins), "%.*s/../src/ins/moat-ins", (int)(slash - self), self);
	else
		snprintf(ins, sizeof(ins), "../src/ins/moat-ins");
	snprintf(nbuf, sizeof(nbuf), "%llu", (unsigned long long)n);
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		dup2(p[1], STDOUT_FILENO);
		execl(ins, ins, "--", self, "--child", nbuf, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	f = fdopen(p[0], "r");
	while (f && fgets(line, sizeof(line), f) && got < NCASES)
		if (sscanf(line, "%lf %lf", &r[got].p50_us, &r[got].p99_us) == 2)
			got++;
	if (f)
		fclose(f);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
	    got != NCASES)
		return -EIO;
	return 0;
}

/* A fresh network namespace with its loopback up; 0 or -errno. */
static int
private_netns(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int fd, r = 0;

	if (unshare(CLONE_NEWNET) < 0)
		return -errno;
	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return -errno;
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0 ||
	    (ifr.ifr_flags |= IFF_UP, ioctl(fd, SIOCSIFFLAGS, &ifr) < 0))
		r = -errno;
	close(fd);
	return r;
}

int
main(int argc, char **argv)
{
	struct result native[NCASES], ins[NCASES];
	uint64_t n = 2000;
	char self[4096];
	ssize_t len;

	if (argc == 3 && strcmp(argv[1], "--child") == 0) {
		if (strnum_u64(argv[2], 100, ROUNDS_MAX, &n) < 0)
			return 2;
		measure(n, ins);
		for (int i = 0; i < NCASES; i++)
			printf("%.2f %.2f\n", ins[i].p50_us, ins[i].p99_us);
		return 0;
	}
	if (argc > 1 && strnum_u64(argv[1], 100, ROUNDS_MAX, &n) < 0) {
		fprintf(stderr, "usage: bench_ins_ctl [ROUNDS 100..%d]\n", ROUNDS_MAX);
		return 2;
	}
	len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (len < 0)
		return 1;
	self[len] = '\0';
	if ((len = private_netns()) < 0) {
		fprintf(stderr, "bench_ins_ctl: a network namespace of its own: %s (run as root)\n",
		    strerror((int)-len));
		return 1;
	}
	measure(n, native);
	if (measure_under_ins(self, n, ins) < 0) {
		fprintf(stderr, "bench_ins_ctl: could not run under moat-ins (build it, or set MOAT_INS)\n");
		return 1;
	}
	printf("%-20s %10s %10s %10s %10s %8s %8s\n", "call", "native p50", "p99", "moat-ins p50",
	       "p99", "x p50", "x p99");
	for (int i = 0; i < NCASES; i++)
		printf("%-20s %9.1fus %9.1fus %11.1fus %9.1fus %7.2fx %7.2fx\n", case_names[i],
		       native[i].p50_us, native[i].p99_us, ins[i].p50_us, ins[i].p99_us,
		       ins[i].p50_us / native[i].p50_us, ins[i].p99_us / native[i].p99_us);
	return 0;
}
