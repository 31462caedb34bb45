/*
 * cluster/nats: JetStream and KV through libnats (see nats.h).
 */
#include "engine/cluster/nats.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nats/nats.h>

/* JetStream API requests wait at most this long (ms): a worker thread's
 * step stays short when a server is slow or gone. */
#define CLNATS_WAIT_MS 1000
#define CLNATS_STREAM_AGE_NS (INT64_C(300) * 1000000000)
#define CLNATS_DEDUP_NS (INT64_C(120) * 1000000000)

struct clnats {
	natsConnection *nc;
	jsCtx *js;
	kvStore *kv;
	const struct cluster_conf *cc;
};

struct clnats_sub {
	natsSubscription *sub;
	clnats_msg_fn fn;
	void *ctx;
};

static int
clnats_fail(natsStatus s, const char *what, char *err, size_t errlen)
{
	const char *text = nats_GetLastError(NULL);

	if (err != NULL)
		snprintf(err, errlen, "%s: %s", what,
		    text != NULL && text[0] != '\0' ? text : natsStatus_GetText(s));
	switch (s) {
	case NATS_NO_MEMORY: return -ENOMEM;
	case NATS_TIMEOUT: return -ETIMEDOUT;
	case NATS_NOT_FOUND: return -ENOENT;
	case NATS_CONNECTION_CLOSED:
	case NATS_CONNECTION_DISCONNECTED:
	case NATS_NOT_YET_CONNECTED:
	case NATS_NO_SERVER: return -ENOTCONN;
	default: return -EIO;
	}
}

int
clnats_open(const struct cluster_conf *cc, struct clnats **ret, char *err, size_t errlen)
{
	const char *urls[CLUSTER_MAX_URLS];
	natsOptions *o = NULL;
	natsStatus s;
	struct clnats *n;
	jsOptions jo;
	int r = 0;

	*ret = NULL;
	if ((n = calloc(1, sizeof(*n))) == NULL)
		return -ENOMEM;
	n->cc = cc;
	for (unsigned i = 0; i < cc->nurls; i++)
		urls[i] = cc->urls[i];
	if ((s = natsOptions_Create(&o)) != NATS_OK ||
	    (s = natsOptions_SetServers(o, urls, (int)cc->nurls)) != NATS_OK ||
	    (s = natsOptions_SetName(o, cc->instance)) != NATS_OK ||
	    (s = natsOptions_SetTimeout(o, 2000)) != NATS_OK ||
	    (s = natsOptions_SetMaxReconnect(o, -1)) != NATS_OK ||
	    (s = natsOptions_SetReconnectWait(o, 500)) != NATS_OK ||
	    (s = natsOptions_SetRetryOnFailedConnect(o, true, NULL, NULL)) != NATS_OK) {
		r = clnats_fail(s, "nats options", err, errlen);
		goto out;
	}
	if (cc->creds[0] != '\0' &&
	    (s = natsOptions_SetUserCredentialsFromFiles(o, cc->creds, NULL)) != NATS_OK) {
		r = clnats_fail(s, cc->creds, err, errlen);
		goto out;
	}
	if (cc->tls_ca[0] != '\0' &&
	    ((s = natsOptions_SetSecure(o, true)) != NATS_OK ||
	    (s = natsOptions_LoadCATrustedCertificates(o, cc->tls_ca)) != NATS_OK)) {
		r = clnats_fail(s, cc->tls_ca, err, errlen);
		goto out;
	}
	if (cc->tls_cert[0] != '\0' &&
	    (s = natsOptions_LoadCertificatesChain(o, cc->tls_cert, cc->tls_key)) != NATS_OK) {
		r = clnats_fail(s, cc->tls_cert, err, errlen);
		goto out;
	}
	s = natsConnection_Connect(&n->nc, o);
	if (s != NATS_OK && s != NATS_NOT_YET_CONNECTED) {
		r = clnats_fail(s, "nats connect", err, errlen);
		goto out;
	}
	jsOptions_Init(&jo);
	jo.Wait = CLNATS_WAIT_MS;
	if ((s = natsConnection_JetStream(&n->js, n->nc, &jo)) != NATS_OK)
		r = clnats_fail(s, "jetstream", err, errlen);
out:
	natsOptions_Destroy(o);
	if (r < 0)
		clnats_close(n);
	else
		*ret = n;
	return r;
}

