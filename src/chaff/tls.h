/*
 * tls: TLS server sessions for decoy services, each decoy with its own
 * self-signed certificate.
 *
 * Certificates. Each decoy's certificate is made the first time it is
 * needed, by a worker thread (the RSA key takes ~0.1 s), and kept in a
 * bounded cache (TLS_CERTS). Everything in it is derived from the secret
 * moat-chaff keeps in its state_dir (the same ssh-hostkeys.secret file)
 * and the decoy's address, so a decoy shows the same certificate after a
 * restart: the RSA-2048 key (keys.h, its own label: never the SSH key),
 * the random-looking serial, and a subject shaped like the product the
 * decoy's HTTP Server header names (tls_subject()): a Debian/Ubuntu
 * "snakeoil" certificate for a host name (CN and subjectAltName, 10
 * years), IIS's for "WIN-XXXXXXXXXXX" (1 year, server authentication),
 * Cisco IOS's "IOS-Self-Signed-Certificate-N" (serial 1), an HP
 * JetDirect's "NPIxxxxxx", an Axis camera's "axis-<MAC>". The validity
 * window lies around the present (issued up to three years ago, not yet
 * expired) and moves on by a whole period when it would expire, as a
 * renewal would.
 *
 * Sessions. A tls_conn is an OpenSSL server session on memory BIOs, so it
 * never blocks and lives inside the caller's connection machinery: the
 * caller passes the bytes the peer sent to tls_conn_input() (plaintext
 * comes back), hands its answers to tls_conn_write(), and sends what
 * tls_conn_output() yields. While the decoy's certificate is still being
 * made, the peer's bytes wait in the session (tls_conn_waiting()); the
 * worker then makes tls_event_fd() readable and the caller runs
 * tls_conn_input(c, NULL, 0, ...) on its waiting sessions. A handshake
 * not done within TLS_HANDSHAKE_S fails (checked on each input), and at
 * most TLS_CONNS sessions exist at once.
 *
 * Wrapping another service (service.c's SMTP STARTTLS, RDP's TLS after
 * X.224): on the command that starts TLS, answer in plaintext, then make a
 * tls_conn for the decoy and route every later byte of the connection
 * through tls_conn_input()/tls_conn_output() as HTTPS does.
 *
 * RDP: a server of TLS_RDP_PREFIX "NAME" gets the certificate Windows'
 * Remote Desktop service makes for itself (CN=NAME, the computer name; six
 * months; server authentication; a key and serial of its own, cached apart
 * from the decoy's web certificate).
 */
#ifndef MOAT_CHAFF_TLS_H
#define MOAT_CHAFF_TLS_H

#include <openssl/ssl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chaff/keys.h"

#define TLS_CONNS	256	/* live sessions: ~40 KiB of OpenSSL state each */
#define TLS_CERTS	1024	/* cached certificates (~4 KiB each); others are made again */
#define TLS_QUEUE	256	/* decoys waiting for their certificate (more wait to be queued) */
#define TLS_HANDSHAKE_S	10	/* a handshake not done by then fails */
#define TLS_PENDING_IN	(16u << 10)	/* peer bytes held while the certificate is made */
#define TLS_RDP_PREFIX	"rdp:"	/* server "rdp:NAME": the RDP certificate of computer NAME */

/* What a decoy's certificate says, from the product it claims to run. */
struct tls_subject {
	char cn[64];		/* commonName (and the DNS subjectAltName when san) */
	char org[64];		/* organizationName, "" for none */
	int64_t not_before, not_after;	/* Unix seconds */
	uint8_t serial[20];
	size_t serial_len;
	bool san;		/* subjectAltName DNS:cn (Debian's snakeoil) */
	bool server_auth;	/* keyUsage + extendedKeyUsage serverAuth (IIS) */
	bool ca;		/* basicConstraints CA:TRUE (Cisco) */
};

/* The subject for a decoy whose HTTP Server header is server (NULL: a
 * Linux host), at address addr (host order) with that MAC; h is 32 bytes
 * of the decoy's derived randomness, now the present (Unix seconds). */
