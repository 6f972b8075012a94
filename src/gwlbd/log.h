/* SPDX-License-Identifier: GPL-2.0-or-later */
/* gwlbd's logging: gwlbtun's sections and levels, to stderr (the journal under systemd). */
#ifndef GWLBD_LOG_H
#define GWLBD_LOG_H

#include <stdatomic.h>
#include <stdint.h>

#include "opts.h"

void gwlb_log_init(const uint8_t level[GWLB_LS__MAX]);
int gwlb_log_enabled(enum gwlb_log_section s, enum gwlb_log_level l);
void gwlb_log(enum gwlb_log_section s, enum gwlb_log_level l, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Per call site limiter for anything that can fire per packet: at most `burst` lines
 * per 5 s window, then one line saying how many were suppressed.
 */
struct gwlb_ratelimit {
	_Atomic uint64_t window;
	_Atomic uint32_t count;
	_Atomic uint32_t suppressed;
};

#define GWLB_RL_BURST 10

void gwlb_log_rl(struct gwlb_ratelimit *rl, enum gwlb_log_section s, enum gwlb_log_level l,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#define log_crit(s, ...)	gwlb_log(s, GWLB_LL_CRITICAL, __VA_ARGS__)
#define log_imp(s, ...)		gwlb_log(s, GWLB_LL_IMPORTANT, __VA_ARGS__)
#define log_info(s, ...)	gwlb_log(s, GWLB_LL_INFO, __VA_ARGS__)
#define log_debug(s, ...)	gwlb_log(s, GWLB_LL_DEBUG, __VA_ARGS__)

/* Rate-limited log from a per-packet path: one static limiter per call site. */
#define log_pkt(s, l, ...) do {					\
		static struct gwlb_ratelimit __rl;		\
		if (gwlb_log_enabled(s, l))			\
			gwlb_log_rl(&__rl, s, l, __VA_ARGS__);	\
	} while (0)

#endif
