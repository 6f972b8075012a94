/* SPDX-License-Identifier: GPL-2.0-or-later */
/* gwlbd's shared state: one daemon per process. */
#ifndef GWLBD_H
#define GWLBD_H

#include <jansson.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "flowtab.h"
#include "opts.h"
#include "qsbr.h"
#include "stats.h"

#define GWLB_BATCH	64
/* Largest UDP payload we accept: GENEVE header + a jumbo inner packet. */
#define GWLB_PKT_BUF	9216
/* Room in front of an inner packet for outer IPv4/UDP + the stored GENEVE header. */
#define GWLB_HEADROOM	(28 + GWLB_FLOW_HDR_MAX)

struct eni;

struct udp_worker {
	unsigned id;
	int fd;
	int cpu;
	pthread_t thread;
	_Atomic bool alive;
	_Atomic uint64_t heartbeat_ms;
	gwlb_ctr_t rx_pkts;
	gwlb_ctr_t rx_bytes;
	gwlb_ctr_t drops[GWLB_DROP__MAX];
};

struct tun_worker {
	unsigned id;
	int epfd;
	int raw_fd;
	int cpu;
	pthread_t thread;
	_Atomic bool alive;
	_Atomic uint64_t heartbeat_ms;
	gwlb_ctr_t tx_pkts;
	gwlb_ctr_t tx_bytes;
	gwlb_ctr_t drops[GWLB_DROP__MAX];
};

struct gwlbd {
	struct gwlb_opts opts;
	unsigned n_udp;
	unsigned n_tun;
	struct udp_worker *udp;
	struct tun_worker *tun;
	struct gwlb_flowtab *ft;	/* NULL in receive-only mode */
	struct gwlb_fragtab *frag;
	/* UDP workers are qsbr threads 0..n_udp-1, tun workers n_udp..n_udp+n_tun-1. */
	struct gwlb_qsbr qsbr;
	_Atomic bool stop;
	uint64_t start_ms;
	gwlb_ctr_t drops[GWLB_DROP__MAX];	/* drops outside the workers (manager, hold) */
	gwlb_ctr_t hook_failures;
};

extern struct gwlbd gwlbd;

/* Monotonic clock: coarse seconds for flow ageing, milliseconds for heartbeats. */
uint32_t gwlbd_now(void);
uint64_t gwlbd_now_ms(void);

/*
 * Block SIGTERM, SIGINT and SIGHUP (threads started later inherit that) and return a
 * non-blocking signalfd for them; SIGPIPE is ignored. -1 and errno on failure.
 */
int gwlbd_signalfd(void);

/* Pin the calling thread to one CPU (--udpaffinity / --tunaffinity); cpu < 0: leave it. */
void gwlbd_pin_cpu(int cpu);

/* Status for the health page (stats.c). */
json_t *gwlbd_status_json(void);
bool gwlbd_healthy(char *why, size_t len);

#endif
