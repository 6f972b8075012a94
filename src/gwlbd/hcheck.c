/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The health checker (hcheck.h): one thread, one epoll, a non-blocking socket per running
 * check and the next deadline as epoll_wait's timeout. Targets are a list scanned on each
 * wake-up: fine for the hundreds of backends a service file holds.
 *
 * Only this thread frees a target, so an epoll event's pointer stays valid however
 * gwlb_hc_remove() races it: remove marks the target dead under the lock and the thread
 * reaps it (closing its socket) between two epoll_wait calls. Callbacks run without the
 * lock, so a cb may take its owner's lock while another thread holding that lock adds
 * targets; remove waits only for a cb of its own target.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "hcheck.h"
#include "hcstate.h"
#include "http.h"

/* The status line is all we read: a bounded buffer, then the connection is closed. */
#define HC_RX_MAX	256
#define HC_MAX_EVENTS	64

enum hc_phase {
	HC_IDLE = 0,
	HC_CONNECTING,
	HC_SENDING,
	HC_READING,
};

struct hc_target {
	struct hc_target *next, *prev;
	uint64_t id;
	struct gwlb_hc_cfg cfg;
	gwlb_hc_cb cb;
	void *owner;
	struct gwlb_hcstate st;
	bool dead;
	enum hc_phase phase;
	int fd;
	uint64_t due_ns;		/* the next check's start */
	uint64_t started_ns;		/* the running check's start */
	uint64_t deadline_ns;		/* and its end */
	char req[384];
	size_t req_len, req_off;
	uint8_t rx[HC_RX_MAX];
	size_t rx_len;
	int last_rtt_us;
	char last_error[96];
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;		/* in_cb went back to NULL */
	struct hc_target *head;
	uint64_t next_id;
	struct hc_target *in_cb;	/* whose cb runs now, without the lock */
	int epfd, wakefd;
	pthread_t thread;
	bool running, stopping;
} H = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
	.epfd = -1,
	.wakefd = -1,
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void hc_wake(void)
{
	uint64_t one = 1;

	if (H.wakefd >= 0 && write(H.wakefd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is already non-zero, the thread wakes anyway. */
	}
}

static socklen_t sa_len(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET ? sizeof(struct sockaddr_in) :
		sizeof(struct sockaddr_in6);
}

static uint16_t sa_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

/* The Host field when cfg has none: the address, bracketed for IPv6, and a port not 80. */
static void host_default(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];
	uint16_t port = sa_port(ss);

	if (ss->ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, a, sizeof(a));
	else
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, a, sizeof(a));
	snprintf(buf, len, ss->ss_family == AF_INET6 ? "[%s]" : "%s", a);
	if (port != 80)
		snprintf(buf + strlen(buf), len - strlen(buf), ":%u", port);
}

/* An errno as a reason: strerror's text starting lower case ("connection refused"). */
static void err_text(int e, char *buf, size_t len)
{
	snprintf(buf, len, "%s", strerror(e));
	if (buf[0] >= 'A' && buf[0] <= 'Z' && !(buf[1] >= 'A' && buf[1] <= 'Z'))
		buf[0] += 'a' - 'A';
}

/* Called with the lock held; returns with it held. */
static void hc_notify(struct hc_target *t, bool up, const char *why)
{
	if (t->dead || !t->cb)
		return;
	H.in_cb = t;
	pthread_mutex_unlock(&H.lock);
	t->cb(t->owner, up, why);
	pthread_mutex_lock(&H.lock);
	H.in_cb = NULL;
	pthread_cond_broadcast(&H.cond);
}

static void hc_close(struct hc_target *t)
{
	if (t->fd >= 0) {
		epoll_ctl(H.epfd, EPOLL_CTL_DEL, t->fd, NULL);
		close(t->fd);
		t->fd = -1;
	}
	t->phase = HC_IDLE;
}

