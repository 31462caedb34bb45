/* libFuzzer target: nmap-os-db parsing and the personality built from it. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "chaff/osdb.h"
#include "chaff/persona.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct osdb_fp *fp = calloc(1, sizeof(*fp));
	struct persona *p = calloc(1, sizeof(*p));
	char err[128];

	if (fp && p && osdb_find((const char *)data, size, "F", 0, fp) == 0)
		(void)persona_from_fp(NULL, fp, p, err, sizeof(err));
	free(fp);
	free(p);
	return 0;
}
