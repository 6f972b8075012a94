/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Flow table and fragment table.
 *
 * One table for every ENI, allocated once (a single anonymous mapping: pages are only
 * touched as flows arrive). Entries hang off a bucket array by 1-based 32-bit index, so
 * a bucket costs 4 bytes and 0 means "end of chain". Buckets are grouped in contiguous
 * stripes; a writer holds its stripe's spinlock and makes the stripe's sequence count odd
 * while it changes chains or entry contents. Readers take no lock: they read the
 * sequence, walk and copy, and retry if the sequence moved.
 *
 * Every concurrently read word goes through a relaxed atomic load or store, never a plain
 * memcpy: on x86 and arm64 that compiles to ordinary moves, keeps the racy reads defined
 * C11 and lets ThreadSanitizer check the rest. Entries are never returned to the system,
 * so a reader following a recycled index still reads mapped memory; the sequence check
 * discards what it saw.
 */
#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>

#include "flowtab.h"

#define FT_DEFAULT_CAPACITY	(1u << 20)
#define FT_MAX_CAPACITY		(1u << 31)
#define FT_DEFAULT_MAX_ENI	4096u
#define FT_MAX_STRIPES		4096u
#define FT_MIN_STRIPE_BUCKETS	16u
#define FT_MAX_POOLS		64u
/* Eviction looks at this many buckets, and goes on until it has this many candidates. */
#define FT_EVICT_BUCKETS	8u
#define FT_EVICT_MIN_CAND	4u
/* A reader re-validates its sequence every this many chain steps (a recycled index can loop). */
#define FT_WALK_CHECK		64u
#define FT_EXPIRE_CHUNK		64u
#define FT_CACHELINE		64u

#define FRAG_LIFETIME		30u
#define FRAG_DEFAULT_SLOTS	4096u

/*
 * An entry as 28 words. Key first (compared word by word), then what a lookup copies out,
 * the chain link, and the GENEVE header.
 *   0..9   struct gwlb_flow_key
 *   10     outer_local          11  outer_remote
 *   12     outer_sport (2 bytes), hdr_len, class
 *   13     last_seen (seconds; readers refresh it)
 *   14     1 + next entry in the chain or free list, 0 = end
 *   15..27 hdr[52], zero past hdr_len so headers compare as words
 */
enum {
	W_KEY		= 0,
	W_KEY_N		= 10,
	W_OUTER_LOCAL	= 10,
	W_OUTER_REMOTE	= 11,
	W_MISC		= 12,
	W_LAST		= 13,
	W_NEXT		= 14,
	W_HDR		= 15,
	W_HDR_N		= 13,
	W__N		= 28,
};

struct ft_entry {
	uint32_t w[W__N];
};

_Static_assert(sizeof(struct gwlb_flow_key) == W_KEY_N * 4, "flow key must be 10 words");
_Static_assert(offsetof(struct gwlb_flow_key, eni_idx) == 38, "eni_idx must sit in key word 9");
_Static_assert(W_HDR_N * 4 == GWLB_FLOW_HDR_MAX, "header words must match GWLB_FLOW_HDR_MAX");
_Static_assert(sizeof(struct ft_entry) <= 112, "flow entry must stay within 112 bytes");

struct ft_stripe {
	uint32_t seq;		/* odd while a writer changes this stripe */
	uint32_t lock;
	uint32_t evict_pos;	/* rotating start of the eviction sample (under lock) */
} __attribute__((aligned(FT_CACHELINE)));

/* Free entries, in a few pools so inserts on different stripes rarely share a lock. */
struct ft_pool {
	uint32_t lock;
	uint32_t head;		/* 1 + first free entry, 0 = empty */
} __attribute__((aligned(FT_CACHELINE)));

struct ft_counters {
	uint64_t entries;
	uint64_t inserts;
	uint64_t updates;
	uint64_t evictions;
	uint64_t expired;
} __attribute__((aligned(FT_CACHELINE)));

struct gwlb_flowtab {
	struct ft_entry *ent;
	uint32_t *bucket;		/* 1 + first entry, 0 = empty */
	struct ft_stripe *stripe;
	struct ft_pool *pool;
	uint64_t *eni_live;
	uint64_t *eni_evict;
	size_t map_len;
	uint32_t cap;
	uint32_t mask;
	uint32_t stripe_shift;		/* bucket >> stripe_shift = stripe */
	uint32_t nstripes;
	uint32_t pool_mask;
	uint32_t max_eni;
	uint32_t seed;
	uint32_t timeout[GWLB_FLOW__MAX];
	/* Entries [fresh, cap) were never used: taken before any pool, so pages fill in order. */
	uint32_t fresh __attribute__((aligned(FT_CACHELINE)));
	uint32_t expire_pos __attribute__((aligned(FT_CACHELINE)));
	struct ft_counters ctr;
};

static inline uint32_t ld32(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static inline void st32(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELAXED);
}

