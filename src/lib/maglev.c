/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Maglev table population (the paper's Pseudocode 1) with weights.
 *
 * Weights: every round, each backend in name order adds its weight to a credit and takes a
 * turn (places one entry at its next free preferred slot) when the credit reaches the
 * largest weight wmax, which it then subtracts (Katran's second weighted scheme). After r
 * rounds a backend of weight w has had floor(r w / wmax) turns, and the fill stops within a
 * round, so its count is off m w / S (S the sum of the weights) by less than 1 + n w / S,
 * whatever the permutations look like. The backend of largest weight turns every round, so
 * with equal weights this is the paper's plain round robin, and scaling all weights changes
 * nothing. Turns decide how many slots a backend gets; its permutation decides which, and
 * that is what keeps a change's disruption small.
 *
 * Rejected: giving a backend w turns in a row per round makes rounds of S turns, and the
 * round the table fills in gives its remaining slots to the backends first in name order (at
 * weights 10000/10000 and m = 65537 the first gets 35537 slots, not 32768.5: 4.2 % of the
 * table too many); one permutation per unit of weight (virtual nodes) costs state and probes
 * in proportion to S.
 *
 * The free marker lives in the table itself, so the state beyond the table is O(n).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "maglev.h"
#include "siphash.h"

#define SLOT_FREE	UINT32_MAX

/* GWLB_SIPHASH_KEY_LEN bytes each; the NUL is not part of the key */
static const uint8_t key_offset[] = "gwlbnf maglev h1";
static const uint8_t key_skip[] = "gwlbnf maglev h2";

struct perm {
	const char *name;
	uint64_t credit;
	uint32_t idx;		/* into be[] as the caller gave it */
	uint32_t weight;
	uint32_t pos;		/* the next slot of the permutation to try */
	uint32_t skip;
};

bool gwlb_maglev_is_prime(uint32_t m)
{
	uint32_t d;

	if (m < 2)
		return false;
	if (m < 4)
		return true;
	if (!(m & 1))
		return false;
	for (d = 3; d <= m / d; d += 2)
		if (!(m % d))
			return false;
	return true;
}

size_t gwlb_maglev_mem(size_t n, uint32_t m)
{
	return (size_t)m * sizeof(uint32_t) + n * sizeof(struct perm);
}

static uint64_t name_hash(const uint8_t *key, const char *name)
{
	return gwlb_siphash(key, name, strlen(name));
}

static int perm_cmp(const void *a, const void *b)
{
	const struct perm *pa = a, *pb = b;

	return strcmp(pa->name, pb->name);
}

/*
 * The backends of weight > 0 in name order, with their permutations: the order of turns in
 * a round, which is what makes the table independent of the order the caller used.
 * Returns their count, or -errno.
 */
static ssize_t perm_init(struct perm *p, const struct gwlb_maglev_backend *be, size_t n,
			 uint32_t m)
{
	size_t i, k;

	for (i = 0; i < n; i++) {
		if (!be[i].name || !be[i].name[0])
			return -EINVAL;
		p[i] = (struct perm){
			.name = be[i].name,
			.idx = (uint32_t)i,
			.weight = be[i].weight,
		};
	}
	qsort(p, n, sizeof(*p), perm_cmp);
	for (i = 1; i < n; i++)
		if (!strcmp(p[i - 1].name, p[i].name))
			return -EINVAL;
	for (i = k = 0; i < n; i++) {
		if (!p[i].weight)
			continue;
		p[k] = p[i];
		p[k].pos = (uint32_t)(name_hash(key_offset, p[k].name) % m);
		/* m == 2: skip 1, which still visits both slots */
		p[k].skip = (uint32_t)(name_hash(key_skip, p[k].name) % (m - 1)) + 1;
		k++;
	}
	return k ? (ssize_t)k : -ENOENT;
}

static void table_fill(struct perm *p, size_t k, uint32_t m, uint32_t *table)
{
	uint32_t wmax = 0, filled = 0;
	size_t i;

	for (i = 0; i < k; i++)
		if (p[i].weight > wmax)
			wmax = p[i].weight;
	for (i = 0; i < m; i++)
		table[i] = SLOT_FREE;
	for (;;) {
		for (i = 0; i < k; i++) {
			struct perm *b = &p[i];

			b->credit += b->weight;
			if (b->credit < wmax)
				continue;
			b->credit -= wmax;
			/* m prime and 0 < skip < m: the walk reaches every slot, a free one too */
			while (table[b->pos] != SLOT_FREE) {
				b->pos += b->skip;
				if (b->pos >= m)
					b->pos -= m;
			}
			table[b->pos] = b->idx;
			if (++filled == m)
				return;
		}
	}
}

int gwlb_maglev_build(const struct gwlb_maglev_backend *be, size_t n, uint32_t m, uint32_t *table)
{
	struct perm *p = NULL;
	ssize_t k;
	int ret;

	if (!table || (n && !be) || m > GWLB_MAGLEV_SIZE_MAX || !gwlb_maglev_is_prime(m) ||
	    n >= SLOT_FREE)
		return -EINVAL;
	if (!n)
		return -ENOENT;
	p = calloc(n, sizeof(*p));
	if (!p)
		return -ENOMEM;
	k = perm_init(p, be, n, m);
	if (k < 0) {
		ret = (int)k;
		goto cleanup;
	}
	table_fill(p, (size_t)k, m, table);
	ret = 0;
cleanup:
	free(p);
	return ret;
}

size_t gwlb_maglev_diff(const struct gwlb_maglev_backend *be_a, size_t n_a, const uint32_t *table_a,
			const struct gwlb_maglev_backend *be_b, size_t n_b, const uint32_t *table_b,
			uint32_t m)
{
	size_t moved = 0;
	uint32_t i;

	if (!be_a || !table_a || !be_b || !table_b)
		return m;
	for (i = 0; i < m; i++) {
		uint32_t a = table_a[i], b = table_b[i];

		if (a >= n_a || b >= n_b || !be_a[a].name || !be_b[b].name ||
		    strcmp(be_a[a].name, be_b[b].name))
			moved++;
	}
	return moved;
}
