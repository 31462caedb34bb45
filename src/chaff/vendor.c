/* vendor: device kind from a fingerprint's Class line. See vendor.h. */
#include "chaff/vendor.h"

#include <string.h>
#include <strings.h>

/*
 * Profiles. Sources: OUIs from nmap's nmap-mac-prefixes (IEEE registry:
 * each is one the maker really holds); banners from the products' own
 * defaults as nmap-service-probes matches them (Cisco's SSH "Cisco-1.25"
 * and "cisco-IOS" HTTP server, MikroTik's "ROSSSH", the printers' embedded
 * web servers); ports from the makers' documentation of what is open out of
 * the box (Windows: RPC 135, NetBIOS 139, SMB 445, RDP 3389; printers: HTTP,
 * HTTPS, LPD 515, IPP 631, raw 9100; iPhone: lockdownd's 62078, the one port
 * `nmap` finds open on an iPhone; Cisco IOS: SSH, Telnet, HTTP).
 */
static const struct vendor_profile profiles[] = {
	{ "cisco", { 0x00, 0x1b, 0x54 }, VENDOR_FAM_OTHER, "cisco-ios", { 0 },
	  { 22, 23, 80 }, { 0 } },
	{ "apple-ios", { 0xf0, 0xdb, 0xf8 }, VENDOR_FAM_IOS, NULL, { 0 }, { 62078 }, { 0 } },
	{ "apple-macos", { 0x3c, 0x07, 0x54 }, VENDOR_FAM_MACOS, "macos", { 0 },
	  { 22, 445 }, { 0 } },
	{ "windows", { 0xd4, 0xbe, 0xd9 }, VENDOR_FAM_WINDOWS, NULL,
	  { "Microsoft-IIS/10.0", NULL, "220 Microsoft FTP Service", NULL,
	    "220 mail Microsoft ESMTP MAIL Service ready" },
	  { 135, 139, 445, 3389 }, { 137, 138 } },
	{ "hp-printer", { 0x00, 0x12, 0x79 }, VENDOR_FAM_PRINTER, "hp-printer", { 0 },
	  { 80, 443, 515, 631, 9100 }, { 0 } },
	{ "brother-printer", { 0x00, 0x80, 0x77 }, VENDOR_FAM_PRINTER, NULL,
	  { "debut/1.20", NULL, NULL, NULL, NULL }, { 80, 443, 515, 631, 9100 }, { 0 } },
	{ "canon-printer", { 0x00, 0x00, 0x85 }, VENDOR_FAM_PRINTER, NULL,
	  { "CANON HTTP Server", NULL, NULL, NULL, NULL }, { 80, 443, 515, 631, 9100 }, { 0 } },
	{ "lexmark-printer", { 0x00, 0x04, 0x00 }, VENDOR_FAM_PRINTER, NULL,
	  { "Lexmark_Web_Server", NULL, NULL, NULL, NULL }, { 80, 443, 515, 631, 9100 }, { 0 } },
	{ "xerox-printer", { 0x00, 0x00, 0xaa }, VENDOR_FAM_PRINTER, NULL,
	  { "Xerox_MicroServer/Xerox11", NULL, NULL, NULL, NULL }, { 80, 443, 515, 631, 9100 },
	  { 0 } },
	{ "ricoh-printer", { 0x00, 0x00, 0x74 }, VENDOR_FAM_PRINTER, NULL,
	  { "Web-Server/3.0", NULL, NULL, NULL, NULL }, { 80, 443, 515, 631, 9100 }, { 0 } },
	{ "axis", { 0x00, 0x40, 0x8c }, VENDOR_FAM_OTHER, "axis-camera", { 0 }, { 21, 80, 554 },
	  { 0 } },
	{ "juniper", { 0x00, 0x05, 0x85 }, VENDOR_FAM_OTHER, NULL,
	  { NULL, "SSH-2.0-OpenSSH_7.5", NULL, NULL, NULL }, { 22 }, { 0 } },
	{ "mikrotik", { 0x4c, 0x5e, 0x0c }, VENDOR_FAM_OTHER, NULL,
	  { NULL, "SSH-2.0-ROSSSH", "220 MikroTik FTP server (MikroTik 6.48.6) ready",
	    "MikroTik v6.48.6 (long-term)\r\n", NULL }, { 21, 22, 23, 80, 8291 }, { 0 } },
	{ "synology", { 0x00, 0x11, 0x32 }, VENDOR_FAM_LINUX, NULL,
	  { "nginx", "SSH-2.0-OpenSSH_8.2", NULL, NULL, NULL }, { 22, 80, 139, 445, 5000, 5001 },
	  { 0 } },
	{ "android", { 0xf4, 0xf5, 0xd8 }, VENDOR_FAM_OTHER, NULL, { 0 }, { 0 }, { 0 } },
	{ "hp", { 0x00, 0x17, 0xa4 }, VENDOR_FAM_OTHER, NULL,
	  { "HP HTTP Server", NULL, NULL, NULL, NULL }, { 80, 443 }, { 0 } },
	{ "linux-2.6", { 0x00, 0x14, 0x22 }, VENDOR_FAM_LINUX, "linux-2.6", { 0 }, { 22, 80 },
	  { 0 } },
	{ "linux-3", { 0x00, 0x30, 0x48 }, VENDOR_FAM_LINUX, "linux-3", { 0 }, { 22, 80 },
	  { 0 } },
	{ "linux-4", { 0x00, 0x25, 0x90 }, VENDOR_FAM_LINUX, "linux-4.15", { 0 }, { 22, 80 },
	  { 0 } },
	{ "linux-5", { 0xf8, 0xbc, 0x12 }, VENDOR_FAM_LINUX, "linux-5.4", { 0 }, { 22, 80 },
	  { 0 } },
	{ "embedded-linux", { 0x50, 0xc7, 0xbf }, VENDOR_FAM_OTHER, NULL,
	  { "httpd", NULL, NULL, NULL, NULL }, { 80 }, { 0 } },
	{ "freebsd", { 0x00, 0xa0, 0xc9 }, VENDOR_FAM_BSD, "freebsd-12", { 0 }, { 22 }, { 0 } },
	{ "openbsd", { 0x00, 0x15, 0xc5 }, VENDOR_FAM_BSD, "openbsd-6", { 0 }, { 22 }, { 0 } },
	/* Fallbacks: a general-purpose system of unknown make keeps what every
	 * fingerprint decoy had before (Intel NIC, Apache, OpenSSH 8.2p1); any
	 * other device a Realtek NIC (the cheap embedded one) and a web page. */
	{ "generic", { 0x00, 0x1b, 0x21 }, VENDOR_FAM_OTHER, NULL,
	  { "Apache", "SSH-2.0-OpenSSH_8.2p1", NULL, NULL, NULL }, { 22, 80 }, { 0 } },
	{ "generic-device", { 0x00, 0xe0, 0x4c }, VENDOR_FAM_OTHER, NULL,
	  { "httpd", NULL, NULL, NULL, NULL }, { 80 }, { 0 } },
};

