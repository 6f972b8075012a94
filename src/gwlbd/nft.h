/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gwlbd's own nftables table (inet gwlbnf): the policy queue rules and the sets modules
 * feed, written through libnftnl batches, each change one transaction.
 *
 * Mark layout (packet mark and ct mark, masks configurable):
 *   bits  0-15  ENI index (not touched here)
 *   bits 16-17  policy decision: 0 undecided, 1 accepted, 2 dropped (3 = undecided)
 *   bit  18     "new flow": set in the packet mark of a ct state new packet before it is
 *               queued, never stored in the ct mark
 *   bits 19-31  free for the users' rules
 *
 * The ruleset (see gwlb_nft_install() for every rule):
 *   chain policy_pre, forward hook, before the users' filter: packets from ENIs whose flow
 *   is decided are accepted or dropped in the kernel; the others get the ct mark (plus the
 *   new-flow bit) in their packet mark and are queued.
 *   chain policy_post, forward hook, after it: a packet whose mark carries a decision
 *   writes its mark (new-flow bit cleared) to the ct mark, and is dropped if the decision
 *   is "dropped".
 *
 * What the verdict code must send back for a queued packet (mark = the packet's mark):
 *   decide nothing:   NF_ACCEPT (or NF_DROP), mark unchanged
 *   accept the flow:  NF_ACCEPT, mark = (mark & ~decision_mask) | accepted
 *   drop the flow:    NF_ACCEPT, mark = (mark & ~decision_mask) | dropped
 *                     (accepted so that policy_post records the decision before it drops
 *                     the packet: an NF_DROP verdict would never reach policy_post)
 * A decision only sticks once the flow's conntrack entry is confirmed: a flow whose very
 * first packet is dropped has no conntrack entry to remember it. For those the policy host
 * adds the flow's 5-tuple to the timed sets dropflow4 / dropflow6 (see
 * gwlb_nft_dropflow_key()), which policy_pre checks before the queue, so a SYN retransmit
 * is dropped in the kernel instead of being judged again.
 *
 * Declared sets (struct gwlb_nft_set, from verdict modules) come with generated rules in
 * policy_pre, each with a counter, in this order:
 *   not from an ENI: return
 *   sets with action DROP:     [iifname X] ip saddr @S counter drop (decided flows too)
 *   decided flows:             accept / drop by the ct mark
 *   sticky drops:              meta l4proto . ip saddr . ip daddr . th sport . th dport
 *                              @dropflow4 counter drop (and dropflow6)
 *   sets with action ACCEPT:   [iifname X] ip saddr @S ct mark set ct mark & ~D | ACC
 *                              counter accept
 *   ct mark copy, new-flow bit, queue.
 */
#ifndef GWLBD_NFT_H
#define GWLBD_NFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <net/if.h>

#include <gwlb/verdict.h>

struct nftnl_rule;

#define GWLB_NFT_TABLE		"gwlbnf"
#define GWLB_NFT_CHAIN_PRE	"policy_pre"
#define GWLB_NFT_CHAIN_POST	"policy_post"
#define GWLB_NFT_CHAIN_CONNLABEL	"connlabel"

#define GWLB_NFT_DECISION_SHIFT	16
#define GWLB_NFT_DECISION_MASK	(3u << GWLB_NFT_DECISION_SHIFT)
#define GWLB_NFT_NEWFLOW_BIT	(1u << 18)
#define GWLB_NFT_IIF_MATCH	"gwi-*"
#define GWLB_NFT_OIF_MATCH	"gwo-*"

/* Sticky drops: flows dropped on their first packet, keyed by their 5-tuple. */
#define GWLB_NFT_DROPFLOW4	"dropflow4"
#define GWLB_NFT_DROPFLOW6	"dropflow6"
#define GWLB_NFT_DROPFLOW_KEY4	20	/* l4proto . saddr . daddr . sport . dport, 4-byte fields */
#define GWLB_NFT_DROPFLOW_KEY6	44
#define GWLB_NFT_SET_NAME_MAX	64

