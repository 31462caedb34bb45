/*
 * service: the emulated services on decoys' open TCP ports.
 *
 * Each service kind is a row in a static table (name, default ports, greet
 * and input handlers). Handlers read the peer's bytes as lines through a
 * bounded line buffer (LIMIT_CHAFF_LINE), answer with canned text shaped by
 * the decoy's personality (HTTP Server header, SSH/FTP/SMTP banners), record
 * what was asked and every credential offered, and always deny. Nothing the
 * peer sends is ever executed or interpreted beyond splitting lines and
 * matching a few verbs. Sessions live in a fixed pool; a source may hold at
 * most LIMIT_CHAFF_SESSIONS_PER_SRC of them, and a session ends after
 * LIMIT_CHAFF_SESSION_BYTES of input. Binary protocols are handed to their
 * own modules with the session's bytes: SMB (smb.h, a buffer from a pool of
 * LIMIT_CHAFF_SMB_CONNS), RDP (rdp.h), RPC (msrpc.h), MySQL (mysql.h) and
 * Redis (redis.h, both gathered in the line buffer); SMTP lines go to
 * smtp.h; UDP 137 datagrams to nbns.h (service_udp()). HTTPS, SMTP after
 * STARTTLS and RDP after a confirm selecting TLS or CredSSP run inside a
 * tls.h session with the decoy's certificate.
 */
#ifndef MOAT_CHAFF_SERVICE_H
#define MOAT_CHAFF_SERVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chaff/conn.h"
#include "chaff/decoy.h"
#include "chaff/persona.h"
#include "chaff/respond.h"
#include "chaff/smb.h"
#include "chaff/sshd.h"
#include "chaff/tls.h"
#include "common/limits.h"

enum service_kind {
	SERVICE_NONE, SERVICE_HTTP, SERVICE_SSH, SERVICE_TELNET, SERVICE_FTP,
	SERVICE_SMTP, SERVICE_MYSQL, SERVICE_REDIS, SERVICE_BANNER,
	SERVICE_SMB, SERVICE_RDP, SERVICE_MSRPC,
	SERVICE_HTTPS,
	SERVICE_NKINDS
};

struct service_session {
	bool used;
	uint8_t kind;
	uint8_t phase;
	uint32_t src;
	uint32_t decoy;		/* the decoy serving it (per-decoy caps) */
	uint32_t bytes;
	uint16_t line_len;
	char line[LIMIT_CHAFF_LINE];
	char user[LIMIT_CHAFF_CRED];
	int ssh_slot;		/* sshd bridge slot, -1 for none */
	int smb_slot;		/* SMB connection slot (smb.h), -1 for none */
	uint16_t http_status;	/* HTTP: the answer chosen at the request line */
	bool http_head;		/* HTTP: HEAD (headers only) */
	bool http_keep;		/* HTTP: keep the connection after the answer */
	bool telnet_wait;	/* Telnet: the banner waits for the client's first bytes */
	uint8_t scramble[20];	/* MySQL: the greeting's auth data */
	uint16_t sport, dport;	/* the connection's ports (with src and decoy: its key) */
	struct tls_conn *tls;	/* HTTPS, SMTP after STARTTLS, RDP after its confirm:
				   the TLS session the bytes arrive through */
	bool tls_start;		/* SMTP: STARTTLS accepted, TLS starts after this input */
};

struct service_ctx {
	struct service_session *pool;
	size_t n;
	const struct persona *personas;
	size_t n_personas;
	const char *banner;		/* generic banner text */
	struct sshd *sshd;		/* real SSH handshakes when set (else banner only) */
	struct smb_conn *smb;		/* LIMIT_CHAFF_SMB_CONNS SMB connections */
	bool *smb_busy;
	struct tls *tls;		/* TLS on HTTPS ports when set (else plain HTTP there) */
	void (*report)(void *arg, const struct respond_contact *c);
	void *report_arg;
};

int service_init(struct service_ctx *s, size_t sessions, const struct persona *personas,
		 size_t n_personas);
void service_free(struct service_ctx *s);

/* The service kind a port runs by default (80 http, 22 ssh, ...); SERVICE_BANNER otherwise. */
enum service_kind service_for_port(uint16_t port);
const char *service_name(enum service_kind k);

/* The session slot's SSH bridge descriptor, or -1 (the main loop polls it). */
int service_ssh_fd(const struct service_ctx *s, const struct conn *c);

/* respond hooks: see respond.h. service_data() with no input (len 0)
 * resumes a TLS session whose certificate was not made yet
 * (tls_conn_waiting(): run it when tls_event_fd() is readable). */
size_t service_open(void *arg, struct conn *c, const struct decoy *d, uint8_t *out, size_t cap);
size_t service_data(void *arg, struct conn *c, const struct decoy *d, const uint8_t *data,
		    size_t len, uint8_t *out, size_t cap, bool *close);
void service_close(void *arg, struct conn *c);

/* A datagram to a decoy's open UDP port: the answer (UDP 137: the NetBIOS
 * name service, nbns.h), 0 for none. */
size_t service_udp(struct service_ctx *s, const struct decoy *d, uint32_t src, uint16_t sport,
		   uint16_t dport, const uint8_t *data, size_t len, uint8_t *out, size_t cap);

#endif
