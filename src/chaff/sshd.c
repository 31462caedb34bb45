/* sshd: libssh servers bridged over socketpairs, recording credentials. */
#include "chaff/sshd.h"

#include <errno.h>
#include <libssh/callbacks.h>
#include <libssh/libssh.h>
#include <libssh/server.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "common/wbuf.h"

static void
copy_cut(char *dst, size_t cap, const char *src)
{
	size_t n = src ? strnlen(src, cap - 1) : 0;

	if (n)
		memcpy(dst, src, n);
	dst[n] = '\0';
}

static void
push_cred(struct sshd *s, const struct sshd_key *key, const char *user, const char *pass,
	  const char *client)
{
	struct sshd_cred *c;
	uint64_t one = 1;

	pthread_mutex_lock(&s->mu);
	if (s->cred_count == SSHD_CREDS) {
		s->dropped_creds++;
		pthread_mutex_unlock(&s->mu);
		return;
	}
	c = &s->creds[(s->cred_head + s->cred_count) % SSHD_CREDS];
	c->key = *key;
	copy_cut(c->user, sizeof(c->user), user);
	copy_cut(c->pass, sizeof(c->pass), pass);
	copy_cut(c->client, sizeof(c->client), client);
	s->cred_count++;
	pthread_mutex_unlock(&s->mu);
	if (write(s->event_fd, &one, sizeof(one)) < 0)
		(void)0;	/* the counter saturating is harmless: the loop drains all */
}

struct serve_ctx {
	struct sshd *s;
	const struct sshd_key *key;
	int tries;
};

static int
auth_password(ssh_session session, const char *user, const char *password, void *userdata)
{
	struct serve_ctx *x = userdata;

	push_cred(x->s, x->key, user, password, ssh_get_clientbanner(session));
	x->tries++;
	return SSH_AUTH_DENIED;
}

static int
auth_none(ssh_session session, const char *user, void *userdata)
{
	return SSH_AUTH_DENIED;
}

static int
auth_pubkey(ssh_session session, const char *user, struct ssh_key_struct *pubkey,
	    char signature_state, void *userdata)
{
	return SSH_AUTH_DENIED;
}

/* Serve one session on fd until the client gives up, fails SSHD_MAX_TRIES
 * times or SSHD_TIMEOUT_S pass. Every password is recorded, every method
 * denied. */
/*
 * The algorithms the impersonated server offered, by its version (OpenSSH's
 * release notes: ECDH in 5.7, SHA-2 MACs in 5.9, curve25519, chacha20 and
 * the -etm MACs in 6.5, curve25519-sha256 and the group14-sha256/16/18
 * groups in 7.4), restricted to what libssh implements and in OpenSSH's
 * order. Anything that is not OpenSSH (Cisco's "Cisco-1.25") offers what
 * an old IOS does. The host key algorithm is the decoy's key's. Two
 * departures: no diffie-hellman-group-exchange (libssh's server reads
 * /etc/ssh/moduli for it, which the sandbox forbids), and before 5.7
 * diffie-hellman-group14-sha256 last, the one exchange a current client
 * shares with such a list once group-exchange is gone.
 */