/*
 * Rules, first match wins: the Class line's vendor (exact, any case; NULL:
 * any), a word its OS family contains (NULL: any), its device type (exact;
 * NULL: any), its OS generation's first characters (NULL: any).
 */
static const struct rule {
	const char *vendor, *osfamily, *devtype, *osgen;
	const char *profile;
} rules[] = {
	{ "Cisco", NULL, NULL, NULL, "cisco" },
	{ "Apple", "iOS", NULL, NULL, "apple-ios" },
	{ "Apple", "iPhone", NULL, NULL, "apple-ios" },
	{ "Apple", "iPadOS", NULL, NULL, "apple-ios" },
	{ "Apple", NULL, NULL, NULL, "apple-macos" },
	{ "Microsoft", "Windows", NULL, NULL, "windows" },
	{ "HP", NULL, "printer", NULL, "hp-printer" },
	{ "Brother", NULL, "printer", NULL, "brother-printer" },
	{ "Canon", NULL, "printer", NULL, "canon-printer" },
	{ "Lexmark", NULL, "printer", NULL, "lexmark-printer" },
	{ "Xerox", NULL, "printer", NULL, "xerox-printer" },
	{ "Ricoh", NULL, "printer", NULL, "ricoh-printer" },
	{ NULL, NULL, "printer", NULL, "hp-printer" },
	{ "Axis", NULL, NULL, NULL, "axis" },
	{ "Juniper", NULL, NULL, NULL, "juniper" },
	{ "MikroTik", NULL, NULL, NULL, "mikrotik" },
	{ "Synology", NULL, NULL, NULL, "synology" },
	{ "Google", "Android", NULL, NULL, "android" },
	{ NULL, "Android", NULL, NULL, "android" },
	{ "HP", NULL, NULL, NULL, "hp" },
	{ "Linux", "Linux", "general purpose", "2.", "linux-2.6" },
	{ "Linux", "Linux", "general purpose", "3.", "linux-3" },
	{ "Linux", "Linux", "general purpose", "4.", "linux-4" },
	{ "Linux", "Linux", "general purpose", NULL, "linux-5" },
	{ "Linux", "Linux", NULL, NULL, "embedded-linux" },
	{ "FreeBSD", NULL, NULL, NULL, "freebsd" },
	{ "OpenBSD", NULL, NULL, NULL, "openbsd" },
	{ NULL, NULL, "general purpose", NULL, "generic" },
	{ NULL, NULL, NULL, NULL, "generic-device" },
};

