/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The services file parser (lbconf) and the scheduler map's weight ranges (lbmap). */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lbconf.h"
#include "lbmap.h"

static const char *const example =
	"# two services\n"
	"[service web]\n"
	"vip = 198.19.99.10\n"
	"port = 80\n"
	"scheduler = nth\n"
	"backend = a 10.0.0.1:8080 weight=2\n"
	"backend = b 10.0.0.2:8080 tier=1 state=drain\n"
	"\n"
	"[service dns6]\n"
	"vip = fd00::53\n"
	"port = 5300-5310\n"
	"protocol = udp\n"
	"scheduler = hash\n"
	"hash-fields = saddr, sport daddr\n"
	"seed = 7\n"
	"backend = x fd00::1\n"
	"backend = y fd00::2 state=down\n";

static struct gwlb_lb_conf *parse_ok(const char *text)
{
	struct gwlb_lb_conf *c = NULL;
	struct gwlb_lb_err err;
	int rc = gwlb_lbconf_parse_string(text, "s.conf", &c, &err);

	ck_assert_msg(rc == 0, "parse failed: %d %s:%d: %s", rc, err.file, err.line, err.reason);
	return c;
}

START_TEST(test_example)
{
	struct gwlb_lb_conf *c = parse_ok(example);
	const struct gwlb_lb_service *w = &c->services[0], *d = &c->services[1];
	uint8_t a[16] = { 0 };

	ck_assert_uint_eq(c->n_services, 2);
	ck_assert_str_eq(w->name, "web");
	ck_assert_int_eq(w->line, 2);
	ck_assert_uint_eq(w->family, 4);
	inet_pton(AF_INET, "198.19.99.10", a);
	ck_assert_mem_eq(w->vip, a, 16);
	ck_assert_uint_eq(w->port_lo, 80);
	ck_assert_uint_eq(w->port_hi, 80);
	ck_assert_uint_eq(w->proto, IPPROTO_TCP);
	ck_assert_int_eq(w->sched, GWLB_LB_SCHED_NTH);
	ck_assert_uint_eq(w->n_backends, 2);
	ck_assert_str_eq(w->backends[0].name, "a");
	ck_assert_uint_eq(w->backends[0].port, 8080);
	ck_assert_uint_eq(w->backends[0].weight, 2);
	ck_assert_uint_eq(w->backends[0].tier, 0);
	ck_assert_int_eq(w->backends[0].admin, GWLB_LB_ADMIN_UP);
	ck_assert_uint_eq(w->backends[1].tier, 1);
	ck_assert_uint_eq(w->backends[1].weight, 1);
	ck_assert_int_eq(w->backends[1].admin, GWLB_LB_ADMIN_DRAIN);
	ck_assert_int_eq(w->backends[1].line, 7);

	ck_assert_uint_eq(d->family, 6);
	ck_assert_uint_eq(d->port_lo, 5300);
	ck_assert_uint_eq(d->port_hi, 5310);
	ck_assert_uint_eq(d->proto, IPPROTO_UDP);
	ck_assert_int_eq(d->sched, GWLB_LB_SCHED_HASH);
	ck_assert_uint_eq(d->hash_fields,
			  GWLB_LB_HASH_SADDR | GWLB_LB_HASH_SPORT | GWLB_LB_HASH_DADDR);
	ck_assert_uint_eq(d->seed, 7);
	ck_assert_uint_eq(d->backends[0].port, 0);
	ck_assert_uint_eq(d->backends[1].family, 6);
	ck_assert_int_eq(d->backends[1].admin, GWLB_LB_ADMIN_DOWN);
	gwlb_lbconf_free(c);
}
END_TEST

START_TEST(test_v6_ports)
{
	struct gwlb_lb_conf *c = parse_ok("[service h]\nvip=fd00::10\nport=443\n"
					  "backend = b [fd00::1]:8443\nbackend = c [fd00::2]:1\n");
	uint8_t a[16];

	inet_pton(AF_INET6, "fd00::1", a);
	ck_assert_mem_eq(c->services[0].backends[0].addr, a, 16);
	ck_assert_uint_eq(c->services[0].backends[0].port, 8443);
	ck_assert_uint_eq(c->services[0].backends[1].port, 1);
	gwlb_lbconf_free(c);
}
END_TEST

