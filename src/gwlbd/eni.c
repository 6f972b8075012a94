/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctflush.h"
#include "ctmap.h"
#include "eni.h"
#include "eniidx.h"
#include "eniname.h"
#include "enistate.h"
#include "log.h"
#include "nft.h"
#include "nftrules.h"
#include "tun.h"
#include "udp.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* gwlbnf-ct decodes the decision bits that the policy host's rules write. */
_Static_assert(GWLB_CTMAP_DECISION_MASK == GWLB_NFT_DECISION_MASK,
	       "ctmap.h and nft.h disagree on the decision bits");

struct held_pkt {
	struct held_pkt *next;
	uint64_t eni_id;
	struct sockaddr_in src;
	uint32_t local;
	uint16_t len;
	uint8_t data[GWLB_PKT_BUF];
};

/* Slots of the map that once held an ENI: probing goes on past them. */
#define ENI_TOMB ((struct eni *)1)

static struct {
	int epfd;
	struct gwlb_ev wake;		/* eventfd: orphans to look at */
	_Atomic(struct eni *) *map;	/* open addressing by id; single writer (manager) */
	uint32_t map_mask;
	struct gwlb_eniidx *idx;	/* stable indexes, kept in --state-file */

	pthread_mutex_t hold_lock;	/* pool, orphans, every ENI's held list */
	struct held_pkt *pool;
	struct held_pkt *free_pkts;
	struct held_pkt *orphans, **orphans_tail;
	/*
	 * ENIs asked for by packets that found no room in the pool: the packet is dropped
	 * but the ENI is still created, so a full pool (or --hold-max 0) never stalls one.
	 */
	uint64_t wanted[64];
	unsigned n_wanted;
	uint64_t held_now;
	gwlb_ctr_t overflow;

	pthread_mutex_t list_lock;	/* the list, against the health thread */
	struct eni *all;
	unsigned count;
	bool shutdown;
} M;

static uint32_t map_hash(uint64_t id)
{
	id ^= id >> 33;
	id *= 0xff51afd7ed558ccdULL;
	id ^= id >> 33;
	return (uint32_t)id;
}

struct eni *gwlb_eni_lookup(uint64_t id)
{
	uint32_t i = map_hash(id) & M.map_mask;
	struct eni *e;
	uint32_t n;

	/* Bounded: after much churn every slot may be a tombstone or an ENI, none empty. */
	for (n = 0; n <= M.map_mask; n++) {
		e = atomic_load_explicit(&M.map[i], memory_order_acquire);
		if (!e)
			return NULL;
		if (e != ENI_TOMB && e->id == id)
			return e;
		i = (i + 1) & M.map_mask;
	}
	return NULL;
}

/* Manager only. Replaces the entry for e->id (or a tombstone or empty slot). */
static void map_publish(uint64_t id, struct eni *e)
{
	uint32_t i = map_hash(id) & M.map_mask, tomb = UINT32_MAX;
	struct eni *cur;
	uint32_t n;

	for (n = 0; n <= M.map_mask; n++) {
		cur = atomic_load(&M.map[i]);
		if (!cur) {
			if (tomb == UINT32_MAX)
				tomb = i;
			break;
		}
		if (cur == ENI_TOMB) {
			if (tomb == UINT32_MAX)
				tomb = i;
		} else if (cur->id == id) {
			atomic_store_explicit(&M.map[i], e ? e : ENI_TOMB, memory_order_release);
			return;
		}
		i = (i + 1) & M.map_mask;
	}
	/* Live ENIs are at most half the slots, so a free or dead slot was seen. */
	if (e && tomb != UINT32_MAX)
		atomic_store_explicit(&M.map[tomb], e, memory_order_release);
}

static void wake_cb(struct gwlb_ev *ev, uint32_t events);
static void hook_cb(struct gwlb_ev *ev, uint32_t events);

