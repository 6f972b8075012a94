/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The inbound fast path: GENEVE from GWLB -> the ENI's gwi tun. */
#ifndef GWLBD_UDP_H
#define GWLBD_UDP_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "geneve.h"
#include "stats.h"

struct eni;

/*
 * Bind one SO_REUSEPORT socket per UDP worker on the GENEVE port. Refuses a port that
 * another process holds (even one that also uses SO_REUSEPORT). 0 or -errno with why.
 */
int gwlb_udp_open(char *why, size_t len);
int gwlb_udp_start(void);
void gwlb_udp_join(void);
void gwlb_udp_close(void);

/*
 * Record the flow and write the inner packet to the ENI's gwi (queue q). Used by the
 * workers and by the manager for held packets. drops: the caller's drop counters.
 */
void gwlb_udp_deliver(struct eni *e, const uint8_t *payload, size_t len,
		      const struct gwlb_geneve *g, const struct sockaddr_in *src, uint32_t local,
		      unsigned q, gwlb_ctr_t *drops);

#endif
