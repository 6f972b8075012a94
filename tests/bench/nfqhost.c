/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Benchmark driver: gwlbd's policy host as its workers run it: src/gwlbd/nfq.c receiving and
 * answering, every packet judged by a module chain of src/gwlbd/module.c (gwlb_chain_verdict),
 * by default one instance of verdict_accept.so. -M none replaces the chain with a judge that
 * returns -v's verdict (the NFQUEUE side alone). Prints the verdict rate, in the same format
 * as nfqbare, then the host's and the kernel's counters. Two ways to measure, as in nfqbare:
 *   default  the rate over a window that starts `warmup` seconds after the first packet
 *   -P N     the judge holds the first packet until N packets wait in the queue; then the
 *            time until the queue is empty again
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "module.h"
#include "nfq.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

static void host_log(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "nfqhost: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static int judge_verdict = GWLB_VERDICT_ACCEPT;
static atomic_bool hold;

static void judge_all(void *arg, const struct gwlb_pkt *pkt, struct gwlb_nfq_judgement *j)
{
	while (atomic_load_explicit(&hold, memory_order_relaxed) && !stop)
		usleep(100);
	j->verdict = judge_verdict;
}

/* The policy host's judge (policyhost.c) without its reload bookkeeping. */
static void judge_chain(void *arg, const struct gwlb_pkt *pkt, struct gwlb_nfq_judgement *j)
{
	struct gwlb_chain_result res;

	while (atomic_load_explicit(&hold, memory_order_relaxed) && !stop)
		usleep(100);
	j->verdict = gwlb_chain_verdict(arg, pkt, &res);
	j->mark_value = res.mark_value;
	j->mark_mask = res.mark_mask;
}

static void module_log(void *arg, const char *module, enum gwlb_log_prio prio, const char *line)
{
	fprintf(stderr, "nfqhost: module %s: %s\n", module, line);
}

/* A chain of one instance of module name (argv: its arguments); NULL on error, said. */
static struct gwlb_chain *chain_make(const char *name, const char *dir, unsigned threads,
				     int argc, const char *const *argv)
{
	struct gwlb_module_host_cfg hc = {
		.threads = threads,
		.mark_mask = 0x0000ff00,
		.log = module_log,
	};
	const char *dirs[2] = { dir, NULL };
	struct gwlb_module_inst *inst;
	struct gwlb_module *mod;
	struct gwlb_chain *chain;
	char err[512];
	int rc;

	rc = gwlb_module_load(name, dir ? dirs : NULL, &mod, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "nfqhost: %s\n", err);
		return NULL;
	}
	rc = gwlb_module_instance_new(mod, argc, argv, &hc, &inst, err, sizeof(err));
	gwlb_module_put(mod);
	if (rc < 0) {
		fprintf(stderr, "nfqhost: %s\n", err);
		return NULL;
	}
	rc = gwlb_chain_new(&inst, 1, &chain);
	gwlb_module_instance_put(inst);
	if (rc < 0) {
		fprintf(stderr, "nfqhost: cannot build a chain: %s\n", strerror(-rc));
		return NULL;
	}
	return chain;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t received_all(unsigned count)
{
	struct gwlb_nfq_stats st;
	uint64_t n = 0;
	unsigned q;

	for (q = 0; q < count; q++) {
		gwlb_nfq_stats(q, &st);
		n += st.received;
	}
	return n;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: nfqhost [options]\n"
		"  -q N   first queue number (0)\n"
		"  -n N   number of queues (1)\n"
		"  -b N   datagrams per receive, 1..64 (64)\n"
		"  -m N   queue length (4096)\n"
		"  -w S   warm-up after the first packet, seconds (0.5)\n"
		"  -t S   measuring window, seconds (3)\n"
		"  -T S   give up if no packet came within S seconds (10)\n"
		"  -P N   hold until N packets are queued, then time answering them\n"
		"  -M M   verdict module (verdict_M.so) judging every packet (accept); none: no chain\n"
		"  -a ARG an argument for the module (repeat for more)\n"
		"  -d DIR look for the module in DIR first\n"
		"  -v V   with -M none, the verdict: accept, continue, acceptflow (accept)\n"
		"  -o     fail-open\n"
		"  -g     GSO\n"
		"  -h     this help\n"
		"Output: \"rate <verdicts/s> verdicts <n> seconds <s>\" then counters.\n");
}

