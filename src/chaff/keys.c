/* keys: per-decoy key pairs derived from one kept secret. */
#include "chaff/keys.h"

#include <errno.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Host key algorithm lists, OpenSSH's KEXINIT order for a Debian-like
 * install (HostKey rsa, dsa, ecdsa, ed25519). */
void
keys_era(const char *version, struct keys_era *ret)
{
	const char *v = strstr(version, "OpenSSH_");
	unsigned major = 0, minor = 0, ver;

	if (!v) {
		*ret = (struct keys_era){ KEYS_RSA, 2048, "ssh-rsa" };
		return;
	}
	for (v += 8; *v && (*v < '0' || *v > '9'); v++)
		;	/* "for_Windows_" */
	if (sscanf(v, "%u.%u", &major, &minor) < 1)
		major = 99;
	ver = major * 100 + (minor < 100 ? minor : 99);
	if (ver < 507)
		*ret = (struct keys_era){ KEYS_RSA | KEYS_DSA, 2048, "ssh-rsa,ssh-dss" };
	else if (ver < 605)
		*ret = (struct keys_era){ KEYS_RSA | KEYS_DSA | KEYS_ECDSA, 2048,
					  "ssh-rsa,ssh-dss,ecdsa-sha2-nistp256" };
	else if (ver < 700)
		*ret = (struct keys_era){ KEYS_RSA | KEYS_DSA | KEYS_ECDSA | KEYS_ED25519, 2048,
					  "ssh-rsa,ssh-dss,ecdsa-sha2-nistp256,ssh-ed25519" };
	else if (ver < 702)
		*ret = (struct keys_era){ KEYS_RSA | KEYS_ECDSA | KEYS_ED25519, 2048,
					  "ssh-rsa,ecdsa-sha2-nistp256,ssh-ed25519" };
	else if (ver < 888)
		*ret = (struct keys_era){ KEYS_RSA | KEYS_ECDSA | KEYS_ED25519, ver < 800 ? 2048 : 3072,
					  "rsa-sha2-512,rsa-sha2-256,ssh-rsa,ecdsa-sha2-nistp256,"
					  "ssh-ed25519" };
	else
		*ret = (struct keys_era){ KEYS_RSA | KEYS_ECDSA | KEYS_ED25519, 3072,
					  "rsa-sha2-512,rsa-sha2-256,ecdsa-sha2-nistp256,ssh-ed25519" };
}

/* The deterministic stream: block i is HMAC-SHA256(secret, label || kind
 * || id || bits || i). */
struct drbg {
	const uint8_t *secret;
	uint8_t msg[64];
	size_t msg_len;
	uint32_t ctr;
};

static int
drbg_init(struct drbg *g, const uint8_t secret[32], const char *label, unsigned kind, uint32_t id,
	  unsigned bits)
{
	size_t l = strlen(label);

	if (l > sizeof(g->msg) - 16)
		return -EINVAL;
	g->secret = secret;
	memcpy(g->msg, label, l);
	g->msg[l++] = (uint8_t)kind;
	for (int i = 3; i >= 0; i--)
		g->msg[l++] = (uint8_t)(id >> (8 * i));
	g->msg[l++] = (uint8_t)(bits >> 8);
	g->msg[l++] = (uint8_t)bits;
	g->msg_len = l;
	g->ctr = 0;
	return 0;
}

static int
drbg_bytes(struct drbg *g, uint8_t *out, size_t n)
{
	uint8_t blk[32], *m = g->msg + g->msg_len;
	unsigned len = 0;

	while (n > 0) {
		size_t take = n < sizeof(blk) ? n : sizeof(blk);

		m[0] = (uint8_t)(g->ctr >> 24);
		m[1] = (uint8_t)(g->ctr >> 16);
		m[2] = (uint8_t)(g->ctr >> 8);
		m[3] = (uint8_t)g->ctr;
		g->ctr++;
		if (!HMAC(EVP_sha256(), g->secret, 32, g->msg, g->msg_len + 4, blk, &len) || len != 32)
			return -EIO;
		memcpy(out, blk, take);
		out += take;
		n -= take;
	}
	OPENSSL_cleanse(blk, sizeof(blk));
	return 0;
}

