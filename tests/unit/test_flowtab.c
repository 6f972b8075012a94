/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "flowtab.h"
#include "pkt.h"
#include "fixtures.h"

/* 198.19.1.2 and 198.19.100.2: the fixtures' client and server. */
static const uint8_t ip_client[4] = { 0xc6, 0x13, 0x01, 0x02 };
static const uint8_t ip_server[4] = { 0xc6, 0x13, 0x64, 0x02 };

/* An IPv4 key with the endpoints in the order given (the caller makes it canonical). */
static void key4(struct gwlb_flow_key *k, uint8_t proto, const uint8_t a0[4], uint16_t p0,
		 const uint8_t a1[4], uint16_t p1, uint16_t eni)
{
	memset(k, 0, sizeof(*k));
	memcpy(k->addr[0], a0, 4);
	memcpy(k->addr[1], a1, 4);
	k->port[0] = htons(p0);
	k->port[1] = htons(p1);
	k->proto = proto;
	k->family = 4;
	k->eni_idx = eni;
}

/* A distinct canonical IPv4 key per id: 10.0.x.y:id -> 10.1.0.1:80. */
static void key_id(struct gwlb_flow_key *k, uint8_t proto, uint32_t id, uint16_t eni)
{
	uint8_t a[4] = { 10, 0, (uint8_t)(id >> 8), (uint8_t)id };
	uint8_t b[4] = { 10, 1, 0, 1 };

	key4(k, proto, a, (uint16_t)(1024 + (id >> 16)), b, 80, eni);
}

static void val_cookie(struct gwlb_flow_val *v, uint32_t cookie)
{
	memset(v, 0, sizeof(*v));
	v->outer_local = htonl(0x0a000a0a);
	v->outer_remote = htonl(0x0a000505);
	v->outer_sport = htons(61234);
	v->hdr_len = sizeof(fx_geneve_aws);
	memcpy(v->hdr, fx_geneve_aws, sizeof(fx_geneve_aws));
	v->hdr[36] = (uint8_t)(cookie >> 24);
	v->hdr[37] = (uint8_t)(cookie >> 16);
	v->hdr[38] = (uint8_t)(cookie >> 8);
	v->hdr[39] = (uint8_t)cookie;
}

static uint32_t val_cookie_of(const struct gwlb_flow_val *v)
{
	return (uint32_t)v->hdr[36] << 24 | (uint32_t)v->hdr[37] << 16 |
	       (uint32_t)v->hdr[38] << 8 | v->hdr[39];
}

static struct gwlb_flowtab *table(uint32_t capacity, uint32_t max_eni)
{
	struct gwlb_flowtab_cfg cfg;
	struct gwlb_flowtab *ft;

	memset(&cfg, 0, sizeof(cfg));
	cfg.capacity = capacity;
	cfg.max_eni = max_eni;
	ck_assert_int_eq(gwlb_flowtab_alloc(&ft, &cfg), 0);
	ck_assert_ptr_nonnull(ft);
	return ft;
}

START_TEST(test_round_trip)
{
	struct gwlb_flowtab *ft = table(1024, 0);
	struct gwlb_flowtab_stats st;
	struct gwlb_flow_key k;
	struct gwlb_flow_val v, out;

	key4(&k, 6, ip_client, 40000, ip_server, 80, 7);
	val_cookie(&v, 0xdeadbeef);
	ck_assert_int_eq(gwlb_flowtab_lookup(ft, &k, 100, &out), -ENOENT);
	ck_assert_int_eq(gwlb_flowtab_update(ft, &k, &v, 100), 0);
	memset(&out, 0xa5, sizeof(out));
	ck_assert_int_eq(gwlb_flowtab_lookup(ft, &k, 100, &out), 0);
	ck_assert_uint_eq(out.hdr_len, 40);
	ck_assert_mem_eq(out.hdr, fx_geneve_aws, 40);
	ck_assert_uint_eq(out.outer_local, htonl(0x0a000a0a));
	ck_assert_uint_eq(out.outer_remote, htonl(0x0a000505));
	ck_assert_uint_eq(out.outer_sport, htons(61234));
	/* A second update with the same header is a refresh, not an insert. */
	ck_assert_int_eq(gwlb_flowtab_update(ft, &k, &v, 101), 0);
	gwlb_flowtab_stats(ft, &st);
	ck_assert_uint_eq(st.entries, 1);
	ck_assert_uint_eq(st.inserts, 1);
	ck_assert_uint_eq(st.updates, 0);
	ck_assert_uint_eq(st.capacity, 1024);
	gwlb_flowtab_free(ft);
}
END_TEST

START_TEST(test_reverse_direction)
{
	struct gwlb_flowtab *ft = table(1024, 0);
	struct gwlb_pkt_info fwd, rev;
	struct gwlb_flow_key want;
	struct gwlb_flow_val v, out;
	uint8_t reply[sizeof(fx_ip4_tcp)];

	/* The reply: addresses and ports swapped (checksums are unchanged by a swap). */
	memcpy(reply, fx_ip4_tcp, sizeof(reply));
	memcpy(reply + 12, fx_ip4_tcp + 16, 4);
	memcpy(reply + 16, fx_ip4_tcp + 12, 4);
	memcpy(reply + 20, fx_ip4_tcp + 22, 2);
	memcpy(reply + 22, fx_ip4_tcp + 20, 2);
	memset(&fwd, 0, sizeof(fwd));
	memset(&rev, 0, sizeof(rev));
	ck_assert_int_eq(gwlb_pkt_parse(fx_ip4_tcp, sizeof(fx_ip4_tcp), 4, &fwd), GWLB_PKT_OK);
	ck_assert_int_eq(gwlb_pkt_parse(reply, sizeof(reply), 4, &rev), GWLB_PKT_OK);
	fwd.key.eni_idx = 3;
	rev.key.eni_idx = 3;

	/* Canonical by hand: 198.19.1.2 < 198.19.100.2, so the client is endpoint 0 both ways. */
	key4(&want, 6, ip_client, 40000, ip_server, 80, 3);
	ck_assert_mem_eq(&fwd.key, &want, sizeof(want));
	ck_assert_mem_eq(&rev.key, &want, sizeof(want));

	val_cookie(&v, 0x01020304);
	ck_assert_int_eq(gwlb_flowtab_update(ft, &fwd.key, &v, 10), 0);
	ck_assert_int_eq(gwlb_flowtab_lookup(ft, &rev.key, 11, &out), 0);
	ck_assert_uint_eq(val_cookie_of(&out), 0x01020304);
	gwlb_flowtab_free(ft);
}
END_TEST

