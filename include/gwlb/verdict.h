/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * gwlbnf verdict modules: the plug-in ABI.
 *
 * gwlbd hosts inspection modules behind NFQUEUE. A module is a shared object
 * (verdict_<name>.so) that exports one symbol, gwlb_verdict_module(), returning a const
 * descriptor. gwlbd loads the modules a policy names, asks them in the configured order
 * about every packet of a flow that is still undecided, and writes a flow decision into the
 * flow's conntrack mark so that later packets of that flow never leave the kernel.
 *
 * A minimal module:
 *
 *	#include <gwlb/verdict.h>
 *
 *	static enum gwlb_verdict v(void *priv, const struct gwlb_pkt *pkt)
 *	{
 *		return pkt->dport == 23 ? GWLB_VERDICT_DROP_FLOW : GWLB_VERDICT_CONTINUE;
 *	}
 *
 *	static const struct gwlb_verdict_ops ops = {
 *		.abi_version = GWLB_VERDICT_ABI_VERSION,
 *		.name = "notelnet",
 *		.description = "drop telnet",
 *		.verdict = v,
 *	};
 *	GWLB_VERDICT_MODULE(ops);
 *
 * built with: cc -shared -fPIC $(pkg-config --cflags gwlbnf-verdict) -o verdict_notelnet.so x.c
 */
#ifndef GWLB_VERDICT_H
#define GWLB_VERDICT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * ABI version: major in the high 16 bits, minor in the low 16. gwlbd loads a module whose
 * major equals its own and whose minor is not greater than its own; anything else is
 * refused at load time with one log line. Minor versions only append members at the end of
 * the structures below.
 */
#define GWLB_VERDICT_ABI_MAJOR		1
#define GWLB_VERDICT_ABI_MINOR		1
#define GWLB_VERDICT_ABI_VERSION	((GWLB_VERDICT_ABI_MAJOR << 16) | GWLB_VERDICT_ABI_MINOR)

/* The one symbol a module exports. */
#define GWLB_VERDICT_ENTRY		"gwlb_verdict_module"

/* What a module says about one packet. */
enum gwlb_verdict {
	/* No opinion: ask the next module. When no module decides, the packet is accepted
	 * and the flow stays undecided (its next packet is queued again). */
	GWLB_VERDICT_CONTINUE = 0,
	/* Accept this packet only; the flow stays undecided. */
	GWLB_VERDICT_ACCEPT,
	/* Drop this packet only; the flow stays undecided. */
	GWLB_VERDICT_DROP,
	/* Accept this packet and every later one of the flow, in the kernel (offload). */
	GWLB_VERDICT_ACCEPT_FLOW,
	/* Drop this packet and every later one of the flow, in the kernel. */
	GWLB_VERDICT_DROP_FLOW,
};

/* Conntrack state of the packet's flow, as far as the kernel told us (bits). */
enum gwlb_ct_state {
	GWLB_CT_NEW		= 1 << 0,	/* first packet(s) of the flow */
	GWLB_CT_ESTABLISHED	= 1 << 1,	/* seen in both directions */
	GWLB_CT_RELATED		= 1 << 2,
	GWLB_CT_REPLY		= 1 << 3,	/* packet goes in the reply direction */
	GWLB_CT_UNKNOWN		= 1 << 7,	/* no conntrack information for this packet */
};

/*
 * The packet as a module sees it: never a netlink message. All pointers stay valid only
 * during the verdict call. Addresses and payload point into the packet; multi-byte
 * fields are in host order unless said otherwise.
 */