static inline void ctr_add(uint64_t *p, uint64_t v)
{
	__atomic_fetch_add(p, v, __ATOMIC_RELAXED);
}

static inline void ctr_sub(uint64_t *p, uint64_t v)
{
	__atomic_fetch_sub(p, v, __ATOMIC_RELAXED);
}

static inline uint64_t ctr_get(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static inline void cpu_relax(unsigned n)
{
	/* On an oversubscribed host the lock holder may be descheduled: let it run. */
	if (n % 128 == 0) {
		sched_yield();
		return;
	}
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#endif
}

static void spin_lock(uint32_t *l)
{
	unsigned n = 0;

	while (__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE)) {
		do
			cpu_relax(++n);
		while (ld32(l));
	}
}

static bool spin_trylock(uint32_t *l)
{
	return !ld32(l) && !__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE);
}

static void spin_unlock(uint32_t *l)
{
	__atomic_store_n(l, 0, __ATOMIC_RELEASE);
}

/* Writer side of the seqlock (stripe lock held); the fence keeps the odd count ahead of the data. */
static inline void seq_begin(struct ft_stripe *st)
{
	st32(&st->seq, ld32(&st->seq) + 1);
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

static inline void seq_end(struct ft_stripe *st)
{
	__atomic_store_n(&st->seq, ld32(&st->seq) + 1, __ATOMIC_RELEASE);
}

static inline bool seq_changed(const struct ft_stripe *st, uint32_t s1)
{
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return ld32(&st->seq) != s1;
}

/* Seconds since last, 0 if a caller's clock is behind the one that stored last. */
static inline uint32_t idle_of(uint32_t now, uint32_t last)
{
	int32_t d = (int32_t)(now - last);

	return d > 0 ? (uint32_t)d : 0;
}

static inline uint8_t misc_class(uint32_t misc)
{
	uint8_t m[4];

	memcpy(m, &misc, sizeof(m));
	return m[3] & 3;
}

static inline uint8_t misc_hdr_len(uint32_t misc)
{
	uint8_t m[4];

	memcpy(m, &misc, sizeof(m));
	return m[2];
}

static inline uint16_t keyword_eni(uint32_t w9)
{
	uint16_t eni;

	memcpy(&eni, (const uint8_t *)&w9 + 2, sizeof(eni));
	return eni;
}

static inline struct ft_entry *ent_at(const struct gwlb_flowtab *ft, uint32_t link)
{
	return &ft->ent[link - 1];
}

static inline bool ent_expired(const struct gwlb_flowtab *ft, const struct ft_entry *e, uint32_t now)
{
	return idle_of(now, ld32(&e->w[W_LAST])) > ft->timeout[misc_class(ld32(&e->w[W_MISC]))];
}

static inline bool key_eq(const struct ft_entry *e, const uint32_t *kw)
{
	unsigned i;

	for (i = 0; i < W_KEY_N; i++)
		if (ld32(&e->w[W_KEY + i]) != kw[i])
			return false;
	return true;
}

/* Outer addresses, port, header length and header bytes equal (class follows from the key). */
static bool val_eq(const uint32_t *a, const uint32_t *b)
{
	unsigned i, n = (misc_hdr_len(b[W_MISC]) + 3) / 4;

	if (a[W_OUTER_LOCAL] != b[W_OUTER_LOCAL] || a[W_OUTER_REMOTE] != b[W_OUTER_REMOTE] ||
	    a[W_MISC] != b[W_MISC])
		return false;
	for (i = 0; i < n && i < W_HDR_N; i++)
		if (a[W_HDR + i] != b[W_HDR + i])
			return false;
	return true;
}

/*
 * The reader side of the seqlock: walk bucket b's chain, handing each entry to visit
 * until it returns true, and start again (after reset) if a writer moved meanwhile, so
 * what visit kept from the last attempt is a snapshot the sequence count vouches for.
 * Always inlined: with constant callbacks, the lookup path pays for no indirect call.
 */
static inline __attribute__((always_inline)) void
ft_read_chain(const struct gwlb_flowtab *ft, uint32_t b, void (*reset)(void *ctx),
	      bool (*visit)(const struct ft_entry *e, uint32_t link, void *ctx), void *ctx)
{
	const struct ft_stripe *st = &ft->stripe[b >> ft->stripe_shift];
	unsigned tries = 0;

	for (;;) {
		uint32_t s1 = __atomic_load_n(&st->seq, __ATOMIC_ACQUIRE);
		uint32_t link, steps = 0;

		if (s1 & 1)
			goto again;
		reset(ctx);
		link = ld32(&ft->bucket[b]);
		while (link) {
			const struct ft_entry *e;

			if (link > ft->cap || steps > ft->cap)
				goto again;
			if (++steps % FT_WALK_CHECK == 0 && seq_changed(st, s1))
				goto again;
			e = ent_at(ft, link);
			if (visit(e, link, ctx))
				break;
			link = ld32(&e->w[W_NEXT]);
		}
		if (!seq_changed(st, s1))
			return;
again:
		cpu_relax(++tries);
	}
}

struct ft_find {
	const uint32_t *kw;
	uint32_t *out;
	uint32_t found;
};

static void ft_find_reset(void *ctx)
{
	((struct ft_find *)ctx)->found = 0;
}

static bool ft_find_visit(const struct ft_entry *e, uint32_t link, void *ctx)
{
	struct ft_find *f = ctx;
	unsigned i;

	if (!key_eq(e, f->kw))
		return false;
	for (i = W_OUTER_LOCAL; i <= W_LAST; i++)
		f->out[i] = ld32(&e->w[i]);
	for (i = W_HDR; i < W__N; i++)
		f->out[i] = ld32(&e->w[i]);
	f->found = link;
	return true;
}

/*
 * Lock-free search of bucket b. On a hit, copies everything but the key and link into out
 * (a snapshot the sequence count vouches for) and returns 1 + the entry's index; 0 if absent.
 */
static uint32_t ft_read(const struct gwlb_flowtab *ft, uint32_t b, const uint32_t *kw,
			uint32_t *out)
{
	struct ft_find f = { .kw = kw, .out = out };

	ft_read_chain(ft, b, ft_find_reset, ft_find_visit, &f);
	return f.found;
}

static void pool_push(struct gwlb_flowtab *ft, uint32_t stripe, uint32_t first, uint32_t last)
{
	struct ft_pool *p = &ft->pool[stripe & ft->pool_mask];

	spin_lock(&p->lock);
	st32(&ent_at(ft, last)->w[W_NEXT], ld32(&p->head));
	st32(&p->head, first);
	spin_unlock(&p->lock);
}

static uint32_t pool_pop_one(struct gwlb_flowtab *ft, struct ft_pool *p)
{
	uint32_t link;

	if (!ld32(&p->head))
		return 0;
	spin_lock(&p->lock);
	link = ld32(&p->head);
	if (link)
		st32(&p->head, ld32(&ent_at(ft, link)->w[W_NEXT]));
	spin_unlock(&p->lock);
	return link;
}

/* A free entry: the stripe's own pool, then never-used entries, then the other pools. */
static uint32_t ft_alloc_entry(struct gwlb_flowtab *ft, uint32_t stripe)
{
	uint32_t g = stripe & ft->pool_mask, i, link;

	link = pool_pop_one(ft, &ft->pool[g]);
	if (link)
		return link;
	if (ld32(&ft->fresh) < ft->cap) {
		uint32_t f = __atomic_fetch_add(&ft->fresh, 1, __ATOMIC_RELAXED);

		if (f < ft->cap)
			return f + 1;
	}
	for (i = 1; i <= ft->pool_mask; i++) {
		link = pool_pop_one(ft, &ft->pool[(g + i) & ft->pool_mask]);
		if (link)
			return link;
	}
	return 0;
}

/* Unlink entry link from bucket b; stripe locked and its sequence odd. */
static void ft_unlink(struct gwlb_flowtab *ft, uint32_t b, uint32_t link)
{
	uint32_t *pp = &ft->bucket[b];
	uint32_t cur;

	while ((cur = ld32(pp)) != 0) {
		if (cur == link) {
			st32(pp, ld32(&ent_at(ft, cur)->w[W_NEXT]));
			return;
		}
		pp = &ent_at(ft, cur)->w[W_NEXT];
	}
}

/* Bookkeeping for a live entry that leaves the table. */
static void ft_account_removal(struct gwlb_flowtab *ft, const struct ft_entry *e)
{
	uint16_t eni = keyword_eni(ld32(&e->w[W_KEY + 9]));

	ctr_sub(&ft->ctr.entries, 1);
	if (eni < ft->max_eni)
		ctr_sub(&ft->eni_live[eni], 1);
}

static void ft_account_eviction(struct gwlb_flowtab *ft, const struct ft_entry *e, uint32_t now)
{
	uint16_t eni = keyword_eni(ld32(&e->w[W_KEY + 9]));

	ft_account_removal(ft, e);
	if (ent_expired(ft, e, now)) {
		ctr_add(&ft->ctr.expired, 1);
		return;
	}
	ctr_add(&ft->ctr.evictions, 1);
	if (eni < ft->max_eni)
		ctr_add(&ft->eni_evict[eni], 1);
}

/*
 * The table is full: make room in stripe s (locked, sequence odd). Idle entries found in
 * a sample of buckets are reclaimed; failing that the least recently seen entry of the
 * sample is evicted. Only if the whole stripe is empty is another stripe asked (trylock,
 * so two inserters can never wait on each other). Returns the entry now owned by the caller.
 */
static uint32_t ft_make_room(struct gwlb_flowtab *ft, uint32_t s, uint32_t now, bool *evicted)
{
	struct ft_stripe *st = &ft->stripe[s];
	uint32_t per = 1u << ft->stripe_shift, base = s << ft->stripe_shift;
	uint32_t pos = st->evict_pos, i, ncand = 0;
	uint32_t lru = 0, lru_b = 0, lru_idle = 0;
	uint32_t got = 0, free_first = 0, free_last = 0;

	for (i = 0; i < per; i++) {
		uint32_t b = base + ((pos + i) & (per - 1));
		uint32_t *pp = &ft->bucket[b];
		uint32_t link;

		if (i >= FT_EVICT_BUCKETS && (got || ncand >= FT_EVICT_MIN_CAND))
			break;
		while ((link = ld32(pp)) != 0) {
			struct ft_entry *e = ent_at(ft, link);
			uint32_t idle = idle_of(now, ld32(&e->w[W_LAST]));

			if (ent_expired(ft, e, now)) {
				st32(pp, ld32(&e->w[W_NEXT]));
				ft_account_removal(ft, e);
				ctr_add(&ft->ctr.expired, 1);
				if (!got) {
					got = link;
				} else {
					st32(&e->w[W_NEXT], free_first);
					free_first = link;
					if (!free_last)
						free_last = link;
				}
				continue;
			}
			if (!lru || idle > lru_idle) {
				lru = link;
				lru_b = b;
				lru_idle = idle;
			}
			ncand++;
			pp = &e->w[W_NEXT];
		}
	}
	st->evict_pos = pos + i;
	if (free_first)
		pool_push(ft, s, free_first, free_last);
	if (got)
		return got;
	if (lru) {
		ft_unlink(ft, lru_b, lru);
		ft_account_eviction(ft, ent_at(ft, lru), now);
		*evicted = true;
		return lru;
	}

	for (;;) {
		uint32_t j, link;

		for (j = 1; j < ft->nstripes; j++) {
			uint32_t s2 = (s + j) & (ft->nstripes - 1);
			struct ft_stripe *st2 = &ft->stripe[s2];
			uint32_t b2 = s2 << ft->stripe_shift;

			if (!spin_trylock(&st2->lock))
				continue;
			lru = 0;
			for (i = 0; i < per; i++) {
				for (link = ld32(&ft->bucket[b2 + i]); link;
				     link = ld32(&ent_at(ft, link)->w[W_NEXT])) {
					uint32_t idle = idle_of(now, ld32(&ent_at(ft, link)->w[W_LAST]));

					if (!lru || idle > lru_idle) {
						lru = link;
						lru_b = b2 + i;
						lru_idle = idle;
					}
				}
			}
			if (lru) {
				seq_begin(st2);
				ft_unlink(ft, lru_b, lru);
				seq_end(st2);
				ft_account_eviction(ft, ent_at(ft, lru), now);
				*evicted = !ent_expired(ft, ent_at(ft, lru), now);
			}
			spin_unlock(&st2->lock);
			if (lru)
				return lru;
		}
		/* Everything is in other inserters' hands for the moment. */
		link = ft_alloc_entry(ft, s);
		if (link)
			return link;
		sched_yield();
	}
}

enum gwlb_flow_class gwlb_flow_class_of(uint8_t proto)
{
	switch (proto) {
	case 6:
		return GWLB_FLOW_TCP;
	case 17:
	case 136:		/* UDP-Lite */
		return GWLB_FLOW_UDP;
	case 1:
	case 58:
		return GWLB_FLOW_ICMP;
	default:
		return GWLB_FLOW_OTHER;
	}
}

static uint32_t pow2_ceil(uint32_t v)
{
	uint32_t p = 1;

	while (p < v)
		p <<= 1;
	return p;
}

static uint32_t log2_of(uint32_t pow2)
{
	uint32_t n = 0;

	while ((1u << n) < pow2)
		n++;
	return n;
}

static size_t align_up(size_t v, size_t a)
{
	return (v + a - 1) & ~(a - 1);
}

static uint32_t random_seed(const void *salt)
{
	uint32_t seed;
	struct timespec ts;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) == (ssize_t)sizeof(seed))
		return seed;
	/* No entropy yet (early boot): still differ per run so chains are not predictable. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint32_t)ts.tv_nsec ^ (uint32_t)ts.tv_sec ^ (uint32_t)(uintptr_t)salt;
}

int gwlb_flowtab_alloc(struct gwlb_flowtab **ftp, const struct gwlb_flowtab_cfg *cfg)
{
	uint32_t want = cfg && cfg->capacity ? cfg->capacity : FT_DEFAULT_CAPACITY;
	uint32_t max_eni = cfg && cfg->max_eni ? cfg->max_eni : FT_DEFAULT_MAX_ENI;
	uint32_t cap, nstripes, npools, c;
	uint64_t off_stripe, off_pool, off_live, off_evict, off_bucket, off_ent, total;
	struct gwlb_flowtab *ft;
	void *map;

	*ftp = NULL;
	if (want > FT_MAX_CAPACITY || max_eni > 65536)
		return -EINVAL;
	cap = pow2_ceil(want);
	nstripes = cap / FT_MIN_STRIPE_BUCKETS;
	if (nstripes > FT_MAX_STRIPES)
		nstripes = FT_MAX_STRIPES;
	if (!nstripes)
		nstripes = 1;
	npools = nstripes < FT_MAX_POOLS ? nstripes : FT_MAX_POOLS;

	off_stripe = align_up(sizeof(*ft), FT_CACHELINE);
	off_pool = off_stripe + (uint64_t)nstripes * sizeof(struct ft_stripe);
	off_live = off_pool + (uint64_t)npools * sizeof(struct ft_pool);
	off_evict = off_live + (uint64_t)max_eni * sizeof(uint64_t);
	off_bucket = align_up(off_evict + (uint64_t)max_eni * sizeof(uint64_t), FT_CACHELINE);
	off_ent = align_up(off_bucket + (uint64_t)cap * sizeof(uint32_t), FT_CACHELINE);
	total = off_ent + (uint64_t)cap * sizeof(struct ft_entry);
#if SIZE_MAX < UINT64_MAX
	if (total > SIZE_MAX)
		return -ENOMEM;
#endif

	/* Anonymous memory is zeroed: empty buckets, idle stripes, zero counters for free. */
	map = mmap(NULL, (size_t)total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (map == MAP_FAILED)
		return -ENOMEM;
	ft = map;
	ft->stripe = (struct ft_stripe *)((uint8_t *)map + off_stripe);
	ft->pool = (struct ft_pool *)((uint8_t *)map + off_pool);
	ft->eni_live = (uint64_t *)((uint8_t *)map + off_live);
	ft->eni_evict = (uint64_t *)((uint8_t *)map + off_evict);
	ft->bucket = (uint32_t *)((uint8_t *)map + off_bucket);
	ft->ent = (struct ft_entry *)((uint8_t *)map + off_ent);
	ft->map_len = (size_t)total;
	ft->cap = cap;
	ft->mask = cap - 1;
	ft->nstripes = nstripes;
	ft->stripe_shift = log2_of(cap / nstripes);
	ft->pool_mask = npools - 1;
	ft->max_eni = max_eni;
	ft->seed = random_seed(map);
	for (c = 0; c < GWLB_FLOW__MAX; c++) {
		uint32_t def = c == GWLB_FLOW_TCP ? GWLB_FLOW_TIMEOUT_TCP : GWLB_FLOW_TIMEOUT_OTHER;

		ft->timeout[c] = cfg && cfg->timeout[c] ? cfg->timeout[c] : def;
	}
	*ftp = ft;
	return 0;
}