START_TEST(test_hash_default_and_seed)
{
	struct gwlb_lb_conf *c = parse_ok("[service h]\nvip=1.2.3.4\nport=1\nscheduler=hash\n"
					  "backend = b 10.0.0.1\n");
	struct gwlb_lb_conf *c2 = parse_ok("[service h]\nvip=1.2.3.4\nport=1\nscheduler=hash\n"
					   "backend = b 10.0.0.1\n");

	ck_assert_uint_eq(c->services[0].hash_fields, GWLB_LB_HASH_SADDR);
	ck_assert_uint_eq(c->services[0].proto, IPPROTO_TCP);
	/* the default seed comes from the name: two gwlbd with one file agree */
	ck_assert_uint_eq(c->services[0].seed, c2->services[0].seed);
	ck_assert(gwlb_lb_service_same(&c->services[0], &c2->services[0]));
	gwlb_lbconf_free(c);
	gwlb_lbconf_free(c2);
}
END_TEST

/* maglev: the whole tuple and 65537 slots unless told, a seed from the name; size counts */
START_TEST(test_maglev_defaults)
{
	struct gwlb_lb_conf *c = parse_ok("[service m]\nvip=1.2.3.4\nport=1\nscheduler=maglev\n"
					  "backend = b 10.0.0.1\n");
	struct gwlb_lb_conf *c2 = parse_ok("[service m]\nvip=1.2.3.4\nport=1\nscheduler=maglev\n"
					   "maglev-size=251\nhash-fields=saddr\nbackend = b 10.0.0.1\n");

	ck_assert_str_eq(gwlb_lb_sched_name(c->services[0].sched), "maglev");
	ck_assert_uint_eq(c->services[0].hash_fields, GWLB_LB_HASH_SADDR | GWLB_LB_HASH_SPORT |
			  GWLB_LB_HASH_DADDR | GWLB_LB_HASH_DPORT);
	ck_assert_uint_eq(c->services[0].maglev_size, 65537);
	ck_assert_uint_eq(c2->services[0].maglev_size, 251);
	ck_assert_uint_eq(c2->services[0].hash_fields, GWLB_LB_HASH_SADDR);
	ck_assert_uint_eq(c->services[0].seed, c2->services[0].seed);
	ck_assert(!gwlb_lb_service_same(&c->services[0], &c2->services[0]));
	gwlb_lbconf_free(c);
	gwlb_lbconf_free(c2);
}
END_TEST

START_TEST(test_same)
{
	struct gwlb_lb_conf *a = parse_ok(example);
	struct gwlb_lb_conf *b;
	struct gwlb_lb_service copy;
	char moved[1024];

	/* the same services two lines further down: lines differ, definitions do not */
	snprintf(moved, sizeof(moved), "\n\n%s", example);
	b = parse_ok(moved);
	ck_assert_int_ne(a->services[1].line, b->services[1].line);
	ck_assert(gwlb_lb_service_same(&a->services[1], &b->services[1]));
	gwlb_lbconf_free(b);
	ck_assert_int_eq(gwlb_lb_service_copy(&copy, &a->services[0]), 0);
	ck_assert(gwlb_lb_service_same(&copy, &a->services[0]));
	copy.backends[1].weight = 3;
	ck_assert(!gwlb_lb_service_same(&copy, &a->services[0]));
	copy.backends[1].weight = 1;
	copy.backends[1].admin = GWLB_LB_ADMIN_UP;
	ck_assert(!gwlb_lb_service_same(&copy, &a->services[0]));
	gwlb_lb_service_release(&copy);
	ck_assert(!gwlb_lb_service_same(&a->services[0], &a->services[1]));
	gwlb_lbconf_free(a);
}
END_TEST

