/* libFuzzer target: the NetBIOS name service request parser (UDP 137). */
#include <stddef.h>
#include <stdint.h>

#include "chaff/nbns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct ntlm_ident id = { "WIN-ABCDEFGHIJK", "WORKGROUP", "WIN-ABCDEFGHIJK",
					      "WIN-ABCDEFGHIJK", 6, 1, 7601 };
	static const uint8_t mac[6] = { 0, 0x1a, 0x4b, 1, 2, 3 };
	uint8_t out[1016];
	enum nbns_kind k;
	size_t n = nbns_answer(&id, mac, 0xc6336446, data, size, out, sizeof(out), &k);

	if (n > sizeof(out))
		__builtin_trap();
	return 0;
}
