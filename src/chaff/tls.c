/* tls: per-decoy self-signed certificates and non-blocking TLS sessions. */
#include "chaff/tls.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define DAY		86400LL
#define YEAR		(365 * DAY)
#define CERT_LABEL	"moat-chaff tls key"
#define RDP_LABEL	"moat-chaff rdp key"	/* the Remote Desktop service's own key */

static uint64_t
get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

void
tls_subject(const char *server, uint32_t addr, const uint8_t mac[6], const uint8_t h[32],
	    int64_t now, struct tls_subject *ret)
{
	static const char *const hosts[] = {
		"web", "www", "srv", "app", "portal", "intranet", "files", "wiki",
		"git", "mail", "proxy", "backup", "monitor", "dev", "docs", "shop",
	};
	static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	uint64_t r = get64(h), phase;
	int64_t period = 10 * YEAR, window, k;
	const char *s = server ? server : "";

	memset(ret, 0, sizeof(*ret));
	ret->serial_len = 20;	/* openssl req: 159 random bits */
	if (strncmp(s, TLS_RDP_PREFIX, strlen(TLS_RDP_PREFIX)) == 0) {
		/* TermService's self-made certificate: CN=the computer name,
		 * six months, server authentication, renewed when it expires. */
		snprintf(ret->cn, sizeof(ret->cn), "%s", s + strlen(TLS_RDP_PREFIX));
		ret->server_auth = true;
		ret->serial_len = 16;
		period = 182 * DAY;
	} else if (strncmp(s, "Microsoft-IIS", 13) == 0) {
		/* Windows' own host name and IIS's one-year certificate. */
		char name[12];

		for (int i = 0; i < 11; i++)
			name[i] = alnum[h[8 + i] % (sizeof(alnum) - 1)];
		name[11] = '\0';
		snprintf(ret->cn, sizeof(ret->cn), "WIN-%s", name);
		ret->server_auth = true;
		ret->serial_len = 16;
		period = YEAR;
	} else if (strncmp(s, "cisco", 5) == 0) {
		snprintf(ret->cn, sizeof(ret->cn), "IOS-Self-Signed-Certificate-%u",
			 (unsigned)(1000000000u + (uint32_t)(r >> 32) % 3000000000u));
		ret->ca = true;
		ret->serial_len = 1;
	} else if (strncmp(s, "HP", 2) == 0) {
		snprintf(ret->cn, sizeof(ret->cn), "NPI%02X%02X%02X", mac[3], mac[4], mac[5]);
		snprintf(ret->org, sizeof(ret->org), "Hewlett-Packard");
	} else if (strncmp(s, "Boa", 3) == 0) {
		snprintf(ret->cn, sizeof(ret->cn), "axis-%02x%02x%02x%02x%02x%02x", mac[0], mac[1],
			 mac[2], mac[3], mac[4], mac[5]);
		snprintf(ret->org, sizeof(ret->org), "Axis Communications AB");
		period = 5 * YEAR;
	} else {
		/* Debian's ssl-cert snakeoil: the host's name, ten years. */
		snprintf(ret->cn, sizeof(ret->cn), "%s%02u", hosts[h[8] % 16],
			 (unsigned)(h[9] % 40 + 1));
		ret->san = true;
	}
	if (ret->serial_len == 1) {
		ret->serial[0] = 1;
	} else {
		memcpy(ret->serial, h + 12, ret->serial_len);
		ret->serial[0] &= 0x7f;	/* a positive INTEGER */
		ret->serial[0] |= 0x01;	/* of its full length */
	}
	/* Issued at most three years ago, on a day fixed by the decoy; when
	 * the period would end it moves on by a whole window (a renewal). */
	window = period < 3 * YEAR ? period : 3 * YEAR;
	phase = (r % (uint64_t)(window / DAY)) * DAY + (int64_t)(h[10] % 24) * 3600 +
		(int64_t)(h[11] % 60) * 60 + (int64_t)(addr % 60);
	k = (now - (int64_t)phase) / window;
	if (now < (int64_t)phase)
		k--;
	ret->not_before = (int64_t)phase + k * window;
	ret->not_after = ret->not_before + period;
}

bool
tls_speaks_13(const char *server)
{
	return server && strncmp(server, "nginx/", 6) == 0;
}

