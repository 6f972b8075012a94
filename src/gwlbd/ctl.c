/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The control socket. One thread, one epoll: the listening socket, up to CTL_CLIENTS
 * clients and a stop eventfd. Clients are non-blocking; a request line is at most
 * CTL_REQ_MAX bytes; a client that takes longer than CTL_TIMEOUT_MS to send a request or
 * to read its answer is dropped, so a stuck gwlbctl never holds a slot for long. Answers
 * are built whole and written as the client reads them; the next request of a client is
 * only looked at once its previous answer is out.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "ctl.h"
#include "geneve.h"
#include "gwlbd.h"
#include "lb.h"
#include "lbcheck.h"
#include "log.h"
#include "nftrules.h"
#include "policyproc.h"

#define CTL_CLIENTS		16
#define CTL_REQ_MAX		8192
#define CTL_TIMEOUT_MS		5000
#define CTL_FLOWS_DEFAULT	100
#define CTL_FLOWS_MAX		10000

struct ctl_client {
	int fd;				/* -1: free slot */
	uint64_t deadline_ms;
	size_t in_len;
	char in[CTL_REQ_MAX];
	char *out;			/* answer being written */
	size_t out_len, out_off;
	bool close_after;		/* after the answer: bad request or peer done sending */
};

static struct {
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int fd;				/* listening socket, -1: none */
	int stop_fd;
	int epfd;
	bool started;
	pthread_t thread;
	struct ctl_client cl[CTL_CLIENTS];
} C = { .fd = -1, .stop_fd = -1, .epfd = -1 };

/* ---- commands ---- */

typedef json_t *(*ctl_fn)(const char *cmd, json_t *req, char *err, size_t errlen);

static json_int_t req_limit(json_t *req, json_int_t def, json_int_t max)
{
	json_t *v = json_object_get(req, "limit");
	json_int_t n = json_is_integer(v) ? json_integer_value(v) : def;

	return n < 1 ? def : n > max ? max : n;
}

static json_int_t sum_of(json_t *arr, const char *key)
{
	json_int_t sum = 0;
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v)
		sum += json_integer_value(json_object_get(v, key));
	return sum;
}

static json_int_t drops_total(json_t *drops)
{
	json_int_t sum = 0;
	const char *k;
	json_t *v;

	json_object_foreach(drops, k, v)
		sum += json_integer_value(v);
	return sum;
}

static json_t *ctl_status(const char *cmd, json_t *req, char *err, size_t errlen)
{
	json_t *st = gwlbd_status_json(), *pol, *ft, *root;

	if (!st) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pol = json_object_get(st, "policy");
	ft = json_object_get(st, "flowtab");
	root = json_pack("{s:s, s:O, s:O, s:O, s:I, s:I, s:I, s:I, s:I, s:O, s:b, s:O}",
		"version", PACKAGE_VERSION, "uptime_s", json_object_get(st, "uptime_s"),
		"healthy", json_object_get(st, "healthy"), "reason", json_object_get(st, "reason"),
		"enis", (json_int_t)json_array_size(json_object_get(st, "enis")),
		"flows", json_integer_value(json_object_get(ft, "entries")),
		"rx_packets", sum_of(json_object_get(json_object_get(st, "udp"), "workers"),
				     "rx_packets"),
		"tx_packets", sum_of(json_object_get(json_object_get(st, "tun"), "workers"),
				     "tx_packets"),
		"drops", drops_total(json_object_get(st, "drops")),
		"receive_only", json_object_get(st, "receive_only"),
		"policy", json_is_object(pol),
		"policy_file", json_is_object(pol) ? json_object_get(pol, "file") : json_null());
	json_decref(st);
	return root;
}

static json_t *ctl_enis(const char *cmd, json_t *req, char *err, size_t errlen)
{
	json_t *st = gwlbd_status_json(), *enis, *e, *root;
	size_t i;

	if (!st) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	/* The health page's objects, so both always agree; plus the sum gwlbctl shows. */
	enis = json_object_get(st, "enis");
	json_array_foreach(enis, i, e)
		json_object_set_new(e, "drops_total",
				    json_integer(drops_total(json_object_get(e, "drops"))));
	root = json_pack("{s:O}", "enis", enis);
	json_decref(st);
	return root;
}

struct flows_ctx {
	json_t *arr;
	bool by_eni;
	uint64_t eni;
	json_int_t left;
	bool truncated;
};