static void hc_end(struct hc_target *t, bool ok, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The running check ended: count it, say so when the state changed. */
static void hc_end(struct hc_target *t, bool ok, const char *fmt, ...)
{
	char what[96], why[128];
	va_list ap;

	hc_close(t);
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (ok) {
		t->last_rtt_us = (int)((now_ns() - t->started_ns) / 1000);
	} else {
		t->last_rtt_us = -1;
		snprintf(t->last_error, sizeof(t->last_error), "%s", what);
	}
	if (gwlb_hcstate_update(&t->st, ok)) {
		snprintf(why, sizeof(why), "%s, %u in a row", what,
			 ok ? t->st.ok_run : t->st.fail_run);
		hc_notify(t, t->st.up, why);
	}
}

static int hc_watch(struct hc_target *t, int op, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = t };

	return epoll_ctl(H.epfd, op, t->fd, &ev);
}

static void hc_connected(struct hc_target *t)
{
	char host[80];

	if (t->cfg.type == GWLB_HC_TCP) {
		hc_end(t, true, "connected");
		return;
	}
	if (t->cfg.host[0])
		snprintf(host, sizeof(host), "%s", t->cfg.host);
	else
		host_default(&t->cfg.addr, host, sizeof(host));
	t->req_len = (size_t)snprintf(t->req, sizeof(t->req),
				      "GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: gwlbd-check\r\n"
				      "Connection: close\r\n\r\n", t->cfg.path, host);
	t->req_off = 0;
	t->rx_len = 0;
	t->phase = HC_SENDING;
	if (hc_watch(t, EPOLL_CTL_MOD, EPOLLOUT) < 0)
		hc_end(t, false, "epoll: %s", strerror(errno));
}

static void hc_send(struct hc_target *t)
{
	char e[64];
	ssize_t n;

	n = send(t->fd, t->req + t->req_off, t->req_len - t->req_off, MSG_NOSIGNAL);
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		err_text(errno, e, sizeof(e));
		return hc_end(t, false, "sending the request: %s", e);
	}
	t->req_off += (size_t)n;
	if (t->req_off < t->req_len)
		return;
	t->phase = HC_READING;
	if (hc_watch(t, EPOLL_CTL_MOD, EPOLLIN) < 0)
		hc_end(t, false, "epoll: %s", strerror(errno));
}

static void hc_read(struct hc_target *t)
{
	int status, ret;
	char e[64];
	ssize_t n;

	n = recv(t->fd, t->rx + t->rx_len, sizeof(t->rx) - t->rx_len, 0);
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		err_text(errno, e, sizeof(e));
		return hc_end(t, false, "reading the response: %s", e);
	}
	t->rx_len += (size_t)n;
	ret = gwlb_http_status(t->rx, t->rx_len, &status);
	if (ret == 0) {
		if (status == t->cfg.expect_status)
			return hc_end(t, true, "HTTP status %d", status);
		return hc_end(t, false, "HTTP status %d, expected %d", status,
			      t->cfg.expect_status);
	}
	if (ret == -EBADMSG)
		return hc_end(t, false, "not an HTTP status line");
	if (n == 0)
		return hc_end(t, false, "connection closed before the status line");
	if (t->rx_len == sizeof(t->rx))
		hc_end(t, false, "status line longer than %d bytes", HC_RX_MAX);
}

static void hc_io(struct hc_target *t, uint32_t events)
{
	int e = 0;
	socklen_t elen = sizeof(e);
	char txt[64];

	switch (t->phase) {
	case HC_CONNECTING:
		if (getsockopt(t->fd, SOL_SOCKET, SO_ERROR, &e, &elen) < 0)
			e = errno;
		if (e) {
			err_text(e, txt, sizeof(txt));
			return hc_end(t, false, "%s", txt);
		}
		if (!(events & EPOLLOUT))
			return;
		return hc_connected(t);
	case HC_SENDING:
		return hc_send(t);
	case HC_READING:
		return hc_read(t);
	case HC_IDLE:
		break;
	}
}