struct gwlb_pkt {
	const uint8_t *data;		/* the IP packet (IPv4 or IPv6 header first) */
	uint32_t len;			/* bytes at data */
	uint16_t l4_off;		/* offset of the transport header in data (0: none, e.g. later fragment) */
	uint16_t payload_off;		/* offset of the transport payload in data (0: none) */
	uint32_t payload_len;		/* transport payload bytes (TCP/UDP data) */
	uint8_t family;			/* 4 or 6 */
	uint8_t l4proto;		/* IPPROTO_TCP, IPPROTO_UDP, ... */
	uint16_t sport;			/* transport ports (ICMP echo: the id in both) */
	uint16_t dport;
	uint8_t tcp_flags;		/* TCP flags byte (FIN 0x01, SYN 0x02, RST 0x04, ACK 0x10) */
	uint8_t ct_state;		/* enum gwlb_ct_state bits */
	const uint8_t *saddr;		/* 4 or 16 bytes, network order */
	const uint8_t *daddr;
	uint64_t eni_id;		/* GWLB endpoint the flow came from (0: not from an ENI) */
	uint32_t ct_mark;		/* the flow's conntrack mark */
	uint32_t mark;			/* the packet mark */
	const char *iifname;		/* input interface, e.g. "gwi-e8WXgsTQDkf" ("" if none) */
	const char *oifname;		/* output interface ("" if none) */
	uint32_t queue;			/* NFQUEUE number the packet came from */
	/*
	 * Index of the calling worker thread, below gwlb_host_ops.threads(). Packets of one
	 * flow are always handled by the same worker, so per-flow state kept per worker
	 * needs no lock.
	 */
	uint32_t worker;
	uint64_t flow_pkts;		/* packets of this flow queued to userspace so far, this one included */
};

struct gwlb_host;	/* opaque: the host's handle for this module instance */

/*
 * ABI 1.1: a set the module declares from init() (gwlb_host_ops.set_declare). gwlbd creates
 * it in table inet gwlbnf as "<module>_<name>" (e.g. module cidr, name "block4":
 * "cidr_block4"), so that two modules cannot clash, together with the rules that give it
 * its action. Those rules sit in chain policy_pre before the queue rule and carry counters:
 * a packet they decide never reaches userspace. Sets with the same full name and spec
 * survive a reload with their elements (their static elements are reloaded); others are
 * replaced in the reload's one transaction.
 */
enum gwlb_set_match {
	GWLB_SET_MATCH_SRC = 1,		/* the packet's source address */
	GWLB_SET_MATCH_DST = 2,		/* its destination address */
	GWLB_SET_MATCH_EITHER = 3,	/* source or destination (one rule for each) */
};

enum gwlb_set_action {
	/* No rule: a set only for the users' own rules in table inet gwlbnf. */
	GWLB_SET_ACTION_NONE = 0,
	/* Drop matching packets in the kernel, decided flows included: a block list. */
	GWLB_SET_ACTION_DROP = 1,
	/*
	 * Accept the flow in the kernel: the "accepted" decision goes to the ct mark and the
	 * packet skips the queue, so no module sees the flow. Checked after the decided-flow
	 * rules and after every DROP set.
	 */
	GWLB_SET_ACTION_ACCEPT = 2,
};

struct gwlb_set_spec {
	/* [a-z0-9_]+, unique within the module; with the module name at most 63 characters */
	const char *name;
	uint8_t family;			/* 4 (ipv4_addr keys, 4 bytes) or 6 (ipv6_addr, 16 bytes) */
	uint8_t match;			/* enum gwlb_set_match (ignored for ACTION_NONE) */
	uint8_t action;			/* enum gwlb_set_action */
	uint8_t interval;		/* nonzero: elements are ranges (prefixes), set_load only */
	/*
	 * 0: a static set, its elements loaded with set_load from init(). Otherwise a dynamic
	 * set with this default element timeout, fed with set_add / set_del (by this module
	 * by its short name, by others by the full name) and kept across reloads.
	 */
	uint32_t timeout_ms;
};

/* Log levels, syslog-like. */
enum gwlb_log_prio {
	GWLB_LOG_ERR = 3,
	GWLB_LOG_WARNING = 4,
	GWLB_LOG_INFO = 6,
	GWLB_LOG_DEBUG = 7,
};

/*
 * Services the host offers a module. Every function may be called from init() and from
 * verdict(), from any worker thread, except where it says otherwise. Functions returning int return 0 or a negative errno.
 */
struct gwlb_host_ops {
	/* Number of worker threads that may call verdict() (sizes per-worker state). */
	unsigned (*threads)(struct gwlb_host *h);

	/*
	 * Add an element to the nftables set `set` of gwlbd's table (inet gwlbnf): a set this
	 * module declared (its short name), one another module declared (its full name, e.g.
	 * "cidr_block4") or any other set in the table. key points to the element in the
	 * set's key type, network order (4 bytes ipv4_addr, 16 bytes ipv6_addr); a declared
	 * set refuses another length with -EINVAL. timeout_ms 0 = the set's default. Updates are batched and applied off
	 * the packet path; -ENOENT if no such set, -ENOSPC if the update queue is full.
	 */
	int (*set_add)(struct gwlb_host *h, const char *set, const void *key, size_t key_len,
		       uint32_t timeout_ms);
	/* Delete an element added with set_add (or by the ruleset). */
	int (*set_del)(struct gwlb_host *h, const char *set, const void *key, size_t key_len);

