/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Test module without the entry symbol: a shared object that is not a verdict module. */
#include <gwlb/verdict.h>

__attribute__((visibility("default"))) int gwlb_nosym_answer(void);

__attribute__((visibility("default"))) int gwlb_nosym_answer(void)
{
	return 42;
}
