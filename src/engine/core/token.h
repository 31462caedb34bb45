/*
 * token: the REST API's bearer token, <state>/api.token — 32 random bytes
 * as 64 hex characters, created at first start with mode 0600.
 *
 * Policy for an existing file: it must be a regular file owned by our
 * effective user and not writable by group or others (else it may have been
 * planted: refuse, -EPERM). If it is merely readable by group or others the
 * secret may have leaked but the file is still ours: the mode is fixed to
 * 0600 and *ret_fixed_mode tells the caller to warn.
 */
#ifndef MOAT_ENGINE_TOKEN_H
#define MOAT_ENGINE_TOKEN_H

#include <stdbool.h>

#define TOKEN_HEX_LEN 64
#define TOKEN_FILE "api.token"

/* -EPERM (policy above), -EINVAL (not 64 hex characters), or -errno. */
int token_load_or_create(const char *state_dir, char ret[TOKEN_HEX_LEN + 1],
    bool *ret_fixed_mode);

/* Constant-time comparison of a presented token with the expected one: the
 * time depends only on the expected length. */
bool token_equal(const char *expected, const char *given);

#endif
