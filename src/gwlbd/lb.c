/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The balancer's table, written as nft text through libnftables: one nft_run_cmd call is
 * one transaction, and nft's own syntax keeps the generated ruleset readable in
 * `nft list table inet gwlbnf-lb`. Per service S (names are [A-Za-z0-9-], '_' joins them):
 *
 *   map svc4 / svc6  { l4proto . vip . port range : jump S_dnat }   shared dispatch
 *   chain dnat_pre   nat prerouting, priority dstnat: l4proto . daddr . dport vmap @svc4/6
 *   chain S_dnat     counter name svc_S_new; dnat to <scheduler> mod SUM map @S_sched;
 *                    counter name svc_S_nobackend drop
 *   map S_sched      { value range : backend address [. port] }, weights as ranges
 *   chain S_count    filter prerouting, priority dstnat + 10: packets of the service's
 *                    connections (ct original tuple), both directions, counted per backend
 *                    by the conntrack reply source (the DNAT result): be_S_B; the first
 *                    packet of a connection (ct unconfirmed) also in be_S_B_new
 *
 * The nat chain sees only a connection's first packet: later ones (established
 * connections) follow conntrack's NAT binding whatever the map says now, so a map change
 * moves only new connections.
 *
 * Why a base chain per service for counting rather than a dispatch map: nft 1.0.6 cannot
 * put `ct original proto-dst` in a concatenation (its type depends on the protocol), so
 * the ct-original dispatch a shared chain would need is not expressible; a base chain of
 * its own lets a service come and go without touching any other service's objects.
 * Named counters (not rule counters) because they are read by name and survive the
 * flushes of the service's chains when its map changes.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <nftables/libnftables.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb.h"
#include "log.h"
#include "maglev.h"

#define PRIO_DSTNAT	(-100)
#define PRIO_COUNT	(PRIO_DSTNAT + 10)

struct lb_svc {
	struct gwlb_lb_service def;	/* as the file says */
	struct gwlb_lb_service cur;	/* with gwlbctl's changes: what the kernel has */
	enum gwlb_lb_health *health;	/* per backend of cur */
};

static struct {
	pthread_mutex_t lock;
	char *file;
	struct nft_ctx *nft;
	struct lb_svc *s;
	unsigned n;
	unsigned reloads, reload_errors;
	char last_error[512];
} B = { .lock = PTHREAD_MUTEX_INITIALIZER };

bool gwlb_lb_enabled(void)
{
	return B.file != NULL;
}

/* ---- nft text ---- */

static const char *fam_kw(const struct gwlb_lb_service *s)
{
	return s->family == 4 ? "ip" : "ip6";
}

static const char *proto_kw(const struct gwlb_lb_service *s)
{
	return s->proto == IPPROTO_TCP ? "tcp" : "udp";
}

static void put_addr(FILE *f, uint8_t family, const uint8_t *a)
{
	char buf[INET6_ADDRSTRLEN];

	inet_ntop(family == 4 ? AF_INET : AF_INET6, a, buf, sizeof(buf));
	fputs(buf, f);
}

/* A scheduler map's value for backend b: "ADDRESS" or "ADDRESS . PORT". */
static void be_value(const struct gwlb_lb_backend *b, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(b->family == 4 ? AF_INET : AF_INET6, b->addr, a, sizeof(a));
	if (b->port)
		snprintf(buf, len, "%s . %u", a, b->port);
	else
		snprintf(buf, len, "%s", a);
}

static void put_ports(FILE *f, const struct gwlb_lb_service *s)
{
	if (s->port_lo == s->port_hi)
		fprintf(f, "%u", s->port_lo);
	else
		fprintf(f, "%u-%u", s->port_lo, s->port_hi);
}

static bool has_ports(const struct gwlb_lb_service *s)
{
	return s->n_backends && s->backends[0].port;
}

/* "jhash FIELDS mod N seed S" of hash-fields. */
static void put_jhash(FILE *f, const struct gwlb_lb_service *s, uint32_t mod)
{
	static const char *const fld[] = { "saddr", "th sport", "daddr", "th dport" };
	bool first = true;
	unsigned i;

	fputs("jhash ", f);
	for (i = 0; i < 4; i++) {
		if (!(s->hash_fields & (1u << i)))
			continue;
		fputs(first ? "" : " . ", f);
		if (i % 2)
			fputs(fld[i], f);
		else
			fprintf(f, "%s %s", fam_kw(s), fld[i]);
		first = false;
	}
	fprintf(f, " mod %u seed 0x%08x", mod, s->seed);
}

