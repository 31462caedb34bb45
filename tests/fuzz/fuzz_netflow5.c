/* libFuzzer target for collect/netflow5: NetFlow v5, through fuzz_flow.h. */
#include "collect/netflow5.h"
#include "fuzz_flow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_flow_datagrams(data, size, nf5_parse);
}