const struct sshd_algos *
sshd_algos_for(const char *version)
{
	static const struct sshd_algos old = {
		"diffie-hellman-group14-sha1,diffie-hellman-group1-sha1,"
		"diffie-hellman-group14-sha256",
		"aes128-ctr,aes192-ctr,aes256-ctr,aes128-cbc,3des-cbc,aes192-cbc,aes256-cbc",
		"hmac-sha1",
	}, ecdh = {
		"ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,"
		"diffie-hellman-group14-sha1,diffie-hellman-group1-sha1",
		"aes128-ctr,aes192-ctr,aes256-ctr,aes128-cbc,3des-cbc,aes192-cbc,aes256-cbc",
		"hmac-sha2-256,hmac-sha2-512,hmac-sha1",
	}, c25519 = {
		"curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,"
		"ecdh-sha2-nistp521,diffie-hellman-group14-sha1",
		"chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,"
		"aes128-gcm@openssh.com,aes256-gcm@openssh.com",
		"hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,"
		"hmac-sha2-256,hmac-sha2-512,hmac-sha1",
	}, modern = {
		"curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,"
		"ecdh-sha2-nistp521,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,"
		"diffie-hellman-group14-sha256",
		"chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,"
		"aes128-gcm@openssh.com,aes256-gcm@openssh.com",
		"hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,"
		"hmac-sha2-256,hmac-sha2-512,hmac-sha1",
	};
	const char *v = strstr(version, "OpenSSH_");
	unsigned major = 0, minor = 0;

	if (!v)
		return &old;
	for (v += 8; *v && (*v < '0' || *v > '9'); v++)
		;	/* "for_Windows_" */
	if (sscanf(v, "%u.%u", &major, &minor) < 1)
		return &modern;
	if (major < 5 || (major == 5 && minor < 7))
		return &old;
	if (major < 6 || (major == 6 && minor < 5))
		return &ecdh;
	if (major < 7 || (major == 7 && minor < 4))
		return &c25519;
	return &modern;
}

/* Offer the version's algorithms (-EIO when libssh refuses one); libssh
 * keeps the host key algorithms of the keys it has, in this order. */
static int
set_algos(ssh_bind bind, const char *version)
{
	const struct sshd_algos *a = sshd_algos_for(version);
	struct keys_era era;

	keys_era(version, &era);

	if (ssh_bind_options_set(bind, SSH_BIND_OPTIONS_KEY_EXCHANGE, a->kex) < 0 ||
	    ssh_bind_options_set(bind, SSH_BIND_OPTIONS_CIPHERS_C_S, a->ciphers) < 0 ||
	    ssh_bind_options_set(bind, SSH_BIND_OPTIONS_CIPHERS_S_C, a->ciphers) < 0 ||
	    ssh_bind_options_set(bind, SSH_BIND_OPTIONS_HMAC_C_S, a->macs) < 0 ||
	    ssh_bind_options_set(bind, SSH_BIND_OPTIONS_HMAC_S_C, a->macs) < 0 ||
	    ssh_bind_options_set(bind, SSH_BIND_OPTIONS_HOSTKEY_ALGORITHMS, era.hostkey_algos) < 0)
		return -EIO;
	return 0;
}

/* The decoy's key of that kind as an ssh_key, derived (or taken from the
 * cache); NULL when it cannot be made. */
static ssh_key
decoy_key(struct sshd *s, enum keys_kind kind, uint32_t decoy, unsigned bits)
{
	EVP_PKEY *pk = NULL;
	ssh_key key = NULL;
	char *pem = NULL;
	size_t pem_len = 0;

	if (kind == KEYS_ED25519) {
		if (sshd_host_key(s->secret, decoy, (void **)&key) < 0)
			return NULL;
		return key;
	}
	if (keys_get(&s->keys, SSHD_KEY_LABEL, kind, decoy, bits, &pk) < 0)
		return NULL;
	if (keys_pem(pk, &pem, &pem_len) == 0 &&
	    ssh_pki_import_privkey_base64(pem, NULL, NULL, NULL, &key) != SSH_OK)
		key = NULL;
	if (pem)
		OPENSSL_clear_free(pem, pem_len);
	EVP_PKEY_free(pk);
	return key;
}

/* Give the bind every host key the version offered (it takes ownership
 * of each); -EIO when none could be made. */
static int
import_keys(struct sshd *s, ssh_bind bind, uint32_t decoy, const char *version)
{
	static const enum keys_kind kinds[] = { KEYS_RSA, KEYS_DSA, KEYS_ECDSA, KEYS_ED25519 };
	struct keys_era era;
	int n = 0;

	keys_era(version, &era);
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		ssh_key k;

		if (!(era.kinds & kinds[i]) || (kinds[i] == KEYS_DSA && !s->dsa_ok))
			continue;
		k = decoy_key(s, kinds[i], decoy, era.rsa_bits);
		if (!k)
			continue;
		if (ssh_bind_options_set(bind, SSH_BIND_OPTIONS_IMPORT_KEY, k) < 0) {
			ssh_key_free(k);
			continue;
		}
		n++;
	}
	return n > 0 ? 0 : -EIO;
}

