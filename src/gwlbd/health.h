/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The health and metrics HTTP server (-p): GET / (text, JSON with -j, one line with -s),
 * GET /json, GET /metrics (Prometheus). 200 when healthy, 503 when not.
 */
#ifndef GWLBD_HEALTH_H
#define GWLBD_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

struct gwlb_health_cfg {
	uint16_t port;
	const char *addr;	/* numeric IPv4 or IPv6 address; NULL = IPv4 any */
	bool json;		/* -j */
	bool simple;		/* -s */
};

/* Start serving from a thread of its own. 0 or -errno (-EADDRINUSE, -EINVAL bad address). */
int gwlb_health_start(const struct gwlb_health_cfg *cfg);
void gwlb_health_stop(void);

#endif
