/*
 * api_admin: service-level endpoints. Backup and restore go through a
 * private temporary file in the state directory (mode 0600, removed before
 * the reply), because SQLite's backup API works on files.
 */
#include "engine/api/admin.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "engine/api/server.h"
#include "engine/core/engine.h"

void
api_admin_health(struct api_req *r)
{
	struct engine *e = api_req_engine(r);
	struct health *h = engine_health(e);

	api_reply_json(r, 200, json_pack("{s:s, s:s, s:I, s:I, s:I, s:s, s:s, s:o}",
	    "status", health_status_name(health_status(h)),
	    "version", ENGINE_VERSION,
	    "uptime_s", (json_int_t)engine_uptime_s(e),
	    "started_at", (json_int_t)engine_started_at(e),
	    "pos", (json_int_t)poset_count(engine_pos(e)),
	    "store", store_backend_name(engine_store(e)),
	    "state_dir", engine_state_dir(e),
	    "issues", health_issues_json(h)));
}

/* Create <state>/<prefix>-XXXXXX (0600, CLOEXEC); path receives the name. */
static int
api_admin_tmpfile(struct engine *e, const char *prefix, char *path, size_t len)
{
	int fd;

	if ((size_t)snprintf(path, len, "%s/.%s-XXXXXX", engine_state_dir(e), prefix) >= len)
		return -ENAMETOOLONG;
	fd = mkostemp(path, O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* Remove a temporary database and any journal SQLite left beside it. */
static void
api_admin_unlink_db(const char *path)
{
	static const char *const suffixes[] = { "", "-journal", "-wal", "-shm" };
	char p[4200];

	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", path, suffixes[i]);
		unlink(p);
	}
}

void
api_admin_sweep(const char *state_dir)
{
	static const char *const prefixes[] = { ".backup-", ".restore-", "api.url.tmp" };
	DIR *d = opendir(state_dir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d)) != NULL) {
		for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
			if (strncmp(de->d_name, prefixes[i], strlen(prefixes[i])) != 0)
				continue;
			if (unlinkat(dirfd(d), de->d_name, 0) == 0)
				log_info("api: removed %s/%s, left by an interrupted backup or "
				    "restore", state_dir, de->d_name);
		}
	}
	closedir(d);
}

void
api_admin_backup(struct api_req *r)
{
	struct engine *e = api_req_engine(r);
	char path[4096];
	int fd, ret;

	fd = api_admin_tmpfile(e, "backup", path, sizeof(path));
	if (fd < 0) {
		api_reply_error(r, 500, NULL, "cannot create a temporary file: %s", strerror(-fd));
		return;
	}
	close(fd);
	ret = engine_backup(e, path);
	fd = ret == 0 ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	api_admin_unlink_db(path);
	if (fd < 0) {
		api_reply_error(r, 500, NULL, "backup failed: %s", strerror(ret < 0 ? -ret : errno));
		return;
	}
	log_info("api: backup sent");
	api_reply_fd(r, 200, "application/octet-stream", fd);
}

void
api_admin_restore(struct api_req *r)
{
	struct engine *e = api_req_engine(r);
	char path[4096];
	int fd, ret;

	if (api_req_body_len(r) == 0) {
		api_reply_error(r, 400, NULL, "the body must be a moat backup");
		return;
	}
	fd = api_admin_tmpfile(e, "restore", path, sizeof(path));
	if (fd < 0) {
		api_reply_error(r, 500, NULL, "cannot create a temporary file: %s", strerror(-fd));
		return;
	}
	ret = api_req_body_to_fd(r, fd);
	if (close(fd) < 0 && ret == 0)
		ret = -errno;
	if (ret == 0)
		ret = engine_restore(e, path);
	api_admin_unlink_db(path);
	if (ret == -EINVAL)
		api_reply_error(r, 400, NULL, "not a moat backup (nothing changed)");
	else if (ret == -EPROTO)
		api_reply_error(r, 400, NULL, "the backup comes from a newer moatd schema (nothing "
		    "changed)");
	else if (ret < 0)
		api_reply_error(r, 500, NULL, "restore failed: %s", strerror(-ret));
	else
		api_reply_json(r, 200, json_pack("{s:b, s:I}", "restored", 1, "pos",
		    (json_int_t)poset_count(engine_pos(e))));
}

void
api_admin_reset(struct api_req *r)
{
	const char *body = api_req_body(r);
	json_error_t jerr;
	const char *key;
	json_t *j, *v;
	int ret;

	j = body ? json_loadb(body, api_req_body_len(r), JSON_REJECT_DUPLICATES, &jerr) : NULL;
	if (!j || !json_is_object(j)) {
		json_decref(j);
		api_reply_error(r, 400, "confirm", "the body must be {\"confirm\": true}");
		return;
	}
	json_object_foreach(j, key, v) {
		if (strcmp(key, "confirm") != 0) {
			api_reply_error(r, 400, key, "unknown field \"%.64s\"", key);
			json_decref(j);
			return;
		}
	}
	if (!json_is_true(json_object_get(j, "confirm"))) {
		json_decref(j);
		api_reply_error(r, 400, "confirm", "the body must be {\"confirm\": true}");
		return;
	}
	json_decref(j);
	ret = engine_reset(api_req_engine(r));
	if (ret < 0) {
		api_reply_error(r, 500, NULL, "factory reset failed: %s", strerror(-ret));
		return;
	}
	api_reply_json(r, 200, json_pack("{s:b}", "reset", 1));
}
