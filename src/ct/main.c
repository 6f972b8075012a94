/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gwlbnf-ct: conntrack entries per ENI. An entry belongs to the ENI whose index is its zone
 * (gwlbd zones an ENI's original direction), or, for an entry in zone 0, the index in its ct
 * mark's bits 0-15 (ctmap.h). ENI ids come from gwlbd's control socket ("enis"), or from its
 * state file when gwlbd does not answer.
 * Exit codes: 0 ok, 1 conntrack failed, 2 usage, 3 the ENI is not known.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>

#include "ctflush.h"
#include "ctlclient.h"
#include "ctmap.h"
#include "eniidx.h"
#include "eniname.h"
#include "enistate.h"
#include "opts.h"
#include "table.h"

#define EXIT_CT		1
#define EXIT_USAGE	2
#define EXIT_UNKNOWN	3

#define NIDX		(GWLB_ENIIDX_MAX + 1)

static const char *sock_path;
static const char *state_path = GWLB_STATE_FILE;
static bool json_out;

/* index -> ENI id, and where the mapping came from */
static struct {
	uint64_t id[NIDX];
	bool known[NIDX];
	const char *source;		/* "gwlbd", "state-file" or "none" */
	char why[600];			/* why neither answered, for "not known" errors */
} map;

struct command {
	const char *name;
	int (*fn)(const struct command *c, const char *eni);
	const char *args;
	bool eni_required;
	const char *help;
};

static const struct command commands[];

static void usage(FILE *f)
{
	const struct command *c;

	fputs("Usage: gwlbnf-ct [-j] [--socket PATH] [--state-file PATH] COMMAND [ENI]\n"
	      "List, count and flush the conntrack entries of gwlbd's ENIs (GWLB endpoints).\n"
	      "Run it in gwlbd's network namespace.\n"
	      "\n"
	      "  -j, --json             Print JSON (one object).\n"
	      "  -s, --socket PATH      gwlbd's control socket (default $GWLBCTL_SOCKET or\n"
	      "                         " GWLB_CTL_SOCKET ").\n"
	      "  -f, --state-file PATH  gwlbd's ENI state file, read when gwlbd does not answer\n"
	      "                         (default " GWLB_STATE_FILE ").\n"
	      "  -h, --help             Print this help.\n"
	      "  -V, --version          Print the version.\n"
	      "\n"
	      "Commands:\n", f);
	for (c = commands; c->name; c++)
		fprintf(f, "  %-5s %-6s %s\n", c->name, c->args, c->help);
	fputs("\nENI: eni-<17 hex digits>, the 17 hex digits alone, a gwi-/gwo- interface name,\n"
	      "or an index (1-65535: its zone and mark bits 0-15).\n"
	      "\nExit status: 0 ok, 1 conntrack could not be read or changed, 2 usage error,\n"
	      "3 the ENI is not known to gwlbd or its state file. See gwlbnf-ct(8).\n", f);
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("gwlbnf-ct: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nSee gwlbnf-ct --help.\n", stderr);
	return EXIT_USAGE;
}

/* ---- index <-> ENI ---- */

static int map_from_gwlbd(char *err, size_t errlen)
{
	json_t *ans, *e;
	size_t i;

	if (gwlb_ctlclient_request(sock_path, "enis", json_object(), &ans, err, errlen)) {
		json_decref(ans);
		return -1;
	}
	json_array_foreach(json_object_get(ans, "enis"), i, e) {
		json_int_t idx = json_integer_value(json_object_get(e, "index"));
		uint64_t id;

		if (idx < 1 || idx > GWLB_ENIIDX_MAX ||
		    gwlb_eni_parse(json_string_value(json_object_get(e, "eni")), &id))
			continue;
		map.id[idx] = id;
		map.known[idx] = true;
	}
	json_decref(ans);
	return 0;
}

static int map_from_state(char *err, size_t errlen)
{
	struct gwlb_eniidx *a;
	FILE *f;
	int ret;

	/* gwlb_enistate_load takes a missing file for an empty one (gwlbd's first start) */
	f = fopen(state_path, "r");
	if (!f) {
		snprintf(err, errlen, "cannot read the state file %s: %s", state_path,
			 strerror(errno));
		return -1;
	}
	fclose(f);
	ret = gwlb_eniidx_alloc(&a, GWLB_ENIIDX_MAX);
	if (ret) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	ret = gwlb_enistate_load(state_path, a, err, errlen);
	for (uint32_t i = 1; !ret && i < NIDX; i++)
		map.known[i] = !gwlb_eniidx_owner(a, i, &map.id[i]);
	gwlb_eniidx_free(a);
	return ret ? -1 : 0;
}

/* gwlbd's ENIs, else the state file's; neither is an error only for names (map_find). */
static void map_load(void)
{
	char gerr[256], serr[300];

	if (!map_from_gwlbd(gerr, sizeof(gerr))) {
		map.source = "gwlbd";
		return;
	}
	if (!map_from_state(serr, sizeof(serr))) {
		map.source = "state-file";
		if (!json_out)
			fprintf(stderr, "gwlbnf-ct: %s; ENI names from the state file %s\n",
				gerr, state_path);
		return;
	}
	map.source = "none";
	snprintf(map.why, sizeof(map.why), "gwlbd: %s; %s", gerr, serr);
	if (!json_out)
		fprintf(stderr, "gwlbnf-ct: no ENI names: %s\n", map.why);
}

static const char *eni_str(uint16_t idx, char *buf, size_t len)
{
	if (!map.known[idx])
		return "-";
	snprintf(buf, len, "eni-%017llx", (unsigned long long)map.id[idx]);
	return buf;
}

static const char *gwi_str(uint16_t idx, char *buf, size_t len)
{
	if (!map.known[idx] || gwlb_eni_ifname("gwi-", map.id[idx], buf, len) < 0)
		return "-";
	return buf;
}

/* The index the user named: 1..65535, or -EXIT_USAGE / -EXIT_UNKNOWN (said). */
static int map_find(const char *arg)
{
	struct gwlb_ctmap_ref ref;
	char err[256];

	if (gwlb_ctmap_ref_parse(arg, &ref, err, sizeof(err)))
		return -usage_error("%s", err);
	if (ref.kind == GWLB_CTMAP_REF_INDEX)
		return ref.index;
	for (uint32_t i = 1; i < NIDX; i++)
		if (map.known[i] && map.id[i] == ref.id)
			return (int)i;
	if (!strcmp(map.source, "none"))
		fprintf(stderr, "gwlbnf-ct: cannot tell the index of %s (%s); give its index\n",
			arg, map.why);
	else if (!strcmp(map.source, "gwlbd"))
		fprintf(stderr, "gwlbnf-ct: %s (eni-%017llx) is not one of gwlbd's ENIs on %s\n",
			arg, (unsigned long long)ref.id, sock_path);
	else
		fprintf(stderr, "gwlbnf-ct: %s (eni-%017llx) is not in the state file %s\n", arg,
			(unsigned long long)ref.id, state_path);
	return -EXIT_UNKNOWN;
}

/* ---- entries ---- */

static const char *tcp_state(uint8_t s)
{
	static const char *const name[] = { "NONE", "SYN_SENT", "SYN_RECV", "ESTABLISHED",
					    "FIN_WAIT", "CLOSE_WAIT", "LAST_ACK", "TIME_WAIT",
					    "CLOSE", "SYN_SENT2" };

	return s < sizeof(name) / sizeof(name[0]) ? name[s] : "?";
}

static uint16_t ct_u16(const struct nf_conntrack *ct, enum nf_conntrack_attr a)
{
	return nfct_attr_is_set(ct, a) > 0 ? nfct_get_attr_u16(ct, a) : 0;
}

static uint32_t ct_u32(const struct nf_conntrack *ct, enum nf_conntrack_attr a)
{
	return nfct_attr_is_set(ct, a) > 0 ? nfct_get_attr_u32(ct, a) : 0;
}

struct tuple {
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
	int sport, dport;
};

static void ct_tuple(const struct nf_conntrack *ct, bool reply, struct tuple *t)
{
	bool v6 = nfct_get_attr_u8(ct, ATTR_L3PROTO) == AF_INET6;
	int af = v6 ? AF_INET6 : AF_INET;

	if (v6) {
		inet_ntop(af, nfct_get_attr(ct, reply ? ATTR_REPL_IPV6_SRC : ATTR_ORIG_IPV6_SRC),
			  t->src, sizeof(t->src));
		inet_ntop(af, nfct_get_attr(ct, reply ? ATTR_REPL_IPV6_DST : ATTR_ORIG_IPV6_DST),
			  t->dst, sizeof(t->dst));
	} else {
		inet_ntop(af, nfct_get_attr(ct, reply ? ATTR_REPL_IPV4_SRC : ATTR_ORIG_IPV4_SRC),
			  t->src, sizeof(t->src));
		inet_ntop(af, nfct_get_attr(ct, reply ? ATTR_REPL_IPV4_DST : ATTR_ORIG_IPV4_DST),
			  t->dst, sizeof(t->dst));
	}
	t->sport = ntohs(ct_u16(ct, reply ? ATTR_REPL_PORT_SRC : ATTR_ORIG_PORT_SRC));
	t->dport = ntohs(ct_u16(ct, reply ? ATTR_REPL_PORT_DST : ATTR_ORIG_PORT_DST));
}

struct list_ctx {
	int want;			/* index, or 0 for every ENI's entries */
	unsigned n;
	struct gwlb_table t;
	json_t *arr;
};

static json_t *tuple_json(const struct tuple *t)
{
	return json_pack("{s:s, s:s, s:i, s:i}", "src", t->src, "dst", t->dst, "sport", t->sport,
			 "dport", t->dport);
}

static int list_cb(const struct nf_conntrack *ct, void *arg)
{
	struct list_ctx *c = arg;
	uint16_t idx = gwlb_ctflush_owner(ct);
	uint32_t mark = ct_u32(ct, ATTR_MARK);
	int fam = nfct_get_attr_u8(ct, ATTR_L3PROTO) == AF_INET6 ? 6 : 4;
	int proto = nfct_get_attr_u8(ct, ATTR_L4PROTO);
	uint16_t zo = ct_u16(ct, ATTR_ORIG_ZONE), zr = ct_u16(ct, ATTR_REPL_ZONE);
	uint16_t z = ct_u16(ct, ATTR_ZONE);
	const char *state = proto == IPPROTO_TCP && nfct_attr_is_set(ct, ATTR_TCP_STATE) > 0 ?
			    tcp_state(nfct_get_attr_u8(ct, ATTR_TCP_STATE)) : "-";
	char eni[24], gwi[24], s[8][64];
	struct tuple o, r;

	if (!idx || (c->want && idx != c->want))
		return 0;
	c->n++;
	ct_tuple(ct, false, &o);
	ct_tuple(ct, true, &r);
	if (json_out) {
		json_t *e = json_pack("{s:i, s:s?, s:s?, s:s, s:I, s:i, s:i, s:i, s:i, s:s, s:o, "
				      "s:o, s:I}",
			"index", idx, "eni", map.known[idx] ? eni_str(idx, eni, sizeof(eni)) : NULL,
			"gwi", map.known[idx] ? gwi_str(idx, gwi, sizeof(gwi)) : NULL,
			"decision", gwlb_ctmap_decision(mark), "mark", (json_int_t)mark,
			"zone_orig", z ? z : zo, "zone_reply", z ? z : zr, "family", fam,
			"proto", proto, "state", state, "original", tuple_json(&o),
			"reply", tuple_json(&r), "timeout", (json_int_t)ct_u32(ct, ATTR_TIMEOUT));

		return e && !json_array_append_new(c->arr, e) ? 0 : -ENOMEM;
	}
	snprintf(s[0], sizeof(s[0]), "%u", idx);
	snprintf(s[1], sizeof(s[1]), "%u", z ? z : zo);
	snprintf(s[2], sizeof(s[2]), "%u", z ? z : zr);
	snprintf(s[3], sizeof(s[3]), "%u", mark);
	snprintf(s[4], sizeof(s[4]), "%u", ct_u32(ct, ATTR_TIMEOUT));
	{
		char p[16], ep[4][64];
		const char *row[] = {
			eni_str(idx, eni, sizeof(eni)), gwi_str(idx, gwi, sizeof(gwi)), s[0],
			gwlb_ctmap_decision(mark), gwlb_fmt_proto(proto, p, sizeof(p)), state,
			gwlb_fmt_endpoint(fam, proto, o.src, o.sport, ep[0], sizeof(ep[0])),
			gwlb_fmt_endpoint(fam, proto, o.dst, o.dport, ep[1], sizeof(ep[1])),
			gwlb_fmt_endpoint(fam, proto, r.src, r.sport, ep[2], sizeof(ep[2])),
			gwlb_fmt_endpoint(fam, proto, r.dst, r.dport, ep[3], sizeof(ep[3])),
			s[1], s[2], s[3], s[4],
		};

		return gwlb_table_add(&c->t, row);
	}
}

static void print_json(json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT);

	if (s)
		puts(s);
	free(s);
	json_decref(o);
}