/* The scheduler's expression, "mod SUM" included (maglev: jhash mod M, the table size). */
static void put_sched(FILE *f, const struct gwlb_lb_service *s, uint32_t sum)
{
	switch (s->sched) {
	case GWLB_LB_SCHED_NTH:
		fprintf(f, "numgen inc mod %u", sum);
		break;
	case GWLB_LB_SCHED_RANDOM:
		fprintf(f, "numgen random mod %u", sum);
		break;
	case GWLB_LB_SCHED_HASH:
		put_jhash(f, s, sum);
		break;
	case GWLB_LB_SCHED_MAGLEV:
		put_jhash(f, s, s->maglev_size);
		break;
	case GWLB_LB_SCHED_SYMHASH:
	case GWLB_LB_SCHED__COUNT:
		fprintf(f, "symhash mod %u", sum);
		break;
	}
}

/*
 * The key is the scheduler's 32-bit value whatever the scheduler: always typed as numgen's,
 * because nft 1.0.6 crashes listing a map declared `typeof jhash ...`.
 */
static void put_sched_map(FILE *f, const struct gwlb_lb_service *s, uint32_t sum)
{
	fprintf(f, "add map inet %s %s_sched { typeof numgen inc mod %u : %s daddr", GWLB_LB_TABLE,
		s->name, sum ? sum : 1, fam_kw(s));
	if (has_ports(s))
		fprintf(f, " . %s dport", proto_kw(s));
	/* maglev: one element per slot (its runs are too short for ranges to pay) */
	fputs(s->sched == GWLB_LB_SCHED_MAGLEV ? "; }\n" : "; flags interval; }\n", f);
}

static void lb_inputs(const struct lb_svc *v, struct gwlb_lbmap_in *in)
{
	unsigned i;

	for (i = 0; i < v->cur.n_backends; i++) {
		in[i].weight = v->cur.backends[i].weight;
		in[i].tier = v->cur.backends[i].tier;
		in[i].takes_new = gwlb_lb_takes_new(v->cur.backends[i].admin, v->health[i]);
	}
}

/*
 * A maglev service's map: one element per slot of its Maglev table, built from the serving
 * tier's backends (the others weigh 0, which is the same as leaving them out, so a backend
 * that goes moves only its own slots). Names and weights alone decide the table: gwlbd
 * instances with the same file map a flow alike. Returns the serving backends (0: none).
 */
static int put_maglev(FILE *f, const struct gwlb_lb_service *s, const struct gwlb_lbmap_in *in)
{
	struct gwlb_maglev_backend mb[GWLB_LB_MAX_BACKENDS];
	char val[GWLB_LB_MAX_BACKENDS][INET6_ADDRSTRLEN + 8];
	int tier = gwlb_lbmap_tier(in, s->n_backends), serving = 0, ret;
	uint32_t *table, i;

	if (tier < 0)
		return 0;
	for (i = 0; i < s->n_backends; i++) {
		mb[i].name = s->backends[i].name;
		mb[i].weight = in[i].takes_new && in[i].tier == tier ? in[i].weight : 0;
		serving += mb[i].weight > 0;
		be_value(&s->backends[i], val[i], sizeof(val[i]));
	}
	table = malloc((size_t)s->maglev_size * sizeof(*table));
	if (!table)
		return -ENOMEM;
	ret = gwlb_maglev_build(mb, s->n_backends, s->maglev_size, table);
	if (ret) {
		free(table);
		return ret == -ENOENT ? 0 : ret;
	}
	fprintf(f, "add element inet %s %s_sched { ", GWLB_LB_TABLE, s->name);
	for (i = 0; i < s->maglev_size; i++)
		fprintf(f, "%s%u : %s", i ? ", " : "", i, val[table[i]]);
	fputs(" }\n", f);
	free(table);
	return serving;
}

