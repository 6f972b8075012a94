/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The Maglev table against the paper's properties and issue 5's numbers, at M = 65537:
 * - share: for every backend, |slots / M - weight / sum of weights| <= 0.01 (an absolute
 *   difference of fractions of the table), and also the build's own, tighter bound
 *   |slots - M w / S| < 1 + n w / S slots;
 * - disruption: removing one of N backends changes at most that backend's own slots plus
 *   1 % of M (655 slots); adding one, at most its new slots plus 1 % of M;
 * - determinism: the same table in any input order, every run, on every host (golden
 *   hashes of fixed tables pinned below).
 */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "maglev.h"
#include "siphash.h"

#define M		GWLB_MAGLEV_SIZE
#define NMAX		128
#define ONE_PCT		(M / 100)	/* 655 slots: 1 % of the table, rounded down */

static uint32_t tab_a[M], tab_b[M];
static char names[NMAX][32];

/* n backends "be-0".."be-(n-1)", weight w[i] (all 1 if w is NULL). */
static void backends(struct gwlb_maglev_backend *be, size_t n, const uint32_t *w)
{
	size_t i;

	ck_assert_uint_le(n, NMAX);
	for (i = 0; i < n; i++) {
		snprintf(names[i], sizeof(names[i]), "be-%zu", i);
		be[i].name = names[i];
		be[i].weight = w ? w[i] : 1;
	}
}

/* Slots per backend; every slot must hold a valid index. */
static void count(const uint32_t *t, size_t n, size_t *cnt)
{
	uint32_t i;

	memset(cnt, 0, n * sizeof(*cnt));
	for (i = 0; i < M; i++) {
		ck_assert_uint_lt(t[i], n);
		cnt[t[i]]++;
	}
}

static void assert_shares(const struct gwlb_maglev_backend *be, size_t n, const uint32_t *t)
{
	size_t cnt[NMAX], i;
	double sum = 0;

	count(t, n, cnt);
	for (i = 0; i < n; i++)
		sum += be[i].weight;
	for (i = 0; i < n; i++) {
		double want = be[i].weight / sum;
		double got = (double)cnt[i] / M;

		ck_assert_msg(fabs(got - want) <= 0.01,
			      "%s (weight %u): %zu slots = %.5f of the table, wants %.5f +- 0.01",
			      be[i].name, be[i].weight, cnt[i], got, want);
		ck_assert_msg(fabs(cnt[i] - M * want) < 1 + n * want,
			      "%s (weight %u): %zu slots, wants %.1f +- %.2f", be[i].name,
			      be[i].weight, cnt[i], M * want, 1 + n * want);
		if (!be[i].weight)
			ck_assert_uint_eq(cnt[i], 0);
	}
}

/* A fixed-seed xorshift: shuffles are the same every run, so a failure can be replayed. */
static uint32_t rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void shuffle(struct gwlb_maglev_backend *be, size_t n, uint32_t *seed)
{
	size_t i;

	for (i = n - 1; i > 0; i--) {
		size_t j = rnd(seed) % (i + 1);
		struct gwlb_maglev_backend tmp = be[i];

		be[i] = be[j];
		be[j] = tmp;
	}
}

/* The table as little-endian bytes, hashed: a value that is the same on every host. */
static uint64_t table_hash(const uint32_t *t)
{
	static const uint8_t key[GWLB_SIPHASH_KEY_LEN];
	static uint8_t buf[M * 4];
	uint32_t i;

	for (i = 0; i < M; i++) {
		buf[4 * i] = (uint8_t)t[i];
		buf[4 * i + 1] = (uint8_t)(t[i] >> 8);
		buf[4 * i + 2] = (uint8_t)(t[i] >> 16);
		buf[4 * i + 3] = (uint8_t)(t[i] >> 24);
	}
	return gwlb_siphash(key, buf, sizeof(buf));
}

START_TEST(test_is_prime)
{
	static const uint32_t yes[] = { 2, 3, 5, 7, 11, 13, 65521, 65537, 1048573, 1048583,
					4294967291u };
	static const uint32_t no[] = { 0, 1, 4, 9, 15, 25, 65535, 65536, 65541, 1048575,
				       4294967295u, 65537u * 65521u };
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		ck_assert_msg(gwlb_maglev_is_prime(yes[i]), "%u is prime", yes[i]);
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		ck_assert_msg(!gwlb_maglev_is_prime(no[i]), "%u is not prime", no[i]);
}
END_TEST

