/* SPDX-License-Identifier: GPL-2.0-or-later */
/* tun devices: the gwi-/gwo- pair of one ENI. */
#ifndef GWLBD_TUN_H
#define GWLBD_TUN_H

#include <stdbool.h>
#include <stddef.h>

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

/*
 * Let the kernel forward what arrives on tun device name whatever the host's global
 * switches, for the modes that forward: IPv4 decides by the input device's
 * conf/<if>/forwarding, IPv6 by conf/all/forwarding or (6.17 and later) the input device's
 * conf/<if>/force_forwarding. Returns GWLB_TUN_FWD_V6 when this kernel has no
 * force_forwarding, 0 when both are on, or -errno.
 */
#define GWLB_TUN_FWD_V6		1
int gwlb_tun_forward(const char *name);

/*
 * Does the host forward IPv4 (v6: IPv6) arriving on some device other than gwlbd's own:
 * conf/all/forwarding on, or a device's forwarding (IPv6: force_forwarding)? dev gets
 * "all" or the first such device.
 */
bool gwlb_tun_host_forwards(bool v6, char *dev, size_t devlen);

#endif