/* S_sched with its elements and S_dnat's rules: what a backend change rewrites. */
static int put_dnat(FILE *f, const struct lb_svc *v)
{
	const struct gwlb_lb_service *s = &v->cur;
	struct gwlb_lbmap_in in[GWLB_LB_MAX_BACKENDS];
	struct gwlb_lbmap_range r[GWLB_LB_MAX_BACKENDS];
	char val[INET6_ADDRSTRLEN + 8];
	uint32_t sum;
	int n, i;

	lb_inputs(v, in);
	if (s->sched == GWLB_LB_SCHED_MAGLEV) {
		sum = s->maglev_size;
		put_sched_map(f, s, sum);
		n = put_maglev(f, s, in);
		if (n < 0)
			return n;
	} else {
		n = gwlb_lbmap_build(in, s->n_backends, r, &sum);
		if (n < 0)
			return n;
		put_sched_map(f, s, sum);
	}
	if (n > 0 && s->sched != GWLB_LB_SCHED_MAGLEV) {
		fprintf(f, "add element inet %s %s_sched { ", GWLB_LB_TABLE, s->name);
		for (i = 0; i < n; i++) {
			const struct gwlb_lb_backend *b = &s->backends[r[i].backend];

			fprintf(f, i ? ", " : "");
			if (r[i].lo == r[i].hi)
				fprintf(f, "%u : ", r[i].lo);
			else
				fprintf(f, "%u-%u : ", r[i].lo, r[i].hi);
			be_value(b, val, sizeof(val));
			fputs(val, f);
		}
		fputs(" }\n", f);
	}
	fprintf(f, "add rule inet %s %s_dnat counter name svc_%s_new\n", GWLB_LB_TABLE, s->name,
		s->name);
	if (n > 0) {
		fprintf(f, "add rule inet %s %s_dnat meta l4proto %s dnat %s to ", GWLB_LB_TABLE,
			s->name, proto_kw(s), fam_kw(s));
		put_sched(f, s, sum);
		fprintf(f, " map @%s_sched\n", s->name);
	}
	/* no backend takes new connections: the VIP itself must not answer */
	fprintf(f, "add rule inet %s %s_dnat counter name svc_%s_nobackend drop\n", GWLB_LB_TABLE,
		s->name, s->name);
	return 0;
}

static void put_counters(FILE *f, const struct gwlb_lb_service *s, const char *verb)
{
	unsigned i;

	for (i = 0; i < s->n_backends; i++)
		fprintf(f, "%s counter inet %s be_%s_%s\n%s counter inet %s be_%s_%s_new\n", verb,
			GWLB_LB_TABLE, s->name, s->backends[i].name, verb, GWLB_LB_TABLE, s->name,
			s->backends[i].name);
}

/* ct reply ip saddr B [meta l4proto P ct reply proto-src PORT] */
static void put_be_match(FILE *f, const struct gwlb_lb_service *s,
			 const struct gwlb_lb_backend *b)
{
	fprintf(f, "ct reply %s saddr ", fam_kw(s));
	put_addr(f, b->family, b->addr);
	if (b->port)
		fprintf(f, " meta l4proto %s ct reply proto-src %u", proto_kw(s), b->port);
}

static void put_count_rules(FILE *f, const struct gwlb_lb_service *s)
{
	const char *t = GWLB_LB_TABLE;
	unsigned i;

	fprintf(f, "add rule inet %s %s_count meta l4proto != %s return\n", t, s->name, proto_kw(s));
	fprintf(f, "add rule inet %s %s_count ct original %s daddr != ", t, s->name, fam_kw(s));
	put_addr(f, s->family, s->vip);
	fprintf(f, " return\nadd rule inet %s %s_count meta l4proto %s ct original proto-dst != ",
		t, s->name, proto_kw(s));
	put_ports(f, s);
	fprintf(f, " return\nadd rule inet %s %s_count counter name svc_%s\n", t, s->name, s->name);
	for (i = 0; i < s->n_backends; i++) {
		const struct gwlb_lb_backend *b = &s->backends[i];

		fprintf(f, "add rule inet %s %s_count ct status & confirmed == 0 ", t, s->name);
		put_be_match(f, s, b);
		fprintf(f, " counter name be_%s_%s_new\n", s->name, b->name);
		fprintf(f, "add rule inet %s %s_count ", t, s->name);
		put_be_match(f, s, b);
		fprintf(f, " counter name be_%s_%s\n", s->name, b->name);
	}
}

static void put_dispatch(FILE *f, const struct gwlb_lb_service *s, bool add)
{
	fprintf(f, "%s element inet %s svc%u { %s . ", add ? "add" : "delete", GWLB_LB_TABLE,
		s->family, proto_kw(s));
	put_addr(f, s->family, s->vip);
	fputs(" . ", f);
	put_ports(f, s);
	if (add)
		fprintf(f, " : jump %s_dnat", s->name);
	fputs(" }\n", f);
}

static int put_svc_add(FILE *f, const struct lb_svc *v)
{
	const struct gwlb_lb_service *s = &v->cur;
	const char *t = GWLB_LB_TABLE;
	int ret;

	fprintf(f, "add counter inet %s svc_%s\nadd counter inet %s svc_%s_new\n"
		"add counter inet %s svc_%s_nobackend\n", t, s->name, t, s->name, t, s->name);
	put_counters(f, s, "add");
	fprintf(f, "add chain inet %s %s_dnat\n", t, s->name);
	fprintf(f, "add chain inet %s %s_count { type filter hook prerouting priority %d; policy accept; }\n",
		t, s->name, PRIO_COUNT);
	ret = put_dnat(f, v);
	if (ret)
		return ret;
	put_count_rules(f, s);
	put_dispatch(f, s, true);
	return 0;
}

