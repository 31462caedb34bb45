/* mysql: protocol-10 greeting per server version; the login read and refused. */
#include "chaff/mysql.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "common/cursor.h"
#include "common/wbuf.h"

#define CLIENT_SSL		0x00000800u
#define CLIENT_PROTOCOL_41	0x00000200u
#define CLIENT_SECURE_CONN	0x00008000u
#define CLIENT_PLUGIN_AUTH	0x00080000u
#define CLIENT_LENENC_AUTH	0x00200000u

/* What a server line sends, by version. */
struct flavour {
	uint32_t caps;		/* lower and upper capability words, without CLIENT_SSL */
	uint8_t charset;
	const char *plugin;	/* NULL: none (5.1) */
};

static struct flavour
flavour_of(const char *version)
{
	if (strstr(version, "MariaDB"))
		return (struct flavour){ 0x81bff7fe & ~CLIENT_SSL, 45, "mysql_native_password" };
	if (strncmp(version, "8.", 2) == 0)
		return (struct flavour){ 0xdfffffff & ~CLIENT_SSL, 255, "caching_sha2_password" };
	if (strncmp(version, "5.7", 3) == 0)
		return (struct flavour){ 0x81ffffff & ~CLIENT_SSL, 8, "mysql_native_password" };
	if (strncmp(version, "5.5", 3) == 0 || strncmp(version, "5.6", 3) == 0)
		return (struct flavour){ 0x807ff7ff & ~CLIENT_SSL, 8, "mysql_native_password" };
	return (struct flavour){ 0x0000f7ff & ~CLIENT_SSL, 8, NULL };
}

void
mysql_scramble(uint8_t ret[20])
{
	uint8_t r[20] = { 0 };

	(void)!getrandom(r, sizeof(r), 0);
	for (int i = 0; i < 20; i++) {
		uint8_t b = r[i] & 0x7f;

		ret[i] = b == 0 || b == '$' ? (uint8_t)(b + 1) : b;
	}
}

size_t
mysql_greeting(const char *version, uint32_t conn_id, const uint8_t scramble[20], uint8_t *out,
	       size_t cap)
{
	struct wbuf w = wb_init(out, cap);
	struct flavour f = flavour_of(version);
	uint8_t *hdr = wb_reserve(&w, 4);

	wb_u8(&w, 10);
	wb_bytes(&w, version, strlen(version) + 1);
	wb_u32_le(&w, conn_id);
	wb_bytes(&w, scramble, 8);
	wb_u8(&w, 0);
	wb_u16_le(&w, (uint16_t)f.caps);
	wb_u8(&w, f.charset);
	wb_u16_le(&w, 0x0002);		/* SERVER_STATUS_AUTOCOMMIT */
	wb_u16_le(&w, (uint16_t)(f.caps >> 16));
	wb_u8(&w, f.plugin ? 21 : 0);
	wb_zero(&w, 10);
	wb_bytes(&w, scramble + 8, 12);
	wb_u8(&w, 0);
	if (f.plugin)
		wb_bytes(&w, f.plugin, strlen(f.plugin) + 1);
	if (!wb_ok(&w))
		return 0;
	wb_patch_u8(hdr, (uint8_t)(wb_len(&w) - 4));
	wb_patch_u8(hdr + 1, (uint8_t)((wb_len(&w) - 4) >> 8));
	wb_patch_u8(hdr + 2, 0);
	wb_patch_u8(hdr + 3, 0);	/* sequence 0 */
	return wb_len(&w);
}

long
mysql_parse_login(const uint8_t *buf, size_t len, const uint8_t scramble[20],
		  struct mysql_login *ret)
{
	struct cursor c = cur_init(buf, len), p;
	struct mysql_login l;
	size_t plen, n = 0;
	uint32_t caps;
	uint8_t alen = 0, b;

	memset(&l, 0, sizeof(l));
	if (len < 4)
		return 0;
	plen = (size_t)buf[0] | (size_t)buf[1] << 8 | (size_t)buf[2] << 16;
	l.seq = buf[3];
	if (len < 4 + plen)
		return 0;
	(void)cur_skip(&c, 4);
	if (!cur_sub(&c, plen, &p) || plen < 4)
		return -EINVAL;
	if (!cur_le32(&p, &caps))
		return -EINVAL;
	if (caps & CLIENT_PROTOCOL_41) {
		if (!cur_skip(&p, 4 + 1 + 23))
			return -EINVAL;
	} else {
		/* HandshakeResponse320: caps 2, max packet 3. */
		p = cur_init(buf + 4, plen);
		if (!cur_skip(&p, 2 + 3))
			return -EINVAL;
	}
	if (cur_empty(&p) && (caps & CLIENT_SSL))
		return -EINVAL;		/* an SSL request: no TLS here */
	while (cur_u8(&p, &b) && b != 0)
		if (n + 1 < sizeof(l.user))
			l.user[n++] = b >= 0x20 && b < 0x7f ? (char)b : '?';
	l.user[n] = '\0';
	if (caps & CLIENT_PROTOCOL_41 && (caps & (CLIENT_SECURE_CONN | CLIENT_LENENC_AUTH))) {
		/* A one-byte length (or a lenenc integer under 251, all a hash needs). */
		if (cur_u8(&p, &alen) && alen < 251 && alen <= cur_left(&p)) {
			l.password = alen > 0;
			if (alen == 20) {
				static const char hx[] = "0123456789abcdef";
				size_t k = 0;

				k = (size_t)snprintf(l.hash, sizeof(l.hash), "$mysqlna$");
				for (int i = 0; i < 20; i++) {
					l.hash[k++] = hx[scramble[i] >> 4];
					l.hash[k++] = hx[scramble[i] & 15];
				}
				l.hash[k++] = '*';
				for (int i = 0; i < 20; i++) {
					l.hash[k++] = hx[cur_ptr(&p)[i] >> 4];
					l.hash[k++] = hx[cur_ptr(&p)[i] & 15];
				}
				l.hash[k] = '\0';
			}
		}
	} else {
		l.password = cur_u8(&p, &b) && b != 0;
	}
	*ret = l;
	return (long)(4 + plen);
}

size_t
mysql_denied(const struct mysql_login *l, const char *host, uint8_t *out, size_t cap)
{
	struct wbuf w = wb_init(out, cap);
	char msg[LIMIT_CHAFF_CRED + 96];
	int n = snprintf(msg, sizeof(msg), "Access denied for user '%s'@'%s' (using password: %s)",
			 l->user, host, l->password ? "YES" : "NO");
	uint8_t *hdr = wb_reserve(&w, 4);

	if (n < 0)
		return 0;
	wb_u8(&w, 0xff);
	wb_u16_le(&w, 1045);
	wb_bytes(&w, "#28000", 6);
	wb_bytes(&w, msg, strlen(msg));
	if (!wb_ok(&w))
		return 0;
	wb_patch_u8(hdr, (uint8_t)(wb_len(&w) - 4));
	wb_patch_u8(hdr + 1, (uint8_t)((wb_len(&w) - 4) >> 8));
	wb_patch_u8(hdr + 2, 0);
	wb_patch_u8(hdr + 3, (uint8_t)(l->seq + 1));
	return wb_len(&w);
}
