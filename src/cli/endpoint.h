/*
 * endpoint: where the CLI finds moatd and its token (api_spec "CLI").
 *
 *   state dir: --state DIR, else $MOAT_STATE, else /var/lib/moat
 *   API base:  --api URL, else $MOAT_API, else <state>/api.url (written by
 *              moatd at start), else http://127.0.0.1:8080
 *   token:     $MOAT_TOKEN, else <state>/api.token (mode 0600, root's)
 *
 * Files are read with a small cap and checked: a URL must be http(s)://
 * and one line; a token must be printable ASCII without spaces, so it can
 * never smuggle a header line. Nothing here logs.
 */
#ifndef MOAT_ENDPOINT_H
#define MOAT_ENDPOINT_H

#include <stddef.h>

#define ENDPOINT_DEFAULT_STATE "/var/lib/moat"
#define ENDPOINT_DEFAULT_API "http://127.0.0.1:8080"

/* The state dir to use; never NULL, not allocated. */
const char *endpoint_state_dir(const char *opt);

/*
 * The API base URL without a trailing '/', in *ret_url (caller frees).
 * An api.url that cannot be read (missing, or in a state dir this user may
 * not enter) falls back to the default; malformed content (option,
 * environment or file) is -EINVAL; an untrusted file is -EPERM.
 */
int endpoint_api_url(const char *opt, const char *state_dir, char **ret_url);

/*
 * The API token in *ret_token (caller frees): $MOAT_TOKEN if set, else the
 * first line of <state_dir>/api.token. Returns -EINVAL for a malformed token
 * or the negative errno of reading the file (-EACCES, -ENOENT, -EPERM for an
 * untrusted file, see endpoint_read_line).
 */
int endpoint_token(const char *state_dir, char **ret_token);

/* Read a one-line text file of at most max bytes into *ret (caller frees),
 * trailing whitespace removed. -EFBIG if longer; -EPERM if it is not a
 * regular file owned by root or the effective user and closed to writes by
 * group and others (it may have been planted: api.url then is an error, not
 * the default). Exposed for tests. */
int endpoint_read_line(const char *path, size_t max, char **ret);

#endif
