/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * flowmem: what N flows cost in the flow table. Inserts N distinct flows (half IPv4,
 * half IPv6, a 40-byte GWLB header each), measures the resident memory they added and
 * the insert and lookup rates, and prints a human line and a final JSON line.
 *
 * Usage: flowmem [FLOWS]   (default 1000000)
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>

#include "flowtab.h"

#define NOW	1000u

/* GWLB's 40-byte header: version 0, 8 option words, IPv4; ENI, attachment, cookie options. */
static const uint8_t geneve_hdr[40] = {
	0x08, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x01, 0x08, 0x01, 0x02, 0x76, 0xbc, 0x49, 0x3b, 0x82, 0x2c, 0xd3, 0x2f,
	0x01, 0x08, 0x02, 0x02, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
	0x01, 0x08, 0x03, 0x01, 0x00, 0x00, 0x00, 0x00,
};

struct lookup_job {
	struct gwlb_flowtab *ft;
	uint32_t n;
	uint32_t start;
	uint64_t hits;
};

/* Flow i, already canonical (endpoint 0 has the smaller address). Distinct for i < 2^24. */
static void flow_key(struct gwlb_flow_key *k, uint32_t i)
{
	memset(k, 0, sizeof(*k));
	if (i & 1) {
		static const uint8_t pfx[6] = { 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01 };

		memcpy(k->addr[0], pfx, sizeof(pfx));
		k->addr[0][13] = (uint8_t)(i >> 16);
		k->addr[0][14] = (uint8_t)(i >> 8);
		k->addr[0][15] = (uint8_t)i;
		memcpy(k->addr[1], pfx, sizeof(pfx));
		k->addr[1][5] = 0x64;
		k->addr[1][15] = 2;
		k->family = 6;
	} else {
		k->addr[0][0] = 10;
		k->addr[0][1] = (uint8_t)(i >> 16);
		k->addr[0][2] = (uint8_t)(i >> 8);
		k->addr[0][3] = (uint8_t)i;
		k->addr[1][0] = 198;
		k->addr[1][1] = 19;
		k->addr[1][2] = 100;
		k->addr[1][3] = 2;
		k->family = 4;
	}
	k->port[0] = htons((uint16_t)(1024 + (i % 60000)));
	k->port[1] = htons((i & 2) ? 443 : 53);
	k->proto = (i & 2) ? 6 : 17;
	k->eni_idx = (uint16_t)(i % 64);
}

