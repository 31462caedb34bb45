/* api_mitigations: the REST handlers of /api/v1/mitigations (api/route.c's table). */
#ifndef MOAT_ENGINE_API_MITIGATIONS_H
#define MOAT_ENGINE_API_MITIGATIONS_H

#include <stddef.h>
#include <stdint.h>

struct api_req;

void api_mitigations_list(struct api_req *r);
void api_mitigations_get(struct api_req *r);
void api_mitigations_create(struct api_req *r);
void api_mitigations_delete(struct api_req *r);

/* The body check of POST /api/v1/mitigations on its own (for the fuzzer):
 * 0 and *ret_attack for {"attack": ID, "driver": NAME}, else -EINVAL. */
int api_mitigations_check(const char *body, size_t len, uint64_t *ret_attack);

#endif
