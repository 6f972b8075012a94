/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Backend health: rise/fall counting and tier selection (hcstate.h). */
#include <errno.h>
#include <string.h>

#include "hcstate.h"

void gwlb_hcstate_init(struct gwlb_hcstate *s, unsigned rise, unsigned fall, bool up)
{
	memset(s, 0, sizeof(*s));
	s->rise = rise ? rise : 1;
	s->fall = fall ? fall : 1;
	s->up = up;
}

int gwlb_hcstate_update(struct gwlb_hcstate *s, bool ok)
{
	s->checks++;
	if (ok) {
		s->fail_run = 0;
		if (s->ok_run < UINT32_MAX)
			s->ok_run++;
		if (!s->up && s->ok_run >= s->rise) {
			s->up = true;
			s->transitions++;
			return 1;
		}
		return 0;
	}
	s->failures++;
	s->ok_run = 0;
	if (s->fail_run < UINT32_MAX)
		s->fail_run++;
	if (s->up && s->fail_run >= s->fall) {
		s->up = false;
		s->transitions++;
		return 1;
	}
	return 0;
}

static bool takes_new(const struct gwlb_tier_member *m)
{
	return m->admin == GWLB_ADMIN_UP && m->healthy;
}

size_t gwlb_hcstate_select(const struct gwlb_tier_member *m, size_t n, bool *take,
			   unsigned *tier)
{
	bool found = false;
	unsigned best = 0;
	size_t i, count = 0;

	for (i = 0; i < n; i++) {
		take[i] = false;
		if (takes_new(&m[i]) && (!found || m[i].tier < best)) {
			best = m[i].tier;
			found = true;
		}
	}
	if (!found)
		return 0;
	for (i = 0; i < n; i++) {
		if (takes_new(&m[i]) && m[i].tier == best) {
			take[i] = true;
			count++;
		}
	}
	if (tier)
		*tier = best;
	return count;
}

static const char *const admin_names[] = {
	[GWLB_ADMIN_UP] = "up",
	[GWLB_ADMIN_DRAIN] = "drain",
	[GWLB_ADMIN_DOWN] = "down",
};

const char *gwlb_admin_str(enum gwlb_admin a)
{
	if ((unsigned)a >= sizeof(admin_names) / sizeof(admin_names[0]))
		return "?";
	return admin_names[a];
}

int gwlb_admin_parse(const char *s, enum gwlb_admin *a)
{
	unsigned i;

	for (i = 0; i < sizeof(admin_names) / sizeof(admin_names[0]); i++) {
		if (!strcmp(s, admin_names[i])) {
			*a = i;
			return 0;
		}
	}
	return -EINVAL;
}
