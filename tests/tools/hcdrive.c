/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hcdrive: gwlbd's health checker (src/gwlbd/hcheck.c) on its own, driven by lines on
 * stdin, for tests/lab/hcheck.sh:
 *
 *   add NAME ADDR PORT [key=value ...]   services-file keys (hccfg.h): check=tcp, rise=2...
 *   remove NAME
 *   status NAME
 *   quit
 *
 * On stdout, one line each: "added NAME MS", "removed NAME", "event MS NAME up|down WHY"
 * (MS: milliseconds on CLOCK_MONOTONIC, as `hcdrive now` prints), "status NAME up=0|1
 * ok_run=N fail_run=N checks=N failures=N transitions=N rtt_us=N error=TEXT",
 * "error TEXT" for a refused line. "hcdrive now" prints the clock and exits.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hccfg.h"
#include "hcheck.h"

#define MAX_TARGETS	64

struct target {
	char name[32];
	uint64_t id;
	bool used;
};

static struct target targets[MAX_TARGETS];
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&out_lock);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	pthread_mutex_unlock(&out_lock);
}

static void on_change(void *owner, bool up, const char *why)
{
	struct target *t = owner;

	say("event %lld %s %s %s", now_ms(), t->name, up ? "up" : "down", why);
}

static struct target *find(const char *name)
{
	unsigned i;

	for (i = 0; i < MAX_TARGETS; i++) {
		if (targets[i].used && !strcmp(targets[i].name, name))
			return &targets[i];
	}
	return NULL;
}

static int parse_addr(const char *a, const char *port, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	long p = strtol(port, NULL, 10);

	memset(ss, 0, sizeof(*ss));
	if (p <= 0 || p > 65535)
		return -EINVAL;
	if (inet_pton(AF_INET, a, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)p);
		return 0;
	}
	if (inet_pton(AF_INET6, a, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)p);
		return 0;
	}
	return -EINVAL;
}

static void cmd_add(char *args)
{
	char *name = strtok(args, " "), *addr = strtok(NULL, " "), *port = strtok(NULL, " ");
	struct gwlb_hccfg_err err;
	struct gwlb_hc_cfg cfg;
	struct target *t = NULL;
	char *kv, *eq;
	unsigned i;
	int ret;

	if (!name || !addr || !port || strlen(name) >= sizeof(t->name) || find(name))
		return say("error add: NAME ADDR PORT [key=value ...], a new NAME");
	for (i = 0; i < MAX_TARGETS && !t; i++) {
		if (!targets[i].used)
			t = &targets[i];
	}
	if (!t)
		return say("error add: at most %d targets", MAX_TARGETS);
	gwlb_hccfg_init(&cfg);
	if (parse_addr(addr, port, &cfg.addr) < 0)
		return say("error add: bad address '%s' or port '%s'", addr, port);
	while ((kv = strtok(NULL, " "))) {
		eq = strchr(kv, '=');
		if (!eq)
			return say("error add: '%s' is not key=value", kv);
		*eq = '\0';
		ret = gwlb_hccfg_set(&cfg, kv, eq + 1, "<stdin>", 0, &err);
		if (ret == -ENOENT)
			return say("error add: unknown key '%s'", kv);
		if (ret < 0)
			return say("error add: %s", err.reason);
	}
	if (gwlb_hccfg_finish(&cfg, "<stdin>", 0, &err) < 0)
		return say("error add: %s", err.reason);
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->used = true;
	ret = gwlb_hc_add(&cfg, on_change, t, &t->id);
	if (ret < 0) {
		t->used = false;
		return say("error add: %s", strerror(-ret));
	}
	say("added %s %lld", name, now_ms());
}

static void cmd_status(const char *name)
{
	struct target *t = find(name);
	struct gwlb_hc_status st;

	if (!t || gwlb_hc_status(t->id, &st) < 0)
		return say("error status: no target '%s'", name);
	say("status %s up=%d ok_run=%u fail_run=%u checks=%llu failures=%llu transitions=%llu "
	    "rtt_us=%d error=%s", name, st.up, st.ok_run, st.fail_run,
	    (unsigned long long)st.checks, (unsigned long long)st.failures,
	    (unsigned long long)st.transitions, st.last_rtt_us, st.last_error);
}

static void cmd_remove(const char *name)
{
	struct target *t = find(name);

	if (!t || gwlb_hc_remove(t->id) < 0)
		return say("error remove: no target '%s'", name);
	/* Free to reuse now: remove() promises no callback for it from here on. */
	t->used = false;
	say("removed %s", name);
}

int main(int argc, char **argv)
{
	char line[1024], err[256];

	if (argc > 1 && !strcmp(argv[1], "now")) {
		printf("%lld\n", now_ms());
		return 0;
	}
	if (argc > 1) {
		fprintf(stderr, "usage: hcdrive [now] (commands on stdin: add, remove, status, "
			"quit)\n");
		return 2;
	}
	if (gwlb_hc_start(err, sizeof(err)) < 0) {
		fprintf(stderr, "hcdrive: %s\n", err);
		return 1;
	}
	while (fgets(line, sizeof(line), stdin)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (!strncmp(line, "add ", 4))
			cmd_add(line + 4);
		else if (!strncmp(line, "remove ", 7))
			cmd_remove(line + 7);
		else if (!strncmp(line, "status ", 7))
			cmd_status(line + 7);
		else if (!strcmp(line, "quit"))
			break;
		else if (line[0])
			say("error unknown command '%s'", line);
	}
	gwlb_hc_stop();
	say("stopped");
	return 0;
}