START_TEST(test_eni_separates)
{
	struct gwlb_flowtab *ft = table(1024, 16);
	struct gwlb_flow_key k1, k2;
	struct gwlb_flow_val v, out;
	uint64_t live, ev;

	key4(&k1, 17, ip_client, 5000, ip_server, 53, 1);
	k2 = k1;
	k2.eni_idx = 2;
	val_cookie(&v, 0x11111111);
	ck_assert_int_eq(gwlb_flowtab_update(ft, &k1, &v, 1), 0);
	ck_assert_int_eq(gwlb_flowtab_lookup(ft, &k2, 1, &out), -ENOENT);
	val_cookie(&v, 0x22222222);
	ck_assert_int_eq(gwlb_flowtab_update(ft, &k2, &v, 1), 0);
	ck_assert_int_eq(gwlb_flowtab_lookup(ft, &k1, 1, &out), 0);
	ck_assert_uint_eq(val_cookie_of(&out), 0x11111111);
	ck_assert_int_eq(gwlb_flowtab_lookup(ft, &k2, 1, &out), 0);
	ck_assert_uint_eq(val_cookie_of(&out), 0x22222222);
	gwlb_flowtab_eni_stats(ft, 1, &live, &ev);
	ck_assert_uint_eq(live, 1);
	gwlb_flowtab_eni_stats(ft, 2, &live, &ev);
	ck_assert_uint_eq(live, 1);
	gwlb_flowtab_eni_stats(ft, 3, &live, &ev);
	ck_assert_uint_eq(live, 0);
	/* Index past max_eni is refused, not silently folded into another ENI. */
	k2.eni_idx = 16;
	ck_assert_int_eq(gwlb_flowtab_update(ft, &k2, &v, 1), -EINVAL);
	gwlb_flowtab_free(ft);
}
END_TEST

START_TEST(test_cookie_change)
{
	struct gwlb_flowtab *ft = table(1024, 0);
	struct gwlb_flowtab_stats st;
	struct gwlb_flow_key k;
	struct gwlb_flow_val v, out;

	key4(&k, 6, ip_client, 40000, ip_server, 80, 0);
	val_cookie(&v, 0xdeadbeef);
	ck_assert_int_eq(gwlb_flowtab_update(ft, &k, &v, 1), 0);
	/* GWLB reuses the 5-tuple for a new flow: new cookie, and a new GWLB address too. */
	val_cookie(&v, 0xcafef00d);
	v.outer_remote = htonl(0x0a000506);
	ck_assert_int_eq(gwlb_flowtab_update(ft, &k, &v, 2), 0);
	ck_assert_int_eq(gwlb_flowtab_lookup(ft, &k, 2, &out), 0);
	ck_assert_uint_eq(val_cookie_of(&out), 0xcafef00d);
	ck_assert_uint_eq(out.outer_remote, htonl(0x0a000506));
	ck_assert_mem_eq(out.hdr, fx_geneve_aws, 36);
	/* A shorter header replaces the longer one entirely. */
	v.hdr_len = 8;
	ck_assert_int_eq(gwlb_flowtab_update(ft, &k, &v, 3), 0);
	ck_assert_int_eq(gwlb_flowtab_lookup(ft, &k, 3, &out), 0);
	ck_assert_uint_eq(out.hdr_len, 8);
	ck_assert_mem_eq(out.hdr, fx_geneve_aws, 8);
	gwlb_flowtab_stats(ft, &st);
	ck_assert_uint_eq(st.inserts, 1);
	ck_assert_uint_eq(st.updates, 2);
	ck_assert_uint_eq(st.entries, 1);
	gwlb_flowtab_free(ft);
}
END_TEST

START_TEST(test_hdr_too_long)
{
	struct gwlb_flowtab *ft = table(64, 0);
	struct gwlb_flowtab_stats st;
	struct gwlb_flow_key k;
	struct gwlb_flow_val v, out;

	key4(&k, 6, ip_client, 1, ip_server, 2, 0);
	val_cookie(&v, 1);
	v.hdr_len = GWLB_FLOW_HDR_MAX + 1;
	ck_assert_int_eq(gwlb_flowtab_update(ft, &k, &v, 1), -EMSGSIZE);
	ck_assert_int_eq(gwlb_flowtab_lookup(ft, &k, 1, &out), -ENOENT);
	memset(v.hdr, 0x5c, GWLB_FLOW_HDR_MAX);
	v.hdr_len = GWLB_FLOW_HDR_MAX;
	ck_assert_int_eq(gwlb_flowtab_update(ft, &k, &v, 1), 0);
	ck_assert_int_eq(gwlb_flowtab_lookup(ft, &k, 1, &out), 0);
	ck_assert_uint_eq(out.hdr_len, GWLB_FLOW_HDR_MAX);
	ck_assert_mem_eq(out.hdr, v.hdr, GWLB_FLOW_HDR_MAX);
	gwlb_flowtab_stats(ft, &st);
	ck_assert_uint_eq(st.entries, 1);
	gwlb_flowtab_free(ft);
}
END_TEST

START_TEST(test_class_of)
{
	ck_assert_int_eq(gwlb_flow_class_of(6), GWLB_FLOW_TCP);
	ck_assert_int_eq(gwlb_flow_class_of(17), GWLB_FLOW_UDP);
	ck_assert_int_eq(gwlb_flow_class_of(136), GWLB_FLOW_UDP);
	ck_assert_int_eq(gwlb_flow_class_of(1), GWLB_FLOW_ICMP);
	ck_assert_int_eq(gwlb_flow_class_of(58), GWLB_FLOW_ICMP);
	ck_assert_int_eq(gwlb_flow_class_of(47), GWLB_FLOW_OTHER);
	ck_assert_int_eq(gwlb_flow_class_of(132), GWLB_FLOW_OTHER);
}
END_TEST

