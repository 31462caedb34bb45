/*
 * client: moatd's REST API as the commands see it — one call, one reply,
 * one exit code.
 *
 * client_call() resolves the API base (endpoint.c) on first use, attaches
 * the bearer token to mutating calls (GET needs none, so read-only commands
 * work for users who cannot read the token), performs the request and maps
 * the outcome to an exit code per the contract: 2xx -> 0; 401 -> 4; other
 * 4xx -> 1; 5xx -> 5; no answer -> 3; no readable token -> 4. Every failure
 * is reported on stderr once, here, naming the call and the server's
 * "error"/"field"; commands only return the code.
 */
#ifndef MOAT_CLIENT_H
#define MOAT_CLIENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "cli/cli.h"

struct client_reply {
	long status;
	char *body;   /* raw bytes as received, NUL-terminated */
	size_t len;
	json_t *json; /* parsed body when it is JSON, else NULL */
};

/* A request body: JSON (encoded by the client) or raw bytes (possibly
 * none). bulk marks calls that move a whole store (backup, restore): they
 * get minutes instead of seconds to complete. */
struct client_body {
	const json_t *json;	/* if set, sent as application/json */
	const void *bytes;	/* else these, as application/octet-stream */
	size_t len;
	bool bulk;
};

/*
 * Perform METHOD path (path starts with "/api/v1/"; the caller has checked
 * any names it contains). body may be NULL. On success returns 0 and fills
 * *ret (free with client_reply_free()); otherwise returns an enum cli_exit
 * code, having reported why.
 */
int client_call(struct cli *cli, const char *method, const char *path,
    const struct client_body *body, struct client_reply *ret);

/* Shorthands. */
int client_get(struct cli *cli, const char *path, struct client_reply *ret);
int client_post_json(struct cli *cli, const char *path, const json_t *body,
    struct client_reply *ret);
int client_put_json(struct cli *cli, const char *path, const json_t *body,
    struct client_reply *ret);
int client_delete(struct cli *cli, const char *path, struct client_reply *ret);

void client_reply_free(struct client_reply *r);

/* Exit code for an HTTP status (2xx -> 0, 401 -> 4, 4xx -> 1, else 5). */
int client_exit_for_status(long status);

/*
 * For --json: print the reply body to stdout as the server sent it (with a
 * final newline). Returns 0.
 */
int client_print_raw(const struct client_reply *r);

/*
 * GET path and show the reply: the server's JSON with --json, else
 * render(reply). Returns an enum cli_exit code. The shape of every
 * read-only command.
 */
int client_show(struct cli *cli, const char *path, void (*render)(const json_t *reply));

/* The API base URL in use (resolving it if needed), or NULL on error. */
const char *client_api_url(struct cli *cli);

#endif
