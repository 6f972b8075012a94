/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The policy host: the policy file's module chains (module.c), gwlbd's nft table with the
 * queue rules (nft.c) and the NFQUEUE workers (nfq.c), tied together. Workers judge with
 * whatever chain set is published; a reload builds a complete new set off the packet path,
 * publishes it, waits until no worker can still be inside the old one, then frees it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <linux/netfilter/nf_tables.h>

#include "ctwrite.h"
#include "eniname.h"
#include "gwlbd.h"
#include "log.h"
#include "module.h"
#include "nfq.h"
#include "nft.h"
#include "policy.h"
#include "policyhost.h"

struct eni_chain {
	uint64_t eni_id;
	struct gwlb_chain *chain;
};

/* One published policy: immutable once workers can see it. */
struct chains {
	struct gwlb_policy *policy;
	struct gwlb_chain *global;
	unsigned n_enis;
	struct eni_chain *enis;		/* sorted by eni_id */
	uint64_t generation;
	/*
	 * Sets the modules declared from init() (struct gwlb_nft_set): they belong to this
	 * policy and are only written while it is built; scope is the interface of the chain
	 * being built ("" for the global one).
	 */
	struct gwlb_nft_set *sets;
	unsigned n_sets, cap_sets;
	char scope[IFNAMSIZ];
	bool sealed;
};

#define MAX_WORKERS GWLB_POLICY_MAX_QUEUES

/* A worker's slot: the generation it is judging with, 0 while outside a judge call. */
struct worker_slot {
	_Atomic uint64_t active;
	char pad[64 - sizeof(uint64_t)];
};

/* nft set updates asked for by modules: applied by our own thread, never on the packet path. */
#define SET_QUEUE_LEN 4096

struct set_op {
	char set[GWLB_NFT_SET_NAME_MAX];
	uint8_t key[GWLB_NFT_DROPFLOW_KEY6];
	uint8_t key_len;
	bool add;
	uint32_t timeout_ms;
};

static struct {
	bool running;
	char path[256];
	struct gwlb_nft_cfg nft;
	bool native_queue;
	_Atomic(struct chains *) cur;
	uint64_t generation;
	struct worker_slot slot[MAX_WORKERS];
	pthread_mutex_t reload_lock;

	pthread_t set_thread;
	pthread_mutex_t set_lock;
	pthread_cond_t set_cond;
	struct set_op *setq;
	unsigned set_head, set_len;
	bool set_stop;
	gwlb_ctr_t set_applied, set_failed, set_overflow;
	gwlb_ctr_t reloads, reload_failures;
	gwlb_ctr_t sticky_drops;	/* dropflow elements asked for */
} P = {
	.reload_lock = PTHREAD_MUTEX_INITIALIZER,
	.set_lock = PTHREAD_MUTEX_INITIALIZER,
	.set_cond = PTHREAD_COND_INITIALIZER,
};

static void host_log(void *arg, const char *module, enum gwlb_log_prio prio, const char *line)
{
	enum gwlb_log_level l = prio <= GWLB_LOG_ERR ? GWLB_LL_CRITICAL :
				prio <= GWLB_LOG_WARNING ? GWLB_LL_IMPORTANT :
				prio <= GWLB_LOG_INFO ? GWLB_LL_INFO : GWLB_LL_DEBUG;

	gwlb_log(GWLB_LS_POLICY, l, "module %s: %s", module, line);
}

static int set_enqueue(const char *set, const void *key, size_t key_len, uint32_t timeout_ms,
		       bool add)
{
	struct set_op *op;

	if (!key_len || key_len > sizeof(op->key))
		return -EINVAL;
	if (strlen(set) >= sizeof(op->set))
		return -ENAMETOOLONG;
	pthread_mutex_lock(&P.set_lock);
	if (P.set_len == SET_QUEUE_LEN) {
		pthread_mutex_unlock(&P.set_lock);
		gwlb_ctr_add(&P.set_overflow, 1);
		return -ENOSPC;
	}
	op = &P.setq[(P.set_head + P.set_len++) % SET_QUEUE_LEN];
	snprintf(op->set, sizeof(op->set), "%s", set);
	memcpy(op->key, key, key_len);
	op->key_len = key_len;
	op->add = add;
	op->timeout_ms = timeout_ms;
	pthread_cond_signal(&P.set_cond);
	pthread_mutex_unlock(&P.set_lock);
	return 0;
}

static struct gwlb_nft_set *set_find(struct chains *c, const char *name)
{
	unsigned i;

