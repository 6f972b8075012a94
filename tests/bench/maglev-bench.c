/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * maglev-bench: what a Maglev table costs gwlbd. For 10, 100 and 1000 backends, equal
 * weights and weights 1..10, builds the table RUNS times and prints the median build time,
 * the largest deviation of a backend's share from its weight's share (as a fraction of the
 * table, the unit test's 1 % criterion), the slots that move beyond the removed backend's
 * own when one backend is removed, and the memory a build uses (the table and its scratch).
 *
 * Usage: maglev-bench [RUNS [SLOTS]]   (default 11 runs, 65537 slots)
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>

#include "maglev.h"

#define MAX_BACKENDS	1000

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Largest |slots / m - weight / sum| over the backends. */
static double share_dev(const struct gwlb_maglev_backend *be, size_t n, const uint32_t *t,
			uint32_t m)
{
	static size_t cnt[MAX_BACKENDS];
	double sum = 0, worst = 0;
	size_t i;

	memset(cnt, 0, sizeof(cnt));
	for (i = 0; i < m; i++)
		cnt[t[i]]++;
	for (i = 0; i < n; i++)
		sum += be[i].weight;
	for (i = 0; i < n; i++) {
		double d = fabs((double)cnt[i] / m - be[i].weight / sum);

		if (d > worst)
			worst = d;
	}
	return worst;
}

/* Slots that move, beyond backend 0's own, when backend 0 is removed. */
static int removal_extra(const struct gwlb_maglev_backend *be, size_t n, const uint32_t *t,
			 uint32_t m, uint32_t *scratch, size_t *extra)
{
	size_t own = 0, i;
	int ret;

	for (i = 0; i < m; i++)
		own += t[i] == 0;
	ret = gwlb_maglev_build(be + 1, n - 1, m, scratch);
	if (ret < 0)
		return ret;
	*extra = gwlb_maglev_diff(be, n, t, be + 1, n - 1, scratch, m) - own;
	return 0;
}

static void usage(FILE *out)
{
	fprintf(out, "Usage: maglev-bench [RUNS [SLOTS]]\n"
		     "Maglev table build time (median of RUNS, default 11) for 10, 100 and 1000\n"
		     "backends at SLOTS (a prime, default 65537), share deviation, disruption and\n"
		     "memory.\n");
}

int main(int argc, char **argv)
{
	static const size_t sizes[] = { 10, 100, 1000 };
	static char names[MAX_BACKENDS][16];
	static struct gwlb_maglev_backend be[MAX_BACKENDS];
	unsigned long runs = 11, m = GWLB_MAGLEV_SIZE;
	uint32_t *table, *scratch;
	double *ms;
	struct rusage ru;
	size_t s, i;
	int weighted, ret;

	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		usage(stdout);
		return 0;
	}
	if (argc > 1)
		runs = strtoul(argv[1], NULL, 10);
	if (argc > 2)
		m = strtoul(argv[2], NULL, 10);
	if (argc > 3 || !runs || runs > 1001 || !m || m > GWLB_MAGLEV_SIZE_MAX ||
	    !gwlb_maglev_is_prime((uint32_t)m)) {
		usage(stderr);
		fprintf(stderr, "maglev-bench: RUNS must be 1..1001 and SLOTS a prime up to %u\n",
			GWLB_MAGLEV_SIZE_MAX);
		return 2;
	}
	table = malloc(m * sizeof(*table));
	scratch = malloc(m * sizeof(*scratch));
	ms = malloc(runs * sizeof(*ms));
	if (!table || !scratch || !ms) {
		fprintf(stderr, "maglev-bench: out of memory\n");
		return 1;
	}
	for (i = 0; i < MAX_BACKENDS; i++) {
		snprintf(names[i], sizeof(names[i]), "backend-%zu", i);
		be[i].name = names[i];
	}

	printf("| backends | weights | build ms (median of %lu) | min / max ms | max share deviation "
	       "| moved beyond own, removing one | memory (table + scratch) |\n", runs);
	printf("|---|---|---|---|---|---|---|\n");
	for (weighted = 0; weighted < 2; weighted++) {
		for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
			size_t n = sizes[s], extra = 0, mem;
			unsigned long r;

			for (i = 0; i < n; i++)
				be[i].weight = weighted ? 1 + i % 10 : 1;
			for (r = 0; r < runs; r++) {
				double t0 = now_ms();

				ret = gwlb_maglev_build(be, n, (uint32_t)m, table);
				ms[r] = now_ms() - t0;
				if (ret < 0) {
					fprintf(stderr, "maglev-bench: build of %zu backends: %s\n",
						n, strerror(-ret));
					return 1;
				}
			}
			qsort(ms, runs, sizeof(*ms), cmp_double);
			ret = removal_extra(be, n, table, (uint32_t)m, scratch, &extra);
			if (ret < 0) {
				fprintf(stderr, "maglev-bench: build of %zu backends: %s\n", n - 1,
					strerror(-ret));
				return 1;
			}
			mem = gwlb_maglev_mem(n, (uint32_t)m);
			printf("| %zu | %s | %.2f | %.2f / %.2f | %.4f %% | %zu slots (%.2f %%) "
			       "| %zu + %zu bytes |\n", n, weighted ? "1..10" : "equal",
			       ms[runs / 2], ms[0], ms[runs - 1],
			       100 * share_dev(be, n, table, (uint32_t)m), extra,
			       100.0 * extra / m, (size_t)m * sizeof(uint32_t),
			       mem - (size_t)m * sizeof(uint32_t));
		}
	}
	getrusage(RUSAGE_SELF, &ru);
	printf("\nslots %lu; peak RSS of this process (both tables included) %ld KiB\n", m,
	       ru.ru_maxrss);
	free(ms);
	free(scratch);
	free(table);
	return 0;
}
