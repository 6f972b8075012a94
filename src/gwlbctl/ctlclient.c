/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctlclient.h"
#include "opts.h"

/* reload loads modules: give gwlbd time */
#define ANSWER_TIMEOUT_S	30
#define ANSWER_MAX		(64u << 20)

const char *gwlb_ctlclient_default_path(void)
{
	const char *p = getenv("GWLBCTL_SOCKET");

	return p && *p ? p : GWLB_CTL_SOCKET;
}

static int ctlclient_connect(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = ANSWER_TIMEOUT_S };
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "socket path %s is too long", path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		snprintf(err, errlen, "cannot connect to %s: %s (is gwlbd running?)", path,
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

enum gwlb_ctlclient_result gwlb_ctlclient_request(const char *path, const char *cmd, json_t *req,
						  json_t **ans, char *err, size_t errlen)
{
	enum gwlb_ctlclient_result ret = GWLB_CTLCLIENT_UNREACHABLE;
	char *line = NULL, *buf = NULL;
	size_t len = 0, cap = 0, off = 0;
	json_error_t jerr;
	const char *e;
	int fd = -1;

	*ans = NULL;
	json_object_set_new(req, "cmd", json_string(cmd));
	line = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (!line) {
		snprintf(err, errlen, "out of memory");
		return GWLB_CTLCLIENT_ERROR;
	}
	fd = ctlclient_connect(path, err, errlen);
	if (fd < 0)
		goto cleanup;
	len = strlen(line);
	line[len++] = '\n';	/* json_dumps leaves room: its NUL */
	while (off < len) {
		ssize_t n = send(fd, line + off, len - off, MSG_NOSIGNAL);

		if (n <= 0) {
			snprintf(err, errlen, "cannot send to %s: %s", path,
				 strerror(n < 0 ? errno : EPIPE));
			goto cleanup;
		}
		off += (size_t)n;
	}
	shutdown(fd, SHUT_WR);
	len = 0;
	for (;;) {
		ssize_t n;

		if (len + 4096 + 1 > cap) {
			char *nb;

			cap = cap ? cap * 2 : 65536;
			if (cap > ANSWER_MAX) {
				snprintf(err, errlen, "answer from gwlbd larger than %u bytes",
					 ANSWER_MAX);
				goto cleanup;
			}
			nb = realloc(buf, cap);
			if (!nb)
				goto cleanup;
			buf = nb;
		}
		n = recv(fd, buf + len, cap - len - 1, 0);
		if (n < 0) {
			snprintf(err, errlen, "no answer from gwlbd on %s: %s", path,
				 errno == EAGAIN ? "timed out" : strerror(errno));
			goto cleanup;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (memchr(buf + len - n, '\n', (size_t)n))
			break;
	}
	if (!len) {
		snprintf(err, errlen, "gwlbd on %s closed the connection without an answer", path);
		goto cleanup;
	}
	buf[len] = '\0';
	ret = GWLB_CTLCLIENT_ERROR;
	*ans = json_loads(buf, JSON_DISABLE_EOF_CHECK, &jerr);
	if (!json_is_object(*ans)) {
		snprintf(err, errlen, "unreadable answer from gwlbd: %s", jerr.text);
		json_decref(*ans);
		*ans = NULL;
		goto cleanup;
	}
	e = json_string_value(json_object_get(*ans, "error"));
	if (e) {
		snprintf(err, errlen, "%s: %s", cmd, e);
		goto cleanup;
	}
	ret = GWLB_CTLCLIENT_OK;
cleanup:
	if (fd >= 0)
		close(fd);
	free(line);
	free(buf);
	return ret;
}
