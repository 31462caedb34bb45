/* libFuzzer target: the IPv6 frame decoder (extension header chain, TCP/UDP/
 * ICMPv6), its checksums and the neighbour discovery parser. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "chaff/frame.h"
#include "chaff/nd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t eth[14] = { 0x33, 0x33, 0xff, 0, 0, 1, 2, 0, 0, 0, 0, 1, 0x86, 0xdd };
	uint8_t buf[2048];
	struct frame f;
	struct frame_tcpopt o;
	struct nd_msg m;

	/* Every input is an IPv6 packet behind a fixed Ethernet header, so
	 * the fuzzer spends its time past the EtherType. */
	if (size > sizeof(buf) - sizeof(eth))
		size = sizeof(buf) - sizeof(eth);
	memcpy(buf, eth, sizeof(eth));
	memcpy(buf + sizeof(eth), data, size);
	if (frame_parse(buf, sizeof(eth) + size, &f) < 0)
		return 0;
	if (f.kind == FRAME_TCP)
		frame_tcp_options(&f.tcp, &o);
	(void)frame_l4_csum_ok(&f);
	if (f.v6 && f.kind == FRAME_ICMP)
		(void)nd_parse(&f, &m);
	return 0;
}