static void put_svc_del(FILE *f, const struct gwlb_lb_service *s)
{
	const char *t = GWLB_LB_TABLE;

	/* the jump first: a chain still jumped to cannot go */
	put_dispatch(f, s, false);
	fprintf(f, "flush chain inet %s %s_dnat\ndelete chain inet %s %s_dnat\n"
		"flush chain inet %s %s_count\ndelete chain inet %s %s_count\n"
		"delete map inet %s %s_sched\n", t, s->name, t, s->name, t, s->name, t, s->name, t,
		s->name);
	fprintf(f, "delete counter inet %s svc_%s\ndelete counter inet %s svc_%s_new\n"
		"delete counter inet %s svc_%s_nobackend\n", t, s->name, t, s->name, t, s->name);
	put_counters(f, s, "delete");
}

static bool backend_in(const struct gwlb_lb_service *s, const char *name)
{
	unsigned i;

	for (i = 0; i < s->n_backends; i++)
		if (!strcmp(s->backends[i].name, name))
			return true;
	return false;
}

/*
 * From old to v->cur with the same dispatch key (family, vip, protocol, ports): the map
 * and the dnat rules rewritten, counters of backends that came or went added or deleted,
 * the count chain rebuilt when the backends changed. Counters of the service and of the
 * backends that stay keep counting.
 */
static int put_svc_update(FILE *f, const struct gwlb_lb_service *old, const struct lb_svc *v)
{
	const struct gwlb_lb_service *s = &v->cur;
	const char *t = GWLB_LB_TABLE;
	bool backends_changed = old->n_backends != s->n_backends;
	unsigned i;

	for (i = 0; !backends_changed && i < s->n_backends; i++)
		backends_changed = strcmp(old->backends[i].name, s->backends[i].name) ||
				   memcmp(old->backends[i].addr, s->backends[i].addr, 16) ||
				   old->backends[i].port != s->backends[i].port;
	fprintf(f, "flush chain inet %s %s_dnat\ndelete map inet %s %s_sched\n", t, s->name, t,
		s->name);
	if (backends_changed) {
		fprintf(f, "flush chain inet %s %s_count\n", t, s->name);
		for (i = 0; i < old->n_backends; i++)
			if (!backend_in(s, old->backends[i].name))
				fprintf(f, "delete counter inet %s be_%s_%s\ndelete counter inet %s be_%s_%s_new\n",
					t, s->name, old->backends[i].name, t, s->name,
					old->backends[i].name);
		for (i = 0; i < s->n_backends; i++)
			if (!backend_in(old, s->backends[i].name))
				fprintf(f, "add counter inet %s be_%s_%s\nadd counter inet %s be_%s_%s_new\n",
					t, s->name, s->backends[i].name, t, s->name,
					s->backends[i].name);
		put_count_rules(f, s);
	}
	return put_dnat(f, v);
}

/* Run one transaction from the text f gathered. */
static int lb_run(char *text, const char *what, char *err, size_t errlen)
{
	int ret = 0;

	if (nft_run_cmd_from_buffer(B.nft, text) != 0) {
		const char *e = nft_ctx_get_error_buffer(B.nft);

		snprintf(err, errlen, "nft table inet %s: %s: %s", GWLB_LB_TABLE, what,
			 e && *e ? e : "failed");
		log_debug(GWLB_LS_CORE, "lb: refused transaction:\n%s", text);
		ret = -EINVAL;
	}
	return ret;
}

struct lb_tx {
	FILE *f;
	char *text;
	size_t len;
};

static int tx_open(struct lb_tx *tx)
{
	tx->text = NULL;
	tx->f = open_memstream(&tx->text, &tx->len);
	return tx->f ? 0 : -ENOMEM;
}

static int tx_commit(struct lb_tx *tx, int ret, const char *what, char *err, size_t errlen)
{
	if (fclose(tx->f) && !ret)
		ret = -ENOMEM;
	if (!ret)
		ret = lb_run(tx->text, what, err, errlen);
	else
		snprintf(err, errlen, "%s: %s", what, strerror(-ret));
	free(tx->text);
	return ret;
}

