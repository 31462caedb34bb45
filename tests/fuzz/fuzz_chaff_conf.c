/*
 * libFuzzer target: moat-chaff's configuration (chaff/conf.c on top of the
 * YAML reader) fed arbitrary bytes: decoy groups, prefixes, ports, alarms,
 * claim and vlans. A loaded configuration is checked against the caps the
 * rest of moat-chaff relies on, then freed (leaks on any path are findings).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "chaff/conf.h"
#include "common/limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_group(const struct conf_group *g)
{
	if (g->n_ranges == 0 || g->n_ranges > LIMIT_CHAFF_EXCLUDES ||
	    g->n_exclude > LIMIT_CHAFF_EXCLUDES || g->ports.n_tcp > LIMIT_CHAFF_PORTS ||
	    g->ports.n_udp > LIMIT_CHAFF_PORTS)
		__builtin_trap();
	for (size_t i = 0; i < g->n_ranges; i++)
		if (g->ranges[i].len < 12 || g->ranges[i].len > 32)
			__builtin_trap();
	if (!memchr(g->personality, '\0', sizeof(g->personality)) ||
	    !memchr(g->fingerprint, '\0', sizeof(g->fingerprint)))
		__builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfg_error err;
	struct conf c;

	if (conf_load_buffer("fuzz.yaml", (const char *)data, size, &c, &err) == 0) {
		if (c.n_groups == 0 || c.n_groups > LIMIT_CHAFF_GROUPS || c.n_vlans > CONF_VLANS ||
		    c.n_allow > LIMIT_CHAFF_ALLOW || !c.ifname[0])
			__builtin_trap();
		for (size_t i = 0; i < c.n_groups; i++)
			check_group(&c.groups[i]);
		if (c.claim.enabled)
			check_group(&c.claim.group);
		conf_free(&c);
	} else if (memchr(err.msg, '\0', sizeof(err.msg)) == NULL) {
		__builtin_trap();	/* the message must always be terminated */
	}
	return 0;
}