/*
 * SipHash-2-4 reference vectors (veorq/SipHash vectors.h): key 00..0f, message 00..len-1,
 * output as little-endian bytes. Lengths 0..15 cover every tail length and a whole block.
 */
static const uint8_t sip_vectors[16][8] = {
	{ 0x31, 0x0e, 0x0e, 0xdd, 0x47, 0xdb, 0x6f, 0x72 },
	{ 0xfd, 0x67, 0xdc, 0x93, 0xc5, 0x39, 0xf8, 0x74 },
	{ 0x5a, 0x4f, 0xa9, 0xd9, 0x09, 0x80, 0x6c, 0x0d },
	{ 0x2d, 0x7e, 0xfb, 0xd7, 0x96, 0x66, 0x67, 0x85 },
	{ 0xb7, 0x87, 0x71, 0x27, 0xe0, 0x94, 0x27, 0xcf },
	{ 0x8d, 0xa6, 0x99, 0xcd, 0x64, 0x55, 0x76, 0x18 },
	{ 0xce, 0xe3, 0xfe, 0x58, 0x6e, 0x46, 0xc9, 0xcb },
	{ 0x37, 0xd1, 0x01, 0x8b, 0xf5, 0x00, 0x02, 0xab },
	{ 0x62, 0x24, 0x93, 0x9a, 0x79, 0xf5, 0xf5, 0x93 },
	{ 0xb0, 0xe4, 0xa9, 0x0b, 0xdf, 0x82, 0x00, 0x9e },
	{ 0xf3, 0xb9, 0xdd, 0x94, 0xc5, 0xbb, 0x5d, 0x7a },
	{ 0xa7, 0xad, 0x6b, 0x22, 0x46, 0x2f, 0xb3, 0xf4 },
	{ 0xfb, 0xe5, 0x0e, 0x86, 0xbc, 0x8f, 0x1e, 0x75 },
	{ 0x90, 0x3d, 0x84, 0xc0, 0x27, 0x56, 0xea, 0x14 },
	{ 0xee, 0xf2, 0x7a, 0x8e, 0x90, 0xca, 0x23, 0xf7 },
	{ 0xe5, 0x45, 0xbe, 0x49, 0x61, 0xca, 0x29, 0xa1 },
};

START_TEST(test_siphash_vectors)
{
	uint8_t key[GWLB_SIPHASH_KEY_LEN], msg[16];
	unsigned i, b;

	for (i = 0; i < 16; i++)
		key[i] = msg[i] = (uint8_t)i;
	for (i = 0; i < 16; i++) {
		uint64_t h = gwlb_siphash(key, msg, i);

		for (b = 0; b < 8; b++)
			ck_assert_msg((uint8_t)(h >> (8 * b)) == sip_vectors[i][b],
				      "length %u: byte %u is %02x, wants %02x", i, b,
				      (uint8_t)(h >> (8 * b)), sip_vectors[i][b]);
	}
}
END_TEST

static const size_t equal_n[] = { 3, 10, 100 };

START_TEST(test_share_equal)
{
	struct gwlb_maglev_backend be[NMAX];
	size_t n = equal_n[_i];

	backends(be, n, NULL);
	ck_assert_int_eq(gwlb_maglev_build(be, n, M, tab_a), 0);
	assert_shares(be, n, tab_a);
}
END_TEST

