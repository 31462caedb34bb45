/* libFuzzer target: what moatd does with attacker-chosen request text before
 * any handler runs — the route matcher on the raw path, and the flight
 * query parsers (time bounds, category lists). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/api/route.h"
#include "engine/core/flight.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct api_route *rt;
	char param[API_PARAM_MAX];
	struct flight_query q = { 0 };
	char *s = malloc(size + 1);
	int64_t t;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	for (unsigned m = API_GET; m <= API_OTHER; m <<= 1)
		if (api_route_find(m, s, &rt, param) == API_MATCH &&
		    strlen(param) >= API_PARAM_MAX)
			abort();
	(void)flight_parse_time(s, 1700000000000, true, &t);
	(void)flight_parse_categories(s, &q);
	if (q.ncategories > STORE_FLIGHT_MAX_CATEGORIES)
		abort();
	free(s);
	return 0;
}
