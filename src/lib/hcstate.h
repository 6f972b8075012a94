/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Backend health as a pure state machine: rise/fall counting over check results, and which
 * backends of a service take new connections given tiers, admin state and health.
 * No I/O, no clock: the checker (src/gwlbd/hcheck.c) feeds results in and acts on what
 * comes out, and the unit suite drives it the same way.
 */
#ifndef GWLB_HCSTATE_H
#define GWLB_HCSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * One backend's health. A backend starts up (gwlb_hcstate_init with up = true), as in
 * HAProxy, keepalived (without "alpha") and nftlb: a gwlbd restart or a reload must not
 * take a whole working service out of the kernel's maps for rise x interval, and a dead
 * backend is found by the same fall failures that find one dying later. A caller that
 * prefers "prove it first" for a backend added at run time passes up = false.
 */
struct gwlb_hcstate {
	bool up;
	unsigned rise, fall;		/* >= 1 each */
	unsigned ok_run, fail_run;	/* consecutive results; one of them is always 0 */
	uint64_t checks, failures, transitions;
};

/* rise and fall of 0 count as 1. */
void gwlb_hcstate_init(struct gwlb_hcstate *s, unsigned rise, unsigned fall, bool up);

/*
 * Count one check result. Returns 1 when it changed s->up (rise successes in a row bring
 * a down backend up, fall failures in a row take an up one down), 0 otherwise. A result
 * resets the other result's run, so flapping ok/fail never reaches rise or fall > 1.
 */
int gwlb_hcstate_update(struct gwlb_hcstate *s, bool ok);

enum gwlb_admin {
	GWLB_ADMIN_UP = 0,	/* takes new connections when healthy */
	GWLB_ADMIN_DRAIN,	/* keeps its connections, takes no new ones */
	GWLB_ADMIN_DOWN,	/* takes nothing (the engine may also flush its connections) */
};

struct gwlb_tier_member {
	unsigned tier;		/* 0 = primary, 1 = first backup, ... */
	enum gwlb_admin admin;
	bool healthy;		/* gwlb_hcstate.up, or true for a backend without checks */
};

/*
 * Which backends take new connections: those admin up and healthy in the lowest tier that
 * has at least one such backend. Drain and down never take new ones, and neither do the
 * healthy backends of a higher tier while a lower one has one. take[i] is set for each of
 * the n members; *tier (may be NULL) gets the tier chosen. Returns how many take new
 * connections: 0 when no tier has one, and then every take[i] is false and *tier is left
 * alone: the service has no backend (the engine decides what that means on the wire).
 */
size_t gwlb_hcstate_select(const struct gwlb_tier_member *m, size_t n, bool *take,
			   unsigned *tier);

/* "up", "drain", "down"; "?" for anything else. */
const char *gwlb_admin_str(enum gwlb_admin a);
/* The reverse; -EINVAL for an unknown word. */
int gwlb_admin_parse(const char *s, enum gwlb_admin *a);

#endif
