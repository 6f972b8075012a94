/* SPDX-License-Identifier: GPL-2.0-or-later */
/* gwlbsim: AWS Gateway Load Balancer stand-in for labs and benchmarks. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "sim.h"

static const struct {
	const char *name;
	int (*main)(int argc, char *argv[]);
	const char *desc;
} commands[] = {
	{ "lab", sim_lab_main, "encapsulate a tun's traffic like GWLB, check and deliver replies" },
	{ "bench", sim_bench_main, "generate GENEVE traffic, measure rate, loss and latency" },
};

static void usage(FILE *f, const char *prog)
{
	size_t i;

	fprintf(f, "Usage: %s <command> [options]\n\nCommands:\n", prog);
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-7s %s\n", commands[i].name, commands[i].desc);
	fprintf(f, "\n'%s <command> --help' lists the command's options; see gwlbsim(1).\n", prog);
}

int main(int argc, char *argv[])
{
	size_t i;

	if (argc < 2) {
		usage(stderr, argv[0]);
		return 1;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout, argv[0]);
		return 0;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].main(argc - 1, argv + 1);
	}
	fprintf(stderr, "%s: unknown command '%s' (try '%s --help')\n", argv[0], argv[1], argv[0]);
	return 1;
}