void gwlb_flowtab_free(struct gwlb_flowtab *ft)
{
	if (ft)
		munmap(ft, ft->map_len);
}

static void entry_words(uint32_t *w, const struct gwlb_flow_key *k,
			const struct gwlb_flow_val *v, uint32_t now)
{
	uint8_t m[4];

	memcpy(&w[W_KEY], k, sizeof(*k));
	memcpy(&w[W_OUTER_LOCAL], &v->outer_local, 4);
	memcpy(&w[W_OUTER_REMOTE], &v->outer_remote, 4);
	memcpy(m, &v->outer_sport, 2);
	m[2] = v->hdr_len;
	m[3] = (uint8_t)gwlb_flow_class_of(k->proto);
	memcpy(&w[W_MISC], m, 4);
	w[W_LAST] = now;
	w[W_NEXT] = 0;
	memset(&w[W_HDR], 0, GWLB_FLOW_HDR_MAX);
	memcpy(&w[W_HDR], v->hdr, v->hdr_len);
}

static inline void refresh_last(struct ft_entry *e, uint32_t last, uint32_t now)
{
	/* Only forward, and only when it changed: a hot flow's line stays clean. */
	if ((int32_t)(now - last) > 0)
		st32(&e->w[W_LAST], now);
}

int gwlb_flowtab_update(struct gwlb_flowtab *ft, const struct gwlb_flow_key *k,
			const struct gwlb_flow_val *v, uint32_t now)
{
	uint32_t nw[W__N], cur[W__N];
	uint32_t b, s, link, i;
	struct ft_stripe *st;
	struct ft_entry *e = NULL;
	bool evicted = false;

	if (v->hdr_len > GWLB_FLOW_HDR_MAX)
		return -EMSGSIZE;
	if (k->eni_idx >= ft->max_eni)
		return -EINVAL;
	entry_words(nw, k, v, now);
	b = gwlb_flow_key_hash(k, ft->seed) & ft->mask;

	/* The common case, a known flow with the same header: no lock, at most one store. */
	link = ft_read(ft, b, nw, cur);
	if (link && val_eq(cur, nw)) {
		refresh_last(ent_at(ft, link), cur[W_LAST], now);
		return 0;
	}

	s = b >> ft->stripe_shift;
	st = &ft->stripe[s];
	spin_lock(&st->lock);
	for (link = ld32(&ft->bucket[b]); link; link = ld32(&e->w[W_NEXT])) {
		e = ent_at(ft, link);
		if (key_eq(e, nw))
			break;
	}
	if (link) {
		for (i = W_OUTER_LOCAL; i < W__N; i++)
			cur[i] = ld32(&e->w[i]);
		if (val_eq(cur, nw)) {
			refresh_last(e, cur[W_LAST], now);
		} else {
			/* The 5-tuple came back with a new cookie (or GWLB address): replace it. */
			seq_begin(st);
			for (i = W_OUTER_LOCAL; i < W__N; i++)
				if (i != W_NEXT)
					st32(&e->w[i], nw[i]);
			seq_end(st);
			ctr_add(&ft->ctr.updates, 1);
		}
		spin_unlock(&st->lock);
		return 0;
	}

	link = ft_alloc_entry(ft, s);
	seq_begin(st);
	if (!link)
		link = ft_make_room(ft, s, now, &evicted);
	e = ent_at(ft, link);
	nw[W_NEXT] = ld32(&ft->bucket[b]);
	for (i = 0; i < W__N; i++)
		st32(&e->w[i], nw[i]);
	st32(&ft->bucket[b], link);
	ctr_add(&ft->ctr.entries, 1);
	ctr_add(&ft->eni_live[k->eni_idx], 1);
	seq_end(st);
	spin_unlock(&st->lock);
	ctr_add(&ft->ctr.inserts, 1);
	return evicted ? 1 : 0;
}

