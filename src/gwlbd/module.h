/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The host side of include/gwlb/verdict.h: load verdict modules, make instances of them with
 * their policy arguments, and ask an ordered chain of instances about a packet.
 *
 * Nothing here knows gwlbd: logging, nft set updates and conntrack writes go to callbacks
 * the caller gives in struct gwlb_module_host_cfg, so the whole file is unit-testable.
 *
 * Ownership and reload. Everything is built off the packet path:
 *   mod   = gwlb_module_load()              caller holds one reference
 *   inst  = gwlb_module_instance_new(mod)   takes a module reference; caller holds one
 *   chain = gwlb_chain_new(insts, n)        takes an instance reference per entry
 * A chain is immutable. Publish it with an atomic pointer store; workers read the pointer
 * once per batch and call gwlb_chain_verdict(). To replace it, store the new pointer, wait
 * for a grace period (gwlbd: gwlb_qsbr_synchronize) and only then gwlb_chain_free() the old
 * one. An instance that both chains hold survives with its counters; one that only the old
 * chain held is finalised (module fini) by that free, and the module is dlclose()d when its
 * last instance and the loader's reference are gone. gwlb_module_put() and
 * gwlb_module_instance_put() drop the caller's own references; both are safe at any time.
 */
#ifndef GWLBD_MODULE_H
#define GWLBD_MODULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gwlb/verdict.h>

#define GWLB_MODULE_NVERDICTS		(GWLB_VERDICT_DROP_FLOW + 1)
#define GWLB_MODULE_COUNTERS_MAX	32
#define GWLB_MODULE_COUNTER_NAME_MAX	48
/* Host log limit per instance: this many lines per window, then one "N suppressed" line. */
#define GWLB_MODULE_LOG_BURST		10
#define GWLB_MODULE_LOG_WINDOW_MS	5000
/* A declared set's full name "<module>_<name>", NUL included (nft allows more). */
#define GWLB_MODULE_SET_NAME_MAX	64

struct gwlb_module;
struct gwlb_module_inst;
struct gwlb_chain;

/*
 * What the caller plugs in. Every callback gets `arg` first and may be NULL: a NULL set
 * callback makes set_add/set_del return -EOPNOTSUPP; a NULL ct callback only records the
 * request in the chain result. Copied into each instance.
 */
struct gwlb_module_host_cfg {
	void *arg;
	/* Worker threads that call verdict() (host_ops.threads()); 0 counts as 1. */
	unsigned threads;
	/* The ct mark bits modules may set; ct_mark_set outside them is -EPERM. */
	uint32_t mark_mask;

	/* One finished line, without newline, from module `module` (rate-limited already). */
	void (*log)(void *arg, const char *module, enum gwlb_log_prio prio, const char *line);
	int (*set_add)(void *arg, const char *module, const char *set, const void *key,
		       size_t key_len, uint32_t timeout_ms);
	int (*set_del)(void *arg, const char *module, const char *set, const void *key,
		       size_t key_len);
	/*
	 * ABI 1.1, from a module's init() only (the host refuses later calls with -EPERM).
	 * set_declare gets the spec checked and the set's full name "<module>_<spec name>";
	 * set_load the full name of one of the module's sets and a range (last NULL: one key).
	 */
	int (*set_declare)(void *arg, const char *module, const char *full,
			   const struct gwlb_set_spec *spec);
	int (*set_load)(void *arg, const char *module, const char *full, const void *first,
			const void *last, size_t key_len);
	/* Called after the mask check, e.g. for a ctnetlink write; nonzero refuses the call. */
	int (*ct_mark_set)(void *arg, const struct gwlb_pkt *pkt, uint32_t value, uint32_t mask);
	int (*ct_label_set)(void *arg, const struct gwlb_pkt *pkt, unsigned bit);
	/* Monotonic clock in ms for the log limiter; NULL = CLOCK_MONOTONIC_COARSE (tests fake it). */
	uint64_t (*now_ms)(void *arg);
};

/*
 * What gwlb_chain_verdict() decided and what the modules asked for on the way. A module's
 * ct_mark_set/ct_label_set are recorded here only while gwlb_chain_verdict() runs on the
 * calling thread and with the very pkt pointer it was given; otherwise they return -EINVAL.
 */
