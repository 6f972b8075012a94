/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gwlbctl: gwlbd's command-line client. Each subcommand sends one JSON request line over
 * gwlbd's control socket and prints the answer, aligned for people or as JSON (-j).
 * Exit codes: 0 ok, 1 gwlbd answered with an error, 2 usage, 3 no gwlbd to talk to.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctlclient.h"
#include "opts.h"
#include "table.h"

#define EXIT_DAEMON	1
#define EXIT_USAGE	2
#define EXIT_CONNECT	3

static const char *sock_path;
static bool json_out;

struct command {
	const char *name;
	int (*fn)(const struct command *c, int argc, char **argv);
	const char *args;
	const char *help;
	long limit_max;			/* --limit N takes 1..limit_max */
};

static const struct command commands[];

static void usage_of(const struct command *c, FILE *f)
{
	fprintf(f, "Usage: gwlbctl [-j] [--socket PATH] %s%s%s\n  %s\n", c->name,
		c->args[0] ? " " : "", c->args, c->help);
}

static int usage_error(const struct command *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int usage_error(const struct command *c, const char *fmt, ...)
{
	va_list ap;

	fputs("gwlbctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (c)
		usage_of(c, stderr);
	else
		fputs("See gwlbctl --help.\n", stderr);
	return EXIT_USAGE;
}

/* ---- talking to gwlbd ---- */

/*
 * Send req (consumed), read one answer line. *ans gets it, or an exit code comes back:
 * EXIT_CONNECT when gwlbd cannot be reached or does not answer, EXIT_DAEMON for an error
 * answer (printed).
 */
static int request(const char *cmd, json_t *req, json_t **ans)
{
	enum gwlb_ctlclient_result r;
	char err[512];

	r = gwlb_ctlclient_request(sock_path, cmd, req, ans, err, sizeof(err));
	if (r == GWLB_CTLCLIENT_OK)
		return 0;
	if (*ans && json_out) {
		char *s = json_dumps(*ans, JSON_COMPACT);

		if (s)
			puts(s);
		free(s);
	}
	json_decref(*ans);
	*ans = NULL;
	fprintf(stderr, "gwlbctl: %s\n", err);
	return r == GWLB_CTLCLIENT_UNREACHABLE ? EXIT_CONNECT : EXIT_DAEMON;
}

/* -j: the answer as it came, one line. */
static int print_json(json_t *ans)
{
	char *s = json_dumps(ans, JSON_COMPACT);

	if (!s)
		return EXIT_DAEMON;
	puts(s);
	free(s);
	return 0;
}

/* Run cmd with req; print with human() unless -j. */
static int run(const char *cmd, json_t *req, void (*human)(json_t *ans))
{
	json_t *ans;
	int ret = request(cmd, req ? req : json_object(), &ans);

	if (ret)
		return ret;
	if (json_out)
		ret = print_json(ans);
	else
		human(ans);
	json_decref(ans);
	return ret;
}

/*
 * A command's own options: -j, and those in longopts (short forms in shortopts); the
 * rest must be no more than max_args arguments. Returns the index of the first argument,
 * or -1 after a usage error (printed). Options found go to on_opt.
 */
static int parse_cmd(const struct command *c, int argc, char **argv, const char *shortopts,
		     const struct option *longopts, int max_args,
		     int (*on_opt)(const struct command *c, int opt, const char *arg, json_t *req),
		     json_t *req)
{
	char so[32];
	int opt;

	snprintf(so, sizeof(so), "+:jh%s", shortopts ? shortopts : "");
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, so, longopts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			json_out = true;
			break;
		case 'h':
			usage_of(c, stdout);
			exit(0);
		case ':':
			usage_error(c, "%s: option '%s' needs an argument", c->name, argv[optind - 1]);
			return -1;
		case '?':
			usage_error(c, "%s: unknown option '%s'", c->name, argv[optind - 1]);
			return -1;
		default:
			if (!on_opt || on_opt(c, opt, optarg, req) < 0)
				return -1;
		}
	}
	if (argc - optind > max_args) {
		usage_error(c, "%s: unexpected argument '%s'", c->name, argv[optind + max_args]);
		return -1;
	}
	return optind;
}