/* One range of a declared set's elements, first .. last inclusive, network order. */
struct gwlb_nft_range {
	uint8_t first[16];
	uint8_t last[16];
};

/* A set a module declared (include/gwlb/verdict.h, struct gwlb_set_spec) and its elements. */
struct gwlb_nft_set {
	char name[GWLB_NFT_SET_NAME_MAX];	/* full name, e.g. "cidr_block4" */
	uint8_t family;			/* 4 or 6 */
	uint8_t match;			/* enum gwlb_set_match */
	uint8_t action;			/* enum gwlb_set_action */
	bool interval;
	uint32_t timeout_ms;		/* 0: static */
	char iifname[IFNAMSIZ];		/* "": packets from every ENI; else only from this one */
	size_t n, cap;			/* elements loaded with the set (static ones) */
	struct gwlb_nft_range *elems;
};

/* Append one element (last NULL: the key first); -EINVAL for a range in a plain set. */
int gwlb_nft_set_load(struct gwlb_nft_set *s, const void *first, const void *last);
/* Free the elements. */
void gwlb_nft_set_release(struct gwlb_nft_set *s);
/* Same name and spec (elements not compared): a reload keeps such a set and its elements. */
bool gwlb_nft_set_same(const struct gwlb_nft_set *a, const struct gwlb_nft_set *b);
/*
 * The sorted, merged ranges of an interval set's elements (overlapping and adjacent ones
 * joined) in a new array for free(); *n gets their number. -ENOMEM.
 */
int gwlb_nft_set_ranges(const struct gwlb_nft_set *s, struct gwlb_nft_range **out, size_t *n);

/*
 * The sticky-drop key of a packet (its 5-tuple as the dropflow rule loads it into
 * registers) in key (GWLB_NFT_DROPFLOW_KEY6 bytes); returns its length, or 0 for packets
 * that have no such key (not TCP or UDP, a later fragment). *set gets the set's name.
 */
size_t gwlb_nft_dropflow_key(const struct gwlb_pkt *pkt, uint8_t *key, const char **set);

/* Decision values (before the shift). */
enum gwlb_nft_decision {
	GWLB_NFT_UNDECIDED = 0,
	GWLB_NFT_ACCEPTED = 1,
	GWLB_NFT_DROPPED = 2,
};

struct gwlb_nft_cfg {
	uint16_t queue_first;		/* first NFQUEUE number */
	uint16_t queue_count;		/* queues first .. first+count-1, >= 1 */
	bool fail_open;			/* bypass: accept when nobody listens on the queue */
	bool fanout;			/* spread by receiving CPU instead of by flow hash */
	int prio_pre;			/* policy_pre priority (forward hook), default -10 */
	int prio_post;			/* policy_post priority, default 10; > prio_pre */
	uint32_t decision_mask;		/* in place: 3 << decision_shift */
	uint32_t decision_shift;
	uint32_t newflow_bit;		/* one bit outside decision_mask */
	const char *iif_match;		/* "gwi-*" (trailing * = prefix) or an exact name */
	/* sets declared by modules, created with the table and replaced by gwlb_nft_reload() */
	const struct gwlb_nft_set *sets;
	unsigned n_sets;
	uint32_t dropflow_timeout_ms;	/* sticky-drop element lifetime; 0: no dropflow sets */
};

/* Defaults: queue 0, one queue, fail-open, no fanout, -10/+10, the layout above. */
void gwlb_nft_cfg_init(struct gwlb_nft_cfg *cfg);

/* Mark value of a decision for cfg's layout. */
static inline uint32_t gwlb_nft_decision_mark(const struct gwlb_nft_cfg *cfg,
					      enum gwlb_nft_decision d)
{
	return ((uint32_t)d << cfg->decision_shift) & cfg->decision_mask;
}

/* Is cfg consistent? 0 or -EINVAL with the reason in err. */
int gwlb_nft_cfg_check(const struct gwlb_nft_cfg *cfg, char *err, size_t errlen);

/*
 * Does the kernel have the native nft `queue` expression? 1 yes, 0 no, -errno when the
 * probe itself failed (no nf_tables, no permission). Side-effect free: the probe batch is
 * sent without its end message, so the kernel validates it and aborts.
 */
