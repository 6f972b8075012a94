/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What lab and bench mode share: flow table, fragment map, sockets, parsing. */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "sim.h"

int sim_flowtab_init(struct sim_flowtab *t, uint32_t max)
{
	uint32_t cap = 16;

	/* Half full at most, so linear probing stays short. */
	while (cap < max * 2ULL)
		cap <<= 1;
	memset(t, 0, sizeof(*t));
	t->slot = calloc(cap, sizeof(*t->slot));
	if (!t->slot)
		return -ENOMEM;
	t->mask = cap - 1;
	t->max = max;
	if (getrandom(&t->seed, sizeof(t->seed), 0) != sizeof(t->seed))
		t->seed = (uint32_t)sim_now_ns();
	return 0;
}

void sim_flowtab_fini(struct sim_flowtab *t)
{
	free(t->slot);
	t->slot = NULL;
}

struct sim_flow *sim_flowtab_find(const struct sim_flowtab *t, const struct gwlb_flow_key *k)
{
	uint32_t i = gwlb_flow_key_hash(k, t->seed) & t->mask;

	for (;; i = (i + 1) & t->mask) {
		struct sim_flow *f = &t->slot[i];

		if (!f->used)
			return NULL;
		if (!memcmp(&f->key, k, sizeof(*k)))
			return f;
	}
}

struct sim_flow *sim_flowtab_find_cookie(const struct sim_flowtab *t, uint32_t cookie)
{
	uint32_t i;

	for (i = 0; i <= t->mask; i++)
		if (t->slot[i].used && t->slot[i].cookie == cookie)
			return &t->slot[i];
	return NULL;
}

struct sim_flow *sim_flowtab_insert(struct sim_flowtab *t, const struct gwlb_flow_key *k,
				    bool *created)
{
	uint32_t i = gwlb_flow_key_hash(k, t->seed) & t->mask;

	*created = false;
	for (;; i = (i + 1) & t->mask) {
		struct sim_flow *f = &t->slot[i];

		if (f->used) {
			if (!memcmp(&f->key, k, sizeof(*k)))
				return f;
			continue;
		}
		if (t->count >= t->max)
			return NULL;
		memset(f, 0, sizeof(*f));
		f->key = *k;
		f->used = 1;
		t->count++;
		*created = true;
		return f;
	}
}

void sim_rng_init(struct sim_rng *r)
{
	if (getrandom(&r->s, sizeof(r->s), 0) != sizeof(r->s))
		r->s = sim_now_ns() ^ ((uint64_t)getpid() << 32);
}

uint64_t sim_rng_next(struct sim_rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void sim_flow_setup(struct sim_flow *f, struct sim_rng *r, const struct sim_flow_params *p)
{
	struct gwlb_geneve g = {
		.eni_id = p->eni_id,
		.attach_id = p->attach_id,
		.vni = p->vni & 0xffffff,
		.proto = f->key.family == 6 ? GWLB_ETH_P_IPV6 : GWLB_ETH_P_IP,
	};
	uint32_t span = (uint32_t)p->sport_hi - p->sport_lo + 1;

	do
		f->cookie = (uint32_t)sim_rng_next(r);
	while (!f->cookie);
	f->sport = (uint16_t)(p->sport_lo + sim_rng_next(r) % span);
	g.cookie = f->cookie;
	gwlb_geneve_build(f->hdr, sizeof(f->hdr), &g);
}

static uint32_t frag_slot(const struct sim_fragmap *m, const struct gwlb_flow_key *portless,
			  uint32_t id)
{
	return (gwlb_flow_key_hash(portless, m->seed) ^ (id * 2654435761u)) & (SIM_FRAG_SLOTS - 1);
}

/*
 * Zeroing the ports of a full key gives exactly the key the parser builds for a later
 * fragment: the canonical order is decided by the addresses first, so it does not move
 * (unless source and destination are equal, which nobody routes through a GWLB).
 */
static void frag_portless(const struct gwlb_flow_key *k, struct gwlb_flow_key *out)
{
	*out = *k;
	out->port[0] = 0;
	out->port[1] = 0;
}

void sim_frag_note(struct sim_fragmap *m, const struct gwlb_pkt_info *pi, uint64_t now)
{
	struct sim_frag *e;
	struct gwlb_flow_key pl;

	if (!(pi->flags & GWLB_PKT_FRAG) || (pi->flags & GWLB_PKT_FRAG_LATER))
		return;
	frag_portless(&pi->key, &pl);
	e = &m->slot[frag_slot(m, &pl, pi->frag_id)];
	e->portless = pl;
	e->key = pi->key;
	e->id = pi->frag_id;
	e->expires = now + SIM_FRAG_TTL_NS;
	e->used = 1;
}

int sim_frag_complete(struct sim_fragmap *m, struct gwlb_pkt_info *pi, uint64_t now)
{
	struct sim_frag *e = &m->slot[frag_slot(m, &pi->key, pi->frag_id)];

	if (!e->used || e->id != pi->frag_id || e->expires < now ||
	    memcmp(&e->portless, &pi->key, sizeof(pi->key)))
		return -ENOENT;
	pi->key = e->key;
	return 0;
}

uint64_t sim_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int sim_parse_ip4(const char *s, uint32_t *addr)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		return -EINVAL;
	*addr = a.s_addr;
	return 0;
}

int sim_parse_u64(const char *s, int base, uint64_t min, uint64_t max, uint64_t *v)
{
	unsigned long long x;
	char *end;

	if (!s || !*s || *s == '-' || isspace((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	x = strtoull(s, &end, base);
	if (errno || *end)
		return -EINVAL;
	if (x < min || x > max)
		return -ERANGE;
	*v = x;
	return 0;
}

int sim_parse_attach(const char *s, uint64_t *id)
{
	size_t n;

	if (!strncmp(s, "vpce-", 5))
		s += 5;
	else if (!strncasecmp(s, "0x", 2))
		s += 2;
	n = strlen(s);
	if (n == 0 || n > 16 || strspn(s, "0123456789abcdefABCDEF") != n)
		return -EINVAL;
	return sim_parse_u64(s, 16, 0, UINT64_MAX, id);
}

void sim_hex(const uint8_t *buf, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[buf[i] >> 4];
		out[2 * i + 1] = digits[buf[i] & 0xf];
	}
	out[2 * len] = '\0';
}

int sim_raw_open(void)
{
	int fd, sz = 4 << 20;

	fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	return fd;
}

int sim_udp_open(uint32_t addr, uint16_t port)
{
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_addr.s_addr = addr,
		.sin_port = port,
	};
	int fd, err, sz = 8 << 20;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* A bench at full speed outruns the default 208 KB before the receiver wakes up. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

uint32_t sim_csum_add(uint32_t sum, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len > 1) {
		sum += (uint32_t)p[0] << 8 | p[1];
		p += 2;
		len -= 2;
	}
	if (len)
		sum += (uint32_t)p[0] << 8;
	/* Partly folded so calls chain; 64 KB of 0xffff words still fit in 32 bits. */
	return (sum & 0xffff) + (sum >> 16);
}

uint16_t sim_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}
