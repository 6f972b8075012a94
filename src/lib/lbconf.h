/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The services file (gwlbnf-services.conf(5)): DNAT-balanced services, each a VIP, a port
 * or port range and a protocol, a scheduler and its backends with weights, tiers and an
 * admin state.
 *
 * Pure: parsing builds a struct gwlb_lb_conf or fails with a file, line and reason, all or
 * nothing, so a reload can keep the running services.
 */
#ifndef GWLB_LBCONF_H
#define GWLB_LBCONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hccfg.h"

#define GWLB_LB_NAME_MAX	32	/* service and backend names, NUL excluded */
#define GWLB_LB_MAX_SERVICES	256
#define GWLB_LB_MAX_BACKENDS	256	/* per service */
#define GWLB_LB_MAX_WEIGHT	10000
#define GWLB_LB_MAX_TIER	15
#define GWLB_LB_MAX_FILE	(1 << 20)

/* How a service picks a backend for a new connection, in the kernel. */
enum gwlb_lb_sched {
	GWLB_LB_SCHED_NTH = 0,		/* numgen inc: strict round robin over the weights */
	GWLB_LB_SCHED_RANDOM,		/* numgen random */
	GWLB_LB_SCHED_HASH,		/* jhash of hash-fields */
	GWLB_LB_SCHED_SYMHASH,		/* symhash: both directions of a flow hash alike */
	GWLB_LB_SCHED_MAGLEV,		/* jhash of hash-fields into a Maglev table (maglev.h) */
	GWLB_LB_SCHED__COUNT,
};

/* hash-fields */
#define GWLB_LB_HASH_SADDR	0x1u
#define GWLB_LB_HASH_SPORT	0x2u
#define GWLB_LB_HASH_DADDR	0x4u
#define GWLB_LB_HASH_DPORT	0x8u

/* A backend's admin state, set by the file or gwlbctl. */
enum gwlb_lb_admin {
	GWLB_LB_ADMIN_UP = 0,		/* takes new connections (if healthy) */
	GWLB_LB_ADMIN_DRAIN,		/* no new connections; existing ones continue */
	GWLB_LB_ADMIN_DOWN,		/* no new connections; out of service */
};

struct gwlb_lb_backend {
	char name[GWLB_LB_NAME_MAX + 1];	/* [A-Za-z0-9-], unique in its service */
	uint8_t family;			/* 4 or 6, the service's */
	uint8_t addr[16];		/* network order */
	uint16_t port;			/* host order; 0: the port the client asked for */
	uint32_t weight;		/* 1 .. GWLB_LB_MAX_WEIGHT */
	uint8_t tier;			/* 0 .. GWLB_LB_MAX_TIER; lower tiers serve first */
	enum gwlb_lb_admin admin;
	bool has_check;			/* check=TYPE on the line: its type, not the service's */
	enum gwlb_hc_type check;
	int line;
};

struct gwlb_lb_service {
	char name[GWLB_LB_NAME_MAX + 1];	/* [A-Za-z0-9-], starts with a letter */
	uint8_t family;			/* 4 or 6 */
	uint8_t vip[16];		/* network order */
	uint16_t port_lo, port_hi;	/* host order, inclusive */
	uint8_t proto;			/* IPPROTO_TCP or IPPROTO_UDP */
	enum gwlb_lb_sched sched;
	unsigned hash_fields;		/* GWLB_LB_HASH_*, for GWLB_LB_SCHED_HASH */
	uint32_t seed;			/* jhash seed: seed = N, else derived from the name */
	uint32_t maglev_size;		/* maglev: the table's slots, a prime (GWLB_MAGLEV_SIZE) */
	unsigned n_backends;
	struct gwlb_lb_backend *backends;	/* in file order */
	struct gwlb_hc_cfg check;	/* the check keys, finished (hccfg.h); no address */
	int line;			/* of the [service NAME] header */
};

struct gwlb_lb_conf {
	char file[256];
	unsigned n_services;
	struct gwlb_lb_service *services;	/* in file order */
};

/* Why a parse failed. line 0: the file as a whole. */
struct gwlb_lb_err {
	char file[256];
	int line;
	char reason[256];
};

/*
 * Parse len bytes of services text; name is what err->file says (NULL: "<string>"). 0 and
 * *out a new conf for gwlb_lbconf_free(), or -EINVAL / -ENOMEM / -errno with err filled.
 */
int gwlb_lbconf_parse_buf(const uint8_t *buf, size_t len, const char *name,
			  struct gwlb_lb_conf **out, struct gwlb_lb_err *err);
int gwlb_lbconf_parse_string(const char *text, const char *name, struct gwlb_lb_conf **out,
			     struct gwlb_lb_err *err);
/* At most GWLB_LB_MAX_FILE bytes; open/read errors at line 0. */
int gwlb_lbconf_parse_file(const char *path, struct gwlb_lb_conf **out,
			   struct gwlb_lb_err *err);
void gwlb_lbconf_free(struct gwlb_lb_conf *c);

/* Same definition (lines not compared): a reload leaves such a service alone. */
bool gwlb_lb_service_same(const struct gwlb_lb_service *a, const struct gwlb_lb_service *b);

/*
 * Backend b's health check: the service's settings with b's type when b has check=TYPE,
 * to b's address and port (the service's first port when b has none). False, and *cfg
 * untouched, when b has no check (type none): it counts as healthy.
 */
bool gwlb_lb_backend_check(const struct gwlb_lb_service *s, const struct gwlb_lb_backend *b,
			   struct gwlb_hc_cfg *cfg);

/* Copy src into dst with its own backends array. 0 or -ENOMEM. */
int gwlb_lb_service_copy(struct gwlb_lb_service *dst, const struct gwlb_lb_service *src);
void gwlb_lb_service_release(struct gwlb_lb_service *s);

const char *gwlb_lb_sched_name(enum gwlb_lb_sched s);
const char *gwlb_lb_admin_name(enum gwlb_lb_admin a);
/* "up", "drain", "down" -> 0 and *out; -EINVAL otherwise. */
int gwlb_lb_admin_parse(const char *s, enum gwlb_lb_admin *out);
/* A name for a service or backend: 1..GWLB_LB_NAME_MAX of [A-Za-z0-9-], a letter first. */
bool gwlb_lb_name_ok(const char *s);

#endif