/* A random bits-bit number from the stream, top bits as asked, odd. */
static int
drbg_bn(struct drbg *g, unsigned bits, unsigned char top, BIGNUM *r)
{
	uint8_t buf[512];
	size_t n = (bits + 7) / 8;
	int rc = -EIO;

	if (n > sizeof(buf) || drbg_bytes(g, buf, n) < 0)
		goto out;
	if (bits % 8)
		buf[0] &= (uint8_t)((1u << (bits % 8)) - 1);
	buf[0] |= (uint8_t)(top >> ((8 - bits % 8) % 8));
	buf[n - 1] |= 1;
	if (BN_bin2bn(buf, (int)n, r))
		rc = 0;
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	return rc;
}

/* The first prime at or after the odd candidate p, stepping by step
 * (2 for RSA, 2q for DSA), skipping p = 1 (mod e) when e is set; bounded. */
static int
next_prime(BIGNUM *p, const BIGNUM *step, BN_ULONG e, unsigned bits, BN_CTX *ctx)
{
	for (int i = 0; i < 200000; i++) {
		if ((unsigned)BN_num_bits(p) != bits)
			return -EAGAIN;
		if ((e == 0 || BN_mod_word(p, e) != 1) && BN_check_prime(p, ctx, NULL) == 1)
			return 0;
		if (!BN_add(p, p, step))
			return -EIO;
	}
	return -EAGAIN;
}

static int
from_params(const char *type, OSSL_PARAM_BLD *b, EVP_PKEY **ret)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(b);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	int r = -EIO;

	if (params && ctx && EVP_PKEY_fromdata_init(ctx) == 1 &&
	    EVP_PKEY_fromdata(ctx, ret, EVP_PKEY_KEYPAIR, params) == 1)
		r = 0;
	OSSL_PARAM_free(params);
	EVP_PKEY_CTX_free(ctx);
	return r;
}

/* RSA with e = 65537 from two primes of bits/2 off the stream (top two
 * bits set so n has exactly bits bits). */
static int
derive_rsa(struct drbg *g, unsigned bits, EVP_PKEY **ret)
{
	BN_CTX *ctx = BN_CTX_new();
	BIGNUM *p = BN_new(), *q = BN_new(), *e = BN_new(), *n = BN_new(), *d = BN_new();
	BIGNUM *p1 = BN_new(), *q1 = BN_new(), *phi = BN_new(), *dp = BN_new(), *dq = BN_new();
	BIGNUM *qi = BN_new(), *two = BN_new();
	OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
	int r = -EIO;

	if (!ctx || !p || !q || !e || !n || !d || !p1 || !q1 || !phi || !dp || !dq || !qi || !b ||
	    !two || bits < 512 || bits > 4096 || !BN_set_word(e, RSA_F4) || !BN_set_word(two, 2))
		goto out;
	for (int tries = 0; tries < 8; tries++) {
		if (drbg_bn(g, bits / 2, 0xc0, p) < 0 || drbg_bn(g, bits / 2, 0xc0, q) < 0)
			goto out;
		if (next_prime(p, two, RSA_F4, bits / 2, ctx) == 0 &&
		    next_prime(q, two, RSA_F4, bits / 2, ctx) == 0 && BN_cmp(p, q) != 0)
			break;
		BN_zero(p);
	}
	if (BN_is_zero(p))
		goto out;
	if (BN_cmp(p, q) < 0)
		BN_swap(p, q);
	if (!BN_mul(n, p, q, ctx) || !BN_sub(p1, p, BN_value_one()) ||
	    !BN_sub(q1, q, BN_value_one()) || !BN_mul(phi, p1, q1, ctx) ||
	    !BN_mod_inverse(d, e, phi, ctx) || !BN_mod(dp, d, p1, ctx) || !BN_mod(dq, d, q1, ctx) ||
	    !BN_mod_inverse(qi, q, p, ctx))
		goto out;
	if (!OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, n) ||
	    !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, e) ||
	    !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_D, d) ||
	    !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_FACTOR1, p) ||
	    !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_FACTOR2, q) ||
	    !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_EXPONENT1, dp) ||
	    !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_EXPONENT2, dq) ||
	    !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, qi))
		goto out;
	r = from_params("RSA", b, ret);