int main(int argc, char **argv)
{
	struct gwlb_nfq_cfg cfg = {
		.count = 1,
		.decision_shift = 16,
		.newflow_bit = 1u << 18,
		.judge = judge_all,
		.log = host_log,
	};
	double warmup = 0.5, window = 3, idle = 10, t_start, t0 = 0, t1;
	uint64_t c0 = 0, c1;
	const char *modname = "accept", *moddir = NULL, *modargv[16];
	struct gwlb_chain *chain = NULL;
	struct gwlb_nfq_stats st;
	unsigned q, prefill = 0;
	int modargc = 0;
	char err[256];
	int opt, rc;

	while ((opt = getopt(argc, argv, "q:n:b:m:w:t:T:P:M:a:d:v:ogh")) != -1) {
		switch (opt) {
		case 'q':
			cfg.first = (uint16_t)atoi(optarg);
			break;
		case 'n':
			cfg.count = (uint16_t)atoi(optarg);
			break;
		case 'b':
			cfg.batch = (unsigned)atoi(optarg);
			break;
		case 'm':
			cfg.maxlen = (uint32_t)atoi(optarg);
			break;
		case 'w':
			warmup = atof(optarg);
			break;
		case 't':
			window = atof(optarg);
			break;
		case 'T':
			idle = atof(optarg);
			break;
		case 'P':
			prefill = (unsigned)atoi(optarg);
			atomic_store(&hold, true);
			break;
		case 'M':
			modname = optarg;
			break;
		case 'a':
			if (modargc == 16) {
				fprintf(stderr, "nfqhost: at most 16 module arguments\n");
				return 2;
			}
			modargv[modargc++] = optarg;
			break;
		case 'd':
			moddir = optarg;
			break;
		case 'v':
			if (!strcmp(optarg, "accept"))
				judge_verdict = GWLB_VERDICT_ACCEPT;
			else if (!strcmp(optarg, "continue"))
				judge_verdict = GWLB_VERDICT_CONTINUE;
			else if (!strcmp(optarg, "acceptflow"))
				judge_verdict = GWLB_VERDICT_ACCEPT_FLOW;
			else {
				usage(stderr);
				return 2;
			}
			break;
		case 'o':
			cfg.fail_open = true;
			break;
		case 'g':
			cfg.gso = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}

	if (strcmp(modname, "none")) {
		chain = chain_make(modname, moddir, cfg.count, modargc, modargv);
		if (!chain)
			return 1;
		cfg.judge = judge_chain;
		cfg.arg = chain;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	rc = gwlb_nfq_start(&cfg, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "nfqhost: %s\n", err);
		return 1;
	}
	printf("ready ct-path %s judge %s\n", gwlb_nfq_ct_path(), chain ? modname : "none");
	fflush(stdout);

	if (prefill) {
		double end = now_s() + idle;

		st.queue_total = 0;
		while (!stop && (gwlb_nfq_kernel_stats(cfg.first, &st) < 0 ||
				 st.queue_total < prefill)) {
			if (now_s() > end) {
				fprintf(stderr, "nfqhost: only %llu of %u packets queued\n",
					(unsigned long long)st.queue_total, prefill);
				stop = 1;
				gwlb_nfq_stop();
				return 1;
			}
			usleep(2000);
		}
		t0 = now_s();
		atomic_store(&hold, false);
		while (!stop && gwlb_nfq_kernel_stats(cfg.first, &st) == 0 && st.queue_total > 0)
			usleep(500);
		t1 = now_s();
		printf("rate %.0f verdicts %llu seconds %.3f\n", (double)prefill / (t1 - t0),
		       (unsigned long long)received_all(cfg.count), t1 - t0);
		goto out;
	}

	t_start = now_s();
	while (!stop && received_all(cfg.count) == 0) {
		if (now_s() - t_start > idle) {
			fprintf(stderr, "nfqhost: no packet within %.0f s\n", idle);
			gwlb_nfq_stop();
			return 1;
		}
		usleep(10000);
	}
	t1 = now_s() + warmup;
	while (!stop && now_s() < t1)
		usleep(5000);
	t0 = now_s();
	c0 = received_all(cfg.count);
	while (!stop && now_s() < t0 + window)
		usleep(5000);
	t1 = now_s();
	c1 = received_all(cfg.count);

	printf("rate %.0f verdicts %llu seconds %.3f\n", (double)(c1 - c0) / (t1 - t0),
	       (unsigned long long)(c1 - c0), t1 - t0);
out:
	for (q = 0; q < cfg.count; q++) {
		gwlb_nfq_stats(q, &st);
		printf("queue %u received %llu accepted %llu dropped %llu unparsed %llu batches %llu "
		       "batch_verdicts %llu enobufs %llu verdict_errors %llu queue_dropped %llu "
		       "user_dropped %llu\n", cfg.first + q,
		       (unsigned long long)st.received, (unsigned long long)st.accepted,
		       (unsigned long long)st.dropped, (unsigned long long)st.unparsed,
		       (unsigned long long)st.batches, (unsigned long long)st.batch_verdicts,
		       (unsigned long long)st.enobufs, (unsigned long long)st.verdict_errors,
		       (unsigned long long)st.queue_dropped, (unsigned long long)st.user_dropped);
	}
	gwlb_nfq_stop();
	if (chain) {
		struct gwlb_module_info mi;
		unsigned k;

		/* proof that the module judged every packet */
		gwlb_module_instance_info(gwlb_chain_inst(chain, 0), &mi);
		printf("module %s", mi.name);
		for (k = 0; k < GWLB_MODULE_NVERDICTS; k++)
			printf(" %s %llu", gwlb_module_verdict_str(k),
			       (unsigned long long)mi.verdicts[k]);
		printf("\n");
		gwlb_chain_free(chain);
	}
	return 0;
}