static bool
req_rdp(const struct tls_req *q)
{
	return strncmp(q->server, TLS_RDP_PREFIX, strlen(TLS_RDP_PREFIX)) == 0;
}

/* The decoy's 32 bytes of certificate randomness (label: CERT_LABEL, or
 * RDP_LABEL for its Remote Desktop certificate; both labels are as long). */
static int
cert_rand(const uint8_t secret[32], const char *label, uint32_t decoy, uint8_t out[32])
{
	uint8_t msg[sizeof(CERT_LABEL) + 4];
	unsigned len = 0;

	_Static_assert(sizeof(CERT_LABEL) == sizeof(RDP_LABEL), "labels of one length");
	memcpy(msg, label, sizeof(CERT_LABEL));
	for (int i = 0; i < 4; i++)
		msg[sizeof(CERT_LABEL) + i] = (uint8_t)(decoy >> (24 - 8 * i));
	if (!HMAC(EVP_sha256(), secret, 32, msg, sizeof(msg), out, &len) || len != 32)
		return -EIO;
	return 0;
}

static int
add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *e;
	int ok;

	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	if (!e)
		return -EIO;
	ok = X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	return ok ? 0 : -EIO;
}

/* The decoy's certificate (x509 and key, both the caller's). */
static int
make_cert(struct tls *t, const struct tls_req *q, int64_t now, bool ahead, X509 **ret_x,
	  EVP_PKEY **ret_pk)
{
	struct tls_subject sub;
	uint8_t h[32];
	char san[80];
	EVP_PKEY *pk = NULL;
	X509 *x = NULL;
	X509_NAME *name;
	BIGNUM *bn = NULL;
	int r = -EIO;
	const char *label = req_rdp(q) ? RDP_LABEL : CERT_LABEL;

	if (cert_rand(t->keys.secret, label, q->decoy, h) < 0)
		goto out;
	tls_subject(q->server[0] ? q->server : NULL, q->decoy, q->mac, h, now, &sub);
	r = (ahead ? keys_get_ahead : keys_get)(&t->keys, label, KEYS_RSA, q->decoy, 2048, &pk);
	if (r < 0)
		goto out;
	r = -EIO;
	x = X509_new();
	bn = BN_bin2bn(sub.serial, (int)sub.serial_len, NULL);
	if (!x || !bn || !X509_set_version(x, 2) ||
	    !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) ||
	    !ASN1_TIME_set(X509_getm_notBefore(x), (time_t)sub.not_before) ||
	    !ASN1_TIME_set(X509_getm_notAfter(x), (time_t)sub.not_after))
		goto out;
	name = X509_get_subject_name(x);
	if ((sub.org[0] && !X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
						       (const unsigned char *)sub.org, -1, -1, 0)) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)sub.cn,
					-1, -1, 0) ||
	    !X509_set_issuer_name(x, name) || !X509_set_pubkey(x, pk))
		goto out;
	snprintf(san, sizeof(san), "DNS:%s", sub.cn);
	if (add_ext(x, NID_subject_key_identifier, "hash") < 0 ||
	    (sub.ca && add_ext(x, NID_basic_constraints, "critical,CA:TRUE") < 0) ||
	    (sub.san && add_ext(x, NID_basic_constraints, "CA:FALSE") < 0) ||
	    (sub.san && add_ext(x, NID_subject_alt_name, san) < 0) ||
	    (sub.server_auth && add_ext(x, NID_key_usage, "keyEncipherment,dataEncipherment") < 0) ||
	    (sub.server_auth && add_ext(x, NID_ext_key_usage, "serverAuth") < 0))
		goto out;
	/* RSA PKCS#1 v1.5 signatures are deterministic: the same DER at
	 * every restart. */
	if (X509_sign(x, pk, EVP_sha256()) <= 0)
		goto out;
	*ret_x = x;
	*ret_pk = pk;
	x = NULL;
	pk = NULL;
	r = 0;
out:
	BN_free(bn);
	X509_free(x);
	EVP_PKEY_free(pk);
	OPENSSL_cleanse(h, sizeof(h));
	return r;
}

/* The cached certificate of decoy (its RDP one when rdp), or NULL. Call
 * with the lock held. */