static void
serve(struct sshd *s, int fd, const struct sshd_key *key, const char *version)
{
	long timeout_s = SSHD_TIMEOUT_S;
	struct serve_ctx x = { .s = s, .key = key };
	struct ssh_server_callbacks_struct cb = {
		.userdata = &x,
		.auth_password_function = auth_password,
		.auth_none_function = auth_none,
		.auth_pubkey_function = auth_pubkey,
	};
	ssh_bind bind = ssh_bind_new();
	ssh_session session = ssh_new();
	ssh_event ev = NULL;
	time_t deadline = time(NULL) + SSHD_TIMEOUT_S;
	bool no_config = false;
	ssh_key key_copy = NULL;

	if (!bind || !session)
		goto out;
	/* The key exchange waits at most SSHD_TIMEOUT_S for the client. */
	if (ssh_options_set(session, SSH_OPTIONS_TIMEOUT, &timeout_s) < 0)
		goto out;
	/* No /etc/ssh/libssh_server_config: the sandbox forbids open(), and the
	 * decoy's behaviour must not depend on the host's files. */
	if (ssh_bind_options_set(bind, SSH_BIND_OPTIONS_PROCESS_CONFIG, &no_config) < 0)
		goto out;
	/* The bind takes ownership of the keys it imports: the decoy's own
	 * (the RSA and DSA ones derived by the first session that needs
	 * them, then cached), else a copy of the fallback. */
	if (import_keys(s, bind, key->daddr, version) < 0) {
		key_copy = ssh_key_dup(s->hostkey);
		if (!key_copy ||
		    ssh_bind_options_set(bind, SSH_BIND_OPTIONS_IMPORT_KEY, key_copy) < 0) {
			ssh_key_free(key_copy);
			goto out;
		}
	}
	if (ssh_bind_options_set(bind, SSH_BIND_OPTIONS_BANNER, version) < 0 ||
	    set_algos(bind, version) < 0 || ssh_bind_accept_fd(bind, session, fd) != SSH_OK)
		goto out;
	fd = -1;	/* the session owns it now */
	ssh_callbacks_init(&cb);
	ssh_set_server_callbacks(session, &cb);
	ssh_set_auth_methods(session, SSH_AUTH_METHOD_PASSWORD | SSH_AUTH_METHOD_PUBLICKEY);
	if (ssh_handle_key_exchange(session) != SSH_OK)
		goto out;
	ev = ssh_event_new();
	if (!ev || ssh_event_add_session(ev, session) != SSH_OK)
		goto out;
	while (x.tries < SSHD_MAX_TRIES && time(NULL) < deadline &&
	       !__atomic_load_n(&s->stop, __ATOMIC_RELAXED)) {
		if (ssh_event_dopoll(ev, 1000) == SSH_ERROR)
			break;
	}
	ssh_event_remove_session(ev, session);
out:
	if (ev)
		ssh_event_free(ev);
	if (session) {
		ssh_disconnect(session);
		ssh_free(session);
	}
	if (bind)
		ssh_bind_free(bind);
	if (fd >= 0)
		close(fd);
}