/* Insert a fresh flow (id) at t0, then look it up once at t0 + idle. */
static int probe(struct gwlb_flowtab *ft, uint8_t proto, uint32_t id, uint32_t t0, uint32_t idle)
{
	struct gwlb_flow_key k;
	struct gwlb_flow_val v, out;

	key_id(&k, proto, id, 0);
	val_cookie(&v, id);
	ck_assert_int_eq(gwlb_flowtab_update(ft, &k, &v, t0), 0);
	return gwlb_flowtab_lookup(ft, &k, t0 + idle, &out);
}

START_TEST(test_default_timeouts)
{
	struct gwlb_flowtab *ft = table(1024, 0);

	ck_assert_uint_eq(gwlb_flowtab_timeout(ft, GWLB_FLOW_TCP), 350);
	ck_assert_uint_eq(gwlb_flowtab_timeout(ft, GWLB_FLOW_UDP), 120);
	ck_assert_uint_eq(gwlb_flowtab_timeout(ft, GWLB_FLOW_ICMP), 120);
	ck_assert_uint_eq(gwlb_flowtab_timeout(ft, GWLB_FLOW_OTHER), 120);
	ck_assert_int_eq(probe(ft, 6, 1, 5000, 349), 0);
	ck_assert_int_eq(probe(ft, 6, 2, 5000, 350), 0);
	ck_assert_int_eq(probe(ft, 6, 3, 5000, 351), -ENOENT);
	ck_assert_int_eq(probe(ft, 17, 4, 5000, 120), 0);
	ck_assert_int_eq(probe(ft, 17, 5, 5000, 121), -ENOENT);
	ck_assert_int_eq(probe(ft, 136, 6, 5000, 121), -ENOENT);
	ck_assert_int_eq(probe(ft, 1, 7, 5000, 120), 0);
	ck_assert_int_eq(probe(ft, 58, 8, 5000, 121), -ENOENT);
	ck_assert_int_eq(probe(ft, 47, 9, 5000, 121), -ENOENT);
	/* UDP idle 200 s would be dead, TCP idle 200 s is alive. */
	ck_assert_int_eq(probe(ft, 6, 10, 5000, 200), 0);
	/* A clock that is behind the entry (another thread's older "now") is not idle. */
	ck_assert_int_eq(probe(ft, 17, 11, 5000, (uint32_t)-5), 0);
	gwlb_flowtab_free(ft);
}
END_TEST

START_TEST(test_custom_timeouts)
{
	struct gwlb_flowtab_cfg cfg;
	struct gwlb_flowtab *ft;

	memset(&cfg, 0, sizeof(cfg));
	cfg.capacity = 256;
	cfg.timeout[GWLB_FLOW_TCP] = 30;
	cfg.timeout[GWLB_FLOW_UDP] = 5;
	cfg.timeout[GWLB_FLOW_OTHER] = 900;
	ck_assert_int_eq(gwlb_flowtab_alloc(&ft, &cfg), 0);
	ck_assert_uint_eq(gwlb_flowtab_timeout(ft, GWLB_FLOW_TCP), 30);
	ck_assert_uint_eq(gwlb_flowtab_timeout(ft, GWLB_FLOW_UDP), 5);
	ck_assert_uint_eq(gwlb_flowtab_timeout(ft, GWLB_FLOW_ICMP), 120);	/* 0 = default */
	ck_assert_uint_eq(gwlb_flowtab_timeout(ft, GWLB_FLOW_OTHER), 900);
	ck_assert_int_eq(probe(ft, 6, 1, 100, 30), 0);
	ck_assert_int_eq(probe(ft, 6, 2, 100, 31), -ENOENT);
	ck_assert_int_eq(probe(ft, 17, 3, 100, 5), 0);
	ck_assert_int_eq(probe(ft, 17, 4, 100, 6), -ENOENT);
	ck_assert_int_eq(probe(ft, 1, 5, 100, 120), 0);
	ck_assert_int_eq(probe(ft, 1, 6, 100, 121), -ENOENT);
	ck_assert_int_eq(probe(ft, 50, 7, 100, 900), 0);
	ck_assert_int_eq(probe(ft, 50, 8, 100, 901), -ENOENT);
	gwlb_flowtab_free(ft);
}
END_TEST

START_TEST(test_refresh_keeps_alive)
{
	struct gwlb_flowtab *ft = table(1024, 0);
	struct gwlb_flow_key k, k2;
	struct gwlb_flow_val v, out;

	key4(&k, 17, ip_client, 5000, ip_server, 53, 0);
	val_cookie(&v, 7);
	ck_assert_int_eq(gwlb_flowtab_update(ft, &k, &v, 1000), 0);
	/* Outbound-only traffic: each lookup pushes last_seen forward. */
	ck_assert_int_eq(gwlb_flowtab_lookup(ft, &k, 1100, &out), 0);
	ck_assert_int_eq(gwlb_flowtab_lookup(ft, &k, 1200, &out), 0);
	ck_assert_int_eq(gwlb_flowtab_lookup(ft, &k, 1320, &out), 0);
	ck_assert_int_eq(gwlb_flowtab_lookup(ft, &k, 1441, &out), -ENOENT);
	/* A miss does not refresh: still gone later. */
	ck_assert_int_eq(gwlb_flowtab_lookup(ft, &k, 1442, &out), -ENOENT);

	/* Inbound-only traffic: an unchanged update refreshes too. */
	key4(&k2, 17, ip_client, 5001, ip_server, 53, 0);
	ck_assert_int_eq(gwlb_flowtab_update(ft, &k2, &v, 1000), 0);
	ck_assert_int_eq(gwlb_flowtab_update(ft, &k2, &v, 1100), 0);
	ck_assert_int_eq(gwlb_flowtab_update(ft, &k2, &v, 1200), 0);
	ck_assert_int_eq(gwlb_flowtab_lookup(ft, &k2, 1320, &out), 0);
	/* An idle entry that sees a packet from GWLB again comes back to life. */
	ck_assert_int_eq(gwlb_flowtab_update(ft, &k, &v, 1500), 0);
	ck_assert_int_eq(gwlb_flowtab_lookup(ft, &k, 1500, &out), 0);
	gwlb_flowtab_free(ft);
}
END_TEST

