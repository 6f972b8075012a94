/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The port=N argument of the test modules that misbehave on one destination port. */
#ifndef TESTS_UNIT_MOD_PORT_H
#define TESTS_UNIT_MOD_PORT_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The one argument port=1..65535 into *port; 0, or -EINVAL with err saying what to give. */
static inline int mod_port_parse(int argc, const char *const *argv, const char *what,
				 unsigned long *port, char *err, size_t errlen)
{
	char *end;

	if (argc != 1 || strncmp(argv[0], "port=", 5)) {
		snprintf(err, errlen, "give port=N: the destination port that %s", what);
		return -EINVAL;
	}
	*port = strtoul(argv[0] + 5, &end, 10);
	if (*end || !*port || *port > 65535) {
		snprintf(err, errlen, "bad %s: want port=1..65535", argv[0]);
		return -EINVAL;
	}
	return 0;
}

#endif
