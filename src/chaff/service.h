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
 * LIMIT_CHAFF_SESSION_BYTES of input.
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
#include "chaff/sshd.h"
#include "chaff/tls.h"
#include "common/limits.h"

enum service_kind {
	SERVICE_NONE, SERVICE_HTTP, SERVICE_SSH, SERVICE_TELNET, SERVICE_FTP,
	SERVICE_SMTP, SERVICE_MYSQL, SERVICE_REDIS, SERVICE_BANNER,
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
	uint16_t http_status;	/* HTTP: the answer chosen at the request line */
	bool http_head;		/* HTTP: HEAD (headers only) */
	bool http_keep;		/* HTTP: keep the connection after the answer */
	uint16_t sport, dport;	/* the connection's ports (with src and decoy: its key) */
	struct tls_conn *tls;	/* HTTPS: the TLS session the lines arrive through */
};

struct service_ctx {
	struct service_session *pool;
	size_t n;
	const struct persona *personas;
	size_t n_personas;
	const char *banner;		/* generic banner text */
	struct sshd *sshd;		/* real SSH handshakes when set (else banner only) */
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
 * resumes an HTTPS session whose certificate was not made yet
 * (tls_conn_waiting(): run it when tls_event_fd() is readable). */
size_t service_open(void *arg, struct conn *c, const struct decoy *d, uint8_t *out, size_t cap);
size_t service_data(void *arg, struct conn *c, const struct decoy *d, const uint8_t *data,
		    size_t len, uint8_t *out, size_t cap, bool *close);
void service_close(void *arg, struct conn *c);

#endif
