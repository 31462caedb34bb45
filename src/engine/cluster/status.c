/*
 * cluster/status: every instance's status through the KV bucket (see
 * status.h).
 */
#include "engine/cluster/status.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct clstatus {
	const struct cluster_conf *cc;
	struct clnats *n;
	pthread_mutex_t lock;	/* guards snap */
	json_t *snap;		/* array of the live instances' objects, by name */
};

int
clstatus_new(const struct cluster_conf *cc, struct clnats *n, struct clstatus **ret)
{
	struct clstatus *s = calloc(1, sizeof(*s));

	*ret = NULL;
	if (s == NULL || (s->snap = json_array()) == NULL) {
		free(s);
		return -ENOMEM;
	}
	s->cc = cc;
	s->n = n;
	pthread_mutex_init(&s->lock, NULL);
	*ret = s;
	return 0;
}

void
clstatus_free(struct clstatus *s, bool release)
{
	char key[CLUSTER_NAME_MAX + 16];

	if (s == NULL)
		return;
	if (release) {
		snprintf(key, sizeof(key), CLSTATUS_PREFIX "%s", s->cc->instance);
		(void)clnats_kv_delete(s->n, key);
	}
	json_decref(s->snap);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static bool
clstatus_name_ok(const char *p)
{
	if (p[0] == '\0' || strlen(p) > CLUSTER_NAME_MAX)
		return false;
	for (; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
			return false;
	return true;
}

json_t *
clstatus_parse(const void *val, size_t len)
{
	json_error_t jerr;
	json_t *o;
	const char *inst;

	if (len == 0 || len > CLSTATUS_VALUE_MAX)
		return NULL;
	if ((o = json_loadb(val, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL)
		return NULL;
	inst = json_string_value(json_object_get(o, "instance"));
	if (!json_is_object(o) || inst == NULL || !clstatus_name_ok(inst) ||
	    !json_is_string(json_object_get(o, "role"))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static void
clstatus_add(void *ctx, const char *key, const void *val, size_t len)
{
	json_t *list = ctx, *o = clstatus_parse(val, len);
	const char *inst;

	if (o == NULL)
		return;
	/* The value must be the key's own instance (no one speaks for another). */
	inst = json_string_value(json_object_get(o, "instance"));
	if (strcmp(key + strlen(CLSTATUS_PREFIX), inst) != 0 || json_array_append_new(list, o) < 0)
		json_decref(o);
}

static int
clstatus_cmp(const void *a, const void *b)
{
	const json_t *const *x = a, *const *y = b;

	return strcmp(json_string_value(json_object_get(*x, "instance")),
	    json_string_value(json_object_get(*y, "instance")));
}

void
clstatus_step(struct clstatus *s, const json_t *own)
{
	char key[CLUSTER_NAME_MAX + 16];
	char *text = json_dumps(own, JSON_COMPACT);
	json_t *list = json_array(), *sorted;
	json_t *items[CLSTATUS_MAX];
	size_t n;
	int r;

	snprintf(key, sizeof(key), CLSTATUS_PREFIX "%s", s->cc->instance);
	if (text != NULL)
		(void)clnats_kv_put(s->n, key, text, strlen(text));
	free(text);
	if (list == NULL)
		return;
	r = clnats_kv_each(s->n, CLSTATUS_PREFIX, CLSTATUS_MAX, clstatus_add, list);
	if (r < 0) {
		json_decref(list);	/* keep the last snapshot: NATS is away */
		return;
	}
	n = json_array_size(list);
	for (size_t i = 0; i < n; i++)
		items[i] = json_array_get(list, i);
	qsort(items, n, sizeof(items[0]), clstatus_cmp);
	if ((sorted = json_array()) == NULL) {
		json_decref(list);
		return;
	}
	for (size_t i = 0; i < n; i++)
		json_array_append(sorted, items[i]);
	json_decref(list);
	pthread_mutex_lock(&s->lock);
	json_decref(s->snap);
	s->snap = sorted;
	pthread_mutex_unlock(&s->lock);
}

json_t *
clstatus_instances(struct clstatus *s)
{
	json_t *copy;

	pthread_mutex_lock(&s->lock);
	copy = json_deep_copy(s->snap);
	pthread_mutex_unlock(&s->lock);
	return copy;
}

bool
clstatus_shard_owner(struct clstatus *s, uint32_t shard, char *ret, size_t len)
{
	const json_t *o, *v;
	size_t i, j;
	bool found = false;

	pthread_mutex_lock(&s->lock);
	json_array_foreach(s->snap, i, o) {
		const char *role = json_string_value(json_object_get(o, "role"));

		if (role == NULL || strcmp(role, "engine") != 0)
			continue;
		json_array_foreach(json_object_get(o, "owned"), j, v)
			if (json_is_integer(v) && json_integer_value(v) == (json_int_t)shard) {
				snprintf(ret, len, "%s", json_string_value(json_object_get(o, "instance")));
				found = true;
				break;
			}
		if (found)
			break;
	}
	pthread_mutex_unlock(&s->lock);
	return found;
}
