/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Backend health checks: TCP connect and HTTP GET with an expected status, per target
 * interval, timeout, rise and fall (settings and their defaults in hccfg.h, counting in
 * hcstate.h). One thread runs every check with non-blocking sockets on one epoll; no
 * thread per check.
 *
 * Start it after gwlbd_signalfd() (src/gwlbd/main.c): gwlbd's threads must not take
 * SIGTERM, SIGINT or SIGHUP. gwlb_hc_start() also blocks every signal in its thread.
 */
#ifndef GWLBD_HCHECK_H
#define GWLBD_HCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hccfg.h"

struct gwlb_hc_status {
	bool up;
	unsigned ok_run, fail_run;	/* consecutive results up to now */
	uint64_t checks, failures, transitions;
	int last_rtt_us;		/* connect (tcp) or status line (http) time; -1: failed */
	char last_error[96];		/* the last failed check's reason; "" before any */
};

/*
 * Runs on the checker thread when a target changes state: up, and why ("HTTP status 200,
 * 2 in a row", "connection refused, 3 in a row"). Keep it short: the other checks wait.
 * It may call gwlb_hc_add/remove/status; never gwlb_hc_stop. Do not hold a lock that cb
 * takes while calling gwlb_hc_remove: remove waits for a running cb of its target.
 */
typedef void (*gwlb_hc_cb)(void *owner, bool up, const char *why);

/* Start the checker thread. 0, or -errno with err filled. Targets added before wait. */
int gwlb_hc_start(char *err, size_t errlen);
/* Stop the thread and forget every target; no cb runs after it returns. */
void gwlb_hc_stop(void);

/*
 * Check cfg->addr (IPv4 or IPv6, port not 0) from now on, the first time within a quarter
 * interval; zeros in cfg are hccfg.h's defaults. The target starts up unless
 * cfg->start_down. 0 and its *id, or -EINVAL (run gwlb_hccfg_finish() first for a
 * reason), -ENOMEM.
 */
int gwlb_hc_add(const struct gwlb_hc_cfg *cfg, gwlb_hc_cb cb, void *owner, uint64_t *id);
/* 0 or -ENOENT. After it returns, cb is never called for id. */
int gwlb_hc_remove(uint64_t id);
/* 0 or -ENOENT. */
int gwlb_hc_status(uint64_t id, struct gwlb_hc_status *st);

#endif
