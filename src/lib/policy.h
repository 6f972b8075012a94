/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The policy file (gwlbnf-policy.conf(5)): which verdict modules gwlbd asks, with which
 * arguments and in which order, globally and per ENI, plus the NFQUEUE plumbing settings.
 *
 * Pure: parsing builds a struct gwlb_policy or fails with a file, line and reason in a
 * struct gwlb_policy_err, all or nothing, so a reload can keep the running policy. An
 * empty text gives the defaults (no modules, so nothing is queued).
 */
#ifndef GWLB_POLICY_H
#define GWLB_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Mark layout shared by the packet mark and the ct mark (documented in
 * gwlbnf-policy.conf(5)); must agree with src/gwlbd/nft.h.
 */
#define GWLB_MARK_ENI_MASK		0x0000ffffu	/* ENI index */
#define GWLB_MARK_DECISION_SHIFT	16
#define GWLB_MARK_DECISION_MASK		0x00030000u	/* 0 undecided, 1 accepted, 2 dropped */
#define GWLB_MARK_NEW_FLOW		0x00040000u	/* packet mark only: ct state new */
#define GWLB_MARK_GWLBD_MASK		0x0007ffffu	/* everything above is not gwlbd's */

#define GWLB_POLICY_MAX_MODULES		32	/* per chain */
#define GWLB_POLICY_MAX_ARGS		64	/* per module line, name excluded */
#define GWLB_POLICY_MAX_ENIS		4096	/* [eni ...] sections */
#define GWLB_POLICY_MAX_DIRS		16	/* [module-path] dir lines */
#define GWLB_POLICY_MAX_NAME		64	/* module name length, NUL excluded */
#define GWLB_POLICY_MAX_QUEUES		64	/* [queue] count */
#define GWLB_POLICY_MAX_FILE		(1 << 20)	/* bytes gwlb_policy_parse_file reads */

/* Defaults of [queue]. */
#define GWLB_POLICY_DEF_QUEUE_FIRST	0
#define GWLB_POLICY_DEF_QUEUE_COUNT	1
#define GWLB_POLICY_DEF_QUEUE_MAXLEN	4096
#define GWLB_POLICY_DEF_PRIORITY	(-10)
#define GWLB_POLICY_DEF_POST_PRIORITY	10
#define GWLB_POLICY_DEF_DROP_FLOW_TIMEOUT	60	/* seconds */
#define GWLB_POLICY_MAX_DROP_FLOW_TIMEOUT	86400
#define GWLB_POLICY_DEF_STALL_TIMEOUT	5	/* seconds */
#define GWLB_POLICY_MAX_STALL_TIMEOUT	3600

enum gwlb_policy_on_error {
	GWLB_POLICY_ON_ERROR_SKIP = 0,		/* run without the module, log why */
	GWLB_POLICY_ON_ERROR_REFUSE,		/* refuse to start (on reload: keep the old policy) */
};

struct gwlb_policy_queue {
	uint16_t first;			/* first = N: queues first .. first + count - 1 */
	uint16_t count;			/* count = N: queues = worker threads, 1..64 */
	uint32_t maxlen;		/* maxlen = N: kernel queue length per queue */
	bool fail_open;			/* fail = open: accept (not drop) when a queue is full */
	bool bypass;			/* bypass = yes: accept when no process listens (default: fail) */
	bool fanout;			/* fanout = yes: spread by receiving CPU, not by flow hash */
	int32_t priority;		/* priority = N: forward hook priority of the pre-queue chain */
	int32_t post_priority;		/* post-priority = N: of the chain after it, > priority */
	uint32_t module_mark_mask;	/* module-mark-mask: ct mark bits modules may set */
	enum gwlb_policy_on_error on_module_error;
	/*
	 * drop-flow-timeout = SECONDS: how long a flow dropped on its first packet stays in
	 * the kernel's sticky-drop sets (retransmits dropped there); 0: no such sets.
	 */
	uint32_t drop_flow_timeout;
	/*
	 * stall-timeout = SECONDS: gwlbd kills (and restarts) a policy host whose queue worker
	 * has had packets waiting this long without giving a verdict, or that answers no
	 * watchdog request for this long; 0: no watchdog.
	 */
	uint32_t stall_timeout;
};

struct gwlb_policy_module {
	char *name;			/* [a-z0-9_]+: loaded from verdict_<name>.so */
	int argc;
	char **argv;			/* argc words, then NULL; quotes removed */
	int line;			/* of the "module =" line, for messages */
};

struct gwlb_policy_chain {
	uint64_t eni_id;		/* 0: the global chain of [policy] */
	int line;			/* of the section header, 0 when there was none */
	unsigned n_modules;		/* 0 .. GWLB_POLICY_MAX_MODULES, asked in this order */
	struct gwlb_policy_module *modules;
};

struct gwlb_policy {
	char file[256];			/* the name it was parsed as */
	struct gwlb_policy_queue queue;
	struct gwlb_policy_chain global;
	unsigned n_enis;
	struct gwlb_policy_chain *enis;	/* [eni ...] sections, sorted by eni_id */
	unsigned n_dirs;
	char **dirs;			/* [module-path] dir = ..., in file order, then NULL */
};

/* Why a parse failed. line 0: the file as a whole (cannot open, too large, no memory). */
struct gwlb_policy_err {
	char file[256];
	int line;
	char reason[256];
};

/*
 * Parse len bytes of policy text; name is what err->file and policy->file say (may be
 * NULL: "<string>"). On success 0 and *out a new policy for gwlb_policy_free(); on failure
 * -EINVAL (bad text), -ENOMEM, ... with err filled, and *out is left untouched.
 */
int gwlb_policy_parse_buf(const uint8_t *buf, size_t len, const char *name,
			  struct gwlb_policy **out, struct gwlb_policy_err *err);
/* The same for a NUL-terminated text. */
int gwlb_policy_parse_string(const char *text, const char *name, struct gwlb_policy **out,
			     struct gwlb_policy_err *err);
/* The same for a file (at most GWLB_POLICY_MAX_FILE bytes); -errno of open/read at line 0. */
int gwlb_policy_parse_file(const char *path, struct gwlb_policy **out,
			   struct gwlb_policy_err *err);

void gwlb_policy_free(struct gwlb_policy *p);

/* The chain asked for packets of ENI eni_id: its [eni] section's, else the global one. */
const struct gwlb_policy_chain *gwlb_policy_chain_for(const struct gwlb_policy *p,
						      uint64_t eni_id);

#endif
