/*
 * cluster/conf: the `cluster:` section (see conf.h).
 */
#include "engine/cluster/conf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/core/settings.h"

const char *
cluster_role_name(enum cluster_role r)
{
	switch (r) {
	case CLUSTER_COLLECT: return "collect";
	case CLUSTER_ENGINE: return "engine";
	default: return "all";
	}
}

uint32_t
cluster_shard_of(const char *po_name, uint32_t shards)
{
	uint32_t h = 2166136261u;

	for (const unsigned char *p = (const unsigned char *)po_name; *p != '\0'; p++) {
		h ^= *p;
		h *= 16777619u;
	}
	return shards ? h % shards : 0;
}

uint64_t
cluster_id_base(const struct settings *s)
{
	const struct cluster_conf *cc = s != NULL ? settings_ext(s, "cluster") : NULL;

	if (cc == NULL || cc->role != CLUSTER_ENGINE)
		return 0;
	return ((uint64_t)cluster_shard_of(cc->instance, UINT32_C(1) << 20) + 1) << 32;
}

/* A string of at most max bytes into dst; absent: dst unchanged. */
static int
conf_str(const struct cfg_node *map, const char *key, char *dst, size_t max,
    struct cfg_error *err)
{
	const char *s = NULL;
	int r;

	if ((r = cfg_get_str(map, key, &s, err)) < 0 || s == NULL)
		return r;
	if (strlen(s) > max)
		return cfg_fail(err, cfg_get(map, key), "%s: longer than %zu bytes", key, max);
	memcpy(dst, s, strlen(s) + 1);
	return 0;
}

static int
conf_path(const struct cfg_node *map, const char *key, char *dst, struct cfg_error *err)
{
	int r = conf_str(map, key, dst, CLUSTER_PATH_MAX, err);

	if (r == 0 && dst[0] != '\0' && dst[0] != '/')
		return cfg_fail(err, cfg_get(map, key), "%s: expected an absolute path", key);
	return r;
}

/* A NATS URL: nats:// or tls:// (or a bare host:port); never a password
 * (user:pw@): secrets come from the creds file. */
static int
conf_url(const struct cfg_node *n, char *dst, struct cfg_error *err)
{
	const char *s = cfg_kind(n) == CFG_SCALAR ? cfg_scalar(n) : NULL;
	const char *host, *at;

	if (s == NULL || s[0] == '\0' || strlen(s) > CLUSTER_PATH_MAX)
		return cfg_fail(err, n, "nats.urls: expected a URL of at most %u bytes",
		    CLUSTER_PATH_MAX);
	host = strstr(s, "://");
	host = host ? host + 3 : s;
	at = strchr(host, '@');
	if (at != NULL && memchr(host, ':', (size_t)(at - host)) != NULL)
		return cfg_fail(err, n, "nats.urls: a URL may not hold a password "
		    "(use nats.creds or a TLS client certificate)");
	if (strchr(s, ' ') != NULL || strchr(s, ',') != NULL)
		return cfg_fail(err, n, "nats.urls: one URL per list entry");
	memcpy(dst, s, strlen(s) + 1);
	return 0;
}

static int
conf_nats(struct cluster_conf *cc, const struct cfg_node *n, struct cfg_error *err)
{
	static const char *const keys[] = { "urls", "creds", "tls", "replicas", NULL };
	static const char *const tkeys[] = { "ca", "cert", "key", NULL };
	const struct cfg_node *urls = NULL, *tls = NULL;
	uint64_t rep = cc->replicas;
	int r;

	if (cfg_kind(n) != CFG_MAP)
		return cfg_fail(err, n, "nats: expected a map");
	if ((r = cfg_check_keys(n, keys, err)) < 0 || (r = cfg_get_seq(n, "urls", &urls, err)) < 0 ||
	    (r = conf_path(n, "creds", cc->creds, err)) < 0 ||
	    (r = cfg_get_u64(n, "replicas", 1, 5, &rep, err)) < 0 ||
	    (r = cfg_get_map(n, "tls", &tls, err)) < 0)
		return r;
	cc->replicas = (unsigned)rep;
	if (urls != NULL) {
		if (cfg_len(urls) == 0 || cfg_len(urls) > CLUSTER_MAX_URLS)
			return cfg_fail(err, urls, "nats.urls: expected 1..%u URLs", CLUSTER_MAX_URLS);
		for (size_t i = 0; i < cfg_len(urls); i++)
			if ((r = conf_url(cfg_seq_at(urls, i), cc->urls[i], err)) < 0)
				return r;
		cc->nurls = (unsigned)cfg_len(urls);
	}
	if (tls != NULL) {
		if ((r = cfg_check_keys(tls, tkeys, err)) < 0 ||
		    (r = conf_path(tls, "ca", cc->tls_ca, err)) < 0 ||
		    (r = conf_path(tls, "cert", cc->tls_cert, err)) < 0 ||
		    (r = conf_path(tls, "key", cc->tls_key, err)) < 0)
			return r;
		if ((cc->tls_cert[0] != '\0') != (cc->tls_key[0] != '\0'))
			return cfg_fail(err, tls, "nats.tls: cert and key go together");
	}
	return 0;
}