int gwlb_nft_probe_native_queue(void);

/*
 * Fill rule r (family inet, table gwlbnf, chain policy_pre) with the queue rule: a counter
 * and either the native queue expression or the xt NFQUEUE v3 target through nft_compat.
 * Pure: no netlink. 0, or -EINVAL for a bad cfg, -ENOMEM.
 */
int gwlb_nft_queue_rule_build(struct nftnl_rule *r, const struct gwlb_nft_cfg *cfg, bool native);

/*
 * Install (or replace) table inet gwlbnf with the policy chains, cfg's declared sets with
 * their elements and the dropflow sets, in one transaction: a previous gwlbnf table, with
 * everything in it (sets included), is deleted in the same batch. 0, or -errno with what failed in err.
 */
int gwlb_nft_install(const struct gwlb_nft_cfg *cfg, bool native, char *err, size_t errlen);

/*
 * Reload: move an installed table from the sets `old` (n_old) to cfg's, in one
 * transaction. Both chains' rules are rebuilt; sets that are gone or whose spec changed are
 * deleted, new and changed ones created with their elements; a set that stays the same
 * keeps its dynamic elements and gets its static ones reloaded; dropflow sets are kept
 * (their timeout is fixed at install). On failure nothing changed. 0 or -errno with err.
 */
int gwlb_nft_reload(const struct gwlb_nft_cfg *cfg, const struct gwlb_nft_set *old,
		    unsigned n_old, bool native, char *err, size_t errlen);

/* Delete table inet gwlbnf in one transaction. 0 also when there was none. */
int gwlb_nft_remove(void);

/* Queue path of the last successful install: "native", "compat", or "none". */
const char *gwlb_nft_queue_path(void);

/*
 * After gwlb_nft_install(): add chain connlabel to table gwlbnf, whose never-run rule makes
 * the kernel give new conntrack entries room for labels. Gone with the table. 0 or -errno.
 */
int gwlb_nft_connlabel_hold(void);

/*
 * Add (add = true) or delete one element of set `set` in table gwlbnf. family is the
 * table's NFPROTO_* family (0 = NFPROTO_INET). key in the set's key type, network order,
 * 1..64 bytes. timeout_ms 0 = the set's default timeout (ignored on delete). Adding an
 * element that exists is not an error (and does not refresh its timeout). For sets
 * without the interval flag. 0 or -errno (-ENOENT: no such set, or no such element).
 */
int gwlb_nft_set_elem(const char *set, int family, const void *key, size_t key_len,
		      uint32_t timeout_ms, bool add);

/*
 * Many set element updates in one transaction, applied in the order they were queued.
 * If the transaction fails, the updates are retried one by one so that one bad update
 * (a set that does not exist) does not cost the others; deleting an element that is not
 * there (it timed out) is not an error.
 */
struct gwlb_nft_set_batch;

struct gwlb_nft_set_batch *gwlb_nft_set_batch_new(void);
void gwlb_nft_set_batch_free(struct gwlb_nft_set_batch *b);
/* Queue one update; -EINVAL for a bad name or key length, -ENOMEM. */
int gwlb_nft_set_batch_add(struct gwlb_nft_set_batch *b, const char *set, int family,
			   const void *key, size_t key_len, uint32_t timeout_ms, bool add);
size_t gwlb_nft_set_batch_count(const struct gwlb_nft_set_batch *b);
/*
 * Apply and empty the batch. 0, or the first failure's -errno with the set named in err;
 * *failed (may be NULL) gets the number of updates not applied.
 */
int gwlb_nft_set_batch_commit(struct gwlb_nft_set_batch *b, size_t *failed, char *err,
			      size_t errlen);

/*
 * Reading table gwlbnf's sets back from the kernel (gwlbctl sets): sets the users' rules
 * or modules declared in it, and their elements.
 */
