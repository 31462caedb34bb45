/* libFuzzer target for collect/netflow9: NetFlow v9 (templates and options templates), through fuzz_flow.h. */
#include "collect/netflow9.h"
#include "fuzz_flow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_flow_datagrams(data, size, nf9_parse);
}
