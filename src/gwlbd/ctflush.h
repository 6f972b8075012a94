/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * An ENI's conntrack entries, through ctnetlink: walk every entry of the network namespace,
 * and delete those of one ENI (its zone, or zone 0 with its index in the ct mark: ctmap.h).
 * gwlbd flushes an ENI on DESTROY; gwlbnf-ct lists, counts and flushes with the same code.
 * Synchronous and not for the packet path: a dump of a full table takes about a second.
 */
#ifndef GWLBD_CTFLUSH_H
#define GWLBD_CTFLUSH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mnl_socket;
struct nf_conntrack;
struct nlmsghdr;

/*
 * A ctnetlink socket with an automatic port id and a receive timeout of timeout_s (a lost
 * answer must not hang its caller). 0, or -errno with the reason in err.
 */
int gwlb_ctflush_open(struct mnl_socket **nl, uint32_t *portid, unsigned timeout_s, char *err,
		      size_t errlen);
/* A ctnetlink request header (IPCTNL_MSG_CT_*) in buf, NLM_F_REQUEST plus flags. */
struct nlmsghdr *gwlb_ctflush_header(char *buf, uint16_t type, uint16_t flags, uint8_t family,
				     uint32_t seq);

/* Called for each entry (valid only during the call): 0 goes on, -errno stops the walk. */
typedef int (*gwlb_ctflush_fn)(const struct nf_conntrack *ct, void *arg);

/*
 * Every conntrack entry of the namespace, IPv4 and IPv6. 0, the callback's -errno, or
 * -errno with the reason in err.
 */
int gwlb_ctflush_foreach(gwlb_ctflush_fn fn, void *arg, char *err, size_t errlen);

/* The ENI index an entry belongs to (gwlb_ctmap_owner of its zones and mark); 0: none. */
uint16_t gwlb_ctflush_owner(const struct nf_conntrack *ct);

/*
 * Delete every entry of ENI index idx (1..65535). Returns the number deleted (entries that
 * went away meanwhile are not counted), or -errno with the reason in err.
 */
int gwlb_ctflush_eni(uint16_t idx, char *err, size_t errlen);

/* Is ENI index idx (never 0) one whose entries go? */
typedef bool (*gwlb_ctflush_match_fn)(uint16_t idx, void *arg);

/* Delete every entry whose ENI index match() picks. The number deleted, or -errno with err. */
int gwlb_ctflush_match(gwlb_ctflush_match_fn match, void *arg, char *err, size_t errlen);

#endif