START_TEST(test_checks)
{
	struct gwlb_lb_conf *c = parse_ok("[service w]\nvip=1.2.3.4\nport=80-90\n"
					  "backend = a 10.0.0.1:8080\n"
					  "backend = b 10.0.0.2:8080 check=tcp\n"
					  "backend = n 10.0.0.3:8080 check=none\n"
					  "check = http\ncheck-path = /health\ncheck-status = 204\n"
					  "check-interval = 500ms\nrise = 1\nfall = 4\n"
					  "[service p]\nvip=fd00::5\nport=53\nbackend = x fd00::1\n");
	struct gwlb_lb_conf *d;
	const struct gwlb_lb_service *w = &c->services[0], *p = &c->services[1];
	const struct sockaddr_in *sin;
	struct gwlb_hc_cfg h;

	/* keys after the backends apply to them all: the service is read as a whole */
	ck_assert_int_eq(w->check.type, GWLB_HC_HTTP);
	ck_assert_uint_eq(w->check.interval_ms, 500);
	ck_assert_uint_eq(w->check.timeout_ms, 500);	/* the default 1 s, cut to the interval */
	ck_assert_uint_eq(w->check.rise, 1);
	ck_assert_uint_eq(w->check.fall, 4);
	ck_assert(gwlb_lb_backend_check(w, &w->backends[0], &h));
	sin = (const struct sockaddr_in *)&h.addr;
	ck_assert_int_eq(h.type, GWLB_HC_HTTP);
	ck_assert_str_eq(h.path, "/health");
	ck_assert_int_eq(h.expect_status, 204);
	ck_assert_int_eq(sin->sin_family, AF_INET);
	ck_assert_uint_eq(ntohs(sin->sin_port), 8080);
	ck_assert_uint_eq(sin->sin_addr.s_addr, htonl(0x0a000001));
	/* check=tcp on the line: the service's timing, none of its http keys */
	ck_assert(gwlb_lb_backend_check(w, &w->backends[1], &h));
	ck_assert_int_eq(h.type, GWLB_HC_TCP);
	ck_assert_str_eq(h.path, "/");
	ck_assert_int_eq(h.expect_status, 200);
	ck_assert_uint_eq(h.fall, 4);
	ck_assert(!gwlb_lb_backend_check(w, &w->backends[2], &h));
	/* the default is no check: healthy */
	ck_assert_int_eq(p->check.type, GWLB_HC_NONE);
	ck_assert(!gwlb_lb_backend_check(p, &p->backends[0], &h));
	/* a changed check is a changed service; defaults written out are not a change */
	d = parse_ok("[service w]\nvip=1.2.3.4\nport=80-90\n"
		     "backend = a 10.0.0.1:8080\nbackend = b 10.0.0.2:8080 check=tcp\n"
		     "backend = n 10.0.0.3:8080 check=none\n"
		     "check = http\ncheck-path = /health\ncheck-status = 204\n"
		     "check-interval = 500ms\nrise = 1\nfall = 4\ncheck-timeout = 500\n"
		     "[service p]\nvip=fd00::5\nport=53\nbackend = x fd00::1\ncheck = none\n");
	ck_assert(gwlb_lb_service_same(w, &d->services[0]));
	ck_assert(gwlb_lb_service_same(p, &d->services[1]));
	d->services[0].check.fall = 3;
	ck_assert(!gwlb_lb_service_same(w, &d->services[0]));
	d->services[0].check.fall = 4;
	d->services[0].backends[1].check = GWLB_HC_HTTP;
	ck_assert(!gwlb_lb_service_same(w, &d->services[0]));
	gwlb_lbconf_free(d);
	/* no port on the backend: the service's first */
	d = parse_ok("[service v]\nvip=fd00::10\nport=443-445\ncheck=tcp\nbackend = x fd00::1\n");
	ck_assert(gwlb_lb_backend_check(&d->services[0], &d->services[0].backends[0], &h));
	ck_assert_int_eq(h.addr.ss_family, AF_INET6);
	ck_assert_uint_eq(ntohs(((const struct sockaddr_in6 *)&h.addr)->sin6_port), 443);
	gwlb_lbconf_free(d);
	gwlb_lbconf_free(c);
}
END_TEST

