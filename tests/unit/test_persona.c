/* Unit tests for src/chaff/persona.c: presets and fingerprint translation. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "chaff/frame.h"
#include "chaff/persona.h"
#include "common/fileio.h"
#include "common/limits.h"

static const char fp_text[] =
	"Fingerprint Microsoft Windows Server 2016 build 10586 - 14393\n"
	"Class Microsoft | Windows | 2016 | general purpose\n"
	"SEQ(SP=FA-108%GCD=1-6%ISR=105-10F%TI=I%CI=I%II=I%SS=S%TS=A)\n"
	"OPS(O1=M5B4NW8ST11%O2=M5B4NW8ST11%O3=M5B4NW8NNT11%O4=M5B4NW8ST11%O5=M5B4NW8ST11%O6=M5B4ST11)\n"
	"WIN(W1=2000%W2=2000%W3=2000%W4=2000%W5=2000%W6=2000)\n"
	"ECN(R=Y%DF=Y%T=7B-85%TG=80%W=2000%O=M5B4NW8NNS%CC=Y%Q=)\n"
	"T1(R=Y%DF=Y%T=7B-85%TG=80%S=O%A=S+%F=AS%RD=0%Q=)\n"
	"T2(R=Y%DF=Y%T=7B-85%TG=80%W=0%S=Z%A=S%F=AR%O=%RD=0%Q=)\n"
	"T3(R=Y%DF=Y%T=7B-85%TG=80%W=0%S=Z%A=O%F=AR%O=%RD=0%Q=)\n"
	"T4(R=Y%DF=Y%T=7B-85%TG=80%W=0%S=A%A=O%F=R%O=%RD=0%Q=)\n"
	"T5(R=Y%DF=Y%T=7B-85%TG=80%W=0%S=Z%A=S+%F=AR%O=%RD=0%Q=)\n"
	"T6(R=Y%DF=Y%T=7B-85%TG=80%W=0%S=A%A=O%F=R%O=%RD=0%Q=)\n"
	"T7(R=N)\n"
	"U1(DF=N%T=7B-85%TG=80%IPL=164%UN=0%RIPL=G%RID=G%RIPCK=G%RUCK=G%RUD=G)\n"
	"IE(DFI=N%T=7B-85%TG=80%CD=Z)\n";

static void
test_windows(void **state)
{
	struct osdb_fp *fp = calloc(1, sizeof(*fp));
	struct persona *p = calloc(1, sizeof(*p));
	const struct persona_preset *pre = persona_preset_find("windows-2016");
	char err[128];

	assert_non_null(pre);
	assert_int_equal(osdb_find(fp_text, sizeof(fp_text) - 1, pre->fingerprint, 0, fp), 0);
	assert_int_equal(persona_from_fp(pre, fp, p, err, sizeof(err)), 0);
	assert_string_equal(p->name, "windows-2016");
	/* ISR=105-10F, SP=FA-108: a rate of 2^(0x10A/8) per second, std 2^(0x101/8), spread 2^(-9/8). */
	assert_false(p->random_isn);
	assert_true(p->isn_rate > 9.0e9 && p->isn_rate < 1.1e10);
	assert_true(p->isn_spread > 0.45 && p->isn_spread < 0.47);
	assert_int_equal(p->ti, PERSONA_IPID_INC);
	assert_true(p->ss_shared);
	assert_int_equal(p->ts_hz, 1024);
	assert_true(p->tcp[PERSONA_SEQ1].respond);
	assert_int_equal(p->tcp[PERSONA_SEQ1].ttl, 128);	/* middle of T=7B-85 */
	assert_int_equal(p->tcp[PERSONA_SEQ1].win, 0x2000);
	assert_string_equal(p->tcp[PERSONA_SEQ3].opts, "M5B4NW8NNT11");
	assert_int_equal(p->tcp[PERSONA_SEQ1].flags, FRAME_TCP_SYN | FRAME_TCP_ACK);
	assert_int_equal(p->tcp[PERSONA_SEQ1].ack, PERSONA_ACK_SEQ1);
	assert_int_equal(p->tcp[PERSONA_T4].seq, PERSONA_SEQ_ACK);
	assert_int_equal(p->tcp[PERSONA_T4].flags, FRAME_TCP_RST);
	assert_false(p->tcp[PERSONA_T7].respond);
	assert_int_equal(p->ecn_cc, 'Y');
	assert_true(p->u1.respond);
	assert_int_equal(p->u1.ipl, 0x164);
	assert_int_equal(p->u1.ripl, -1);
	assert_int_equal(p->ie.cd, 'Z');
	free(fp);
	free(p);
}

static void
test_missing_lines(void **state)
{
	static const char bad[] = "Fingerprint Nothing\nClass X | Y | Z | router\nIE(DFI=N)\n";
	struct osdb_fp *fp = calloc(1, sizeof(*fp));
	struct persona *p = calloc(1, sizeof(*p));
	char err[128];

	assert_int_equal(osdb_find(bad, sizeof(bad) - 1, "Nothing", 0, fp), 0);
	assert_int_equal(persona_from_fp(NULL, fp, p, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "SEQ or T1"));
	free(fp);
	free(p);
}

static void
test_presets(void **state)
{
	/* At least 12 presets, unique names, and each one's fingerprint in
	 * nmap's database when it is installed. */
	char *text = NULL;
	size_t len = 0;
	bool have_db = fileio_read(OSDB_PATH, LIMIT_CHAFF_OSDB_BYTES, 0, &text, &len) == 0;

	assert_true(persona_preset_count() >= 12);
	for (size_t i = 0; i < persona_preset_count(); i++) {
		const struct persona_preset *a = persona_preset_at(i);

		assert_ptr_equal(persona_preset_find(a->name), a);
		if (have_db) {
			struct osdb_fp *fp = calloc(1, sizeof(*fp));
			struct persona *p = calloc(1, sizeof(*p));
			char err[256];

			if (osdb_find(text, len, a->fingerprint, a->nth, fp) != 0)
				fail_msg("%s: fingerprint \"%s\" not usable", a->name, a->fingerprint);
			if (persona_from_fp(a, fp, p, err, sizeof(err)) != 0)
				fail_msg("%s: %s", a->name, err);
			free(fp);
			free(p);
		}
	}
	assert_null(persona_preset_find("no-such-os"));
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_windows),
		cmocka_unit_test(test_missing_lines),
		cmocka_unit_test(test_presets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