int gwlb_eni_init(int epfd, char *err, size_t errlen)
{
	struct epoll_event ee = { .events = EPOLLIN };
	uint32_t size = 16, i;
	int ret;

	memset(&M, 0, sizeof(M));
	M.epfd = epfd;
	pthread_mutex_init(&M.hold_lock, NULL);
	pthread_mutex_init(&M.list_lock, NULL);
	while (size < 2 * gwlbd.opts.max_eni)
		size <<= 1;
	M.map = calloc(size, sizeof(*M.map));
	if (gwlbd.opts.hold_max)
		M.pool = calloc(gwlbd.opts.hold_max, sizeof(*M.pool));
	if (!M.map || (gwlbd.opts.hold_max && !M.pool) ||
	    gwlb_eniidx_alloc(&M.idx, gwlbd.opts.max_eni) < 0) {
		snprintf(err, errlen, "cannot set up the ENI manager: out of memory");
		return -ENOMEM;
	}
	/* A state file we cannot read would lose every ENI's mapping: refuse to start. */
	if (*gwlbd.opts.state_file) {
		ret = gwlb_enistate_load(gwlbd.opts.state_file, M.idx, err, errlen);
		if (ret < 0)
			return ret;
		if (gwlb_eniidx_count(M.idx))
			log_info(GWLB_LS_TUNNEL, "%s: %u ENI indexes kept from the last run",
				 gwlbd.opts.state_file, gwlb_eniidx_count(M.idx));
	}
	M.map_mask = size - 1;
	for (i = 0; i < gwlbd.opts.hold_max; i++) {
		M.pool[i].next = M.free_pkts;
		M.free_pkts = &M.pool[i];
	}
	M.orphans_tail = &M.orphans;

	M.wake.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	M.wake.cb = wake_cb;
	ee.data.ptr = &M.wake;
	if (M.wake.fd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, M.wake.fd, &ee) < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot set up the ENI manager: %s", strerror(-ret));
		return ret;
	}
	return 0;
}

/* After every change of the mappings; a failure costs stability across restarts only. */
static void eni_state_save(void)
{
	char err[512];

	if (!*gwlbd.opts.state_file)
		return;
	if (gwlb_enistate_save(gwlbd.opts.state_file, M.idx, err, sizeof(err)) < 0)
		log_crit(GWLB_LS_TUNNEL, "%s (ENI indexes may change when gwlbd restarts)", err);
}