static int flows_cb(const struct gwlb_flow_entry *fe, void *arg)
{
	struct flows_ctx *c = arg;
	uint8_t hdr[GWLB_FLOW_HDR_MAX + 1];
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN], eni[32], cookie[16], attach[24];
	struct gwlb_geneve g;
	int af = fe->key.family == 4 ? AF_INET : AF_INET6;

	/* the stored header has no inner packet behind it: give the parser one byte */
	memcpy(hdr, fe->val.hdr, fe->val.hdr_len);
	hdr[fe->val.hdr_len] = 0;
	if (gwlb_geneve_parse(hdr, fe->val.hdr_len + 1u, &g) != GWLB_GENEVE_OK)
		return 0;
	if (c->by_eni && g.eni_id != c->eni)
		return 0;
	if (!c->left--) {
		c->truncated = true;
		return 1;
	}
	inet_ntop(af, fe->key.addr[0], a, sizeof(a));
	inet_ntop(af, fe->key.addr[1], b, sizeof(b));
	snprintf(eni, sizeof(eni), "eni-%017llx", (unsigned long long)g.eni_id);
	snprintf(cookie, sizeof(cookie), "0x%08x", g.cookie);
	snprintf(attach, sizeof(attach), "%016llx", (unsigned long long)g.attach_id);
	json_array_append_new(c->arr, json_pack(
		"{s:i, s:i, s:[{s:s, s:i}, {s:s, s:i}], s:s, s:s, s:s, s:i}",
		"family", fe->key.family, "proto", fe->key.proto,
		"endpoints", "addr", a, "port", ntohs(fe->key.port[0]),
		"addr", b, "port", ntohs(fe->key.port[1]),
		"eni", eni, "cookie", cookie, "attachment", attach,
		"idle_s", (int)fe->idle));
	return 0;
}

/* "eni-076bc493b822cd32f" or its 17 hex digits. */
static int parse_eni(const char *s, uint64_t *id)
{
	char *end;

	if (!strncmp(s, "eni-", 4))
		s += 4;
	if (!*s || strlen(s) > 17 || strspn(s, "0123456789abcdefABCDEF") != strlen(s))
		return -EINVAL;
	*id = strtoull(s, &end, 16);
	return 0;
}

static json_t *ctl_flows(const char *cmd, json_t *req, char *err, size_t errlen)
{
	struct flows_ctx c = { .left = req_limit(req, CTL_FLOWS_DEFAULT, CTL_FLOWS_MAX) };
	json_t *eni = json_object_get(req, "eni");
	struct gwlb_flowtab_stats st;

	if (!gwlbd.ft) {
		snprintf(err, errlen, "no flow table: gwlbd runs with --receive-only");
		return NULL;
	}
	if (eni) {
		if (!json_is_string(eni) || parse_eni(json_string_value(eni), &c.eni) < 0) {
			snprintf(err, errlen, "bad ENI '%s': expected eni-<17 hex digits>",
				 json_is_string(eni) ? json_string_value(eni) : "?");
			return NULL;
		}
		c.by_eni = true;
	}
	c.arr = json_array();
	gwlb_flowtab_walk(gwlbd.ft, gwlbd_now(), flows_cb, &c);
	gwlb_flowtab_stats(gwlbd.ft, &st);
	return json_pack("{s:o, s:b, s:I, s:I}", "flows", c.arr, "truncated", c.truncated,
			 "entries", (json_int_t)st.entries, "capacity", (json_int_t)st.capacity);
}

/* The policy host lives in a child process: the request goes there as it came. */
static json_t *ctl_policy(const char *cmd, json_t *req, char *err, size_t errlen)
{
	return gwlb_policyproc_request(req, err, errlen);
}

/*
 * Reload is SIGHUP's: the services file, the nft-rules files, then the policy. The answer
 * is the policy host's (or {} without --policy) with what nft-rules loaded and refused
 * under "nft_rules" and "services": "ok"; a refused services file makes the answer its
 * "file:line: reason" error (the other files were reloaded all the same). With nothing at
 * all to reload it is an error, as it was before nft-rules.
 */
static json_t *ctl_reload(const char *cmd, json_t *req, char *err, size_t errlen)
{
	bool nr = gwlb_nftrules_present();
	char lerr[1024] = "";
	json_t *ans;
	int lret = 0;

	if (gwlb_lb_enabled())
		lret = gwlb_lbcheck_reload(lerr, sizeof(lerr));
	if (gwlb_lb_enabled() && !nr && !gwlbd.opts.policy_file) {
		if (lret < 0) {
			snprintf(err, errlen, "%s", lerr);
			return NULL;
		}
		return json_pack("{s:s}", "services", "ok");
	}
	if (!nr) {
		ans = gwlb_policyproc_request(req, err, errlen);
	} else {
		gwlb_nftrules_reload();
		ans = gwlbd.opts.policy_file ? gwlb_policyproc_request(req, err, errlen) : json_object();
		if (ans)
			json_object_set_new(ans, "nft_rules", gwlb_nftrules_json());
	}
	/* a refused services file is the answer: gwlbctl exits 1 as for a refused policy */
	if (ans && lret < 0) {
		json_decref(ans);
		snprintf(err, errlen, "%s", lerr);
		return NULL;
	}
	if (ans && gwlb_lb_enabled())
		json_object_set_new(ans, "services", json_string("ok"));
	return ans;
}