static void flow_val(struct gwlb_flow_val *v, uint32_t i)
{
	memset(v, 0, sizeof(*v));
	v->outer_local = htonl(0x0a000a0a);
	v->outer_remote = htonl(0x0a000505);
	v->outer_sport = htons((uint16_t)(49152 + (i & 0x3fff)));
	v->hdr_len = sizeof(geneve_hdr);
	memcpy(v->hdr, geneve_hdr, sizeof(geneve_hdr));
	v->hdr[36] = (uint8_t)(i >> 24);
	v->hdr[37] = (uint8_t)(i >> 16);
	v->hdr[38] = (uint8_t)(i >> 8);
	v->hdr[39] = (uint8_t)i;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Resident set in bytes, from /proc/self/status; -1 if unreadable. */
static long long rss_bytes(void)
{
	char line[256];
	long long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %lld kB", &kb) == 1)
			break;
	fclose(f);
	return kb < 0 ? -1 : kb * 1024;
}

static void *lookup_run(void *arg)
{
	struct lookup_job *j = arg;
	struct gwlb_flow_key k;
	struct gwlb_flow_val v;
	uint32_t i, id;

	for (i = 0; i < j->n; i++) {
		id = j->start + i;
		if (id >= j->n)
			id -= j->n;
		flow_key(&k, id);
		if (gwlb_flowtab_lookup(j->ft, &k, NOW, &v) == 0 && v.hdr[39] == (uint8_t)id)
			j->hits++;
	}
	return NULL;
}

static void usage(FILE *out)
{
	fprintf(out, "Usage: flowmem [FLOWS]\n"
		"Insert FLOWS distinct flows (default 1000000, at most 16777216) into a flow table\n"
		"sized for them; print entry size, resident bytes per flow, insert and lookup rates,\n"
		"then one JSON line.\n");
}

int main(int argc, char **argv)
{
	struct gwlb_flowtab_cfg cfg;
	struct gwlb_flowtab_stats st;
	struct gwlb_flowtab *ft;
	struct gwlb_flow_key k;
	struct gwlb_flow_val v;
	struct lookup_job one, two[2];
	pthread_t th[2];
	unsigned long n = 1000000;
	long long rss0, rss1;
	double t0, t_ins, t_l1, t_l2, bpf;
	uint64_t evicted = 0;
	uint32_t i;
	char *end;
	int rc;

	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		usage(stdout);
		return 0;
	}
	if (argc > 2) {
		usage(stderr);
		return 2;
	}
	if (argc == 2) {
		errno = 0;
		n = strtoul(argv[1], &end, 10);
		if (errno || *end || !n || n > (1ul << 24)) {
			fprintf(stderr, "flowmem: FLOWS must be 1..16777216, not '%s'\n", argv[1]);
			return 2;
		}
	}

	rss0 = rss_bytes();
	memset(&cfg, 0, sizeof(cfg));
	cfg.capacity = (uint32_t)n;
	rc = gwlb_flowtab_alloc(&ft, &cfg);
	if (rc) {
		fprintf(stderr, "flowmem: cannot allocate a table for %lu flows: %s\n", n, strerror(-rc));
		return 1;
	}

	t0 = now_s();
	for (i = 0; i < n; i++) {
		flow_key(&k, i);
		flow_val(&v, i);
		rc = gwlb_flowtab_update(ft, &k, &v, NOW);
		if (rc < 0) {
			fprintf(stderr, "flowmem: insert %u failed: %s\n", i, strerror(-rc));
			return 1;
		}
		evicted += (uint64_t)rc;
	}
	t_ins = now_s() - t0;
	rss1 = rss_bytes();

	memset(&one, 0, sizeof(one));
	one.ft = ft;
	one.n = (uint32_t)n;
	t0 = now_s();
	lookup_run(&one);
	t_l1 = now_s() - t0;

	for (i = 0; i < 2; i++) {
		memset(&two[i], 0, sizeof(two[i]));
		two[i].ft = ft;
		two[i].n = (uint32_t)n;
		two[i].start = (uint32_t)(i * (n / 2));
	}
	t0 = now_s();
	for (i = 0; i < 2; i++) {
		if (pthread_create(&th[i], NULL, lookup_run, &two[i])) {
			fprintf(stderr, "flowmem: cannot start a lookup thread\n");
			return 1;
		}
	}
	for (i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	t_l2 = now_s() - t0;

	gwlb_flowtab_stats(ft, &st);
	if (one.hits != n || two[0].hits != n || two[1].hits != n || evicted) {
		fprintf(stderr, "flowmem: expected %lu hits and no evictions, got %llu/%llu/%llu hits, "
			"%llu evictions\n", n, (unsigned long long)one.hits,
			(unsigned long long)two[0].hits, (unsigned long long)two[1].hits,
			(unsigned long long)evicted);
		return 1;
	}
	bpf = rss0 >= 0 && rss1 >= 0 ? (double)(rss1 - rss0) / (double)n : -1;

	printf("flowmem: %lu flows, entry %zu B, table %.1f MiB for %llu slots (%.1f B/slot), "
	       "RSS +%.1f MiB = %.1f B/flow, insert %.2f Mops/s, lookup %.2f Mops/s (1 thread), "
	       "%.2f Mops/s (2 threads)\n",
	       n, gwlb_flowtab_entry_size(), (double)st.bytes / 1048576.0,
	       (unsigned long long)st.capacity, (double)st.bytes / (double)st.capacity,
	       (double)(rss1 - rss0) / 1048576.0, bpf, n / t_ins / 1e6, n / t_l1 / 1e6,
	       2.0 * n / t_l2 / 1e6);
	printf("{\"flows\":%lu,\"entry_bytes\":%zu,\"bytes_per_flow\":%.1f,\"insert_mops\":%.3f,"
	       "\"lookup_mops\":%.3f,\"lookup_mops_2t\":%.3f}\n",
	       n, gwlb_flowtab_entry_size(), bpf, n / t_ins / 1e6, n / t_l1 / 1e6,
	       2.0 * n / t_l2 / 1e6);
	gwlb_flowtab_free(ft);
	return 0;
}