struct gwlb_nft_set_info {
	char name[256];
	uint32_t family;		/* NFPROTO_* of the table */
	uint32_t flags;			/* NFT_SET_* (interval, timeout, map...) */
	uint32_t key_type;		/* nft datatype; a concatenation packs 6 bits per part */
	uint32_t key_len;
	uint64_t timeout_ms;		/* default element timeout, 0 = none */
	uint32_t size;			/* declared size, 0 = unbounded */
};

struct gwlb_nft_elem_info {
	uint8_t key[64];
	uint32_t key_len;
	uint8_t key_end[64];		/* last key of an interval (inclusive); key_end_len 0: none */
	uint32_t key_end_len;
	uint64_t timeout_ms;		/* 0 = none */
	uint64_t expires_ms;		/* time left */
};

/* Return nonzero to stop the listing. */
typedef int (*gwlb_nft_set_fn)(const struct gwlb_nft_set_info *s, void *arg);
typedef int (*gwlb_nft_elem_fn)(const struct gwlb_nft_elem_info *e, void *arg);

/* Call fn for each set of table inet gwlbnf. 0 or -errno (-ENOENT: no table). */
int gwlb_nft_sets_list(gwlb_nft_set_fn fn, void *arg);

/*
 * Describe set `set` of table inet gwlbnf into *info and call fn (may be NULL) for each
 * of its elements; an interval set's elements come as one element per interval.
 * 0 or -errno (-ENOENT: no such set).
 */
int gwlb_nft_set_get(const char *set, struct gwlb_nft_set_info *info, gwlb_nft_elem_fn fn,
		     void *arg);

/* nft's name of a key type ("ipv4_addr", "ipv4_addr . inet_service"), into buf. */
const char *gwlb_nft_type_str(uint32_t key_type, char *buf, size_t len);

/*
 * An element's key as nft prints it, into buf: addresses, ports, marks and interface
 * names by type, concatenations joined with " . ", an interval as a prefix "a/len" or a
 * range "a-b", anything else in hex. Pure.
 */
const char *gwlb_nft_elem_str(uint32_t key_type, const struct gwlb_nft_elem_info *e, char *buf,
			      size_t len);

/*
 * gwlbd's networking table inet gwlbnf-net (the main process's, never the policy host's):
 * each ENI's conntrack zone and the ENI index in the low 16 bits of the packet and ct
 * mark, values from src/lib/eniidx.h. See the section in nft.c for every object.
 */
#define GWLB_NFT_NET_TABLE		"gwlbnf-net"
#define GWLB_NFT_NET_MAP_ZONE		"eni_zone"
#define GWLB_NFT_NET_MAP_MARK		"eni_mark"
#define GWLB_NFT_NET_MAP_RETURN		"eni_return"
#define GWLB_NFT_NET_CHAIN_ZONE		"zone_pre"
#define GWLB_NFT_NET_CHAIN_MARK		"mark_pre"
#define GWLB_NFT_NET_CHAIN_ENI		"eni_"	/* + index */
#define GWLB_NFT_NET_MAP_NAT		"eni_nat"
#define GWLB_NFT_NET_CHAIN_OUT		"mark_out"
#define GWLB_NFT_NET_CHAIN_NAT		"nat_post"
#define GWLB_NFT_NET_CHAIN_ENI_NAT	"nat_"	/* + index */

/*
 * Create (or replace) table inet gwlbnf-net, no ENIs in it, in one transaction. The nat
 * chains of later ENIs masquerade out of the n_uplinks interfaces uplinks names (a trailing
 * '*' is a prefix; none: out of any interface but gwo-*); the array must live as long as
 * the table. 0 or -errno, err.
 */
int gwlb_nft_net_install(const char (*uplinks)[IFNAMSIZ], unsigned n_uplinks, char *err,
			 size_t errlen);

/* Delete table inet gwlbnf-net in one transaction. 0 also when there was none. */
int gwlb_nft_net_remove(void);

/*
 * Add (add) or remove one ENI's objects, gwi interface name and index: its chain and its
 * element in each map, in one transaction; nat adds (removes) its masquerade chain too.
 * 0 or -errno with what failed in err.
 */
int gwlb_nft_net_eni(const char *gwi, uint16_t index, bool add, bool nat, char *err,
		     size_t errlen);

#endif
