#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# make check entry for the TLS SNI / HTTP Host fuzzer (see run.sh for FUZZ_SECONDS etc.).
FUZZER=fuzz_sni SEEDS=corpus_sni FUZZ_MAXLEN=20000 exec "$(dirname "$0")/run.sh"
