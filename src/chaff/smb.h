/*
 * smb: the SMB2 server of a decoy on 445 (and 139 after a NetBIOS session
 * request), far enough for a client to try to log in.
 *
 * Messages are reassembled from the NetBIOS session framing into a per-
 * connection buffer of LIMIT_CHAFF_SMB_MSG (a longer one closes the
 * connection). An SMB1 multi-protocol negotiate offering SMB 2.002/2.??? is
 * answered with an SMB2 NEGOTIATE response, as Windows does; one offering
 * only "NT LM 0.12" gets the SMB1 negotiate response of Windows 7 to 2016
 * (which nmap -sV names) where the personality has SMB1, and is closed
 * otherwise. SMB2 NEGOTIATE gets the highest dialect both sides have (the
 * personality's Windows version caps it), the decoy's stable server GUID and
 * a SPNEGO token offering NTLMSSP; SESSION_SETUP runs NTLMSSP (ntlm.h) to
 * the AUTHENTICATE_MESSAGE, whose credentials go to the caller's hook, and
 * ends in STATUS_LOGON_FAILURE. Anything else gets STATUS_ACCESS_DENIED.
 * Nothing a client sends is acted upon beyond this exchange.
 */
#ifndef MOAT_CHAFF_SMB_H
#define MOAT_CHAFF_SMB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chaff/ntlm.h"
#include "common/limits.h"

/* What a decoy's SMB server claims to be (smb_ident_init()). */
struct smb_ident {
	struct ntlm_ident ntlm;
	uint8_t guid[16];	/* ServerGuid: stable per decoy */
	uint16_t max_dialect;	/* highest SMB2 dialect; 0: SMB1 only */
	bool smb1;		/* SMB1 enabled (an "NT LM 0.12"-only negotiate is answered) */
	bool windows;		/* Windows (else Samba) */
	bool server;		/* a Windows Server edition */
	char product[40];	/* edition, e.g. "Windows 10 Pro" (SMB1 NativeOS) */
};

/*
 * The identity of a decoy: Windows version and dialects from the
 * personality (its preset name and nmap OS name: "Windows 7", "2012 R2",
 * "Windows 10"...; anything not Windows speaks as Samba 4). A Windows
 * decoy's NetBIOS name is name, the host name it announces everywhere else
 * (bg_hostname), upper-cased; NULL or "" (tests) derives WIN-XXXXXXXXXXX
 * from seed. Workgroup and GUID come from seed (the same decoy address and
 * secret give the same identity on every run).
 */
void smb_ident_init(struct smb_ident *ret, const char *persona_name, const char *os,
		    const char *name, uint64_t seed);

struct smb_conn {
	bool nbt;		/* port 139: a NetBIOS session request must come first */
	uint8_t state;		/* smb.c's SMB_S_* */
	uint16_t dialect;
	bool smb1_ext;		/* SMB1 with extended security (NTLMSSP in session setup) */
	uint32_t ntlm_flags;	/* the client's NEGOTIATE_MESSAGE flags */
	uint32_t have;		/* bytes in buf */
	uint64_t session_id;
	uint8_t challenge[8];
	uint8_t salt[32];
	uint8_t buf[LIMIT_CHAFF_SMB_MSG];
};

/* The caller's side of one connection: who the decoy is and where a
 * captured login goes. */
struct smb_io {
	const struct smb_ident *id;
	uint64_t now_ns;	/* wall clock, for SystemTime and the NTLM timestamp */
	void (*on_auth)(void *arg, const struct ntlm_auth *a);
	/* Every request (a short description: "negotiate smb2 0x0311"). Optional. */
	void (*on_request)(void *arg, const char *what);
	void *arg;
};

/* Start a connection: a fresh random challenge, session id and salt. */
void smb_conn_open(struct smb_conn *sc, bool nbt);

/*
 * Feed bytes from the client; answers (whole NetBIOS messages) are written
 * to out, at most cap, and their length returned. *close is set when the
 * connection should end (after out is sent): a message over the cap, a
 * protocol a decoy does not speak, or one Windows would drop.
 */
size_t smb_input(struct smb_conn *sc, const struct smb_io *io, const uint8_t *data, size_t len,
		 uint8_t *out, size_t cap, bool *close);

#endif
