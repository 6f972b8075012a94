/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The return path: what the kernel sends out a gwo (or a gwi: local replies, ICMP errors)
 * is re-encapsulated with its flow's stored GENEVE header and sent back to GWLB.
 */
#ifndef GWLBD_TUNRX_H
#define GWLBD_TUNRX_H

#include <stddef.h>
#include <stdint.h>

#include "flowtab.h"

/* Largest inner packet a tun hands us: its MTU (at most 9001, checked by the options). */
#define GWLB_TUN_READ_MAX	9100

/*
 * Put v's outer IPv4/UDP and GENEVE headers in front of inner[0..len) (GWLB_HEADROOM bytes
 * free before it). Returns where the datagram starts, its length in *total, or NULL when
 * it would be too big.
 */
uint8_t *gwlb_tunrx_encap(uint8_t *inner, size_t len, const struct gwlb_flow_val *v,
			  size_t *total);

int gwlb_tunrx_open(char *why, size_t len);
int gwlb_tunrx_start(void);
void gwlb_tunrx_join(void);
void gwlb_tunrx_close(void);

#endif
