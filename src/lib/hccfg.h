/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A backend health check's settings and the services file's keys for them:
 *
 *   check = none|tcp|http        default none (the backend counts as healthy)
 *   check-path = /PATH           http: request path, default /
 *   check-host = NAME            http: Host header, default the address (and port)
 *   check-status = N             http: the status that means healthy, default 200
 *   check-interval = DURATION    default 2s, 100ms..3600s
 *   check-timeout = DURATION     connect + response, default 1s or the interval if
 *                                shorter; 10ms..interval
 *   check-source = ADDR          bind checks to this local address (numeric)
 *   rise = N                     successes in a row that bring a backend up, default 2
 *   fall = N                     failures in a row that take it down, default 3; 1..100
 *
 * DURATION is a number with "ms" or "s" after it; a bare number is milliseconds, as in
 * HAProxy's "inter". Pure: errors are values with the file, line and reason.
 */
#ifndef GWLB_HCCFG_H
#define GWLB_HCCFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sys/socket.h>

#define GWLB_HC_DEF_INTERVAL_MS		2000
#define GWLB_HC_MIN_INTERVAL_MS		100
#define GWLB_HC_MAX_INTERVAL_MS		3600000
#define GWLB_HC_DEF_TIMEOUT_MS		1000
#define GWLB_HC_MIN_TIMEOUT_MS		10
#define GWLB_HC_DEF_RISE		2
#define GWLB_HC_DEF_FALL		3
#define GWLB_HC_MAX_RUN			100	/* rise and fall */
#define GWLB_HC_DEF_STATUS		200

enum gwlb_hc_type {
	GWLB_HC_NONE = 0,	/* no checks: healthy unless the admin says otherwise */
	GWLB_HC_TCP = 1,	/* a TCP connect that completes */
	GWLB_HC_HTTP,		/* GET path HTTP/1.0 answered with expect_status */
};

struct gwlb_hc_cfg {
	enum gwlb_hc_type type;
	struct sockaddr_storage addr;	/* what to check (address and port) */
	struct sockaddr_storage src;	/* local address to bind; ss_family 0: the kernel's */
	char path[128];			/* HTTP: request path, default "/" */
	char host[64];			/* HTTP: Host header, "" = the address */
	int expect_status;		/* HTTP: default 200 */
	unsigned interval_ms, timeout_ms, rise, fall;	/* 0: the default */
	bool start_down;		/* start down and wait for rise successes (hcstate.h) */
};

struct gwlb_hccfg_err {
	char file[256];
	unsigned line;			/* 0: not about one line */
	char reason[160];
};

/* The defaults above: no check, "/", 200, zeros for "default" in the numbers. */
void gwlb_hccfg_init(struct gwlb_hc_cfg *c);

/*
 * Apply one "key = value" of the services file (file and line are for err). 0 when
 * applied; -ENOENT when key is not a health check key (err untouched: the caller's own
 * key, or its unknown-key error); -EINVAL with err filled for a bad value.
 */
int gwlb_hccfg_set(struct gwlb_hc_cfg *c, const char *key, const char *val, const char *file,
		   unsigned line, struct gwlb_hccfg_err *err);

/*
 * After the last key of a backend (line: where its section or line starts): fills in the
 * defaults for zeros and checks what keys cannot alone: the timeout at most the interval,
 * http-only keys only with check = http. 0, or -EINVAL with err filled.
 */
int gwlb_hccfg_finish(struct gwlb_hc_cfg *c, const char *file, unsigned line,
		      struct gwlb_hccfg_err *err);

/*
 * Same checks: every setting and the target address compared field by field (start_down,
 * only a target's first state, is not). Both finished, or both not: a default left as 0 in
 * one and filled in the other differs.
 */
bool gwlb_hccfg_same(const struct gwlb_hc_cfg *a, const struct gwlb_hc_cfg *b);

/* "none", "tcp", "http". */
const char *gwlb_hccfg_type_str(enum gwlb_hc_type t);

#endif