void
clnats_close(struct clnats *n)
{
	if (n == NULL)
		return;
	kvStore_Destroy(n->kv);
	jsCtx_Destroy(n->js);
	if (n->nc != NULL) {
		natsConnection_Close(n->nc);
		natsConnection_Destroy(n->nc);
	}
	free(n);
}

void
clnats_library_close(void)
{
	(void)nats_CloseAndWait(2000);
}

bool
clnats_connected(struct clnats *n)
{
	return n->nc != NULL && natsConnection_Status(n->nc) == NATS_CONN_STATUS_CONNECTED;
}

int
clnats_setup(struct clnats *n, char *err, size_t errlen)
{
	const char *subjects[] = { CLNATS_SUBJECT_PREFIX ">" };
	jsStreamConfig sc;
	jsStreamInfo *si = NULL;
	jsErrCode jerr = 0;
	kvConfig kc;
	natsStatus s;

	if (n->kv != NULL)
		return 0;
	if (!clnats_connected(n)) {
		snprintf(err, errlen, "not connected to NATS");
		return -ENOTCONN;
	}
	s = js_GetStreamInfo(&si, n->js, CLNATS_STREAM, NULL, &jerr);
	if (s == NATS_NOT_FOUND || jerr == JSStreamNotFoundErr) {
		jsStreamConfig_Init(&sc);
		sc.Name = CLNATS_STREAM;
		sc.Subjects = subjects;
		sc.SubjectsLen = 1;
		sc.Storage = js_FileStorage;
		sc.MaxAge = CLNATS_STREAM_AGE_NS;
		sc.Duplicates = CLNATS_DEDUP_NS;
		sc.Replicas = n->cc->replicas;
		s = js_AddStream(&si, n->js, &sc, NULL, &jerr);
		if (jerr == JSStreamNameExistErr)
			s = NATS_OK;	/* another instance made it meanwhile */
	}
	jsStreamInfo_Destroy(si);
	if (s != NATS_OK)
		return clnats_fail(s, "stream " CLNATS_STREAM, err, errlen);
	s = js_KeyValue(&n->kv, n->js, CLNATS_BUCKET);
	if (s == NATS_NOT_FOUND) {
		kvConfig_Init(&kc);
		kc.Bucket = CLNATS_BUCKET;
		kc.History = 1;
		kc.TTL = n->cc->lease_ttl_s * INT64_C(1000000000);	/* ns, the stream's max age */
		kc.StorageType = js_FileStorage;
		kc.Replicas = (int)n->cc->replicas;
		s = js_CreateKeyValue(&n->kv, n->js, &kc);
		if (s != NATS_OK && js_KeyValue(&n->kv, n->js, CLNATS_BUCKET) == NATS_OK)
			s = NATS_OK;	/* made by another instance meanwhile */
	}
	if (s != NATS_OK) {
		n->kv = NULL;
		return clnats_fail(s, "bucket " CLNATS_BUCKET, err, errlen);
	}
	return 0;
}

int
clnats_publish(struct clnats *n, const char *subject, const void *data, size_t len,
    const char *msgid, char *err, size_t errlen)
{
	jsPubOptions po;
	jsPubAck *ack = NULL;
	jsErrCode jerr = 0;
	natsStatus s;

	jsPubOptions_Init(&po);
	po.MsgId = msgid;
	po.MaxWait = CLNATS_WAIT_MS;
	s = js_Publish(&ack, n->js, subject, data, (int)len, &po, &jerr);
	jsPubAck_Destroy(ack);
	return s == NATS_OK ? 0 : clnats_fail(s, subject, err, errlen);
}

static void
clnats_on_msg(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
	struct clnats_sub *s = closure;

	(void)nc;
	(void)sub;
	s->fn(s->ctx, natsMsg_GetData(msg), (size_t)natsMsg_GetDataLength(msg));
	natsMsg_Destroy(msg);
}

int
clnats_subscribe(struct clnats *n, const char *subject, clnats_msg_fn fn, void *ctx,
    struct clnats_sub **ret, char *err, size_t errlen)
{
	struct clnats_sub *s;
	jsSubOptions so;
	jsErrCode jerr = 0;
	natsStatus st;

	*ret = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return -ENOMEM;
	s->fn = fn;
	s->ctx = ctx;
	jsSubOptions_Init(&so);
	so.Stream = CLNATS_STREAM;
	so.Config.DeliverPolicy = js_DeliverNew;
	so.Config.AckPolicy = js_AckNone;
	st = js_Subscribe(&s->sub, n->js, subject, clnats_on_msg, s, NULL, &so, &jerr);
	if (st != NATS_OK) {
		free(s);
		return clnats_fail(st, subject, err, errlen);
	}
	*ret = s;
	return 0;
}

