/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What a service's scheduler map holds: which backends take new connections (admin state
 * and health), which tier serves (the lowest tier with such a backend: backup tiers take
 * over when every backend of the tiers below is out, and give back when one returns), and
 * each serving backend's share as a range of the scheduler's values 0 .. sum - 1, one value
 * per unit of weight, in backend order (as nftlb does).
 *
 * Pure. A scheduler whose map is not ranges (maglev: a table of slots) takes the same
 * serving set from gwlb_lbmap_tier() and gwlb_lb_takes_new().
 */
#ifndef GWLB_LBMAP_H
#define GWLB_LBMAP_H

#include <stdbool.h>
#include <stdint.h>

#include "lbconf.h"

/* A backend's health: up when no check is configured. */
enum gwlb_lb_health {
	GWLB_LB_HEALTH_UP = 0,
	GWLB_LB_HEALTH_DOWN,
};

/* The one rule for new connections: admin up and healthy. */
bool gwlb_lb_takes_new(enum gwlb_lb_admin admin, enum gwlb_lb_health health);

struct gwlb_lbmap_in {
	uint32_t weight;		/* >= 1 */
	uint8_t tier;
	bool takes_new;			/* gwlb_lb_takes_new() */
};

struct gwlb_lbmap_range {
	unsigned backend;		/* index into the input */
	uint32_t lo, hi;		/* inclusive */
};

/* The serving tier: the lowest with a backend that takes new connections; -1 for none. */
int gwlb_lbmap_tier(const struct gwlb_lbmap_in *in, unsigned n);

/*
 * Fill out (room for n ranges) with the serving backends' ranges; returns their number
 * (0: no backend takes new connections) and *sum the values they cover, or -EINVAL for a
 * zero weight or a sum above UINT32_MAX.
 */
int gwlb_lbmap_build(const struct gwlb_lbmap_in *in, unsigned n, struct gwlb_lbmap_range *out,
		     uint32_t *sum);

#endif
