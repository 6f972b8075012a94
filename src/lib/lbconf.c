/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The services file, read with libinih through ini_parse_stream() and a line reader of our
 * own: it counts lines (whatever INI_HANDLER_LINENO libinih was built with), sees every
 * section header (inih only reports keys, so an empty [service] would vanish), refuses
 * lines inih would cut at its buffer size, and refuses indented lines, which inih would
 * glue to the key above as a continuation.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define INI_HANDLER_LINENO 1
#include <ini.h>

#include "hccfg.h"
#include "iniline.h"
#include "lbconf.h"
#include "maglev.h"

enum skey {
	SK_VIP,
	SK_PORT,
	SK_PROTOCOL,
	SK_SCHEDULER,
	SK_HASH_FIELDS,
	SK_SEED,
	SK_MAGLEV_SIZE,
	SK__ONCE,		/* keys above may appear once per service */
	SK_BACKEND = SK__ONCE,
	SK__COUNT,
};

static const char *const skey_names[SK__COUNT] = {
	[SK_VIP] = "vip",
	[SK_PORT] = "port",
	[SK_PROTOCOL] = "protocol",
	[SK_SCHEDULER] = "scheduler",
	[SK_HASH_FIELDS] = "hash-fields",
	[SK_SEED] = "seed",
	[SK_MAGLEV_SIZE] = "maglev-size",
	[SK_BACKEND] = "backend",
};

static const char *const sched_names[GWLB_LB_SCHED__COUNT] = {
	[GWLB_LB_SCHED_NTH] = "nth",
	[GWLB_LB_SCHED_RANDOM] = "random",
	[GWLB_LB_SCHED_HASH] = "hash",
	[GWLB_LB_SCHED_SYMHASH] = "symhash",
	[GWLB_LB_SCHED_MAGLEV] = "maglev",
};

static const char *const admin_names[] = {
	[GWLB_LB_ADMIN_UP] = "up",
	[GWLB_LB_ADMIN_DRAIN] = "drain",
	[GWLB_LB_ADMIN_DOWN] = "down",
};

static const char *const field_names[] = { "saddr", "sport", "daddr", "dport" };

struct lbparser {
	const uint8_t *buf;
	size_t len, pos;
	int line;
	int rc;
	bool key_line;			/* the line just read is a "key = value" */
	struct gwlb_lb_conf *c;
	struct gwlb_lb_service *svc;	/* the section being read, NULL before the first */
	int key_line_no[SK__COUNT];	/* of the current service */
	/* the check keys hccfg took in the current service, for 'given twice' */
	char hc_key[16][24];
	int hc_key_line[16];
	unsigned n_hc_keys;
	struct gwlb_lb_err *err;
};

static int lerr(struct lbparser *p, int line, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int lerr(struct lbparser *p, int line, int rc, const char *fmt, ...)
{
	va_list ap;

	if (p->rc)
		return p->rc;
	p->err->line = line;
	va_start(ap, fmt);
	vsnprintf(p->err->reason, sizeof(p->err->reason), fmt, ap);
	va_end(ap);
	p->rc = rc;
	return rc;
}

const char *gwlb_lb_sched_name(enum gwlb_lb_sched s)
{
	return (unsigned)s < GWLB_LB_SCHED__COUNT ? sched_names[s] : "?";
}

const char *gwlb_lb_admin_name(enum gwlb_lb_admin a)
{
	return (unsigned)a <= GWLB_LB_ADMIN_DOWN ? admin_names[a] : "?";
}

int gwlb_lb_admin_parse(const char *s, enum gwlb_lb_admin *out)
{
	unsigned i;

	for (i = 0; i <= GWLB_LB_ADMIN_DOWN; i++) {
		if (!strcmp(s, admin_names[i])) {
			*out = (enum gwlb_lb_admin)i;
			return 0;
		}
	}
	return -EINVAL;
}

bool gwlb_lb_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > GWLB_LB_NAME_MAX || !isalpha((unsigned char)s[0]))
		return false;
	/* no '_': gwlbd joins names with it in nft object names */
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-')
			return false;
	return true;
}

/* A decimal in min..max, the whole string. */
static int parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	unsigned long long v;
	char *end;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