out:
	OSSL_PARAM_BLD_free(b);
	BN_clear_free(p);
	BN_clear_free(q);
	BN_free(e);
	BN_free(n);
	BN_clear_free(d);
	BN_clear_free(p1);
	BN_clear_free(q1);
	BN_clear_free(phi);
	BN_clear_free(dp);
	BN_clear_free(dq);
	BN_clear_free(qi);
	BN_free(two);
	BN_CTX_free(ctx);
	return r;
}

/* DSA as ssh-keygen made it: 1024-bit p, 160-bit q (FIPS 186-2 sizes);
 * g = 2^((p-1)/q) mod p; x in [1, q). */
static int
derive_dsa(struct drbg *g, EVP_PKEY **ret)
{
	BN_CTX *ctx = BN_CTX_new();
	BIGNUM *p = BN_new(), *q = BN_new(), *q2 = BN_new(), *c = BN_new(), *gg = BN_new();
	BIGNUM *h = BN_new(), *k = BN_new(), *x = BN_new(), *y = BN_new();
	OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
	int r = -EIO, found = -EAGAIN;

	if (!ctx || !p || !q || !q2 || !c || !gg || !h || !k || !x || !y || !b)
		goto out;
	if (!BN_set_word(h, 2) || drbg_bn(g, 160, 0x80, q) < 0 || next_prime(q, h, 0, 160, ctx) < 0 ||
	    !BN_lshift1(q2, q))
		goto out;
	for (int tries = 0; tries < 8 && found < 0; tries++) {
		/* p = X - (X mod 2q) + 1, then p += 2q: p - 1 is a multiple of q. */
		if (drbg_bn(g, 1024, 0x80, p) < 0 || !BN_mod(c, p, q2, ctx) || !BN_sub(p, p, c) ||
		    !BN_add(p, p, BN_value_one()))
			goto out;
		found = next_prime(p, q2, 0, 1024, ctx);
	}
	if (found < 0 || !BN_sub(k, p, BN_value_one()) || !BN_div(k, NULL, k, q, ctx) ||
	    !BN_set_word(h, 2) || !BN_mod_exp(gg, h, k, p, ctx) || BN_is_one(gg))
		goto out;
	if (drbg_bn(g, 256, 0x80, x) < 0 || !BN_sub(c, q, BN_value_one()) ||
	    !BN_mod(x, x, c, ctx) || !BN_add(x, x, BN_value_one()) ||
	    !BN_mod_exp(y, gg, x, p, ctx))
		goto out;
	if (!OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_FFC_P, p) ||
	    !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_FFC_Q, q) ||
	    !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_FFC_G, gg) ||
	    !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_PRIV_KEY, x) ||
	    !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_PUB_KEY, y))
		goto out;
	r = from_params("DSA", b, ret);
out:
	OSSL_PARAM_BLD_free(b);
	BN_free(p);
	BN_free(q);
	BN_free(q2);
	BN_free(c);
	BN_free(gg);
	BN_free(h);
	BN_free(k);
	BN_clear_free(x);
	BN_free(y);
	BN_CTX_free(ctx);
	return r;
}

