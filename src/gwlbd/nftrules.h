/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nft-rules (gwlbnf-nft-rules(5)): the user's own nft files, applied through libnftables
 * so that they keep nft's syntax and nft's error messages. the DIR/ *.nft files are global, loaded in
 * name order at start and on reload, each in its own transaction, each owning the tables
 * it declares. The DIR/eni.d/ *.nft files are templates applied to each new ENI inside its own table
 * inet gwlbnf-eni-<name>, which goes (one delete table) with the ENI.
 *
 * Callable from the manager and the control thread: one lock around everything.
 */
#ifndef GWLBD_NFTRULES_H
#define GWLBD_NFTRULES_H

#include <jansson.h>
#include <stdbool.h>

#include "nftfile.h"

/* Remember dir ("" or NULL: nft-rules off) and load it. Broken files are logged, not fatal. */
int gwlb_nftrules_init(const char *dir);

/* Read the directory again: global files re-applied, templates re-read (new ENIs get them). */
void gwlb_nftrules_reload(void);

/* What the last load did, for gwlbctl reload: dir, counts, "file:line: reason" errors. */
json_t *gwlb_nftrules_json(void);

bool gwlb_nftrules_enabled(void);

/* Enabled and something to reload: the directory exists, or files loaded from it did. */
bool gwlb_nftrules_present(void);

/*
 * Apply every template to a new ENI (manager thread, before its CREATE hook). Returns
 * true if the ENI got a table (gwlb_nftrules_eni_destroy must remove it), false when
 * there are no templates. A template that fails is logged and left out.
 */
bool gwlb_nftrules_eni_create(const struct gwlb_nftrules_eni *v);

/* Remove the ENI's table: one delete table. */
void gwlb_nftrules_eni_destroy(uint64_t eni_id);

/* Shutdown: delete every table the global files own. */
void gwlb_nftrules_fini(void);

#endif
