/* libFuzzer target: the RDP X.224 Connection Request parser, the confirm built from it,
 * and the ClientHello sniff. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "chaff/rdp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rdp_cr cr;
	uint8_t out[64];
	bool close;
	long n = rdp_parse_cr(data, size, &cr);

	(void)rdp_is_client_hello(data, size);

	if (n > 0) {
		if ((size_t)n > size)
			__builtin_trap();
		(void)strlen(cr.cookie);
		(void)rdp_confirm(&cr, size % 11, size % 4, out, sizeof(out), &close);
	}
	return 0;
}
