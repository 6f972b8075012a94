/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Backends' health checks for the balancer (lbcheck.h). The targets are an array sorted
 * by service and backend name, so a sync is a merge of it with what the services want.
 *
 * Locks. Ours comes first, then lb.c's or hcheck.c's; lb.c never calls in here. A
 * target's callback runs on the checker thread without any of our locks and takes lb.c's
 * (gwlb_lb_backend_health). gwlb_hc_remove() waits for a running callback of its target,
 * so it is called with our lock only, never with lb.c's: the walk over the services only
 * collects, and a reload has released lb.c's lock before the checks follow it. A
 * callback therefore never waits for a thread that waits for it.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "hcheck.h"
#include "lb.h"
#include "lbcheck.h"
#include "log.h"

struct lbc_target {
	char svc[GWLB_LB_NAME_MAX + 1];
	char be[GWLB_LB_NAME_MAX + 1];
	struct gwlb_hc_cfg cfg;		/* with the backend's address */
	uint64_t id;
};

static struct {
	pthread_mutex_t lock;
	bool running;
	struct lbc_target **t;		/* sorted by service, then backend */
	unsigned n;
} L = { .lock = PTHREAD_MUTEX_INITIALIZER };

static int lbc_cmp(const char *svc_a, const char *be_a, const char *svc_b, const char *be_b)
{
	int c = strcmp(svc_a, svc_b);

	return c ? c : strcmp(be_a, be_b);
}

static int lbc_qcmp(const void *a, const void *b)
{
	const struct lbc_target *x = *(struct lbc_target *const *)a;
	const struct lbc_target *y = *(struct lbc_target *const *)b;

	return lbc_cmp(x->svc, x->be, y->svc, y->be);
}

/* The checker thread: one line per transition, then the map. */
static void lbc_cb(void *owner, bool up, const char *why)
{
	const struct lbc_target *t = owner;
	char err[512];
	int ret;

	log_imp(GWLB_LS_CORE, "service %s backend %s %s: %s", t->svc, t->be, up ? "up" : "down",
		why);
	ret = gwlb_lb_backend_health(t->svc, t->be, up ? GWLB_LB_HEALTH_UP : GWLB_LB_HEALTH_DOWN,
				     err, sizeof(err));
	if (ret == -ENOENT)
		log_debug(GWLB_LS_CORE, "service %s backend %s: gone by a reload: %s", t->svc,
			  t->be, err);
	else if (ret < 0)
		log_crit(GWLB_LS_CORE, "service %s backend %s: its map keeps the old health: %s",
			 t->svc, t->be, err);
}

struct lbc_want {
	struct lbc_target **v;
	unsigned n, cap;
	bool nomem;
};

/* Under lb.c's lock: collect only (see the top of the file). */
static void lbc_want_add(const struct gwlb_lb_service *s, const struct gwlb_lb_backend *b,
			 void *arg)
{
	struct lbc_want *w = arg;
	struct gwlb_hc_cfg cfg;
	struct lbc_target *t, **nv;

	if (w->nomem || !gwlb_lb_backend_check(s, b, &cfg))
		return;
	if (w->n == w->cap) {
		nv = realloc(w->v, (w->cap ? w->cap * 2 : 16) * sizeof(*nv));
		if (!nv) {
			w->nomem = true;
			return;
		}
		w->v = nv;
		w->cap = w->cap ? w->cap * 2 : 16;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		w->nomem = true;
		return;
	}
	snprintf(t->svc, sizeof(t->svc), "%s", s->name);
	snprintf(t->be, sizeof(t->be), "%s", b->name);
	t->cfg = cfg;
	w->v[w->n++] = t;
}

/*
 * A check starts in the health the map has: a reload that changes a down backend's check
 * must not put it back in the map before its new check has seen it rise.
 */
static int lbc_add(struct lbc_target *t)
{
	enum gwlb_lb_health h = GWLB_LB_HEALTH_UP;
	int ret;

	gwlb_lb_backend_health_get(t->svc, t->be, &h);
	t->cfg.start_down = h == GWLB_LB_HEALTH_DOWN;
	ret = gwlb_hc_add(&t->cfg, lbc_cb, t, &t->id);
	if (ret < 0)
		log_crit(GWLB_LS_CORE, "service %s backend %s: cannot check it: %s", t->svc, t->be,
			 strerror(-ret));
	return ret;
}

/* replaced: a new check of the same backend follows; otherwise it has none now: healthy. */
static void lbc_remove(struct lbc_target *t, bool replaced)
{
	char err[512];
	int ret;

	gwlb_hc_remove(t->id);
	if (!replaced) {
		ret = gwlb_lb_backend_health(t->svc, t->be, GWLB_LB_HEALTH_UP, err, sizeof(err));
		if (ret < 0 && ret != -ENOENT)
			log_crit(GWLB_LS_CORE, "service %s backend %s: no check now, but its map keeps it down: %s",
				 t->svc, t->be, err);
	}
	free(t);
}