int gwlb_flowtab_lookup(struct gwlb_flowtab *ft, const struct gwlb_flow_key *k, uint32_t now,
			struct gwlb_flow_val *v)
{
	uint32_t kw[W_KEY_N], cur[W__N];
	uint32_t b, link;
	uint8_t m[4];

	memcpy(kw, k, sizeof(kw));
	b = gwlb_flow_key_hash(k, ft->seed) & ft->mask;
	link = ft_read(ft, b, kw, cur);
	if (!link)
		return -ENOENT;
	if (idle_of(now, cur[W_LAST]) > ft->timeout[misc_class(cur[W_MISC])])
		return -ENOENT;
	/* Outbound traffic keeps the flow alive too (GWLB sees both directions). */
	refresh_last(ent_at(ft, link), cur[W_LAST], now);

	memcpy(&v->outer_local, &cur[W_OUTER_LOCAL], 4);
	memcpy(&v->outer_remote, &cur[W_OUTER_REMOTE], 4);
	memcpy(m, &cur[W_MISC], 4);
	memcpy(&v->outer_sport, m, 2);
	v->hdr_len = m[2];
	memcpy(v->hdr, &cur[W_HDR], GWLB_FLOW_HDR_MAX);
	return 0;
}

enum sweep_what {
	SWEEP_IDLE,
	SWEEP_ENI,
};

