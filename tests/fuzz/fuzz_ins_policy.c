/*
 * libFuzzer target: moat-ins's policy file (ins/policy.c on top of the YAML
 * reader) fed arbitrary bytes. On success the loaded policy is asked every
 * check the broker asks, so prefixes and ranges a hostile file could produce
 * are exercised; on failure the policy must be unchanged and the message
 * terminated.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/cfg.h"
#include "ins/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
ask_all(const struct policy *p)
{
	static const struct ins_addr probes[] = {
		{ .family = INS_AF_INET, .port = 80, .addr = { 192, 0, 2, 1 } },
		{ .family = INS_AF_INET, .port = 0, .addr = { 0 } },
		{ .family = INS_AF_INET6, .port = 65535,
		  .addr = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 } },
		{ .family = INS_AF_INET6, .port = 1,
		  .addr = { [10] = 0xff, [11] = 0xff, 198, 51, 100, 7 } },
	};

	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		(void)policy_check_bind(p, &probes[i], 0);
		(void)policy_check_bind(p, &probes[i], 65534);
		(void)policy_check_connect(p, INS_SOCK_STREAM, &probes[i]);
		(void)policy_check_connect(p, INS_SOCK_DGRAM, &probes[i]);
	}
	(void)policy_check_socket(p, INS_AF_INET6, INS_SOCK_DGRAM);
	(void)policy_check_client(p, 65534, 65534);
	(void)strlen(policy_hold_name(p->hold));
	if (p->nconnect > POLICY_MAX_PREFIXES || p->bind_port_min > p->bind_port_max)
		__builtin_trap();	/* the loader let an impossible policy through */
	for (unsigned i = 0; i < p->nconnect; i++)
		if (p->connect_allow[i].len > (p->connect_allow[i].family == INS_AF_INET ? 32 : 128))
			__builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfg_error err;
	struct policy p, before;

	policy_default(&p);
	memcpy(&before, &p, sizeof(before));
	if (policy_load_buffer("fuzz.yaml", (const char *)data, size, &p, &err) == 0) {
		ask_all(&p);
	} else {
		if (memcmp(&p, &before, sizeof(p)) != 0)
			__builtin_trap();	/* a refused file changed the policy */
		if (memchr(err.msg, '\0', sizeof(err.msg)) == NULL)
			__builtin_trap();	/* the message must always be terminated */
	}
	return 0;
}
