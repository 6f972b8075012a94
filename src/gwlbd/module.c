/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "module.h"

#define CACHELINE	64
#define MODULE_NAME_MAX	64
#define PRIV_SIZE_MAX	(256u << 20)

struct gwlb_module {
	_Atomic unsigned refs;
	void *dl;
	const struct gwlb_verdict_ops *ops;
	char *path;
};

/* What a module holds as its struct gwlb_host *: just the way back to its instance. */
struct gwlb_host {
	struct gwlb_module_inst *inst;
};

struct gwlb_module_counter {
	char name[GWLB_MODULE_COUNTER_NAME_MAX];
	_Atomic uint64_t value;
};

struct gwlb_module_inst {
	/* read per packet */
	enum gwlb_verdict (*verdict)(void *priv, const struct gwlb_pkt *pkt);
	void *priv;
	struct gwlb_module *mod;
	_Atomic uint64_t verdicts[GWLB_MODULE_NVERDICTS];
	_Atomic uint64_t invalid;
	_Atomic uint64_t refused;	/* ct writes the host refused (bits outside the share) */

	struct gwlb_host host;
	struct gwlb_module_host_cfg cfg;
	bool in_init;			/* set_declare / set_load are for init() only */
	_Atomic unsigned refs;
	int argc;
	char **argv;
	char *args;

	pthread_mutex_t counter_lock;	/* serialises counter_id; counter_add is lock-free */
	_Atomic unsigned ncounters;
	struct gwlb_module_counter counters[GWLB_MODULE_COUNTERS_MAX];

	_Atomic uint64_t log_window;
	_Atomic uint32_t log_count;
	_Atomic uint32_t log_pending;	/* suppressed in the current window, not yet reported */
	_Atomic uint64_t log_lines;
	_Atomic uint64_t log_suppressed;

	struct gwlb_module_inst *prev, *next;	/* registry, creation order */
};

struct gwlb_chain {
	unsigned n;
	_Atomic uint64_t totals[GWLB_MODULE_NVERDICTS];
	struct gwlb_module_inst *inst[];
};

/* The packet a worker is judging, so that ct_mark_set/ct_label_set know where to record. */
struct chain_call {
	const struct gwlb_pkt *pkt;
	struct gwlb_chain_result *res;
};

static __thread struct chain_call *cur_call;

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct gwlb_module_inst *registry_head, *registry_tail;

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

const char *gwlb_module_verdict_str(enum gwlb_verdict v)
{
	static const char *const names[GWLB_MODULE_NVERDICTS] = {
		[GWLB_VERDICT_CONTINUE] = "continue",
		[GWLB_VERDICT_ACCEPT] = "accept",
		[GWLB_VERDICT_DROP] = "drop",
		[GWLB_VERDICT_ACCEPT_FLOW] = "accept_flow",
		[GWLB_VERDICT_DROP_FLOW] = "drop_flow",
	};

	return (unsigned)v < GWLB_MODULE_NVERDICTS ? names[v] : "?";
}

/* ---- host services offered to modules ---- */