/* Remove matching entries from n buckets starting at b (all in one stripe). */
static unsigned ft_sweep(struct gwlb_flowtab *ft, uint32_t b, uint32_t n, enum sweep_what what,
			 uint32_t now, uint16_t eni)
{
	uint32_t s = b >> ft->stripe_shift;
	struct ft_stripe *st = &ft->stripe[s];
	uint32_t first = 0, last = 0, i;
	unsigned removed = 0;
	bool writing = false;

	spin_lock(&st->lock);
	for (i = 0; i < n; i++) {
		uint32_t *pp = &ft->bucket[b + i];
		uint32_t link;

		while ((link = ld32(pp)) != 0) {
			struct ft_entry *e = ent_at(ft, link);
			bool hit;

			if (what == SWEEP_IDLE)
				hit = ent_expired(ft, e, now);
			else
				hit = keyword_eni(ld32(&e->w[W_KEY + 9])) == eni;
			if (!hit) {
				pp = &e->w[W_NEXT];
				continue;
			}
			if (!writing) {
				seq_begin(st);
				writing = true;
			}
			st32(pp, ld32(&e->w[W_NEXT]));
			ft_account_removal(ft, e);
			st32(&e->w[W_NEXT], first);
			first = link;
			if (!last)
				last = link;
			removed++;
		}
	}
	if (writing)
		seq_end(st);
	spin_unlock(&st->lock);
	if (first)
		pool_push(ft, s, first, last);
	return removed;
}