static json_t *ctl_services(const char *cmd, json_t *req, char *err, size_t errlen)
{
	if (!gwlb_lb_enabled()) {
		snprintf(err, errlen, "no services: gwlbd runs without --services");
		return NULL;
	}
	return gwlb_lbcheck_json();
}

/* {"cmd":"backend","service":S,"backend":B, "state":"up|drain|down" or "weight":N} */
static json_t *ctl_backend(const char *cmd, json_t *req, char *err, size_t errlen)
{
	const char *svc = json_string_value(json_object_get(req, "service"));
	const char *be = json_string_value(json_object_get(req, "backend"));
	const char *state = json_string_value(json_object_get(req, "state"));
	json_t *w = json_object_get(req, "weight");
	enum gwlb_lb_admin admin;
	int ret;

	if (!gwlb_lb_enabled()) {
		snprintf(err, errlen, "no services: gwlbd runs without --services");
		return NULL;
	}
	if (!svc || !be || (!state == !w)) {
		snprintf(err, errlen, "bad request: needs \"service\", \"backend\" and one of \"state\", \"weight\"");
		return NULL;
	}
	if (state) {
		if (gwlb_lb_admin_parse(state, &admin) < 0) {
			snprintf(err, errlen, "bad state '%s': up, drain or down", state);
			return NULL;
		}
		ret = gwlb_lb_backend_admin(svc, be, admin, err, errlen);
	} else {
		if (!json_is_integer(w) || json_integer_value(w) < 1 ||
		    json_integer_value(w) > GWLB_LB_MAX_WEIGHT) {
			snprintf(err, errlen, "bad weight: 1..%d", GWLB_LB_MAX_WEIGHT);
			return NULL;
		}
		ret = gwlb_lb_backend_weight(svc, be, (uint32_t)json_integer_value(w), err, errlen);
	}
	return ret < 0 ? NULL : gwlb_lbcheck_json();
}

static const struct ctl_cmd {
	const char *name;
	ctl_fn fn;
} ctl_cmds[] = {
	{ "status",	ctl_status },
	{ "enis",	ctl_enis },
	{ "flows",	ctl_flows },
	{ "modules",	ctl_policy },
	{ "sets",	ctl_policy },
	{ "policy",	ctl_policy },
	{ "reload",	ctl_reload },
	{ "services",	ctl_services },
	{ "backend",	ctl_backend },
};

/* One request line -> one answer line (malloc'ed, ends in '\n'). */
static char *ctl_answer(const char *line, size_t len)
{
	json_t *req, *ans = NULL;
	json_error_t jerr;
	const char *cmd;
	char err[512] = "";
	char *out;
	size_t i;

	req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!req || !json_is_object(req)) {
		snprintf(err, sizeof(err), "bad request: %s", req ? "not a JSON object" : jerr.text);
		goto done;
	}
	cmd = json_string_value(json_object_get(req, "cmd"));
	if (!cmd) {
		snprintf(err, sizeof(err), "bad request: no \"cmd\"");
		goto done;
	}
	for (i = 0; i < sizeof(ctl_cmds) / sizeof(ctl_cmds[0]); i++)
		if (!strcmp(ctl_cmds[i].name, cmd))
			break;
	if (i == sizeof(ctl_cmds) / sizeof(ctl_cmds[0])) {
		snprintf(err, sizeof(err), "unknown command '%s'", cmd);
		goto done;
	}
	ans = ctl_cmds[i].fn(cmd, req, err, sizeof(err));
	if (!ans && !err[0])
		snprintf(err, sizeof(err), "%s failed", cmd);
	log_debug(GWLB_LS_CORE, "ctl: %s%s%s", cmd, ans ? "" : ": ", ans ? "" : err);
done:
	if (!ans)
		ans = json_pack("{s:s}", "error", err);
	json_decref(req);
	out = ans ? json_dumps(ans, JSON_COMPACT) : NULL;
	json_decref(ans);
	if (!out)
		out = strdup("{\"error\":\"out of memory\"}");
	if (out) {
		char *nl = realloc(out, strlen(out) + 2);

		if (!nl) {
			free(out);
			return NULL;
		}
		strcat(nl, "\n");
		out = nl;
	}
	return out;
}