	/*
	 * Set bits of the packet's flow conntrack mark: (mark & ~mask) | (value & mask), with
	 * mask limited to the bits the policy gives modules (module_mark_mask). Applied with the
	 * packet's verdict. -EPERM for bits outside the modules' share.
	 */
	int (*ct_mark_set)(struct gwlb_host *h, const struct gwlb_pkt *pkt, uint32_t value,
			   uint32_t mask);
	/* Set conntrack label bit `bit` (0..127) on the packet's flow. */
	int (*ct_label_set)(struct gwlb_host *h, const struct gwlb_pkt *pkt, unsigned bit);

	/* Log a line tagged with the module's name; rate-limited by the host per module. */
	void (*log)(struct gwlb_host *h, enum gwlb_log_prio prio, const char *fmt, ...)
		__attribute__((format(printf, 3, 4)));

	/*
	 * Named counters, shown by gwlbctl, the health JSON and /metrics as
	 * gwlbd_module_counter_total{module,name}. counter_id returns an id (>= 0) to pass to
	 * counter_add, or -ENOSPC; call it from init().
	 */
	int (*counter_id)(struct gwlb_host *h, const char *name);
	void (*counter_add)(struct gwlb_host *h, int id, uint64_t n);

	/* ---- ABI 1.1 (a host that loads a 1.1 module always has these) ---- */

	/*
	 * Declare a set (struct gwlb_set_spec above); from init() only (-EPERM later). The
	 * spec is copied. -EINVAL for a bad spec, -EEXIST if this policy already declares a
	 * set of that full name (another instance of the module), -EOPNOTSUPP if the host
	 * cannot make sets (gwlbd without --policy, a test host).
	 */
	int (*set_declare)(struct gwlb_host *h, const struct gwlb_set_spec *spec);
	/*
	 * Load one element into a set this module declared (its short name), from init()
	 * only; the elements are created with the set. key_len is the set's (4 or 16). For an
	 * interval set, first .. last (inclusive, network order) is a range, e.g. a prefix's
	 * first and last address; overlapping and adjacent ranges are merged. last NULL: the
	 * single element first. -ENOENT: no such declared set, -ENOMEM.
	 */
	int (*set_load)(struct gwlb_host *h, const char *set, const void *first,
			const void *last, size_t key_len);
};

/* A module's descriptor. Designated initializers, please: members are added at the end. */
struct gwlb_verdict_ops {
	uint32_t abi_version;		/* GWLB_VERDICT_ABI_VERSION the module was built with */
	const char *name;		/* short name, [a-z0-9_]+, as the policy names it */
	const char *description;	/* one line for gwlbctl */
	size_t priv_size;		/* bytes of private state the host allocates (zeroed) per instance */

	/*
	 * Set up an instance with its arguments from the policy (argv[0..argc-1], "key=value"
	 * or bare words). host/h stay valid until fini. Return 0, or a negative errno and a
	 * reason in err (NUL-terminated, errlen bytes): the host logs it and refuses the
	 * module (the daemon keeps running without it, or refuses to start, per policy).
	 * May be NULL.
	 */
	int (*init)(void *priv, const struct gwlb_host_ops *host, struct gwlb_host *h,
		    int argc, const char *const *argv, char *err, size_t errlen);
	/* Release what init set up. May be NULL. */
	void (*fini)(void *priv);

	/*
	 * Judge one packet of an undecided flow. Called concurrently from several workers
	 * (one flow always on the same worker); must not block.
	 */
	enum gwlb_verdict (*verdict)(void *priv, const struct gwlb_pkt *pkt);
};

/* The entry point a module exports (see GWLB_VERDICT_MODULE). */
typedef const struct gwlb_verdict_ops *(*gwlb_verdict_entry_fn)(void);

#define GWLB_VERDICT_MODULE(ops)						\
	__attribute__((visibility("default")))					\
	const struct gwlb_verdict_ops *gwlb_verdict_module(void);		\
	__attribute__((visibility("default")))					\
	const struct gwlb_verdict_ops *gwlb_verdict_module(void)		\
	{									\
		return &(ops);							\
	}

#ifdef __cplusplus
}
#endif

#endif