static uint64_t inst_now_ms(const struct gwlb_module_inst *inst)
{
	struct timespec ts;

	if (inst->cfg.now_ms)
		return inst->cfg.now_ms(inst->cfg.arg);
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void inst_emit(struct gwlb_module_inst *inst, enum gwlb_log_prio prio, const char *line)
{
	if (inst->cfg.log)
		inst->cfg.log(inst->cfg.arg, inst->mod->ops->name, prio, line);
}

static void inst_report_suppressed(struct gwlb_module_inst *inst)
{
	uint32_t n = atomic_exchange(&inst->log_pending, 0);
	char line[96];

	if (!n)
		return;
	snprintf(line, sizeof(line), "%u lines suppressed (limit %d per %d s)", n,
		 GWLB_MODULE_LOG_BURST, GWLB_MODULE_LOG_WINDOW_MS / 1000);
	inst_emit(inst, GWLB_LOG_WARNING, line);
}

/* true if this line may go out: at most GWLB_MODULE_LOG_BURST per window per instance */
static bool inst_log_allowed(struct gwlb_module_inst *inst)
{
	uint64_t win = inst_now_ms(inst) / GWLB_MODULE_LOG_WINDOW_MS;
	uint64_t old = atomic_load_explicit(&inst->log_window, memory_order_relaxed);

	if (old != win && atomic_compare_exchange_strong(&inst->log_window, &old, win)) {
		atomic_store(&inst->log_count, 0);
		inst_report_suppressed(inst);
	}
	if (atomic_fetch_add_explicit(&inst->log_count, 1, memory_order_relaxed) >=
	    GWLB_MODULE_LOG_BURST) {
		atomic_fetch_add_explicit(&inst->log_pending, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&inst->log_suppressed, 1, memory_order_relaxed);
		return false;
	}
	return true;
}

static void inst_vlog(struct gwlb_module_inst *inst, enum gwlb_log_prio prio, const char *fmt,
		      va_list ap)
{
	char line[512];
	char *p;

	if (!inst_log_allowed(inst))
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	/* one call, one line: a module cannot forge log lines with embedded newlines */
	for (p = line; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	atomic_fetch_add_explicit(&inst->log_lines, 1, memory_order_relaxed);
	inst_emit(inst, prio, line);
}

static void inst_log(struct gwlb_module_inst *inst, enum gwlb_log_prio prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void inst_log(struct gwlb_module_inst *inst, enum gwlb_log_prio prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	inst_vlog(inst, prio, fmt, ap);
	va_end(ap);
}

static void host_log(struct gwlb_host *h, enum gwlb_log_prio prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void host_log(struct gwlb_host *h, enum gwlb_log_prio prio, const char *fmt, ...)
{
	va_list ap;

	if (!h || !fmt)
		return;
	va_start(ap, fmt);
	inst_vlog(h->inst, prio, fmt, ap);
	va_end(ap);
}

static unsigned host_threads(struct gwlb_host *h)
{
	return h && h->inst->cfg.threads ? h->inst->cfg.threads : 1;
}

static int host_set_add(struct gwlb_host *h, const char *set, const void *key, size_t key_len,
			uint32_t timeout_ms)
{
	struct gwlb_module_inst *inst;

	if (!h || !set || !*set || !key || !key_len)
		return -EINVAL;
	inst = h->inst;
	if (!inst->cfg.set_add)
		return -EOPNOTSUPP;
	return inst->cfg.set_add(inst->cfg.arg, inst->mod->ops->name, set, key, key_len,
				 timeout_ms);
}

static int host_set_del(struct gwlb_host *h, const char *set, const void *key, size_t key_len)
{
	struct gwlb_module_inst *inst;

	if (!h || !set || !*set || !key || !key_len)
		return -EINVAL;
	inst = h->inst;
	if (!inst->cfg.set_del)
		return -EOPNOTSUPP;
	return inst->cfg.set_del(inst->cfg.arg, inst->mod->ops->name, set, key, key_len);
}

static bool set_name_ok(const char *name)
{
	size_t i;

	for (i = 0; name[i]; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') ||
		      name[i] == '_'))
			return false;
	return i > 0;
}

/* "<module>_<name>" into full; -EINVAL for a bad name, -ENAMETOOLONG. */
static int set_full_name(const struct gwlb_module_inst *inst, const char *name, char *full)
{
	int n;

	if (!name || !set_name_ok(name))
		return -EINVAL;
	n = snprintf(full, GWLB_MODULE_SET_NAME_MAX, "%s_%s", inst->mod->ops->name, name);
	return n < GWLB_MODULE_SET_NAME_MAX ? 0 : -ENAMETOOLONG;
}

static int host_set_declare(struct gwlb_host *h, const struct gwlb_set_spec *spec)
{
	char full[GWLB_MODULE_SET_NAME_MAX];
	struct gwlb_module_inst *inst;
	int rc;

	if (!h || !spec)
		return -EINVAL;
	inst = h->inst;
	if (!inst->in_init)
		return -EPERM;
	rc = set_full_name(inst, spec->name, full);
	if (rc)
		return rc;
	if ((spec->family != 4 && spec->family != 6) ||
	    spec->action > GWLB_SET_ACTION_ACCEPT ||
	    (spec->action != GWLB_SET_ACTION_NONE &&
	     (spec->match < GWLB_SET_MATCH_SRC || spec->match > GWLB_SET_MATCH_EITHER)))
		return -EINVAL;
	if (!inst->cfg.set_declare)
		return -EOPNOTSUPP;
	return inst->cfg.set_declare(inst->cfg.arg, inst->mod->ops->name, full, spec);
}

static int host_set_load(struct gwlb_host *h, const char *set, const void *first,
			 const void *last, size_t key_len)
{
	char full[GWLB_MODULE_SET_NAME_MAX];
	struct gwlb_module_inst *inst;
	int rc;

	if (!h || !first || (key_len != 4 && key_len != 16))
		return -EINVAL;
	inst = h->inst;
	if (!inst->in_init)
		return -EPERM;
	rc = set_full_name(inst, set, full);
	if (rc)
		return rc;
	if (!inst->cfg.set_load)
		return -EOPNOTSUPP;
	return inst->cfg.set_load(inst->cfg.arg, inst->mod->ops->name, full, first, last, key_len);
}

/* The result of the packet being judged on this thread, or NULL outside gwlb_chain_verdict. */
static struct gwlb_chain_result *current_result(const struct gwlb_pkt *pkt)
{
	struct chain_call *call = cur_call;

	return call && pkt && call->pkt == pkt ? call->res : NULL;
}

static int host_ct_mark_set(struct gwlb_host *h, const struct gwlb_pkt *pkt, uint32_t value,
			    uint32_t mask)
{
	struct gwlb_chain_result *res;
	struct gwlb_module_inst *inst;
	int rc;

	if (!h)
		return -EINVAL;
	inst = h->inst;
	if (mask & ~inst->cfg.mark_mask) {
		atomic_fetch_add_explicit(&inst->refused, 1, memory_order_relaxed);
		return -EPERM;
	}
	res = current_result(pkt);
	if (!res)
		return -EINVAL;
	if (inst->cfg.ct_mark_set) {
		rc = inst->cfg.ct_mark_set(inst->cfg.arg, pkt, value, mask);
		if (rc)
			return rc < 0 ? rc : -EIO;
	}
	res->mark_value = (res->mark_value & ~mask) | (value & mask);
	res->mark_mask |= mask;
	return 0;
}

static int host_ct_label_set(struct gwlb_host *h, const struct gwlb_pkt *pkt, unsigned bit)
{
	struct gwlb_chain_result *res;
	struct gwlb_module_inst *inst;
	int rc;

	if (!h)
		return -EINVAL;
	inst = h->inst;
	if (bit >= 128) {
		atomic_fetch_add_explicit(&inst->refused, 1, memory_order_relaxed);
		return -EINVAL;
	}
	res = current_result(pkt);
	if (!res)
		return -EINVAL;
	if (inst->cfg.ct_label_set) {
		rc = inst->cfg.ct_label_set(inst->cfg.arg, pkt, bit);
		if (rc)
			return rc < 0 ? rc : -EIO;
	}
	res->labels[bit / 32] |= 1u << (bit % 32);
	res->labels_set = true;
	return 0;
}

static bool counter_name_ok(const char *name)
{
	size_t len = 0;

	if (!name)
		return false;
	for (; name[len]; len++) {
		char c = name[len];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'))
			return false;
	}
	return len > 0 && len < GWLB_MODULE_COUNTER_NAME_MAX;
}

static int host_counter_id(struct gwlb_host *h, const char *name)
{
	struct gwlb_module_inst *inst;
	unsigned i, n;
	int rc;

	if (!h || !counter_name_ok(name))
		return -EINVAL;
	inst = h->inst;
	pthread_mutex_lock(&inst->counter_lock);
	n = atomic_load_explicit(&inst->ncounters, memory_order_relaxed);
	for (i = 0; i < n; i++)
		if (!strcmp(inst->counters[i].name, name))
			break;
	if (i < n) {
		rc = i;
	} else if (n == GWLB_MODULE_COUNTERS_MAX) {
		rc = -ENOSPC;
	} else {
		strcpy(inst->counters[n].name, name);
		atomic_store_explicit(&inst->counters[n].value, 0, memory_order_relaxed);
		/* publish the name before the slot becomes visible to counter_add and readers */
		atomic_store_explicit(&inst->ncounters, n + 1, memory_order_release);
		rc = n;
	}
	pthread_mutex_unlock(&inst->counter_lock);
	return rc;
}

static void host_counter_add(struct gwlb_host *h, int id, uint64_t n)
{
	struct gwlb_module_inst *inst;

	if (!h || id < 0)
		return;
	inst = h->inst;
	if ((unsigned)id >= atomic_load_explicit(&inst->ncounters, memory_order_acquire))
		return;
	atomic_fetch_add_explicit(&inst->counters[id].value, n, memory_order_relaxed);
}

static const struct gwlb_host_ops host_ops = {
	.threads = host_threads,
	.set_add = host_set_add,
	.set_del = host_set_del,
	.ct_mark_set = host_ct_mark_set,
	.ct_label_set = host_ct_label_set,
	.log = host_log,
	.counter_id = host_counter_id,
	.counter_add = host_counter_add,
	.set_declare = host_set_declare,
	.set_load = host_set_load,
};

/* ---- loading ---- */

static bool module_name_ok(const char *name, size_t len)
{
	size_t i;

	if (!len || len >= MODULE_NAME_MAX)
		return false;
	for (i = 0; i < len; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') ||
		      name[i] == '_'))
			return false;
	return true;
}

/* "verdict_<name>.so" -> name, or -EINVAL */
static int file_module_name(const char *base, char *name, size_t size)
{
	static const char pfx[] = "verdict_", sfx[] = ".so";
	size_t len = strlen(base);

	if (len <= strlen(pfx) + strlen(sfx) || strncmp(base, pfx, strlen(pfx)) ||
	    strcmp(base + len - strlen(sfx), sfx))
		return -EINVAL;
	len -= strlen(pfx) + strlen(sfx);
	if (!module_name_ok(base + strlen(pfx), len) || len >= size)
		return -EINVAL;
	memcpy(name, base + strlen(pfx), len);
	name[len] = '\0';
	return 0;
}

/* Try dir/verdict_<name>.so for one directory; 0 if the file exists. */
static int module_try(const char *dir, const char *name, char *path, size_t size,
		      char *tried, size_t *used, size_t tried_size)
{
	int n;

	if (!dir || !*dir)
		return -ENOENT;
	n = snprintf(path, size, "%s/verdict_%s.so", dir, name);
	if (n > 0 && (size_t)n < size && !access(path, F_OK))
		return 0;
	n = snprintf(tried + *used, tried_size - *used, "%s%s", *used ? ", " : "", dir);
	if (n > 0 && (size_t)n < tried_size - *used)
		*used += n;
	return -ENOENT;
}

/* The configured directories first, so that a site can override a built-in module. */
static int module_find(const char *name, const char *const *dirs, char *path, size_t size,
		       char *err, size_t errlen)
{
	char tried[512] = "";
	size_t used = 0;
	unsigned i;

	for (i = 0; dirs && dirs[i]; i++)
		if (!module_try(dirs[i], name, path, size, tried, &used, sizeof(tried)))
			return 0;
#ifdef PKGLIBDIR
	if (!module_try(PKGLIBDIR, name, path, size, tried, &used, sizeof(tried)))
		return 0;
#endif
	seterr(err, errlen, "verdict_%s.so: not found in %s", name, used ? tried : "(no directory)");
	return -ENOENT;
}

static void module_free(struct gwlb_module *mod)
{
	if (!mod)
		return;
	if (mod->dl)
		dlclose(mod->dl);
	free(mod->path);
	free(mod);
}

int gwlb_module_load(const char *name, const char *const *search_dirs, struct gwlb_module **out,
		     char *err, size_t errlen)
{
	char path[4096], want[MODULE_NAME_MAX];
	const struct gwlb_verdict_ops *ops;
	struct gwlb_module *mod = NULL;
	gwlb_verdict_entry_fn entry;
	unsigned major, minor;
	const char *base;
	void *sym;
	int rc;

	*out = NULL;
	if (!name || !*name) {
		seterr(err, errlen, "empty module name");
		return -EINVAL;
	}
	if (strchr(name, '/')) {
		if (strlen(name) >= sizeof(path)) {
			seterr(err, errlen, "%.64s...: path too long", name);
			return -ENAMETOOLONG;
		}
		strcpy(path, name);
		base = strrchr(path, '/') + 1;
		if (file_module_name(base, want, sizeof(want))) {
			seterr(err, errlen, "%s: not a module file name: expected verdict_<name>.so "
			       "with <name> in [a-z0-9_]", path);
			return -EINVAL;
		}
		if (access(path, F_OK)) {
			rc = -errno;
			seterr(err, errlen, "%s: %s", path, strerror(-rc));
			return rc;
		}
	} else {
		if (!module_name_ok(name, strlen(name))) {
			seterr(err, errlen, "bad module name \"%.64s\": use [a-z0-9_], at most %d "
			       "characters", name, MODULE_NAME_MAX - 1);
			return -EINVAL;
		}
		strcpy(want, name);
		rc = module_find(name, search_dirs, path, sizeof(path), err, errlen);
		if (rc)
			return rc;
	}

	mod = calloc(1, sizeof(*mod));
	if (!mod) {
		seterr(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	atomic_init(&mod->refs, 1);
	dlerror();
	mod->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!mod->dl) {
		const char *e = dlerror();

		seterr(err, errlen, "%s: cannot open: %s", path, e ? e : "unknown error");
		rc = -ENOEXEC;
		goto cleanup;
	}
	dlerror();
	sym = dlsym(mod->dl, GWLB_VERDICT_ENTRY);
	if (!sym) {
		seterr(err, errlen, "%s: no symbol %s: not a gwlbnf verdict module", path,
		       GWLB_VERDICT_ENTRY);
		rc = -ENOEXEC;
		goto cleanup;
	}
	entry = (gwlb_verdict_entry_fn)sym;
	ops = entry();
	if (!ops) {
		seterr(err, errlen, "%s: %s() returned no descriptor", path, GWLB_VERDICT_ENTRY);
		rc = -ENOEXEC;
		goto cleanup;
	}
	major = ops->abi_version >> 16;
	minor = ops->abi_version & 0xffff;
	if (major != GWLB_VERDICT_ABI_MAJOR || minor > GWLB_VERDICT_ABI_MINOR) {
		seterr(err, errlen, "%s: ABI %u.%u, gwlbd speaks %u.%u: rebuild the module against "
		       "this gwlbd's gwlb/verdict.h", path, major, minor,
		       GWLB_VERDICT_ABI_MAJOR, GWLB_VERDICT_ABI_MINOR);
		rc = -EPROTONOSUPPORT;
		goto cleanup;
	}
	if (!ops->name || !*ops->name) {
		seterr(err, errlen, "%s: the module has no name", path);
		rc = -EINVAL;
		goto cleanup;
	}
	if (strcmp(ops->name, want)) {
		seterr(err, errlen, "%s: the module calls itself \"%.64s\", the file name says "
		       "\"%s\": name the file verdict_<its name>.so", path, ops->name, want);
		rc = -EINVAL;
		goto cleanup;
	}
	if (!ops->verdict) {
		seterr(err, errlen, "%s: the module has no verdict function", path);
		rc = -EINVAL;
		goto cleanup;
	}
	if (ops->priv_size > PRIV_SIZE_MAX) {
		seterr(err, errlen, "%s: private size %zu bytes is more than the %u MiB allowed",
		       path, ops->priv_size, PRIV_SIZE_MAX >> 20);
		rc = -EINVAL;
		goto cleanup;
	}
	mod->ops = ops;
	mod->path = strdup(path);
	if (!mod->path) {
		seterr(err, errlen, "%s: out of memory", path);
		rc = -ENOMEM;
		goto cleanup;
	}
	*out = mod;
	return 0;

cleanup:
	module_free(mod);
	return rc;
}

static void module_get(struct gwlb_module *mod)
{
	atomic_fetch_add_explicit(&mod->refs, 1, memory_order_relaxed);
}

void gwlb_module_put(struct gwlb_module *mod)
{
	if (mod && atomic_fetch_sub_explicit(&mod->refs, 1, memory_order_acq_rel) == 1)
		module_free(mod);
}

const char *gwlb_module_name(const struct gwlb_module *mod)
{
	return mod->ops->name;
}

const char *gwlb_module_path(const struct gwlb_module *mod)
{
	return mod->path;
}

/* ---- instances ---- */

static void inst_free(struct gwlb_module_inst *inst)
{
	int i;

	if (!inst)
		return;
	free(inst->priv);
	if (inst->argv)
		for (i = 0; i < inst->argc; i++)
			free(inst->argv[i]);
	free(inst->argv);
	free(inst->args);
	pthread_mutex_destroy(&inst->counter_lock);
	gwlb_module_put(inst->mod);
	free(inst);
}

static int inst_copy_args(struct gwlb_module_inst *inst, int argc, const char *const *argv)
{
	size_t len = 1;
	int i;

	inst->argv = calloc(argc + 1, sizeof(*inst->argv));
	if (!inst->argv)
		return -ENOMEM;
	for (i = 0; i < argc; i++) {
		inst->argv[i] = strdup(argv[i] ? argv[i] : "");
		if (!inst->argv[i])
			return -ENOMEM;
		inst->argc = i + 1;
		len += strlen(inst->argv[i]) + 1;
	}
	inst->args = malloc(len);
	if (!inst->args)
		return -ENOMEM;
	inst->args[0] = '\0';
	for (i = 0; i < argc; i++) {
		if (i)
			strcat(inst->args, " ");
		strcat(inst->args, inst->argv[i]);
	}
	return 0;
}

int gwlb_module_instance_new(struct gwlb_module *mod, int argc, const char *const *argv,
			     const struct gwlb_module_host_cfg *cfg, struct gwlb_module_inst **out,
			     char *err, size_t errlen)
{
	const struct gwlb_verdict_ops *ops = mod->ops;
	struct gwlb_module_inst *inst = NULL;
	char merr[256] = "";
	void *mem;
	int rc;

	*out = NULL;
	if (argc < 0 || (argc && !argv)) {
		seterr(err, errlen, "%s: bad argument vector", mod->path);
		return -EINVAL;
	}
	if (posix_memalign(&mem, CACHELINE, sizeof(*inst))) {
		seterr(err, errlen, "%s: out of memory", mod->path);
		return -ENOMEM;
	}
	inst = memset(mem, 0, sizeof(*inst));
	pthread_mutex_init(&inst->counter_lock, NULL);
	module_get(mod);
	inst->mod = mod;
	inst->verdict = ops->verdict;
	inst->host.inst = inst;
	if (cfg)
		inst->cfg = *cfg;
	atomic_init(&inst->refs, 1);
	atomic_init(&inst->log_window, inst_now_ms(inst) / GWLB_MODULE_LOG_WINDOW_MS);

	rc = inst_copy_args(inst, argc, argv);
	if (rc) {
		seterr(err, errlen, "%s: out of memory", mod->path);
		goto cleanup;
	}
	if (ops->priv_size) {
		size_t sz = (ops->priv_size + CACHELINE - 1) & ~(size_t)(CACHELINE - 1);

		if (posix_memalign(&mem, CACHELINE, sz)) {
			seterr(err, errlen, "%s: cannot allocate %zu bytes of private state",
			       mod->path, ops->priv_size);
			rc = -ENOMEM;
			goto cleanup;
		}
		inst->priv = memset(mem, 0, sz);
	}
	if (ops->init) {
		inst->in_init = true;
		rc = ops->init(inst->priv, &host_ops, &inst->host, inst->argc,
			       (const char *const *)inst->argv, merr, sizeof(merr));
		inst->in_init = false;
		merr[sizeof(merr) - 1] = '\0';
		if (rc) {
			rc = rc < 0 ? rc : -EINVAL;
			seterr(err, errlen, "%s: init refused \"%s\": %s", mod->path, inst->args,
			       merr[0] ? merr : strerror(-rc));
			goto cleanup;
		}
	}

	pthread_mutex_lock(&registry_lock);
	inst->prev = registry_tail;
	if (registry_tail)
		registry_tail->next = inst;
	else
		registry_head = inst;
	registry_tail = inst;
	pthread_mutex_unlock(&registry_lock);
	*out = inst;
	return 0;

cleanup:
	inst_free(inst);
	return rc;
}

void gwlb_module_instance_get(struct gwlb_module_inst *inst)
{
	atomic_fetch_add_explicit(&inst->refs, 1, memory_order_relaxed);
}

void gwlb_module_instance_put(struct gwlb_module_inst *inst)
{
	if (!inst || atomic_fetch_sub_explicit(&inst->refs, 1, memory_order_acq_rel) != 1)
		return;
	pthread_mutex_lock(&registry_lock);
	if (inst->prev)
		inst->prev->next = inst->next;
	else
		registry_head = inst->next;
	if (inst->next)
		inst->next->prev = inst->prev;
	else
		registry_tail = inst->prev;
	pthread_mutex_unlock(&registry_lock);
	inst_report_suppressed(inst);
	if (inst->mod->ops->fini)
		inst->mod->ops->fini(inst->priv);
	inst_free(inst);
}

const char *gwlb_module_instance_name(const struct gwlb_module_inst *inst)
{
	return inst->mod->ops->name;
}

void gwlb_module_instance_info(const struct gwlb_module_inst *inst, struct gwlb_module_info *info)
{
	const struct gwlb_verdict_ops *ops = inst->mod->ops;
	unsigned v;

	memset(info, 0, sizeof(*info));
	info->name = ops->name;
	info->description = ops->description ? ops->description : "";
	info->path = inst->mod->path;
	info->args = inst->args;
	info->argc = inst->argc;
	info->argv = (const char *const *)inst->argv;
	for (v = 0; v < GWLB_MODULE_NVERDICTS; v++)
		info->verdicts[v] = atomic_load_explicit(&inst->verdicts[v], memory_order_relaxed);
	info->invalid = atomic_load_explicit(&inst->invalid, memory_order_relaxed);
	info->refused = atomic_load_explicit(&inst->refused, memory_order_relaxed);
	info->log_lines = atomic_load_explicit(&inst->log_lines, memory_order_relaxed);
	info->log_suppressed = atomic_load_explicit(&inst->log_suppressed, memory_order_relaxed);
	info->ncounters = atomic_load_explicit(&inst->ncounters, memory_order_acquire);
}

int gwlb_module_instance_counter(const struct gwlb_module_inst *inst, unsigned i,
				 const char **name, uint64_t *value)
{
	if (i >= atomic_load_explicit(&inst->ncounters, memory_order_acquire))
		return -ENOENT;
	if (name)
		*name = inst->counters[i].name;
	if (value)
		*value = atomic_load_explicit(&inst->counters[i].value, memory_order_relaxed);
	return 0;
}

int gwlb_module_instance_counter_get(const struct gwlb_module_inst *inst, const char *name,
				     uint64_t *value)
{
	unsigned i, n = atomic_load_explicit(&inst->ncounters, memory_order_acquire);

	for (i = 0; i < n; i++)
		if (!strcmp(inst->counters[i].name, name))
			return gwlb_module_instance_counter(inst, i, NULL, value);
	return -ENOENT;
}

int gwlb_module_instance_foreach(int (*fn)(const struct gwlb_module_inst *inst, void *arg),
				 void *arg)
{
	struct gwlb_module_inst *inst;
	int rc = 0;

	pthread_mutex_lock(&registry_lock);
	for (inst = registry_head; inst && !rc; inst = inst->next)
		rc = fn(inst, arg);
	pthread_mutex_unlock(&registry_lock);
	return rc;
}

/* ---- chains ---- */

int gwlb_chain_new(struct gwlb_module_inst *const *insts, unsigned n, struct gwlb_chain **out)
{
	struct gwlb_chain *chain;
	unsigned i;

	*out = NULL;
	if (n && !insts)
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (!insts[i])
			return -EINVAL;
	chain = calloc(1, sizeof(*chain) + n * sizeof(chain->inst[0]));
	if (!chain)
		return -ENOMEM;
	chain->n = n;
	for (i = 0; i < n; i++) {
		gwlb_module_instance_get(insts[i]);
		chain->inst[i] = insts[i];
	}
	*out = chain;
	return 0;
}

void gwlb_chain_free(struct gwlb_chain *chain)
{
	unsigned i;

	if (!chain)
		return;
	for (i = 0; i < chain->n; i++)
		gwlb_module_instance_put(chain->inst[i]);
	free(chain);
}

unsigned gwlb_chain_len(const struct gwlb_chain *chain)
{
	return chain ? chain->n : 0;
}

struct gwlb_module_inst *gwlb_chain_inst(const struct gwlb_chain *chain, unsigned i)
{
	return chain && i < chain->n ? chain->inst[i] : NULL;
}

void gwlb_chain_totals(const struct gwlb_chain *chain, uint64_t totals[GWLB_MODULE_NVERDICTS])
{
	unsigned v;

	for (v = 0; v < GWLB_MODULE_NVERDICTS; v++)
		totals[v] = chain ? atomic_load_explicit(&chain->totals[v], memory_order_relaxed) : 0;
}

enum gwlb_verdict gwlb_chain_verdict(struct gwlb_chain *chain, const struct gwlb_pkt *pkt,
				     struct gwlb_chain_result *res)
{
	enum gwlb_verdict v = GWLB_VERDICT_CONTINUE;
	struct gwlb_chain_result scratch;
	struct chain_call call;
	unsigned i;

	if (!res)
		res = &scratch;
	memset(res, 0, sizeof(*res));
	res->index = -1;
	if (!chain)
		return v;
	call.pkt = pkt;
	call.res = res;
	cur_call = &call;
	for (i = 0; i < chain->n; i++) {
		struct gwlb_module_inst *inst = chain->inst[i];

		v = inst->verdict(inst->priv, pkt);
		if ((unsigned)v >= GWLB_MODULE_NVERDICTS) {
			atomic_fetch_add_explicit(&inst->invalid, 1, memory_order_relaxed);
			inst_log(inst, GWLB_LOG_ERR, "verdict() returned %d, not a gwlb_verdict: "
				 "treated as CONTINUE", (int)v);
			v = GWLB_VERDICT_CONTINUE;
			continue;
		}
		atomic_fetch_add_explicit(&inst->verdicts[v], 1, memory_order_relaxed);
		if (v != GWLB_VERDICT_CONTINUE) {
			res->index = i;
			res->inst = inst;
			break;
		}
	}
	cur_call = NULL;
	res->verdict = v;
	atomic_fetch_add_explicit(&chain->totals[v], 1, memory_order_relaxed);
	return v;
}