	for (i = 0; c && i < c->n_sets; i++)
		if (!strcmp(c->sets[i].name, name))
			return &c->sets[i];
	return NULL;
}

/*
 * The kernel name of `set` as module `module` of policy c means it: one of its own
 * declared sets by the short name, a declared set by its full name, else any set of the
 * table. A declared set checks the key length.
 */
static int set_resolve(struct chains *c, const char *module, const char *set, size_t key_len,
		       const char **name)
{
	char full[GWLB_NFT_SET_NAME_MAX];
	struct gwlb_nft_set *d = NULL;

	if ((size_t)snprintf(full, sizeof(full), "%s_%s", module, set) < sizeof(full))
		d = set_find(c, full);
	if (!d)
		d = set_find(c, set);
	*name = d ? d->name : set;
	if (d && key_len != (d->family == 6 ? 16u : 4u))
		return -EINVAL;
	return 0;
}

static int host_set_add(void *arg, const char *module, const char *set, const void *key,
			size_t key_len, uint32_t timeout_ms)
{
	const char *name;
	int ret;

	ret = set_resolve(arg, module, set, key_len, &name);
	return ret ? ret : set_enqueue(name, key, key_len, timeout_ms, true);
}

static int host_set_del(void *arg, const char *module, const char *set, const void *key,
			size_t key_len)
{
	const char *name;
	int ret;

	ret = set_resolve(arg, module, set, key_len, &name);
	return ret ? ret : set_enqueue(name, key, key_len, 0, false);
}

static int host_set_declare(void *arg, const char *module, const char *full,
			    const struct gwlb_set_spec *spec)
{
	struct chains *c = arg;
	struct gwlb_nft_set *d;

	if (!c || c->sealed)
		return -EPERM;
	/* one declaration per name: the policy has one set, whichever chain asks */
	if (set_find(c, full) || !strcmp(full, GWLB_NFT_DROPFLOW4) ||
	    !strcmp(full, GWLB_NFT_DROPFLOW6))
		return -EEXIST;
	if (c->n_sets == c->cap_sets) {
		unsigned cap = c->cap_sets ? 2 * c->cap_sets : 8;

		d = reallocarray(c->sets, cap, sizeof(*d));
		if (!d)
			return -ENOMEM;
		c->sets = d;
		c->cap_sets = cap;
	}
	d = &c->sets[c->n_sets++];
	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", full);
	d->family = spec->family;
	d->match = spec->match;
	d->action = spec->action;
	d->interval = spec->interval;
	d->timeout_ms = spec->timeout_ms;
	snprintf(d->iifname, sizeof(d->iifname), "%s", c->scope);
	log_info(GWLB_LS_POLICY, "module %s declares set %s (ipv%u, %s%s, timeout %u ms)%s%s",
		 module, full, d->family, d->interval ? "interval, " : "",
		 d->action == GWLB_SET_ACTION_DROP ? "drop" :
		 d->action == GWLB_SET_ACTION_ACCEPT ? "accept" : "no rule", d->timeout_ms,
		 d->iifname[0] ? " for " : "", d->iifname);
	return 0;
}

static int host_set_load(void *arg, const char *module, const char *full, const void *first,
			 const void *last, size_t key_len)
{
	struct chains *c = arg;
	struct gwlb_nft_set *d;

	if (!c || c->sealed)
		return -EPERM;
	d = set_find(c, full);
	if (!d)
		return -ENOENT;
	if (key_len != (d->family == 6 ? 16u : 4u))
		return -EINVAL;
	return gwlb_nft_set_load(d, first, last);
}

static void *set_main(void *arg)
{
	struct set_op op;

	pthread_mutex_lock(&P.set_lock);
	for (;;) {
		while (!P.set_len && !P.set_stop)
			pthread_cond_wait(&P.set_cond, &P.set_lock);
		if (P.set_stop)
			break;
		op = P.setq[P.set_head];
		P.set_head = (P.set_head + 1) % SET_QUEUE_LEN;
		P.set_len--;
		pthread_mutex_unlock(&P.set_lock);
		/* our table is inet: the element messages name that family */
		if (gwlb_nft_set_elem(op.set, 0, op.key, op.key_len, op.timeout_ms, op.add) < 0) {
			gwlb_ctr_add(&P.set_failed, 1);
			log_pkt(GWLB_LS_POLICY, GWLB_LL_IMPORTANT, "set %s: cannot %s an element",
				op.set, op.add ? "add" : "delete");
		} else {
			gwlb_ctr_add(&P.set_applied, 1);
		}
		pthread_mutex_lock(&P.set_lock);
	}
	pthread_mutex_unlock(&P.set_lock);
	return NULL;
}