static const char *jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "-";
}

static const char *jnum(json_t *o, const char *key, char *buf, size_t len)
{
	snprintf(buf, len, "%lld", (long long)json_integer_value(json_object_get(o, key)));
	return buf;
}

/* ---- commands ---- */

static void status_human(json_t *a)
{
	char up[32];
	json_t *h = json_object_get(a, "healthy");

	printf("gwlbd %s, up %s, %s%s%s\n", jstr(a, "version"),
	       gwlb_fmt_duration((uint64_t)json_integer_value(json_object_get(a, "uptime_s")),
				 up, sizeof(up)),
	       json_is_true(h) ? "healthy" : "NOT healthy",
	       json_is_true(h) ? "" : ": ", json_is_true(h) ? "" : jstr(a, "reason"));
	printf("  enis %lld  flows %lld  packets in %lld  out %lld  drops %lld\n",
	       (long long)json_integer_value(json_object_get(a, "enis")),
	       (long long)json_integer_value(json_object_get(a, "flows")),
	       (long long)json_integer_value(json_object_get(a, "rx_packets")),
	       (long long)json_integer_value(json_object_get(a, "tx_packets")),
	       (long long)json_integer_value(json_object_get(a, "drops")));
	if (json_is_true(json_object_get(a, "policy")))
		printf("  policy %s\n", jstr(a, "policy_file"));
	else
		printf("  no policy (gwlbd runs without --policy)\n");
}

static int cmd_status(const struct command *c, int argc, char **argv)
{
	if (parse_cmd(c, argc, argv, NULL, NULL, 0, NULL, NULL) < 0)
		return EXIT_USAGE;
	return run("status", NULL, status_human);
}

static void enis_human(json_t *a)
{
	static const char *const hdr[] = { "ENI", "GWI", "GWO", "STATE", "INDEX", "MARK", "ZONE",
					   "TABLE", "PRIO", "RX-PKTS", "RX-BYTES", "TX-PKTS",
					   "TX-BYTES", "FLOWS", "DROPS", "AGE", "MODE" };
	json_t *enis = json_object_get(a, "enis"), *e;
	struct gwlb_table t;
	size_t i;

	if (!json_array_size(enis)) {
		printf("no ENIs (no GENEVE traffic from GWLB yet)\n");
		return;
	}
	if (gwlb_table_init(&t, 17, hdr))
		return;
	json_array_foreach(enis, i, e) {
		char n[6][24], age[24], net[5][24];
		json_t *in = json_object_get(e, "tunnelIn"), *out = json_object_get(e, "tunnelOut");
		const char *row[17] = {
			jstr(e, "eni"), jstr(e, "gwi"), *jstr(e, "gwo") ? jstr(e, "gwo") : "-",
			jstr(e, "state"),
			jnum(e, "index", net[0], sizeof(net[0])),
			jnum(e, "mark", net[1], sizeof(net[1])),
			jnum(e, "zone", net[2], sizeof(net[2])),
			jnum(e, "route_table", net[3], sizeof(net[3])),
			jnum(e, "rule_priority", net[4], sizeof(net[4])),
			jnum(in, "packets", n[0], sizeof(n[0])), jnum(in, "bytes", n[1], sizeof(n[1])),
			jnum(out, "packets", n[2], sizeof(n[2])),
			jnum(out, "bytes", n[3], sizeof(n[3])),
			jnum(e, "flows", n[4], sizeof(n[4])), jnum(e, "drops_total", n[5], sizeof(n[5])),
			gwlb_fmt_duration((uint64_t)json_integer_value(json_object_get(e, "age_s")),
					  age, sizeof(age)),
			jstr(e, "mode"),
		};

		gwlb_table_add(&t, row);
	}
	gwlb_table_print(&t, stdout, 0);
	gwlb_table_free(&t);
	/* what gwlbd added for each ENI's mode, as ip(8) lists it */
	json_array_foreach(enis, i, e) {
		json_t *routing = json_object_get(e, "routing"), *r;
		size_t j;

		json_array_foreach(routing, j, r)
			printf("%s: ip %s\n", jstr(e, "eni"), json_string_value(r));
	}
}