START_TEST(test_full_table_evicts)
{
	struct gwlb_flowtab_cfg cfg;
	struct gwlb_flowtab_stats st;
	struct gwlb_flowtab *ft;
	struct gwlb_flow_key k, hot;
	struct gwlb_flow_val v, out;
	uint64_t live1, ev1, live2, ev2;
	unsigned i, ones = 0, found = 0;
	int rc;

	memset(&cfg, 0, sizeof(cfg));
	cfg.capacity = 64;
	cfg.max_eni = 4;
	cfg.timeout[GWLB_FLOW_TCP] = 100000;	/* nothing expires: every make-room is an eviction */
	ck_assert_int_eq(gwlb_flowtab_alloc(&ft, &cfg), 0);

	key_id(&hot, 6, 0xffff, 1);
	val_cookie(&v, 0xffff);
	ck_assert_int_eq(gwlb_flowtab_update(ft, &hot, &v, 10), 0);
	for (i = 0; i < 1000; i++) {
		/* The hot flow is used before every insert: least-recently-seen eviction spares it. */
		ck_assert_int_eq(gwlb_flowtab_lookup(ft, &hot, 10 + i, &out), 0);
		ck_assert_uint_eq(val_cookie_of(&out), 0xffff);
		key_id(&k, 6, i, 1 + (i & 1));
		val_cookie(&v, i);
		rc = gwlb_flowtab_update(ft, &k, &v, 10 + i);
		ck_assert_int_ge(rc, 0);
		ck_assert_int_le(rc, 1);
		ones += rc;
		/* Until the table is full nothing is evicted. */
		ck_assert_int_eq(rc, i >= 63 ? 1 : 0);
		gwlb_flowtab_stats(ft, &st);
		ck_assert_uint_le(st.entries, 64);
	}
	gwlb_flowtab_stats(ft, &st);
	ck_assert_uint_eq(ones, 1001 - 64);
	ck_assert_uint_eq(st.inserts, 1001);
	ck_assert_uint_eq(st.evictions, 1001 - 64);
	ck_assert_uint_eq(st.expired, 0);
	ck_assert_uint_eq(st.entries, 64);
	gwlb_flowtab_eni_stats(ft, 1, &live1, &ev1);
	gwlb_flowtab_eni_stats(ft, 2, &live2, &ev2);
	ck_assert_uint_eq(live1 + live2, 64);
	ck_assert_uint_eq(ev1 + ev2, 1001 - 64);
	ck_assert_uint_gt(ev1, 0);
	ck_assert_uint_gt(ev2, 0);
	gwlb_flowtab_eni_stats(ft, 3, &live1, &ev1);
	ck_assert_uint_eq(live1 + ev1, 0);

	/* Exactly the 64 live entries are found, and the newest are among them. */
	for (i = 0; i < 1000; i++) {
		key_id(&k, 6, i, 1 + (i & 1));
		if (gwlb_flowtab_lookup(ft, &k, 1010, &out) == 0) {
			ck_assert_uint_eq(val_cookie_of(&out), i);
			found++;
		}
	}
	ck_assert_uint_eq(found + 1, 64);
	for (i = 998; i < 1000; i++) {
		key_id(&k, 6, i, 1 + (i & 1));
		ck_assert_int_eq(gwlb_flowtab_lookup(ft, &k, 1010, &out), 0);
	}
	ck_assert_int_eq(gwlb_flowtab_lookup(ft, &hot, 1010, &out), 0);
	gwlb_flowtab_free(ft);
}
END_TEST

START_TEST(test_full_table_reclaims_idle)
{
	struct gwlb_flowtab_stats st;
	struct gwlb_flowtab *ft = table(64, 0);
	struct gwlb_flow_key k;
	struct gwlb_flow_val v, out;
	unsigned i;

	val_cookie(&v, 1);
	for (i = 0; i < 64; i++) {
		key_id(&k, 17, i, 0);
		ck_assert_int_eq(gwlb_flowtab_update(ft, &k, &v, 0), 0);
	}
	/* Every UDP entry is idle past 120 s: room is made by reclaiming, not evicting. */
	key_id(&k, 17, 1000, 0);
	ck_assert_int_eq(gwlb_flowtab_update(ft, &k, &v, 200), 0);
	ck_assert_int_eq(gwlb_flowtab_lookup(ft, &k, 200, &out), 0);
	gwlb_flowtab_stats(ft, &st);
	ck_assert_uint_eq(st.evictions, 0);
	ck_assert_uint_ge(st.expired, 1);
	ck_assert_uint_eq(st.entries + st.expired, 65);
	gwlb_flowtab_free(ft);
}
END_TEST

START_TEST(test_expire_budget)
{
	struct gwlb_flowtab *ft = table(1024, 0);
	struct gwlb_flowtab_stats st;
	struct gwlb_flow_key k;
	struct gwlb_flow_val v, out;
	unsigned i, n, total = 0;

	val_cookie(&v, 1);
	for (i = 0; i < 100; i++) {
		key_id(&k, 17, i, 0);
		ck_assert_int_eq(gwlb_flowtab_update(ft, &k, &v, 1000), 0);
	}
	for (i = 100; i < 150; i++) {
		key_id(&k, 17, i, 0);
		ck_assert_int_eq(gwlb_flowtab_update(ft, &k, &v, 1100), 0);
	}
	ck_assert_uint_eq(gwlb_flowtab_expire(ft, 1150, 0), 0);
	/* Nothing is idle yet at 1120. */
	ck_assert_uint_eq(gwlb_flowtab_expire(ft, 1120, 1024), 0);
	/* 64 calls of 16 buckets cover the 1024 buckets exactly once. */
	for (i = 0; i < 64; i++) {
		n = gwlb_flowtab_expire(ft, 1150, 16);
		ck_assert_uint_le(n, 100);
		total += n;
	}
	ck_assert_uint_eq(total, 100);
	ck_assert_uint_eq(gwlb_flowtab_expire(ft, 1150, 1024), 0);
	gwlb_flowtab_stats(ft, &st);
	ck_assert_uint_eq(st.expired, 100);
	ck_assert_uint_eq(st.entries, 50);
	key_id(&k, 17, 5, 0);
	ck_assert_int_eq(gwlb_flowtab_lookup(ft, &k, 1150, &out), -ENOENT);
	key_id(&k, 17, 120, 0);
	ck_assert_int_eq(gwlb_flowtab_lookup(ft, &k, 1150, &out), 0);
	/* Removed entries are reused: 974 more fit without eviction. */
	for (i = 1000; i < 1974; i++) {
		key_id(&k, 17, i, 0);
		ck_assert_int_eq(gwlb_flowtab_update(ft, &k, &v, 1150), 0);
	}
	gwlb_flowtab_stats(ft, &st);
	ck_assert_uint_eq(st.entries, 1024);
	ck_assert_uint_eq(st.evictions, 0);
	gwlb_flowtab_free(ft);
}
END_TEST