static int
conf_fill(struct cluster_conf *cc, const struct settings *settings, const struct cfg_node *n,
    struct cfg_error *err)
{
	static const char *const keys[] = { "role", "instance", "shards", "nats", "lease_ttl",
		"buffer", "merge_grace_ms", NULL };
	const char *role = NULL;
	const struct cfg_node *nats = NULL;
	uint64_t shards = cc->shards;
	int r;

	if ((r = cfg_check_keys(n, keys, err)) < 0 || (r = cfg_get_str(n, "role", &role, err)) < 0 ||
	    (r = conf_str(n, "instance", cc->instance, CLUSTER_NAME_MAX, err)) < 0 ||
	    (r = cfg_get_u64(n, "shards", 1, CLUSTER_MAX_SHARDS, &shards, err)) < 0 ||
	    (r = cfg_get_duration(n, "lease_ttl", 2, 60, &cc->lease_ttl_s, err)) < 0 ||
	    (r = cfg_get_duration(n, "buffer", 0, 600, &cc->buffer_s, err)) < 0 ||
	    (r = cfg_get_u64(n, "merge_grace_ms", 100, 10000, &cc->merge_grace_ms, err)) < 0)
		return r;
	cc->shards = (uint32_t)shards;
	if (role != NULL) {
		if (strcmp(role, "all") == 0)
			cc->role = CLUSTER_ALL;
		else if (strcmp(role, "collect") == 0)
			cc->role = CLUSTER_COLLECT;
		else if (strcmp(role, "engine") == 0)
			cc->role = CLUSTER_ENGINE;
		else
			return cfg_fail(err, cfg_get(n, "role"),
			    "role: expected all, collect or engine, got '%s'", role);
	}
	/* Instance names go into subjects and keys: a token of safe bytes. */
	for (const char *p = cc->instance; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
			return cfg_fail(err, cfg_get(n, "instance"),
			    "instance: only letters, digits, '-' and '_'");
	if ((r = cfg_get_map(n, "nats", &nats, err)) < 0)
		return r;
	if (nats != NULL && (r = conf_nats(cc, nats, err)) < 0)
		return r;
	/* The `collect:` section comes first in the module table: an engine
	 * instance with inputs would feed its detection twice. */
	if (cc->role == CLUSTER_ENGINE && settings != NULL && settings_ext(settings, "collect") != NULL)
		return cfg_fail(err, cfg_get(n, "role"),
		    "role: engine runs no inputs; remove the collect section (or use role all)");
	if (cc->role != CLUSTER_ALL && cc->nurls == 0)
		return cfg_fail(err, n, "cluster: role %s needs nats.urls", cluster_role_name(cc->role));
#ifndef HAVE_NATS
	if (cc->role != CLUSTER_ALL)
		return cfg_fail(err, cfg_get(n, "role"),
		    "role: %s needs NATS, and this moatd was built without libnats (-Dnats)",
		    cluster_role_name(cc->role));
#endif
	return 0;
}

int
cluster_conf_parse(struct settings *c, const struct cfg_node *n, void **ret_ext,
    struct cfg_error *err)
{
	struct cluster_conf *cc;
	int r;

	*ret_ext = NULL;
	if (n != NULL && cfg_kind(n) != CFG_MAP)
		return cfg_fail(err, n, "cluster: expected a map");
	if ((cc = calloc(1, sizeof(*cc))) == NULL)
		return -ENOMEM;
	cc->role = CLUSTER_ALL;
	cc->shards = 16;
	cc->replicas = 1;
	cc->lease_ttl_s = 3;
	cc->buffer_s = 30;
	cc->merge_grace_ms = 1500;
	if (gethostname(cc->instance, sizeof(cc->instance)) < 0 || cc->instance[0] == '\0')
		snprintf(cc->instance, sizeof(cc->instance), "moatd");
	cc->instance[CLUSTER_NAME_MAX] = '\0';
	for (char *p = cc->instance; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '_'))
			*p = '-';
	if (n != NULL && (r = conf_fill(cc, c, n, err)) < 0) {
		free(cc);
		return r;
	}
	*ret_ext = cc;
	return 0;
}

void
cluster_conf_free(void *ext)
{
	free(ext);
}
