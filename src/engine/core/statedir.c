/*
 * statedir: moatd's state directory — made and checked before anything is
 * read from it, and swept of what interrupted writers left.
 */
#include "engine/core/statedir.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fileio.h"
#include "common/log.h"

int
statedir_make(const char *dir)
{
	struct stat st;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (stat(dir, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	/* Someone else's directory (or one others may write) could hold a
	 * planted api.url, token or store: refuse it. Ours is the file system
	 * identity (split moatd's engine is its user's before it drops root). */
	if (st.st_uid != fileio_fs_uid() || (st.st_mode & 022)) {
		log_errx("state directory %s is owned by uid %u with mode %04o; it must be "
		    "owned by uid %u and not writable by group or others (fix: chown %u %s && "
		    "chmod 700 %s, or use another --state)", dir, (unsigned)st.st_uid,
		    (unsigned)(st.st_mode & 07777), (unsigned)fileio_fs_uid(), (unsigned)fileio_fs_uid(),
		    dir, dir);
		return -EPERM;
	}
	return 0;
}

void
statedir_sweep(const char *dir)
{
	/* api/admin.c's backup and restore copies (and SQLite's journals beside
	 * them), api/server.c's api.url before its rename. */
	static const char *const prefixes[] = { ".backup-", ".restore-", "api.url.tmp" };
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d)) != NULL) {
		for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
			if (strncmp(de->d_name, prefixes[i], strlen(prefixes[i])) != 0)
				continue;
			if (unlinkat(dirfd(d), de->d_name, 0) == 0)
				log_info("removed %s/%s, left by an interrupted backup, restore "
				    "or start", dir, de->d_name);
		}
	}
	closedir(d);
}