START_TEST(test_flush_eni)
{
	struct gwlb_flowtab *ft = table(1024, 8);
	struct gwlb_flowtab_stats st;
	struct gwlb_flow_key k;
	struct gwlb_flow_val v, out;
	uint64_t live, ev;
	unsigned i;

	val_cookie(&v, 1);
	for (i = 0; i < 30; i++) {
		key_id(&k, 6, i, 1);
		ck_assert_int_eq(gwlb_flowtab_update(ft, &k, &v, 1), 0);
	}
	/* ENI 2 shares 10 tuples with ENI 1. */
	for (i = 20; i < 40; i++) {
		key_id(&k, 6, i, 2);
		ck_assert_int_eq(gwlb_flowtab_update(ft, &k, &v, 1), 0);
	}
	ck_assert_uint_eq(gwlb_flowtab_flush_eni(ft, 1), 30);
	ck_assert_uint_eq(gwlb_flowtab_flush_eni(ft, 1), 0);
	gwlb_flowtab_eni_stats(ft, 1, &live, &ev);
	ck_assert_uint_eq(live, 0);
	gwlb_flowtab_eni_stats(ft, 2, &live, &ev);
	ck_assert_uint_eq(live, 20);
	gwlb_flowtab_stats(ft, &st);
	ck_assert_uint_eq(st.entries, 20);
	for (i = 0; i < 40; i++) {
		key_id(&k, 6, i, 1);
		ck_assert_int_eq(gwlb_flowtab_lookup(ft, &k, 1, &out), -ENOENT);
		key_id(&k, 6, i, 2);
		ck_assert_int_eq(gwlb_flowtab_lookup(ft, &k, 1, &out), i >= 20 ? 0 : -ENOENT);
	}
	gwlb_flowtab_free(ft);
}
END_TEST

struct walk_ctx {
	uint8_t seen[1024];
	unsigned n, stop_after;
	uint32_t max_idle;
	int bad;
};

static int walk_count(const struct gwlb_flow_entry *e, void *arg)
{
	struct walk_ctx *c = arg;
	unsigned id = (unsigned)e->key.addr[0][2] << 8 | e->key.addr[0][3];

	if (id >= 1024 || e->key.eni_idx != 3 || val_cookie_of(&e->val) != id + 7)
		c->bad++;
	else
		c->seen[id]++;
	if (e->idle > c->max_idle)
		c->max_idle = e->idle;
	return ++c->n == c->stop_after;
}

/* Every live entry exactly once, with its header; idle ones left out; fn can stop it. */
START_TEST(test_walk)
{
	struct gwlb_flowtab *ft = table(1024, 8);
	struct walk_ctx *c = calloc(1, sizeof(*c));
	struct gwlb_flow_key k;
	struct gwlb_flow_val v;
	unsigned i;

	for (i = 0; i < 1000; i++) {
		key_id(&k, i < 900 ? 6 : 17, i, 3);
		val_cookie(&v, i + 7);
		ck_assert_int_ge(gwlb_flowtab_update(ft, &k, &v, 100), 0);
	}
	ck_assert_uint_eq(gwlb_flowtab_walk(ft, 110, walk_count, c), 1000);
	ck_assert_int_eq(c->bad, 0);
	for (i = 0; i < 1000; i++)
		ck_assert_uint_eq(c->seen[i], 1);
	ck_assert_uint_eq(c->max_idle, 10);

	/* 300 s later the UDP flows (120 s) are idle past their timeout, TCP (350 s) is not. */
	memset(c, 0, sizeof(*c));
	ck_assert_uint_eq(gwlb_flowtab_walk(ft, 400, walk_count, c), 900);
	for (i = 900; i < 1000; i++)
		ck_assert_uint_eq(c->seen[i], 0);

	memset(c, 0, sizeof(*c));
	c->stop_after = 5;
	ck_assert_uint_eq(gwlb_flowtab_walk(ft, 110, walk_count, c), 5);
	free(c);
	gwlb_flowtab_free(ft);
}
END_TEST

START_TEST(test_memory_budget)
{
	struct gwlb_flowtab_cfg cfg;
	struct gwlb_flowtab_stats st;
	struct gwlb_flowtab *ft;

	ck_assert_uint_le(gwlb_flowtab_entry_size(), 112);
	ck_assert_uint_ge(gwlb_flowtab_entry_size(), sizeof(struct gwlb_flow_key) + GWLB_FLOW_HDR_MAX);

	/* capacity 0: the default million flows */
	memset(&cfg, 0, sizeof(cfg));
	ck_assert_int_eq(gwlb_flowtab_alloc(&ft, &cfg), 0);
	gwlb_flowtab_stats(ft, &st);
	ck_assert_uint_eq(st.capacity, 1u << 20);
	ck_assert_uint_eq(st.entries, 0);
	ck_assert_uint_ge(st.bytes, st.capacity * (gwlb_flowtab_entry_size() + 4));
	ck_assert_uint_le(st.bytes, st.capacity * 128);
	gwlb_flowtab_free(ft);

	cfg.capacity = 1000;
	ck_assert_int_eq(gwlb_flowtab_alloc(&ft, &cfg), 0);
	gwlb_flowtab_stats(ft, &st);
	ck_assert_uint_eq(st.capacity, 1024);
	gwlb_flowtab_free(ft);

	cfg.capacity = 0x80000001u;
	ck_assert_int_eq(gwlb_flowtab_alloc(&ft, &cfg), -EINVAL);
	ck_assert_ptr_null(ft);
	cfg.capacity = 16;
	cfg.max_eni = 70000;
	ck_assert_int_eq(gwlb_flowtab_alloc(&ft, &cfg), -EINVAL);
	gwlb_flowtab_free(NULL);
}
END_TEST

