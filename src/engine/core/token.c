/*
 * token: create or load the API token file. It is read with O_NOFOLLOW and
 * created through fileio_write_atomic() (a new O_EXCL temporary file renamed
 * into place), so a symlink planted in the state directory cannot redirect
 * the secret. The read stays on its own descriptor: the owner and mode
 * checks, and the fchmod that repairs a readable token, must be made on the
 * file that is read, which fileio_read() does not offer.
 */
#include "engine/core/token.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fileio.h"

static bool
token_valid(const char *s)
{
	for (size_t i = 0; i < TOKEN_HEX_LEN; i++) {
		char c = s[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
	}
	return s[TOKEN_HEX_LEN] == '\0';
}

static int
token_create(const char *path, char ret[TOKEN_HEX_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[TOKEN_HEX_LEN / 2];
	char text[TOKEN_HEX_LEN + 2];
	ssize_t n;
	int r;

	n = getrandom(raw, sizeof(raw), 0);
	if (n != (ssize_t)sizeof(raw))
		return n < 0 ? -errno : -EIO;
	for (size_t i = 0; i < sizeof(raw); i++) {
		text[2 * i] = hex[raw[i] >> 4];
		text[2 * i + 1] = hex[raw[i] & 15];
	}
	text[TOKEN_HEX_LEN] = '\n';
	text[TOKEN_HEX_LEN + 1] = '\0';
	/* Atomically: a CLI reading the token while moatd starts, or moatd
	   after a crash, sees no file or the whole token, never a short one. */
	if ((r = fileio_write_atomic(path, text, TOKEN_HEX_LEN + 1, 0600)) < 0)
		return r;
	memcpy(ret, text, TOKEN_HEX_LEN);
	ret[TOKEN_HEX_LEN] = '\0';
	return 0;
}

static int
token_read(int fd, char ret[TOKEN_HEX_LEN + 1], bool *ret_fixed_mode)
{
	char buf[TOKEN_HEX_LEN + 3];
	struct stat st;
	ssize_t n;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || st.st_uid != fileio_fs_uid() || (st.st_mode & 022))
		return -EPERM;
	*ret_fixed_mode = false;
	if (st.st_mode & 044) {
		if (fchmod(fd, 0600) < 0)
			return -errno;
		*ret_fixed_mode = true;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	if (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	if (n != TOKEN_HEX_LEN || !token_valid(buf))
		return -EINVAL;
	memcpy(ret, buf, TOKEN_HEX_LEN + 1);
	return 0;
}

int
token_load_or_create(const char *state_dir, char ret[TOKEN_HEX_LEN + 1], bool *ret_fixed_mode)
{
	char path[4096];
	int fd, r;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", state_dir, TOKEN_FILE) >= sizeof(path))
		return -ENAMETOOLONG;
	*ret_fixed_mode = false;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return token_create(path, ret);
	if (fd < 0)
		return errno == ELOOP ? -EPERM : -errno;
	r = token_read(fd, ret, ret_fixed_mode);
	close(fd);
	return r;
}

bool
token_equal(const char *expected, const char *given)
{
	size_t n = strlen(expected), glen = strlen(given);
	unsigned char diff = glen != n;

	/* Walk the expected length whatever was given; read given only within
	 * its own length. */
	for (size_t i = 0; i < n; i++)
		diff |= (unsigned char)(expected[i] ^ (i < glen ? given[i] : 0));
	return diff == 0;
}