static int parse_port_range(struct lbparser *p, const char *v)
{
	struct gwlb_lb_service *s = p->svc;
	char lo[8], *dash = strchr(v, '-');
	uint32_t a, b;
	size_t n = dash ? (size_t)(dash - v) : strlen(v);

	if (n >= sizeof(lo))
		goto bad;
	memcpy(lo, v, n);
	lo[n] = '\0';
	if (parse_u32(lo, 1, 65535, &a) < 0 || (dash && parse_u32(dash + 1, 1, 65535, &b) < 0))
		goto bad;
	if (!dash)
		b = a;
	if (b < a)
		return lerr(p, p->line, -EINVAL, "port range '%s' ends before it starts", v);
	s->port_lo = (uint16_t)a;
	s->port_hi = (uint16_t)b;
	return 0;
bad:
	return lerr(p, p->line, -EINVAL, "bad port '%.64s': expected PORT or FIRST-LAST, 1..65535",
		    v);
}

/* "1.2.3.4", "fd00::1"; with want_port also "1.2.3.4:80" and "[fd00::1]:80". */
static int parse_addr(const char *v, uint8_t *family, uint8_t *addr, uint16_t *port,
		      bool want_port)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *pstr = NULL, *colon;
	uint32_t pv = 0;
	size_t n;

	if (want_port && v[0] == '[') {
		const char *close = strchr(v, ']');

		if (!close || (close[1] && close[1] != ':'))
			return -EINVAL;
		n = (size_t)(close - v - 1);
		if (close[1] == ':')
			pstr = close + 2;
		v++;
	} else if (want_port && (colon = strchr(v, ':')) && !strchr(colon + 1, ':')) {
		n = (size_t)(colon - v);
		pstr = colon + 1;
	} else {
		n = strlen(v);
	}
	if (n >= sizeof(host))
		return -EINVAL;
	memcpy(host, v, n);
	host[n] = '\0';
	if (inet_pton(AF_INET, host, addr) == 1) {
		*family = 4;
		memset(addr + 4, 0, 12);
	} else if (inet_pton(AF_INET6, host, addr) == 1) {
		*family = 6;
	} else {
		return -EINVAL;
	}
	if (pstr && parse_u32(pstr, 1, 65535, &pv) < 0)
		return -EINVAL;
	if (port)
		*port = (uint16_t)pv;
	return 0;
}

static int parse_fields(struct lbparser *p, const char *v)
{
	char buf[128], *tok, *save = NULL;
	unsigned f = 0, i;

	snprintf(buf, sizeof(buf), "%s", v);
	for (tok = strtok_r(buf, " ,\t", &save); tok; tok = strtok_r(NULL, " ,\t", &save)) {
		for (i = 0; i < 4 && strcmp(tok, field_names[i]); i++)
			;
		if (i == 4)
			return lerr(p, p->line, -EINVAL,
				    "unknown hash field '%.32s': saddr, sport, daddr or dport", tok);
		if (f & (1u << i))
			return lerr(p, p->line, -EINVAL, "hash field '%s' given twice", tok);
		f |= 1u << i;
	}
	if (!f)
		return lerr(p, p->line, -EINVAL, "no hash fields: any of saddr, sport, daddr, dport");
	p->svc->hash_fields = f;
	return 0;
}