static void set_thread_stop(void)
{
	pthread_mutex_lock(&P.set_lock);
	P.set_stop = true;
	pthread_cond_signal(&P.set_cond);
	pthread_mutex_unlock(&P.set_lock);
	pthread_join(P.set_thread, NULL);
	free(P.setq);
	P.setq = NULL;
}

/* Build one chain from a policy chain. A module that cannot load follows on_module_error. */
static int chain_build(struct chains *c, const struct gwlb_policy *pol,
		       const struct gwlb_policy_chain *pc, struct gwlb_chain **out, char *err,
		       size_t errlen)
{
	struct gwlb_module_host_cfg hc = {
		.arg = c,
		.threads = pol->queue.count,
		.mark_mask = pol->queue.module_mark_mask,
		.log = host_log,
		.set_add = host_set_add,
		.set_del = host_set_del,
		.set_declare = host_set_declare,
		.set_load = host_set_load,
	};
	struct gwlb_module_inst *insts[GWLB_POLICY_MAX_MODULES] = { NULL };
	unsigned n = 0, i;
	int ret = 0;

	/* the sets of an [eni] chain's modules only see that ENI's packets */
	c->scope[0] = '\0';
	if (pc->eni_id && gwlb_eni_ifname("gwi-", pc->eni_id, c->scope, sizeof(c->scope)) < 0)
		c->scope[0] = '\0';
	for (i = 0; i < pc->n_modules; i++) {
		const struct gwlb_policy_module *pm = &pc->modules[i];
		struct gwlb_module *mod = NULL;
		char why[512];

		ret = gwlb_module_load(pm->name, (const char *const *)pol->dirs, &mod, why,
				       sizeof(why));
		if (!ret) {
			ret = gwlb_module_instance_new(mod, pm->argc, (const char *const *)pm->argv,
						       &hc, &insts[n], why, sizeof(why));
			gwlb_module_put(mod);
			if (!ret)
				n++;
		}
		if (ret) {
			if (pol->queue.on_module_error == GWLB_POLICY_ON_ERROR_REFUSE) {
				snprintf(err, errlen, "%s:%d: module %s: %s", pol->file, pm->line,
					 pm->name, why);
				goto out;
			}
			log_imp(GWLB_LS_POLICY, "%s:%d: module %s skipped: %s", pol->file, pm->line,
				pm->name, why);
			ret = 0;
		}
	}
	ret = gwlb_chain_new(insts, n, out);
	if (ret)
		snprintf(err, errlen, "cannot build a chain: %s", strerror(-ret));
out:
	for (i = 0; i < n; i++)
		gwlb_module_instance_put(insts[i]);
	return ret;
}

static void chains_free(struct chains *c)
{
	unsigned i;

	if (!c)
		return;
	if (c->global)
		gwlb_chain_free(c->global);
	for (i = 0; i < c->n_enis; i++)
		if (c->enis[i].chain)
			gwlb_chain_free(c->enis[i].chain);
	free(c->enis);
	for (i = 0; i < c->n_sets; i++)
		gwlb_nft_set_release(&c->sets[i]);
	free(c->sets);
	gwlb_policy_free(c->policy);
	free(c);
}

static int chains_build(struct gwlb_policy *pol, struct chains **out, char *err, size_t errlen)
{
	struct chains *c = calloc(1, sizeof(*c));
	unsigned i;
	int ret;

	if (!c)
		return -ENOMEM;
	c->policy = pol;
	ret = chain_build(c, pol, &pol->global, &c->global, err, errlen);
	if (ret)
		goto fail;
	c->enis = calloc(pol->n_enis ? pol->n_enis : 1, sizeof(*c->enis));
	if (!c->enis) {
		ret = -ENOMEM;
		goto fail;
	}
	/* The parser keeps [eni] sections sorted by id: bsearch works on them as they come. */
	for (i = 0; i < pol->n_enis; i++) {
		c->enis[i].eni_id = pol->enis[i].eni_id;
		ret = chain_build(c, pol, &pol->enis[i], &c->enis[i].chain, err, errlen);
		if (ret)
			goto fail;
		c->n_enis++;
	}
	c->sealed = true;
	*out = c;
	return 0;
fail:
	/* On failure the caller still owns pol (start and reload free it themselves). */
	c->policy = NULL;
	chains_free(c);
	return ret;
}