static int table_create(char *err, size_t errlen)
{
	struct lb_tx tx;
	unsigned fam;

	if (tx_open(&tx))
		return -ENOMEM;
	/* a table left by a killed gwlbd goes in the same transaction */
	fprintf(tx.f, "add table inet %s\ndelete table inet %s\n"
		"add table inet %s { comment \"managed by gwlbd: DNAT balancing of --services; removed when it stops\"; }\n",
		GWLB_LB_TABLE, GWLB_LB_TABLE, GWLB_LB_TABLE);
	for (fam = 4; fam <= 6; fam += 2)
		fprintf(tx.f, "add map inet %s svc%u { type inet_proto . %s . inet_service : verdict; flags interval; }\n",
			GWLB_LB_TABLE, fam, fam == 4 ? "ipv4_addr" : "ipv6_addr");
	fprintf(tx.f, "add chain inet %s dnat_pre { type nat hook prerouting priority %d; policy accept; }\n"
		"add rule inet %s dnat_pre meta l4proto . ip daddr . th dport vmap @svc4\n"
		"add rule inet %s dnat_pre meta l4proto . ip6 daddr . th dport vmap @svc6\n",
		GWLB_LB_TABLE, PRIO_DSTNAT, GWLB_LB_TABLE, GWLB_LB_TABLE);
	return tx_commit(&tx, 0, "creating the table", err, errlen);
}

static void svc_free(struct lb_svc *v)
{
	gwlb_lb_service_release(&v->def);
	gwlb_lb_service_release(&v->cur);
	free(v->health);
}

/* A running service from a file's definition; health up for all (or kept from old). */
static int svc_new(struct lb_svc *v, const struct gwlb_lb_service *def, const struct lb_svc *old)
{
	unsigned i, j;

	memset(v, 0, sizeof(*v));
	if (gwlb_lb_service_copy(&v->def, def) || gwlb_lb_service_copy(&v->cur, def))
		goto nomem;
	v->health = calloc(def->n_backends ? def->n_backends : 1, sizeof(*v->health));
	if (!v->health)
		goto nomem;
	for (i = 0; old && i < def->n_backends; i++)
		for (j = 0; j < old->cur.n_backends; j++)
			if (!strcmp(old->cur.backends[j].name, def->backends[i].name))
				v->health[i] = old->health[j];
	return 0;
nomem:
	svc_free(v);
	return -ENOMEM;
}

static bool same_key(const struct gwlb_lb_service *a, const struct gwlb_lb_service *b)
{
	return a->family == b->family && !memcmp(a->vip, b->vip, 16) && a->proto == b->proto &&
	       a->port_lo == b->port_lo && a->port_hi == b->port_hi &&
	       has_ports(a) == has_ports(b);
}

static struct lb_svc *svc_find(const char *name)
{
	unsigned i;

	for (i = 0; i < B.n; i++)
		if (!strcmp(B.s[i].cur.name, name))
			return &B.s[i];
	return NULL;
}

static void conf_err(const struct gwlb_lb_err *e, char *err, size_t errlen)
{
	if (e->line)
		snprintf(err, errlen, "%s:%d: %s", e->file, e->line, e->reason);
	else
		snprintf(err, errlen, "%s: %s", e->file, e->reason);
}

/*
 * Move the running services to conf's: one transaction per service that changed. A
 * service the kernel refuses keeps its old objects (and stays as it was here).
 */
static int apply(const struct gwlb_lb_conf *conf, char *err, size_t errlen)
{
	struct lb_svc *ns = calloc(conf->n_services + 1, sizeof(*ns));
	unsigned i, n = 0, kept = 0, changed = 0;
	char e1[1024];
	int ret = 0, r;

	if (!ns)
		return -ENOMEM;
	/* services gone from the file */
	for (i = 0; i < B.n; i++) {
		unsigned j;
		struct lb_tx tx;

		for (j = 0; j < conf->n_services; j++)
			if (!strcmp(conf->services[j].name, B.s[i].cur.name))
				break;
		if (j < conf->n_services)
			continue;
		if (tx_open(&tx))
			goto nomem;
		put_svc_del(tx.f, &B.s[i].cur);
		r = tx_commit(&tx, 0, B.s[i].cur.name, e1, sizeof(e1));
		if (r < 0) {
			log_crit(GWLB_LS_CORE, "services: cannot remove service %s: %s", B.s[i].cur.name, e1);
			if (!ret) {
				ret = r;
				snprintf(err, errlen, "%s", e1);
			}
		}
		changed++;
	}
	for (i = 0; i < conf->n_services; i++) {
		const struct gwlb_lb_service *d = &conf->services[i];
		struct lb_svc *old = svc_find(d->name);
		struct lb_tx tx;

		if (old && gwlb_lb_service_same(&old->def, d)) {
			ns[n++] = *old;		/* moved, untouched */
			memset(old, 0, sizeof(*old));
			old->cur.name[0] = '\0';
			kept++;
			continue;
		}
		if (svc_new(&ns[n], d, old) < 0)
			goto nomem;
		if (tx_open(&tx))
			goto nomem;
		if (old && same_key(&old->cur, d)) {
			r = put_svc_update(tx.f, &old->cur, &ns[n]);
		} else {
			if (old)
				put_svc_del(tx.f, &old->cur);
			r = put_svc_add(tx.f, &ns[n]);
		}
		r = tx_commit(&tx, r, d->name, e1, sizeof(e1));
		if (r < 0) {
			log_crit(GWLB_LS_CORE, "services: service %s not changed: %s", d->name, e1);
			if (!ret) {
				ret = r;
				snprintf(err, errlen, "%s", e1);
			}
			svc_free(&ns[n]);
			if (old) {
				ns[n++] = *old;
				memset(old, 0, sizeof(*old));
				old->cur.name[0] = '\0';
			}
			continue;
		}
		log_info(GWLB_LS_CORE, "services: service %s %s", d->name, old ? "changed" : "added");
		n++;
		changed++;
	}
	for (i = 0; i < B.n; i++)
		svc_free(&B.s[i]);
	free(B.s);
	B.s = ns;
	B.n = n;
	log_info(GWLB_LS_CORE, "services: %u services, %u unchanged, %u added, changed or removed",
		 n, kept, changed);
	return ret;
nomem:
	snprintf(err, errlen, "out of memory");
	free(ns);
	return -ENOMEM;
}

