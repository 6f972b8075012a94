/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The balancer's health checks: one health checker target (hcheck.h) per backend of a
 * service with a check (gwlbnf-services.conf(5)), kept in step with the running services
 * at start and after each reload; a target's transitions go to gwlb_lb_backend_health()
 * and to the log.
 */
#ifndef GWLBD_LBCHECK_H
#define GWLBD_LBCHECK_H

#include <jansson.h>
#include <stddef.h>

/*
 * After gwlb_lb_init() and gwlbd_signalfd(): start the checker and a check for each
 * backend that has one. Nothing without --services. 0 or -errno, err.
 */
int gwlb_lbcheck_start(char *err, size_t errlen);

/* gwlb_lb_reload(), then the checks of what changed: added, removed, re-created. */
int gwlb_lbcheck_reload(char *err, size_t errlen);

/* gwlb_lb_json() with each backend's "healthy" and "check" (state, counts, last error). */
json_t *gwlb_lbcheck_json(void);

/* Stop the checker, forget the targets: before gwlb_lb_fini(). */
void gwlb_lbcheck_stop(void);

#endif
