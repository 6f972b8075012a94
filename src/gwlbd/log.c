/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"

static uint8_t log_level[GWLB_LS__MAX];

void gwlb_log_init(const uint8_t level[GWLB_LS__MAX])
{
	memcpy(log_level, level, sizeof(log_level));
}

int gwlb_log_enabled(enum gwlb_log_section s, enum gwlb_log_level l)
{
	return s < GWLB_LS__MAX && l <= log_level[s];
}

static void log_emit(enum gwlb_log_section s, enum gwlb_log_level l, const char *fmt, va_list ap)
{
	char line[1024];
	struct timespec ts;
	struct tm tm;
	int n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ [%s] %s: ",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		     tm.tm_sec, ts.tv_nsec / 1000000, gwlb_log_section_name(s),
		     gwlb_log_level_name(l));
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	/* One fputs per line so threads do not interleave inside a line. */
	fprintf(stderr, "%s\n", line);
}

void gwlb_log(enum gwlb_log_section s, enum gwlb_log_level l, const char *fmt, ...)
{
	va_list ap;

	if (!gwlb_log_enabled(s, l))
		return;
	va_start(ap, fmt);
	log_emit(s, l, fmt, ap);
	va_end(ap);
}

void gwlb_log_rl(struct gwlb_ratelimit *rl, enum gwlb_log_section s, enum gwlb_log_level l,
		 const char *fmt, ...)
{
	struct timespec ts;
	uint64_t win, old;
	uint32_t sup;
	va_list ap;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	win = (uint64_t)ts.tv_sec / 5;
	old = atomic_load_explicit(&rl->window, memory_order_relaxed);
	if (old != win &&
	    atomic_compare_exchange_strong(&rl->window, &old, win)) {
		atomic_store(&rl->count, 0);
		sup = atomic_exchange(&rl->suppressed, 0);
		if (sup)
			gwlb_log(s, l, "%u similar messages suppressed", sup);
	}
	if (atomic_fetch_add_explicit(&rl->count, 1, memory_order_relaxed) >= GWLB_RL_BURST) {
		atomic_fetch_add_explicit(&rl->suppressed, 1, memory_order_relaxed);
		return;
	}
	va_start(ap, fmt);
	log_emit(s, l, fmt, ap);
	va_end(ap);
}
