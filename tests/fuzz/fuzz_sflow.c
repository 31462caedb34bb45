/* libFuzzer target for collect/sflow: sFlow v5 (flow and counter samples), through fuzz_flow.h. */
#include "collect/sflow.h"
#include "fuzz_flow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_flow_datagrams(data, size, sflow_parse);
}
