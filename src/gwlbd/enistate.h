/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The ENI index state file (--state-file): read at start, rewritten whole on every change. */
#ifndef GWLBD_ENISTATE_H
#define GWLBD_ENISTATE_H

#include <stddef.h>

#include "eniidx.h"

/*
 * Load path into the empty allocator a. A missing file is an empty one (first start).
 * 0, or -errno with "path:line: reason" (or "path: reason") in err.
 */
int gwlb_enistate_load(const char *path, struct gwlb_eniidx *a, char *err, size_t errlen);

/*
 * Write a's mappings to path atomically: a temporary file in the same directory, synced,
 * renamed over it. 0 or -errno with the reason in err.
 */
int gwlb_enistate_save(const char *path, const struct gwlb_eniidx *a, char *err, size_t errlen);

#endif
