/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The policy rules and routes of an ENI's mode (--mode, --eni-mode), through rtnetlink.
 * gwlbd keeps the list of what it added so DESTROY and shutdown remove exactly that.
 */
#ifndef GWLBD_ROUTE_H
#define GWLBD_ROUTE_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "opts.h"

/* route mode's most: 2 rules and 1 route per family */
#define GWLB_ROUTE_MAX_OBJS	8

struct gwlb_route_obj {
	bool rule;		/* a policy rule; else a route */
	uint8_t family;		/* AF_INET or AF_INET6 */
	uint8_t action;		/* rule: FR_ACT_TO_TBL or FR_ACT_BLACKHOLE */
	uint32_t prio;		/* rule priority */
	uint32_t table;		/* rule: lookup; route: its table */
	uint32_t fwmark, fwmask;	/* rule: 0/0 = any mark */
	char iif[IFNAMSIZ];	/* rule: "" = any */
	char dev[IFNAMSIZ];	/* route: default dev */
};

struct gwlb_route_set {
	struct gwlb_route_obj obj[GWLB_ROUTE_MAX_OBJS];
	unsigned n;
};

struct gwlb_route_eni {
	enum gwlb_mode mode;
	const char *gwi, *gwo;
	uint32_t mark, table, prio;
};

/* What mode needs for an ENI, in the order they are added; pure (no netlink). */
void gwlb_route_plan(const struct gwlb_route_eni *eni, struct gwlb_route_set *set);

/*
 * Add set's objects in order. On failure the ones added are removed again, set->n is 0 and
 * err names the object and the kernel's reason. A family the kernel lacks (no IPv6) is
 * skipped and dropped from set. 0 or -errno.
 */
int gwlb_route_set_add(struct gwlb_route_set *set, char *err, size_t errlen);

/* Remove set's objects, last first; set->n becomes 0. The first failure, or 0. */
int gwlb_route_set_del(struct gwlb_route_set *set, char *err, size_t errlen);

/* One object in ip(8)'s words: "rule prio 10001 iif gwi-X lookup 10001" (IPv6: "-6 ..."). */
int gwlb_route_obj_snprintf(const struct gwlb_route_obj *o, char *buf, size_t len);

/*
 * An output route lookup (mark 0, as a local socket's first one) of an address in family's
 * documentation range: is there a route for the unknown, such as a default route?
 * 0, -ENETUNREACH, or another -errno.
 */
int gwlb_route_lookup(uint8_t family);

/* gwlbd's ranges: rule priorities prio_base+1.., route tables table_base+1.., max of each. */
struct gwlb_route_range {
	uint32_t prio_base, table_base, max;
};

/*
 * Delete every rule (IPv4 and IPv6) whose priority and every route whose table is in r:
 * what a gwlbd that was killed left. *rules and *routes get the numbers deleted.
 * 0, or -errno with the reason in err.
 */
int gwlb_route_leftovers_del(const struct gwlb_route_range *r, unsigned *rules,
			     unsigned *routes, char *err, size_t errlen);

#endif