static struct gwlb_chain *chain_for(struct chains *c, uint64_t eni)
{
	unsigned lo = 0, hi = c->n_enis;

	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;

		if (c->enis[mid].eni_id == eni)
			return c->enis[mid].chain;
		if (c->enis[mid].eni_id < eni)
			lo = mid + 1;
		else
			hi = mid;
	}
	return c->global;
}

static void judge(void *arg, const struct gwlb_pkt *pkt, struct gwlb_nfq_judgement *j)
{
	struct worker_slot *slot = &P.slot[pkt->worker % MAX_WORKERS];
	struct gwlb_chain_result res;
	struct chains *c;

	/* Announce the generation before reading the pointer: reload waits on it. */
	atomic_store_explicit(&slot->active, UINT64_MAX, memory_order_seq_cst);
	c = atomic_load_explicit(&P.cur, memory_order_seq_cst);
	atomic_store_explicit(&slot->active, c->generation, memory_order_seq_cst);
	j->verdict = gwlb_chain_verdict(chain_for(c, pkt->eni_id), pkt, &res);
	j->mark_value = res.mark_value;
	j->mark_mask = res.mark_mask;
	/* zone 0 until ENIs get their own (issue 4): then the ENI's zone goes here */
	if (res.labels_set)
		gwlb_ctwrite_labels(pkt, 0, res.labels);
	/*
	 * A flow dropped on its first packet leaves no conntrack entry to remember that: ask
	 * for its 5-tuple in the sticky-drop set (applied by the set thread, not here).
	 */
	if (j->verdict == GWLB_VERDICT_DROP_FLOW && (pkt->ct_state & GWLB_CT_NEW) &&
	    P.nft.dropflow_timeout_ms) {
		uint8_t key[GWLB_NFT_DROPFLOW_KEY6];
		const char *set;
		size_t n = gwlb_nft_dropflow_key(pkt, key, &set);

		if (n && !set_enqueue(set, key, n, 0, true))
			gwlb_ctr_add(&P.sticky_drops, 1);
	}
	atomic_store_explicit(&slot->active, 0, memory_order_release);
}

/* Wait until no worker is judging with a generation older than gen. */
static void grace_period(uint64_t gen)
{
	struct timespec ts = { 0, 1000000 };
	unsigned i;

	for (i = 0; i < MAX_WORKERS; i++) {
		uint64_t a;

		/* UINT64_MAX: between announcing and reading the pointer, may hold the old one. */
		while ((a = atomic_load(&P.slot[i].active)) != 0 && (a < gen || a == UINT64_MAX))
			nanosleep(&ts, NULL);
	}
}

static void nfq_log(int prio, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	gwlb_log(GWLB_LS_POLICY, prio <= LOG_ERR ? GWLB_LL_CRITICAL :
		 prio <= LOG_WARNING ? GWLB_LL_IMPORTANT :
		 prio <= LOG_INFO ? GWLB_LL_INFO : GWLB_LL_DEBUG, "%s", line);
}

/* Modules' label writes: the kernel must give new entries room for labels first. */
static int ct_labels_start(char *err, size_t errlen)
{
	struct gwlb_ctwrite_cfg cc = { .log = nfq_log };
	int ret;

	ret = gwlb_nft_connlabel_hold();
	if (ret) {
		snprintf(err, errlen, "nft table inet %s: chain %s (conntrack labels): %s",
			 GWLB_NFT_TABLE, GWLB_NFT_CHAIN_CONNLABEL, strerror(-ret));
		return ret;
	}
	return gwlb_ctwrite_start(&cc, err, errlen);
}