static void eni_wake(void)
{
	uint64_t one = 1;

	if (write(M.wake.fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_pkt(GWLB_LS_CORE, GWLB_LL_IMPORTANT, "cannot wake the ENI manager: %m");
}

static void pkt_free_locked(struct held_pkt *p)
{
	p->next = M.free_pkts;
	M.free_pkts = p;
	M.held_now--;
}

int gwlb_eni_hold(uint64_t id, const uint8_t *payload, size_t len,
		  const struct sockaddr_in *src, uint32_t local)
{
	struct held_pkt *p;
	struct eni *e;
	bool orphan;

	pthread_mutex_lock(&M.hold_lock);
	/* Re-checked under the lock: the manager flips READY while holding it. */
	e = gwlb_eni_lookup(id);
	if (e && atomic_load(&e->state) == ENI_READY) {
		pthread_mutex_unlock(&M.hold_lock);
		return 1;
	}
	p = M.free_pkts;
	if (!p || len > sizeof(p->data)) {
		bool wake = false;

		if (!e) {
			unsigned i;

			for (i = 0; i < M.n_wanted && M.wanted[i] != id; i++)
				;
			if (i == M.n_wanted && M.n_wanted < ARRAY_SIZE(M.wanted)) {
				M.wanted[M.n_wanted++] = id;
				wake = true;
			}
		}
		pthread_mutex_unlock(&M.hold_lock);
		gwlb_ctr_add(&M.overflow, 1);
		if (wake)
			eni_wake();
		return -ENOBUFS;
	}
	M.free_pkts = p->next;
	M.held_now++;
	p->next = NULL;
	p->eni_id = id;
	p->src = *src;
	p->local = local;
	p->len = len;
	memcpy(p->data, payload, len);
	orphan = !e;
	if (e) {
		*e->held_tail = p;
		e->held_tail = &p->next;
	} else {
		*M.orphans_tail = p;
		M.orphans_tail = &p->next;
	}
	pthread_mutex_unlock(&M.hold_lock);
	if (orphan)
		eni_wake();
	return 0;
}

/* Deliver one held packet to its (ready) ENI and return its buffer. Hold lock held. */
static void held_deliver_locked(struct eni *e, struct held_pkt *p)
{
	struct gwlb_geneve g;

	if (gwlb_geneve_parse(p->data, p->len, &g) == GWLB_GENEVE_OK)
		gwlb_udp_deliver(e, p->data, p->len, &g, &p->src, p->local, 0, gwlbd.drops);
	pkt_free_locked(p);
}

/* Deliver an ENI's held packets in arrival order and open it to the fast path. */
static void eni_make_ready(struct eni *e)
{
	struct held_pkt *p, *next;

	pthread_mutex_lock(&M.hold_lock);
	for (p = e->held; p; p = next) {
		next = p->next;
		held_deliver_locked(e, p);
	}
	e->held = NULL;
	e->held_tail = &e->held;
	atomic_store_explicit(&e->state, ENI_READY, memory_order_release);
	pthread_mutex_unlock(&M.hold_lock);
	log_info(GWLB_LS_TUNNEL, "ENI eni-%s ready: %s / %s", e->id_hex, e->gwi,
		 gwlbd.opts.receive_only ? "(receive-only)" : e->gwo);
}

static void eni_epoll(struct eni *e, int op)
{
	struct epoll_event ee = { .events = EPOLLIN };
	unsigned i, n = gwlbd.opts.receive_only ? 1 : 2;

	for (i = 0; i < gwlbd.n_tun * n; i++) {
		ee.data.ptr = &e->q[i];
		epoll_ctl(gwlbd.tun[i % gwlbd.n_tun].epfd, op, e->q[i].fd, &ee);
	}
}

static void eni_close(struct eni *e)
{
	unsigned i;

	for (i = 0; i < gwlbd.n_tun; i++) {
		if (e->gwi_fd && e->gwi_fd[i] >= 0)
			close(e->gwi_fd[i]);
		if (e->gwo_fd && e->gwo_fd[i] >= 0)
			close(e->gwo_fd[i]);
	}
	free(e->gwi_fd);
	free(e->gwo_fd);
	free(e->q);
	free(e);
}

static int eni_hook_start(struct eni *e, const char *path, const char *action)
{
	struct epoll_event ee = { .events = EPOLLIN };
	char env[6][48];
	const char *envp[7];
	unsigned i;
	int ret;

	/* the hook's four arguments stay gwlbtun's; gwlbd's per-ENI values come as variables */
	snprintf(env[0], sizeof(env[0]), "GWLBNF_INDEX=%u", e->index);
	snprintf(env[1], sizeof(env[1]), "GWLBNF_MARK=%u", gwlb_eniidx_mark(e->index));
	snprintf(env[2], sizeof(env[2]), "GWLBNF_ZONE=%u", gwlb_eniidx_zone(e->index));
	snprintf(env[3], sizeof(env[3]), "GWLBNF_TABLE=%u",
		 gwlb_eniidx_table(gwlbd.opts.route_table_base, e->index));
	snprintf(env[4], sizeof(env[4]), "GWLBNF_PRIORITY=%u",
		 gwlb_eniidx_priority(gwlbd.opts.rule_prio_base, e->index));
	snprintf(env[5], sizeof(env[5]), "GWLBNF_MODE=%s", gwlb_mode_name(e->mode));
	for (i = 0; i < 6; i++)
		envp[i] = env[i];
	envp[6] = NULL;
	ret = gwlb_hook_start(path, action, e->gwi, e->gwo, e->id, envp, &e->hook);
	if (ret < 0) {
		gwlb_ctr_add(&gwlbd.hook_failures, 1);
		log_imp(GWLB_LS_HOOK, "cannot run %s hook %s for eni-%s: %s", action, path,
			e->id_hex, strerror(-ret));
		return ret;
	}
	e->hook_ev.fd = e->hook.pidfd;
	e->hook_ev.cb = hook_cb;
	ee.data.ptr = &e->hook_ev;
	epoll_ctl(M.epfd, EPOLL_CTL_ADD, e->hook.pidfd, &ee);
	e->hook_running = true;
	e->hook_started = gwlbd_now();
	log_debug(GWLB_LS_HOOK, "%s %s %s %s %s (pid %d)", path, action, e->gwi, e->gwo,
		  e->id_hex, e->hook.pid);
	return 0;
}

/* The ENI's nft-rules templates: before its CREATE hook and before its held packets go. */
static void eni_nft_create(struct eni *e)
{
	const struct gwlb_nftrules_eni v = {
		.gwi = e->gwi,
		.gwo = e->gwo,
		.eni_id = e->id,
		.mark = gwlb_eniidx_mark(e->index),
		.zone = gwlb_eniidx_zone(e->index),
		.table = gwlb_eniidx_table(gwlbd.opts.route_table_base, e->index),
	};

	e->nft_table = gwlb_nftrules_eni_create(&v);
}

static void eni_nft_destroy(struct eni *e)
{
	if (e->nft_table)
		gwlb_nftrules_eni_destroy(e->id);
	e->nft_table = false;
}

/* The ENI's mode: its rules and routes, before its CREATE hook and its held packets. */
static void eni_routes_create(struct eni *e)
{
	const struct gwlb_route_eni r = {
		.mode = e->mode,
		.gwi = e->gwi,
		.gwo = e->gwo,
		.mark = gwlb_eniidx_mark(e->index),
		.table = gwlb_eniidx_table(gwlbd.opts.route_table_base, e->index),
		.prio = gwlb_eniidx_priority(gwlbd.opts.rule_prio_base, e->index),
	};
	char err[256];

	/* receive-only: nothing goes back, so there is no gwo to route to */
	if (gwlbd.opts.receive_only)
		return;
	gwlb_route_plan(&r, &e->routes);
	if (gwlb_route_set_add(&e->routes, err, sizeof(err)) < 0)
		log_crit(GWLB_LS_TUNNEL, "eni-%s: %s mode: %s (its traffic is not routed)",
			 e->id_hex, gwlb_mode_name(e->mode), err);
}

/*
 * Forwarding for the ENI's mode, or a warning naming the sysctl: gwlbd must not
 * black-hole an ENI silently on a host with forwarding off. What arrives on gwi is
 * gwlbd's to forward; what comes back on the uplink (route, nat) is the host's.
 */
static void eni_forwarding(struct eni *e)
{
	const char *mode = gwlb_mode_name(e->mode);
	char dev[IFNAMSIZ + 8];
	int ret, i;

	if (gwlbd.opts.receive_only)
		return;
	if (e->mode == GWLB_MODE_LOCAL) {
		for (i = 0; i < 2; i++)
			if (gwlb_route_lookup(i ? AF_INET6 : AF_INET) == -ENETUNREACH)
				log_imp(GWLB_LS_TUNNEL, "eni-%s: local mode: no IPv%c route for the "
					"replies' first lookup: they are not sent unless a route (a "
					"default route, or one to this ENI's clients) exists; gwlbd's "
					"mark_out then sends them out %s", e->id_hex, i ? '6' : '4',
					e->gwo);
		return;
	}
	if (e->mode != GWLB_MODE_PASSTHROUGH && e->mode != GWLB_MODE_ROUTE &&
	    e->mode != GWLB_MODE_NAT)
		return;
	ret = gwlb_tun_forward(e->gwi);
	if (ret < 0) {
		log_crit(GWLB_LS_TUNNEL, "eni-%s: %s mode: cannot turn on forwarding on %s: %s: "
			 "set net.ipv4.conf.%s.forwarding=1 and net.ipv6.conf.all.forwarding=1",
			 e->id_hex, mode, e->gwi, strerror(-ret), e->gwi);
		return;
	}
	if ((ret & GWLB_TUN_FWD_V6) && !gwlb_tun_host_forwards(true, dev, sizeof(dev)))
		log_imp(GWLB_LS_TUNNEL, "eni-%s: %s mode: IPv6 from %s is not forwarded: this "
			"kernel has no net.ipv6.conf.%s.force_forwarding: set "
			"net.ipv6.conf.all.forwarding=1", e->id_hex, mode, e->gwi, e->gwi);
	if (e->mode == GWLB_MODE_PASSTHROUGH)
		return;
	/*
	 * The replies come back on the uplink, which is the host's to configure. Name it when
	 * --uplink gave one plain name, else a placeholder.
	 */
	const char *up = gwlbd.opts.n_uplinks == 1 && !strchr(gwlbd.opts.uplinks[0], '*') ?
			 gwlbd.opts.uplinks[0] : "<uplink>";

	for (i = 0; i < 2; i++)
		if (!gwlb_tun_host_forwards(i, dev, sizeof(dev)))
			log_imp(GWLB_LS_TUNNEL, "eni-%s: %s mode: no interface forwards IPv%c: the "
				"replies that come back on the uplink are not forwarded to %s: set "
				"net.ipv%c.conf.%s.%s=1 (or %s=1)", e->id_hex, mode,
				i ? '6' : '4', e->gwo, i ? '6' : '4', up, i ? "force_forwarding" :
				"forwarding", i ? "net.ipv6.conf.all.forwarding" : "net.ipv4.ip_forward");
}

static void eni_routes_destroy(struct eni *e)
{
	char err[256];

	if (gwlb_route_set_del(&e->routes, err, sizeof(err)) < 0)
		log_imp(GWLB_LS_TUNNEL, "eni-%s: %s", e->id_hex, err);
}

static struct eni *eni_create(uint64_t id)
{
	unsigned nq = gwlbd.n_tun, i;
	char err[512];
	bool changed;
	struct eni *e;
	int ret, index;

	index = gwlb_eniidx_get(M.idx, id, &changed);
	if (index < 0) {
		log_pkt(GWLB_LS_TUNNEL, GWLB_LL_IMPORTANT,
			"eni %017llx refused: already %u ENIs (--max-eni)",
			(unsigned long long)id, gwlbd.opts.max_eni);
		return NULL;
	}
	if (changed)
		eni_state_save();
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->index = (uint16_t)index;
	e->idx = (uint16_t)(index - 1);
	e->id = id;
	e->mode = gwlb_opts_eni_mode(&gwlbd.opts, id);
	snprintf(e->id_hex, sizeof(e->id_hex), "%017llx", (unsigned long long)id);
	gwlb_eni_ifname("gwi-", id, e->gwi, sizeof(e->gwi));
	gwlb_eni_ifname("gwo-", id, e->gwo, sizeof(e->gwo));
	e->held_tail = &e->held;
	e->gwi_fd = malloc(nq * sizeof(int));
	e->q = calloc(2 * nq, sizeof(*e->q));
	if (!gwlbd.opts.receive_only)
		e->gwo_fd = malloc(nq * sizeof(int));
	if (!e->gwi_fd || !e->q || (!gwlbd.opts.receive_only && !e->gwo_fd))
		goto fail;
	for (i = 0; i < nq; i++) {
		e->gwi_fd[i] = -1;
		if (e->gwo_fd)
			e->gwo_fd[i] = -1;
	}
	ret = gwlb_tun_open(e->gwi, nq, e->gwi_fd);
	if (!ret)
		ret = gwlb_tun_setup(e->gwi, gwlbd.opts.mtu);
	if (!ret && e->gwo_fd) {
		ret = gwlb_tun_open(e->gwo, nq, e->gwo_fd);
		if (!ret)
			ret = gwlb_tun_setup(e->gwo, gwlbd.opts.mtu);
	}
	if (ret) {
		log_pkt(GWLB_LS_TUNNEL, GWLB_LL_CRITICAL, "cannot create %s/%s for eni-%s: %s",
			e->gwi, e->gwo, e->id_hex, strerror(-ret));
		goto fail;
	}
	for (i = 0; i < nq; i++) {
		e->q[i] = (struct tunq){ .eni = e, .fd = e->gwi_fd[i], .gwo = false };
		if (e->gwo_fd)
			e->q[nq + i] = (struct tunq){ .eni = e, .fd = e->gwo_fd[i], .gwo = true };
	}
	/* Before the hook and the held packets: their first packet already gets zone and mark. */
	ret = gwlb_nft_net_eni(e->gwi, e->index, true, e->mode == GWLB_MODE_NAT, err,
			       sizeof(err));
	if (ret < 0)
		log_crit(GWLB_LS_TUNNEL, "eni-%s: %s (its flows get no zone or mark)", e->id_hex, err);
	e->net = !ret;
	eni_routes_create(e);
	eni_forwarding(e);
	e->created_ms = gwlbd_now_ms();
	atomic_store(&e->last_active, gwlbd_now());
	atomic_store(&e->state, ENI_CREATING);
	eni_epoll(e, EPOLL_CTL_ADD);

	pthread_mutex_lock(&M.list_lock);
	e->next = M.all;
	M.all = e;
	M.count++;
	pthread_mutex_unlock(&M.list_lock);
	map_publish(id, e);
	log_imp(GWLB_LS_TUNNEL, "new ENI eni-%s: created %s and %s, index %u, mode %s",
		e->id_hex, e->gwi, e->gwo_fd ? e->gwo : "(no gwo: receive-only)", e->index,
		gwlb_mode_name(e->mode));
	eni_nft_create(e);
	if (!gwlbd.opts.create_hook || eni_hook_start(e, gwlbd.opts.create_hook, "CREATE") < 0)
		eni_make_ready(e);
	return e;
fail:
	eni_close(e);
	if (changed && !gwlb_eniidx_put(M.idx, id))
		eni_state_save();
	return NULL;
}

/* Drop every packet held for an ENI id, counting them (creation failed). */
static void drop_held(struct held_pkt *list, enum gwlb_drop why)
{
	struct held_pkt *next;

	pthread_mutex_lock(&M.hold_lock);
	for (; list; list = next) {
		next = list->next;
		gwlb_ctr_add(&gwlbd.drops[why], 1);
		pkt_free_locked(list);
	}
	pthread_mutex_unlock(&M.hold_lock);
}

static void process_orphans(void)
{
	struct held_pkt *list, *p, *next;
	uint64_t wanted[ARRAY_SIZE(M.wanted)];
	unsigned n_wanted, i;
	struct eni *e;

	pthread_mutex_lock(&M.hold_lock);
	list = M.orphans;
	M.orphans = NULL;
	M.orphans_tail = &M.orphans;
	n_wanted = M.n_wanted;
	memcpy(wanted, M.wanted, n_wanted * sizeof(wanted[0]));
	M.n_wanted = 0;
	pthread_mutex_unlock(&M.hold_lock);

	for (i = 0; i < n_wanted && !M.shutdown; i++)
		if (!gwlb_eni_lookup(wanted[i]))
			eni_create(wanted[i]);

	for (p = list; p; p = next) {
		next = p->next;
		p->next = NULL;
		e = gwlb_eni_lookup(p->eni_id);
		if (!e && !M.shutdown)
			e = eni_create(p->eni_id);
		if (!e) {
			drop_held(p, M.shutdown ? GWLB_DROP_ENI_GONE : GWLB_DROP_MAX_ENI);
			continue;
		}
		pthread_mutex_lock(&M.hold_lock);
		if (atomic_load(&e->state) == ENI_READY) {
			held_deliver_locked(e, p);
		} else {
			*e->held_tail = p;
			e->held_tail = &p->next;
		}
		pthread_mutex_unlock(&M.hold_lock);
	}
}

static void wake_cb(struct gwlb_ev *ev, uint32_t events)
{
	uint64_t n;

	if (read(ev->fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_imp(GWLB_LS_CORE, "eventfd read: %m");
	process_orphans();
}

/* The DESTROY hook is done (or there is none): remove the ENI for good. */
static void eni_finish_destroy(struct eni *e)
{
	struct held_pkt *held;
	struct eni **pp;
	unsigned flows = 0;
	char err[512], cts[24] = "-";
	int n;

	eni_epoll(e, EPOLL_CTL_DEL);
	pthread_mutex_lock(&M.hold_lock);
	held = e->held;
	e->held = NULL;
	e->held_tail = &e->held;
	map_publish(e->id, NULL);
	pthread_mutex_unlock(&M.hold_lock);

	pthread_mutex_lock(&M.list_lock);
	for (pp = &M.all; *pp; pp = &(*pp)->next) {
		if (*pp == e) {
			*pp = e->next;
			break;
		}
	}
	M.count--;
	pthread_mutex_unlock(&M.list_lock);

	/* No worker may still hold e or one of its fds past this point. */
	gwlb_qsbr_synchronize(&gwlbd.qsbr);
	if (gwlbd.ft)
		flows = gwlb_flowtab_flush_eni(gwlbd.ft, e->idx);
	/* rules first: an iif rule outlives its device */
	eni_routes_destroy(e);
	if (e->net && gwlb_nft_net_eni(e->gwi, e->index, false, e->mode == GWLB_MODE_NAT, err,
				       sizeof(err)) < 0)
		log_crit(GWLB_LS_TUNNEL, "eni-%s: %s", e->id_hex, err);
	/* At shutdown the index stays the ENI's, for the next start; idle, it is given back. */
	if (!M.shutdown && !gwlb_eniidx_put(M.idx, e->id))
		eni_state_save();
	/* After the DESTROY hook, as the templates came before the CREATE hook. */
	eni_nft_destroy(e);
	/*
	 * Its map elements are gone, so no new entry gets its zone or mark and the flush
	 * misses none. At shutdown too: the index stays the ENI's, its flows do not.
	 */
	n = gwlb_ctflush_eni(e->index, err, sizeof(err));
	if (n < 0)
		log_imp(GWLB_LS_TUNNEL, "eni-%s: conntrack entries of index %u not flushed: %s",
			e->id_hex, e->index, err);
	else
		snprintf(cts, sizeof(cts), "%d", n);
	log_imp(GWLB_LS_TUNNEL, "ENI eni-%s destroyed: %s and %s removed, %u flows and %s "
		"conntrack entries (zone/mark %u) flushed", e->id_hex, e->gwi,
		e->gwo_fd ? e->gwo : "-", flows, cts, e->index);
	eni_close(e);

	/* Packets that came in while it was going: they start the next incarnation. */
	if (held) {
		struct held_pkt *last = held;

		while (last->next)
			last = last->next;
		pthread_mutex_lock(&M.hold_lock);
		last->next = M.orphans;
		if (!M.orphans)
			M.orphans_tail = &last->next;
		M.orphans = held;
		pthread_mutex_unlock(&M.hold_lock);
		process_orphans();
	}
}

static void eni_begin_destroy(struct eni *e)
{
	atomic_store(&e->state, ENI_DESTROYING);
	log_info(GWLB_LS_TUNNEL, "ENI eni-%s: destroying", e->id_hex);
	if (!gwlbd.opts.destroy_hook || eni_hook_start(e, gwlbd.opts.destroy_hook, "DESTROY") < 0)
		eni_finish_destroy(e);
}

static void hook_done(struct eni *e, int status)
{
	const char *action = atomic_load(&e->state) == ENI_DESTROYING ? "DESTROY" : "CREATE";

	epoll_ctl(M.epfd, EPOLL_CTL_DEL, e->hook_ev.fd, NULL);
	e->hook_running = false;
	if (status < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) {
		gwlb_ctr_add(&gwlbd.hook_failures, 1);
		if (status >= 0 && WIFSIGNALED(status))
			log_imp(GWLB_LS_HOOK, "%s hook for eni-%s killed by signal %d", action,
				e->id_hex, WTERMSIG(status));
		else
			log_imp(GWLB_LS_HOOK, "%s hook for eni-%s failed (exit %d)", action,
				e->id_hex, status < 0 ? status : WEXITSTATUS(status));
	} else {
		log_debug(GWLB_LS_HOOK, "%s hook for eni-%s done", action, e->id_hex);
	}
	if (atomic_load(&e->state) == ENI_DESTROYING) {
		eni_finish_destroy(e);
		return;
	}
	eni_make_ready(e);
	if (M.shutdown)
		eni_begin_destroy(e);
}

static void hook_cb(struct gwlb_ev *ev, uint32_t events)
{
	struct eni *e = (struct eni *)((char *)ev - offsetof(struct eni, hook_ev));
	int status;

	/* The pidfd is closed by reap: take it off the epoll first. */
	epoll_ctl(M.epfd, EPOLL_CTL_DEL, ev->fd, NULL);
	status = gwlb_hook_reap(&e->hook);
	hook_done(e, status);
}

void gwlb_eni_tick(void)
{
	uint32_t now = gwlbd_now();
	struct eni *e, *next;

	for (e = M.all; e; e = next) {
		next = e->next;
		if (e->hook_running) {
			if (now - e->hook_started >= gwlbd.opts.hook_timeout) {
				log_imp(GWLB_LS_HOOK, "hook for eni-%s still running after %u s: killed",
					e->id_hex, gwlbd.opts.hook_timeout);
				epoll_ctl(M.epfd, EPOLL_CTL_DEL, e->hook_ev.fd, NULL);
				gwlb_hook_kill(&e->hook);
				hook_done(e, -ETIMEDOUT);
			}
			continue;
		}
		if (gwlbd.opts.eni_idle_timeout && atomic_load(&e->state) == ENI_READY &&
		    /* Whole seconds on both sides: '>' guarantees at least -t seconds idle. */
		    now - atomic_load(&e->last_active) > gwlbd.opts.eni_idle_timeout)
			eni_begin_destroy(e);
	}
	if (gwlbd.ft)
		gwlb_flowtab_expire(gwlbd.ft, now, 65536);
}

void gwlb_eni_shutdown(void)
{
	struct eni *e, *next;

	M.shutdown = true;
	for (e = M.all; e; e = next) {
		next = e->next;
		if (!e->hook_running && atomic_load(&e->state) == ENI_READY)
			eni_begin_destroy(e);
	}
}

bool gwlb_eni_index_kept(uint16_t idx)
{
	uint64_t id;

	return M.idx && gwlb_eniidx_owner(M.idx, idx, &id) == 0;
}

unsigned gwlb_eni_count(void)
{
	return M.count;
}

void gwlb_eni_foreach(void (*fn)(struct eni *e, void *arg), void *arg)
{
	struct eni *e;

	pthread_mutex_lock(&M.list_lock);
	for (e = M.all; e; e = e->next)
		fn(e, arg);
	pthread_mutex_unlock(&M.list_lock);
}

uint64_t gwlb_eni_held_now(void)
{
	uint64_t n;

	pthread_mutex_lock(&M.hold_lock);
	n = M.held_now;
	pthread_mutex_unlock(&M.hold_lock);
	return n;
}

uint64_t gwlb_eni_hold_overflow(void)
{
	return gwlb_ctr_get(&M.overflow);
}

void gwlb_eni_fini(void)
{
	struct eni *e, *next;

	for (e = M.all; e; e = next) {
		next = e->next;
		if (e->hook_running)
			gwlb_hook_kill(&e->hook);
		eni_routes_destroy(e);
		eni_nft_destroy(e);
		eni_close(e);
	}
	M.all = NULL;
	if (M.wake.fd > 0)
		close(M.wake.fd);
	free(M.map);
	gwlb_eniidx_free(M.idx);
	free(M.pool);
}