static int cmd_enis(const struct command *c, int argc, char **argv)
{
	if (parse_cmd(c, argc, argv, NULL, NULL, 0, NULL, NULL) < 0)
		return EXIT_USAGE;
	return run("enis", NULL, enis_human);
}

static void flows_human(json_t *a)
{
	static const char *const hdr[] = { "PROTO", "ENDPOINT", "ENDPOINT", "ENI", "COOKIE",
					   "IDLE" };
	json_t *flows = json_object_get(a, "flows"), *f;
	struct gwlb_table t;
	size_t i;

	if (gwlb_table_init(&t, 6, hdr))
		return;
	json_array_foreach(flows, i, f) {
		json_t *ep = json_object_get(f, "endpoints");
		int fam = (int)json_integer_value(json_object_get(f, "family"));
		int proto = (int)json_integer_value(json_object_get(f, "proto"));
		char p[16], e0[64], e1[64], idle[24];
		const char *row[6] = {
			gwlb_fmt_proto(proto, p, sizeof(p)),
			gwlb_fmt_endpoint(fam, proto, jstr(json_array_get(ep, 0), "addr"),
				 (int)json_integer_value(json_object_get(json_array_get(ep, 0), "port")),
				 e0, sizeof(e0)),
			gwlb_fmt_endpoint(fam, proto, jstr(json_array_get(ep, 1), "addr"),
				 (int)json_integer_value(json_object_get(json_array_get(ep, 1), "port")),
				 e1, sizeof(e1)),
			jstr(f, "eni"), jstr(f, "cookie"),
			gwlb_fmt_duration((uint64_t)json_integer_value(json_object_get(f, "idle_s")),
					  idle, sizeof(idle)),
		};

		gwlb_table_add(&t, row);
	}
	if (json_array_size(flows))
		gwlb_table_print(&t, stdout, 0);
	printf("%zu flow%s shown, %lld in the table%s\n", json_array_size(flows),
	       json_array_size(flows) == 1 ? "" : "s",
	       (long long)json_integer_value(json_object_get(a, "entries")),
	       json_is_true(json_object_get(a, "truncated")) ? " (more with --limit N)" : "");
	gwlb_table_free(&t);
}

/* --limit N, for the commands whose answers can be long. */
static int limit_opt(const struct command *c, int opt, const char *arg, json_t *req)
{
	char *end;
	long n = strtol(arg, &end, 10);

	if (*end || end == arg || n < 1 || n > c->limit_max) {
		usage_error(c, "%s: --limit %s: expected a number 1..%ld", c->name, arg,
			    c->limit_max);
		return -1;
	}
	json_object_set_new(req, "limit", json_integer(n));
	return 0;
}

