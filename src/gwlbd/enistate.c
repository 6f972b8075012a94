/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "enistate.h"

/* 65535 lines of "eni-<17> <5>\n" are under 2 MiB; anything much bigger is not ours. */
#define ENISTATE_MAX	(4u << 20)

int gwlb_enistate_load(const char *path, struct gwlb_eniidx *a, char *err, size_t errlen)
{
	struct gwlb_eniidx_err perr;
	char *buf = NULL;
	size_t len = 0;
	struct stat st;
	ssize_t n;
	int fd, ret = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		ret = -errno;
		snprintf(err, errlen, "%s: cannot open the state file: %s", path, strerror(-ret));
		return ret;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > ENISTATE_MAX) {
		ret = -EINVAL;
		snprintf(err, errlen, "%s: not a regular file of at most %u bytes", path,
			 ENISTATE_MAX);
		goto cleanup;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		ret = -ENOMEM;
		snprintf(err, errlen, "%s: out of memory", path);
		goto cleanup;
	}
	while (len < (size_t)st.st_size) {
		n = read(fd, buf + len, (size_t)st.st_size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			snprintf(err, errlen, "%s: %s", path, strerror(-ret));
			goto cleanup;
		}
		if (!n)
			break;
		len += (size_t)n;
	}
	ret = gwlb_eniidx_parse(a, buf, len, &perr);
	if (ret == -EINVAL && perr.line)
		snprintf(err, errlen, "%s:%u: %s", path, perr.line, perr.reason);
	else if (ret)
		snprintf(err, errlen, "%s: %s", path, ret == -EINVAL ? perr.reason : strerror(-ret));
cleanup:
	free(buf);
	close(fd);
	return ret;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int gwlb_enistate_save(const char *path, const struct gwlb_eniidx *a, char *err, size_t errlen)
{
	char *tmp = NULL, *buf = NULL;
	int fd = -1, n, ret;

	n = gwlb_eniidx_format(a, NULL, 0);
	if (n < 0) {
		snprintf(err, errlen, "%s: cannot format the state", path);
		return n;
	}
	buf = malloc((size_t)n + 1);
	tmp = malloc(strlen(path) + sizeof(".tmp"));
	if (!buf || !tmp) {
		ret = -ENOMEM;
		snprintf(err, errlen, "%s: out of memory", path);
		goto cleanup;
	}
	gwlb_eniidx_format(a, buf, (size_t)n + 1);
	strcpy(tmp, path);
	strcat(tmp, ".tmp");
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: cannot write the state file: %s", tmp, strerror(-ret));
		goto cleanup;
	}
	/* synced before the rename: a crash leaves the old file or the new one, never half */
	ret = write_all(fd, buf, (size_t)n);
	if (!ret && fsync(fd) < 0)
		ret = -errno;
	if (close(fd) < 0 && !ret)
		ret = -errno;
	fd = -1;
	if (!ret && rename(tmp, path) < 0)
		ret = -errno;
	if (ret) {
		snprintf(err, errlen, "%s: cannot write the state file: %s", path, strerror(-ret));
		unlink(tmp);
	}
cleanup:
	if (fd >= 0)
		close(fd);
	free(tmp);
	free(buf);
	return ret;
}
