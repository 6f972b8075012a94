/* SPDX-License-Identifier: GPL-2.0-or-later */
/* tun devices: the gwi-/gwo- pair of one ENI. */
#ifndef GWLBD_TUN_H
#define GWLBD_TUN_H

/* Can this process create tun devices? 0, or -errno with a hint in why. */
int gwlb_tun_probe(char *why, size_t len);

/*
 * Create (or attach to) multiqueue tun `name` with nq queues; fds[] get nonblocking,
 * close-on-exec queue fds. The device disappears when the last fd closes.
 */
int gwlb_tun_open(const char *name, unsigned nq, int *fds);

/*
 * Before the device goes up: MTU, no IPv6 address generation (no link-local address, so
 * no router solicitations, DAD or MLD noise), rp_filter 0 (set before any hook runs, so a
 * distribution's late sysctl cannot race it); then up.
 */
int gwlb_tun_setup(const char *name, unsigned mtu);

#endif