static void hc_begin(struct hc_target *t, uint64_t now)
{
	/* Abortive close (RST): no TIME_WAIT per check on the checker's side, as HAProxy. */
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	uint64_t ival = (uint64_t)t->cfg.interval_ms * 1000000ULL;
	char e[64];

	t->started_ns = now;
	t->deadline_ns = now + (uint64_t)t->cfg.timeout_ms * 1000000ULL;
	/* A fixed cadence from the schedule, not from when the last check ended. */
	t->due_ns += ival;
	if (t->due_ns <= now)
		t->due_ns = now + ival;
	t->fd = socket(t->cfg.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (t->fd < 0) {
		err_text(errno, e, sizeof(e));
		return hc_end(t, false, "socket: %s", e);
	}
	t->phase = HC_CONNECTING;
	setsockopt(t->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	if (t->cfg.src.ss_family && bind(t->fd, (struct sockaddr *)&t->cfg.src,
					 sa_len(&t->cfg.src)) < 0) {
		err_text(errno, e, sizeof(e));
		return hc_end(t, false, "binding check-source: %s", e);
	}
	if (connect(t->fd, (struct sockaddr *)&t->cfg.addr, sa_len(&t->cfg.addr)) < 0 &&
	    errno != EINPROGRESS) {
		err_text(errno, e, sizeof(e));
		return hc_end(t, false, "%s", e);
	}
	if (hc_watch(t, EPOLL_CTL_ADD, EPOLLOUT) < 0) {
		err_text(errno, e, sizeof(e));
		hc_end(t, false, "epoll: %s", e);
	}
}

static void hc_free(struct hc_target *t)
{
	if (t->prev)
		t->prev->next = t->next;
	else
		H.head = t->next;
	if (t->next)
		t->next->prev = t->prev;
	hc_close(t);
	free(t);
}

/* Start due checks, end late ones, free the dead; the next epoll_wait timeout in ms. */
static int hc_timers(void)
{
	struct hc_target *t, *next;
	uint64_t now = now_ns(), first = UINT64_MAX, when;

	for (t = H.head; t; t = t->next) {
		if (t->dead)
			continue;
		if (t->phase == HC_IDLE && now >= t->due_ns)
			hc_begin(t, now);
		else if (t->phase != HC_IDLE && now >= t->deadline_ns)
			hc_end(t, false, "timeout (%u ms) %s", t->cfg.timeout_ms,
			       t->phase == HC_CONNECTING ? "connecting" :
			       t->phase == HC_SENDING ? "sending the request" :
			       "waiting for the status line");
	}
	for (t = H.head; t; t = next) {
		next = t->next;
		if (t->dead) {
			hc_free(t);
			continue;
		}
		when = t->phase == HC_IDLE ? t->due_ns : t->deadline_ns;
		if (when < first)
			first = when;
	}
	if (first == UINT64_MAX)
		return -1;
	now = now_ns();
	if (first <= now)
		return 0;
	/* Rounded up: waking a little early would only loop once more. */
	return (int)((first - now + 999999) / 1000000);
}

static void *hc_main(void *arg)
{
	struct epoll_event evs[HC_MAX_EVENTS];
	struct hc_target *t;
	uint64_t v;
	int i, n, wait;

	pthread_mutex_lock(&H.lock);
	while (!H.stopping) {
		wait = hc_timers();
		pthread_mutex_unlock(&H.lock);
		n = epoll_wait(H.epfd, evs, HC_MAX_EVENTS, wait);
		pthread_mutex_lock(&H.lock);
		for (i = 0; i < n; i++) {
			if (!evs[i].data.ptr) {
				if (read(H.wakefd, &v, sizeof(v)) < 0) {
					/* EAGAIN: another wake-up took it. */
				}
				continue;
			}
			t = evs[i].data.ptr;
			/* A check ended by an earlier event of this batch leaves a stale one. */
			if (!t->dead && t->phase != HC_IDLE)
				hc_io(t, evs[i].events);
		}
	}
	pthread_mutex_unlock(&H.lock);
	return NULL;
}

int gwlb_hc_start(char *err, size_t errlen)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	sigset_t all, old;
	int ret;

	if (H.running) {
		snprintf(err, errlen, "health checker already running");
		return -EALREADY;
	}
	H.epfd = epoll_create1(EPOLL_CLOEXEC);
	H.wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (H.epfd < 0 || H.wakefd < 0 || epoll_ctl(H.epfd, EPOLL_CTL_ADD, H.wakefd, &ev) < 0) {
		ret = -errno;
		snprintf(err, errlen, "health checker: cannot set up epoll: %s", strerror(-ret));
		goto cleanup;
	}
	H.stopping = false;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	ret = -pthread_create(&H.thread, NULL, hc_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret < 0) {
		snprintf(err, errlen, "health checker: cannot start its thread: %s",
			 strerror(-ret));
		goto cleanup;
	}
	H.running = true;
	return 0;
cleanup:
	if (H.epfd >= 0)
		close(H.epfd);
	if (H.wakefd >= 0)
		close(H.wakefd);
	H.epfd = H.wakefd = -1;
	return ret;
}

void gwlb_hc_stop(void)
{
	if (!H.running)
		return;
	pthread_mutex_lock(&H.lock);
	H.stopping = true;
	pthread_mutex_unlock(&H.lock);
	hc_wake();
	pthread_join(H.thread, NULL);
	pthread_mutex_lock(&H.lock);
	while (H.head)
		hc_free(H.head);
	H.running = false;
	close(H.epfd);
	close(H.wakefd);
	H.epfd = H.wakefd = -1;
	pthread_mutex_unlock(&H.lock);
}

static bool addr_ok(const struct sockaddr_storage *ss)
{
	return (ss->ss_family == AF_INET || ss->ss_family == AF_INET6) && sa_port(ss);
}

int gwlb_hc_add(const struct gwlb_hc_cfg *cfg, gwlb_hc_cb cb, void *owner, uint64_t *id)
{
	struct gwlb_hccfg_err e;
	struct hc_target *t;

	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->cfg = *cfg;
	if (gwlb_hccfg_finish(&t->cfg, NULL, 0, &e) < 0 || t->cfg.type == GWLB_HC_NONE ||
	    !addr_ok(&t->cfg.addr)) {
		free(t);
		return -EINVAL;
	}
	t->cb = cb;
	t->owner = owner;
	t->fd = -1;
	t->last_rtt_us = -1;
	gwlb_hcstate_init(&t->st, t->cfg.rise, t->cfg.fall, !t->cfg.start_down);
	pthread_mutex_lock(&H.lock);
	t->id = ++H.next_id;
	/*
	 * Spread the first checks of many targets added at once over a quarter interval
	 * (Knuth's multiplicative hash of the id), so that a start is no burst of connects.
	 */
	t->due_ns = now_ns() + ((t->id * 2654435761ULL) % (t->cfg.interval_ms / 4 + 1)) *
		1000000ULL;
	t->next = H.head;
	if (H.head)
		H.head->prev = t;
	H.head = t;
	*id = t->id;
	pthread_mutex_unlock(&H.lock);
	hc_wake();
	return 0;
}

static struct hc_target *hc_find(uint64_t id)
{
	struct hc_target *t;

	for (t = H.head; t; t = t->next) {
		if (t->id == id && !t->dead)
			return t;
	}
	return NULL;
}

int gwlb_hc_remove(uint64_t id)
{
	struct hc_target *t;

	pthread_mutex_lock(&H.lock);
	t = hc_find(id);
	if (!t) {
		pthread_mutex_unlock(&H.lock);
		return -ENOENT;
	}
	if (!H.running) {
		hc_free(t);
		pthread_mutex_unlock(&H.lock);
		return 0;
	}
	t->dead = true;
	/* Not from its own cb: that would wait for itself. */
	while (H.in_cb == t && !pthread_equal(pthread_self(), H.thread))
		pthread_cond_wait(&H.cond, &H.lock);
	pthread_mutex_unlock(&H.lock);
	hc_wake();
	return 0;
}

int gwlb_hc_status(uint64_t id, struct gwlb_hc_status *st)
{
	struct hc_target *t;

	pthread_mutex_lock(&H.lock);
	t = hc_find(id);
	if (t) {
		*st = (struct gwlb_hc_status){
			.up = t->st.up,
			.ok_run = t->st.ok_run,
			.fail_run = t->st.fail_run,
			.checks = t->st.checks,
			.failures = t->st.failures,
			.transitions = t->st.transitions,
			.last_rtt_us = t->last_rtt_us,
		};
		snprintf(st->last_error, sizeof(st->last_error), "%s", t->last_error);
	}
	pthread_mutex_unlock(&H.lock);
	return t ? 0 : -ENOENT;
}