int gwlb_policyhost_start(const char *path, char *err, size_t errlen)
{
	struct gwlb_policy_err perr;
	struct gwlb_policy *pol = NULL;
	struct gwlb_nfq_cfg qc;
	struct chains *c = NULL;
	int ret;

	snprintf(P.path, sizeof(P.path), "%s", path);
	ret = gwlb_policy_parse_file(path, &pol, &perr);
	if (ret) {
		snprintf(err, errlen, "%s:%d: %s", perr.file, perr.line, perr.reason);
		return ret;
	}
	P.setq = calloc(SET_QUEUE_LEN, sizeof(*P.setq));
	if (!P.setq) {
		gwlb_policy_free(pol);
		return -ENOMEM;
	}
	P.set_stop = false;
	ret = pthread_create(&P.set_thread, NULL, set_main, NULL);
	if (ret) {
		gwlb_policy_free(pol);
		snprintf(err, errlen, "cannot start the set-update thread: %s", strerror(ret));
		return -ret;
	}
	ret = chains_build(pol, &c, err, errlen);
	if (ret)
		goto fail;
	c->generation = ++P.generation;
	atomic_store(&P.cur, c);

	gwlb_nft_cfg_init(&P.nft);
	P.nft.queue_first = pol->queue.first;
	P.nft.queue_count = pol->queue.count;
	P.nft.fail_open = pol->queue.bypass;
	P.nft.fanout = pol->queue.fanout;
	P.nft.prio_pre = pol->queue.priority;
	P.nft.prio_post = pol->queue.post_priority;
	P.nft.dropflow_timeout_ms = pol->queue.drop_flow_timeout * 1000;
	P.nft.sets = c->sets;
	P.nft.n_sets = c->n_sets;
	ret = gwlb_nft_probe_native_queue();
	if (ret < 0) {
		snprintf(err, errlen, "cannot talk to nftables: %s", strerror(-ret));
		goto fail;
	}
	P.native_queue = ret == 1;
	ret = gwlb_nft_install(&P.nft, P.native_queue, err, errlen);
	if (ret)
		goto fail;
	ret = ct_labels_start(err, errlen);
	if (ret) {
		gwlb_nft_remove();
		goto fail;
	}

	memset(&qc, 0, sizeof(qc));
	qc.first = pol->queue.first;
	qc.count = pol->queue.count;
	qc.maxlen = pol->queue.maxlen;
	qc.fail_open = pol->queue.fail_open;
	qc.gso = true;
	qc.decision_shift = P.nft.decision_shift;
	qc.newflow_bit = P.nft.newflow_bit;
	qc.judge = judge;
	qc.log = nfq_log;
	ret = gwlb_nfq_start(&qc, err, errlen);
	if (ret) {
		gwlb_ctwrite_stop();
		gwlb_nft_remove();
		goto fail;
	}
	P.running = true;
	log_imp(GWLB_LS_POLICY, "policy %s: queues %u-%u (%s queue rule, ct info by %s), fail %s, "
		"%u module(s) globally, %u ENI chain(s)", path, qc.first, qc.first + qc.count - 1,
		gwlb_nft_queue_path(), gwlb_nfq_ct_path(), qc.fail_open ? "open" : "closed",
		gwlb_chain_len(c->global), c->n_enis);
	return 0;
fail:
	if (c)
		chains_free(c);
	else
		gwlb_policy_free(pol);
	atomic_store(&P.cur, NULL);
	set_thread_stop();
	return ret ? ret : -EINVAL;
}

int gwlb_policyhost_reload(char *err, size_t errlen)
{
	struct gwlb_policy_err perr;
	struct gwlb_policy *pol = NULL;
	struct chains *c = NULL, *old;
	struct gwlb_nft_cfg nc;
	int ret;

	if (!P.running) {
		snprintf(err, errlen, "no policy is running (start gwlbd with --policy)");
		return -ENOENT;
	}
	pthread_mutex_lock(&P.reload_lock);
	ret = gwlb_policy_parse_file(P.path, &pol, &perr);
	if (ret) {
		snprintf(err, errlen, "%s:%d: %s", perr.file, perr.line, perr.reason);
		goto out;
	}
	ret = chains_build(pol, &c, err, errlen);
	if (ret) {
		gwlb_policy_free(pol);
		goto out;
	}
	/* the new sets and rules in one transaction; if it fails, nothing changed */
	nc = P.nft;
	nc.sets = c->sets;
	nc.n_sets = c->n_sets;
	old = atomic_load(&P.cur);
	ret = gwlb_nft_reload(&nc, old->sets, old->n_sets, P.native_queue, err, errlen);
	if (ret) {
		chains_free(c);
		goto out;
	}
	P.nft = nc;
	c->generation = ++P.generation;
	old = atomic_exchange(&P.cur, c);
	grace_period(c->generation);
	chains_free(old);
	log_imp(GWLB_LS_POLICY, "policy %s reloaded: %u module(s) globally, %u ENI chain(s)"
		" (queue settings are read at start only)", P.path, gwlb_chain_len(c->global),
		c->n_enis);
out:
	if (ret)
		gwlb_ctr_add(&P.reload_failures, 1);
	else
		gwlb_ctr_add(&P.reloads, 1);
	pthread_mutex_unlock(&P.reload_lock);
	return ret;
}

