/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gwlbd: AWS Gateway Load Balancer tunnel core. GENEVE in on UDP 6081 -> one gwi-/gwo-
 * tun pair per GWLB endpoint; what the kernel sends back out is re-encapsulated with its
 * flow's header. The main thread is the manager: signals, ENI lifecycle, hooks, ageing.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "ctrestore.h"
#include "eni.h"
#include "gwlbd.h"
#include "health.h"
#include "lb.h"
#include "lbcheck.h"
#include "leftover.h"
#include "log.h"
#include "nft.h"
#include "nftrules.h"
#include "policyproc.h"
#include "tun.h"
#include "tunrx.h"
#include "udp.h"

struct gwlbd gwlbd;

uint32_t gwlbd_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint32_t)ts.tv_sec;
}

uint64_t gwlbd_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void gwlbd_pin_cpu(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static int die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int die(const char *fmt, ...)
{
	va_list ap;

	fputs("gwlbd: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	/* a socket left behind would look like a gwlbd that died */
	gwlb_ctl_stop();
	return 1;
}

/* CAP_NET_ADMIN (tun devices, links) and CAP_NET_RAW (the return path) in the effective set. */
static int check_caps(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];

	memset(d, 0, sizeof(d));
	if (syscall(SYS_capget, &h, d) < 0)
		return 0;
	if (!(d[0].effective & (1u << CAP_NET_ADMIN)))
		return die("needs CAP_NET_ADMIN to create tun devices: run as root or grant it "
			   "(AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW under systemd)");
	if (!(d[0].effective & (1u << CAP_NET_RAW)))
		return die("needs CAP_NET_RAW for the raw socket that returns traffic to GWLB");
	return 0;
}

/* The i-th CPU of a mask, round robin; -1 for an empty mask. */
static int nth_cpu(const uint64_t *mask, unsigned i)
{
	const unsigned ncpu = 64 * (GWLB_MAX_THREADS / 64 + 1);
	unsigned n = 0, c;

	for (c = 0; c < ncpu; c++)
		n += !!(mask[c / 64] & (1ULL << (c % 64)));
	if (!n)
		return -1;
	i %= n;
	for (c = 0; c < ncpu; c++) {
		if (mask[c / 64] & (1ULL << (c % 64))) {
			if (!i)
				return c;
			i--;
		}
	}
	return -1;
}

int gwlbd_signalfd(void)
{
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	return signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
}

static int sig_fd = -1;
static struct gwlb_ev sig_ev, tick_ev;

static void sig_cb(struct gwlb_ev *ev, uint32_t events)
{
	struct signalfd_siginfo si;

	while (read(ev->fd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			if (!atomic_load(&gwlbd.stop))
				log_imp(GWLB_LS_CORE, "%s: shutting down (DESTROY hooks, removing %u ENIs)",
					strsignal(si.ssi_signo), gwlb_eni_count());
			gwlb_eni_shutdown();
			atomic_store(&gwlbd.stop, true);
			break;
		case SIGHUP:
			if (gwlb_nftrules_enabled()) {
				log_info(GWLB_LS_POLICY, "SIGHUP: reloading nft-rules");
				gwlb_nftrules_reload();
			}
			if (gwlbd.opts.policy_file) {
				char err[512];

				if (gwlb_policyproc_reload(err, sizeof(err)) < 0)
					log_crit(GWLB_LS_POLICY, "reload refused, the running policy stays: %s",
						 err);
			} else if (!gwlb_nftrules_enabled() && !gwlb_lb_enabled()) {
				log_info(GWLB_LS_CORE, "SIGHUP: no --policy, --nft-rules or --services, nothing to reload");
			}
			if (gwlb_lb_enabled()) {
				char err[1024];

				if (gwlb_lbcheck_reload(err, sizeof(err)) < 0)
					log_crit(GWLB_LS_CORE, "services reload: %s", err);
			}
			break;
		}
	}
}

static void tick_cb(struct gwlb_ev *ev, uint32_t events)
{
	uint64_t n;

	if (read(ev->fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_imp(GWLB_LS_CORE, "timerfd read: %m");
	gwlb_eni_tick();
}

static int ev_add(int epfd, struct gwlb_ev *ev)
{
	struct epoll_event ee = { .events = EPOLLIN, .data.ptr = ev };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, ev->fd, &ee);
}

static void manager_loop(int epfd)
{
	struct epoll_event ev[16];
	uint64_t deadline = 0;
	int i, n;

	for (;;) {
		if (atomic_load(&gwlbd.stop)) {
			if (!gwlb_eni_count())
				break;
			if (!deadline)
				deadline = gwlbd_now_ms() + (gwlbd.opts.hook_timeout + 5) * 1000ULL;
			else if (gwlbd_now_ms() > deadline) {
				log_imp(GWLB_LS_CORE, "%u ENIs still being destroyed: giving up on their hooks",
					gwlb_eni_count());
				break;
			}
		}
		n = epoll_wait(epfd, ev, 16, 200);
		if (n < 0 && errno != EINTR) {
			log_crit(GWLB_LS_CORE, "manager epoll: %m");
			break;
		}
		for (i = 0; i < n; i++) {
			struct gwlb_ev *e = ev[i].data.ptr;

			e->cb(e, ev[i].events);
		}
	}
}

int main(int argc, char **argv)
{
	struct gwlb_leftover_cfg leftover_cfg = { .kept = gwlb_eni_index_kept };
	struct itimerspec its = { .it_interval = { 1, 0 }, .it_value = { 1, 0 } };
	struct gwlb_flowtab_cfg fcfg;
	char err[512], nerr[512];
	unsigned i;
	long ncpu;
	int epfd, ret;

	gwlb_opts_defaults(&gwlbd.opts);
	if (gwlb_opts_parse(&gwlbd.opts, argc, argv, err, sizeof(err)) < 0) {
		return die("%s", err);
	}
	if (gwlbd.opts.help) {
		fputs(gwlb_opts_usage, stdout);
		return 0;
	}
	if (gwlbd.opts.version) {
		printf("gwlbd %s\n", PACKAGE_VERSION);
		return 0;
	}
	gwlb_log_init(gwlbd.opts.log_level);
	if (gwlbd.opts.policy_child)
		return gwlb_policyproc_child_main(gwlbd.opts.policy_child);
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (ncpu < 1)
		ncpu = 1;
	if (ncpu > GWLB_MAX_THREADS)
		ncpu = GWLB_MAX_THREADS;
	gwlbd.n_udp = gwlbd.opts.udp_threads ? gwlbd.opts.udp_threads : (unsigned)ncpu;
	gwlbd.n_tun = gwlbd.opts.tun_threads ? gwlbd.opts.tun_threads : (unsigned)ncpu;
	gwlbd.start_ms = gwlbd_now_ms();
	leftover_cfg.max_eni = gwlbd.opts.max_eni;
	leftover_cfg.prio_base = gwlbd.opts.rule_prio_base;
	leftover_cfg.table_base = gwlbd.opts.route_table_base;

	if (check_caps())
		return 1;
	if (gwlb_tun_probe(err, sizeof(err)) < 0)
		return die("%s", err);
	/* First claim: a second gwlbd must not get as far as replacing our nft table. */
	if (gwlb_ctl_open(gwlbd.opts.ctl_socket, gwlbd.opts.ctl_group, err, sizeof(err)) < 0)
		return die("%s", err);

	gwlbd.udp = calloc(gwlbd.n_udp, sizeof(*gwlbd.udp));
	gwlbd.tun = calloc(gwlbd.n_tun, sizeof(*gwlbd.tun));
	if (!gwlbd.udp || !gwlbd.tun)
		return die("out of memory");
	for (i = 0; i < gwlbd.n_udp; i++)
		gwlbd.udp[i].cpu = nth_cpu(gwlbd.opts.udp_affinity, i);
	for (i = 0; i < gwlbd.n_tun; i++)
		gwlbd.tun[i].cpu = nth_cpu(gwlbd.opts.tun_affinity, i);

	if (!gwlbd.opts.receive_only) {
		memset(&fcfg, 0, sizeof(fcfg));
		fcfg.capacity = gwlbd.opts.flow_max;
		fcfg.max_eni = gwlbd.opts.max_eni;
		memcpy(fcfg.timeout, gwlbd.opts.flow_timeout, sizeof(fcfg.timeout));
		ret = gwlb_flowtab_alloc(&gwlbd.ft, &fcfg);
		if (!ret)
			ret = gwlb_fragtab_alloc(&gwlbd.frag, 4096);
		if (ret)
			return die("cannot allocate a flow table of %u entries: %s", fcfg.capacity,
				   strerror(-ret));
	}
	/* qsbr threads: UDP workers, tun workers, the conntrack restore thread */
	if (gwlb_qsbr_init(&gwlbd.qsbr, gwlbd.n_udp + gwlbd.n_tun + 1))
		return die("out of memory");
	if (gwlb_udp_open(err, sizeof(err)) < 0)
		return die("%s", err);
	if (gwlb_tunrx_open(err, sizeof(err)) < 0)
		return die("%s", err);

	/* After the socket check: a gwlbd whose socket answers was refused before this. */
	if (gwlb_leftover_claim(err, sizeof(err)) < 0)
		return die("%s", err);

	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		return die("cannot set up the ENI manager: %m");
	if (gwlb_eni_init(epfd, err, sizeof(err)) < 0)
		return die("%s; gwlbd will not start without the ENIs' indexes: fix the file, "
			   "or move it away to start afresh", err);
	/* With the state file read (its indexes' flows stay), before anything is added. */
	gwlb_leftover_clean(&leftover_cfg);
	sig_fd = gwlbd_signalfd();
	sig_ev = (struct gwlb_ev){ .fd = sig_fd, .cb = sig_cb };
	tick_ev.fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	tick_ev.cb = tick_cb;
	if (sig_fd < 0 || tick_ev.fd < 0 || timerfd_settime(tick_ev.fd, 0, &its, NULL) < 0 ||
	    ev_add(epfd, &sig_ev) < 0 || ev_add(epfd, &tick_ev) < 0)
		return die("cannot set up signals and timers: %m");
	/* After gwlbd_signalfd(): its thread must inherit the blocked signals. */
	if (gwlbd.ft && gwlb_ctrestore_start(gwlbd.n_udp + gwlbd.n_tun, err, sizeof(err)) < 0)
		return die("%s", err);

	/* Before the health server: a health page that answers means everything is up. */
	ret = gwlb_nft_net_install((const char (*)[IFNAMSIZ])gwlbd.opts.uplinks,
				   gwlbd.opts.n_uplinks, nerr, sizeof(nerr));
	if (ret < 0)
		return die("%s", nerr);
	if (gwlbd.opts.policy_file) {
		char perr[512];

		ret = gwlb_policyproc_start(gwlbd.opts.policy_file, perr, sizeof(perr));
		if (ret < 0) {
			gwlb_nft_net_remove();
			return die("policy: %s", perr);
		}
	}
	ret = gwlb_lb_init(gwlbd.opts.services_file, nerr, sizeof(nerr));
	if (ret < 0) {
		gwlb_policyproc_stop();
		gwlb_nft_net_remove();
		return die("services: %s", nerr);
	}
	/* After gwlbd_signalfd() (its thread must not take our signals), with the services. */
	ret = gwlb_lbcheck_start(nerr, sizeof(nerr));
	if (ret < 0) {
		gwlb_lb_fini();
		gwlb_policyproc_stop();
		gwlb_nft_net_remove();
		return die("services: %s", nerr);
	}
	/* After the policy host made its table, before the first ENI can want a template. */
	if (gwlb_nftrules_init(gwlbd.opts.nft_rules) < 0) {
		gwlb_lbcheck_stop();
		gwlb_lb_fini();
		gwlb_policyproc_stop();
		return die("nft-rules: out of memory");
	}
	if (gwlbd.opts.health_port) {
		struct gwlb_health_cfg hc = {
			.port = gwlbd.opts.health_port,
			.addr = gwlbd.opts.health_addr,
			.json = gwlbd.opts.health_json,
			.simple = gwlbd.opts.health_simple,
		};

		ret = gwlb_health_start(&hc);
		if (ret < 0) {
			/* Leave nothing in the kernel behind us. */
			gwlb_nftrules_fini();
			gwlb_lbcheck_stop();
			gwlb_lb_fini();
			gwlb_policyproc_stop();
			gwlb_nft_net_remove();
			if (ret == -EADDRINUSE)
				return die("health port %u is in use: choose another with -p", hc.port);
			return die("cannot start the health server on port %u: %s", hc.port,
				   strerror(-ret));
		}
	}
	if (gwlb_udp_start() < 0 || gwlb_tunrx_start() < 0)
		return die("cannot start worker threads: %m");
	ret = gwlb_ctl_start();
	if (ret < 0)
		return die("cannot start the control socket thread: %s", strerror(-ret));
	log_imp(GWLB_LS_CORE, "gwlbd %s: GENEVE on UDP %u, %u UDP and %u tun workers%s, health %s%u",
		PACKAGE_VERSION, gwlbd.opts.geneve_port, gwlbd.n_udp, gwlbd.n_tun,
		gwlbd.opts.receive_only ? ", receive-only" : "",
		gwlbd.opts.health_port ? "on TCP port " : "off", gwlbd.opts.health_port);

	manager_loop(epfd);

	/* Before the policy host goes: the control thread reads its state. */
	gwlb_ctl_stop();
	atomic_store(&gwlbd.stop, true);
	gwlb_udp_join();
	gwlb_tunrx_join();
	gwlb_ctrestore_stop();
	if (gwlbd.opts.health_port)
		gwlb_health_stop();
	gwlb_policyproc_stop();
	/* No check may change a map of the table that goes next. */
	gwlb_lbcheck_stop();
	gwlb_lb_fini();
	/* Every ENI's elements went with its DESTROY; the table goes now. */
	ret = gwlb_nft_net_remove();
	if (ret < 0)
		log_crit(GWLB_LS_CORE, "cannot remove nft table inet %s: %s", GWLB_NFT_NET_TABLE,
			 strerror(-ret));
	gwlb_leftover_stop(&leftover_cfg);
	gwlb_eni_fini();
	/* After the ENIs: their tables go with them, then the global files' own. */
	gwlb_nftrules_fini();
	gwlb_udp_close();
	gwlb_tunrx_close();
	close(epfd);
	close(sig_fd);
	close(tick_ev.fd);
	gwlb_qsbr_fini(&gwlbd.qsbr);
	gwlb_fragtab_free(gwlbd.frag);
	gwlb_flowtab_free(gwlbd.ft);
	free(gwlbd.udp);
	free(gwlbd.tun);
	log_imp(GWLB_LS_CORE, "stopped");
	return 0;
}
