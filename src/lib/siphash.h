/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * SipHash-2-4 (Aumasson and Bernstein, 2012): a keyed 64-bit hash whose value depends only
 * on the key and the bytes, never on the host: words are read little-endian byte by byte,
 * as the reference does, so a big-endian host gets the reference's test vectors too. For
 * values that must be the same on every machine (Maglev permutations), not for secrets
 * kept from a peer.
 */
#ifndef GWLB_SIPHASH_H
#define GWLB_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

#define GWLB_SIPHASH_KEY_LEN	16

uint64_t gwlb_siphash(const uint8_t key[GWLB_SIPHASH_KEY_LEN], const void *buf, size_t len);

#endif
