/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What a gwlbd that was killed (SIGKILL, a crash) left in the kernel, removed at the next
 * start: its nft tables (gwlbnf, gwlbnf-net, gwlbnf-eni-<name>), its policy rules
 * (priorities --rule-priority-base+1 .. +--max-eni, IPv4 and IPv6), the routes of its
 * tables (--route-table-base+1 .. +--max-eni) and the conntrack entries of ENI indexes the
 * state file does not keep. Entries of kept indexes stay: they are the flows of ENIs that
 * come back after a quick restart. Tun devices need nothing: they went with the fds.
 */
#ifndef GWLBD_LEFTOVER_H
#define GWLBD_LEFTOVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/*
 * Claim this network namespace for this gwlbd, until it exits (an abstract unix socket,
 * which the kernel scopes to the namespace and releases with the process, even on SIGKILL).
 * gwlbd's tables have fixed names, so two gwlbds in one namespace would break each other:
 * a second one, whatever its --ctl-socket, is refused before it touches anything.
 * 0, or -EADDRINUSE / -errno with the reason in err.
 */
int gwlb_leftover_claim(char *err, size_t errlen);

/* Is ENI index idx (1..max) kept for an ENI (state file, or in use)? */
typedef bool (*gwlb_leftover_kept_fn)(uint16_t idx);

struct gwlb_leftover_cfg {
	uint32_t max_eni, prio_base, table_base;
	gwlb_leftover_kept_fn kept;	/* NULL: no index is kept */
};

/*
 * After gwlb_leftover_claim(), before gwlbd adds anything: remove what a previous gwlbd
 * left and log one line naming it. Nothing found, nothing logged. A failure is logged and
 * counted, never fatal: adding the objects then names what is in the way. Returns the
 * number of objects removed.
 */
int gwlb_leftover_clean(const struct gwlb_leftover_cfg *cfg);

/*
 * At shutdown, after every ENI's DESTROY: the conntrack entries still in gwlbd's indexes
 * (ENIs kept from the state file that did not come back), so that stop leaves none.
 */
void gwlb_leftover_stop(const struct gwlb_leftover_cfg *cfg);

/* {"tables": N, "rules": N, "routes": N, "conntrack": N, "errors": N} of the start's cleanup. */
json_t *gwlb_leftover_json(void);

#endif
