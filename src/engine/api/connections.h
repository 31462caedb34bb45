/*
 * api_connections: moat-ins connections over REST (docs/api.md):
 * GET /api/v1/connections[?po=NAME&state=open|closed|slow|dropped&source=ADDR&limit=N].
 */
#ifndef MOAT_ENGINE_API_CONNECTIONS_H
#define MOAT_ENGINE_API_CONNECTIONS_H

struct api_req;

void api_connections_list(struct api_req *r);

#endif