/*
 * Threads: values encode their key and carry a checksum over key and value, so a reader
 * that ever returns a half-written or recycled entry is caught.
 */
#define MT_KEYS		4096u
#define MT_CAP		1024u

struct mt_ctx {
	struct gwlb_flowtab *ft;
	uint32_t seed;
	uint32_t stop;
	uint64_t ops, hits, bad;
};

static uint32_t fnv(uint32_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n--) {
		h ^= *b++;
		h *= 16777619u;
	}
	return h;
}

static uint32_t xorshift(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static uint32_t mt_sum(const struct gwlb_flow_key *k, const struct gwlb_flow_val *v)
{
	uint32_t h = fnv(2166136261u, k, sizeof(*k));

	h = fnv(h, &v->outer_local, 4);
	h = fnv(h, &v->outer_remote, 4);
	h = fnv(h, &v->outer_sport, 2);
	h = fnv(h, &v->hdr_len, 1);
	return fnv(h, v->hdr, v->hdr_len - 4u);
}

static void mt_key(struct gwlb_flow_key *k, uint32_t id)
{
	key_id(k, (id & 4) ? 17 : 6, id, (uint16_t)(id % 3));
}

static void mt_val(struct gwlb_flow_val *v, const struct gwlb_flow_key *k, uint32_t id, uint32_t gen)
{
	uint32_t sum;
	unsigned i;

	memset(v, 0, sizeof(*v));
	v->outer_local = id;
	v->outer_remote = gen;
	v->outer_sport = (uint16_t)(gen * 7);
	v->hdr_len = (uint8_t)(40 + 4 * (gen % 4));
	for (i = 0; i < v->hdr_len; i++)
		v->hdr[i] = (uint8_t)(id * 31 + gen * 17 + i);
	sum = mt_sum(k, v);
	memcpy(v->hdr + v->hdr_len - 4, &sum, 4);
}

static uint32_t mt_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint32_t)ts.tv_sec;
}

