#include "cli/endpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/limits.h"

const char *
endpoint_state_dir(const char *opt)
{
	const char *env;

	if (opt != NULL && *opt != '\0')
		return opt;
	if ((env = getenv("MOAT_STATE")) != NULL && *env != '\0')
		return env;
	return ENDPOINT_DEFAULT_STATE;
}

/*
 * The API address and token come from the state directory. A file there
 * that another local user could have written (theirs, or writable by group
 * or others) may point the CLI, and its bearer token, at their listener.
 */
static int
endpoint_trusted(int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EPERM;
	if (st.st_uid != 0 && st.st_uid != geteuid())
		return -EPERM;
	if (st.st_mode & 022)
		return -EPERM;
	return 0;
}

int
endpoint_read_line(const char *path, size_t max, char **ret)
{
	char *buf = NULL;
	ssize_t n;
	size_t len = 0;
	int fd, r;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0)
		return -errno;
	if ((r = endpoint_trusted(fd)) < 0)
		goto out;
	if ((buf = malloc(max + 2)) == NULL) {
		r = -ENOMEM;
		goto out;
	}
	/* Read up to max + 1 bytes so an over-long file is detected. */
	while (len < max + 1) {
		n = read(fd, buf + len, max + 1 - len);
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
	buf[len] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	for (len = strlen(buf); len > 0 && (buf[len - 1] == ' ' || buf[len - 1] == '\t'); len--)
		buf[len - 1] = '\0';
	*ret = buf;
	buf = NULL;
	r = 0;
out:
	free(buf);
	close(fd);
	return r;
}

/* Printable ASCII, no spaces: safe inside a URL or a header line. */
static bool
endpoint_is_token_text(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		return false;
	for (; *s; s++)
		if (*s <= ' ' || *s > '~')
			return false;
	return true;
}

static bool
endpoint_is_url(const char *s)
{
	return endpoint_is_token_text(s, LIMIT_CLI_URL) &&
	    (strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0);
}

/* Copy url without trailing slashes into *ret. */
static int
endpoint_set_url(const char *url, char **ret_url)
{
	size_t n = strlen(url);
	char *u;

	if (!endpoint_is_url(url))
		return -EINVAL;
	while (n > 0 && url[n - 1] == '/')
		n--;
	if ((u = strndup(url, n)) == NULL)
		return -ENOMEM;
	*ret_url = u;
	return 0;
}

int
endpoint_api_url(const char *opt, const char *state_dir, char **ret_url)
{
	const char *env = getenv("MOAT_API");
	char path[4096], *line = NULL;
	int r;

	if (opt != NULL && *opt != '\0')
		return endpoint_set_url(opt, ret_url);
	if (env != NULL && *env != '\0')
		return endpoint_set_url(env, ret_url);
	if ((size_t)snprintf(path, sizeof(path), "%s/api.url", state_dir) >= sizeof(path))
		return -ENAMETOOLONG;
	/* A file we cannot read (absent, or a state dir closed to this user,
	 * who can still use GET calls) means the default; a file that is not
	 * a URL is an error. */
	r = endpoint_read_line(path, LIMIT_CLI_URL, &line);
	if (r == -EFBIG)
		return -EINVAL;
	if (r == -EPERM)
		return r;	/* untrusted: never fall back silently */
	if (r < 0)
		return endpoint_set_url(ENDPOINT_DEFAULT_API, ret_url);
	r = endpoint_set_url(line, ret_url);
	free(line);
	return r;
}

int
endpoint_token(const char *state_dir, char **ret_token)
{
	const char *env = getenv("MOAT_TOKEN");
	char path[4096], *tok = NULL;
	int r;

	if (env != NULL && *env != '\0') {
		if (!endpoint_is_token_text(env, LIMIT_CLI_TOKEN))
			return -EINVAL;
		if ((tok = strdup(env)) == NULL)
			return -ENOMEM;
		*ret_token = tok;
		return 0;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/api.token", state_dir) >= sizeof(path))
		return -ENAMETOOLONG;
	if ((r = endpoint_read_line(path, LIMIT_CLI_TOKEN, &tok)) < 0)
		return r == -EFBIG ? -EINVAL : r;
	if (!endpoint_is_token_text(tok, LIMIT_CLI_TOKEN)) {
		free(tok);
		return -EINVAL;
	}
	*ret_token = tok;
	return 0;
}
