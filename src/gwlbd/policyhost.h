/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The policy host: verdict modules behind NFQUEUE, configured by the policy file. */
#ifndef GWLBD_POLICYHOST_H
#define GWLBD_POLICYHOST_H

#include <jansson.h>
#include <stddef.h>

/* Parse, load modules, install the nft table, start the queue workers. 0 or -errno + err. */
int gwlb_policyhost_start(const char *path, char *err, size_t errlen);

/*
 * Re-read the policy file and swap in new module chains without dropping traffic. On any
 * error the running policy stays and err says file:line: reason. Queue settings are read
 * at start only.
 */
int gwlb_policyhost_reload(char *err, size_t errlen);

/* Stop the workers and remove gwlbd's nft table (the kernel stops queueing). */
void gwlb_policyhost_stop(void);

/* The "policy" object of the health JSON; json null when no policy runs. */
json_t *gwlb_policyhost_json(void);

/*
 * The watchdog's look (gwlbd --policy's check that the child is not hung):
 * {"queues": [{"queue", "waiting", "stalled_ms"}, ...]}, see gwlb_nfq_stall(). Takes no
 * lock a stuck worker could hold; call it from one thread, about once a second.
 */
json_t *gwlb_policyhost_ping(void);

/*
 * The control socket's policy commands (gwlbctl): "modules", "sets" (req "name": one set
 * with its elements), "policy" (req "limit": top flows) and "reload". The answer object,
 * or NULL with the reason in err (also "no policy is running" without --policy). Uses
 * nothing but the policy host's own state, so it can answer from wherever that runs.
 */
json_t *gwlb_policyhost_ctl(const char *cmd, json_t *req, char *err, size_t errlen);

#endif