void gwlb_policyhost_stop(void)
{
	if (!P.running)
		return;
	gwlb_nfq_stop();
	gwlb_ctwrite_stop();
	/* Without our table the kernel stops queueing: traffic flows without policy. */
	gwlb_nft_remove();
	set_thread_stop();
	chains_free(atomic_exchange(&P.cur, NULL));
	P.running = false;
}

static json_t *chain_json(struct gwlb_chain *chain)
{
	json_t *arr = json_array();
	unsigned i, k;

	for (i = 0; i < gwlb_chain_len(chain); i++) {
		struct gwlb_module_inst *inst = gwlb_chain_inst(chain, i);
		struct gwlb_module_info mi;
		json_t *v, *ctr;

		gwlb_module_instance_info(inst, &mi);
		v = json_object();
		for (k = 0; k < GWLB_MODULE_NVERDICTS; k++)
			json_object_set_new(v, gwlb_module_verdict_str(k),
					    json_integer((json_int_t)mi.verdicts[k]));
		ctr = json_object();
		for (k = 0; k < mi.ncounters; k++) {
			const char *name;
			uint64_t val;

			if (!gwlb_module_instance_counter(inst, k, &name, &val))
				json_object_set_new(ctr, name, json_integer((json_int_t)val));
		}
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:o, s:o, s:I, s:I}",
			"name", mi.name, "path", mi.path, "args", mi.args, "verdicts", v,
			"counters", ctr, "log_suppressed", (json_int_t)mi.log_suppressed,
			"ct_refused", (json_int_t)mi.refused));
	}
	return arr;
}

static json_t *sets_json(const struct chains *c)
{
	static const char *const match[] = { "none", "src", "dst", "both" };
	static const char *const action[] = { "none", "drop", "accept" };
	json_t *arr = json_array();
	unsigned i;

	for (i = 0; i < c->n_sets; i++) {
		const struct gwlb_nft_set *d = &c->sets[i];

		json_array_append_new(arr, json_pack("{s:s, s:i, s:s, s:s, s:b, s:I, s:s, s:I}",
			"name", d->name, "family", d->family, "match", match[d->match & 3],
			"action", action[d->action % 3], "interval", d->interval,
			"timeout_ms", (json_int_t)d->timeout_ms, "iifname", d->iifname,
			"static_elements", (json_int_t)d->n));
	}
	return arr;
}

json_t *gwlb_policyhost_json(void)
{
	struct chains *c;
	json_t *queues, *enis, *root;
	struct gwlb_ctwrite_stats cw;
	unsigned i;

	if (!P.running)
		return json_null();
	/* Reloads free chains: hold the reload lock while reading them. */
	pthread_mutex_lock(&P.reload_lock);
	c = atomic_load(&P.cur);
	queues = json_array();
	for (i = 0; i < gwlb_nfq_workers(); i++) {
		struct gwlb_nfq_stats st;

		gwlb_nfq_stats(i, &st);
		json_array_append_new(queues, json_pack(
			"{s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
			"queue", (int)(P.nft.queue_first + i),
			"received", (json_int_t)st.received, "accepted", (json_int_t)st.accepted,
			"dropped", (json_int_t)st.dropped,
			"flows_accepted", (json_int_t)st.flows_accepted,
			"flows_dropped", (json_int_t)st.flows_dropped,
			"unparsed", (json_int_t)st.unparsed, "enobufs", (json_int_t)st.enobufs,
			"verdict_errors", (json_int_t)st.verdict_errors,
			"kernel_waiting", (json_int_t)st.queue_total,
			"kernel_queue_dropped", (json_int_t)st.queue_dropped,
			"kernel_user_dropped", (json_int_t)st.user_dropped));
	}
	enis = json_array();
	for (i = 0; i < c->n_enis; i++) {
		char eni[32];

		snprintf(eni, sizeof(eni), "eni-%017llx", (unsigned long long)c->enis[i].eni_id);
		json_array_append_new(enis, json_pack("{s:s, s:s, s:o}", "id", eni + 4, "eni", eni,
						      "modules", chain_json(c->enis[i].chain)));
	}
	root = json_pack("{s:s, s:s, s:s, s:b, s:I, s:I, s:o, s:o, s:o, s:{s:I, s:I, s:I}}",
		"file", P.path, "queue_path", gwlb_nft_queue_path(), "ct_path", gwlb_nfq_ct_path(),
		"fail_open", c->policy->queue.fail_open,
		"reloads", (json_int_t)gwlb_ctr_get(&P.reloads),
		"reload_failures", (json_int_t)gwlb_ctr_get(&P.reload_failures),
		"queues", queues, "modules", chain_json(c->global), "enis", enis,
		"set_updates", "applied", (json_int_t)gwlb_ctr_get(&P.set_applied),
		"failed", (json_int_t)gwlb_ctr_get(&P.set_failed),
		"overflow", (json_int_t)gwlb_ctr_get(&P.set_overflow));
	gwlb_ctwrite_stats(&cw);
	json_object_set_new(root, "ct_writes", json_pack("{s:I, s:I, s:I, s:I}",
		"ok", (json_int_t)cw.ok, "failed", (json_int_t)cw.failed,
		"overflow", (json_int_t)cw.overflow, "retried", (json_int_t)cw.retried));
	json_object_set_new(root, "sets", sets_json(c));
	json_object_set_new(root, "sticky_drops", json_pack("{s:b, s:I, s:[s,s], s:I}",
		"enabled", P.nft.dropflow_timeout_ms != 0,
		"timeout", (json_int_t)(P.nft.dropflow_timeout_ms / 1000),
		"sets", GWLB_NFT_DROPFLOW4, GWLB_NFT_DROPFLOW6,
		"requested", (json_int_t)gwlb_ctr_get(&P.sticky_drops)));
	pthread_mutex_unlock(&P.reload_lock);
	return root;
}

