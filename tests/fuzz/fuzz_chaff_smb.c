/* libFuzzer target: the SMB server (NetBIOS framing, SMB1/SMB2 negotiate,
 * session setup) and the NTLMSSP parser behind it. The first byte picks the
 * personality and port 139 framing; the rest arrives in chunks of varying
 * size, as TCP segments would (a seed is a client's stream with a 0xff byte
 * before every 1786 bytes: tests/fuzz/corpus/chaff_smb). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chaff/smb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
on_auth(void *arg, const struct ntlm_auth *a)
{
	(void)arg;
	/* Every string must be terminated. */
	(void)strlen(a->user);
	(void)strlen(a->domain);
	(void)strlen(a->workstation);
	(void)strlen(a->hash);
}

static void
on_request(void *arg, const char *what)
{
	(void)arg;
	(void)strlen(what);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[][2] = {
		{ "windows-10", "Microsoft Windows 10 1607" },
		{ "windows-7", "Microsoft Windows 7 SP1" },
		{ "linux-5.4", "Linux 5.0 - 5.4" },
		{ "fp", "Microsoft Windows XP SP3" },
	};
	struct smb_ident id;
	struct smb_conn *sc = malloc(sizeof(*sc));
	struct smb_io io = { .id = &id, .now_ns = 1, .on_auth = on_auth, .on_request = on_request };
	struct ntlm_auth a;
	uint8_t out[4096];
	bool close = false;

	if (size < 1 || !sc)
		goto out;
	smb_ident_init(&id, names[data[0] % 4][0], names[data[0] % 4][1],
		       data[0] & 4 ? "DESKTOP-FUZZ123" : NULL, data[0]);
	smb_conn_open(sc, data[0] & 0x80);
	/* Then chunks: a length byte (1 + 7 x its value bytes follow), the bytes. */
	for (size_t off = 1; off < size && !close;) {
		size_t n = 1 + (size_t)data[off++] * 7;

		if (n > size - off)
			n = size - off;
		(void)smb_input(sc, &io, data + off, n, out, sizeof(out), &close);
		off += n;
	}
	/* The same bytes as an AUTHENTICATE_MESSAGE and a security blob. */
	(void)ntlm_parse_auth(data, size, sc->challenge, &a);
	{
		size_t at;

		if (ntlm_find(data, size, &at) == NTLM_AUTHENTICATE)
			(void)ntlm_parse_auth(data + at, size - at, sc->challenge, &a);
	}
out:
	free(sc);
	return 0;
}