static struct tls_cert *
cert_find(struct tls *t, uint32_t decoy, bool rdp)
{
	for (size_t i = 0; i < TLS_CERTS; i++)
		if (t->certs[i].x509 && t->certs[i].decoy == decoy && t->certs[i].rdp == rdp)
			return &t->certs[i];
	return NULL;
}

/* Cache a made certificate (the caller's references go to the cache);
 * when the decoy's is there already, keep that one. Lock held. */
static void
cert_put(struct tls *t, uint32_t decoy, bool rdp, X509 *x, EVP_PKEY *pk)
{
	struct tls_cert *c;

	if (cert_find(t, decoy, rdp)) {
		X509_free(x);
		EVP_PKEY_free(pk);
		return;
	}
	c = &t->certs[t->cert_next];
	t->cert_next = (t->cert_next + 1) % TLS_CERTS;
	X509_free(c->x509);
	EVP_PKEY_free(c->pk);
	*c = (struct tls_cert){ decoy, x, pk, rdp };
	t->made++;
}

/* The certificates sessions wait for, at the normal priority. */
static void *
worker(void *arg)
{
	struct tls *t = arg;
	uint64_t one = 1;

	pthread_mutex_lock(&t->mu);
	for (;;) {
		struct tls_req q;
		X509 *x = NULL;
		EVP_PKEY *pk = NULL;
		int r;

		while (!t->stop && t->q_count == 0)
			pthread_cond_wait(&t->cv, &t->mu);
		if (t->stop)
			break;
		q = t->queue[t->q_head];
		r = 0;
		if (!cert_find(t, q.decoy, req_rdp(&q))) {
			pthread_mutex_unlock(&t->mu);
			r = make_cert(t, &q, (int64_t)time(NULL), false, &x, &pk);
			pthread_mutex_lock(&t->mu);
			if (r == 0)
				cert_put(t, q.decoy, req_rdp(&q), x, pk);
			else
				t->failed++;
		}
		/* Dequeued only now: tls_conn_new() sees it queued meanwhile. */
		t->q_head = (t->q_head + 1) % TLS_QUEUE;
		t->q_count--;
		/* Wake the loop either way: its waiting sessions fail or go on. */
		if (write(t->event_fd, &one, sizeof(one)) < 0)
			(void)0;	/* saturated: the loop reads it anyway */
	}
	pthread_mutex_unlock(&t->mu);
	return NULL;
}

/* The certificates made ahead of use, at the lowest priority. */
static void *
warm_main(void *arg)
{
	struct tls *t = arg;

	/* Set before tls_warm() returns: the sandbox allows no setpriority. */
	if (setpriority(PRIO_PROCESS, (id_t)gettid(), 19) < 0)
		(void)0;	/* then at the normal priority */
	pthread_mutex_lock(&t->mu);
	t->worker_started = true;
	pthread_cond_broadcast(&t->cv);
	while (!t->stop && t->warm_next < t->n_warm) {
		struct tls_req q = t->warm[t->warm_next++];
		X509 *x = NULL;
		EVP_PKEY *pk = NULL;

		if (cert_find(t, q.decoy, req_rdp(&q)))
			continue;
		pthread_mutex_unlock(&t->mu);
		if (make_cert(t, &q, (int64_t)time(NULL), true, &x, &pk) < 0) {
			pthread_mutex_lock(&t->mu);
			continue;
		}
		pthread_mutex_lock(&t->mu);
		cert_put(t, q.decoy, req_rdp(&q), x, pk);
	}
	pthread_mutex_unlock(&t->mu);
	return NULL;
}