/* backend = NAME ADDR[:PORT] [weight=N] [tier=N] [state=up|drain|down] [check=TYPE] */
static int parse_backend(struct lbparser *p, const char *v)
{
	struct gwlb_lb_service *s = p->svc;
	struct gwlb_lb_backend b = { .weight = 1, .line = p->line }, *nb;
	char buf[512], *tok, *save = NULL;
	uint32_t n;
	unsigned i;

	if (s->n_backends == GWLB_LB_MAX_BACKENDS)
		return lerr(p, p->line, -EINVAL, "more than %d backends in service %s",
			    GWLB_LB_MAX_BACKENDS, s->name);
	snprintf(buf, sizeof(buf), "%s", v);
	tok = strtok_r(buf, " \t", &save);
	if (!tok)
		return lerr(p, p->line, -EINVAL,
			    "expected 'backend = NAME ADDR[:PORT] [weight=N] [tier=N] [state=up|drain|down]'");
	if (!gwlb_lb_name_ok(tok))
		return lerr(p, p->line, -EINVAL,
			    "bad backend name '%.40s': 1..%d of letters, digits and '-', a letter first",
			    tok, GWLB_LB_NAME_MAX);
	snprintf(b.name, sizeof(b.name), "%s", tok);
	for (i = 0; i < s->n_backends; i++)
		if (!strcmp(s->backends[i].name, b.name))
			return lerr(p, p->line, -EINVAL, "backend %s already defined at line %d",
				    b.name, s->backends[i].line);
	tok = strtok_r(NULL, " \t", &save);
	if (!tok || parse_addr(tok, &b.family, b.addr, &b.port, true) < 0)
		return lerr(p, p->line, -EINVAL,
			    "backend %s: bad address '%.64s': expected ADDR, ADDR:PORT or [IPv6]:PORT",
			    b.name, tok ? tok : "");
	while ((tok = strtok_r(NULL, " \t", &save))) {
		if (!strncmp(tok, "weight=", 7)) {
			if (parse_u32(tok + 7, 1, GWLB_LB_MAX_WEIGHT, &n) < 0)
				return lerr(p, p->line, -EINVAL, "backend %s: bad weight '%.16s': 1..%d",
					    b.name, tok + 7, GWLB_LB_MAX_WEIGHT);
			b.weight = n;
		} else if (!strncmp(tok, "tier=", 5)) {
			if (parse_u32(tok + 5, 0, GWLB_LB_MAX_TIER, &n) < 0)
				return lerr(p, p->line, -EINVAL, "backend %s: bad tier '%.16s': 0..%d",
					    b.name, tok + 5, GWLB_LB_MAX_TIER);
			b.tier = (uint8_t)n;
		} else if (!strncmp(tok, "state=", 6)) {
			if (gwlb_lb_admin_parse(tok + 6, &b.admin) < 0)
				return lerr(p, p->line, -EINVAL,
					    "backend %s: bad state '%.16s': up, drain or down", b.name,
					    tok + 6);
		} else if (!strncmp(tok, "check=", 6)) {
			struct gwlb_hc_cfg hc;
			struct gwlb_hccfg_err he;

			gwlb_hccfg_init(&hc);
			if (gwlb_hccfg_set(&hc, "check", tok + 6, NULL, 0, &he) < 0)
				return lerr(p, p->line, -EINVAL, "backend %s: %s", b.name, he.reason);
			b.has_check = true;
			b.check = hc.type;
		} else {
			return lerr(p, p->line, -EINVAL,
				    "backend %s: unknown option '%.32s': weight=N, tier=N, state=up|drain|down or check=none|tcp|http",
				    b.name, tok);
		}
	}
	nb = realloc(s->backends, (s->n_backends + 1) * sizeof(*nb));
	if (!nb)
		return lerr(p, p->line, -ENOMEM, "out of memory");
	s->backends = nb;
	s->backends[s->n_backends++] = b;
	return 0;
}

/* A health check key (hccfg.h) for every backend of the service, once per service. */
static int check_key(struct lbparser *p, const char *name, const char *v)
{
	struct gwlb_hccfg_err he;
	unsigned i;
	int r;

	for (i = 0; i < p->n_hc_keys; i++)
		if (!strcmp(p->hc_key[i], name))
			return lerr(p, p->line, -EINVAL, "'%s' given twice (first at line %d)", name,
				    p->hc_key_line[i]);
	r = gwlb_hccfg_set(&p->svc->check, name, v, NULL, (unsigned)p->line, &he);
	if (r == -ENOENT)
		return lerr(p, p->line, -EINVAL,
			    "unknown key '%.32s': vip, port, protocol, scheduler, hash-fields, seed, maglev-size, backend or check, check-path, check-host, check-status, check-interval, check-timeout, check-source, rise, fall",
			    name);
	if (r < 0)
		return lerr(p, p->line, r, "%s", he.reason);
	/* hccfg took it: a name of its own, shorter than hc_key[i], and at most 16 of them */
	if (p->n_hc_keys < sizeof(p->hc_key) / sizeof(p->hc_key[0])) {
		snprintf(p->hc_key[p->n_hc_keys], sizeof(p->hc_key[0]), "%s", name);
		p->hc_key_line[p->n_hc_keys++] = p->line;
	}
	return 0;
}