static void *
worker(void *arg)
{
	struct sshd *s = arg;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		struct sshd_session *job = NULL;
		struct sshd_key key;
		char version[96];
		int fd;

		while (!s->stop) {
			for (int i = 0; i < SSHD_SESSIONS; i++)
				if (s->sess[i].queued && s->sess[i].peer_fd >= 0 &&
				    (!job || s->sess[i].seq < job->seq))
					job = &s->sess[i];
			if (job)
				break;
			pthread_cond_wait(&s->cv, &s->mu);
		}
		if (s->stop)
			break;
		fd = job->peer_fd;
		job->peer_fd = -1;	/* taken: serve() closes it */
		key = job->key;
		memcpy(version, job->version, sizeof(version));
		pthread_mutex_unlock(&s->mu);
		serve(s, fd, &key, version);
		pthread_mutex_lock(&s->mu);
		job->queued = false;
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* An SSH string (RFC 4251): a 32-bit length, then the bytes. */
static void
put_str(struct wbuf *w, const void *s, size_t len)
{
	wb_u32(w, (uint32_t)len);
	wb_bytes(w, s, len);
}

/*
 * An Ed25519 key in OpenSSH's own private key container (PROTOCOL.key:
 * "openssh-key-v1", no cipher), the one format libssh reads natively for
 * Ed25519: the private part is seed || public key. Its length, or 0 when
 * out[0..cap) is too small.
 */
static size_t
openssh_ed25519(const uint8_t seed[32], const uint8_t pub[32], uint32_t check, uint8_t *out,
		size_t cap)
{
	static const char magic[] = "openssh-key-v1", type[] = "ssh-ed25519";
	uint8_t pubblob[4 + sizeof(type) - 1 + 4 + 32], priv[256], sk[64];
	struct wbuf o = wb_init(out, cap), b = wb_init(pubblob, sizeof(pubblob));
	struct wbuf p = wb_init(priv, sizeof(priv));
	size_t n = 0;

	put_str(&b, type, sizeof(type) - 1);
	put_str(&b, pub, 32);
	memcpy(sk, seed, 32);
	memcpy(sk + 32, pub, 32);
	wb_u32(&p, check);
	wb_u32(&p, check);
	put_str(&p, type, sizeof(type) - 1);
	put_str(&p, pub, 32);
	put_str(&p, sk, 64);
	put_str(&p, "", 0);
	for (uint8_t pad = 1; wb_len(&p) % 8 != 0; pad++)
		wb_u8(&p, pad);
	wb_bytes(&o, magic, sizeof(magic));	/* with its NUL */
	put_str(&o, "none", 4);
	put_str(&o, "none", 4);
	put_str(&o, "", 0);
	wb_u32(&o, 1);
	put_str(&o, pubblob, wb_len(&b));
	put_str(&o, priv, wb_len(&p));
	if (wb_ok(&o) && wb_ok(&b) && wb_ok(&p))
		n = wb_len(&o);
	OPENSSL_cleanse(priv, sizeof(priv));
	OPENSSL_cleanse(sk, sizeof(sk));
	return n;
}

int
sshd_host_key(const uint8_t secret[32], uint32_t decoy, void **ret)
{
	static const char label[] = "moat-chaff ssh-ed25519 host key";
	static const char head[] = "-----BEGIN OPENSSH PRIVATE KEY-----\n";
	static const char tail[] = "\n-----END OPENSSH PRIVATE KEY-----\n";
	uint8_t msg[sizeof(label) + 4], seed[EVP_MAX_MD_SIZE], pub[32], blob[512];
	char text[sizeof(head) + 4 * sizeof(blob) / 3 + 8 + sizeof(tail)];
	unsigned seed_len = 0;
	size_t pub_len = sizeof(pub), blob_len;
	EVP_PKEY *pk = NULL;
	ssh_key key = NULL;
	int r = -EIO, b64;

	memcpy(msg, label, sizeof(label));
	wb_patch_u32(msg + sizeof(label), decoy);
	if (!HMAC(EVP_sha256(), secret, 32, msg, sizeof(msg), seed, &seed_len) || seed_len < 32)
		goto out;
	pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
	if (!pk || EVP_PKEY_get_raw_public_key(pk, pub, &pub_len) != 1 || pub_len != 32)
		goto out;
	blob_len = openssh_ed25519(seed, pub, decoy ^ 0x5eed5eedu, blob, sizeof(blob));
	if (blob_len == 0)
		goto out;
	memcpy(text, head, sizeof(head) - 1);
	b64 = EVP_EncodeBlock((unsigned char *)text + sizeof(head) - 1, blob, (int)blob_len);
	if (b64 <= 0)
		goto out;
	memcpy(text + sizeof(head) - 1 + b64, tail, sizeof(tail));
	if (ssh_pki_import_privkey_base64(text, NULL, NULL, NULL, &key) != SSH_OK)
		goto out;
	*ret = key;
	r = 0;
out:
	OPENSSL_cleanse(seed, sizeof(seed));
	OPENSSL_cleanse(blob, sizeof(blob));
	OPENSSL_cleanse(text, sizeof(text));
	EVP_PKEY_free(pk);
	return r;
}

int
sshd_init(struct sshd *s, const uint8_t secret[32])
{
	ssh_key key = NULL;
	void *probe = NULL;
	int r;

	memset(s, 0, sizeof(*s));
	for (int i = 0; i < SSHD_SESSIONS; i++)
		s->sess[i].fd = s->sess[i].peer_fd = -1;
	memcpy(s->secret, secret, sizeof(s->secret));
	if (ssh_init() < 0 || ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &key) != SSH_OK)
		return -EIO;
	s->hostkey = key;
	/* One derivation now loads every algorithm, encoder and decoder the
	 * workers need while files may still be opened. */
	if (sshd_host_key(s->secret, 0, &probe) < 0)
		return -EIO;
	ssh_key_free(probe);
	r = keys_cache_init(&s->keys, secret);
	if (r < 0)
		return r;
	{
		ssh_bind b = ssh_bind_new();

		s->dsa_ok = b && ssh_bind_options_set(b, SSH_BIND_OPTIONS_HOSTKEY_ALGORITHMS,
						      "ssh-dss") == 0;
		if (b)
			ssh_bind_free(b);
	}
	/* The same for the other kinds (small keys, not cached: fast). */
	for (enum keys_kind k = KEYS_RSA; k <= KEYS_ECDSA; k <<= 1) {
		EVP_PKEY *pk = NULL;
		char *pem = NULL;
		size_t pem_len = 0;

		if (k == KEYS_DSA && !s->dsa_ok)
			continue;
		if (keys_derive(secret, "moat-chaff probe", k, 0, 512, &pk) < 0 ||
		    keys_pem(pk, &pem, &pem_len) < 0 ||
		    ssh_pki_import_privkey_base64(pem, NULL, NULL, NULL, &key) != SSH_OK) {
			EVP_PKEY_free(pk);
			if (pem)
				OPENSSL_clear_free(pem, pem_len);
			return -EIO;
		}
		ssh_key_free(key);
		EVP_PKEY_free(pk);
		OPENSSL_clear_free(pem, pem_len);
	}
	s->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->event_fd < 0)
		return -errno;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	for (unsigned i = 0; i < SSHD_WORKERS; i++) {
		r = pthread_create(&s->workers[i], NULL, worker, s);
		if (r != 0)
			return -r;
		s->n_workers++;
	}
	return 0;
}