static void *mt_writer(void *arg)
{
	struct mt_ctx *c = arg;
	struct gwlb_flow_key k;
	struct gwlb_flow_val v;
	uint32_t gen = c->seed;

	while (!__atomic_load_n(&c->stop, __ATOMIC_RELAXED)) {
		uint32_t r = xorshift(&c->seed), id = r % MT_KEYS;

		mt_key(&k, id);
		/* Mostly refreshes of an unchanged value, sometimes a new "cookie". */
		if ((r >> 20) % 4 == 0)
			gen++;
		mt_val(&v, &k, id, (r >> 20) % 4 == 0 ? gen : id);
		if (gwlb_flowtab_update(c->ft, &k, &v, mt_now()) < 0)
			c->bad++;
		if ((c->ops & 1023) == 0)
			gwlb_flowtab_expire(c->ft, mt_now(), 64);
		if ((c->ops & 65535) == 65535)
			gwlb_flowtab_flush_eni(c->ft, (uint16_t)(r % 3));
		__atomic_fetch_add(&c->ops, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void *mt_reader(void *arg)
{
	struct mt_ctx *c = arg;
	struct gwlb_flow_key k;
	struct gwlb_flow_val v;
	uint32_t sum;

	while (!__atomic_load_n(&c->stop, __ATOMIC_RELAXED)) {
		uint32_t id = xorshift(&c->seed) % MT_KEYS;

		mt_key(&k, id);
		__atomic_fetch_add(&c->ops, 1, __ATOMIC_RELAXED);
		if (gwlb_flowtab_lookup(c->ft, &k, mt_now(), &v))
			continue;
		c->hits++;
		if (v.hdr_len < 40 || v.hdr_len > 52 || v.outer_local != id) {
			c->bad++;
			continue;
		}
		memcpy(&sum, v.hdr + v.hdr_len - 4, 4);
		if (sum != mt_sum(&k, &v))
			c->bad++;
	}
	return NULL;
}

START_TEST(test_threads)
{
	struct gwlb_flowtab *ft = table(MT_CAP, 4);
	struct mt_ctx ctx[4];
	struct gwlb_flowtab_stats st;
	struct gwlb_flow_key k;
	struct gwlb_flow_val v;
	pthread_t th[4];
	uint64_t live, ev, sum_live = 0, found = 0;
	unsigned i, waited = 0;

	for (i = 0; i < 4; i++) {
		memset(&ctx[i], 0, sizeof(ctx[i]));
		ctx[i].ft = ft;
		ctx[i].seed = 0x9e3779b9u * (i + 1);
		ck_assert_int_eq(pthread_create(&th[i], NULL, i < 2 ? mt_writer : mt_reader, &ctx[i]), 0);
	}
	/* About a second, longer if a thread has hardly run (valgrind, a loaded host). */
	usleep(1000 * 1000);
	for (i = 0; i < 4 && waited < 200; i++) {
		while (__atomic_load_n(&ctx[i].ops, __ATOMIC_RELAXED) < 1000 && waited++ < 200)
			usleep(100 * 1000);
	}
	for (i = 0; i < 4; i++)
		__atomic_store_n(&ctx[i].stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);

	for (i = 0; i < 4; i++) {
		ck_assert_uint_eq(ctx[i].bad, 0);
		ck_assert_uint_gt(ctx[i].ops, 1000);
	}
	ck_assert_uint_gt(ctx[2].hits + ctx[3].hits, 100);

	/* Afterwards the books balance: every counted entry is reachable, exactly once. */
	gwlb_flowtab_stats(ft, &st);
	ck_assert_uint_le(st.entries, MT_CAP);
	ck_assert_uint_gt(st.evictions, 0);
	for (i = 0; i < 4; i++) {
		gwlb_flowtab_eni_stats(ft, (uint16_t)i, &live, &ev);
		sum_live += live;
	}
	ck_assert_uint_eq(sum_live, st.entries);
	for (i = 0; i < MT_KEYS; i++) {
		mt_key(&k, i);
		found += gwlb_flowtab_lookup(ft, &k, mt_now(), &v) == 0;
	}
	ck_assert_uint_eq(found, st.entries);
	gwlb_flowtab_free(ft);
}
END_TEST

/* Fragment table */

static void frag_parse(const uint8_t *buf, size_t len, uint16_t eni, struct gwlb_pkt_info *pi)
{
	memset(pi, 0, sizeof(*pi));
	ck_assert_int_eq(gwlb_pkt_parse(buf, len, 0, pi), GWLB_PKT_OK);
	ck_assert(pi->flags & GWLB_PKT_FRAG);
	pi->key.eni_idx = eni;
}

static void swap_addrs(struct gwlb_flow_key *k)
{
	uint8_t tmp[16];

	memcpy(tmp, k->addr[0], 16);
	memcpy(k->addr[0], k->addr[1], 16);
	memcpy(k->addr[1], tmp, 16);
}

START_TEST(test_frag_fixtures)
{
	struct gwlb_fragtab *t;
	struct gwlb_pkt_info first, later, l2;
	struct gwlb_flow_key want;

	ck_assert_int_eq(gwlb_fragtab_alloc(&t, 256), 0);

	/* IPv4: 198.19.1.2:5000 -> 198.19.100.2:6000, id 0xbeef */
	frag_parse(fx_ip4_frag_first, sizeof(fx_ip4_frag_first), 4, &first);
	frag_parse(fx_ip4_frag_later, sizeof(fx_ip4_frag_later), 4, &later);
	key4(&want, 17, ip_client, 5000, ip_server, 6000, 4);
	ck_assert_mem_eq(&first.key, &want, sizeof(want));
	ck_assert(later.flags & GWLB_PKT_FRAG_LATER);
	ck_assert_uint_eq(later.key.port[0] | later.key.port[1], 0);
	l2 = later;
	ck_assert_int_eq(gwlb_fragtab_complete(t, &later, 100), -ENOENT);
	gwlb_fragtab_note(t, &first, 100);
	ck_assert_int_eq(gwlb_fragtab_complete(t, &later, 101), 0);
	ck_assert_mem_eq(&later.key, &want, sizeof(want));
	/* Same later fragment with its addresses listed the other way round. */
	swap_addrs(&l2.key);
	ck_assert_int_eq(gwlb_fragtab_complete(t, &l2, 101), 0);
	ck_assert_mem_eq(&l2.key, &want, sizeof(want));

	/* IPv6: [2001:db8:1::2]:5000 -> [2001:db8:100::2]:6000, id 0x12345678 */
	frag_parse(fx_ip6_frag_first, sizeof(fx_ip6_frag_first), 4, &first);
	frag_parse(fx_ip6_frag_later, sizeof(fx_ip6_frag_later), 4, &later);
	ck_assert_uint_eq(first.frag_id, 0x12345678);
	ck_assert_uint_eq(ntohs(first.key.port[0]), 5000);
	ck_assert_uint_eq(ntohs(first.key.port[1]), 6000);
	want = first.key;
	gwlb_fragtab_note(t, &first, 100);
	l2 = later;
	swap_addrs(&l2.key);
	ck_assert_int_eq(gwlb_fragtab_complete(t, &later, 130), 0);
	ck_assert_mem_eq(&later.key, &want, sizeof(want));
	ck_assert_int_eq(gwlb_fragtab_complete(t, &l2, 130), 0);
	ck_assert_mem_eq(&l2.key, &want, sizeof(want));
	/* 30 s lifetime */
	ck_assert_int_eq(gwlb_fragtab_complete(t, &l2, 131), -ENOENT);
	gwlb_fragtab_free(t);
}
END_TEST

/* A first fragment's pi, built by hand from a canonical key. */
static void frag_first(struct gwlb_pkt_info *pi, const struct gwlb_flow_key *k, uint32_t id)
{
	memset(pi, 0, sizeof(*pi));
	pi->key = *k;
	pi->frag_id = id;
	pi->flags = GWLB_PKT_FRAG;
	pi->l4_off = 20;
}

/* The matching later fragment: addresses in the order given, no ports. */
static void frag_later(struct gwlb_pkt_info *pi, const struct gwlb_pkt_info *first, int swap)
{
	*pi = *first;
	pi->key.port[0] = 0;
	pi->key.port[1] = 0;
	pi->flags = GWLB_PKT_FRAG | GWLB_PKT_FRAG_LATER;
	pi->l4_off = 0;
	if (swap)
		swap_addrs(&pi->key);
}

START_TEST(test_frag_orders)
{
	static const uint8_t lo[4] = { 10, 0, 0, 1 }, hi[4] = { 10, 0, 0, 9 };
	static const uint8_t lb[4] = { 127, 0, 0, 1 };
	struct gwlb_fragtab *t;
	struct gwlb_pkt_info f, l;
	struct gwlb_flow_key k;
	int sw;

	ck_assert_int_eq(gwlb_fragtab_alloc(&t, 0), 0);
	/* 10.0.0.9:1000 -> 10.0.0.1:2000: canonically the receiver is endpoint 0. */
	key4(&k, 17, lo, 2000, hi, 1000, 0);
	frag_first(&f, &k, 77);
	gwlb_fragtab_note(t, &f, 5);
	for (sw = 0; sw < 2; sw++) {
		frag_later(&l, &f, sw);
		ck_assert_int_eq(gwlb_fragtab_complete(t, &l, 5), 0);
		ck_assert_mem_eq(l.key.addr[0], lo, 4);
		ck_assert_uint_eq(ntohs(l.key.port[0]), 2000);
		ck_assert_mem_eq(l.key.addr[1], hi, 4);
		ck_assert_uint_eq(ntohs(l.key.port[1]), 1000);
		ck_assert_mem_eq(&l.key, &k, sizeof(k));
	}
	/* Same address both ends: the ports alone order the endpoints (80 < 5000). */
	key4(&k, 6, lb, 80, lb, 5000, 0);
	frag_first(&f, &k, 78);
	gwlb_fragtab_note(t, &f, 5);
	for (sw = 0; sw < 2; sw++) {
		frag_later(&l, &f, sw);
		ck_assert_int_eq(gwlb_fragtab_complete(t, &l, 5), 0);
		ck_assert_uint_eq(ntohs(l.key.port[0]), 80);
		ck_assert_uint_eq(ntohs(l.key.port[1]), 5000);
	}
	gwlb_fragtab_free(t);
}
END_TEST

START_TEST(test_frag_mismatch)
{
	struct gwlb_fragtab *t;
	struct gwlb_pkt_info f, f2, l;
	struct gwlb_flow_key k;

	ck_assert_int_eq(gwlb_fragtab_alloc(&t, 64), 0);
	key4(&k, 17, ip_client, 5000, ip_server, 6000, 1);
	frag_first(&f, &k, 0xbeef);
	gwlb_fragtab_note(t, &f, 10);

	frag_later(&l, &f, 0);
	l.key.eni_idx = 2;
	ck_assert_int_eq(gwlb_fragtab_complete(t, &l, 10), -ENOENT);
	frag_later(&l, &f, 0);
	l.frag_id = 0xbef0;
	ck_assert_int_eq(gwlb_fragtab_complete(t, &l, 10), -ENOENT);
	frag_later(&l, &f, 0);
	l.key.proto = 6;
	ck_assert_int_eq(gwlb_fragtab_complete(t, &l, 10), -ENOENT);
	frag_later(&l, &f, 0);
	l.key.addr[1][3] ^= 1;
	ck_assert_int_eq(gwlb_fragtab_complete(t, &l, 10), -ENOENT);
	frag_later(&l, &f, 0);
	ck_assert_int_eq(gwlb_fragtab_complete(t, &l, 40), 0);
	ck_assert_int_eq(gwlb_fragtab_complete(t, &l, 41), -ENOENT);

	/* ENI 2's own first fragment with the same tuple and id is a separate entry. */
	f2 = f;
	f2.key.eni_idx = 2;
	f2.key.port[0] = htons(5555);
	gwlb_fragtab_note(t, &f2, 50);
	frag_later(&l, &f2, 1);
	ck_assert_int_eq(gwlb_fragtab_complete(t, &l, 50), 0);
	ck_assert_uint_eq(ntohs(l.key.port[0]), 5555);
	ck_assert_uint_eq(l.key.eni_idx, 2);

	/* Only first fragments are noted. */
	frag_later(&l, &f, 0);
	l.frag_id = 99;
	l.key.port[0] = htons(1);
	gwlb_fragtab_note(t, &l, 60);
	l.key.port[0] = 0;
	ck_assert_int_eq(gwlb_fragtab_complete(t, &l, 60), -ENOENT);
	f2 = f;
	f2.frag_id = 100;
	f2.flags = 0;
	gwlb_fragtab_note(t, &f2, 60);
	frag_later(&l, &f2, 0);
	ck_assert_int_eq(gwlb_fragtab_complete(t, &l, 60), -ENOENT);
	gwlb_fragtab_free(t);
}
END_TEST

START_TEST(test_frag_collision)
{
	struct gwlb_fragtab *t;
	struct gwlb_pkt_info a, b, l;
	struct gwlb_flow_key k;

	/* One slot: every datagram collides, the newest wins. */
	ck_assert_int_eq(gwlb_fragtab_alloc(&t, 1), 0);
	key4(&k, 17, ip_client, 5000, ip_server, 6000, 0);
	frag_first(&a, &k, 1);
	key4(&k, 17, ip_client, 7000, ip_server, 8000, 0);
	frag_first(&b, &k, 2);
	gwlb_fragtab_note(t, &a, 1);
	gwlb_fragtab_note(t, &b, 1);
	frag_later(&l, &a, 0);
	ck_assert_int_eq(gwlb_fragtab_complete(t, &l, 1), -ENOENT);
	frag_later(&l, &b, 0);
	ck_assert_int_eq(gwlb_fragtab_complete(t, &l, 1), 0);
	ck_assert_uint_eq(ntohs(l.key.port[0]), 7000);
	ck_assert_uint_eq(ntohs(l.key.port[1]), 8000);
	gwlb_fragtab_free(t);
}
END_TEST

static Suite *flowtab_suite(void)
{
	Suite *s = suite_create("flowtab");
	TCase *tc = tcase_create("core");
	TCase *mt = tcase_create("threads");
	TCase *fr = tcase_create("fragtab");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_reverse_direction);
	tcase_add_test(tc, test_eni_separates);
	tcase_add_test(tc, test_cookie_change);
	tcase_add_test(tc, test_hdr_too_long);
	tcase_add_test(tc, test_class_of);
	tcase_add_test(tc, test_default_timeouts);
	tcase_add_test(tc, test_custom_timeouts);
	tcase_add_test(tc, test_refresh_keeps_alive);
	tcase_add_test(tc, test_full_table_evicts);
	tcase_add_test(tc, test_full_table_reclaims_idle);
	tcase_add_test(tc, test_expire_budget);
	tcase_add_test(tc, test_flush_eni);
	tcase_add_test(tc, test_memory_budget);
	tcase_add_test(tc, test_walk);
	suite_add_tcase(s, tc);

	tcase_set_timeout(mt, 60);
	tcase_add_test(mt, test_threads);
	suite_add_tcase(s, mt);

	tcase_add_test(fr, test_frag_fixtures);
	tcase_add_test(fr, test_frag_orders);
	tcase_add_test(fr, test_frag_mismatch);
	tcase_add_test(fr, test_frag_collision);
	suite_add_tcase(s, fr);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(flowtab_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