int
tls_init(struct tls *t, const uint8_t secret[32])
{
	struct tls_req probe = { .decoy = 0 };
	X509 *x = NULL;
	EVP_PKEY *pk = NULL;
	int r;

	memset(t, 0, sizeof(*t));
	t->event_fd = -1;
	pthread_mutex_init(&t->mu, NULL);
	pthread_cond_init(&t->cv, NULL);
	r = keys_cache_init(&t->keys, secret);
	if (r < 0)
		return r;
	t->certs = calloc(TLS_CERTS, sizeof(*t->certs));
	if (!t->certs)
		return -ENOMEM;
	t->ctx = SSL_CTX_new(TLS_server_method());
	if (!t->ctx)
		return -EIO;
	/* No server-side session cache: its memory would grow per client. */
	SSL_CTX_set_session_cache_mode(t->ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(t->ctx, SSL_OP_NO_RENEGOTIATION);
	/* One certificate now (address 0, never a decoy's: kept out of the
	 * cache) loads what the worker uses while files may be opened. */
	r = make_cert(t, &probe, (int64_t)time(NULL), false, &x, &pk);
	X509_free(x);
	EVP_PKEY_free(pk);
	if (r < 0)
		return r;
	t->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (t->event_fd < 0)
		return -errno;
	r = pthread_create(&t->worker, NULL, worker, t);
	if (r != 0)
		return -r;
	t->have_worker = true;
	return 0;
}

int
tls_warm(struct tls *t, const struct tls_req *items, size_t n)
{
	struct tls_req *w;
	int r;

	if (n == 0)
		return 0;
	if (n > TLS_CERTS / 2)
		n = TLS_CERTS / 2;
	w = malloc(n * sizeof(*w));
	if (!w)
		return -ENOMEM;
	memcpy(w, items, n * sizeof(*w));
	if (t->warm) {
		free(w);
		return -EALREADY;
	}
	t->warm = w;
	t->n_warm = n;
	t->warm_next = 0;
	r = pthread_create(&t->warm_thread, NULL, warm_main, t);
	if (r != 0)
		return -r;
	t->have_warm = true;
	pthread_mutex_lock(&t->mu);
	while (!t->worker_started)
		pthread_cond_wait(&t->cv, &t->mu);
	pthread_mutex_unlock(&t->mu);
	return 0;
}

void
tls_free(struct tls *t)
{
	if (!t)
		return;
	if (t->have_worker) {
		pthread_mutex_lock(&t->mu);
		t->stop = true;
		pthread_cond_broadcast(&t->cv);
		pthread_mutex_unlock(&t->mu);
		pthread_join(t->worker, NULL);
		t->have_worker = false;
	}
	if (t->have_warm) {
		pthread_mutex_lock(&t->mu);
		t->stop = true;
		pthread_mutex_unlock(&t->mu);
		pthread_join(t->warm_thread, NULL);	/* after its current certificate */
		t->have_warm = false;
	}
	if (t->certs) {
		for (size_t i = 0; i < TLS_CERTS; i++) {
			X509_free(t->certs[i].x509);
			EVP_PKEY_free(t->certs[i].pk);
		}
		free(t->certs);
		t->certs = NULL;
	}
	SSL_CTX_free(t->ctx);
	t->ctx = NULL;
	free(t->warm);
	t->warm = NULL;
	keys_cache_free(&t->keys);
	if (t->event_fd >= 0)
		close(t->event_fd);
	t->event_fd = -1;
	pthread_mutex_destroy(&t->mu);
	pthread_cond_destroy(&t->cv);
}

int
tls_event_fd(const struct tls *t)
{
	return t->event_fd;
}

void
tls_ack(struct tls *t)
{
	uint64_t v;

	if (read(t->event_fd, &v, sizeof(v)) < 0)
		(void)0;	/* nothing pending */
}

/* Set the decoy's certificate on the session if it is made; else ask the
 * worker for it (once per decoy). false when OpenSSL refuses it. */
static bool
attach(struct tls *t, struct tls_conn *c)
{
	struct tls_cert *cert;
	bool queued = false, ok = true;

	pthread_mutex_lock(&t->mu);
	cert = cert_find(t, c->req.decoy, req_rdp(&c->req));
	if (cert) {
		c->ready = SSL_use_certificate(c->ssl, cert->x509) == 1 &&
			   SSL_use_PrivateKey(c->ssl, cert->pk) == 1;
		ok = c->ready;
	} else {
		for (size_t i = 0; i < t->q_count && !queued; i++)
			queued = t->queue[(t->q_head + i) % TLS_QUEUE].decoy == c->req.decoy &&
				 req_rdp(&t->queue[(t->q_head + i) % TLS_QUEUE]) == req_rdp(&c->req);
		/* A full queue: the session asks again when the worker
		 * next wakes the loop (TLS_HANDSHAKE_S bounds the wait). */
		if (!queued && t->q_count < TLS_QUEUE) {
			t->queue[(t->q_head + t->q_count) % TLS_QUEUE] = c->req;
			t->q_count++;
			pthread_cond_signal(&t->cv);
		}
	}
	pthread_mutex_unlock(&t->mu);
	return ok;
}

struct tls_conn *
tls_conn_new(struct tls *t, uint32_t decoy, const uint8_t mac[6], const char *server,
	     uint64_t now_ns)
{
	struct tls_conn *c;

	if (t->n_conns >= TLS_CONNS)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->ssl = SSL_new(t->ctx);
	c->rbio = BIO_new(BIO_s_mem());
	c->wbio = BIO_new(BIO_s_mem());
	if (!c->ssl || !c->rbio || !c->wbio) {
		BIO_free(c->rbio);
		BIO_free(c->wbio);
		SSL_free(c->ssl);
		free(c);
		return NULL;
	}
	SSL_set_bio(c->ssl, c->rbio, c->wbio);
	SSL_set_accept_state(c->ssl);
	if (!tls_speaks_13(server))
		SSL_set_max_proto_version(c->ssl, TLS1_2_VERSION);
	c->req.decoy = decoy;
	memcpy(c->req.mac, mac, 6);
	snprintf(c->req.server, sizeof(c->req.server), "%s", server ? server : "");
	c->start_ns = now_ns;
	t->n_conns++;
	if (!attach(t, c)) {
		tls_conn_free(t, c);
		return NULL;
	}
	return c;
}

int
tls_conn_input(struct tls *t, struct tls_conn *c, const uint8_t *in, size_t len,
	       uint8_t *plain, size_t cap, size_t *plain_len, uint64_t now_ns)
{
	bool late = now_ns - c->start_ns > (uint64_t)TLS_HANDSHAKE_S * 1000000000ULL;

	*plain_len = 0;
	if (in && len) {
		if (BIO_ctrl_pending(c->rbio) + len > TLS_PENDING_IN)
			return -ENOBUFS;
		if (BIO_write(c->rbio, in, (int)len) != (int)len)
			return -EPROTO;
	}
	if (!c->ready && !attach(t, c))
		return -EPROTO;
	if (!c->ready)
		return late ? -ETIMEDOUT : 0;	/* the worker is making the certificate */
	if (!c->done) {
		int r = SSL_do_handshake(c->ssl);

		if (r != 1) {
			int e = SSL_get_error(c->ssl, r);

			ERR_clear_error();
			if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
				return -EPROTO;
			return late ? -ETIMEDOUT : 0;
		}
		c->done = true;
	}
	while (*plain_len < cap) {
		int n = SSL_read(c->ssl, plain + *plain_len, (int)(cap - *plain_len));
		int e;

		if (n > 0) {
			*plain_len += (size_t)n;
			continue;
		}
		e = SSL_get_error(c->ssl, n);
		ERR_clear_error();
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
			break;
		/* close_notify or a failure: the plaintext before it still counts. */
		return *plain_len > 0 ? 0 : -EPROTO;
	}
	return 0;
}

int
tls_conn_write(struct tls_conn *c, const void *buf, size_t len)
{
	int n;

	if (len == 0)
		return 0;
	n = SSL_write(c->ssl, buf, (int)len);
	if (n != (int)len) {
		ERR_clear_error();
		return -EPROTO;
	}
	return 0;
}

void
tls_conn_shutdown(struct tls_conn *c)
{
	if (c->done && SSL_shutdown(c->ssl) < 0)
		ERR_clear_error();
}

size_t
tls_conn_output(struct tls_conn *c, uint8_t *out, size_t cap)
{
	int n;

	if (cap == 0 || BIO_ctrl_pending(c->wbio) == 0)
		return 0;
	n = BIO_read(c->wbio, out, (int)(cap > INT32_MAX ? INT32_MAX : cap));
	return n > 0 ? (size_t)n : 0;
}

bool
tls_conn_done(const struct tls_conn *c)
{
	return c && c->done;
}

bool
tls_conn_waiting(const struct tls_conn *c)
{
	return !c->ready;
}

void
tls_conn_free(struct tls *t, struct tls_conn *c)
{
	if (!c)
		return;
	SSL_free(c->ssl);	/* frees both BIOs */
	free(c);
	if (t->n_conns > 0)
		t->n_conns--;
}
