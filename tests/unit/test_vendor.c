/*
 * Unit tests for src/chaff/vendor.c: a fingerprint's Class line gives the
 * device's OUI, banners, default ports and background family; the table's
 * OUIs are real vendors' (unicast, globally administered); `vendor:` names
 * resolve; the real nmap-os-db's Cisco and iPhone fingerprints come out as
 * such (when Debian's nmap-common is installed).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "chaff/osdb.h"
#include "chaff/persona.h"
#include "chaff/vendor.h"
#include "common/fileio.h"
#include "common/limits.h"

/* The ports a group would get. */
struct group {
	uint16_t tcp_ports[VENDOR_TCP_MAX], udp_ports[VENDOR_UDP_MAX];
	uint8_t n_tcp, n_udp;
};

static bool
has_port(const uint16_t *v, size_t n, uint16_t port)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == port)
			return true;
	return false;
}

static void
test_cisco(void **state)
{
	const struct vendor_profile *v = vendor_infer("Cisco", "IOS", "12.X", "switch");
	struct persona p;
	struct group g;

	(void)state;
	assert_string_equal(v->name, "cisco");
	memset(&p, 0, sizeof(p));
	vendor_apply(v, &p);
	assert_memory_equal(p.oui, "\x00\x1b\x54", 3);
	assert_string_equal(p.svc.ssh_banner, "SSH-2.0-Cisco-1.25");
	assert_string_equal(p.svc.http_server, "cisco-IOS");
	assert_non_null(p.svc.telnet_banner);
	vendor_ports(v, g.tcp_ports, &g.n_tcp, g.udp_ports, &g.n_udp);
	assert_true(has_port(g.tcp_ports, g.n_tcp, 22) && has_port(g.tcp_ports, g.n_tcp, 23) &&
		    has_port(g.tcp_ports, g.n_tcp, 80));
	/* Cisco's IOS is not Apple's iOS, whatever the case. */
	assert_string_equal(vendor_infer("Cisco", "IOS", "15.X", "router")->name, "cisco");
}

static void
test_apple_and_windows(void **state)
{
	const struct vendor_profile *v;
	struct persona p;
	struct group g;

	(void)state;
	v = vendor_infer("Apple", "iOS", "12.X", "phone");
	assert_string_equal(v->name, "apple-ios");
	memset(&p, 0, sizeof(p));
	vendor_apply(v, &p);
	assert_null(p.svc.ssh_banner);
	assert_int_equal(p.family, VENDOR_FAM_IOS);
	assert_memory_equal(p.oui, "\xf0\xdb\xf8", 3);
	vendor_ports(v, g.tcp_ports, &g.n_tcp, g.udp_ports, &g.n_udp);
	assert_false(has_port(g.tcp_ports, g.n_tcp, 22));
	assert_string_equal(vendor_infer("Apple", "iPhone OS", "3.X", "phone")->name, "apple-ios");
	assert_string_equal(vendor_infer("Apple", "Mac OS X", "10.7.X", "general purpose")->name,
			    "apple-macos");
	assert_int_equal(vendor_infer("Apple", "macOS", "10.14.X", "general purpose")->family,
			 VENDOR_FAM_MACOS);

	v = vendor_infer("Microsoft", "Windows", "10", "general purpose");
	memset(&p, 0, sizeof(p));
	vendor_apply(v, &p);
	assert_null(p.svc.ssh_banner);
	assert_int_equal(p.family, VENDOR_FAM_WINDOWS);
	vendor_ports(v, g.tcp_ports, &g.n_tcp, g.udp_ports, &g.n_udp);
	assert_false(has_port(g.tcp_ports, g.n_tcp, 22));
	assert_true(has_port(g.tcp_ports, g.n_tcp, 135) && has_port(g.tcp_ports, g.n_tcp, 139) &&
		    has_port(g.tcp_ports, g.n_tcp, 445) && has_port(g.tcp_ports, g.n_tcp, 3389));
}