/* Visit n buckets from start (wrapping), a stripe-sized piece at a time. */
static unsigned ft_sweep_range(struct gwlb_flowtab *ft, uint32_t start, uint32_t n,
			       enum sweep_what what, uint32_t now, uint16_t eni)
{
	uint32_t per = 1u << ft->stripe_shift, b = start & ft->mask;
	unsigned removed = 0;

	while (n) {
		uint32_t chunk = per - (b & (per - 1));

		if (chunk > FT_EXPIRE_CHUNK)
			chunk = FT_EXPIRE_CHUNK;
		if (chunk > n)
			chunk = n;
		removed += ft_sweep(ft, b, chunk, what, now, eni);
		b = (b + chunk) & ft->mask;
		n -= chunk;
	}
	return removed;
}

unsigned gwlb_flowtab_expire(struct gwlb_flowtab *ft, uint32_t now, unsigned budget)
{
	uint32_t start, n = budget > ft->cap ? ft->cap : budget;
	unsigned removed;

	if (!n)
		return 0;
	/* Concurrent callers each claim their own range. */
	start = __atomic_fetch_add(&ft->expire_pos, n, __ATOMIC_RELAXED);
	removed = ft_sweep_range(ft, start, n, SWEEP_IDLE, now, 0);
	ctr_add(&ft->ctr.expired, removed);
	return removed;
}

