/*
 * api_attacks: REST handlers for the attacks of the decision point:
 * GET /api/v1/attacks[?state=live|ended|all] and GET /api/v1/attacks/{id}.
 */
#ifndef MOAT_ENGINE_API_ATTACKS_H
#define MOAT_ENGINE_API_ATTACKS_H

struct api_req;

void api_attacks_list(struct api_req *r);
void api_attacks_get(struct api_req *r);

#endif