static void *
warm_main(void *arg)
{
	struct sshd *s = arg;

	/* The lowest priority, set before sshd_warm() returns (the sandbox
	 * that follows allows no setpriority). */
	if (setpriority(PRIO_PROCESS, (id_t)gettid(), 19) < 0)
		(void)0;	/* then at the normal priority */
	pthread_mutex_lock(&s->mu);
	s->warm_started = true;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	for (size_t i = 0; i < s->n_warm && !__atomic_load_n(&s->stop, __ATOMIC_RELAXED); i++) {
		EVP_PKEY *pk = NULL;

		if (keys_get_ahead(&s->keys, SSHD_KEY_LABEL, KEYS_RSA, s->warm[i].addr,
				   s->warm[i].rsa_bits, &pk) == 0)
			EVP_PKEY_free(pk);
		__atomic_store_n(&s->warmed, i + 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

int
sshd_warm(struct sshd *s, const struct sshd_warm *items, size_t n)
{
	int r;

	if (s->have_warm || n == 0)
		return 0;
	if (n > SSHD_WARM)
		n = SSHD_WARM;
	s->warm = malloc(n * sizeof(*s->warm));
	if (!s->warm)
		return -ENOMEM;
	memcpy(s->warm, items, n * sizeof(*s->warm));
	s->n_warm = n;
	r = pthread_create(&s->warm_thread, NULL, warm_main, s);
	if (r != 0)
		return -r;
	s->have_warm = true;
	pthread_mutex_lock(&s->mu);
	while (!s->warm_started)
		pthread_cond_wait(&s->cv, &s->mu);
	pthread_mutex_unlock(&s->mu);
	return 0;
}

void
sshd_free(struct sshd *s)
{
	if (!s || !s->hostkey)
		return;
	pthread_mutex_lock(&s->mu);
	s->stop = true;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	if (s->have_warm) {
		pthread_join(s->warm_thread, NULL);	/* after its current key, at most ~1 s */
		s->have_warm = false;
	}
	free(s->warm);
	s->warm = NULL;
	/* Workers blocked inside a session end at their socket's EOF. */
	for (int i = 0; i < SSHD_SESSIONS; i++)
		sshd_close(s, i);
	for (unsigned i = 0; i < s->n_workers; i++)
		pthread_join(s->workers[i], NULL);
	for (int i = 0; i < SSHD_SESSIONS; i++)
		if (s->sess[i].peer_fd >= 0)
			close(s->sess[i].peer_fd);
	ssh_key_free(s->hostkey);
	s->hostkey = NULL;
	keys_cache_free(&s->keys);
	OPENSSL_cleanse(s->secret, sizeof(s->secret));
	close(s->event_fd);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	ssh_finalize();
}

int
sshd_open(struct sshd *s, const struct sshd_key *key, const char *version)
{
	int fds[2], slot = -EBUSY;

	pthread_mutex_lock(&s->mu);
	for (int i = 0; i < SSHD_SESSIONS; i++) {
		if (!s->sess[i].used && !s->sess[i].queued) {
			slot = i;
			break;
		}
	}
	if (slot >= 0) {
		struct sshd_session *ss = &s->sess[slot];

		/* Both ends non-blocking: libssh drives its end with poll(). */
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds) < 0) {
			pthread_mutex_unlock(&s->mu);
			return -errno;
		}
		ss->used = true;
		ss->queued = true;
		ss->fd = fds[0];
		ss->peer_fd = fds[1];
		ss->key = *key;
		ss->seq = s->seq++;
		copy_cut(ss->version, sizeof(ss->version), version);
		pthread_cond_signal(&s->cv);
	}
	pthread_mutex_unlock(&s->mu);
	if (slot >= 0 && s->on_session)
		s->on_session(s->on_session_arg, slot, s->sess[slot].fd);
	return slot;
}

int
sshd_fd(const struct sshd *s, int slot)
{
	if (slot < 0 || slot >= SSHD_SESSIONS || !s->sess[slot].used)
		return -1;
	return s->sess[slot].fd;
}

void
sshd_close(struct sshd *s, int slot)
{
	if (slot < 0 || slot >= SSHD_SESSIONS)
		return;
	/* used changes only on this thread: no lock needed to read it. */
	if (s->sess[slot].used && s->on_session)
		s->on_session(s->on_session_arg, slot, -1);
	pthread_mutex_lock(&s->mu);
	if (s->sess[slot].used) {
		close(s->sess[slot].fd);
		s->sess[slot].fd = -1;
		s->sess[slot].used = false;
		/* A job not yet picked up is cancelled here. */
		if (s->sess[slot].peer_fd >= 0) {
			close(s->sess[slot].peer_fd);
			s->sess[slot].peer_fd = -1;
			s->sess[slot].queued = false;
		}
	}
	pthread_mutex_unlock(&s->mu);
}

bool
sshd_pop_cred(struct sshd *s, struct sshd_cred *ret)
{
	bool ok = false;
	uint64_t v;

	pthread_mutex_lock(&s->mu);
	if (s->cred_count > 0) {
		*ret = s->creds[s->cred_head];
		s->cred_head = (s->cred_head + 1) % SSHD_CREDS;
		s->cred_count--;
		ok = true;
	}
	if (s->cred_count == 0 && read(s->event_fd, &v, sizeof(v)) < 0)
		(void)0;	/* drained already */
	pthread_mutex_unlock(&s->mu);
	return ok;
}