static const struct {
	const char *text;
	int line;
	const char *reason;		/* a part of it */
} errs[] = {
	{ "vip = 1.2.3.4\n", 1, "outside a [service NAME] section" },
	{ "[svc a]\n", 1, "unknown section [svc a]" },
	{ "[service 1a]\n", 1, "bad service name '1a'" },
	{ "[service a_b]\n", 1, "bad service name 'a_b'" },
	{ "[service a]\nvip=1.2.3.4\nport=1\nbackend=b 1.1.1.1\n[service a]\n", 5,
	  "service a already defined at line 1" },
	{ "[service a]\nport=1\nbackend=b 1.1.1.1\n", 1, "no 'vip'" },
	{ "[service a]\nvip=1.2.3.4\nbackend=b 1.1.1.1\n", 1, "no 'port'" },
	{ "[service a]\nvip=1.2.3.4\nport=1\n", 1, "no 'backend'" },
	{ "[service a]\nvip=1.2.3.400\n", 2, "bad vip" },
	{ "[service a]\nvip=1.2.3.4\nvip=1.2.3.5\n", 3, "'vip' given twice (first at line 2)" },
	{ "[service a]\nport=0\n", 2, "bad port '0'" },
	{ "[service a]\nport=90-80\n", 2, "ends before it starts" },
	{ "[service a]\nport=65536\n", 2, "bad port" },
	{ "[service a]\nprotocol=sctp\n", 2, "bad protocol 'sctp'" },
	{ "[service a]\nscheduler=rr\n", 2, "unknown scheduler 'rr': nth, random, hash, symhash or maglev" },
	{ "[service a]\nmaglev-size=65536\n", 2, "bad maglev-size '65536': a prime" },
	{ "[service a]\nmaglev-size=2097143\n", 2, "bad maglev-size" },
	{ "[service a]\nvip=1.2.3.4\nport=1\nscheduler=hash\nmaglev-size=7\nbackend=b 1.1.1.1\n", 5,
	  "'maglev-size' is for scheduler maglev, not hash" },
	{ "[service a]\nscheduler=hash\nhash-fields=saddr foo\n", 3, "unknown hash field 'foo'" },
	{ "[service a]\nhash-fields=saddr saddr\n", 2, "hash field 'saddr' given twice" },
	{ "[service a]\nvip=1.2.3.4\nport=1\nhash-fields=saddr\nbackend=b 1.1.1.1\n", 4,
	  "'hash-fields' is for schedulers hash and maglev, not nth" },
	{ "[service a]\nvip=1.2.3.4\nport=1\nseed=3\nbackend=b 1.1.1.1\n", 4,
	  "'seed' is for schedulers hash and maglev" },
	{ "[service a]\ncolour=red\n", 2, "unknown key 'colour'" },
	{ "[service a]\nbackend=\n", 2, "expected 'backend = NAME" },
	{ "[service a]\nbackend=b_1 1.1.1.1\n", 2, "bad backend name 'b_1'" },
	{ "[service a]\nbackend=b 1.1.1\n", 2, "backend b: bad address '1.1.1'" },
	{ "[service a]\nbackend=b 1.1.1.1:0\n", 2, "bad address" },
	{ "[service a]\nbackend=b [fd00::1\n", 2, "bad address" },
	{ "[service a]\nbackend=b 1.1.1.1 weight=0\n", 2, "backend b: bad weight '0'" },
	{ "[service a]\nbackend=b 1.1.1.1 weight=10001\n", 2, "bad weight" },
	{ "[service a]\nbackend=b 1.1.1.1 tier=16\n", 2, "bad tier '16'" },
	{ "[service a]\nbackend=b 1.1.1.1 state=off\n", 2, "bad state 'off'" },
	{ "[service a]\nbackend=b 1.1.1.1 colour=red\n", 2, "unknown option 'colour=red'" },
	{ "[service a]\nbackend=b 1.1.1.1\nbackend=b 1.1.1.2\n", 3,
	  "backend b already defined at line 2" },
	{ "[service a]\nvip=1.2.3.4\nport=1\nbackend=b fd00::1\n", 4,
	  "an IPv6 address in a service whose vip is IPv4" },
	{ "[service a]\nvip=1.2.3.4\nport=1\nbackend=b 1.1.1.1:80\nbackend=c 1.1.1.2\n", 5,
	  "give every backend of a service a port, or none" },
	{ "[service a]\nvip=1.2.3.4\nport=80-90\nbackend=b 1.1.1.1\n"
	  "[service c]\nvip=1.2.3.4\nport=90\nbackend=b 1.1.1.1\n", 7,
	  "overlap service a (line 1)" },
	{ "[service a]\n  vip=1.2.3.4\n", 2, "indented line" },
	{ "[service a]\nnonsense\n", 2, "expected 'key = value'" },
	{ "[service a]\ncheck=icmp\n", 2, "bad value 'icmp' for 'check'" },
	{ "[service a]\ncheck=tcp\nrise=0\n", 3, "'rise' out of range" },
	{ "[service a]\ncheck=tcp\ncheck=http\n", 3, "'check' given twice (first at line 2)" },
	{ "[service a]\nvip=1.2.3.4\nport=1\ncheck=tcp\ncheck-path=/h\nbackend=b 1.1.1.1\n", 4,
	  "service a: check-path, check-host and check-status need check = http" },
	{ "[service a]\nvip=1.2.3.4\nport=1\ncheck=tcp\ncheck-interval=200ms\n"
	  "check-timeout=300ms\nbackend=b 1.1.1.1\n", 4, "must lie in 10ms..check-interval" },
	{ "[service a]\nvip=1.2.3.4\nport=1\ncheck=tcp\ncheck-source=fd00::9\n"
	  "backend=b 1.1.1.1\n", 5, "check-source is not IPv4 like its vip" },
	{ "[service a]\nbackend=b 1.1.1.1 check=udp\n", 2, "backend b: bad value 'udp' for 'check'" },
};