static const uint32_t w_1234[] = { 1, 2, 3, 4 };
static const uint32_t w_1to10[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
static const uint32_t w_skew[] = { 1, 1000, 3, 50, 1000, 7 };
static const uint32_t w_zero[] = { 5, 0, 5, 0, 10 };
static const struct {
	const uint32_t *w;
	size_t n;
} weighted[] = {
	{ w_1234, 4 },
	{ w_1to10, 10 },
	{ w_skew, 6 },
	{ w_zero, 5 },
};

START_TEST(test_share_weighted)
{
	struct gwlb_maglev_backend be[NMAX];
	size_t n = weighted[_i].n;

	backends(be, n, weighted[_i].w);
	ck_assert_int_eq(gwlb_maglev_build(be, n, M, tab_a), 0);
	assert_shares(be, n, tab_a);
}
END_TEST

/* 100 backends, weights 1..10 repeating. */
START_TEST(test_share_weighted_100)
{
	struct gwlb_maglev_backend be[NMAX];
	uint32_t w[100];
	size_t i;

	for (i = 0; i < 100; i++)
		w[i] = 1 + i % 10;
	backends(be, 100, w);
	ck_assert_int_eq(gwlb_maglev_build(be, 100, M, tab_a), 0);
	assert_shares(be, 100, tab_a);
}
END_TEST

/* A backend of weight 0 is the same as no backend: gwlbd can keep a down one in its array. */
START_TEST(test_weight_zero_absent)
{
	struct gwlb_maglev_backend be[NMAX], rest[NMAX];
	size_t i, k = 0;

	backends(be, 10, w_1to10);
	be[3].weight = 0;
	be[7].weight = 0;
	for (i = 0; i < 10; i++)
		if (be[i].weight)
			rest[k++] = be[i];
	ck_assert_int_eq(gwlb_maglev_build(be, 10, M, tab_a), 0);
	ck_assert_int_eq(gwlb_maglev_build(rest, k, M, tab_b), 0);
	ck_assert_uint_eq(gwlb_maglev_diff(be, 10, tab_a, rest, k, tab_b, M), 0);
	for (i = 0; i < M; i++)
		ck_assert(tab_a[i] != 3 && tab_a[i] != 7);
}
END_TEST

START_TEST(test_weight_scale)
{
	struct gwlb_maglev_backend be[NMAX];
	size_t i;

	backends(be, 10, w_1to10);
	ck_assert_int_eq(gwlb_maglev_build(be, 10, M, tab_a), 0);
	for (i = 0; i < 10; i++)
		be[i].weight *= 7;
	ck_assert_int_eq(gwlb_maglev_build(be, 10, M, tab_b), 0);
	ck_assert_mem_eq(tab_a, tab_b, sizeof(tab_a));
}
END_TEST

/* Slots of index idx in t. */
static size_t slots_of(const uint32_t *t, uint32_t idx)
{
	size_t c = 0;
	uint32_t i;

	for (i = 0; i < M; i++)
		c += t[i] == idx;
	return c;
}

/* Remove each backend in turn from the n given: the others keep all but 1 % of their slots. */
static void assert_remove_each(const struct gwlb_maglev_backend *be, size_t n)
{
	struct gwlb_maglev_backend rest[NMAX];
	size_t r, i, k;

	ck_assert_int_eq(gwlb_maglev_build(be, n, M, tab_a), 0);
	for (r = 0; r < n; r++) {
		size_t own = slots_of(tab_a, (uint32_t)r), moved;

		for (i = k = 0; i < n; i++)
			if (i != r)
				rest[k++] = be[i];
		ck_assert_int_eq(gwlb_maglev_build(rest, k, M, tab_b), 0);
		moved = gwlb_maglev_diff(be, n, tab_a, rest, k, tab_b, M);
		ck_assert_uint_ge(moved, own);
		ck_assert_msg(moved <= own + ONE_PCT,
			      "removing %s of %zu moves %zu slots: its own %zu + %zu > 1 %% (%d)",
			      be[r].name, n, moved, own, moved - own, ONE_PCT);
	}
}

static const size_t change_n[] = { 10, 100 };

START_TEST(test_remove_one)
{
	struct gwlb_maglev_backend be[NMAX];

	backends(be, change_n[_i], NULL);
	assert_remove_each(be, change_n[_i]);
}
END_TEST

START_TEST(test_remove_one_weighted)
{
	struct gwlb_maglev_backend be[NMAX];

	backends(be, 10, w_1to10);
	assert_remove_each(be, 10);
}
END_TEST

START_TEST(test_add_one)
{
	struct gwlb_maglev_backend be[NMAX];
	size_t n = change_n[_i], added, moved;

	backends(be, n + 1, NULL);
	ck_assert_int_eq(gwlb_maglev_build(be, n, M, tab_a), 0);
	ck_assert_int_eq(gwlb_maglev_build(be, n + 1, M, tab_b), 0);
	added = slots_of(tab_b, (uint32_t)n);
	moved = gwlb_maglev_diff(be, n, tab_a, be, n + 1, tab_b, M);
	ck_assert_uint_ge(moved, added);
	ck_assert_msg(moved <= added + ONE_PCT,
		      "adding one to %zu moves %zu slots: its new %zu + %zu > 1 %% (%d)", n, moved,
		      added, moved - added, ONE_PCT);
}
END_TEST

/* Any order of the same backends gives the same backend in every slot, by name. */
START_TEST(test_order_independent)
{
	struct gwlb_maglev_backend be[NMAX], sh[NMAX];
	uint32_t w[100], seed = 0x2545f491;
	size_t i, round;

	for (i = 0; i < 100; i++)
		w[i] = 1 + i % 10;
	backends(be, 100, w);
	ck_assert_int_eq(gwlb_maglev_build(be, 100, M, tab_a), 0);
	memcpy(sh, be, sizeof(sh));
	for (round = 0; round < 20; round++) {
		shuffle(sh, 100, &seed);
		ck_assert_int_eq(gwlb_maglev_build(sh, 100, M, tab_b), 0);
		ck_assert_uint_eq(gwlb_maglev_diff(be, 100, tab_a, sh, 100, tab_b, M), 0);
	}
	/* reversed, and the indexes really are into the array as given */
	for (i = 0; i < 100; i++)
		sh[i] = be[99 - i];
	ck_assert_int_eq(gwlb_maglev_build(sh, 100, M, tab_b), 0);
	for (i = 0; i < M; i++)
		ck_assert_uint_eq(tab_b[i], 99 - tab_a[i]);
}
END_TEST

START_TEST(test_repeatable)
{
	struct gwlb_maglev_backend be[NMAX];

	backends(be, 100, NULL);
	ck_assert_int_eq(gwlb_maglev_build(be, 100, M, tab_a), 0);
	ck_assert_int_eq(gwlb_maglev_build(be, 100, M, tab_b), 0);
	ck_assert_mem_eq(tab_a, tab_b, sizeof(tab_a));
}
END_TEST

/*
 * Golden tables: a change of the hash, its keys, the fill or the weighted scheme, or a host
 * that reads bytes differently, changes these values and must be a deliberate decision:
 * another gwlbd version would otherwise send the same flows to other backends. The values
 * were checked against an independent model of the spec in maglev.h (Python, not shipped).
 */
static const struct {
	const uint32_t *w;
	size_t n;
	uint32_t head[8];	/* table[0..7], to see at a glance what moved */
	uint64_t hash;		/* table_hash() */
} golden[] = {
	{ NULL, 3, { 0, 0, 0, 1, 2, 0, 0, 2 }, 0x3931b9d17775d167ULL },
	{ w_1to10, 10, { 3, 4, 8, 9, 5, 4, 8, 9 }, 0x6ecce3dd1a1b404bULL },
};

START_TEST(test_golden)
{
	struct gwlb_maglev_backend be[NMAX];
	size_t n = golden[_i].n, i;
	uint64_t h;

	backends(be, n, golden[_i].w);
	ck_assert_int_eq(gwlb_maglev_build(be, n, M, tab_a), 0);
	h = table_hash(tab_a);
	for (i = 0; i < 8; i++)
		ck_assert_msg(tab_a[i] == golden[_i].head[i], "table[%zu] = %u, wants %u", i,
			      tab_a[i], golden[_i].head[i]);
	ck_assert_msg(h == golden[_i].hash, "table hash 0x%016llx, wants 0x%016llx",
		      (unsigned long long)h, (unsigned long long)golden[_i].hash);
}
END_TEST

START_TEST(test_errors)
{
	static const uint32_t bad_m[] = { 0, 1, 4, 65535, 65536, 1048583, 4294967291u };
	struct gwlb_maglev_backend be[NMAX];
	size_t i;

	backends(be, 4, NULL);
	for (i = 0; i < sizeof(bad_m) / sizeof(bad_m[0]); i++)
		ck_assert_int_eq(gwlb_maglev_build(be, 4, bad_m[i], tab_a), -EINVAL);
	ck_assert_int_eq(gwlb_maglev_build(be, 4, M, NULL), -EINVAL);
	ck_assert_int_eq(gwlb_maglev_build(NULL, 4, M, tab_a), -EINVAL);
	ck_assert_int_eq(gwlb_maglev_build(NULL, 0, M, tab_a), -ENOENT);
	ck_assert_int_eq(gwlb_maglev_build(be, 0, M, tab_a), -ENOENT);

	be[2].name = NULL;
	ck_assert_int_eq(gwlb_maglev_build(be, 4, M, tab_a), -EINVAL);
	be[2].name = "";
	ck_assert_int_eq(gwlb_maglev_build(be, 4, M, tab_a), -EINVAL);
	/* duplicates, not next to each other in the input, one of them of weight 0 */
	be[2].name = be[0].name;
	ck_assert_int_eq(gwlb_maglev_build(be, 4, M, tab_a), -EINVAL);
	be[2].weight = 0;
	ck_assert_int_eq(gwlb_maglev_build(be, 4, M, tab_a), -EINVAL);

	backends(be, 4, NULL);
	for (i = 0; i < 4; i++)
		be[i].weight = 0;
	ck_assert_int_eq(gwlb_maglev_build(be, 4, M, tab_a), -ENOENT);
	be[1].weight = 1;
	ck_assert_int_eq(gwlb_maglev_build(be, 4, M, tab_a), 0);
	ck_assert_uint_eq(slots_of(tab_a, 1), M);
}
END_TEST

/* Small and large prime sizes, more backends than slots: every slot filled and valid. */
START_TEST(test_sizes)
{
	static const uint32_t sizes[] = { 2, 3, 7, 251, 1048573 };
	struct gwlb_maglev_backend be[NMAX];
	uint32_t *t, i;
	size_t s, cnt[NMAX];

	backends(be, 10, w_1to10);
	for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		t = malloc(sizes[s] * sizeof(*t));
		ck_assert_ptr_nonnull(t);
		ck_assert_int_eq(gwlb_maglev_build(be, 10, sizes[s], t), 0);
		memset(cnt, 0, sizeof(cnt));
		for (i = 0; i < sizes[s]; i++) {
			ck_assert_uint_lt(t[i], 10);
			cnt[t[i]]++;
		}
		/* the largest weight takes a turn every round: it is never left out */
		ck_assert_uint_ge(cnt[9], 1);
		free(t);
	}
}
END_TEST

