/*
 * progpath: find and exec the programs moat hands work to.
 */
#include "cli/progpath.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool
progpath_try(char *buf, size_t len, const char *dir, const char *rel)
{
	return (size_t)snprintf(buf, len, "%s/%s", dir, rel) < len && access(buf, X_OK) == 0;
}

void
progpath_find(const struct progpath *p, char *buf, size_t len)
{
	const char *env = p->env ? getenv(p->env) : NULL;
	char self[PATH_MAX];
	ssize_t n;
	char *slash;

	if (env && *env) {
		snprintf(buf, len, "%s", env);
		return;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/')) != NULL) {
			*slash = '\0';
			for (size_t i = 0; i < p->nrel; i++)
				if (progpath_try(buf, len, self, p->rel[i]))
					return;
		}
	}
	if (p->installed && progpath_try(buf, len, p->installed, p->name))
		return;
	snprintf(buf, len, "%s", p->name);
}

int
progpath_exec(const char *who, const struct progpath *p, char *const *av)
{
	int err;

	fflush(NULL);
	execvp(av[0], av);
	err = errno;	/* before anything else can change it */
	fprintf(stderr, "%s: cannot start %s: %s", who, av[0], strerror(err));
	if (err == ENOENT)
		fprintf(stderr, " (install %s, or set %s to its path)", p->name, p->env);
	fputc('\n', stderr);
	return err == ENOENT ? 127 : 126;
}