/* ECDSA P-256: the scalar is 384 bits of the stream reduced into [1, n). */
static int
derive_ec(struct drbg *g, EVP_PKEY **ret)
{
	EC_GROUP *grp = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	EC_POINT *pub = grp ? EC_POINT_new(grp) : NULL;
	BN_CTX *ctx = BN_CTX_new();
	BIGNUM *x = BN_new(), *n1 = BN_new();
	OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
	uint8_t oct[65];
	int r = -EIO;

	if (!grp || !pub || !ctx || !x || !n1 || !b)
		goto out;
	if (drbg_bn(g, 384, 0x80, x) < 0 || !BN_sub(n1, EC_GROUP_get0_order(grp), BN_value_one()) ||
	    !BN_mod(x, x, n1, ctx) || !BN_add(x, x, BN_value_one()) ||
	    !EC_POINT_mul(grp, pub, x, NULL, NULL, ctx) ||
	    EC_POINT_point2oct(grp, pub, POINT_CONVERSION_UNCOMPRESSED, oct, sizeof(oct), ctx) !=
	    sizeof(oct))
		goto out;
	if (!OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
	    !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_PRIV_KEY, x) ||
	    !OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, oct, sizeof(oct)))
		goto out;
	r = from_params("EC", b, ret);
out:
	OSSL_PARAM_BLD_free(b);
	BN_clear_free(x);
	BN_free(n1);
	BN_CTX_free(ctx);
	EC_POINT_free(pub);
	EC_GROUP_free(grp);
	return r;
}

int
keys_derive(const uint8_t secret[32], const char *label, enum keys_kind kind, uint32_t id,
	    unsigned bits, EVP_PKEY **ret)
{
	struct drbg g;
	int r;

	*ret = NULL;
	if (kind == KEYS_ED25519)
		return -EINVAL;
	r = drbg_init(&g, secret, label, kind, id, kind == KEYS_RSA ? bits : 0);
	if (r < 0)
		return r;
	switch (kind) {
	case KEYS_RSA:
		return derive_rsa(&g, bits, ret);
	case KEYS_DSA:
		return derive_dsa(&g, ret);
	case KEYS_ECDSA:
		return derive_ec(&g, ret);
	default:
		return -EINVAL;
	}
}

int
keys_pem(EVP_PKEY *pk, char **ret, size_t *ret_len)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *s = NULL;
	long n;
	int r = -EIO;

	if (!bio || PEM_write_bio_PrivateKey_traditional(bio, pk, NULL, NULL, 0, NULL, NULL) != 1)
		goto out;
	n = BIO_get_mem_data(bio, &data);
	if (n <= 0 || !(s = OPENSSL_malloc((size_t)n + 1)))
		goto out;
	memcpy(s, data, (size_t)n);
	s[n] = '\0';
	*ret = s;
	*ret_len = (size_t)n + 1;
	r = 0;
out:
	if (bio) {
		/* The memory BIO's buffer held the private key too. */
		if (BIO_get_mem_data(bio, &data) > 0)
			OPENSSL_cleanse(data, (size_t)BIO_get_mem_data(bio, &data));
		BIO_free(bio);
	}
	return r;
}

int
keys_cache_init(struct keys_cache *c, const uint8_t secret[32])
{
	memset(c, 0, sizeof(*c));
	c->e = calloc(KEYS_CACHE, sizeof(*c->e));
	if (!c->e)
		return -ENOMEM;
	memcpy(c->secret, secret, sizeof(c->secret));
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->done, NULL);
	return 0;
}

void
keys_cache_free(struct keys_cache *c)
{
	if (!c || !c->e)
		return;
	for (size_t i = 0; i < KEYS_CACHE; i++)
		EVP_PKEY_free(c->e[i].pk);
	free(c->e);
	c->e = NULL;
	OPENSSL_cleanse(c->secret, sizeof(c->secret));
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->done);
}

static bool
entry_is(const struct keys_entry *e, const char *label, enum keys_kind kind, uint32_t id,
	 unsigned bits)
{
	return e->pk && e->id == id && e->kind == kind && e->bits == bits &&
	       strcmp(e->label, label) == 0;
}