/* Our lock held. */
static void lbc_sync(void)
{
	struct lbc_want w = { .v = NULL };
	struct lbc_target **out;
	unsigned i = 0, j = 0, n = 0, added = 0, removed = 0;
	int c;

	gwlb_lb_backends_walk(lbc_want_add, &w);
	out = w.nomem ? NULL : calloc(w.n + L.n + 1, sizeof(*out));
	if (!out) {
		log_crit(GWLB_LS_CORE, "health checks: out of memory, the checks stay as they were");
		for (j = 0; j < w.n; j++)
			free(w.v[j]);
		free(w.v);
		return;
	}
	if (w.n)
		qsort(w.v, w.n, sizeof(*w.v), lbc_qcmp);
	while (i < L.n || j < w.n) {
		c = i == L.n ? 1 : j == w.n ? -1 :
			lbc_cmp(L.t[i]->svc, L.t[i]->be, w.v[j]->svc, w.v[j]->be);
		if (!c && gwlb_hccfg_same(&L.t[i]->cfg, &w.v[j]->cfg)) {
			out[n++] = L.t[i++];
			free(w.v[j++]);
			continue;
		}
		if (c <= 0) {
			lbc_remove(L.t[i++], !c);
			removed++;
		}
		if (c >= 0) {
			if (!lbc_add(w.v[j])) {
				out[n++] = w.v[j];
				added++;
			} else {
				free(w.v[j]);
			}
			j++;
		}
	}
	free(L.t);
	free(w.v);
	L.t = out;
	L.n = n;
	if (added || removed)
		log_info(GWLB_LS_CORE, "health checks: %u backends checked, %u checks added, %u removed",
			 n, added, removed);
}

int gwlb_lbcheck_start(char *err, size_t errlen)
{
	int ret;

	if (!gwlb_lb_enabled())
		return 0;
	ret = gwlb_hc_start(err, errlen);
	if (ret < 0)
		return ret;
	pthread_mutex_lock(&L.lock);
	L.running = true;
	lbc_sync();
	pthread_mutex_unlock(&L.lock);
	return 0;
}

int gwlb_lbcheck_reload(char *err, size_t errlen)
{
	int ret = gwlb_lb_reload(err, errlen);

	/* also when a service was refused: the others may have changed */
	pthread_mutex_lock(&L.lock);
	if (L.running)
		lbc_sync();
	pthread_mutex_unlock(&L.lock);
	return ret;
}

/* Our lock held. */
static json_t *lbc_status_json(const char *svc, const char *be)
{
	struct lbc_target key, *kp = &key, **t;
	struct gwlb_hc_status st;

	snprintf(key.svc, sizeof(key.svc), "%s", svc);
	snprintf(key.be, sizeof(key.be), "%s", be);
	t = L.n ? bsearch(&kp, L.t, L.n, sizeof(*L.t), lbc_qcmp) : NULL;
	if (!t || gwlb_hc_status((*t)->id, &st) < 0)
		return json_pack("{s:s}", "type", "none");
	return json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:i, s:i, s:i, s:i, s:i, s:i, s:i}",
			 "type", gwlb_hccfg_type_str((*t)->cfg.type), "state", st.up ? "up" : "down",
			 "last_error", st.last_error, "checks", (json_int_t)st.checks,
			 "failures", (json_int_t)st.failures,
			 "transitions", (json_int_t)st.transitions, "last_rtt_us", st.last_rtt_us,
			 "ok_run", (int)st.ok_run, "fail_run", (int)st.fail_run,
			 "interval_ms", (int)(*t)->cfg.interval_ms,
			 "timeout_ms", (int)(*t)->cfg.timeout_ms, "rise", (int)(*t)->cfg.rise,
			 "fall", (int)(*t)->cfg.fall);
}

json_t *gwlb_lbcheck_json(void)
{
	json_t *root = gwlb_lb_json(), *s, *b;
	size_t i, j;

	pthread_mutex_lock(&L.lock);
	json_array_foreach(json_object_get(root, "services"), i, s) {
		const char *svc = json_string_value(json_object_get(s, "name"));

		json_array_foreach(json_object_get(s, "backends"), j, b) {
			const char *be = json_string_value(json_object_get(b, "name"));
			const char *h = json_string_value(json_object_get(b, "health"));

			if (!svc || !be)
				continue;
			json_object_set_new(b, "healthy", json_boolean(h && !strcmp(h, "up")));
			json_object_set_new(b, "check", lbc_status_json(svc, be));
		}
	}
	pthread_mutex_unlock(&L.lock);
	return root;
}

void gwlb_lbcheck_stop(void)
{
	unsigned i;

	pthread_mutex_lock(&L.lock);
	if (L.running) {
		/* no callback runs after it: the map is left as the checks last said */
		gwlb_hc_stop();
		for (i = 0; i < L.n; i++)
			free(L.t[i]);
		free(L.t);
		L.t = NULL;
		L.n = 0;
		L.running = false;
	}
	pthread_mutex_unlock(&L.lock);
}
