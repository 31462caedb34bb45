/*
 * api_www: the dashboard's static files, served by moatd at "/".
 *
 * The files are a fixed allow-list of names (index.html, the app, its style
 * sheet and the vendored JavaScript libraries copied from npm at build
 * time). api_www_load() reads each listed file once, at start, from one
 * directory into memory (total capped by LIMIT_WWW_BYTES); afterwards no
 * path from a URL ever reaches the file system: a request is answered from
 * the table or with 404. Replies carry Content-Type, Cache-Control,
 * X-Content-Type-Options: nosniff and a Content-Security-Policy that allows
 * nothing but the server itself. GET and HEAD only (405 otherwise).
 */
#ifndef MOAT_ENGINE_API_WWW_H
#define MOAT_ENGINE_API_WWW_H

#include <stdbool.h>
#include <stddef.h>

struct api_www;
struct evhttp_request;

/*
 * Load the allow-listed files from dir, or when dir is NULL from the
 * installed directory and, if that does not exist, from the build tree's
 * copy. A missing directory or file is not an error: the dashboard then
 * answers 404 with a hint (the REST API is unaffected). Returns -errno
 * (-ENOMEM, -EFBIG over the cap) with *ret_www untouched.
 */
int api_www_load(const char *dir, struct api_www **ret_www);
void api_www_free(struct api_www *w);

/* The directory the files came from, "" if none was found. */
const char *api_www_dir(const struct api_www *w);
/* Files loaded. */
size_t api_www_count(const struct api_www *w);

/* True for paths the dashboard answers: everything but /api/..., /metrics
 * and /health (which the REST router keeps answering in JSON). */
bool api_www_owns(const char *path);

/*
 * The file for a URL path ("/" is index.html), or NULL. Sets the body, its
 * length and content type. For tests and for api_www_serve().
 */
const char *api_www_lookup(const struct api_www *w, const char *path, size_t *ret_len,
    const char **ret_type);

/* Answer one request whose path api_www_owns(). w may be NULL (404). */
void api_www_serve(const struct api_www *w, struct evhttp_request *req, const char *path);

#endif
