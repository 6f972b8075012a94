/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The return path: what the kernel sends out a gwo (or a gwi: local replies, ICMP errors)
 * is re-encapsulated with its flow's stored GENEVE header and sent back to GWLB.
 */
#ifndef GWLBD_TUNRX_H
#define GWLBD_TUNRX_H

#include <stddef.h>

int gwlb_tunrx_open(char *why, size_t len);
int gwlb_tunrx_start(void);
void gwlb_tunrx_join(void);
void gwlb_tunrx_close(void);

#endif