/* ---- the server ---- */

static void client_close(struct ctl_client *c)
{
	epoll_ctl(C.epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->out);
	c->out = NULL;
	c->fd = -1;
}

static void client_want(struct ctl_client *c, uint32_t events)
{
	struct epoll_event ee = { .events = events, .data.ptr = c };

	epoll_ctl(C.epfd, EPOLL_CTL_MOD, c->fd, &ee);
}

/* Write what the client takes; then answer its next buffered request. false: gone. */
static bool client_flush(struct ctl_client *c)
{
	for (;;) {
		char *nl;
		size_t len;

		while (c->out && c->out_off < c->out_len) {
			ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
					 MSG_NOSIGNAL | MSG_DONTWAIT);

			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
				client_want(c, EPOLLOUT);
				return true;
			}
			if (n <= 0) {
				client_close(c);
				return false;
			}
			c->out_off += (size_t)n;
		}
		free(c->out);
		c->out = NULL;
		nl = memchr(c->in, '\n', c->in_len);
		if (!nl) {
			if (c->close_after) {
				client_close(c);
				return false;
			}
			client_want(c, EPOLLIN);
			return true;
		}
		len = (size_t)(nl - c->in);
		c->out = ctl_answer(c->in, len);
		c->out_len = c->out ? strlen(c->out) : 0;
		c->out_off = 0;
		memmove(c->in, nl + 1, c->in_len - len - 1);
		c->in_len -= len + 1;
		c->deadline_ms = gwlbd_now_ms() + CTL_TIMEOUT_MS;
		if (!c->out) {
			client_close(c);
			return false;
		}
	}
}

static void client_read(struct ctl_client *c)
{
	ssize_t n;

	if (c->out)
		return;		/* the answer first: requests wait in the buffer or the socket */
	n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		/* the peer is done sending: answer what is complete, then close */
		c->close_after = true;
		client_flush(c);
		return;
	}
	c->in_len += (size_t)n;
	if (!memchr(c->in, '\n', c->in_len) && c->in_len == sizeof(c->in)) {
		static const char msg[] = "{\"error\":\"request longer than 8192 bytes\"}\n";

		c->in_len = 0;
		c->out = strdup(msg);
		c->out_len = c->out ? strlen(msg) : 0;
		c->out_off = 0;
		c->close_after = true;
	}
	client_flush(c);
}