int gwlb_lb_init(const char *file, char *err, size_t errlen)
{
	struct gwlb_lb_conf *conf = NULL;
	struct gwlb_lb_err e;
	int ret;

	if (!file || !*file)
		return 0;
	ret = gwlb_lbconf_parse_file(file, &conf, &e);
	if (ret < 0) {
		conf_err(&e, err, errlen);
		return ret;
	}
	B.file = strdup(file);
	B.nft = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!B.file || !B.nft) {
		gwlb_lbconf_free(conf);
		snprintf(err, errlen, "services: out of memory");
		return -ENOMEM;
	}
	nft_ctx_buffer_output(B.nft);
	nft_ctx_buffer_error(B.nft);
	pthread_mutex_lock(&B.lock);
	ret = table_create(err, errlen);
	if (!ret)
		ret = apply(conf, err, errlen);
	pthread_mutex_unlock(&B.lock);
	gwlb_lbconf_free(conf);
	if (ret < 0)
		gwlb_lb_fini();
	return ret;
}

int gwlb_lb_reload(char *err, size_t errlen)
{
	struct gwlb_lb_conf *conf = NULL;
	struct gwlb_lb_err e;
	int ret;

	if (!B.file) {
		snprintf(err, errlen, "no --services file");
		return -ENOENT;
	}
	ret = gwlb_lbconf_parse_file(B.file, &conf, &e);
	pthread_mutex_lock(&B.lock);
	B.reloads++;
	if (ret < 0) {
		conf_err(&e, err, errlen);
		B.reload_errors++;
	} else {
		ret = apply(conf, err, errlen);
		if (ret < 0)
			B.reload_errors++;
	}
	snprintf(B.last_error, sizeof(B.last_error), "%s", ret < 0 ? err : "");
	pthread_mutex_unlock(&B.lock);
	gwlb_lbconf_free(conf);
	return ret;
}

/* Find service svc's backend be (locked). */
static int find_be(const char *svc, const char *be, struct lb_svc **v, unsigned *idx, char *err,
		   size_t errlen)
{
	unsigned i;

	*v = B.file ? svc_find(svc) : NULL;
	if (!*v) {
		snprintf(err, errlen, "no service '%s'", svc);
		return -ENOENT;
	}
	for (i = 0; i < (*v)->cur.n_backends; i++) {
		if (!strcmp((*v)->cur.backends[i].name, be)) {
			*idx = i;
			return 0;
		}
	}
	snprintf(err, errlen, "service %s has no backend '%s'", svc, be);
	return -ENOENT;
}

enum be_field {
	BE_ADMIN,
	BE_WEIGHT,
	BE_HEALTH,
};

/*
 * Set one field of service svc's backend be; when that changes what the kernel has, the
 * service's map and dnat rules are rewritten in one transaction, and a refused
 * transaction undoes the change.
 */
