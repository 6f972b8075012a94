/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The client side of gwlbd's control socket, shared by gwlbctl and gwlbnf-ct: one JSON
 * request line out, one JSON answer line back (see gwlbctl(8)).
 */
#ifndef GWLBCTL_CTLCLIENT_H
#define GWLBCTL_CTLCLIENT_H

#include <jansson.h>
#include <stddef.h>

enum gwlb_ctlclient_result {
	GWLB_CTLCLIENT_OK = 0,
	GWLB_CTLCLIENT_ERROR,		/* gwlbd answered with an error, or unreadably */
	GWLB_CTLCLIENT_UNREACHABLE,	/* no gwlbd on that socket, or no answer */
};

/* $GWLBCTL_SOCKET, or gwlbd's default --ctl-socket. */
const char *gwlb_ctlclient_default_path(void);

/*
 * Send {"cmd": cmd, ...req} (req consumed) to the socket at path and read the answer. OK:
 * *ans is the answer. ERROR: *ans is gwlbd's error answer when it sent one (else NULL), err
 * says what failed. UNREACHABLE: *ans is NULL, err says why.
 */
enum gwlb_ctlclient_result gwlb_ctlclient_request(const char *path, const char *cmd, json_t *req,
						  json_t **ans, char *err, size_t errlen);

#endif
