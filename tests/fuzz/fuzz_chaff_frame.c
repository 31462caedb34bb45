/* libFuzzer target: the frame decoder (Ethernet/ARP/IPv4/TCP/UDP/ICMP) and TCP options. */
#include <stddef.h>
#include <stdint.h>

#include "chaff/frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct frame f;
	struct frame_tcpopt o;

	if (frame_parse(data, size, &f) < 0)
		return 0;
	if (f.kind == FRAME_TCP)
		frame_tcp_options(&f.tcp, &o);
	(void)frame_l4_csum_ok(&f);
	return 0;
}