void
clnats_unsubscribe(struct clnats_sub *s)
{
	if (s == NULL)
		return;
	/* Unsubscribe deletes the ephemeral consumer; Destroy waits for no
	 * callback to be running before the closure is freed. */
	(void)natsSubscription_Unsubscribe(s->sub);
	natsSubscription_Destroy(s->sub);
	free(s);
}

int
clnats_kv_create(struct clnats *n, const char *key, const char *val, uint64_t *ret_rev)
{
	natsStatus s;

	if (n->kv == NULL)
		return -ENOTCONN;
	s = kvStore_Create(ret_rev, n->kv, key, val, (int)strlen(val));
	if (s == NATS_OK)
		return 0;
	return s == NATS_ERR ? -EEXIST : clnats_fail(s, key, NULL, 0);
}

int
clnats_kv_update(struct clnats *n, const char *key, const char *val, uint64_t last,
    uint64_t *ret_rev)
{
	natsStatus s;

	if (n->kv == NULL)
		return -ENOTCONN;
	s = kvStore_Update(ret_rev, n->kv, key, val, (int)strlen(val), last);
	if (s == NATS_OK)
		return 0;
	return s == NATS_ERR ? -ESTALE : clnats_fail(s, key, NULL, 0);
}

int
clnats_kv_delete(struct clnats *n, const char *key)
{
	natsStatus s;

	if (n->kv == NULL)
		return -ENOTCONN;
	s = kvStore_Delete(n->kv, key);
	return s == NATS_OK ? 0 : clnats_fail(s, key, NULL, 0);
}

int
clnats_kv_get(struct clnats *n, const char *key, char *val, size_t max)
{
	kvEntry *e = NULL;
	natsStatus s;
	size_t len;

	if (n->kv == NULL)
		return -ENOTCONN;
	s = kvStore_Get(&e, n->kv, key);
	if (s != NATS_OK)
		return s == NATS_NOT_FOUND ? -ENOENT : clnats_fail(s, key, NULL, 0);
	len = (size_t)kvEntry_ValueLen(e);
	if (len >= max)
		len = max - 1;
	memcpy(val, kvEntry_Value(e), len);
	val[len] = '\0';
	kvEntry_Destroy(e);
	return 0;
}

int
clnats_kv_count(struct clnats *n, const char *prefix, unsigned *ret)
{
	kvKeysList l = { 0 };
	natsStatus s;
	size_t pl = strlen(prefix);

	*ret = 0;
	if (n->kv == NULL)
		return -ENOTCONN;
	s = kvStore_Keys(&l, n->kv, NULL);
	if (s == NATS_NOT_FOUND)
		return 0;	/* no keys at all */
	if (s != NATS_OK)
		return clnats_fail(s, "keys", NULL, 0);
	for (int i = 0; i < l.Count; i++)
		if (strncmp(l.Keys[i], prefix, pl) == 0)
			(*ret)++;
	kvKeysList_Destroy(&l);
	return 0;
}

int
clnats_kv_put(struct clnats *n, const char *key, const void *val, size_t len)
{
	uint64_t rev;
	natsStatus s;

	if (n->kv == NULL)
		return -ENOTCONN;
	s = kvStore_Put(&rev, n->kv, key, val, (int)len);
	return s == NATS_OK ? 0 : clnats_fail(s, key, NULL, 0);
}

int
clnats_kv_each(struct clnats *n, const char *prefix, unsigned max, clnats_kv_fn fn, void *ctx)
{
	kvKeysList l = { 0 };
	natsStatus s;
	size_t pl = strlen(prefix);
	unsigned got = 0;

	if (n->kv == NULL)
		return -ENOTCONN;
	s = kvStore_Keys(&l, n->kv, NULL);
	if (s == NATS_NOT_FOUND)
		return 0;
	if (s != NATS_OK)
		return clnats_fail(s, "keys", NULL, 0);
	for (int i = 0; i < l.Count && got < max; i++) {
		kvEntry *e = NULL;

		if (strncmp(l.Keys[i], prefix, pl) != 0 || kvStore_Get(&e, n->kv, l.Keys[i]) != NATS_OK)
			continue;
		fn(ctx, l.Keys[i], kvEntry_Value(e), (size_t)kvEntry_ValueLen(e));
		kvEntry_Destroy(e);
		got++;
	}
	kvKeysList_Destroy(&l);
	return (int)got;
}
