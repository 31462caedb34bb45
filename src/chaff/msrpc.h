/*
 * msrpc: the first answer of Windows' RPC endpoint mapper on TCP 135.
 *
 * A decoy does not run DCE/RPC: whatever the first PDU is, it answers as
 * Windows answers a PDU it will not bind — a 24-byte bind_nak (DCE/RPC 5.0,
 * reason "protocol version not supported", the one version 5.0 offered) with
 * the request's call id — and the connection ends. nmap -sV names that
 * "Microsoft Windows RPC"; an RPC client (rpcdump) sees the bind refused.
 */
#ifndef MOAT_CHAFF_MSRPC_H
#define MOAT_CHAFF_MSRPC_H

#include <stddef.h>
#include <stdint.h>

/* The bind_nak answering the first bytes of a connection (at least one);
 * 0 when cap is too small. Reads at most the call id at bytes 12..15. */
size_t msrpc_answer(const uint8_t *req, size_t len, uint8_t *out, size_t cap);

#endif