START_TEST(test_errors)
{
	struct gwlb_lb_conf *c = NULL;
	struct gwlb_lb_err err;
	int rc = gwlb_lbconf_parse_string(errs[_i].text, "s.conf", &c, &err);

	ck_assert_msg(rc == -EINVAL, "'%s' parsed (%d)", errs[_i].text, rc);
	ck_assert_ptr_null(c);
	ck_assert_str_eq(err.file, "s.conf");
	ck_assert_msg(err.line == errs[_i].line, "'%s': line %d, expected %d (%s)", errs[_i].text,
		      err.line, errs[_i].line, err.reason);
	ck_assert_msg(strstr(err.reason, errs[_i].reason), "'%s': reason '%s', expected '%s'",
		      errs[_i].text, err.reason, errs[_i].reason);
}
END_TEST

START_TEST(test_udp_tcp_no_overlap)
{
	struct gwlb_lb_conf *c = parse_ok("[service a]\nvip=1.2.3.4\nport=53\nbackend=b 1.1.1.1\n"
					  "[service b]\nvip=1.2.3.4\nport=53\nprotocol=udp\n"
					  "backend=b 1.1.1.1\n");

	ck_assert_uint_eq(c->n_services, 2);
	gwlb_lbconf_free(c);
}
END_TEST

START_TEST(test_file)
{
	char path[] = "/tmp/test_lbconf.XXXXXX";
	struct gwlb_lb_conf *c = NULL;
	struct gwlb_lb_err err;
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, example, strlen(example)), (int)strlen(example));
	close(fd);
	ck_assert_int_eq(gwlb_lbconf_parse_file(path, &c, &err), 0);
	ck_assert_uint_eq(c->n_services, 2);
	ck_assert_str_eq(c->file, path);
	gwlb_lbconf_free(c);
	unlink(path);
	ck_assert_int_eq(gwlb_lbconf_parse_file(path, &c, &err), -ENOENT);
	ck_assert_int_eq(err.line, 0);
	ck_assert_ptr_nonnull(strstr(err.reason, "cannot open"));
}
END_TEST

/* ---- lbmap ---- */

START_TEST(test_takes_new)
{
	ck_assert(gwlb_lb_takes_new(GWLB_LB_ADMIN_UP, GWLB_LB_HEALTH_UP));
	ck_assert(!gwlb_lb_takes_new(GWLB_LB_ADMIN_UP, GWLB_LB_HEALTH_DOWN));
	ck_assert(!gwlb_lb_takes_new(GWLB_LB_ADMIN_DRAIN, GWLB_LB_HEALTH_UP));
	ck_assert(!gwlb_lb_takes_new(GWLB_LB_ADMIN_DOWN, GWLB_LB_HEALTH_UP));
}
END_TEST

