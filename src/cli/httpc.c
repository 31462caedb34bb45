#include "cli/httpc.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Connecting to a local daemon either works at once or not at all. */
#define HTTPC_CONNECT_TIMEOUT_S 5L

/* Reply accumulator for the write callback. */
struct httpc_sink {
	char *buf;
	size_t len;
	size_t cap;
	size_t max;
	int overflow;
};

int
httpc_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -EIO;
}

void
httpc_global_cleanup(void)
{
	curl_global_cleanup();
}

static size_t
httpc_write_cb(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct httpc_sink *s = userdata;
	size_t n = size * nmemb;	/* libcurl guarantees this does not overflow */
	size_t need, cap;
	char *nb;

	if (n > s->max - s->len) {
		s->overflow = 1;
		return 0;		/* aborts the transfer with CURLE_WRITE_ERROR */
	}
	need = s->len + n + 1;
	if (need > s->cap) {
		cap = s->cap ? s->cap : 4096;
		while (cap < need)
			cap *= 2;
		if ((nb = realloc(s->buf, cap)) == NULL)
			return 0;
		s->buf = nb;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, data, n);
	s->len += n;
	s->buf[s->len] = '\0';
	return n;
}

/* Every socket CLOEXEC and NONBLOCK from creation (libcurl would make it
 * non-blocking anyway, after the fact). */
static curl_socket_t
httpc_open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *a)
{
	return socket(a->family, a->socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->protocol);
}

static int
httpc_errno(CURLcode rc, const struct httpc_sink *s)
{
	if (s->overflow)
		return -EFBIG;
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_GOT_NOTHING:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
		return -ECONNREFUSED;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_URL_MALFORMAT:
		return -EINVAL;
	default:
		return -EIO;
	}
}

/* Build the request headers; NULL on allocation failure. */
static struct curl_slist *
httpc_headers(const struct httpc_request *req)
{
	struct curl_slist *h = NULL, *t;
	char line[512];

	h = curl_slist_append(h, "Accept: application/json");
	if (h != NULL && req->bearer != NULL) {
		snprintf(line, sizeof(line), "Authorization: Bearer %s", req->bearer);
		if ((t = curl_slist_append(h, line)) == NULL)
			goto fail;
		h = t;
	}
	if (h != NULL && req->content_type != NULL) {
		snprintf(line, sizeof(line), "Content-Type: %s", req->content_type);
		if ((t = curl_slist_append(h, line)) == NULL)
			goto fail;
		h = t;
	}
	/* No "Expect: 100-continue" round trip for large bodies. */
	if (h != NULL && (t = curl_slist_append(h, "Expect:")) != NULL)
		return t;
fail:
	curl_slist_free_all(h);
	return NULL;
}

static void
httpc_set_method(CURL *c, const struct httpc_request *req)
{
	if (req->body != NULL || strcmp(req->method, "POST") == 0) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body ? req->body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
	}
	if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "POST") != 0)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
}

int
httpc_perform(const struct httpc_request *req, struct httpc_reply *ret,
    char *errbuf, size_t errlen)
{
	char cerr[CURL_ERROR_SIZE] = "";
	struct httpc_sink sink = { .max = req->max_reply };
	struct curl_slist *hdrs = NULL;
	const char *ctype = NULL;
	CURL *c = NULL;
	CURLcode rc;
	int r = -ENOMEM;

	if ((c = curl_easy_init()) == NULL || (hdrs = httpc_headers(req)) == NULL) {
		snprintf(errbuf, errlen, "out of memory");
		goto out;
	}
	curl_easy_setopt(c, CURLOPT_URL, req->url);
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, HTTPC_CONNECT_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, req->timeout_s);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, httpc_write_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
	curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, httpc_open_socket);
	httpc_set_method(c, req);

	if ((rc = curl_easy_perform(c)) != CURLE_OK) {
		r = httpc_errno(rc, &sink);
		snprintf(errbuf, errlen, "%s", r == -EFBIG ? "reply larger than the limit"
		    : cerr[0] ? cerr : curl_easy_strerror(rc));
		goto out;
	}
	memset(ret, 0, sizeof(*ret));
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &ret->status);
	if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ctype) == CURLE_OK && ctype)
		snprintf(ret->content_type, sizeof(ret->content_type), "%s", ctype);
	if (sink.buf == NULL && (sink.buf = calloc(1, 1)) == NULL) {
		snprintf(errbuf, errlen, "out of memory");
		r = -ENOMEM;
		goto out;
	}
	ret->body = sink.buf;
	ret->len = sink.len;
	sink.buf = NULL;
	r = 0;
out:
	free(sink.buf);
	curl_slist_free_all(hdrs);
	if (c != NULL)
		curl_easy_cleanup(c);
	return r;
}

void
httpc_reply_free(struct httpc_reply *r)
{
	if (r == NULL)
		return;
	free(r->body);
	r->body = NULL;
	r->len = 0;
}
