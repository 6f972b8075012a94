/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gwlbd's control socket, gwlbctl's other end: a unix stream socket, one JSON object per
 * line each way. A request is {"cmd":"enis", ...}; the answer is the command's object, or
 * {"error":"..."}. One thread serves every client, never blocking on one of them.
 */
#ifndef GWLBD_CTL_H
#define GWLBD_CTL_H

#include <stddef.h>

/*
 * Claim the socket at path ("" or NULL: no control socket): create its directory, replace
 * a stale socket a killed gwlbd left, refuse (-EADDRINUSE) when a live gwlbd answers on it.
 * Mode 0600, or 0660 owned by group when group is given. 0 or -errno with the reason in err.
 */
int gwlb_ctl_open(const char *path, const char *group, char *err, size_t errlen);

/* Serve the claimed socket from a thread of its own. 0 or -errno. */
int gwlb_ctl_start(void);

/* Stop serving, close every client and remove the socket. Safe without open or start. */
void gwlb_ctl_stop(void);

#endif