size_t
vendor_count(void)
{
	return sizeof(profiles) / sizeof(profiles[0]);
}

const struct vendor_profile *
vendor_at(size_t i)
{
	return i < vendor_count() ? &profiles[i] : NULL;
}

const struct vendor_profile *
vendor_find(const char *name)
{
	for (size_t i = 0; i < vendor_count(); i++)
		if (strcmp(profiles[i].name, name) == 0)
			return &profiles[i];
	return NULL;
}

/* Does s contain word as a whole word (any case)? "iOS" is in "iOS" and
 * "Apple iOS", not in "Cisco IOS XE"... which is what a word match gives. */
static bool
has_word(const char *s, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = s; *p; p++) {
		if ((p == s || p[-1] == ' ') && strncasecmp(p, word, n) == 0 &&
		    (p[n] == '\0' || p[n] == ' '))
			return true;
	}
	return false;
}

const struct vendor_profile *
vendor_infer(const char *vendor, const char *osfamily, const char *osgen, const char *devtype)
{
	const struct vendor_profile *v;

	vendor = vendor ? vendor : "";
	osfamily = osfamily ? osfamily : "";
	osgen = osgen ? osgen : "";
	devtype = devtype ? devtype : "";
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		const struct rule *r = &rules[i];

		if ((r->vendor && strcasecmp(r->vendor, vendor) != 0) ||
		    (r->osfamily && !has_word(osfamily, r->osfamily)) ||
		    (r->devtype && strcasecmp(r->devtype, devtype) != 0) ||
		    (r->osgen && strncmp(r->osgen, osgen, strlen(r->osgen)) != 0))
			continue;
		v = vendor_find(r->profile);
		if (v)
			return v;
	}
	return &profiles[vendor_count() - 1];
}

const struct vendor_profile *
vendor_of_fp(const struct osdb_fp *fp)
{
	return vendor_infer(fp->vendor, fp->osfamily, fp->osgen, fp->devtype);
}

void
vendor_apply(const struct vendor_profile *v, struct persona *p)
{
	const struct persona_preset *pre = v->preset ? persona_preset_find(v->preset) : NULL;

	memcpy(p->oui, v->oui, 3);
	p->svc = pre ? pre->svc : v->svc;
	p->family = v->family;
	p->vendor = v;
}

void
vendor_persona(const struct osdb_fp *fp, bool preset, struct persona *p)
{
	const struct vendor_profile *v = vendor_of_fp(fp);

	if (!preset) {
		vendor_apply(v, p);
		return;
	}
	p->family = v->family;
	p->vendor = v;
}

void
vendor_ports(const struct vendor_profile *v, uint16_t *tcp, uint8_t *ret_n_tcp, uint16_t *udp,
	     uint8_t *ret_n_udp)
{
	uint8_t n = 0;

	for (size_t i = 0; i < VENDOR_TCP_MAX && v->tcp[i]; i++)
		tcp[n++] = v->tcp[i];
	*ret_n_tcp = n;
	n = 0;
	for (size_t i = 0; i < VENDOR_UDP_MAX && v->udp[i]; i++)
		udp[n++] = v->udp[i];
	*ret_n_udp = n;
}

const char *
vendor_family_name(enum vendor_family f)
{
	static const char *const names[VENDOR_FAM_N] = {
		"other", "linux", "bsd", "windows", "macos", "ios", "printer",
	};

	return (unsigned)f < VENDOR_FAM_N ? names[f] : "other";
}
