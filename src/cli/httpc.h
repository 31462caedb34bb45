/*
 * httpc: a small blocking HTTP/1.1 client over libcurl, for the CLI.
 *
 * One call = one request on a fresh connection: moat talks to a local
 * daemon a few times per invocation, so there is nothing to pool. Proxies
 * from the environment are ignored (moatd is local; a proxy would see the
 * token). Sockets are created CLOEXEC. The reply body is kept in memory up
 * to req->max_reply bytes; a longer reply fails with -EFBIG.
 */
#ifndef MOAT_HTTPC_H
#define MOAT_HTTPC_H

#include <stddef.h>

struct httpc_request {
	const char *method;	  /* "GET", "POST", "PUT", "DELETE" */
	const char *url;	  /* absolute http(s) URL */
	const char *bearer;	  /* token for "Authorization: Bearer", or NULL */
	const char *content_type; /* of body; NULL when there is no body */
	const void *body;
	size_t body_len;
	long timeout_s;		  /* whole request; connecting is capped separately */
	size_t max_reply;	  /* reply body cap in bytes */
};

struct httpc_reply {
	long status;	      /* HTTP status */
	char *body;	      /* NUL-terminated (the NUL is not counted in len) */
	size_t len;
	char content_type[64]; /* "" when the server sent none */
};

/* Process-wide libcurl set-up; call once before the first request. */
int httpc_global_init(void);
void httpc_global_cleanup(void);

/*
 * Perform req. Returns 0 with *ret filled when the server answered (any
 * status), or a negative errno when it did not: -ECONNREFUSED (nothing
 * listening / cannot resolve), -ETIMEDOUT, -EFBIG (reply over the cap),
 * -EINVAL (malformed URL), -EIO (anything else, e.g. a reply that is not
 * HTTP). On failure errbuf holds libcurl's
 * explanation. The caller frees the reply with httpc_reply_free().
 */
int httpc_perform(const struct httpc_request *req, struct httpc_reply *ret,
    char *errbuf, size_t errlen);
void httpc_reply_free(struct httpc_reply *r);

#endif
