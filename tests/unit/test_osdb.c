/* Unit tests for src/chaff/osdb.c: fingerprint lookup and value picking. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "chaff/osdb.h"
#include "common/fileio.h"
#include "common/limits.h"

static const char db[] =
	"# comment\n"
	"Fingerprint Test OS 1\n"
	"Class Acme | TestOS | 1.X | general purpose\n"
	"CPE cpe:/o:acme:testos:1\n"
	"SEQ(SP=FB-109%GCD=1-6%ISR=102-110%TI=Z%CI=Z%II=I%TS=A)\n"
	"OPS(O1=M5B4ST11NW7|M5B4%O2=M5B4ST11NW7%O3=M5B4NNT11NW7%O4=M5B4ST11NW7%O5=M5B4ST11NW7%O6=M5B4ST11)\n"
	"T2(R=N)\n"
	"T4(R=Y%DF=Y%T=3B-45%TG=40%W=0%S=A%A=Z%F=R%O=%RD=0%Q=)\n"
	"XX(A=1)\n"
	"\n"
	"Fingerprint Test OS 1\n"
	"Class Other | TestOS | 2.X | general purpose\n"
	"SEQ(TI=I)\n"
	"\n"
	"Fingerprint Broken\n"
	"SEQ(TI=I%NOEQUALS)\n";

static void
test_find(void **state)
{
	struct osdb_fp *fp = calloc(1, sizeof(*fp));

	assert_int_equal(osdb_find(db, sizeof(db) - 1, "Test OS 1", 0, fp), 0);
	assert_string_equal(fp->vendor, "Acme");
	assert_string_equal(osdb_get(fp, OSDB_SEQ, "TI"), "Z");
	assert_string_equal(osdb_get(fp, OSDB_OPS, "O1"), "M5B4ST11NW7|M5B4");
	assert_string_equal(osdb_get(fp, OSDB_T2, "R"), "N");
	assert_string_equal(osdb_get(fp, OSDB_T4, "O"), "");
	assert_null(osdb_get(fp, OSDB_T4, "XX"));
	assert_null(osdb_get(fp, OSDB_T5, "R"));
	/* The second fingerprint of the same name. */
	assert_int_equal(osdb_find(db, sizeof(db) - 1, "Test OS 1", 1, fp), 0);
	assert_string_equal(fp->vendor, "Other");
	assert_string_equal(osdb_get(fp, OSDB_SEQ, "TI"), "I");
	assert_int_equal(osdb_find(db, sizeof(db) - 1, "Test OS 1", 2, fp), -ENOENT);
	assert_int_equal(osdb_find(db, sizeof(db) - 1, "Test OS", 0, fp), -ENOENT);
	assert_int_equal(osdb_find(db, sizeof(db) - 1, "Broken", 0, fp), -EINVAL);
	free(fp);
}

static void
test_pick(void **state)
{
	uint64_t v;
	char s[16];

	assert_int_equal(osdb_pick("FB-109", false, &v), 0);
	assert_int_equal(v, 0xfb);
	assert_int_equal(osdb_pick("FB-109", true, &v), 0);
	assert_int_equal(v, 0x102);
	assert_int_equal(osdb_pick("FAF0|FFFF", false, &v), 0);
	assert_int_equal(v, 0xfaf0);
	assert_int_equal(osdb_pick(">0", false, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(osdb_pick("<7", false, &v), 0);
	assert_int_equal(v, 6);
	assert_int_equal(osdb_pick("<0", false, &v), -EINVAL);
	assert_int_equal(osdb_pick("Z", false, &v), -EINVAL);
	assert_int_equal(osdb_pick("", false, &v), -EINVAL);
	assert_int_equal(osdb_pick("9-1", false, &v), -EINVAL);
	osdb_pick_str("M5B4ST11|M5B4", s, sizeof(s));
	assert_string_equal(s, "M5B4ST11");
	osdb_pick_str("ABCDEFGHIJKLMNOPQRS", s, 4);
	assert_string_equal(s, "ABC");
}

static void
test_real_db(void **state)
{
	struct osdb_fp *fp = calloc(1, sizeof(*fp));
	char *text = NULL;
	size_t len = 0;

	if (fileio_read(OSDB_PATH, LIMIT_CHAFF_OSDB_BYTES, 0, &text, &len) < 0) {
		free(fp);
		skip();
	}
	assert_int_equal(osdb_find(text, len, "Linux 5.0 - 5.4", 0, fp), 0);
	assert_true(fp->test[OSDB_IE].present);
	assert_string_equal(fp->vendor, "Linux");
	free(text);
	free(fp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_pick),
		cmocka_unit_test(test_real_db),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