static void
test_printers_and_fallbacks(void **state)
{
	const struct vendor_profile *v;
	struct group g;
	static const uint16_t printer_ports[] = { 80, 443, 515, 631, 9100 };

	(void)state;
	v = vendor_infer("HP", "embedded", "", "printer");
	assert_string_equal(v->name, "hp-printer");
	assert_int_equal(v->family, VENDOR_FAM_PRINTER);
	vendor_ports(v, g.tcp_ports, &g.n_tcp, g.udp_ports, &g.n_udp);
	for (size_t i = 0; i < 5; i++)
		assert_true(has_port(g.tcp_ports, g.n_tcp, printer_ports[i]));
	assert_string_equal(vendor_infer("Brother", "embedded", "", "printer")->name,
			    "brother-printer");
	assert_string_equal(vendor_infer("Kyocera", "embedded", "", "printer")->name,
			    "hp-printer");
	/* HP's switches are not printers. */
	assert_string_equal(vendor_infer("HP", "ProCurve", "", "switch")->name, "hp");
	assert_string_equal(vendor_infer("Linux", "Linux", "2.6.X", "general purpose")->name,
			    "linux-2.6");
	assert_string_equal(vendor_infer("Linux", "Linux", "5.X", "general purpose")->name,
			    "linux-5");
	assert_string_equal(vendor_infer("Linux", "Linux", "2.6.X", "WAP")->name,
			    "embedded-linux");
	assert_string_equal(vendor_infer("Acme", "AcmeOS", "1.X", "general purpose")->name,
			    "generic");
	assert_string_equal(vendor_infer("Acme", "embedded", "", "webcam")->name,
			    "generic-device");
	assert_string_equal(vendor_infer(NULL, NULL, NULL, NULL)->name, "generic-device");
}

static void
test_table(void **state)
{
	(void)state;
	assert_true(vendor_count() > 10);
	for (size_t i = 0; i < vendor_count(); i++) {
		const struct vendor_profile *v = vendor_at(i);

		/* A real vendor's OUI: unicast and globally administered. */
		assert_int_equal(v->oui[0] & 3, 0);
		assert_ptr_equal(vendor_find(v->name), v);
		if (v->preset)
			assert_non_null(persona_preset_find(v->preset));
		for (size_t j = i + 1; j < vendor_count(); j++)
			assert_string_not_equal(v->name, vendor_at(j)->name);
	}
	assert_null(vendor_find("beos"));
	assert_null(vendor_at(vendor_count()));
	assert_string_equal(vendor_family_name(VENDOR_FAM_WINDOWS), "windows");
}

/* The real database: Class fields parsed, and a fingerprint decoy of a
 * Cisco router or an iPhone is one. */
static void
test_real_osdb(void **state)
{
	struct osdb_fp *fp = calloc(1, sizeof(*fp));
	struct persona *p = calloc(1, sizeof(*p));
	char *text = NULL, err[256];
	size_t len = 0;

	(void)state;
	assert_non_null(fp);
	assert_non_null(p);
	if (access(OSDB_PATH, R_OK) < 0 ||
	    fileio_read(OSDB_PATH, LIMIT_CHAFF_OSDB_BYTES, 0, &text, &len) < 0) {
		free(fp);
		free(p);
		skip();
	}
	assert_int_equal(osdb_find(text, len, "Cisco 1921 router (IOS 15.1)", 0, fp), 0);
	assert_string_equal(fp->vendor, "Cisco");
	assert_string_equal(fp->osfamily, "IOS");
	assert_string_equal(fp->devtype, "router");
	assert_int_equal(persona_from_fp(NULL, fp, p, err, sizeof(err)), 0);
	vendor_persona(fp, false, p);
	assert_memory_equal(p->oui, "\x00\x1b\x54", 3);
	assert_string_equal(p->svc.ssh_banner, "SSH-2.0-Cisco-1.25");
	assert_int_equal(osdb_find(text, len, "Apple iOS 10", 0, fp), 0);
	assert_string_equal(fp->osfamily, "iOS");
	assert_int_equal(persona_from_fp(NULL, fp, p, err, sizeof(err)), 0);
	vendor_persona(fp, false, p);
	assert_int_equal(p->oui[0], 0xf0);
	assert_null(p->svc.ssh_banner);
	assert_int_equal(p->family, VENDOR_FAM_IOS);
	/* A preset keeps its own OUI and banners, but takes the family. */
	assert_int_equal(osdb_find(text, len, "HP LaserJet 2420 printer", 0, fp), 0);
	assert_int_equal(persona_from_fp(persona_preset_find("hp-printer"), fp, p, err,
					 sizeof(err)), 0);
	vendor_persona(fp, true, p);
	assert_int_equal(p->family, VENDOR_FAM_PRINTER);
	assert_string_equal(p->svc.http_server, "HP-ChaiSOE/1.0");
	free(text);
	free(fp);
	free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cisco),
		cmocka_unit_test(test_apple_and_windows),
		cmocka_unit_test(test_printers_and_fallbacks),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_real_osdb),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
