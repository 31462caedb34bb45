#include "collect/dgram.h"

#include <errno.h>

#include "collect/ipfix.h"
#include "collect/netflow5.h"
#include "collect/netflow9.h"
#include "collect/sflow.h"

typedef int (*dgram_parser)(struct exporter_table *t, const struct ipaddr *from,
    struct cursor *c, uint64_t now_ns, flowrec_sink_fn fn, void *ctx);

static const struct {
	uint32_t version;	/* first 4 bytes, big-endian, masked */
	uint32_t mask;
	dgram_parser parse;
} dgram_formats[] = {
	{ 0x00050000u, 0xffff0000u, nf5_parse },
	{ 0x00090000u, 0xffff0000u, nf9_parse },
	{ 0x000a0000u, 0xffff0000u, ipfix_parse },
	{ 0x00000005u, 0xffffffffu, sflow_parse },
};

int
dgram_parse(struct exporter_table *t, const struct ipaddr *from, const uint8_t *buf,
    size_t len, uint64_t now_ns, flowrec_sink_fn fn, void *ctx)
{
	struct cursor c = cur_init(buf, len);
	uint32_t head;

	if (!cur_be32(&c, &head))
		return -EPROTONOSUPPORT;
	c.off = 0;
	/* sFlow's 32-bit version 5 also matches nothing else: NetFlow's upper
	   half would be 0, a version no format uses. */
	for (size_t i = 0; i < sizeof(dgram_formats) / sizeof(dgram_formats[0]); i++)
		if ((head & dgram_formats[i].mask) == dgram_formats[i].version)
			return dgram_formats[i].parse(t, from, &c, now_ns, fn, ctx);
	return -EPROTONOSUPPORT;
}