static int service_key(struct lbparser *p, const char *name, const char *v)
{
	struct gwlb_lb_service *s = p->svc;
	unsigned k;
	uint32_t n;

	if (!s)
		return lerr(p, p->line, -EINVAL, "key '%.32s' outside a [service NAME] section", name);
	for (k = 0; k < SK__COUNT && strcmp(name, skey_names[k]); k++)
		;
	if (k == SK__COUNT)
		return check_key(p, name, v);
	if (k < SK__ONCE && p->key_line_no[k])
		return lerr(p, p->line, -EINVAL, "'%s' given twice (first at line %d)", name,
			    p->key_line_no[k]);
	p->key_line_no[k] = p->line;
	switch ((enum skey)k) {
	case SK_VIP:
		if (parse_addr(v, &s->family, s->vip, NULL, false) < 0)
			return lerr(p, p->line, -EINVAL, "bad vip '%.64s': an IPv4 or IPv6 address", v);
		return 0;
	case SK_PORT:
		return parse_port_range(p, v);
	case SK_PROTOCOL:
		if (!strcmp(v, "tcp"))
			s->proto = IPPROTO_TCP;
		else if (!strcmp(v, "udp"))
			s->proto = IPPROTO_UDP;
		else
			return lerr(p, p->line, -EINVAL, "bad protocol '%.32s': tcp or udp", v);
		return 0;
	case SK_SCHEDULER:
		for (n = 0; n < GWLB_LB_SCHED__COUNT && strcmp(v, sched_names[n]); n++)
			;
		if (n == GWLB_LB_SCHED__COUNT)
			return lerr(p, p->line, -EINVAL,
				    "unknown scheduler '%.32s': nth, random, hash, symhash or maglev", v);
		s->sched = (enum gwlb_lb_sched)n;
		return 0;
	case SK_HASH_FIELDS:
		return parse_fields(p, v);
	case SK_SEED:
		if (parse_u32(v, 0, UINT32_MAX, &n) < 0)
			return lerr(p, p->line, -EINVAL, "bad seed '%.32s': 0..4294967295", v);
		s->seed = n;
		return 0;
	case SK_MAGLEV_SIZE:
		if (parse_u32(v, 2, GWLB_MAGLEV_SIZE_MAX, &n) < 0 || !gwlb_maglev_is_prime(n))
			return lerr(p, p->line, -EINVAL,
				    "bad maglev-size '%.32s': a prime up to %u (default %u)", v,
				    GWLB_MAGLEV_SIZE_MAX, GWLB_MAGLEV_SIZE);
		s->maglev_size = n;
		return 0;
	case SK_BACKEND:
	case SK__COUNT:
		break;
	}
	return parse_backend(p, v);
}

