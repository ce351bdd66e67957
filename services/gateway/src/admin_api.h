/* admin_api.h: the gateway admin endpoints (see admin_api.c). */
#ifndef GW_ADMIN_API_H
#define GW_ADMIN_API_H

#include "gw.h"

/* Registers the /admin routes on the service admin router. */
int gw_admin_routes(gw_app_t *app);

#endif
