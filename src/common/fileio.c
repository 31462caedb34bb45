/*
 * fileio: capped whole-file reads and atomic replacement. See fileio.h.
 */
#include "common/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <limits.h>
#include <unistd.h>

/* First buffer for files that report size 0 (/proc, /sys): most fit. */
#define FILEIO_UNSIZED_CHUNK 4096u
/* Attempts at a fresh temporary name before giving up (-EEXIST). */
#define FILEIO_TMP_TRIES 16

/*
 * Read fd to its end into a malloc'd buffer, NUL-terminated. Up to max + 1
 * bytes are read, so a file over the cap is told from one at the cap; hint
 * (the stat size) sizes the first buffer, which grows only for files that
 * report no size or grew since fstat().
 */
static int
fileio_read_fd(int fd, size_t hint, size_t max, char **ret_buf, size_t *ret_len)
{
	size_t size, len = 0;
	char *buf, *nbuf;
	ssize_t n;
	int r;

	if (max > SIZE_MAX - 2)
		max = SIZE_MAX - 2;
	size = (hint > 0 ? hint : FILEIO_UNSIZED_CHUNK);
	if (size > max)
		size = max;
	size += 1;
	if ((buf = malloc(size)) == NULL)
		return -ENOMEM;
	for (;;) {
		if (len == size) {
			if (len > max) {
				r = -EFBIG;
				goto out;
			}
			size = size > (max + 1) / 2 ? max + 1 : size * 2;
			if ((nbuf = realloc(buf, size)) == NULL) {
				r = -ENOMEM;
				goto out;
			}
			buf = nbuf;
		}
		n = read(fd, buf + len, size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > max) {
		r = -EFBIG;
		goto out;
	}
	if (len == size) {
		/* No room left for the NUL (the file grew to exactly size). */
		if ((nbuf = realloc(buf, size + 1)) == NULL) {
			r = -ENOMEM;
			goto out;
		}
		buf = nbuf;
	}
	buf[len] = '\0';
	*ret_buf = buf;
	*ret_len = len;
	buf = NULL;
	r = 0;
out:
	free(buf);
	return r;
}

int
fileio_read_at(int dirfd, const char *name, size_t max, unsigned flags, char **ret_buf,
	       size_t *ret_len)
{
	struct stat st;
	int fd, r;

	/* O_NONBLOCK so that opening a FIFO returns at once (and is refused by
	   the check below) instead of waiting for a writer; it changes nothing
	   for regular files. O_NOCTTY in case the name is a terminal. */
	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK |
	    ((flags & FILEIO_NOFOLLOW) ? O_NOFOLLOW : 0));
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size < 0) {
		r = -EINVAL;
		goto out;
	}
	if ((flags & FILEIO_PRIVATE) && (st.st_mode & (S_IWGRP | S_IWOTH))) {
		r = -EPERM;
		goto out;
	}
	if ((uintmax_t)st.st_size > max) {
		r = -EFBIG;
		goto out;
	}
	r = fileio_read_fd(fd, (size_t)st.st_size, max, ret_buf, ret_len);
out:
	close(fd);
	return r;
}

int
fileio_read(const char *path, size_t max, unsigned flags, char **ret_buf, size_t *ret_len)
{
	return fileio_read_at(AT_FDCWD, path, max, flags, ret_buf, ret_len);
}

static int
fileio_write_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Create a fresh ".<base>.XXXXXXXX.tmp" next to base; its name into tmp. */
static int
fileio_create_tmp(int dirfd, const char *base, mode_t mode, char *tmp, size_t tmplen)
{
	for (int i = 0; i < FILEIO_TMP_TRIES; i++) {
		uint32_t rnd;
		int fd;

		if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd))
			rnd = (uint32_t)getpid() * 2654435761u + (uint32_t)i;
		if ((size_t)snprintf(tmp, tmplen, ".%s.%08x.tmp", base, rnd) >= tmplen)
			return -ENAMETOOLONG;
		fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW |
		    O_NOCTTY, mode);
		if (fd >= 0)
			return fd;
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

int
fileio_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	char dir[PATH_MAX], tmp[NAME_MAX + 1];
	const char *slash = strrchr(path, '/'), *base;
	int dirfd = -1, fd = -1, r;
	bool created = false;

	if (slash == NULL) {
		snprintf(dir, sizeof(dir), ".");
		base = path;
	} else {
		size_t n = (size_t)(slash - path);

		if (n >= sizeof(dir))
			return -ENAMETOOLONG;
		memcpy(dir, path, n);
		dir[n] = '\0';
		if (n == 0)
			snprintf(dir, sizeof(dir), "/");
		base = slash + 1;
	}
	if (*base == '\0')
		return -EISDIR;
	if ((dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -errno;
	if ((fd = fileio_create_tmp(dirfd, base, mode, tmp, sizeof(tmp))) < 0) {
		r = fd;
		goto out;
	}
	created = true;
	/* The creation mode went through the umask; the caller asked for mode. */
	if (fchmod(fd, mode) < 0) {
		r = -errno;
		goto out;
	}
	if ((r = fileio_write_all(fd, data, len)) < 0)
		goto out;
	if (fsync(fd) < 0) {
		r = -errno;
		goto out;
	}
	r = close(fd);
	fd = -1;
	if (r < 0) {
		r = -errno;	/* NFS and friends report write errors here */
		goto out;
	}
	if (renameat(dirfd, tmp, dirfd, base) < 0) {
		r = -errno;
		goto out;
	}
	created = false;
	r = fsync(dirfd) < 0 ? -errno : 0;
out:
	if (fd >= 0)
		close(fd);
	if (created)
		unlinkat(dirfd, tmp, 0);
	close(dirfd);
	return r;
}