/* FNV-1a of the name: the default seed, the same on every gwlbd with this file. */
static uint32_t name_seed(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

static bool ranges_overlap(const struct gwlb_lb_service *a, const struct gwlb_lb_service *b)
{
	return a->proto == b->proto && a->family == b->family &&
	       !memcmp(a->vip, b->vip, 16) && a->port_lo <= b->port_hi && b->port_lo <= a->port_hi;
}

/* Where check key name is, else the first check key, else the service's header. */
static int hc_key_line(const struct lbparser *p, const char *name)
{
	unsigned i;

	for (i = 0; i < p->n_hc_keys; i++)
		if (!strcmp(p->hc_key[i], name))
			return p->hc_key_line[i];
	return p->n_hc_keys ? p->hc_key_line[0] : p->svc->line;
}

/* Checks once a service's keys are all known. */
static int service_end(struct lbparser *p)
{
	struct gwlb_lb_service *s = p->svc;
	const int *kl = p->key_line_no;
	struct gwlb_hccfg_err he;
	bool hashed;
	unsigned i;
	int r;

	if (!s)
		return 0;
	if (!kl[SK_VIP])
		return lerr(p, s->line, -EINVAL, "service %s: no 'vip'", s->name);
	if (!kl[SK_PORT])
		return lerr(p, s->line, -EINVAL, "service %s: no 'port'", s->name);
	if (!s->n_backends)
		return lerr(p, s->line, -EINVAL, "service %s: no 'backend'", s->name);
	hashed = s->sched == GWLB_LB_SCHED_HASH || s->sched == GWLB_LB_SCHED_MAGLEV;
	if (kl[SK_HASH_FIELDS] && !hashed)
		return lerr(p, kl[SK_HASH_FIELDS], -EINVAL,
			    "service %s: 'hash-fields' is for schedulers hash and maglev, not %s",
			    s->name, sched_names[s->sched]);
	if (kl[SK_SEED] && !hashed)
		return lerr(p, kl[SK_SEED], -EINVAL,
			    "service %s: 'seed' is for schedulers hash and maglev, not %s", s->name,
			    sched_names[s->sched]);
	if (kl[SK_MAGLEV_SIZE] && s->sched != GWLB_LB_SCHED_MAGLEV)
		return lerr(p, kl[SK_MAGLEV_SIZE], -EINVAL,
			    "service %s: 'maglev-size' is for scheduler maglev, not %s", s->name,
			    sched_names[s->sched]);
	if (s->sched == GWLB_LB_SCHED_HASH && !kl[SK_HASH_FIELDS])
		s->hash_fields = GWLB_LB_HASH_SADDR;
	/* Maglev spreads flows, not clients: the whole tuple by default */
	if (s->sched == GWLB_LB_SCHED_MAGLEV && !kl[SK_HASH_FIELDS])
		s->hash_fields = GWLB_LB_HASH_SADDR | GWLB_LB_HASH_SPORT | GWLB_LB_HASH_DADDR |
				 GWLB_LB_HASH_DPORT;
	if (s->sched == GWLB_LB_SCHED_MAGLEV && !kl[SK_MAGLEV_SIZE])
		s->maglev_size = GWLB_MAGLEV_SIZE;
	if (!kl[SK_SEED])
		s->seed = name_seed(s->name);
	r = gwlb_hccfg_finish(&s->check, NULL, (unsigned)hc_key_line(p, "check"), &he);
	if (r < 0)
		return lerr(p, (int)he.line, r, "service %s: %s", s->name, he.reason);
	if (s->check.src.ss_family &&
	    s->check.src.ss_family != (s->family == 4 ? AF_INET : AF_INET6))
		return lerr(p, hc_key_line(p, "check-source"), -EINVAL,
			    "service %s: check-source is not IPv%u like its vip", s->name,
			    s->family);
	for (i = 0; i < s->n_backends; i++) {
		const struct gwlb_lb_backend *b = &s->backends[i];

		if (b->family != s->family)
			return lerr(p, b->line, -EINVAL,
				    "backend %s: an IPv%u address in a service whose vip is IPv%u",
				    b->name, b->family, s->family);
		/* the map holds address and port, or addresses only */
		if (!b->port != !s->backends[0].port)
			return lerr(p, b->line, -EINVAL,
				    "backend %s: %s a port and backend %s (line %d) %s: give every backend of a service a port, or none",
				    b->name, b->port ? "has" : "has no", s->backends[0].name,
				    s->backends[0].line, b->port ? "has none" : "has one");
	}
	for (i = 0; i + 1 < p->c->n_services; i++) {
		const struct gwlb_lb_service *o = &p->c->services[i];

		if (ranges_overlap(o, s))
			return lerr(p, kl[SK_PORT], -EINVAL,
				    "service %s: vip, protocol and ports overlap service %s (line %d)",
				    s->name, o->name, o->line);
	}
	return 0;
}

static int section_begin(struct lbparser *p, const char *s)
{
	char name[128];
	const char *end = strchr(s, ']');
	struct gwlb_lb_service *ns;
	size_t n;
	unsigned i;

	if (service_end(p) < 0)
		return p->rc;
	if (!end || end[1 + strspn(end + 1, " \t\r\n")] != '\0')
		return lerr(p, p->line, -EINVAL, "bad section header: expected [service NAME]");
	n = (size_t)(end - s - 1);
	if (n >= sizeof(name))
		return lerr(p, p->line, -EINVAL, "section header too long");
	memcpy(name, s + 1, n);
	name[n] = '\0';
	if (strncmp(name, "service", 7) || (name[7] != ' ' && name[7] != '\t'))
		return lerr(p, p->line, -EINVAL, "unknown section [%.64s]: expected [service NAME]",
			    name);
	s = name + 7 + strspn(name + 7, " \t");
	n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	name[s - name + n] = '\0';
	if (!gwlb_lb_name_ok(s))
		return lerr(p, p->line, -EINVAL,
			    "bad service name '%.40s': 1..%d of letters, digits and '-', a letter first",
			    s, GWLB_LB_NAME_MAX);
	for (i = 0; i < p->c->n_services; i++)
		if (!strcmp(p->c->services[i].name, s))
			return lerr(p, p->line, -EINVAL, "service %s already defined at line %d", s,
				    p->c->services[i].line);
	if (p->c->n_services == GWLB_LB_MAX_SERVICES)
		return lerr(p, p->line, -EINVAL, "more than %d services", GWLB_LB_MAX_SERVICES);
	ns = realloc(p->c->services, (p->c->n_services + 1) * sizeof(*ns));
	if (!ns)
		return lerr(p, p->line, -ENOMEM, "out of memory");
	p->c->services = ns;
	p->svc = &ns[p->c->n_services++];
	memset(p->svc, 0, sizeof(*p->svc));
	snprintf(p->svc->name, sizeof(p->svc->name), "%s", s);
	p->svc->proto = IPPROTO_TCP;
	p->svc->line = p->line;
	gwlb_hccfg_init(&p->svc->check);
	memset(p->key_line_no, 0, sizeof(p->key_line_no));
	p->n_hc_keys = 0;
	return 0;
}

/* What inih will make of the line: nothing (blank, comment), a header (ours), a key. */
static int lb_classify(struct lbparser *p, const char *line)
{
	const char *s = line;

	p->key_line = false;
	if (p->line == 1 && !strncmp(s, "\xef\xbb\xbf", 3))
		s += 3;
	if (*s == ' ' || *s == '\t') {
		s += strspn(s, " \t\r\n");
		if (*s && *s != ';' && *s != '#')
			return lerr(p, p->line, -EINVAL, "indented line: start it in column 1");
		return 0;
	}
	if (*s == '\r' || *s == '\n' || *s == ';' || *s == '#')
		return 0;
	if (*s == '[')
		return section_begin(p, s);
	if (!strpbrk(s, "=:"))
		return lerr(p, p->line, -EINVAL, "expected 'key = value' or '[service NAME]'");
	p->key_line = true;
	return 0;
}

static char *lb_read_line(char *str, int num, void *stream)
{
	struct lbparser *p = stream;
	size_t n;
	int r;

	if (p->rc)
		return NULL;
	r = gwlb_iniline_next(p->buf, p->len, &p->pos, str, num, &n);
	if (r == 0)
		return NULL;
	p->line++;
	if (r < 0) {
		if (r == -EINVAL)
			lerr(p, p->line, -EINVAL, "NUL byte in line");
		else
			lerr(p, p->line, -EINVAL, "line too long: %zu characters, at most %d", n,
			     num - 2);
		return NULL;
	}
	if (lb_classify(p, str) < 0)
		return NULL;
	return str;
}

static int lb_handler(void *user, const char *section, const char *name, const char *value,
		      int lineno)
{
	struct lbparser *p = user;

	(void)section;
	(void)lineno;
	if (p->rc)
		return 0;
	if (!p->key_line) {
		lerr(p, p->line, -EINVAL, "cannot parse line (libinih saw key '%.32s')", name);
		return 0;
	}
	p->key_line = false;
	return service_key(p, name, value ? value : "") == 0;
}

int gwlb_lbconf_parse_buf(const uint8_t *buf, size_t len, const char *name,
			  struct gwlb_lb_conf **out, struct gwlb_lb_err *err)
{
	struct lbparser p = { .buf = buf, .len = len };
	struct gwlb_lb_err dummy;
	int r;

	p.err = err ? err : &dummy;
	snprintf(p.err->file, sizeof(p.err->file), "%s", name ? name : "<string>");
	p.err->line = 0;
	p.err->reason[0] = '\0';
	if (!out || (!buf && len))
		return lerr(&p, 0, -EINVAL, "invalid arguments");
	p.c = calloc(1, sizeof(*p.c));
	if (!p.c)
		return lerr(&p, 0, -ENOMEM, "out of memory");
	snprintf(p.c->file, sizeof(p.c->file), "%s", p.err->file);
	r = ini_parse_stream(lb_read_line, &p, lb_handler, &p);
	if (!p.rc) {
		if (r == -2)
			lerr(&p, 0, -ENOMEM, "out of memory");
		else if (r > 0)
			lerr(&p, r, -EINVAL, "syntax error");
		else if (r < 0)
			lerr(&p, 0, -EIO, "cannot read");
	}
	if (!p.rc)
		service_end(&p);
	if (p.rc) {
		gwlb_lbconf_free(p.c);
		return p.rc;
	}
	*out = p.c;
	return 0;
}

int gwlb_lbconf_parse_string(const char *text, const char *name, struct gwlb_lb_conf **out,
			     struct gwlb_lb_err *err)
{
	return gwlb_lbconf_parse_buf((const uint8_t *)text, text ? strlen(text) : 0, name, out,
				     err);
}

int gwlb_lbconf_parse_file(const char *path, struct gwlb_lb_conf **out,
			   struct gwlb_lb_err *err)
{
	struct gwlb_lb_err dummy;
	uint8_t *buf = NULL;
	struct stat st;
	ssize_t n;
	size_t got = 0;
	int fd, ret;

	if (!err)
		err = &dummy;
	snprintf(err->file, sizeof(err->file), "%s", path);
	err->line = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		snprintf(err->reason, sizeof(err->reason), "cannot open: %s", strerror(-ret));
		return ret;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > GWLB_LB_MAX_FILE) {
		ret = S_ISREG(st.st_mode) ? -EFBIG : -EINVAL;
		snprintf(err->reason, sizeof(err->reason), "%s",
			 ret == -EFBIG ? "larger than 1 MiB" : "not a regular file");
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		ret = -ENOMEM;
		snprintf(err->reason, sizeof(err->reason), "out of memory");
		goto out;
	}
	while (got < (size_t)st.st_size && (n = read(fd, buf + got, (size_t)st.st_size - got)) > 0)
		got += (size_t)n;
	ret = gwlb_lbconf_parse_buf(buf, got, path, out, err);
out:
	free(buf);
	close(fd);
	return ret;
}

