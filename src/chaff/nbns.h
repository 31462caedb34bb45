/*
 * nbns: the NetBIOS name service (RFC 1002) of a decoy on UDP 137, as
 * Windows (and Samba's nmbd) answer it unicast.
 *
 * A node status request (NBSTAT, what `nmblookup -A` and nmap's nbstat
 * script send) is answered with the decoy's name table — its computer name
 * <00> and <20> (unique) and its workgroup <00> and <1e> (group) — and its
 * MAC in the statistics; a name query for the decoy's own name with its
 * address. Anything else (other names, registrations, responses) gets no
 * answer, as a host that does not hold the name gives none. The request is
 * read through the cursor; the name's labels are bounded at 255 bytes.
 */
#ifndef MOAT_CHAFF_NBNS_H
#define MOAT_CHAFF_NBNS_H

#include <stddef.h>
#include <stdint.h>

#include "chaff/ntlm.h"

/* What a request asked, for the caller's record. */
enum nbns_kind { NBNS_IGNORED, NBNS_NODE_STATUS, NBNS_NAME_QUERY };

/*
 * Answer the request q (a UDP payload) for a decoy with identity id, MAC
 * mac and address addr (host order). Returns the answer's length (0: no
 * answer) and the request's kind in *ret_kind.
 */
size_t nbns_answer(const struct ntlm_ident *id, const uint8_t mac[6], uint32_t addr,
		   const uint8_t *q, size_t len, uint8_t *out, size_t cap,
		   enum nbns_kind *ret_kind);

#endif