static void ctl_accept(void)
{
	struct epoll_event ee = { .events = EPOLLIN };
	int fd;
	unsigned i;

	while ((fd = accept4(C.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		for (i = 0; i < CTL_CLIENTS && C.cl[i].fd >= 0; i++)
			;
		if (i == CTL_CLIENTS) {
			static const char busy[] = "{\"error\":\"too many gwlbctl clients, try again\"}\n";

			if (send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
				log_pkt(GWLB_LS_CORE, GWLB_LL_INFO, "ctl: busy answer lost: %m");
			close(fd);
			continue;
		}
		memset(&C.cl[i], 0, offsetof(struct ctl_client, in));
		C.cl[i].fd = fd;
		C.cl[i].deadline_ms = gwlbd_now_ms() + CTL_TIMEOUT_MS;
		ee.data.ptr = &C.cl[i];
		if (epoll_ctl(C.epfd, EPOLL_CTL_ADD, fd, &ee) < 0) {
			close(fd);
			C.cl[i].fd = -1;
		}
	}
}

static void *ctl_main(void *arg)
{
	struct epoll_event ev[CTL_CLIENTS + 2];
	bool stop = false;

	while (!stop) {
		uint64_t now = gwlbd_now_ms(), next = now + 1000;
		int n, i;

		for (i = 0; i < CTL_CLIENTS; i++) {
			struct ctl_client *c = &C.cl[i];

			if (c->fd < 0)
				continue;
			if (c->deadline_ms <= now) {
				log_pkt(GWLB_LS_CORE, GWLB_LL_INFO, "ctl: client timed out");
				client_close(c);
			} else if (c->deadline_ms < next) {
				next = c->deadline_ms;
			}
		}
		n = epoll_wait(C.epfd, ev, CTL_CLIENTS + 2, (int)(next - now) + 1);
		for (i = 0; i < n; i++) {
			struct ctl_client *c = ev[i].data.ptr;

			if (!c) {
				ctl_accept();
			} else if ((void *)c == (void *)&C.stop_fd) {
				stop = true;
			} else if (c->fd >= 0) {
				if (ev[i].events & EPOLLOUT)
					client_flush(c);
				else
					client_read(c);
			}
		}
	}
	return NULL;
}

/* mkdir -p of path's directory; the last level gets mode. */
static int make_parent(const char *path, mode_t mode)
{
	char dir[sizeof(C.path)];
	char *p;

	snprintf(dir, sizeof(dir), "%s", path);
	p = strrchr(dir, '/');
	if (!p || p == dir)
		return 0;
	*p = '\0';
	for (p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(dir, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* Is a gwlbd answering on path? 1 yes, 0 no (nothing there or a stale socket), -errno. */
static int socket_live(const char *path, const struct sockaddr_un *sun)
{
	struct stat st;
	int fd, ret;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -ENOTSOCK;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	ret = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0 ? 1 :
	      errno == ECONNREFUSED ? 0 : -errno;
	close(fd);
	if (!ret && unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return ret;
}

int gwlb_ctl_open(const char *path, const char *group, char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct group *gr = NULL;
	mode_t old;
	int ret, fd = -1;

	if (!path || !*path)
		return 0;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "control socket %s: path too long", path);
		return -ENAMETOOLONG;
	}
	if (group) {
		gr = getgrnam(group);
		if (!gr) {
			snprintf(err, errlen, "--ctl-group %s: no such group", group);
			return -ENOENT;
		}
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	ret = make_parent(path, gr ? 0750 : 0755);
	if (ret < 0) {
		snprintf(err, errlen, "cannot create the directory of control socket %s: %s", path,
			 strerror(-ret));
		return ret;
	}
	ret = socket_live(path, &sun);
	if (ret == 1) {
		snprintf(err, errlen, "another gwlbd is running on %s (its control socket answers); "
			 "stop it or give this one another --ctl-socket", path);
		return -EADDRINUSE;
	}
	if (ret == -ENOTSOCK) {
		snprintf(err, errlen, "control socket %s: exists and is not a socket; remove it "
			 "or choose another --ctl-socket", path);
		return ret;
	}
	if (ret < 0) {
		snprintf(err, errlen, "control socket %s: %s", path, strerror(-ret));
		return ret;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	/* born 0600: no moment in which others could connect */
	old = umask(0177);
	ret = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (ret < 0)
		goto fail;
	snprintf(C.path, sizeof(C.path), "%s", path);
	if (gr && (chown(path, (uid_t)-1, gr->gr_gid) < 0 || chmod(path, 0660) < 0))
		goto fail;
	if (listen(fd, CTL_CLIENTS) < 0)
		goto fail;
	C.fd = fd;
	return 0;
fail:
	ret = -errno;
	snprintf(err, errlen, "cannot open control socket %s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	if (C.path[0])
		unlink(C.path);
	C.path[0] = '\0';
	return ret;
}

int gwlb_ctl_start(void)
{
	struct epoll_event ee = { .events = EPOLLIN };
	unsigned i;
	int ret;

	if (C.fd < 0)
		return 0;
	for (i = 0; i < CTL_CLIENTS; i++)
		C.cl[i].fd = -1;
	C.epfd = epoll_create1(EPOLL_CLOEXEC);
	C.stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (C.epfd < 0 || C.stop_fd < 0)
		return -errno;
	ee.data.ptr = NULL;
	if (epoll_ctl(C.epfd, EPOLL_CTL_ADD, C.fd, &ee) < 0)
		return -errno;
	ee.data.ptr = &C.stop_fd;
	if (epoll_ctl(C.epfd, EPOLL_CTL_ADD, C.stop_fd, &ee) < 0)
		return -errno;
	ret = pthread_create(&C.thread, NULL, ctl_main, NULL);
	if (ret)
		return -ret;
	C.started = true;
	log_info(GWLB_LS_CORE, "control socket %s", C.path);
	return 0;
}

void gwlb_ctl_stop(void)
{
	uint64_t one = 1;
	unsigned i;

	if (C.started) {
		if (write(C.stop_fd, &one, sizeof(one)) < 0)
			log_imp(GWLB_LS_CORE, "cannot stop the control thread: %m");
		pthread_join(C.thread, NULL);
		C.started = false;
		for (i = 0; i < CTL_CLIENTS; i++)
			if (C.cl[i].fd >= 0)
				client_close(&C.cl[i]);
	}
	if (C.fd >= 0)
		close(C.fd);
	if (C.path[0])
		unlink(C.path);
	if (C.epfd >= 0)
		close(C.epfd);
	if (C.stop_fd >= 0)
		close(C.stop_fd);
	C.fd = C.epfd = C.stop_fd = -1;
	C.path[0] = '\0';
}
