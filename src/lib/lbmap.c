/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>

#include "lbmap.h"

bool gwlb_lb_takes_new(enum gwlb_lb_admin admin, enum gwlb_lb_health health)
{
	return admin == GWLB_LB_ADMIN_UP && health == GWLB_LB_HEALTH_UP;
}

int gwlb_lbmap_tier(const struct gwlb_lbmap_in *in, unsigned n)
{
	int tier = -1;
	unsigned i;

	for (i = 0; i < n; i++)
		if (in[i].takes_new && (tier < 0 || in[i].tier < tier))
			tier = in[i].tier;
	return tier;
}

int gwlb_lbmap_build(const struct gwlb_lbmap_in *in, unsigned n, struct gwlb_lbmap_range *out,
		     uint32_t *sum)
{
	int tier = gwlb_lbmap_tier(in, n);
	uint64_t at = 0;
	unsigned i, k = 0;

	*sum = 0;
	for (i = 0; i < n; i++) {
		if (!in[i].takes_new || in[i].tier != tier)
			continue;
		if (!in[i].weight || at + in[i].weight > UINT32_MAX)
			return -EINVAL;
		out[k].backend = i;
		out[k].lo = (uint32_t)at;
		at += in[i].weight;
		out[k].hi = (uint32_t)(at - 1);
		k++;
	}
	*sum = (uint32_t)at;
	return (int)k;
}