static int ct_failed(const char *err)
{
	fprintf(stderr, "gwlbnf-ct: %s\n", err);
	return EXIT_CT;
}

static int cmd_list(const struct command *c, const char *arg)
{
	static const char *const hdr[] = { "ENI", "GWI", "INDEX", "DECISION", "PROTO", "STATE",
					   "SRC", "DST", "REPLY-SRC", "REPLY-DST", "ZONE-ORIG",
					   "ZONE-REPLY", "MARK", "TIMEOUT" };
	struct list_ctx lc = { 0 };
	char err[512];
	int ret;

	(void)c;
	if (arg) {
		lc.want = map_find(arg);
		if (lc.want < 0)
			return -lc.want;
	}
	if (json_out)
		lc.arr = json_array();
	else if (gwlb_table_init(&lc.t, 14, hdr))
		return ct_failed("out of memory");
	ret = gwlb_ctflush_foreach(list_cb, &lc, err, sizeof(err));
	if (ret) {
		json_decref(lc.arr);
		gwlb_table_free(&lc.t);
		return ct_failed(err);
	}
	if (json_out) {
		print_json(json_pack("{s:s, s:o}", "source", map.source, "entries", lc.arr));
		return 0;
	}
	if (lc.n)
		gwlb_table_print(&lc.t, stdout, 0);
	else
		printf("no conntrack entries%s%s\n", arg ? " of " : " of any ENI", arg ? arg : "");
	gwlb_table_free(&lc.t);
	return 0;
}

