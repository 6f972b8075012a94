/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The DNAT balancer: the services of --services FILE (gwlbnf-services.conf(5)) in table
 * inet gwlbnf-lb, which gwlbd owns. Every change of one service (a backend's state,
 * health or weight, a reload that changed it) is one libnftables transaction.
 *
 * A backend takes new connections when gwlb_lb_takes_new(admin, health) says so; its
 * health is up until a checker says otherwise (gwlb_lb_backend_health()). Callable from
 * any thread: one lock around everything.
 */
#ifndef GWLBD_LB_H
#define GWLBD_LB_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lbconf.h"
#include "lbmap.h"

#define GWLB_LB_TABLE	"gwlbnf-lb"

/* Read file (NULL or "": no services, no table) and install its services. 0 or -errno, err. */
int gwlb_lb_init(const char *file, char *err, size_t errlen);

/*
 * Read the file again: services whose definition did not change are left alone (kernel
 * objects, counters, runtime changes), the others replaced or updated, each in one
 * transaction. A bad file changes nothing: -EINVAL with "file:line: reason" in err.
 */
int gwlb_lb_reload(char *err, size_t errlen);

bool gwlb_lb_enabled(void);

/* gwlbctl backend SERVICE NAME up|drain|down. 0 or -errno (-ENOENT: no such one), err. */
int gwlb_lb_backend_admin(const char *svc, const char *be, enum gwlb_lb_admin admin, char *err,
			  size_t errlen);
/* gwlbctl backend SERVICE NAME weight N. */
int gwlb_lb_backend_weight(const char *svc, const char *be, uint32_t weight, char *err,
			   size_t errlen);
/*
 * A health checker's verdict on a backend. The map changes (one transaction) only when the
 * backend's taking new connections changes.
 */
int gwlb_lb_backend_health(const char *svc, const char *be, enum gwlb_lb_health health,
			   char *err, size_t errlen);

/* The health the map now has for service svc's backend be. 0 or -ENOENT. */
int gwlb_lb_backend_health_get(const char *svc, const char *be, enum gwlb_lb_health *health);

/* Each backend of each service, for a health checker to find its targets. */
typedef void (*gwlb_lb_backend_fn)(const struct gwlb_lb_service *s,
				   const struct gwlb_lb_backend *b, void *arg);
void gwlb_lb_backends_walk(gwlb_lb_backend_fn fn, void *arg);

/* Services, backends and their kernel counters ("services" of /json and gwlbctl). */
json_t *gwlb_lb_json(void);

/* Remove table inet gwlbnf-lb. */
void gwlb_lb_fini(void);

#endif
