/*
 * fileio: whole-file reads with a cap, and crash-safe whole-file writes.
 *
 * fileio_read() is the one way moat code loads a file it then parses
 * (configuration, policies, backups, the OS fingerprint database, token and
 * state files): the size is capped before anything is allocated, only
 * regular files are accepted, and the result is NUL-terminated so text
 * parsers can use it directly. fileio_write_atomic() replaces a file so that
 * a reader, or the file system after a crash, sees either the old contents
 * or the new, never a mix, and an interrupted write leaves no temporary file.
 *
 * Library code: returns a negative errno and never logs.
 */
#ifndef MOAT_FILEIO_H
#define MOAT_FILEIO_H

#include <stddef.h>
#include <sys/types.h>

/* fileio_read() flags */
enum {
	/* Refuse a symbolic link in the last component (-ELOOP): for files in
	   directories others can write to, and secrets. */
	FILEIO_NOFOLLOW = 1u << 0,
	/* Refuse a group- or world-writable file (-EPERM): keys, tokens and
	   policies that someone else could have planted. */
	FILEIO_PRIVATE = 1u << 1,
};

/*
 * Read the whole regular file at path, at most max bytes, into a malloc'd
 * buffer with a NUL after the last byte (the file may itself contain NULs:
 * *ret_len is authoritative). The caller frees *ret_buf.
 *
 * Files whose stat size is 0 but that have contents (/proc, /sys) are read
 * to their end like any other. Returns 0, -EFBIG when the file holds more
 * than max bytes (also when it grows past max while being read), -EINVAL for
 * anything but a regular file (directories, FIFOs, devices: opening never
 * blocks on a FIFO), -ELOOP/-EPERM for the flags above, or the errno of
 * open/read/malloc. Outputs are written only on success.
 */
int fileio_read(const char *path, size_t max, unsigned flags, char **ret_buf, size_t *ret_len);

/* fileio_read() of name relative to the directory dirfd (or AT_FDCWD), for
   callers that opened and checked a state directory once. */
int fileio_read_at(int dirfd, const char *name, size_t max, unsigned flags, char **ret_buf,
		   size_t *ret_len);

/*
 * Replace the file at path with data[0..len), atomically and durably: the
 * data go to a new temporary file in the same directory (O_EXCL, so never an
 * existing file or a planted link), which is given exactly mode (umask does
 * not apply), synced, renamed over path, and the directory is synced so the
 * rename survives a crash. On every failure before the rename the temporary
 * file is removed and path is untouched. Returns 0 or a negative errno; a
 * failure to sync the directory after the rename is reported (-EIO etc.)
 * although path already has the new contents.
 */
int fileio_write_atomic(const char *path, const void *data, size_t len, mode_t mode);

#endif
