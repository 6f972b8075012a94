/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Maglev lookup table (Eisenbud et al., "Maglev: A Fast and Reliable Software Network Load
 * Balancer", NSDI 2016), for the `maglev` scheduler: gwlbd loads the table as an nft map
 * indexed by `jhash <tuple> mod M`, so the kernel picks table[hash mod M] for a new flow.
 *
 * The table depends only on the backends' names and weights and on M: not on the order the
 * backends are given in, the host's endianness, or anything random. Two gwlbd instances with
 * the same configuration therefore build the same table and pick the same backend for a flow
 * without sharing state, and a backend added or removed moves little more than its own share.
 *
 * Each backend's permutation of the slots comes from two SipHash-2-4 values of its name
 * (siphash.h), with the fixed 16-byte ASCII keys "gwlbnf maglev h1" and "gwlbnf maglev h2":
 * offset = h1 mod M, skip = h2 mod (M - 1) + 1, slot j = (offset + j * skip) mod M. Within a
 * round the backends take their turns in the order of their names compared as bytes
 * (strcmp), whatever the locale.
 */
#ifndef GWLB_MAGLEV_H
#define GWLB_MAGLEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The paper's size. M > 100 x backends (up to 655 backends here) keeps one slot more or less
 * under 1 % of a backend's own share; a bigger M costs build time and nft map elements.
 */
#define GWLB_MAGLEV_SIZE	65537u
#define GWLB_MAGLEV_SIZE_MAX	(1u << 20)

struct gwlb_maglev_backend {
	const char *name;	/* unique, non-empty; the permutation is derived from it */
	uint32_t weight;	/* share of the slots relative to the others; 0: not in the table */
};

/* Is m prime? */
bool gwlb_maglev_is_prime(uint32_t m);

/*
 * Fill table[m] with indexes into be[] (as given) of n backends. A backend of weight w gets
 * m w / S of the slots (S the sum of the weights) to within 1 + n w / S slots, i.e. fewer
 * than 2 when the weights are equal; scaling every weight by the same factor leaves the
 * table unchanged; a backend of weight 0 is treated as absent.
 * 0, or -EINVAL (m not prime or above GWLB_MAGLEV_SIZE_MAX, be or table NULL, a NULL, empty
 * or duplicate name, n >= 2^32 - 1), -ENOENT (no backend of weight > 0), -ENOMEM. On error
 * table is untouched, so a caller can keep loading the table it had.
 *
 * Memory: the table plus gwlb_maglev_mem() - 4 m bytes of scratch, freed before return.
 * Time: O(n log n) to sort the names, then O(M log M) slot probes expected (each backend
 * walks its own permutation, never more than once round it: at most n M), plus one credit
 * step per backend per round: about M x (largest weight / mean weight) steps in all.
 */
int gwlb_maglev_build(const struct gwlb_maglev_backend *be, size_t n, uint32_t m, uint32_t *table);

/*
 * How many of the m slots name a different backend in two tables (built from be_a[n_a] and
 * be_b[n_b]): the share of new flows that a change from table_a to table_b sends elsewhere.
 * Backends are compared by name, so the two arrays may differ in order and length. A slot
 * whose index is out of range counts as different; a NULL argument makes every slot differ.
 */
size_t gwlb_maglev_diff(const struct gwlb_maglev_backend *be_a, size_t n_a, const uint32_t *table_a,
			const struct gwlb_maglev_backend *be_b, size_t n_b, const uint32_t *table_b,
			uint32_t m);

/* Bytes a build of n backends into m slots uses at its peak: the table and the scratch. */
size_t gwlb_maglev_mem(size_t n, uint32_t m);

#endif
