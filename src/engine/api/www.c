/*
 * api_www: the dashboard's static files from a fixed allow-list, loaded
 * once into memory (see www.h for the contract).
 */
#include "engine/api/www.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "common/fileio.h"
#include "common/limits.h"
#include "common/log.h"
#include "engine/api/www_paths.h"

/* One served file: the URL path, the file's name in the directory, its type. */
struct www_entry {
	const char *path;
	const char *name;
	const char *type;
};

/* Every file moatd serves. web/meson.build copies and installs exactly these. */
static const struct www_entry www_table[] = {
	{ "/", "index.html", "text/html; charset=utf-8" },
	{ "/index.html", "index.html", "text/html; charset=utf-8" },
	{ "/app.js", "app.js", "text/javascript; charset=utf-8" },
	{ "/style.css", "style.css", "text/css; charset=utf-8" },
	{ "/favicon.svg", "favicon.svg", "image/svg+xml" },
	{ "/preact.js", "preact.js", "text/javascript; charset=utf-8" },
	{ "/hooks.js", "hooks.js", "text/javascript; charset=utf-8" },
	{ "/htm.js", "htm.js", "text/javascript; charset=utf-8" },
	{ "/uplot.js", "uplot.js", "text/javascript; charset=utf-8" },
	{ "/uplot.css", "uplot.css", "text/css; charset=utf-8" },
};
#define WWW_NFILES (sizeof(www_table) / sizeof(www_table[0]))

static const char www_csp[] = "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

struct api_www {
	char dir[256];
	size_t count;
	char *body[WWW_NFILES];
	size_t len[WWW_NFILES];
};

static bool
www_is_dir(const char *p)
{
	int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

int
api_www_load(const char *dir, struct api_www **ret_www)
{
	struct api_www *w = calloc(1, sizeof(*w));
	size_t total = 0;
	int dfd, r = 0;

	if (!w)
		return -ENOMEM;
	if (!dir)
		dir = www_is_dir(MOAT_WWW_DIR) ? MOAT_WWW_DIR : MOAT_WWW_BUILD_DIR;
	snprintf(w->dir, sizeof(w->dir), "%s", dir);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		log_warnx("www: no dashboard files in %s: %s", dir, strerror(errno));
		w->dir[0] = '\0';
		*ret_www = w;
		return 0;
	}
	for (size_t i = 0; i < WWW_NFILES && r == 0; i++) {
		size_t same = i;

		/* "/" and "/index.html" share one copy */
		for (size_t j = 0; j < i; j++)
			if (strcmp(www_table[j].name, www_table[i].name) == 0)
				same = j;
		if (same != i) {
			w->body[i] = w->body[same];
			w->len[i] = w->len[same];
			continue;
		}
		r = fileio_read_at(dfd, www_table[i].name, LIMIT_WWW_BYTES - total,
		    FILEIO_NOFOLLOW, &w->body[i], &w->len[i]);
		if (r == -ENOENT) {
			log_warnx("www: %s/%s is missing", dir, www_table[i].name);
			r = 0;
			continue;
		}
		if (r == 0) {
			total += w->len[i];
			w->count++;
		}
	}
	close(dfd);
	if (r < 0) {
		log_warnx("www: loading %s: %s", dir, strerror(-r));
		api_www_free(w);
		return r;
	}
	log_info("www: dashboard: %zu files from %s", w->count, dir);
	*ret_www = w;
	return 0;
}

void
api_www_free(struct api_www *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < WWW_NFILES; i++) {
		bool shared = false;

		for (size_t j = 0; j < i; j++)
			if (w->body[j] == w->body[i])
				shared = true;
		if (!shared)
			free(w->body[i]);
	}
	free(w);
}

const char *
api_www_dir(const struct api_www *w)
{
	return w ? w->dir : "";
}

size_t
api_www_count(const struct api_www *w)
{
	return w ? w->count : 0;
}

bool
api_www_owns(const char *path)
{
	if (strncmp(path, "/api/", 5) == 0 || strcmp(path, "/api") == 0)
		return false;
	return strcmp(path, "/metrics") != 0 && strcmp(path, "/health") != 0;
}

const char *
api_www_lookup(const struct api_www *w, const char *path, size_t *ret_len, const char **ret_type)
{
	if (!w)
		return NULL;
	for (size_t i = 0; i < WWW_NFILES; i++) {
		if (strcmp(www_table[i].path, path) != 0 || !w->body[i])
			continue;
		*ret_len = w->len[i];
		*ret_type = www_table[i].type;
		return w->body[i];
	}
	return NULL;
}

static void
www_reply(struct evhttp_request *req, int status, const char *reason, const char *type,
    const char *body, size_t len, bool cache)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evbuffer *buf = evbuffer_new();

	evhttp_add_header(h, "Content-Type", type);
	/* the files change only with an upgrade; a short cache and revalidation */
	evhttp_add_header(h, "Cache-Control", cache ? "max-age=60, must-revalidate" : "no-store");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "Content-Security-Policy", www_csp);
	evhttp_add_header(h, "Referrer-Policy", "no-referrer");
	evhttp_add_header(h, "X-Frame-Options", "DENY");
	/* a copy: the reply may outlive this call (the files are small) */
	if (buf && body)
		evbuffer_add(buf, body, len);
	evhttp_send_reply(req, status, reason, buf);
	if (buf)
		evbuffer_free(buf);
}

void
api_www_serve(const struct api_www *w, struct evhttp_request *req, const char *path)
{
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	const char *body, *type;
	size_t len;
	char msg[160];

	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
		snprintf(msg, sizeof(msg), "method not allowed\n");
		www_reply(req, 405, "Method Not Allowed", "text/plain; charset=utf-8", msg,
		    strlen(msg), false);
		return;
	}
	body = api_www_lookup(w, path, &len, &type);
	if (!body) {
		snprintf(msg, sizeof(msg), "%s\n", api_www_count(w) == 0 ?
		    "not found (the dashboard's files are not installed; see api.www)" :
		    "not found");
		www_reply(req, 404, "Not Found", "text/plain; charset=utf-8", msg, strlen(msg),
		    false);
		return;
	}
	www_reply(req, 200, "OK", type, body, len, true);
}