START_TEST(test_ranges)
{
	const struct gwlb_lbmap_in in[] = {
		{ .weight = 1, .takes_new = true },
		{ .weight = 3, .takes_new = true },
		{ .weight = 5, .takes_new = false },	/* drained: no range */
		{ .weight = 2, .takes_new = true },
		{ .weight = 9, .tier = 1, .takes_new = true },	/* backup: not while tier 0 serves */
	};
	struct gwlb_lbmap_range r[5];
	uint32_t sum;

	ck_assert_int_eq(gwlb_lbmap_tier(in, 5), 0);
	ck_assert_int_eq(gwlb_lbmap_build(in, 5, r, &sum), 3);
	ck_assert_uint_eq(sum, 6);
	ck_assert_uint_eq(r[0].backend, 0);
	ck_assert_uint_eq(r[0].lo, 0);
	ck_assert_uint_eq(r[0].hi, 0);
	ck_assert_uint_eq(r[1].backend, 1);
	ck_assert_uint_eq(r[1].lo, 1);
	ck_assert_uint_eq(r[1].hi, 3);
	ck_assert_uint_eq(r[2].backend, 3);
	ck_assert_uint_eq(r[2].lo, 4);
	ck_assert_uint_eq(r[2].hi, 5);
}
END_TEST

START_TEST(test_tiers)
{
	struct gwlb_lbmap_in in[] = {
		{ .weight = 1, .tier = 2, .takes_new = true },
		{ .weight = 1, .tier = 0, .takes_new = false },
		{ .weight = 4, .tier = 1, .takes_new = true },
		{ .weight = 2, .tier = 1, .takes_new = true },
	};
	struct gwlb_lbmap_range r[4];
	uint32_t sum;

	/* tier 0 has nobody: tier 1 takes over, tier 2 stays out */
	ck_assert_int_eq(gwlb_lbmap_tier(in, 4), 1);
	ck_assert_int_eq(gwlb_lbmap_build(in, 4, r, &sum), 2);
	ck_assert_uint_eq(sum, 6);
	ck_assert_uint_eq(r[0].backend, 2);
	ck_assert_uint_eq(r[1].backend, 3);
	ck_assert_uint_eq(r[1].lo, 4);
	ck_assert_uint_eq(r[1].hi, 5);
	/* tier 0 recovers: it gets everything back */
	in[1].takes_new = true;
	ck_assert_int_eq(gwlb_lbmap_build(in, 4, r, &sum), 1);
	ck_assert_uint_eq(r[0].backend, 1);
	ck_assert_uint_eq(sum, 1);
	/* nobody anywhere */
	in[0].takes_new = in[1].takes_new = in[2].takes_new = in[3].takes_new = false;
	ck_assert_int_eq(gwlb_lbmap_tier(in, 4), -1);
	ck_assert_int_eq(gwlb_lbmap_build(in, 4, r, &sum), 0);
	ck_assert_uint_eq(sum, 0);
}
END_TEST

START_TEST(test_bad_weight)
{
	const struct gwlb_lbmap_in in[] = { { .weight = 0, .takes_new = true } };
	struct gwlb_lbmap_range r[1];
	uint32_t sum;

	ck_assert_int_eq(gwlb_lbmap_build(in, 1, r, &sum), -EINVAL);
}
END_TEST

static Suite *lbconf_suite(void)
{
	Suite *s = suite_create("lbconf");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, test_example);
	tcase_add_test(tc, test_v6_ports);
	tcase_add_test(tc, test_hash_default_and_seed);
	tcase_add_test(tc, test_maglev_defaults);
	tcase_add_test(tc, test_same);
	tcase_add_test(tc, test_checks);
	tcase_add_test(tc, test_udp_tcp_no_overlap);
	tcase_add_test(tc, test_file);
	tcase_add_loop_test(tc, test_errors, 0, sizeof(errs) / sizeof(errs[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("lbmap");
	tcase_add_test(tc, test_takes_new);
	tcase_add_test(tc, test_ranges);
	tcase_add_test(tc, test_tiers);
	tcase_add_test(tc, test_bad_weight);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(lbconf_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