/* Call with the lock held. */
static EVP_PKEY *
lookup(struct keys_cache *c, const char *label, enum keys_kind kind, uint32_t id, unsigned bits)
{
	for (size_t i = 0; i < KEYS_CACHE; i++) {
		if (entry_is(&c->e[i], label, kind, id, bits)) {
			EVP_PKEY_up_ref(c->e[i].pk);
			return c->e[i].pk;
		}
	}
	return NULL;
}

EVP_PKEY *
keys_peek(struct keys_cache *c, const char *label, enum keys_kind kind, uint32_t id,
	  unsigned bits)
{
	EVP_PKEY *pk;

	pthread_mutex_lock(&c->mu);
	pk = lookup(c, label, kind, id, bits);
	if (pk)
		c->hits++;
	pthread_mutex_unlock(&c->mu);
	return pk;
}

/* The pending slot deriving that key, or -1. Call with the lock held. */
static int
pending_of(const struct keys_cache *c, const char *label, enum keys_kind kind, uint32_t id,
	   unsigned bits)
{
	for (int i = 0; i < KEYS_PENDING; i++) {
		const struct keys_entry *e = &c->pending[i];

		if (e->label && e->id == id && e->kind == kind && e->bits == bits &&
		    strcmp(e->label, label) == 0)
			return i;
	}
	return -1;
}

static int
get(struct keys_cache *c, const char *label, enum keys_kind kind, uint32_t id, unsigned bits,
    bool ahead, EVP_PKEY **ret)
{
	EVP_PKEY *pk = NULL, *old = NULL, *had;
	struct keys_entry *slot;
	int r, mine = -1;

	pthread_mutex_lock(&c->mu);
	for (;;) {
		pk = lookup(c, label, kind, id, bits);
		if (pk) {
			c->hits++;
			pthread_mutex_unlock(&c->mu);
			*ret = pk;
			return 0;
		}
		if (ahead || pending_of(c, label, kind, id, bits) < 0)
			break;
		pthread_cond_wait(&c->done, &c->mu);	/* another thread derives it */
	}
	for (int i = 0; i < KEYS_PENDING && mine < 0 && !ahead; i++)
		if (!c->pending[i].label)
			mine = i;
	if (mine >= 0)
		c->pending[mine] = (struct keys_entry){ NULL, label, id, (uint16_t)bits, (uint8_t)kind };
	pthread_mutex_unlock(&c->mu);
	r = keys_derive(c->secret, label, kind, id, bits, &pk);
	pthread_mutex_lock(&c->mu);
	if (mine >= 0) {
		c->pending[mine].label = NULL;
		pthread_cond_broadcast(&c->done);
	}
	had = r == 0 && ahead ? lookup(c, label, kind, id, bits) : NULL;
	if (had) {
		/* Made meanwhile by a session: keep that one. */
		EVP_PKEY_free(pk);
		pk = had;
	} else if (r == 0) {
		c->derived++;
		slot = &c->e[c->next];
		c->next = (c->next + 1) % KEYS_CACHE;
		old = slot->pk;
		*slot = (struct keys_entry){ pk, label, id, (uint16_t)bits, (uint8_t)kind };
		EVP_PKEY_up_ref(pk);
	}
	pthread_mutex_unlock(&c->mu);
	EVP_PKEY_free(old);
	if (r < 0)
		return r;
	*ret = pk;
	return 0;
}

int
keys_get(struct keys_cache *c, const char *label, enum keys_kind kind, uint32_t id,
	 unsigned bits, EVP_PKEY **ret)
{
	return get(c, label, kind, id, bits, false, ret);
}

int
keys_get_ahead(struct keys_cache *c, const char *label, enum keys_kind kind, uint32_t id,
	       unsigned bits, EVP_PKEY **ret)
{
	return get(c, label, kind, id, bits, true, ret);
}