struct gwlb_chain_result {
	enum gwlb_verdict verdict;		/* CONTINUE: nobody decided */
	int index;				/* position in the chain of the decider, -1: none */
	const struct gwlb_module_inst *inst;	/* the decider, NULL: none */
	/* ct mark bits requested with ct_mark_set: apply (mark & ~mask) | value. */
	uint32_t mark_value;
	uint32_t mark_mask;
	/* ct label bits requested with ct_label_set (bit b: labels[b / 32] & 1u << b % 32). */
	uint32_t labels[4];
	bool labels_set;
};

/* Introspection for gwlbctl and the health JSON; strings belong to the instance. */
struct gwlb_module_info {
	const char *name;
	const char *description;
	const char *path;		/* the file it was loaded from */
	const char *args;		/* the arguments joined with spaces ("" if none) */
	int argc;
	const char *const *argv;
	uint64_t verdicts[GWLB_MODULE_NVERDICTS];	/* by enum gwlb_verdict */
	uint64_t invalid;		/* out-of-range verdicts (treated as CONTINUE) */
	uint64_t log_lines;		/* lines delivered to the log callback */
	uint64_t log_suppressed;	/* lines the rate limit dropped */
	uint64_t refused;		/* ct_mark_set/ct_label_set refused: bits outside 0..127
					 * or the module-mark-mask */
	unsigned ncounters;
};

/*
 * Load verdict_<name>.so from the first of search_dirs (NULL-terminated, may be NULL) that
 * has it, then PKGLIBDIR; a name containing '/' is a path. 0, or -errno and one line in err
 * naming the file and the reason.
 */
int gwlb_module_load(const char *name, const char *const *search_dirs, struct gwlb_module **out,
		     char *err, size_t errlen);
void gwlb_module_put(struct gwlb_module *mod);
const char *gwlb_module_name(const struct gwlb_module *mod);
const char *gwlb_module_path(const struct gwlb_module *mod);

/* Allocate the private state and run init(argc, argv); refusal text from the module in err. */
int gwlb_module_instance_new(struct gwlb_module *mod, int argc, const char *const *argv,
			     const struct gwlb_module_host_cfg *cfg, struct gwlb_module_inst **out,
			     char *err, size_t errlen);
void gwlb_module_instance_get(struct gwlb_module_inst *inst);
void gwlb_module_instance_put(struct gwlb_module_inst *inst);
const char *gwlb_module_instance_name(const struct gwlb_module_inst *inst);

void gwlb_module_instance_info(const struct gwlb_module_inst *inst, struct gwlb_module_info *info);
/* Named counter i (< info.ncounters): 0, or -ENOENT. */
int gwlb_module_instance_counter(const struct gwlb_module_inst *inst, unsigned i,
				 const char **name, uint64_t *value);
/* Value of the named counter `name`: 0, or -ENOENT. */
int gwlb_module_instance_counter_get(const struct gwlb_module_inst *inst, const char *name,
				     uint64_t *value);
/*
 * Call fn for every live instance in creation order, under a lock: fn must not create or
 * free instances. Stops at the first nonzero return and returns it.
 */
int gwlb_module_instance_foreach(int (*fn)(const struct gwlb_module_inst *inst, void *arg),
				 void *arg);

/* A chain of n instances (n may be 0: every packet CONTINUE); takes a reference on each. */
int gwlb_chain_new(struct gwlb_module_inst *const *insts, unsigned n, struct gwlb_chain **out);
/* Only after a grace period once no worker can still see it (see top of file). */
void gwlb_chain_free(struct gwlb_chain *chain);
unsigned gwlb_chain_len(const struct gwlb_chain *chain);
struct gwlb_module_inst *gwlb_chain_inst(const struct gwlb_chain *chain, unsigned i);
/* Final verdicts of this chain so far, by enum gwlb_verdict (CONTINUE: undecided). */
void gwlb_chain_totals(const struct gwlb_chain *chain, uint64_t totals[GWLB_MODULE_NVERDICTS]);

/* Ask each instance in order until one says something else than CONTINUE. */
enum gwlb_verdict gwlb_chain_verdict(struct gwlb_chain *chain, const struct gwlb_pkt *pkt,
				     struct gwlb_chain_result *res);

/* "continue", "accept", "drop", "accept_flow", "drop_flow" ("?" otherwise). */
const char *gwlb_module_verdict_str(enum gwlb_verdict v);

#endif