json_t *gwlb_policyhost_ping(void)
{
	json_t *queues = json_array();
	unsigned i;

	/*
	 * No reload lock: a reload waits in grace_period() for the very worker that may be
	 * stuck, and the answer must come all the same. Workers live from start to stop.
	 */
	for (i = 0; P.running && i < gwlb_nfq_workers(); i++) {
		struct gwlb_nfq_stall st;

		gwlb_nfq_stall(i, &st);
		json_array_append_new(queues, json_pack("{s:i, s:I, s:I}", "queue", (int)st.queue,
			"waiting", (json_int_t)st.waiting, "stalled_ms", (json_int_t)st.stalled_ms));
	}
	return json_pack("{s:o}", "queues", queues);
}

/* ---- the control socket's policy commands ---- */

#define CTL_TOP_FLOWS_DEFAULT	10
#define CTL_TOP_FLOWS_MAX	256
#define CTL_SET_ELEMS_DEFAULT	1000
#define CTL_SET_ELEMS_MAX	100000

static json_int_t ctl_limit(json_t *req, json_int_t def, json_int_t max)
{
	json_t *v = json_object_get(req, "limit");
	json_int_t n = json_is_integer(v) ? json_integer_value(v) : def;

	return n < 1 ? def : n > max ? max : n;
}

/* The chains as the health page has them, without the queue counters. */
static json_t *ctl_modules(void)
{
	json_t *pol = gwlb_policyhost_json(), *root;

	root = json_pack("{s:O, s:O, s:O}", "file", json_object_get(pol, "file"),
			 "global", json_object_get(pol, "modules"), "enis", json_object_get(pol, "enis"));
	json_decref(pol);
	return root;
}

static json_t *ctl_policy(json_t *req)
{
	unsigned n = (unsigned)ctl_limit(req, CTL_TOP_FLOWS_DEFAULT, CTL_TOP_FLOWS_MAX), i, k;
	struct gwlb_nfq_flow *top = calloc(n, sizeof(*top));
	json_t *root = gwlb_policyhost_json(), *arr = json_array();

	n = top ? gwlb_nfq_top_flows(top, n) : 0;
	for (i = 0; i < n; i++) {
		char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
		int af = top[i].family == 4 ? AF_INET : AF_INET6;

		inet_ntop(af, top[i].saddr, src, sizeof(src));
		inet_ntop(af, top[i].daddr, dst, sizeof(dst));
		json_array_append_new(arr, json_pack("{s:i, s:i, s:s, s:i, s:s, s:i, s:i, s:I}",
			"family", top[i].family, "proto", top[i].proto, "src", src,
			"sport", top[i].sport, "dst", dst, "dport", top[i].dport,
			"queue", (int)(P.nft.queue_first + top[i].worker),
			"packets", (json_int_t)top[i].pkts));
	}
	free(top);
	/* the per-queue counters carry the kernel's: make sure they are there or said missing */
	for (k = 0; k < json_array_size(json_object_get(root, "queues")); k++) {
		struct gwlb_nfq_stats st;

		gwlb_nfq_stats(k, &st);
		json_object_set_new(json_array_get(json_object_get(root, "queues"), k),
				    "kernel_valid", json_boolean(st.kernel_valid));
	}
	json_object_set_new(root, "top_flows", arr);
	return root;
}

