#include "cli/client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/endpoint.h"
#include "cli/httpc.h"
#include "common/limits.h"
#include "common/log.h"

/* Ordinary calls answer at once; backup and restore move a whole store. */
#define CLIENT_TIMEOUT_S 30L
#define CLIENT_BULK_TIMEOUT_S 600L

const char *
client_api_url(struct cli *cli)
{
	const char *state;
	int r;

	if (cli->api_url != NULL)
		return cli->api_url;
	state = endpoint_state_dir(cli->state_opt);
	if ((r = endpoint_api_url(cli->api_opt, state, &cli->api_url)) < 0) {
		if (r == -EINVAL)
			log_errx("bad API URL (from --api, MOAT_API or %s/api.url): "
			    "expected http://HOST:PORT", state);
		else if (r == -EPERM)
			log_errx("refusing %s/api.url: it must be a file owned by root or by you "
			    "and writable by no one else (another user may have planted it to "
			    "receive the API token); check the state directory, or pass --api", state);
		else
			log_errx("cannot read %s/api.url: %s", state, strerror(-r));
		return NULL;
	}
	return cli->api_url;
}

/* The token for mutating calls; reports and returns NULL when unreadable. */
static const char *
client_token(struct cli *cli)
{
	const char *state;
	int r;

	if (cli->token != NULL)
		return cli->token;
	state = endpoint_state_dir(cli->state_opt);
	if ((r = endpoint_token(state, &cli->token)) < 0) {
		if (r == -EINVAL)
			log_errx("the API token (MOAT_TOKEN or %s/api.token) is malformed", state);
		else if (r == -EPERM)
			log_errx("refusing %s/api.token: it must be a file owned by root or by you "
			    "and writable by no one else; check the state directory", state);
		else
			log_errx("cannot read the API token %s/api.token: %s; "
			    "run as root or set MOAT_TOKEN", state, strerror(-r));
		return NULL;
	}
	return cli->token;
}

int
client_exit_for_status(long status)
{
	if (status >= 200 && status < 300)
		return CLI_EXIT_OK;
	if (status == 401)
		return CLI_EXIT_AUTH;
	if (status >= 400 && status < 500)
		return CLI_EXIT_REFUSED;
	return CLI_EXIT_SERVER;
}

/* Report a non-2xx reply: the call, the status, the server's error and field. */
static void
client_report_refusal(const char *method, const char *path, const struct client_reply *r)
{
	const char *err = NULL, *field = NULL;

	if (r->json != NULL) {
		err = json_string_value(json_object_get(r->json, "error"));
		field = json_string_value(json_object_get(r->json, "field"));
	}
	if (err == NULL)
		err = r->len > 0 && r->len < 200 ? r->body : "no details";
	if (field != NULL)
		log_errx("%s %s: %ld: %s (field \"%s\")", method, path, r->status, err, field);
	else
		log_errx("%s %s: %ld: %s", method, path, r->status, err);
}

static bool
client_is_mutating(const char *method)
{
	return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0;
}

/* Put body into req (JSON is encoded into *ret_json, which the caller
 * frees); 0 or an exit code. A body without bytes sends nothing. */
static int
client_encode_body(const struct client_body *body, char **ret_json,
    struct httpc_request *req)
{
	if (body == NULL || (body->json == NULL && body->bytes == NULL))
		return 0;
	if (body->json != NULL) {
		if ((*ret_json = json_dumps(body->json, JSON_COMPACT)) == NULL) {
			log_errx("cannot encode the request body");
			return CLI_EXIT_REFUSED;
		}
		req->body = *ret_json;
		req->body_len = strlen(*ret_json);
		req->content_type = "application/json";
	} else {
		req->body = body->bytes;
		req->body_len = body->len;
		req->content_type = "application/octet-stream";
	}
	return 0;
}

int
client_call(struct cli *cli, const char *method, const char *path,
    const struct client_body *body, struct client_reply *ret)
{
	struct httpc_request req = { .method = method, .timeout_s = CLIENT_TIMEOUT_S,
		.max_reply = LIMIT_CLI_REPLY };
	struct httpc_reply hr;
	struct client_reply cr = { 0 };
	char url[LIMIT_CLI_URL + 1024], err[256] = "", *json = NULL;
	const char *base;
	int r;

	if ((base = client_api_url(cli)) == NULL)
		return CLI_EXIT_USAGE;
	if ((size_t)snprintf(url, sizeof(url), "%s%s", base, path) >= sizeof(url)) {
		log_errx("%s %s: request path too long", method, path);
		return CLI_EXIT_USAGE;
	}
	req.url = url;
	if (client_is_mutating(method) && (req.bearer = client_token(cli)) == NULL)
		return CLI_EXIT_AUTH;
	if (body != NULL && body->bulk)
		req.timeout_s = CLIENT_BULK_TIMEOUT_S;
	if ((r = client_encode_body(body, &json, &req)) != 0)
		return r;
	r = httpc_perform(&req, &hr, err, sizeof(err));
	free(json);
	if (r < 0) {
		log_errx("%s %s: cannot reach moatd at %s: %s%s", method, path, base, err,
		    r == -ECONNREFUSED ? " (is moatd running? see --api, --state)" : "");
		return r == -EINVAL ? CLI_EXIT_USAGE : CLI_EXIT_UNREACHABLE;
	}
	cr.status = hr.status;
	cr.body = hr.body;
	cr.len = hr.len;
	if (strstr(hr.content_type, "json") != NULL || (hr.len > 0 && hr.body[0] == '{'))
		cr.json = json_loadb(hr.body, hr.len, 0, NULL);
	if ((r = client_exit_for_status(cr.status)) != CLI_EXIT_OK) {
		client_report_refusal(method, path, &cr);
		if (r == CLI_EXIT_AUTH)
			log_errx("authentication failed: check %s/api.token or MOAT_TOKEN",
			    endpoint_state_dir(cli->state_opt));
		client_reply_free(&cr);
		return r;
	}
	*ret = cr;
	return CLI_EXIT_OK;
}

int
client_get(struct cli *cli, const char *path, struct client_reply *ret)
{
	return client_call(cli, "GET", path, NULL, ret);
}

int
client_post_json(struct cli *cli, const char *path, const json_t *body,
    struct client_reply *ret)
{
	struct client_body b = { .json = body };

	return client_call(cli, "POST", path, &b, ret);
}

int
client_put_json(struct cli *cli, const char *path, const json_t *body,
    struct client_reply *ret)
{
	struct client_body b = { .json = body };

	return client_call(cli, "PUT", path, &b, ret);
}

int
client_delete(struct cli *cli, const char *path, struct client_reply *ret)
{
	return client_call(cli, "DELETE", path, NULL, ret);
}

void
client_reply_free(struct client_reply *r)
{
	if (r == NULL)
		return;
	json_decref(r->json);
	free(r->body);
	memset(r, 0, sizeof(*r));
}

int
client_print_raw(const struct client_reply *r)
{
	fwrite(r->body, 1, r->len, stdout);
	if (r->len == 0 || r->body[r->len - 1] != '\n')
		fputc('\n', stdout);
	return CLI_EXIT_OK;
}

int
client_show(struct cli *cli, const char *path, void (*render)(const json_t *reply))
{
	struct client_reply r;
	int rc;

	if ((rc = client_get(cli, path, &r)) != CLI_EXIT_OK)
		return rc;
	if (cli->json)
		client_print_raw(&r);
	else
		render(r.json);
	client_reply_free(&r);
	return CLI_EXIT_OK;
}
