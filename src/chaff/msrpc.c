/* msrpc: Windows' bind_nak to the first PDU on TCP 135. */
#include "chaff/msrpc.h"

#include <string.h>

#include "common/cursor.h"
#include "common/wbuf.h"

#define DCERPC_BIND_NAK		13
#define NAK_PROTOCOL_VERSION	4

size_t
msrpc_answer(const uint8_t *req, size_t len, uint8_t *out, size_t cap)
{
	struct cursor c = cur_init(req, len);
	struct wbuf w = wb_init(out, cap);
	uint8_t call_id[4] = { 0 };

	/* The call id as sent (little-endian data representation: copied as is). */
	if (cur_skip(&c, 12))
		(void)cur_bytes(&c, call_id, sizeof(call_id));
	wb_u8(&w, 5);			/* rpc_vers 5.0 */
	wb_u8(&w, 0);
	wb_u8(&w, DCERPC_BIND_NAK);
	wb_u8(&w, 0x03);		/* first and last fragment */
	wb_bytes(&w, "\x10\0\0\0", 4);	/* little-endian, ASCII, IEEE */
	wb_u16_le(&w, 24);		/* frag_length */
	wb_u16_le(&w, 0);		/* auth_length */
	wb_bytes(&w, call_id, 4);
	wb_u16_le(&w, NAK_PROTOCOL_VERSION);
	wb_u8(&w, 1);			/* one protocol version supported: */
	wb_u8(&w, 5);
	wb_u8(&w, 0);
	wb_zero(&w, 3);
	return wb_ok(&w) ? wb_len(&w) : 0;
}
