/*
 * progpath: the programs moat hands work to (moatd --backtest for `moat
 * backtest`, moat-ins for `moat run`) — found and exec'd the same way.
 */
#ifndef MOAT_CLI_PROGPATH_H
#define MOAT_CLI_PROGPATH_H

#include <stddef.h>

struct progpath {
	const char *name;		/* the program, as $PATH would find it */
	const char *env;		/* the variable that names it outright */
	const char *const *rel;		/* paths relative to moat's own directory */
	size_t nrel;
	const char *installed;		/* the directory meson installs it to */
};

/*
 * Put the program to run in buf: $env as given; else the first executable
 * of rel[] (relative to this program, so a build tree or a moved install
 * runs its own copy, not another version's) and installed/name; else name,
 * for execvp to look up in $PATH.
 */
void progpath_find(const struct progpath *p, char *buf, size_t len);

/*
 * execvp(av[0], av); returns only on failure, after telling why on stderr
 * (who: "moat run"): 127 when the program is missing, else 126.
 */
int progpath_exec(const char *who, const struct progpath *p, char *const *av);

#endif