void gwlb_lb_service_release(struct gwlb_lb_service *s)
{
	free(s->backends);
	s->backends = NULL;
	s->n_backends = 0;
}

void gwlb_lbconf_free(struct gwlb_lb_conf *c)
{
	unsigned i;

	if (!c)
		return;
	for (i = 0; i < c->n_services; i++)
		gwlb_lb_service_release(&c->services[i]);
	free(c->services);
	free(c);
}

int gwlb_lb_service_copy(struct gwlb_lb_service *dst, const struct gwlb_lb_service *src)
{
	*dst = *src;
	dst->backends = calloc(src->n_backends ? src->n_backends : 1, sizeof(*dst->backends));
	if (!dst->backends) {
		dst->n_backends = 0;
		return -ENOMEM;
	}
	memcpy(dst->backends, src->backends, src->n_backends * sizeof(*dst->backends));
	return 0;
}

static bool backend_same(const struct gwlb_lb_backend *a, const struct gwlb_lb_backend *b)
{
	return !strcmp(a->name, b->name) && a->family == b->family &&
	       !memcmp(a->addr, b->addr, 16) && a->port == b->port && a->weight == b->weight &&
	       a->tier == b->tier && a->admin == b->admin && a->has_check == b->has_check &&
	       (!a->has_check || a->check == b->check);
}

