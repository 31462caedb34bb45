/*
 * A private nats-server with JetStream for the cluster unit tests: on a free
 * loopback port, its store in a temp dir. A watchdog child stops the server
 * and removes the dir when the test process ends, however it ends (its pipe
 * closes). Without nats-server the tests fail (scripts/deps installs it):
 * they never skip.
 */
#ifndef MOAT_NATSD_TEST_H
#define MOAT_NATSD_TEST_H

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#define NATSD_BIN "/usr/sbin/nats-server"

struct natsd {
	char dir[64];
	int port;
	pid_t pid;
};

static inline int
natsd_free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = -1;

	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static inline bool
natsd_listening(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;

	if (fd >= 0)
		close(fd);
	return ok;
}

/* The watchdog: waits for this process to end, then stops the server and
 * removes its dir. The pipe's write end stays open until then. */
static inline int
natsd_watch(const struct natsd *d)
{
	int fds[2];
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0 || (pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		char c, cmd[128];

		close(fds[1]);
		signal(SIGINT, SIG_IGN);
		while (read(fds[0], &c, 1) > 0)
			;
		kill(d->pid, SIGTERM);
		sleep(1);
		kill(d->pid, SIGKILL);
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d->dir);
		_exit(system(cmd) != 0);
	}
	close(fds[0]);
	return 0;
}

/* Start the server and wait (up to 10 s) until it listens. */
static inline int
natsd_start(struct natsd *d)
{
	char js[96], port[16];

	snprintf(d->dir, sizeof(d->dir), "/tmp/moat-test-nats-XXXXXX");
	if (mkdtemp(d->dir) == NULL || (d->port = natsd_free_port()) < 0)
		return -1;
	snprintf(js, sizeof(js), "%s/js", d->dir);
	snprintf(port, sizeof(port), "%d", d->port);
	if (access(NATSD_BIN, X_OK) != 0) {
		fprintf(stderr, "nats-server not found (apt-get install nats-server; scripts/deps)\n");
		return -1;
	}
	if ((d->pid = fork()) < 0)
		return -1;
	if (d->pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		dup2(null, 2);
		execl(NATSD_BIN, "nats-server", "-a", "127.0.0.1", "-p", port, "-js", "-sd", js,
		    (char *)NULL);
		_exit(127);
	}
	if (natsd_watch(d) < 0)
		return -1;
	for (int i = 0; i < 100 && !natsd_listening(d->port); i++)
		usleep(100000);
	return natsd_listening(d->port) ? 0 : -1;
}

#endif