static int be_change(const char *svc, const char *be, enum be_field field, uint32_t val,
		     char *err, size_t errlen)
{
	struct gwlb_lb_backend *b, was;
	enum gwlb_lb_health was_health;
	struct lb_tx tx;
	struct lb_svc *v;
	unsigned i;
	int ret;

	pthread_mutex_lock(&B.lock);
	ret = find_be(svc, be, &v, &i, err, errlen);
	if (ret)
		goto out;
	b = &v->cur.backends[i];
	was = *b;
	was_health = v->health[i];
	switch (field) {
	case BE_ADMIN:
		b->admin = (enum gwlb_lb_admin)val;
		break;
	case BE_WEIGHT:
		b->weight = val;
		break;
	case BE_HEALTH:
		v->health[i] = (enum gwlb_lb_health)val;
		break;
	}
	/* the map only changes when taking new connections, or a weight that counts, does */
	if (gwlb_lb_takes_new(was.admin, was_health) == gwlb_lb_takes_new(b->admin, v->health[i]) &&
	    (was.weight == b->weight || !gwlb_lb_takes_new(b->admin, v->health[i])))
		goto out;
	ret = tx_open(&tx);
	if (!ret)
		ret = tx_commit(&tx, put_svc_update(tx.f, &v->cur, v), v->cur.name, err, errlen);
	if (ret < 0) {
		*b = was;
		v->health[i] = was_health;
		goto out;
	}
	log_info(GWLB_LS_CORE, "services: %s/%s: %s %s, weight %u; %s new connections", svc, be,
		 gwlb_lb_admin_name(b->admin), v->health[i] == GWLB_LB_HEALTH_UP ? "healthy" : "unhealthy",
		 b->weight, gwlb_lb_takes_new(b->admin, v->health[i]) ? "takes" : "takes no");
out:
	pthread_mutex_unlock(&B.lock);
	return ret;
}

int gwlb_lb_backend_admin(const char *svc, const char *be, enum gwlb_lb_admin admin, char *err,
			  size_t errlen)
{
	return be_change(svc, be, BE_ADMIN, admin, err, errlen);
}

int gwlb_lb_backend_weight(const char *svc, const char *be, uint32_t weight, char *err,
			   size_t errlen)
{
	if (weight < 1 || weight > GWLB_LB_MAX_WEIGHT) {
		snprintf(err, errlen, "bad weight %u: 1..%d", weight, GWLB_LB_MAX_WEIGHT);
		return -EINVAL;
	}
	return be_change(svc, be, BE_WEIGHT, weight, err, errlen);
}

int gwlb_lb_backend_health(const char *svc, const char *be, enum gwlb_lb_health health,
			   char *err, size_t errlen)
{
	return be_change(svc, be, BE_HEALTH, health, err, errlen);
}

int gwlb_lb_backend_health_get(const char *svc, const char *be, enum gwlb_lb_health *health)
{
	struct lb_svc *v;
	unsigned i;
	char err[128];
	int ret;

	pthread_mutex_lock(&B.lock);
	ret = find_be(svc, be, &v, &i, err, sizeof(err));
	if (!ret)
		*health = v->health[i];
	pthread_mutex_unlock(&B.lock);
	return ret;
}

void gwlb_lb_backends_walk(gwlb_lb_backend_fn fn, void *arg)
{
	unsigned i, j;

	pthread_mutex_lock(&B.lock);
	for (i = 0; i < B.n; i++)
		for (j = 0; j < B.s[i].cur.n_backends; j++)
			fn(&B.s[i].cur, &B.s[i].cur.backends[j], arg);
	pthread_mutex_unlock(&B.lock);
}

/* ---- JSON ---- */

/* name -> {packets, bytes} of every named counter in the table, from nft -j. */
static json_t *counters_read(void)
{
	json_t *root, *arr, *it, *out = json_object();
	size_t i;

	nft_ctx_output_set_flags(B.nft, NFT_CTX_OUTPUT_JSON);
	if (nft_run_cmd_from_buffer(B.nft, "list counters table inet " GWLB_LB_TABLE) != 0) {
		nft_ctx_output_set_flags(B.nft, 0);
		return out;
	}
	nft_ctx_output_set_flags(B.nft, 0);
	root = json_loads(nft_ctx_get_output_buffer(B.nft), 0, NULL);
	arr = json_object_get(root, "nftables");
	json_array_foreach(arr, i, it) {
		json_t *c = json_object_get(it, "counter");
		const char *name = json_string_value(json_object_get(c, "name"));

		if (name)
			json_object_set(out, name, c);
	}
	json_decref(root);
	return out;
}

static void set_ctr(json_t *o, json_t *ctrs, const char *name, const char *pk, const char *bk)
{
	json_t *c = json_object_get(ctrs, name);
	json_t *p = json_object_get(c, "packets"), *b = json_object_get(c, "bytes");

	json_object_set_new(o, pk, json_integer(json_is_integer(p) ? json_integer_value(p) : 0));
	if (bk)
		json_object_set_new(o, bk, json_integer(json_is_integer(b) ? json_integer_value(b) : 0));
}

