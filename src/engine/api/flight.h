/*
 * api_flight: REST handler for GET /api/v1/flight.
 */
#ifndef MOAT_ENGINE_API_FLIGHT_H
#define MOAT_ENGINE_API_FLIGHT_H

struct api_req;

void api_flight_get(struct api_req *r);

#endif