static int count_cb(const struct nf_conntrack *ct, void *arg)
{
	unsigned *n = arg;

	n[gwlb_ctflush_owner(ct)]++;
	return 0;
}

static int cmd_count(const struct command *c, const char *arg)
{
	static const char *const hdr[] = { "ENI", "GWI", "INDEX", "ENTRIES" };
	unsigned *n = calloc(NIDX, sizeof(*n)), total = 0;
	struct gwlb_table t = { 0 };
	json_t *arr = NULL;
	char err[512];
	int want = 0, ret = 0;

	(void)c;
	if (!n)
		return ct_failed("out of memory");
	if (arg) {
		want = map_find(arg);
		if (want < 0) {
			free(n);
			return -want;
		}
	}
	ret = gwlb_ctflush_foreach(count_cb, n, err, sizeof(err));
	if (ret) {
		free(n);
		return ct_failed(err);
	}
	if (json_out)
		arr = json_array();
	else if (gwlb_table_init(&t, 4, hdr))
		ret = -ENOMEM;
	for (uint32_t i = 1; !ret && i < NIDX; i++) {
		char eni[24], gwi[24], idx[8], cnt[16];

		/* every known ENI, and indexes with entries but no ENI any more */
		if (want ? (int)i != want : !map.known[i] && !n[i])
			continue;
		total += n[i];
		if (json_out) {
			json_array_append_new(arr, json_pack("{s:i, s:s?, s:s?, s:i}", "index", i,
				"eni", map.known[i] ? eni_str(i, eni, sizeof(eni)) : NULL,
				"gwi", map.known[i] ? gwi_str(i, gwi, sizeof(gwi)) : NULL,
				"entries", n[i]));
			continue;
		}
		snprintf(idx, sizeof(idx), "%u", i);
		snprintf(cnt, sizeof(cnt), "%u", n[i]);
		ret = gwlb_table_add(&t, (const char *const[]){ eni_str(i, eni, sizeof(eni)),
			gwi_str(i, gwi, sizeof(gwi)), idx, cnt });
	}
	if (ret) {
		ret = ct_failed("out of memory");
	} else if (json_out) {
		print_json(json_pack("{s:s, s:o, s:i, s:i}", "source", map.source, "enis", arr,
				     "total", total, "no_eni", n[0]));
		arr = NULL;
	} else {
		gwlb_table_print(&t, stdout, 0);
		printf("total %u (entries of no ENI: %u)\n", total, n[0]);
	}
	json_decref(arr);
	gwlb_table_free(&t);
	free(n);
	return ret;
}