unsigned gwlb_flowtab_flush_eni(struct gwlb_flowtab *ft, uint16_t eni_idx)
{
	return ft_sweep_range(ft, 0, ft->cap, SWEEP_ENI, 0, eni_idx);
}

/* Entries of one chain a walk copies per pass (chains are short: one bucket per entry). */
#define FT_WALK_BATCH		16u

/* Entries skip .. skip + FT_WALK_BATCH - 1 of one chain, for a walk. */
struct ft_copy {
	unsigned skip, pos, n;
	bool more;			/* the chain goes on past them */
	struct ft_entry *out;
};

static void ft_copy_reset(void *ctx)
{
	struct ft_copy *c = ctx;

	c->pos = c->n = 0;
	c->more = false;
}

static bool ft_copy_visit(const struct ft_entry *e, uint32_t link, void *ctx)
{
	struct ft_copy *c = ctx;
	unsigned i;

	if (c->pos++ < c->skip)
		return false;
	if (c->n == FT_WALK_BATCH) {
		c->more = true;
		return true;
	}
	for (i = 0; i < W__N; i++)
		c->out[c->n].w[i] = ld32(&e->w[i]);
	c->n++;
	return false;
}

uint64_t gwlb_flowtab_walk(struct gwlb_flowtab *ft, uint32_t now, gwlb_flowtab_walk_fn fn,
			   void *arg)
{
	struct ft_entry buf[FT_WALK_BATCH];
	struct gwlb_flow_entry fe;
	uint64_t seen = 0;
	uint32_t b;

	for (b = 0; b <= ft->mask; b++) {
		unsigned skip = 0, n, i;
		bool more;

		if (!ld32(&ft->bucket[b]))
			continue;
		do {
			struct ft_copy cp = { .skip = skip, .out = buf };

			ft_read_chain(ft, b, ft_copy_reset, ft_copy_visit, &cp);
			n = cp.n;
			more = cp.more;
			skip += n;
			for (i = 0; i < n; i++) {
				const uint32_t *w = buf[i].w;
				uint8_t m[4];

				if (idle_of(now, w[W_LAST]) > ft->timeout[misc_class(w[W_MISC])])
					continue;
				memset(&fe, 0, sizeof(fe));
				memcpy(&fe.key, &w[W_KEY], sizeof(fe.key));
				memcpy(&fe.val.outer_local, &w[W_OUTER_LOCAL], 4);
				memcpy(&fe.val.outer_remote, &w[W_OUTER_REMOTE], 4);
				memcpy(m, &w[W_MISC], 4);
				memcpy(&fe.val.outer_sport, m, 2);
				fe.val.hdr_len = m[2];
				memcpy(fe.val.hdr, &w[W_HDR], GWLB_FLOW_HDR_MAX);
				fe.idle = idle_of(now, w[W_LAST]);
				seen++;
				if (fn(&fe, arg))
					return seen;
			}
		} while (more);
	}
	return seen;
}

void gwlb_flowtab_stats(const struct gwlb_flowtab *ft, struct gwlb_flowtab_stats *st)
{
	st->entries = ctr_get(&ft->ctr.entries);
	st->capacity = ft->cap;
	st->inserts = ctr_get(&ft->ctr.inserts);
	st->updates = ctr_get(&ft->ctr.updates);
	st->evictions = ctr_get(&ft->ctr.evictions);
	st->expired = ctr_get(&ft->ctr.expired);
	st->bytes = ft->map_len;
}

void gwlb_flowtab_eni_stats(const struct gwlb_flowtab *ft, uint16_t eni_idx, uint64_t *entries,
			    uint64_t *evictions)
{
	if (eni_idx >= ft->max_eni) {
		*entries = 0;
		*evictions = 0;
		return;
	}
	*entries = ctr_get(&ft->eni_live[eni_idx]);
	*evictions = ctr_get(&ft->eni_evict[eni_idx]);
}

uint32_t gwlb_flowtab_timeout(const struct gwlb_flowtab *ft, enum gwlb_flow_class c)
{
	return (unsigned)c < GWLB_FLOW__MAX ? ft->timeout[c] : 0;
}

size_t gwlb_flowtab_entry_size(void)
{
	return sizeof(struct ft_entry);
}

/*
 * Fragment table. A slot is keyed on the addresses sorted by bytes, because a later
 * fragment (no ports) is canonicalised on addresses alone and may list them in the other
 * order than its first fragment's key did; port[i] belongs to addr[i].
 */
