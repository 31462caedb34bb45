/*
 * cluster/handoff: a shard's state handed to the engine taking it (see
 * handoff.h).
 */
#include "engine/cluster/handoff.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The keys a hand-off holds: detect/pos, one per learning detector,
 * detect/decision, mitigate/state. */
#define HANDOFF_KEYS (DETECT_NREGISTERED + 3u)
#define HANDOFF_KEY_MAX 48u

/* The hand-off as built in memory, before it reaches the store (and to
 * take it back from if the store refuses it). */
struct handoff_mem {
	char key[HANDOFF_KEYS][HANDOFF_KEY_MAX];
	uint8_t *val[HANDOFF_KEYS];
	size_t len[HANDOFF_KEYS];
	unsigned n;
};

void
handoff_prefix(char *buf, size_t len, uint32_t shard)
{
	snprintf(buf, len, "handoff/%u/", shard);
}

static int
handoff_mem_put(void *ctx, const char *key, const void *val, size_t len)
{
	struct handoff_mem *h = ctx;
	unsigned i;

	for (i = 0; i < h->n && strcmp(h->key[i], key) != 0; i++)
		;
	if (i == HANDOFF_KEYS || strlen(key) >= HANDOFF_KEY_MAX)
		return -ENOSPC;
	free(h->val[i]);
	if ((h->val[i] = malloc(len ? len : 1)) == NULL)
		return -ENOMEM;
	memcpy(h->val[i], val, len);
	h->len[i] = len;
	if (i == h->n)
		snprintf(h->key[h->n++], HANDOFF_KEY_MAX, "%s", key);
	return 0;
}

static int
handoff_mem_get(void *ctx, const char *key, void **ret, size_t *ret_len)
{
	struct handoff_mem *h = ctx;

	for (unsigned i = 0; i < h->n; i++) {
		if (strcmp(h->key[i], key) != 0)
			continue;
		if ((*ret = malloc(h->len[i] ? h->len[i] : 1)) == NULL)
			return -ENOMEM;
		memcpy(*ret, h->val[i], h->len[i]);
		*ret_len = h->len[i];
		return 0;
	}
	return -ENOENT;
}

static void
handoff_mem_free(struct handoff_mem *h)
{
	for (unsigned i = 0; i < h->n; i++)
		free(h->val[i]);
}

/* Take back what was dropped, from the hand-off in memory (the store
 * refused it): the engine goes on with its attacks and rules. */
static void
handoff_take_back(struct handoff_mem *h, struct detection_ctx *d, struct mitigation_ctx *m,
    decision_adopt_fn keep, mitigation_gate_fn keep_mit, void *ctx)
{
	struct detection_src src = { .get = handoff_mem_get, .put = handoff_mem_put, .ctx = h };
	uint8_t *rest = NULL;
	size_t rest_len;
	char *mrest = NULL;
	void *blob;
	size_t len;

	(void)detection_adopt_learned(d, &src, keep, ctx);
	if (handoff_mem_get(h, "detect/decision", &blob, &len) == 0) {
		(void)detection_adopt(d, blob, len, keep, ctx, &rest, &rest_len);
		free(rest);
		free(blob);
	}
	if (m != NULL && handoff_mem_get(h, "mitigate/state", &blob, &len) == 0) {
		char *text = malloc(len + 1);

		if (text != NULL) {
			memcpy(text, blob, len);
			text[len] = '\0';
			(void)mitigation_adopt(m, text, keep_mit, ctx, &mrest);
			free(mrest);
			free(text);
		}
		free(blob);
	}
}

int
handoff_give(struct store *s, struct detection_ctx *d, struct mitigation_ctx *m,
    uint32_t shard, decision_adopt_fn keep, mitigation_gate_fn keep_mit, void *ctx,
    struct handoff_count *ret)
{
	struct handoff_mem h = { .n = 0 };
	struct detection_src dst = { .get = handoff_mem_get, .put = handoff_mem_put, .ctx = &h };
	char prefix[HANDOFF_PREFIX_MAX], key[HANDOFF_PREFIX_MAX + HANDOFF_KEY_MAX];
	char *text = NULL;
	bool dropped = false;
	int r;

	memset(ret, 0, sizeof(*ret));
	handoff_prefix(prefix, sizeof(prefix), shard);
	/* Build it all in memory first: nothing changes if that fails. */
	if ((r = detection_hand_off(d, &dst, keep, ctx, &ret->series)) < 0)
		goto out;
	ret->attacks = r;
	if (m != NULL) {
		if ((r = mitigation_hand_off(m, keep_mit, ctx, &text)) < 0)
			goto out;
		ret->mitigations = r;
		if ((r = handoff_mem_put(&h, "mitigate/state", text, strlen(text))) < 0)
			goto out;
	}
	/* One transaction: the hand-off written and the giver's own state
	 * saved without it, or neither. */
	if ((r = store_begin(s, STORE_NORMAL)) < 0)
		goto out;
	for (unsigned i = 0; i < h.n; i++) {
		snprintf(key, sizeof(key), "%s%s", prefix, h.key[i]);
		if ((r = store_kv_put(s, key, h.val[i], h.len[i])) < 0)
			goto rollback;
	}
	detection_drop(d, keep, ctx);
	if (m != NULL)
		(void)mitigation_forget(m, keep_mit, ctx);
	dropped = true;
	if ((r = detection_save(d)) < 0)
		goto rollback;
	if ((r = store_commit(s)) < 0)
		goto take_back;
	goto out;
rollback:
	(void)store_rollback(s);
take_back:
	if (dropped)
		handoff_take_back(&h, d, m, keep, keep_mit, ctx);
out:
	free(text);
	handoff_mem_free(&h);
	return r < 0 ? r : 0;
}
