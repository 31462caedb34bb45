/*
 * vendor: what kind of device a fingerprint describes, and what such a
 * device looks like from the network besides its TCP/IP stack — the MAC
 * vendor (OUI), the service banners, the ports it has open by default, and
 * the OS family that decides its background traffic (bg.h).
 *
 * A `fingerprint:` decoy has only nmap-os-db's text; its first Class line
 * ("Cisco | IOS | 12.X | switch") is matched against a small static table
 * (vendor.c, first match wins; each row cites where its values come from),
 * so a Cisco fingerprint gets a Cisco OUI and SSH-2.0-Cisco-1.25, an iPhone
 * an Apple OUI and no SSH, an HP printer 80/443/515/631/9100. Presets keep
 * their own OUI and banners but take the family from the same table. A
 * group's `vendor:` key names a row's profile to override the inference;
 * its `tcp:`/`udp:` keys override the ports.
 */
#ifndef MOAT_CHAFF_VENDOR_H
#define MOAT_CHAFF_VENDOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chaff/osdb.h"
#include "chaff/persona.h"

/* What decides a decoy's background traffic (bg.c). */
enum vendor_family {
	VENDOR_FAM_OTHER,	/* routers, switches, cameras, phones: ARP only */
	VENDOR_FAM_LINUX,
	VENDOR_FAM_BSD,
	VENDOR_FAM_WINDOWS,	/* NetBIOS name registration, browser announcements */
	VENDOR_FAM_MACOS,	/* mDNS: host name, _device-info */
	VENDOR_FAM_IOS,		/* mDNS: host name */
	VENDOR_FAM_PRINTER,	/* mDNS: _ipp._tcp, _printer._tcp */
	VENDOR_FAM_N
};

#define VENDOR_TCP_MAX	8
#define VENDOR_UDP_MAX	4

struct vendor_profile {
	const char *name;		/* the `vendor:` config value, e.g. "cisco" */
	uint8_t oui[3];			/* a real OUI of the maker (nmap-mac-prefixes) */
	uint8_t family;			/* enum vendor_family */
	const char *preset;		/* banners of this preset (persona.c), or NULL: svc */
	struct persona_services svc;
	uint16_t tcp[VENDOR_TCP_MAX];	/* default open ports, 0-terminated */
	uint16_t udp[VENDOR_UDP_MAX];
};

/* The profile a Class line's fields describe (any may be ""); never NULL
 * (the last rows are generic fallbacks). */
const struct vendor_profile *vendor_infer(const char *vendor, const char *osfamily,
					  const char *osgen, const char *devtype);

/* vendor_infer() on a parsed fingerprint's first Class line. */
const struct vendor_profile *vendor_of_fp(const struct osdb_fp *fp);

/* A profile by name (the `vendor:` override); NULL when unknown. */
const struct vendor_profile *vendor_find(const char *name);
size_t vendor_count(void);
const struct vendor_profile *vendor_at(size_t i);

/* Give p the profile's OUI, banners and family (p->vendor = v). */
void vendor_apply(const struct vendor_profile *v, struct persona *p);

/* After persona_from_fp(): the family and profile fp's Class line implies;
 * without a preset also its OUI and banners. */
void vendor_persona(const struct osdb_fp *fp, bool preset, struct persona *p);

/* The profile's default ports (at most VENDOR_TCP_MAX / VENDOR_UDP_MAX). */
void vendor_ports(const struct vendor_profile *v, uint16_t *tcp, uint8_t *ret_n_tcp,
		  uint16_t *udp, uint8_t *ret_n_udp);

const char *vendor_family_name(enum vendor_family f);

#endif
