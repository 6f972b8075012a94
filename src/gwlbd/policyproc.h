/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The policy host in a supervised child process (gwlbd --policy-child FILE), so that a
 * crashing or killed verdict module never takes the tunnel down. While the child is down
 * the kernel keeps gwlbd's table and the queue rule's bypass flag decides what happens to
 * packets that would be queued; the child is restarted with backoff.
 */
#ifndef GWLBD_POLICYPROC_H
#define GWLBD_POLICYPROC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/*
 * Start the child and wait until it has installed the table and serves the queues.
 * 0, or -errno with err saying why (a bad policy file: "file:line: reason").
 */
int gwlb_policyproc_start(const char *path, char *err, size_t errlen);

/* SIGHUP: have the child re-read the policy file; on error the running policy stays. */
int gwlb_policyproc_reload(char *err, size_t errlen);

/*
 * Forward one request ({"cmd": NAME, ...}) to the child and return its result (a new
 * reference), or NULL with err set: the child is down, did not answer in time, or
 * answered with an error.
 */
json_t *gwlb_policyproc_request(json_t *req, char *err, size_t errlen);

/*
 * The "policy" object of the health JSON: the child's own, plus state ("running",
 * "starting", "down"), pid, restarts and the last exit; json null without --policy.
 */
json_t *gwlb_policyproc_json(void);

/* False (why says so) while --policy is given and the child is not serving. */
bool gwlb_policyproc_healthy(char *why, size_t len);

/* Stop the child (SIGTERM, then SIGKILL) and make sure table inet gwlbnf is gone. */
void gwlb_policyproc_stop(void);

/* The child's side: gwlbd --policy-child FILE. Returns the process's exit status. */
int gwlb_policyproc_child_main(const char *path);

#endif