struct ft_frag_slot {
	uint32_t lock;
	uint32_t born;
	uint32_t frag_id;
	uint16_t eni_idx;
	uint8_t family;		/* 0 = empty */
	uint8_t proto;
	uint8_t addr[2][16];
	uint16_t port[2];
} __attribute__((aligned(FT_CACHELINE)));

struct gwlb_fragtab {
	struct ft_frag_slot *slot;
	size_t map_len;
	uint32_t mask;
	uint32_t seed;
};

int gwlb_fragtab_alloc(struct gwlb_fragtab **tp, uint32_t slots)
{
	struct gwlb_fragtab *t;
	size_t off, total;
	void *map;

	*tp = NULL;
	if (!slots)
		slots = FRAG_DEFAULT_SLOTS;
	if (slots > (1u << 24))
		return -EINVAL;
	slots = pow2_ceil(slots);
	off = align_up(sizeof(*t), FT_CACHELINE);
	total = off + (size_t)slots * sizeof(struct ft_frag_slot);
	map = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (map == MAP_FAILED)
		return -ENOMEM;
	t = map;
	t->slot = (struct ft_frag_slot *)((uint8_t *)map + off);
	t->map_len = total;
	t->mask = slots - 1;
	t->seed = random_seed(map);
	*tp = t;
	return 0;
}

void gwlb_fragtab_free(struct gwlb_fragtab *t)
{
	if (t)
		munmap(t, t->map_len);
}

/* Which endpoint of k has the smaller address (by bytes): 0 or 1. */
static int frag_lo(const struct gwlb_flow_key *k)
{
	return memcmp(k->addr[0], k->addr[1], sizeof(k->addr[0])) > 0;
}

static struct ft_frag_slot *frag_slot(const struct gwlb_fragtab *t, const struct gwlb_flow_key *k,
				      int lo, uint32_t frag_id)
{
	struct gwlb_flow_key hk;

	memset(&hk, 0, sizeof(hk));
	memcpy(hk.addr[0], k->addr[lo], sizeof(hk.addr[0]));
	memcpy(hk.addr[1], k->addr[!lo], sizeof(hk.addr[1]));
	hk.port[0] = (uint16_t)(frag_id >> 16);
	hk.port[1] = (uint16_t)frag_id;
	hk.proto = k->proto;
	hk.family = k->family;
	hk.eni_idx = k->eni_idx;
	return &t->slot[gwlb_flow_key_hash(&hk, t->seed) & t->mask];
}

void gwlb_fragtab_note(struct gwlb_fragtab *t, const struct gwlb_pkt_info *pi, uint32_t now)
{
	const struct gwlb_flow_key *k = &pi->key;
	struct ft_frag_slot *sl;
	int lo;

	if (!(pi->flags & GWLB_PKT_FRAG) || (pi->flags & GWLB_PKT_FRAG_LATER))
		return;
	lo = frag_lo(k);
	sl = frag_slot(t, k, lo, pi->frag_id);
	spin_lock(&sl->lock);
	sl->born = now;
	sl->frag_id = pi->frag_id;
	sl->eni_idx = k->eni_idx;
	sl->family = k->family;
	sl->proto = k->proto;
	memcpy(sl->addr[0], k->addr[lo], sizeof(sl->addr[0]));
	memcpy(sl->addr[1], k->addr[!lo], sizeof(sl->addr[1]));
	sl->port[0] = k->port[lo];
	sl->port[1] = k->port[!lo];
	spin_unlock(&sl->lock);
}

int gwlb_fragtab_complete(struct gwlb_fragtab *t, struct gwlb_pkt_info *pi, uint32_t now)
{
	struct gwlb_flow_key *k = &pi->key;
	uint8_t addr[2][16];
	uint16_t port[2], p;
	struct ft_frag_slot *sl;
	bool hit;
	int lo;

	lo = frag_lo(k);
	memcpy(addr[0], k->addr[lo], sizeof(addr[0]));
	memcpy(addr[1], k->addr[!lo], sizeof(addr[1]));
	sl = frag_slot(t, k, lo, pi->frag_id);
	spin_lock(&sl->lock);
	hit = sl->family && sl->family == k->family && sl->proto == k->proto &&
	      sl->frag_id == pi->frag_id && sl->eni_idx == k->eni_idx &&
	      idle_of(now, sl->born) <= FRAG_LIFETIME && !memcmp(sl->addr, addr, sizeof(addr));
	port[0] = sl->port[0];
	port[1] = sl->port[1];
	spin_unlock(&sl->lock);
	if (!hit)
		return -ENOENT;

	/* Canonical order is by (address, port): with equal addresses the ports decide. */
	if (!memcmp(addr[0], addr[1], sizeof(addr[0])) &&
	    memcmp(&port[0], &port[1], sizeof(port[0])) > 0) {
		p = port[0];
		port[0] = port[1];
		port[1] = p;
	}
	memcpy(k->addr, addr, sizeof(addr));
	k->port[0] = port[0];
	k->port[1] = port[1];
	return 0;
}