static const struct option limit_opts[] = {
	{ "limit", required_argument, NULL, 'n' },
	{ "json", no_argument, NULL, 'j' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* Commands whose only option is --limit, with at most one argument: the "name". */
static int cmd_limited(const struct command *c, int argc, char **argv,
		       void (*human)(json_t *ans))
{
	json_t *req = json_object();
	int i = parse_cmd(c, argc, argv, "n:", limit_opts, !strcmp(c->name, "sets"), limit_opt,
			  req);

	if (i < 0) {
		json_decref(req);
		return EXIT_USAGE;
	}
	if (i < argc)
		json_object_set_new(req, "name", json_string(argv[i]));
	return run(c->name, req, human);
}

static int flows_opt(const struct command *c, int opt, const char *arg, json_t *req)
{
	if (opt == 'e') {
		json_object_set_new(req, "eni", json_string(arg));
		return 0;
	}
	return limit_opt(c, opt, arg, req);
}

static int cmd_flows(const struct command *c, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "eni", required_argument, NULL, 'e' },
		{ "limit", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	json_t *req = json_object();

	if (parse_cmd(c, argc, argv, "e:n:", lo, 0, flows_opt, req) < 0) {
		json_decref(req);
		return EXIT_USAGE;
	}
	return run("flows", req, flows_human);
}

static void chain_human(const char *title, json_t *mods)
{
	static const char *const hdr[] = { "MODULE", "CONTINUE", "ACCEPT", "DROP", "ACCEPT-FLOW",
					   "DROP-FLOW", "PATH", "ARGS" };
	struct gwlb_table t;
	json_t *m;
	size_t i;

	printf("%s:\n", title);
	if (!json_array_size(mods)) {
		printf("  no modules\n");
		return;
	}
	if (gwlb_table_init(&t, 8, hdr))
		return;
	json_array_foreach(mods, i, m) {
		json_t *v = json_object_get(m, "verdicts");
		char n[5][24];
		const char *row[8] = {
			jstr(m, "name"),
			jnum(v, "continue", n[0], sizeof(n[0])), jnum(v, "accept", n[1], sizeof(n[1])),
			jnum(v, "drop", n[2], sizeof(n[2])), jnum(v, "accept_flow", n[3], sizeof(n[3])),
			jnum(v, "drop_flow", n[4], sizeof(n[4])),
			jstr(m, "path"), *jstr(m, "args") ? jstr(m, "args") : "-",
		};

		gwlb_table_add(&t, row);
	}
	gwlb_table_print(&t, stdout, 2);
	gwlb_table_free(&t);
	json_array_foreach(mods, i, m) {
		json_t *ctr = json_object_get(m, "counters"), *v;
		const char *k;

		if (!json_object_size(ctr))
			continue;
		printf("  %s counters:", jstr(m, "name"));
		json_object_foreach(ctr, k, v)
			printf(" %s %lld", k, (long long)json_integer_value(v));
		putchar('\n');
	}
}

static void modules_human(json_t *a)
{
	json_t *e;
	size_t i;

	printf("policy %s\n", jstr(a, "file"));
	chain_human("global chain", json_object_get(a, "global"));
	json_array_foreach(json_object_get(a, "enis"), i, e) {
		char title[64];

		snprintf(title, sizeof(title), "chain of %s", jstr(e, "eni"));
		chain_human(title, json_object_get(e, "modules"));
	}
}

static int cmd_modules(const struct command *c, int argc, char **argv)
{
	if (parse_cmd(c, argc, argv, NULL, NULL, 0, NULL, NULL) < 0)
		return EXIT_USAGE;
	return run("modules", NULL, modules_human);
}

static const char *flags_str(json_t *flags, char *buf, size_t len)
{
	size_t i, off = 0;
	json_t *f;

	buf[0] = '\0';
	json_array_foreach(flags, i, f)
		if (off < len)
			off += snprintf(buf + off, len - off, "%s%s", i ? "," : "",
					json_string_value(f));
	return buf[0] ? buf : "-";
}

static const char *ms_or_dash(json_t *o, const char *key, char *buf, size_t len)
{
	json_int_t ms = json_integer_value(json_object_get(o, key));

	return ms ? gwlb_fmt_duration_ms((uint64_t)ms, buf, len) : "-";
}

static void sets_human(json_t *a)
{
	static const char *const shdr[] = { "SET", "TYPE", "FLAGS", "TIMEOUT", "SIZE" };
	static const char *const ehdr[] = { "ELEMENT", "TIMEOUT", "EXPIRES" };
	json_t *set = json_object_get(a, "set"), *s;
	struct gwlb_table t;
	size_t i;

	if (set) {
		json_t *elems = json_object_get(a, "elements");
		char fl[128], to[32];

		printf("set %s in table %s: type %s, flags %s, timeout %s\n", jstr(set, "name"),
		       jstr(a, "table"), jstr(set, "type"),
		       flags_str(json_object_get(set, "flags"), fl, sizeof(fl)),
		       ms_or_dash(set, "timeout_ms", to, sizeof(to)));
		if (!json_array_size(elems)) {
			printf("  no elements\n");
			return;
		}
		if (gwlb_table_init(&t, 3, ehdr))
			return;
		json_array_foreach(elems, i, s) {
			char t1[32], t2[32];
			const char *row[3] = { jstr(s, "key"), ms_or_dash(s, "timeout_ms", t1, sizeof(t1)),
					       ms_or_dash(s, "expires_ms", t2, sizeof(t2)) };

			gwlb_table_add(&t, row);
		}
		gwlb_table_print(&t, stdout, 2);
		gwlb_table_free(&t);
		if (json_is_true(json_object_get(a, "truncated")))
			printf("  (more elements: --limit N)\n");
		return;
	}
	if (!json_array_size(json_object_get(a, "sets"))) {
		printf("table %s: no sets\n", jstr(a, "table"));
		return;
	}
	printf("table %s:\n", jstr(a, "table"));
	if (gwlb_table_init(&t, 5, shdr))
		return;
	json_array_foreach(json_object_get(a, "sets"), i, s) {
		char fl[128], to[32], sz[24];
		json_int_t size = json_integer_value(json_object_get(s, "size"));
		const char *row[5] = { jstr(s, "name"), jstr(s, "type"),
				       flags_str(json_object_get(s, "flags"), fl, sizeof(fl)),
				       ms_or_dash(s, "timeout_ms", to, sizeof(to)),
				       size ? jnum(s, "size", sz, sizeof(sz)) : "-" };

		gwlb_table_add(&t, row);
	}
	gwlb_table_print(&t, stdout, 2);
	gwlb_table_free(&t);
}

static int cmd_sets(const struct command *c, int argc, char **argv)
{
	return cmd_limited(c, argc, argv, sets_human);
}

static void policy_human(json_t *a)
{
	static const char *const qhdr[] = { "QUEUE", "RECEIVED", "ACCEPTED", "DROPPED",
					    "FLOWS-ACC", "FLOWS-DROP", "UNPARSED", "ENOBUFS",
					    "WAITING", "KERNEL-QDROP", "KERNEL-UDROP" };
	static const char *const qkey[] = { "queue", "received", "accepted", "dropped",
					    "flows_accepted", "flows_dropped", "unparsed", "enobufs",
					    "kernel_waiting", "kernel_queue_dropped",
					    "kernel_user_dropped" };
	static const char *const fhdr[] = { "PROTO", "SOURCE", "DESTINATION", "QUEUE", "PACKETS" };
	json_t *su = json_object_get(a, "set_updates"), *q, *f;
	struct gwlb_table t;
	size_t i;
	unsigned k;

	printf("policy %s\n", jstr(a, "file"));
	printf("  queue path %s, ct path %s, fail-%s, reloads %lld (failed %lld)\n",
	       jstr(a, "queue_path"), jstr(a, "ct_path"),
	       json_is_true(json_object_get(a, "fail_open")) ? "open" : "closed",
	       (long long)json_integer_value(json_object_get(a, "reloads")),
	       (long long)json_integer_value(json_object_get(a, "reload_failures")));
	printf("  set updates: applied %lld, failed %lld, overflow %lld\n",
	       (long long)json_integer_value(json_object_get(su, "applied")),
	       (long long)json_integer_value(json_object_get(su, "failed")),
	       (long long)json_integer_value(json_object_get(su, "overflow")));
	if (!gwlb_table_init(&t, 11, qhdr)) {
		json_array_foreach(json_object_get(a, "queues"), i, q) {
			char n[11][24];
			const char *row[11];

			for (k = 0; k < 11; k++)
				row[k] = jnum(q, qkey[k], n[k], sizeof(n[k]));
			if (!json_is_true(json_object_get(q, "kernel_valid")))
				row[8] = row[9] = row[10] = "?";
			gwlb_table_add(&t, row);
		}
		gwlb_table_print(&t, stdout, 2);
		gwlb_table_free(&t);
	}
	if (!json_array_size(json_object_get(a, "top_flows"))) {
		printf("top flows through userspace: none yet\n");
		return;
	}
	printf("top flows through userspace:\n");
	if (gwlb_table_init(&t, 5, fhdr))
		return;
	json_array_foreach(json_object_get(a, "top_flows"), i, f) {
		int fam = (int)json_integer_value(json_object_get(f, "family"));
		int proto = (int)json_integer_value(json_object_get(f, "proto"));
		char p[16], s[64], d[64], qn[24], pk[24];
		const char *row[5] = {
			gwlb_fmt_proto(proto, p, sizeof(p)),
			gwlb_fmt_endpoint(fam, proto, jstr(f, "src"),
				 (int)json_integer_value(json_object_get(f, "sport")), s, sizeof(s)),
			gwlb_fmt_endpoint(fam, proto, jstr(f, "dst"),
				 (int)json_integer_value(json_object_get(f, "dport")), d, sizeof(d)),
			jnum(f, "queue", qn, sizeof(qn)), jnum(f, "packets", pk, sizeof(pk)),
		};

		gwlb_table_add(&t, row);
	}
	gwlb_table_print(&t, stdout, 2);
	gwlb_table_free(&t);
}

static int cmd_policy(const struct command *c, int argc, char **argv)
{
	return cmd_limited(c, argc, argv, policy_human);
}

static void reload_human(json_t *a)
{
	json_t *nr = json_object_get(a, "nft_rules"), *v;
	size_t i;

	if (json_object_get(a, "file"))
		printf("reloaded %s (%lld reloads, %lld refused)\n", jstr(a, "file"),
		       (long long)json_integer_value(json_object_get(a, "reloads")),
		       (long long)json_integer_value(json_object_get(a, "reload_failures")));
	if (json_object_get(a, "services"))
		printf("services: %s\n", jstr(a, "services"));
	if (!nr)
		return;
	printf("nft-rules %s: %zu file%s, %zu ENI template%s, %zu error%s\n", jstr(nr, "dir"),
	       json_array_size(json_object_get(nr, "files")),
	       json_array_size(json_object_get(nr, "files")) == 1 ? "" : "s",
	       json_array_size(json_object_get(nr, "templates")),
	       json_array_size(json_object_get(nr, "templates")) == 1 ? "" : "s",
	       json_array_size(json_object_get(nr, "errors")),
	       json_array_size(json_object_get(nr, "errors")) == 1 ? "" : "s");
	json_array_foreach(json_object_get(nr, "errors"), i, v)
		printf("  %s\n", json_string_value(v));
}

static int cmd_reload(const struct command *c, int argc, char **argv)
{
	if (parse_cmd(c, argc, argv, NULL, NULL, 0, NULL, NULL) < 0)
		return EXIT_USAGE;
	return run("reload", NULL, reload_human);
}

/* "up" without a check; "up (http)", or "down (http: connection refused)" with one. */
static const char *health_cell(json_t *b, char *buf, size_t len)
{
	json_t *c = json_object_get(b, "check");
	const char *type = json_string_value(json_object_get(c, "type"));

	if (!type || !strcmp(type, "none"))
		return jstr(b, "health");
	if (!strcmp(jstr(b, "health"), "up") || !*jstr(c, "last_error"))
		snprintf(buf, len, "%s (%s)", jstr(b, "health"), type);
	else
		snprintf(buf, len, "%s (%s: %s)", jstr(b, "health"), type, jstr(c, "last_error"));
	return buf;
}

static void services_human(json_t *a)
{
	static const char *const hdr[] = { "SERVICE", "BACKEND", "ADDRESS", "WEIGHT", "TIER",
					   "ADMIN", "HEALTH", "MAP", "NEW", "PACKETS", "BYTES" };
	json_t *svcs = json_object_get(a, "services"), *s, *b;
	struct gwlb_table t;
	size_t i, j;

	if (!json_array_size(svcs)) {
		printf("no services in %s\n", jstr(a, "file"));
		return;
	}
	if (gwlb_table_init(&t, 11, hdr))
		return;
	json_array_foreach(svcs, i, s) {
		char vip[96], n[3][24], tier[16];
		const char *row[11];

		snprintf(vip, sizeof(vip), "%s %s:%s", jstr(s, "protocol"), jstr(s, "vip"),
			 jstr(s, "port"));
		snprintf(tier, sizeof(tier), "%lld",
			 (long long)json_integer_value(json_object_get(s, "tier")));
		row[0] = jstr(s, "name");
		row[1] = "*";
		row[2] = vip;
		row[3] = jstr(s, "scheduler");
		row[4] = tier;
		row[5] = "-";
		row[6] = "-";
		row[7] = "-";
		row[8] = jnum(s, "new", n[0], sizeof(n[0]));
		row[9] = jnum(s, "packets", n[1], sizeof(n[1]));
		row[10] = jnum(s, "bytes", n[2], sizeof(n[2]));
		gwlb_table_add(&t, row);
		json_array_foreach(json_object_get(s, "backends"), j, b) {
			char addr[96], m[6][24], health[160];
			const char *brow[11] = {
				jstr(s, "name"), jstr(b, "name"), addr,
				jnum(b, "weight", m[0], sizeof(m[0])), jnum(b, "tier", m[1], sizeof(m[1])),
				jstr(b, "admin"), health_cell(b, health, sizeof(health)),
				json_is_true(json_object_get(b, "in_map")) ? jstr(b, "range") : "-",
				jnum(b, "new", m[2], sizeof(m[2])), jnum(b, "packets", m[3], sizeof(m[3])),
				jnum(b, "bytes", m[4], sizeof(m[4])),
			};

			if (json_integer_value(json_object_get(b, "port")))
				snprintf(addr, sizeof(addr), strchr(jstr(b, "addr"), ':') ? "[%s]:%lld" : "%s:%lld",
					 jstr(b, "addr"),
					 (long long)json_integer_value(json_object_get(b, "port")));
			else
				snprintf(addr, sizeof(addr), "%s", jstr(b, "addr"));
			gwlb_table_add(&t, brow);
		}
	}
	gwlb_table_print(&t, stdout, 0);
	gwlb_table_free(&t);
}

static int cmd_services(const struct command *c, int argc, char **argv)
{
	if (parse_cmd(c, argc, argv, NULL, NULL, 0, NULL, NULL) < 0)
		return EXIT_USAGE;
	return run("services", NULL, services_human);
}

/* backend SERVICE NAME up|drain|down, or backend SERVICE NAME weight N */
static int cmd_backend(const struct command *c, int argc, char **argv)
{
	json_t *req;
	char *end;
	long w;
	int i = parse_cmd(c, argc, argv, NULL, NULL, 4, NULL, NULL);

	if (i < 0)
		return EXIT_USAGE;
	if (argc - i < 3)
		return usage_error(c, "backend: expected SERVICE NAME up|drain|down|weight N");
	req = json_pack("{s:s, s:s}", "service", argv[i], "backend", argv[i + 1]);
	if (!strcmp(argv[i + 2], "weight")) {
		if (argc - i != 4) {
			json_decref(req);
			return usage_error(c, "backend: weight needs a number");
		}
		w = strtol(argv[i + 3], &end, 10);
		if (*end || w < 1 || w > 10000) {
			json_decref(req);
			return usage_error(c, "backend: bad weight '%s': 1..10000", argv[i + 3]);
		}
		json_object_set_new(req, "weight", json_integer(w));
	} else if (argc - i == 3 && (!strcmp(argv[i + 2], "up") || !strcmp(argv[i + 2], "drain") ||
				     !strcmp(argv[i + 2], "down"))) {
		json_object_set_new(req, "state", json_string(argv[i + 2]));
	} else {
		json_decref(req);
		return usage_error(c, "backend: expected up, drain, down or weight N, not '%s'",
				   argv[i + 2]);
	}
	return run("backend", req, services_human);
}

static const struct command *find_command(const char *name);

static void usage(FILE *f)
{
	const struct command *c;

	fputs("Usage: gwlbctl [-j] [--socket PATH] COMMAND [ARGS]\n"
	      "Ask gwlbd, the AWS Gateway Load Balancer appliance daemon, how it is doing.\n"
	      "\n"
	      "  -j, --json         Print gwlbd's answer as JSON (one object per line).\n"
	      "  -s, --socket PATH  gwlbd's control socket (default $GWLBCTL_SOCKET or\n"
	      "                     " GWLB_CTL_SOCKET ").\n"
	      "  -h, --help         Print this help.\n"
	      "  -V, --version      Print the version.\n"
	      "\n"
	      "Commands:\n", f);
	for (c = commands; c->name; c++)
		fprintf(f, "  %-8s %s\n", c->name, c->help);
	fputs("\nExit status: 0 ok, 1 gwlbd answered with an error, 2 usage error,\n"
	      "3 gwlbd could not be reached. See gwlbctl(8).\n", f);
}

static int cmd_help(const struct command *c, int argc, char **argv)
{
	const struct command *which;

	if (argc > 2)
		return usage_error(c, "help: unexpected argument '%s'", argv[2]);
	if (argc < 2) {
		usage(stdout);
		return 0;
	}
	which = find_command(argv[1]);
	if (!which)
		return usage_error(NULL, "help: unknown command '%s'", argv[1]);
	usage_of(which, stdout);
	return 0;
}

static const struct command commands[] = {
	{ .name = "status", .fn = cmd_status, .args = "",
	  .help = "version, uptime, health and counts" },
	{ .name = "enis", .fn = cmd_enis, .args = "",
	  .help = "each ENI: interfaces, state, packets and bytes, flows, drops" },
	{ .name = "flows", .fn = cmd_flows, .args = "[--eni ENI] [--limit N]",
	  .help = "the tunnel's flow table (default 100 flows, at most 10000)",
	  .limit_max = 10000 },
	{ .name = "modules", .fn = cmd_modules, .args = "",
	  .help = "verdict modules of each chain with their counters" },
	{ .name = "sets", .fn = cmd_sets, .args = "[--limit N] [SET]",
	  .help = "sets in table inet gwlbnf; with SET, its elements", .limit_max = 100000 },
	{ .name = "policy", .fn = cmd_policy, .args = "[--limit N]",
	  .help = "queue path, fail-open, per-queue counters, top flows through userspace",
	  .limit_max = 256 },
	{ .name = "reload", .fn = cmd_reload, .args = "",
	  .help = "re-read the policy and services files (as SIGHUP) and say how it went" },
	{ .name = "services", .fn = cmd_services, .args = "",
	  .help = "balanced services and backends: states, map ranges, counters" },
	{ .name = "backend", .fn = cmd_backend, .args = "SERVICE NAME up|drain|down|weight N",
	  .help = "change a backend's admin state or weight (one nft transaction)" },
	{ .name = "help", .fn = cmd_help, .args = "[COMMAND]",
	  .help = "this help, or one command's" },
	{ .name = NULL },
};

static const struct command *find_command(const char *name)
{
	const struct command *c;

	for (c = commands; c->name; c++)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const struct command *c;
	int opt;

	sock_path = gwlb_ctlclient_default_path();
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+:js:hV", lo, NULL)) != -1) {
		switch (opt) {
		case 'j':
			json_out = true;
			break;
		case 's':
			sock_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("gwlbctl %s\n", PACKAGE_VERSION);
			return 0;
		case ':':
			return usage_error(NULL, "option '%s' needs an argument", argv[optind - 1]);
		default:
			return usage_error(NULL, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind == argc)
		return usage_error(NULL, "no command given");
	c = find_command(argv[optind]);
	if (!c)
		return usage_error(NULL, "unknown command '%s'", argv[optind]);
	return c->fn(c, argc - optind, argv + optind);
}