START_TEST(test_diff)
{
	struct gwlb_maglev_backend be[NMAX], other[NMAX];

	backends(be, 5, NULL);
	ck_assert_int_eq(gwlb_maglev_build(be, 5, M, tab_a), 0);
	ck_assert_uint_eq(gwlb_maglev_diff(be, 5, tab_a, be, 5, tab_a, M), 0);
	/* same names elsewhere in memory: compared by name, not pointer */
	memcpy(other, be, sizeof(other));
	other[0].name = strdup(be[0].name);
	ck_assert_uint_eq(gwlb_maglev_diff(be, 5, tab_a, other, 5, tab_a, M), 0);
	other[1].name = "renamed";
	ck_assert_uint_eq(gwlb_maglev_diff(be, 5, tab_a, other, 5, tab_a, M), slots_of(tab_a, 1));
	free((char *)other[0].name);
	/* index out of range for the shorter array */
	ck_assert_uint_eq(gwlb_maglev_diff(be, 5, tab_a, be, 4, tab_a, M), slots_of(tab_a, 4));
	ck_assert_uint_eq(gwlb_maglev_diff(NULL, 5, tab_a, be, 5, tab_a, M), M);
}
END_TEST

START_TEST(test_mem)
{
	/* the table and O(n) scratch, nothing in proportion to n x M */
	size_t per = gwlb_maglev_mem(1, M) - gwlb_maglev_mem(0, M);

	ck_assert_uint_eq(gwlb_maglev_mem(0, M), (size_t)M * 4);
	ck_assert_uint_le(per, 64);
	ck_assert_uint_eq(gwlb_maglev_mem(1000, M), (size_t)M * 4 + 1000 * per);
}
END_TEST

static Suite *maglev_suite(void)
{
	Suite *s = suite_create("maglev");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_is_prime);
	tcase_add_test(tc, test_siphash_vectors);
	tcase_add_loop_test(tc, test_share_equal, 0, (int)(sizeof(equal_n) / sizeof(equal_n[0])));
	tcase_add_loop_test(tc, test_share_weighted, 0,
			    (int)(sizeof(weighted) / sizeof(weighted[0])));
	tcase_add_test(tc, test_share_weighted_100);
	tcase_add_test(tc, test_weight_zero_absent);
	tcase_add_test(tc, test_weight_scale);
	tcase_add_loop_test(tc, test_remove_one, 0, (int)(sizeof(change_n) / sizeof(change_n[0])));
	tcase_add_test(tc, test_remove_one_weighted);
	tcase_add_loop_test(tc, test_add_one, 0, (int)(sizeof(change_n) / sizeof(change_n[0])));
	tcase_add_test(tc, test_order_independent);
	tcase_add_test(tc, test_repeatable);
	tcase_add_loop_test(tc, test_golden, 0, (int)(sizeof(golden) / sizeof(golden[0])));
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_sizes);
	tcase_add_test(tc, test_diff);
	tcase_add_test(tc, test_mem);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(maglev_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
