/*
 * keys: the decoys' long-term key pairs — SSH host keys of the kinds the
 * claimed OpenSSH release had, and the keys behind their TLS certificates.
 *
 * Nothing but a 32-byte secret is stored: moat-chaff keeps it in its
 * state_dir (ssh-hostkeys.secret), and every key is derived from it, the
 * key's purpose (a label) and the decoy's address by a deterministic
 * generator (HMAC-SHA256 in counter mode), so each decoy has its own keys,
 * the same after every restart, and no key file can be planted or read.
 * RSA and DSA keys come from a prime search on that stream (tens to
 * hundreds of milliseconds each: callers derive them off the frame path,
 * in a worker, and keep them in a keys_cache); ECDSA keys take
 * microseconds.
 *
 * keys_era() is the table of what an OpenSSH release offered: the host
 * key kinds of a default install of that version and their order in its
 * KEXINIT (OpenSSH's release notes: ECDSA host keys from 5.7, Ed25519 from
 * 6.5, ssh-dss off by default from 7.0, the rsa-sha2-* signatures from
 * 7.2, RSA host keys of 3072 bits from 8.0, the ssh-rsa signature off from
 * 8.8).
 */
#ifndef MOAT_CHAFF_KEYS_H
#define MOAT_CHAFF_KEYS_H

#include <openssl/evp.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

enum keys_kind {
	KEYS_RSA = 1 << 0,
	KEYS_DSA = 1 << 1,
	KEYS_ECDSA = 1 << 2,	/* NIST P-256, OpenSSH's default ECDSA host key */
	KEYS_ED25519 = 1 << 3,
};

struct keys_era {
	unsigned kinds;		/* keys_kind bits the server offers */
	unsigned rsa_bits;	/* ssh-keygen's default RSA size then */
	const char *hostkey_algos;	/* its host key algorithms, its order */
};

/* What the server of that software version ("OpenSSH_5.3",
 * "OpenSSH_for_Windows_7.7", "Cisco-1.25") offered. Never fails: anything
 * that is not OpenSSH offers RSA only, an unparsable OpenSSH version the
 * newest list. */
void keys_era(const char *version, struct keys_era *ret);

/* The key of that kind for id (a decoy's address) and purpose (label, a
 * short constant string), derived from secret. bits is the RSA modulus
 * size (ignored for other kinds; DSA is 1024 bits as ssh-keygen made it).
 * -EINVAL for KEYS_ED25519 (sshd derives those itself), -EIO on failure. */
int keys_derive(const uint8_t secret[32], const char *label, enum keys_kind kind, uint32_t id,
		unsigned bits, EVP_PKEY **ret);

/* The key as traditional PEM text ("BEGIN RSA PRIVATE KEY", ...), the form
 * libssh imports; a NUL-terminated string the caller frees with
 * OPENSSL_clear_free(ret, *ret_len). */
int keys_pem(EVP_PKEY *pk, char **ret, size_t *ret_len);

/*
 * A bounded, thread-safe cache of derived keys, keyed by (label, kind,
 * id, bits): KEYS_CACHE entries, the oldest replaced when full (it is
 * derived again when next needed). keys_get() derives on a miss, outside
 * the lock (a second caller asking for a key under way waits for it rather
 * than deriving it again), and returns a reference the caller frees with
 * EVP_PKEY_free().
 */
#define KEYS_CACHE	4096	/* 256 decoys x every kind, with room; ~3 KiB each */

struct keys_entry {
	EVP_PKEY *pk;
	const char *label;
	uint32_t id;
	uint16_t bits;
	uint8_t kind;
};

#define KEYS_PENDING	16	/* keys being derived at once (one per worker suffices) */

struct keys_cache {
	uint8_t secret[32];
	pthread_mutex_t mu;
	pthread_cond_t done;	/* a pending derivation finished */
	struct keys_entry pending[KEYS_PENDING];	/* pk unused: derivations under way */
	struct keys_entry *e;
	size_t next;		/* the slot replaced next when no slot is free */
	uint64_t derived, hits;
};

int keys_cache_init(struct keys_cache *c, const uint8_t secret[32]);
void keys_cache_free(struct keys_cache *c);
int keys_get(struct keys_cache *c, const char *label, enum keys_kind kind, uint32_t id,
	     unsigned bits, EVP_PKEY **ret);
/* The same for a low-priority thread making keys ahead of use: it never
 * makes a caller of keys_get() wait for it (that caller derives the key
 * itself rather than inherit the low priority), and it keeps the first
 * key cached when both made it. */
int keys_get_ahead(struct keys_cache *c, const char *label, enum keys_kind kind, uint32_t id,
		   unsigned bits, EVP_PKEY **ret);
/* The key if it is cached (a reference), else NULL; never derives. */
EVP_PKEY *keys_peek(struct keys_cache *c, const char *label, enum keys_kind kind, uint32_t id,
		    unsigned bits);

#endif