static json_t *ctl_set_json(const struct gwlb_nft_set_info *si)
{
	static const struct {
		uint32_t bit;
		const char *name;
	} flags[] = {
		{ NFT_SET_ANONYMOUS, "anonymous" }, { NFT_SET_CONSTANT, "constant" },
		{ NFT_SET_INTERVAL, "interval" }, { NFT_SET_MAP, "map" },
		{ NFT_SET_TIMEOUT, "timeout" }, { NFT_SET_EVAL, "dynamic" },
	};
	json_t *fl = json_array();
	char type[128];
	unsigned i;

	for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if (si->flags & flags[i].bit)
			json_array_append_new(fl, json_string(flags[i].name));
	return json_pack("{s:s, s:s, s:o, s:I, s:I}", "name", si->name,
			 "type", gwlb_nft_type_str(si->key_type, type, sizeof(type)), "flags", fl,
			 "timeout_ms", (json_int_t)si->timeout_ms, "size", (json_int_t)si->size);
}

static int ctl_set_cb(const struct gwlb_nft_set_info *si, void *arg)
{
	json_array_append_new(arg, ctl_set_json(si));
	return 0;
}

struct ctl_elems {
	json_t *arr;
	uint32_t key_type;
	json_int_t left;
	bool truncated;
};

static int ctl_elem_cb(const struct gwlb_nft_elem_info *e, void *arg)
{
	struct ctl_elems *c = arg;
	char key[256];

	if (!c->left--) {
		c->truncated = true;
		return 1;
	}
	json_array_append_new(c->arr, json_pack("{s:s, s:I, s:I}",
		"key", gwlb_nft_elem_str(c->key_type, e, key, sizeof(key)),
		"timeout_ms", (json_int_t)e->timeout_ms, "expires_ms", (json_int_t)e->expires_ms));
	return 0;
}

static json_t *ctl_sets(json_t *req, char *err, size_t errlen)
{
	const char *name = json_string_value(json_object_get(req, "name"));
	struct gwlb_nft_set_info si;
	struct ctl_elems c = { 0 };
	json_t *root;
	int ret;

	if (!name) {
		root = json_pack("{s:s, s:[]}", "table", "inet " GWLB_NFT_TABLE, "sets");
		ret = gwlb_nft_sets_list(ctl_set_cb, json_object_get(root, "sets"));
		if (ret) {
			json_decref(root);
			snprintf(err, errlen, "cannot list the sets of table inet %s: %s",
				 GWLB_NFT_TABLE, strerror(-ret));
			return NULL;
		}
		return root;
	}
	c.arr = json_array();
	c.left = ctl_limit(req, CTL_SET_ELEMS_DEFAULT, CTL_SET_ELEMS_MAX);
	ret = gwlb_nft_set_get(name, &si, NULL, NULL);
	if (!ret) {
		c.key_type = si.key_type;
		ret = gwlb_nft_set_get(name, &si, ctl_elem_cb, &c);
	}
	if (ret) {
		json_decref(c.arr);
		if (ret == -ENOENT)
			snprintf(err, errlen, "no set '%s' in table inet %s (gwlbctl sets lists them)",
				 name, GWLB_NFT_TABLE);
		else
			snprintf(err, errlen, "cannot read set '%s': %s", name, strerror(-ret));
		return NULL;
	}
	return json_pack("{s:s, s:o, s:o, s:b}", "table", "inet " GWLB_NFT_TABLE,
			 "set", ctl_set_json(&si), "elements", c.arr, "truncated", c.truncated);
}

json_t *gwlb_policyhost_ctl(const char *cmd, json_t *req, char *err, size_t errlen)
{
	if (!P.running) {
		snprintf(err, errlen, "no policy is running (start gwlbd with --policy)");
		return NULL;
	}
	if (!strcmp(cmd, "modules"))
		return ctl_modules();
	if (!strcmp(cmd, "policy"))
		return ctl_policy(req);
	if (!strcmp(cmd, "sets"))
		return ctl_sets(req, err, errlen);
	if (!strcmp(cmd, "reload")) {
		if (gwlb_policyhost_reload(err, errlen) < 0)
			return NULL;
		return json_pack("{s:s, s:I, s:I}", "file", P.path,
				 "reloads", (json_int_t)gwlb_ctr_get(&P.reloads),
				 "reload_failures", (json_int_t)gwlb_ctr_get(&P.reload_failures));
	}
	snprintf(err, errlen, "unknown policy command '%s'", cmd);
	return NULL;
}