static int cmd_flush(const struct command *c, const char *arg)
{
	char err[512], eni[24], gwi[24];
	int idx, n;

	(void)c;
	idx = map_find(arg);
	if (idx < 0)
		return -idx;
	n = gwlb_ctflush_eni((uint16_t)idx, err, sizeof(err));
	if (n < 0)
		return ct_failed(err);
	if (json_out)
		print_json(json_pack("{s:s, s:i, s:s?, s:s?, s:i}", "source", map.source,
			"index", idx, "eni", map.known[idx] ? eni_str(idx, eni, sizeof(eni)) : NULL,
			"gwi", map.known[idx] ? gwi_str(idx, gwi, sizeof(gwi)) : NULL,
			"flushed", n));
	else
		printf("%s (%s, index %d): %d conntrack entries flushed\n",
		       eni_str(idx, eni, sizeof(eni)), gwi_str(idx, gwi, sizeof(gwi)), idx, n);
	return 0;
}

static const struct command commands[] = {
	{ .name = "list", .fn = cmd_list, .args = "[ENI]",
	  .help = "the entries of ENI, or of every ENI, with their ENI and decision" },
	{ .name = "count", .fn = cmd_count, .args = "[ENI]",
	  .help = "entries per ENI" },
	{ .name = "flush", .fn = cmd_flush, .args = "ENI", .eni_required = true,
	  .help = "delete ENI's entries (its zone; zone 0 with its index in the mark)" },
	{ .name = NULL },
};

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "socket", required_argument, NULL, 's' },
		{ "state-file", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const struct command *c;
	int opt;

	sock_path = gwlb_ctlclient_default_path();
	opterr = 0;
	/* options anywhere: gwlbnf-ct list -j eni-... */
	while ((opt = getopt_long(argc, argv, ":js:f:hV", lo, NULL)) != -1) {
		switch (opt) {
		case 'j':
			json_out = true;
			break;
		case 's':
			sock_path = optarg;
			break;
		case 'f':
			state_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("gwlbnf-ct %s\n", PACKAGE_VERSION);
			return 0;
		case ':':
			return usage_error("option '%s' needs an argument", argv[optind - 1]);
		default:
			return usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind == argc)
		return usage_error("no command given (list, count or flush)");
	for (c = commands; c->name; c++)
		if (!strcmp(c->name, argv[optind]))
			break;
	if (!c->name)
		return usage_error("unknown command '%s' (list, count or flush)", argv[optind]);
	if (argc - optind > 2)
		return usage_error("%s: unexpected argument '%s'", c->name, argv[optind + 2]);
	if (c->eni_required && argc - optind < 2)
		return usage_error("%s: which ENI? (eni-<hex>, gwi-<name> or an index)", c->name);
	map_load();
	return c->fn(c, argc - optind > 1 ? argv[optind + 1] : NULL);
}
