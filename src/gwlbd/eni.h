/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ENI lifecycle. The UDP workers find an ENI by id in a lock-free map; everything else
 * (creating the tun pair, hooks, idle destroy) happens in the manager thread. Packets for
 * an ENI that does not exist yet, or whose CREATE hook is still running, are held in a
 * bounded pool and delivered, in order, once the hook has finished.
 */
#ifndef GWLBD_ENI_H
#define GWLBD_ENI_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "gwlbd.h"
#include "hook.h"
#include "route.h"

/* Something the manager's epoll waits for. */
struct gwlb_ev {
	int fd;
	void (*cb)(struct gwlb_ev *ev, uint32_t events);
};

enum eni_state {
	ENI_CREATING,		/* tun pair up, CREATE hook running: packets held */
	ENI_READY,
	ENI_DESTROYING,		/* DESTROY hook running: packets held for the next incarnation */
};

/* One tun queue fd, as the tun workers see it in their epoll. */
struct tunq {
	struct eni *eni;
	int fd;
	bool gwo;
};

struct held_pkt;

struct eni {
	uint64_t id;
	uint16_t index;			/* stable ENI index 1..max-eni: mark, zone, table (eniidx.h) */
	uint16_t idx;			/* flow-table ENI index: index - 1 */
	bool net;			/* its elements are in table inet gwlbnf-net */
	_Atomic int state;
	char id_hex[20];		/* 17 hex digits, as hooks get it */
	char gwi[IFNAMSIZ];
	char gwo[IFNAMSIZ];
	int *gwi_fd;			/* one per tun worker */
	int *gwo_fd;			/* NULL in receive-only mode */
	struct tunq *q;			/* 2 x n_tun */
	uint64_t created_ms;
	_Atomic uint32_t last_active;	/* gwlbd_now() of the last packet, either direction */
	gwlb_ctr_t rx_pkts, rx_bytes;	/* GWLB -> gwi */
	gwlb_ctr_t tx_pkts, tx_bytes;	/* gwo/gwi -> GWLB */
	gwlb_ctr_t drops[GWLB_DROP__MAX];
	gwlb_ctr_t nat_restored;	/* sent with a header found through conntrack (ctrestore.h) */

	/* Manager-only below. */
	struct held_pkt *held, **held_tail;	/* under the hold lock */
	struct gwlb_hook_run hook;
	struct gwlb_ev hook_ev;
	uint32_t hook_started;
	bool hook_running;
	bool nft_table;				/* nft-rules made table inet gwlbnf-eni-<name> */
	/* Set before the ENI is on the list, emptied after it left: the list lock covers it. */
	enum gwlb_mode mode;
	struct gwlb_route_set routes;		/* the rules and routes gwlbd added for it */
	struct eni *next;			/* the manager's list of all ENIs */
};

/* Also loads --state-file: 0, or -errno with "file:line: reason" in err. */
int gwlb_eni_init(int epfd, char *err, size_t errlen);
void gwlb_eni_fini(void);

/* Lock-free; valid until the caller's next quiescent state. */
struct eni *gwlb_eni_lookup(uint64_t id);

/*
 * A packet for an ENI that is missing or not ready (UDP worker). Returns 1 if the ENI
 * has become ready meanwhile (deliver it yourself), 0 if held, or -ENOBUFS when the hold
 * pool is full (the caller counts the drop).
 */
int gwlb_eni_hold(uint64_t id, const uint8_t *payload, size_t len,
		  const struct sockaddr_in *src, uint32_t local);

/* Once a second from the manager: idle destroy, hook time-outs, flow ageing. */
void gwlb_eni_tick(void);

/* Begin shutdown: DESTROY every ENI. gwlb_eni_count() reaches 0 when all are gone. */
void gwlb_eni_shutdown(void);
unsigned gwlb_eni_count(void);
/* Is index idx kept for an ENI (in use, or from the state file)? */
bool gwlb_eni_index_kept(uint16_t idx);

/* Call fn for each ENI (health thread): under the manager's list lock. */
void gwlb_eni_foreach(void (*fn)(struct eni *e, void *arg), void *arg);

uint64_t gwlb_eni_held_now(void);
uint64_t gwlb_eni_hold_overflow(void);

#endif
