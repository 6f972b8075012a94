/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gwlbsim: a stand-in for AWS Gateway Load Balancer. What both modes share: the
 * simulator's own flow table (flow -> cookie, GWLB source port and the exact header
 * sent), the fragment map, sockets, and small parsing helpers.
 */
#ifndef GWLBSIM_SIM_H
#define GWLBSIM_SIM_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "encap.h"
#include "geneve.h"
#include "pkt.h"

#define SIM_TUN_MTU		8500
/* Largest datagram either mode handles: outer headers + GENEVE + a full tun MTU. */
#define SIM_PKT_MAX		(GWLB_OUTER_LEN + GWLB_GENEVE_AWS_LEN + SIM_TUN_MTU)
#define SIM_BATCH		64
#define SIM_SPORT_LO		10000
#define SIM_SPORT_HI		59999
#define SIM_FLOWS_MAX		(256 * 1024)

struct sim_flow {
	struct gwlb_flow_key key;
	uint8_t hdr[GWLB_GENEVE_AWS_LEN];	/* as sent: replies must match byte for byte */
	uint32_t cookie;
	uint32_t idx;		/* bench: the flow's index, carried in every payload */
	uint16_t sport;		/* GWLB's UDP source port, host order */
	uint16_t eni;		/* lab: index of the --eni entry that claimed the flow */
	uint8_t used;
};

/* Open addressing, linear probing; sized once, never shrinks or ages (a lab run is short). */
struct sim_flowtab {
	struct sim_flow *slot;
	uint32_t mask;
	uint32_t count;
	uint32_t max;
	uint32_t seed;
};

int sim_flowtab_init(struct sim_flowtab *t, uint32_t max);
void sim_flowtab_fini(struct sim_flowtab *t);
struct sim_flow *sim_flowtab_find(const struct sim_flowtab *t, const struct gwlb_flow_key *k);
/*
 * The flow that was sent with this cookie (a scan of the whole table: for the rare reply
 * whose tuple the appliance rewrote, not for every packet). NULL when none.
 */
struct sim_flow *sim_flowtab_find_cookie(const struct sim_flowtab *t, uint32_t cookie);
/* Existing entry or a fresh zeroed one with key set and *created = true; NULL when full. */
struct sim_flow *sim_flowtab_insert(struct sim_flowtab *t, const struct gwlb_flow_key *k,
				    bool *created);

/* splitmix64, seeded from getrandom(): cookies and ports need spread, not secrecy. */
struct sim_rng {
	uint64_t s;
};

void sim_rng_init(struct sim_rng *r);
uint64_t sim_rng_next(struct sim_rng *r);

struct sim_flow_params {
	uint64_t eni_id;
	uint64_t attach_id;
	uint32_t vni;
	uint16_t sport_lo, sport_hi;
};

/* Give a new flow its cookie (nonzero), source port and the header GWLB would send. */
void sim_flow_setup(struct sim_flow *f, struct sim_rng *r, const struct sim_flow_params *p);

/*
 * Later fragments carry no ports. The map remembers the full key of each first fragment
 * under (addresses, protocol, fragment id) so the rest of the datagram follows it.
 * Direct-mapped: a collision overwrites, an entry lives SIM_FRAG_TTL_NS.
 */
#define SIM_FRAG_SLOTS		4096
#define SIM_FRAG_TTL_NS		(30ULL * 1000000000ULL)

struct sim_frag {
	struct gwlb_flow_key portless;
	struct gwlb_flow_key key;
	uint64_t expires;
	uint32_t id;
	uint8_t used;
};

struct sim_fragmap {
	struct sim_frag slot[SIM_FRAG_SLOTS];
	uint32_t seed;
};

/* Record a first fragment (call for every packet; does nothing for unfragmented ones). */
void sim_frag_note(struct sim_fragmap *m, const struct gwlb_pkt_info *pi, uint64_t now);
/* Complete a later fragment's key in place. 0, or -ENOENT (key keeps no ports). */
int sim_frag_complete(struct sim_fragmap *m, struct gwlb_pkt_info *pi, uint64_t now);

uint64_t sim_now_ns(void);

int sim_parse_ip4(const char *s, uint32_t *addr);
int sim_parse_u64(const char *s, int base, uint64_t min, uint64_t max, uint64_t *v);
/* An attachment id: "vpce-<hex>", "0x<hex>" or plain hex. */
int sim_parse_attach(const char *s, uint64_t *id);
void sim_hex(const uint8_t *buf, size_t len, char *out);

/* Raw IPv4 socket for sends with our own outer headers (IPPROTO_RAW implies IP_HDRINCL). */
int sim_raw_open(void);
/* UDP socket bound to addr:port (network order) with a large receive buffer. */
int sim_udp_open(uint32_t addr, uint16_t port);

/* Ones' complement sum helpers for the bench's incremental L4 checksums. */
uint32_t sim_csum_add(uint32_t sum, const void *buf, size_t len);
uint16_t sim_csum_fold(uint32_t sum);

int sim_lab_main(int argc, char *argv[]);
int sim_bench_main(int argc, char *argv[]);

#endif