static json_t *svc_json(const struct lb_svc *v, json_t *ctrs)
{
	const struct gwlb_lb_service *s = &v->cur;
	struct gwlb_lbmap_in in[GWLB_LB_MAX_BACKENDS];
	struct gwlb_lbmap_range r[GWLB_LB_MAX_BACKENDS];
	static const char *const fld[] = { "saddr", "sport", "daddr", "dport" };
	char vip[INET6_ADDRSTRLEN], ports[16], name[128], *range;
	json_t *o, *bes, *hf = json_array();
	uint32_t sum = 0;
	int n, k;
	unsigned i;

	lb_inputs(v, in);
	n = gwlb_lbmap_build(in, s->n_backends, r, &sum);
	inet_ntop(s->family == 4 ? AF_INET : AF_INET6, s->vip, vip, sizeof(vip));
	if (s->port_lo == s->port_hi)
		snprintf(ports, sizeof(ports), "%u", s->port_lo);
	else
		snprintf(ports, sizeof(ports), "%u-%u", s->port_lo, s->port_hi);
	for (i = 0; s->sched == GWLB_LB_SCHED_HASH && i < 4; i++)
		if (s->hash_fields & (1u << i))
			json_array_append_new(hf, json_string(fld[i]));
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:i, s:I}", "name", s->name, "vip", vip,
		      "port", ports, "protocol", proto_kw(s), "scheduler", gwlb_lb_sched_name(s->sched),
		      "hash_fields", hf, "tier", gwlb_lbmap_tier(in, s->n_backends),
		      "sum", (json_int_t)sum);
	snprintf(name, sizeof(name), "svc_%s_new", s->name);
	set_ctr(o, ctrs, name, "new", NULL);
	snprintf(name, sizeof(name), "svc_%s", s->name);
	set_ctr(o, ctrs, name, "packets", "bytes");
	snprintf(name, sizeof(name), "svc_%s_nobackend", s->name);
	set_ctr(o, ctrs, name, "no_backend", NULL);
	bes = json_array();
	for (i = 0; i < s->n_backends; i++) {
		const struct gwlb_lb_backend *b = &s->backends[i];
		char addr[INET6_ADDRSTRLEN];
		json_t *bo;

		inet_ntop(b->family == 4 ? AF_INET : AF_INET6, b->addr, addr, sizeof(addr));
		range = NULL;
		for (k = 0; k < n; k++)
			if (r[k].backend == i && asprintf(&range, "%u-%u", r[k].lo, r[k].hi) < 0)
				range = NULL;
		bo = json_pack("{s:s, s:s, s:i, s:i, s:i, s:s, s:s, s:b, s:s?}", "name", b->name,
			       "addr", addr, "port", b->port, "weight", (int)b->weight, "tier", b->tier,
			       "admin", gwlb_lb_admin_name(b->admin),
			       "health", v->health[i] == GWLB_LB_HEALTH_UP ? "up" : "down",
			       "in_map", range != NULL, "range", range);
		free(range);
		snprintf(name, sizeof(name), "be_%s_%s_new", s->name, b->name);
		set_ctr(bo, ctrs, name, "new", NULL);
		snprintf(name, sizeof(name), "be_%s_%s", s->name, b->name);
		set_ctr(bo, ctrs, name, "packets", "bytes");
		json_array_append_new(bes, bo);
	}
	json_object_set_new(o, "backends", bes);
	return o;
}

json_t *gwlb_lb_json(void)
{
	json_t *arr, *ctrs, *root;
	unsigned i;

	if (!B.file)
		return json_null();
	pthread_mutex_lock(&B.lock);
	ctrs = counters_read();
	arr = json_array();
	for (i = 0; i < B.n; i++)
		json_array_append_new(arr, svc_json(&B.s[i], ctrs));
	root = json_pack("{s:s, s:o, s:i, s:i, s:s}", "file", B.file, "services", arr, "reloads",
			 (int)B.reloads, "reload_errors", (int)B.reload_errors, "last_error",
			 B.last_error);
	pthread_mutex_unlock(&B.lock);
	json_decref(ctrs);
	return root;
}

void gwlb_lb_fini(void)
{
	unsigned i;

	pthread_mutex_lock(&B.lock);
	if (B.nft && nft_run_cmd_from_buffer(B.nft, "delete table inet " GWLB_LB_TABLE) != 0)
		log_crit(GWLB_LS_CORE, "cannot remove nft table inet %s: %s", GWLB_LB_TABLE,
			 nft_ctx_get_error_buffer(B.nft));
	for (i = 0; i < B.n; i++)
		svc_free(&B.s[i]);
	free(B.s);
	B.s = NULL;
	B.n = 0;
	if (B.nft)
		nft_ctx_free(B.nft);
	B.nft = NULL;
	free(B.file);
	B.file = NULL;
	pthread_mutex_unlock(&B.lock);
}
