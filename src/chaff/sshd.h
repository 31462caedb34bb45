/*
 * sshd: the SSH decoy service — a real SSH handshake through libssh, every
 * password attempt recorded, every login denied.
 *
 * moat-chaff's TCP is in user space, so each SSH session is bridged: the
 * session's bytes go into one end of a socketpair and libssh serves the
 * other end in a worker thread (a fixed pool started before the sandbox;
 * sessions wait for a free worker, and those beyond SSHD_SESSIONS are
 * refused by the caller). The server's
 * identification is the impersonated OpenSSH's ("SSH-2.0-OpenSSH_8.2p1
 * Ubuntu-4ubuntu0.5"); each decoy has its own host keys of the kinds that
 * release offered (keys_era(): RSA always, DSA before 7.0, ECDSA from 5.7,
 * Ed25519 from 6.5), derived from a 32-byte secret and the decoy's address,
 * so the keys differ between decoys and stay the same across restarts when
 * the secret is kept (moat-chaff keeps it in its state_dir). Ed25519 keys
 * are derived per session (microseconds); RSA and DSA keys by a prime
 * search (0.1 to 1 s), ahead of use by a nice-19 thread (sshd_warm()) or
 * else in the worker that first needs them, then kept in a bounded cache,
 * so neither start-up nor the main loop waits for them.
 * Credentials travel back to the main loop through a bounded queue and an
 * eventfd, so alarms stay single-threaded. A session ends after
 * SSHD_MAX_TRIES password attempts or SSHD_TIMEOUT_S of silence.
 */
#ifndef MOAT_CHAFF_SSHD_H
#define MOAT_CHAFF_SSHD_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chaff/keys.h"
#include "common/limits.h"

#define SSHD_WORKERS	8	/* concurrent SSH sessions: each is a blocking libssh server */
#define SSHD_SESSIONS	128	/* open bridges; those beyond the workers wait for one, oldest
				 * first (ssh-keyscan opens one connection per host and key type,
				 * all at once) */
#define SSHD_WARM	(KEYS_CACHE / 2)	/* decoys whose RSA key is made ahead of use */
#define SSHD_KEY_LABEL	"moat-chaff ssh host key"
#define SSHD_MAX_TRIES	6	/* like OpenSSH's MaxAuthTries */
#define SSHD_TIMEOUT_S	20
#define SSHD_CREDS	64	/* queued credentials not yet turned into alarms */

struct sshd_key {
	uint32_t saddr, daddr;
	uint16_t sport, dport;
};

struct sshd_cred {
	struct sshd_key key;
	char user[LIMIT_CHAFF_CRED];
	char pass[LIMIT_CHAFF_CRED];
	char client[LIMIT_CHAFF_CRED];	/* the client's identification string */
};

struct sshd_session {
	bool used;		/* owned by the main loop until closed */
	bool queued;		/* waiting for or served by a worker */
	uint64_t seq;		/* order of opening: workers take the oldest */
	int fd;			/* our end: the TCP payload goes here */
	int peer_fd;		/* libssh's end */
	struct sshd_key key;
	char version[96];	/* software version after "SSH-2.0-" */
};

struct sshd {
	void *hostkey;		/* ssh_key: the fallback if a decoy's key cannot be made */
	uint8_t secret[32];	/* per-decoy host keys derive from it */
	struct keys_cache keys;	/* the decoys' RSA, DSA and ECDSA host keys, derived on first use */
	bool dsa_ok;		/* this libssh serves ssh-dss (Debian's is built without) */
	uint64_t seq;
	struct sshd_warm *warm;	/* RSA keys to make ahead, by a thread at nice 19 */
	size_t n_warm;
	pthread_t warm_thread;
	bool have_warm, warm_started;
	size_t warmed;		/* how many of them are made (atomic) */
	pthread_t workers[SSHD_WORKERS];
	unsigned n_workers;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;
	struct sshd_session sess[SSHD_SESSIONS];
	struct sshd_cred creds[SSHD_CREDS];
	size_t cred_head, cred_count;
	int event_fd;		/* readable when credentials are queued */
	uint64_t dropped_creds;
	/* Optional, set after sshd_init(): called on the main loop's thread
	 * when a slot's socket opens (fd >= 0, by sshd_open()) and just before
	 * it is closed (fd == -1, by sshd_close()), so the loop can watch it. */
	void (*on_session)(void *arg, int slot, int fd);
	void *on_session_arg;
};

/* Keep the secret, make the fallback key (and one decoy key, so every
 * library path the workers use is loaded) and start the workers, before
 * sandbox_enter(). */
int sshd_init(struct sshd *s, const uint8_t secret[32]);

/* The key exchanges, ciphers and MACs the server of that version
 * ("OpenSSH_5.3", "OpenSSH_for_Windows_7.7", "Cisco-1.25") offered, as
 * libssh lists (comma-separated, libssh's subset, OpenSSH's order). */
struct sshd_algos {
	const char *kex, *ciphers, *macs;
};
const struct sshd_algos *sshd_algos_for(const char *version);

/* A decoy whose RSA host key is made ahead of its first session: its
 * address and the size its banner's release used (keys_era()). */
struct sshd_warm {
	uint32_t addr;
	uint16_t rsa_bits;
};

/* Make those decoys' RSA keys (at most SSHD_WARM) in a background thread
 * at the lowest priority, one after another, so the first ssh-keyscan of
 * a range finds them ready; call after sshd_init(), before the sandbox. */
int sshd_warm(struct sshd *s, const struct sshd_warm *items, size_t n);

/* Decoy's Ed25519 host key (an ssh_key in *ret, the caller frees it),
 * derived from secret and the decoy's address (host order). */
int sshd_host_key(const uint8_t secret[32], uint32_t decoy, void **ret);
void sshd_free(struct sshd *s);

/* Start a session for a TCP connection; returns the slot or -EBUSY. version
 * is the software version ("OpenSSH_8.2p1 Ubuntu-4ubuntu0.5"). */
int sshd_open(struct sshd *s, const struct sshd_key *key, const char *version);
/* Our end of the slot's bridge (non-blocking), or -1. */
int sshd_fd(const struct sshd *s, int slot);
/* Forget a slot (the main loop's side is done with it). */
void sshd_close(struct sshd *s, int slot);
/* Pop one queued credential; false when none. */
bool sshd_pop_cred(struct sshd *s, struct sshd_cred *ret);

#endif