void tls_subject(const char *server, uint32_t addr, const uint8_t mac[6], const uint8_t h[32],
		 int64_t now, struct tls_subject *ret);

/* Whether the product the Server header names speaks TLS 1.3 as shipped:
 * nginx on Ubuntu 18.04+ and FreeBSD 12 (OpenSSL 1.1.1) does; IIS before
 * Windows Server 2022, Apache 2.2/2.4 on CentOS 6 and Debian 9 (OpenSSL
 * 1.0/1.1.0), LibreSSL-era OpenBSD and macOS, and the appliances do not.
 * The others are offered TLS 1.2 at most. */
bool tls_speaks_13(const char *server);

struct tls_cert {
	uint32_t decoy;
	X509 *x509;
	EVP_PKEY *pk;
	bool rdp;		/* the decoy's Remote Desktop certificate */
};

struct tls_req {
	uint32_t decoy;
	uint8_t mac[6];
	char server[64];
};

struct tls {
	SSL_CTX *ctx;
	struct keys_cache keys;
	pthread_t worker, warm_thread;
	bool have_worker, have_warm, stop;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct tls_cert *certs;		/* TLS_CERTS, replaced oldest first */
	size_t cert_next;
	struct tls_req queue[TLS_QUEUE];
	size_t q_head, q_count;
	int event_fd;			/* readable when a certificate is made */
	size_t n_conns;			/* live tls_conn (main loop's thread only) */
	struct tls_req *warm;		/* certificates to make ahead, when idle */
	size_t n_warm, warm_next;
	bool worker_started;		/* the warm thread has lowered its priority */
	uint64_t made, failed;
};

struct tls_conn {
	SSL *ssl;
	BIO *rbio, *wbio;		/* owned by ssl */
	struct tls_req req;
	uint64_t start_ns;
	bool ready;			/* the certificate is set */
	bool done;			/* handshake finished */
};

/* Set up and start the worker, before the sandbox (it loads every
 * algorithm the sessions and the worker use). */
int tls_init(struct tls *t, const uint8_t secret[32]);
void tls_free(struct tls *t);
/* Make these decoys' certificates ahead of use (at most TLS_CERTS / 2) in
 * a second thread at the lowest priority (a session never waits for it:
 * the worker makes a certificate asked for itself); before the sandbox. */
int tls_warm(struct tls *t, const struct tls_req *items, size_t n);
int tls_event_fd(const struct tls *t);
/* Clear tls_event_fd()'s readiness (before resuming waiting sessions). */
void tls_ack(struct tls *t);

/* A session for the decoy (server: its HTTP Server header, or NULL); NULL
 * when TLS_CONNS are live or OpenSSL fails. now_ns: a monotonic clock. */
struct tls_conn *tls_conn_new(struct tls *t, uint32_t decoy, const uint8_t mac[6],
			      const char *server, uint64_t now_ns);
/* Take the peer's bytes (in may be NULL to resume a waiting session) and
 * put the plaintext they carried in plain[0..cap) (*plain_len). 0 while
 * all is well, -EPROTO when the session failed (send tls_conn_output(),
 * then close), -ETIMEDOUT after TLS_HANDSHAKE_S without a handshake,
 * -ENOBUFS when more than TLS_PENDING_IN waits. */
int tls_conn_input(struct tls *t, struct tls_conn *c, const uint8_t *in, size_t len,
		   uint8_t *plain, size_t cap, size_t *plain_len, uint64_t now_ns);
/* Encrypt len bytes of answer; -EPROTO when the session cannot. */
int tls_conn_write(struct tls_conn *c, const void *buf, size_t len);
/* Queue a close_notify alert (the answer is complete). */
void tls_conn_shutdown(struct tls_conn *c);
/* The bytes to send (up to cap); the rest stays for the next call. */
size_t tls_conn_output(struct tls_conn *c, uint8_t *out, size_t cap);
bool tls_conn_waiting(const struct tls_conn *c);
/* Whether the handshake finished. */
bool tls_conn_done(const struct tls_conn *c);
void tls_conn_free(struct tls *t, struct tls_conn *c);

#endif
