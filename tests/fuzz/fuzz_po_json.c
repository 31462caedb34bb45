/* libFuzzer target: the PO JSON validator (what POST/PUT /api/v1/pos bodies
 * reach) fed arbitrary bytes. Anything accepted must serialise to a canonical
 * form that parses back to the same canonical form. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/po/po.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct po_error err;
	struct po *p = NULL, *q = NULL;
	char *a, *b;

	if (po_from_text((const char *)data, size, NULL, PO_IN_API, &p, &err) < 0)
		return 0;
	a = po_to_text(p);
	if (!a)
		abort();
	if (po_from_text(a, strlen(a), NULL, PO_IN_STORED, &q, &err) < 0)
		abort();
	b = po_to_text(q);
	if (!b || strcmp(a, b) != 0)
		abort();
	free(a);
	free(b);
	po_free(p);
	po_free(q);
	return 0;
}