bool gwlb_lb_service_same(const struct gwlb_lb_service *a, const struct gwlb_lb_service *b)
{
	unsigned i;

	if (strcmp(a->name, b->name) || a->family != b->family || memcmp(a->vip, b->vip, 16) ||
	    a->port_lo != b->port_lo || a->port_hi != b->port_hi || a->proto != b->proto ||
	    a->sched != b->sched || a->hash_fields != b->hash_fields || a->seed != b->seed ||
	    a->maglev_size != b->maglev_size || a->n_backends != b->n_backends ||
	    !gwlb_hccfg_same(&a->check, &b->check))
		return false;
	for (i = 0; i < a->n_backends; i++)
		if (!backend_same(&a->backends[i], &b->backends[i]))
			return false;
	return true;
}

bool gwlb_lb_backend_check(const struct gwlb_lb_service *s, const struct gwlb_lb_backend *b,
			   struct gwlb_hc_cfg *cfg)
{
	enum gwlb_hc_type type = b->has_check ? b->check : s->check.type;
	uint16_t port = b->port ? b->port : s->port_lo;

	if (type == GWLB_HC_NONE)
		return false;
	*cfg = s->check;
	/* a backend's check=tcp in an http service: the http keys are not its */
	if (type != GWLB_HC_HTTP) {
		strcpy(cfg->path, "/");
		cfg->host[0] = '\0';
		cfg->expect_status = GWLB_HC_DEF_STATUS;
	}
	cfg->type = type;
	memset(&cfg->addr, 0, sizeof(cfg->addr));
	if (b->family == 4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&cfg->addr;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, b->addr, 4);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&cfg->addr;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		memcpy(&sin6->sin6_addr, b->addr, 16);
	}
	return true;
}
