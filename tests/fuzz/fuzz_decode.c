/* libFuzzer target for collect/decode: first byte picks the link type. */
#include <stddef.h>
#include <stdint.h>

#include "collect/decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cursor c;
	struct flow_rec r;

	if (size < 1)
		return 0;
	c = cur_init(data + 1, size - 1);
	(void)decode_packet(&c, (enum decode_link)(data[0] % 4), &r);
	return 0;
}
