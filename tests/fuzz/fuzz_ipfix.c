/* libFuzzer target for collect/ipfix: IPFIX (templates, variable-length and enterprise fields), through fuzz_flow.h. */
#include "collect/ipfix.h"
#include "fuzz_flow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_flow_datagrams(data, size, ipfix_parse);
}
