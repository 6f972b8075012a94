/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The policy host as a child process. gwlbd spawns /proc/self/exe --policy-child FILE with
 * one end of a socketpair on descriptor 3; the child runs the policy host (policyhost.c)
 * and answers requests there, one JSON object per line:
 *
 *	gwlbd -> child	{"id": N, "cmd": "json" | "ping" | gwlbctl's "modules", "sets", "policy",
 *			"reload"}
 *	child -> gwlbd	{"id": N, "result": ...} or {"id": N, "error": "text"}
 *			and once, first: {"ready": true, "pid": P} or {"error": "text"}
 *
 * A supervisor thread in gwlbd watches the child through a pidfd and restarts it with
 * backoff. gwlbd never forks: it is threaded, and a forked copy would inherit locks other
 * threads hold; posix_spawn execs at once.
 *
 * While no child serves, the kernel keeps table inet gwlbnf: decided flows go on by their
 * conntrack mark, and the queue rule's bypass flag accepts or drops what would be queued.
 * Packets already queued when a child dies are dropped by the kernel (it reinjects the
 * queue of a closed socket with NF_DROP), whatever the bypass flag says.
 *
 * A child that hangs instead of dying (a module's verdict() loops or blocks) would keep
 * its queue and leave the kernel to the queue-full setting for good. With the policy
 * file's stall-timeout the supervisor sends "ping" every second: no answer within the
 * timeout, or a queue whose packets have waited that long for a worker that does not
 * move, and the child is killed and restarted like one that died.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gwlbd.h"
#include "hook.h"
#include "log.h"
#include "nft.h"
#include "policy.h"
#include "policyhost.h"
#include "policyproc.h"

/* The child's end of the socketpair: the first descriptor after stdin, stdout, stderr. */
#define CHILD_FD		3
#define WIRE_MAX		(16u << 20)
#define START_TIMEOUT_MS	60000
#define STOP_TIMEOUT_MS		5000
#define JSON_TIMEOUT_MS		1000
#define RELOAD_TIMEOUT_MS	30000
#define REQUEST_TIMEOUT_MS	10000
#define DELAY_FIRST_MS		500
#define DELAY_MAX_MS		30000
/* A child that ran this long was healthy: its death starts the backoff over. */
#define DELAY_RESET_MS		60000
#define DELAY_ENV		"GWLBD_POLICY_RESTART_DELAY_MS"
#define PING_INTERVAL_MS	1000

/* ---- the wire: JSON objects, one per line ---- */

struct wire {
	int fd;
	char *buf;
	size_t len;
	size_t cap;
};

static int wire_send(int fd, json_t *msg)
{
	char *s = json_dumps(msg, JSON_COMPACT), *line;
	size_t len, off = 0;
	ssize_t n;

	if (!s)
		return -ENOMEM;
	len = strlen(s);
	line = realloc(s, len + 1);
	if (!line) {
		free(s);
		return -ENOMEM;
	}
	line[len++] = '\n';
	while (off < len) {
		n = send(fd, line + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			n = -errno;
			free(line);
			return (int)n;
		}
		off += (size_t)n;
	}
	free(line);
	return 0;
}

/* One complete line off the buffer: 1 and *msg, 0 if none yet, -EPROTO if not JSON. */
static int wire_line(struct wire *w, json_t **msg)
{
	char *nl = w->len ? memchr(w->buf, '\n', w->len) : NULL;
	json_error_t je;
	size_t n;

	if (!nl)
		return 0;
	n = (size_t)(nl - w->buf);
	*msg = json_loadb(w->buf, n, 0, &je);
	memmove(w->buf, nl + 1, w->len - n - 1);
	w->len -= n + 1;
	return *msg ? 1 : -EPROTO;
}

/* One read into the buffer: 0, -EPIPE at end of file, -EMSGSIZE past WIRE_MAX. */
static int wire_fill(struct wire *w)
{
	ssize_t n;

	if (w->cap - w->len < 4096) {
		size_t cap = w->cap ? w->cap * 2 : 65536;
		char *b;

		if (cap > WIRE_MAX)
			return -EMSGSIZE;
		b = realloc(w->buf, cap);
		if (!b)
			return -ENOMEM;
		w->buf = b;
		w->cap = cap;
	}
	n = read(w->fd, w->buf + w->len, w->cap - w->len);
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : -errno;
	if (n == 0)
		return -EPIPE;
	w->len += (size_t)n;
	return 0;
}

/* The next message within timeout_ms; abort_fd turning readable (gwlbd stops) ends it. */
static int wire_recv(struct wire *w, int timeout_ms, int abort_fd, json_t **msg)
{
	uint64_t deadline = gwlbd_now_ms() + (uint64_t)timeout_ms;
	int ret;

	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = w->fd, .events = POLLIN },
			{ .fd = abort_fd, .events = POLLIN },
		};
		uint64_t now;

		ret = wire_line(w, msg);
		if (ret)
			return ret < 0 ? ret : 0;
		now = gwlbd_now_ms();
		if (now >= deadline)
			return -ETIMEDOUT;
		ret = poll(pfd, 2, (int)(deadline - now));
		if (ret < 0 && errno != EINTR)
			return -errno;
		if (ret > 0 && pfd[1].revents)
			return -ECANCELED;
		if (ret > 0) {
			ret = wire_fill(w);
			if (ret)
				return ret;
		}
	}
}

static void wire_close(struct wire *w)
{
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
	w->len = 0;
}

/* ---- gwlbd's side ---- */

enum proc_state {
	PROC_NONE,		/* no --policy */
	PROC_STARTING,
	PROC_RUNNING,
	PROC_DOWN,		/* dead, a restart is scheduled */
	PROC_HUNG,		/* the watchdog killed it, it has not ended yet */
};

static const char *const state_names[] = {
	[PROC_NONE]	= "none",
	[PROC_STARTING]	= "starting",
	[PROC_RUNNING]	= "running",
	[PROC_DOWN]	= "down",
	[PROC_HUNG]	= "hung",
};

static struct {
	char path[4096];
	char logging[256];
	_Atomic int state;

	/* The connection: one request at a time, held from its send to its answer. */
	pthread_mutex_t conn_lock;
	struct wire conn;
	uint64_t next_id;
	/* For the watchdog: when the child last said anything, how long it may be quiet. */
	_Atomic uint64_t answer_ms;
	_Atomic uint64_t quiet_until_ms;

	/* What the status shows; the supervisor writes it. */
	pthread_mutex_t info_lock;
	pid_t pid;
	uint64_t started_ms;
	uint64_t restart_at_ms;
	uint64_t exits;			/* deaths gwlbd did not ask for */
	uint64_t restarts;
	uint64_t failed_starts;
	bool bypass;
	bool fail_open;
	unsigned stall_ms;		/* the watchdog's time; 0: none */
	uint64_t wd_kills;
	char wd_reason[256];
	bool have_exit;
	pid_t exit_pid;
	int exit_status;
	char last_error[512];

	/* The supervisor's own. */
	int pidfd;
	unsigned first_delay_ms;
	unsigned delay_ms;
	int wake_fd;
	pthread_t thread;
	bool thread_started;
	_Atomic bool stopping;
	uint64_t ping_at_ms;
} PP = {
	.conn_lock = PTHREAD_MUTEX_INITIALIZER,
	.info_lock = PTHREAD_MUTEX_INITIALIZER,
	.conn = { .fd = -1 },
	.pidfd = -1,
	.wake_fd = -1,
};

static void exit_text(int status, char *buf, size_t len)
{
	if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d (%s)%s", WTERMSIG(status),
			 strsignal(WTERMSIG(status)), WCOREDUMP(status) ? ", core dumped" : "");
	else if (WIFEXITED(status))
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
	else
		snprintf(buf, len, "ended with wait status %#x", (unsigned)status);
}

/*
 * The queue settings gwlbd acts on, as the policy file sets them (queue settings are
 * start-only): the child read the same file just now. Call with info_lock held.
 */
static void policy_queue_read(const char *path)
{
	struct gwlb_policy_err perr;
	struct gwlb_policy *pol;

	PP.bypass = true;
	PP.fail_open = true;
	PP.stall_ms = GWLB_POLICY_DEF_STALL_TIMEOUT * 1000;
	if (!gwlb_policy_parse_file(path, &pol, &perr)) {
		PP.bypass = pol->queue.bypass;
		PP.fail_open = pol->queue.fail_open;
		PP.stall_ms = pol->queue.stall_timeout * 1000;
		gwlb_policy_free(pol);
	}
}

/* "section=level,..." for the child: it logs to the same stderr at the same levels. */
static void logging_spec(char *buf, size_t len)
{
	size_t off = 0;
	unsigned s;

	buf[0] = '\0';
	for (s = 0; s < GWLB_LS__MAX && off < len; s++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s=%s", s ? "," : "",
					gwlb_log_section_name(s),
					gwlb_log_level_name(gwlbd.opts.log_level[s]));
}

static unsigned first_delay(void)
{
	const char *s = getenv(DELAY_ENV);
	unsigned long v;
	char *end;

	if (!s || !*s)
		return DELAY_FIRST_MS;
	v = strtoul(s, &end, 10);
	if (*end || v < 1 || v > 600000) {
		log_imp(GWLB_LS_POLICY, "%s=%s is not 1..600000 ms: using %u ms", DELAY_ENV, s,
			DELAY_FIRST_MS);
		return DELAY_FIRST_MS;
	}
	return (unsigned)v;
}

/* The watchdog looks about once a second, twice within the shortest stall-timeout. */
static unsigned ping_interval(void)
{
	return PP.stall_ms && PP.stall_ms < 2 * PING_INTERVAL_MS ? PP.stall_ms / 2 :
	       PING_INTERVAL_MS;
}

static int child_spawn(pid_t *pid, int *pidfd, int *sock, char *err, size_t errlen)
{
	char *argv[] = { "gwlbd", "--policy-child", PP.path, "--logging", PP.logging, NULL };
	posix_spawn_file_actions_t fa;
	int sv[2], ret;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot make the policy host's socket: %s", strerror(-ret));
		return ret;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, sv[1], CHILD_FD);
	/* Tun queues and GENEVE sockets are close-on-exec already; this also covers a leak. */
	posix_spawn_file_actions_addclosefrom_np(&fa, CHILD_FD + 1);
	/* The very binary gwlbd runs, even once an upgrade replaced the file: same protocol. */
	ret = gwlb_hook_spawn(pid, pidfd, "/proc/self/exe", &fa, argv, NULL);
	posix_spawn_file_actions_destroy(&fa);
	close(sv[1]);
	if (ret) {
		close(sv[0]);
		snprintf(err, errlen, "cannot start the policy host (/proc/self/exe): %s",
			 strerror(-ret));
		return ret;
	}
	*sock = sv[0];
	return 0;
}

/* Wait up to timeout_ms for the child to end, SIGKILL it after that; its wait status. */
static int child_reap(pid_t pid, int pidfd, int timeout_ms)
{
	struct pollfd pfd = { .fd = pidfd, .events = POLLIN };
	int status = 0, n;

	do
		n = poll(&pfd, 1, timeout_ms);
	while (n < 0 && errno == EINTR);
	if (n == 0) {
		log_imp(GWLB_LS_POLICY, "policy host (pid %d) still running after %d ms: SIGKILL",
			(int)pid, timeout_ms);
		syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	close(pidfd);
	return status;
}

static void exit_record(pid_t pid, int status)
{
	pthread_mutex_lock(&PP.info_lock);
	PP.have_exit = true;
	PP.exit_pid = pid;
	PP.exit_status = status;
	pthread_mutex_unlock(&PP.info_lock);
}

/* Spawn a child and wait until it serves the queues; it is then the running one. */
static int child_start(char *err, size_t errlen)
{
	json_t *msg = NULL;
	int pidfd = -1, sock = -1, ret, status;
	char why[128];
	pid_t pid;

	atomic_store(&PP.state, PROC_STARTING);
	ret = child_spawn(&pid, &pidfd, &sock, err, errlen);
	if (ret)
		return ret;
	/* Nobody else touches the connection before the state says running. */
	PP.conn.fd = sock;
	PP.conn.len = 0;
	atomic_store(&PP.quiet_until_ms, 0);
	ret = wire_recv(&PP.conn, START_TIMEOUT_MS, PP.wake_fd, &msg);
	if (!ret && json_is_true(json_object_get(msg, "ready"))) {
		json_decref(msg);
		PP.pidfd = pidfd;
		pthread_mutex_lock(&PP.info_lock);
		PP.pid = pid;
		PP.started_ms = gwlbd_now_ms();
		policy_queue_read(PP.path);
		pthread_mutex_unlock(&PP.info_lock);
		PP.ping_at_ms = PP.started_ms + ping_interval();
		atomic_store(&PP.answer_ms, PP.started_ms);
		pthread_mutex_lock(&PP.conn_lock);
		atomic_store(&PP.state, PROC_RUNNING);
		pthread_mutex_unlock(&PP.conn_lock);
		return 0;
	}
	if (!ret) {
		const char *e = json_string_value(json_object_get(msg, "error"));

		snprintf(err, errlen, "%s", e ? e : "the policy host said something else than ready");
		ret = -EINVAL;
	}
	json_decref(msg);
	/* The child exits by itself after a start-up error, or died: give it a moment. */
	if (ret != -EINVAL && ret != -EPIPE)
		syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
	status = child_reap(pid, pidfd, STOP_TIMEOUT_MS);
	exit_record(pid, status);
	wire_close(&PP.conn);
	if (ret == -EPIPE) {
		exit_text(status, why, sizeof(why));
		snprintf(err, errlen, "the policy host (pid %d) %s before it was ready", (int)pid, why);
	} else if (ret == -ETIMEDOUT) {
		snprintf(err, errlen, "the policy host did not start within %d s",
			 START_TIMEOUT_MS / 1000);
	} else if (ret != -EINVAL) {
		snprintf(err, errlen, "the policy host's socket: %s", strerror(-ret));
	}
	return ret;
}

static void restart_schedule(void)
{
	pthread_mutex_lock(&PP.info_lock);
	PP.restart_at_ms = gwlbd_now_ms() + PP.delay_ms;
	pthread_mutex_unlock(&PP.info_lock);
	PP.delay_ms = PP.delay_ms * 2 > DELAY_MAX_MS ? DELAY_MAX_MS : PP.delay_ms * 2;
	if (PP.delay_ms < PP.first_delay_ms)
		PP.delay_ms = PP.first_delay_ms;
	atomic_store(&PP.state, PROC_DOWN);
}

static void child_died(void)
{
	uint64_t ran_ms = gwlbd_now_ms() - PP.started_ms;
	char why[128];
	int status;

	status = child_reap(PP.pid, PP.pidfd, 0);
	PP.pidfd = -1;
	pthread_mutex_lock(&PP.conn_lock);
	atomic_store(&PP.state, PROC_DOWN);
	wire_close(&PP.conn);
	pthread_mutex_unlock(&PP.conn_lock);
	exit_record(PP.pid, status);
	pthread_mutex_lock(&PP.info_lock);
	PP.exits++;
	pthread_mutex_unlock(&PP.info_lock);
	exit_text(status, why, sizeof(why));
	/* A service manager that signals every process of gwlbd's at stop gets here too. */
	if (atomic_load(&gwlbd.stop)) {
		log_imp(GWLB_LS_POLICY, "policy host (pid %d) %s while gwlbd stops", (int)PP.pid,
			why);
		pthread_mutex_lock(&PP.info_lock);
		PP.restart_at_ms = UINT64_MAX;
		pthread_mutex_unlock(&PP.info_lock);
		return;
	}
	if (ran_ms >= DELAY_RESET_MS)
		PP.delay_ms = PP.first_delay_ms;
	log_crit(GWLB_LS_POLICY, "policy host (pid %d) %s after %llu ms: restarting in %u ms; "
		 "until then the kernel %s the packets it would queue (bypass = %s)",
		 (int)PP.pid, why, (unsigned long long)ran_ms, PP.delay_ms,
		 PP.bypass ? "accepts" : "drops", PP.bypass ? "yes" : "no");
	restart_schedule();
}

static void child_restart(void)
{
	char err[512];
	int ret;

	pthread_mutex_lock(&PP.info_lock);
	PP.restarts++;
	pthread_mutex_unlock(&PP.info_lock);
	ret = child_start(err, sizeof(err));
	if (ret == -ECANCELED)
		return;
	if (ret) {
		pthread_mutex_lock(&PP.info_lock);
		PP.failed_starts++;
		snprintf(PP.last_error, sizeof(PP.last_error), "%s", err);
		pthread_mutex_unlock(&PP.info_lock);
		log_crit(GWLB_LS_POLICY, "policy host restart failed: %s; next try in %u ms", err,
			 PP.delay_ms);
		restart_schedule();
		return;
	}
	log_imp(GWLB_LS_POLICY, "policy host restarted (pid %d, restart %llu): traffic is judged again",
		(int)PP.pid, (unsigned long long)PP.restarts);
}

/* Forward: the watchdog talks to the child the way requests do. */
static int conn_take(int timeout_ms, char *err, size_t errlen);
static json_t *exchange(json_t *req, int timeout_ms, int abort_fd, int *ret, char *err,
			size_t errlen);

/* Kill a hung child: the supervisor then sees it end and restarts it as after a crash. */
static void watchdog_kill(const char *reason)
{
	pthread_mutex_lock(&PP.info_lock);
	PP.wd_kills++;
	snprintf(PP.wd_reason, sizeof(PP.wd_reason), "%s", reason);
	pthread_mutex_unlock(&PP.info_lock);
	pthread_mutex_lock(&PP.conn_lock);
	atomic_store(&PP.state, PROC_HUNG);
	pthread_mutex_unlock(&PP.conn_lock);
	log_crit(GWLB_LS_POLICY, "policy host (pid %d) hangs: %s (stall-timeout = %u s); "
		 "meanwhile the kernel %s what a full queue cannot take (fail = %s): killing it "
		 "(SIGKILL, watchdog kill %llu) for a restart", (int)PP.pid, reason,
		 PP.stall_ms / 1000, PP.fail_open ? "accepts" : "drops",
		 PP.fail_open ? "open" : "closed", (unsigned long long)PP.wd_kills);
	syscall(SYS_pidfd_send_signal, PP.pidfd, SIGKILL, NULL, 0);
}

/*
 * One look: ask the running child how its queues are doing. A worker stuck in a module
 * leaves the child's main thread free to answer, with the queue that stalls; a child that
 * does not answer at all is as hung.
 */
static void watchdog_check(void)
{
	json_t *req, *res, *q, *worst = NULL;
	json_int_t worst_ms = -1;
	char err[256], reason[256];
	int ret = -ENOMEM;
	size_t i;

	uint64_t now = gwlbd_now_ms(), quiet;

	PP.ping_at_ms = now + ping_interval();
	/*
	 * Another request holds the connection: its answer is as good as ours. Waiting for
	 * the lock instead could starve behind a status page polled without pause.
	 */
	ret = conn_take(0, err, sizeof(err));
	if (ret == -EBUSY) {
		quiet = now - atomic_load(&PP.answer_ms);
		if (quiet >= PP.stall_ms && now >= atomic_load(&PP.quiet_until_ms)) {
			snprintf(reason, sizeof(reason), "it answered nothing for %llu ms",
				 (unsigned long long)quiet);
			watchdog_kill(reason);
		}
		return;
	}
	if (ret)
		return;
	req = json_pack("{s:s}", "cmd", "ping");
	res = req ? exchange(req, (int)PP.stall_ms, PP.wake_fd, &ret, err, sizeof(err)) : NULL;
	pthread_mutex_unlock(&PP.conn_lock);
	json_decref(req);
	if (!res) {
		/* Anything else: it died (the pidfd says so next) or gwlbd stops. */
		if (ret == -ETIMEDOUT) {
			snprintf(reason, sizeof(reason), "it answered nothing for %llu ms",
				 (unsigned long long)(gwlbd_now_ms() - atomic_load(&PP.answer_ms)));
			watchdog_kill(reason);
		}
		return;
	}
	json_array_foreach(json_object_get(res, "queues"), i, q) {
		json_int_t ms = json_integer_value(json_object_get(q, "stalled_ms"));

		if (ms >= (json_int_t)PP.stall_ms && ms > worst_ms) {
			worst = q;
			worst_ms = ms;
		}
	}
	if (worst) {
		snprintf(reason, sizeof(reason), "queue %" JSON_INTEGER_FORMAT " gave no verdict "
			 "for %" JSON_INTEGER_FORMAT " ms with %" JSON_INTEGER_FORMAT
			 " packets waiting", json_integer_value(json_object_get(worst, "queue")),
			 worst_ms, json_integer_value(json_object_get(worst, "waiting")));
		watchdog_kill(reason);
	}
	json_decref(res);
}

static void *super_main(void *arg)
{
	while (!atomic_load(&PP.stopping)) {
		struct pollfd pfd[2] = {
			{ .fd = PP.wake_fd, .events = POLLIN },
			{ .fd = PP.pidfd, .events = POLLIN },
		};
		int timeout = -1;

		if (atomic_load(&PP.state) == PROC_DOWN) {
			uint64_t now = gwlbd_now_ms();

			if (PP.restart_at_ms == UINT64_MAX)
				timeout = -1;
			else if (PP.restart_at_ms > now)
				timeout = (int)(PP.restart_at_ms - now);
			else
				timeout = 0;
		} else if (atomic_load(&PP.state) == PROC_RUNNING && PP.stall_ms) {
			uint64_t now = gwlbd_now_ms();

			timeout = PP.ping_at_ms > now ? (int)(PP.ping_at_ms - now) : 0;
		}
		if (poll(pfd, 2, timeout) < 0 && errno != EINTR)
			break;
		if (atomic_load(&PP.stopping))
			break;
		if (PP.pidfd >= 0 && pfd[1].revents)
			child_died();
		else if (atomic_load(&PP.state) == PROC_DOWN && gwlbd_now_ms() >= PP.restart_at_ms)
			child_restart();
		else if (atomic_load(&PP.state) == PROC_RUNNING && PP.stall_ms &&
			 gwlbd_now_ms() >= PP.ping_at_ms)
			watchdog_check();
	}
	return NULL;
}

int gwlb_policyproc_start(const char *path, char *err, size_t errlen)
{
	int ret;

	if (atomic_load(&PP.state) != PROC_NONE)
		return -EALREADY;
	if (strlen(path) >= sizeof(PP.path)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -ENAMETOOLONG;
	}
	snprintf(PP.path, sizeof(PP.path), "%s", path);
	logging_spec(PP.logging, sizeof(PP.logging));
	PP.first_delay_ms = first_delay();
	PP.delay_ms = PP.first_delay_ms;
	atomic_store(&PP.stopping, false);
	PP.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (PP.wake_fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "eventfd: %s", strerror(-ret));
		return ret;
	}
	ret = child_start(err, errlen);
	if (!ret) {
		log_info(GWLB_LS_POLICY, "policy host running as pid %d", (int)PP.pid);
		ret = -pthread_create(&PP.thread, NULL, super_main, NULL);
		if (ret)
			snprintf(err, errlen, "cannot start the policy supervisor: %s", strerror(-ret));
		PP.thread_started = !ret;
	}
	if (ret) {
		gwlb_policyproc_stop();
		atomic_store(&PP.state, PROC_NONE);
		return ret;
	}
	return 0;
}

void gwlb_policyproc_stop(void)
{
	int status, ret;
	char why[128];

	if (atomic_load(&PP.state) == PROC_NONE)
		return;
	atomic_store(&PP.stopping, true);
	if (eventfd_write(PP.wake_fd, 1) < 0)
		log_imp(GWLB_LS_POLICY, "cannot wake the policy supervisor: %m");
	if (PP.thread_started)
		pthread_join(PP.thread, NULL);
	PP.thread_started = false;
	if (PP.pidfd >= 0) {
		syscall(SYS_pidfd_send_signal, PP.pidfd, SIGTERM, NULL, 0);
		status = child_reap(PP.pid, PP.pidfd, STOP_TIMEOUT_MS);
		PP.pidfd = -1;
		if (!WIFEXITED(status) || WEXITSTATUS(status)) {
			exit_text(status, why, sizeof(why));
			log_imp(GWLB_LS_POLICY, "policy host (pid %d) %s on stop", (int)PP.pid, why);
		}
	}
	pthread_mutex_lock(&PP.conn_lock);
	atomic_store(&PP.state, PROC_DOWN);
	wire_close(&PP.conn);
	free(PP.conn.buf);
	PP.conn.buf = NULL;
	PP.conn.cap = 0;
	pthread_mutex_unlock(&PP.conn_lock);
	/* A child killed before it could clean up leaves its table behind: never us. */
	ret = gwlb_nft_remove();
	if (ret < 0)
		log_crit(GWLB_LS_POLICY, "cannot remove table inet %s: %s (nft delete table inet %s)",
			 GWLB_NFT_TABLE, strerror(-ret), GWLB_NFT_TABLE);
	close(PP.wake_fd);
	PP.wake_fd = -1;
	atomic_store(&PP.state, PROC_NONE);
}

/*
 * Take the connection to a running child within timeout_ms (0: only if it is free now).
 * 0, -EBUSY (another request holds it) or -EAGAIN (no child serves), err says which.
 */
static int conn_take(int timeout_ms, char *err, size_t errlen)
{
	struct timespec ts;
	int ret;

	if (!timeout_ms) {
		ret = pthread_mutex_trylock(&PP.conn_lock);
	} else {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += timeout_ms / 1000;
		ts.tv_nsec += (timeout_ms % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		ret = pthread_mutex_timedlock(&PP.conn_lock, &ts);
	}
	if (ret) {
		snprintf(err, errlen, "the policy host is busy with another request");
		return -EBUSY;
	}
	if (atomic_load(&PP.state) != PROC_RUNNING) {
		snprintf(err, errlen, "the policy host is %s", state_names[atomic_load(&PP.state)]);
		pthread_mutex_unlock(&PP.conn_lock);
		return -EAGAIN;
	}
	return 0;
}

/*
 * With the connection taken: send req with an id and wait up to timeout_ms for the answer
 * that carries it (abort_fd readable ends the wait). The result, or NULL + *ret, err.
 */
static json_t *exchange(json_t *req, int timeout_ms, int abort_fd, int *ret, char *err,
			size_t errlen)
{
	uint64_t deadline = gwlbd_now_ms() + (uint64_t)timeout_ms, now, id;
	json_t *msg, *ans = NULL, *res = NULL;
	const char *e;

	/* A request allowed to take longer than stall-timeout (a reload) is no hang. */
	if ((unsigned)timeout_ms > PP.stall_ms)
		atomic_store(&PP.quiet_until_ms, deadline);
	id = ++PP.next_id;
	msg = json_copy(req);
	if (!msg || json_object_set_new(msg, "id", json_integer((json_int_t)id))) {
		json_decref(msg);
		*ret = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	*ret = wire_send(PP.conn.fd, msg);
	json_decref(msg);
	/* An answer to an earlier request that timed out may come first: skip it. */
	while (!*ret) {
		now = gwlbd_now_ms();
		*ret = wire_recv(&PP.conn, now < deadline ? (int)(deadline - now) : 0, abort_fd,
				 &ans);
		if (*ret)
			break;
		atomic_store(&PP.answer_ms, gwlbd_now_ms());
		if (json_integer_value(json_object_get(ans, "id")) == (json_int_t)id)
			break;
		json_decref(ans);
		ans = NULL;
	}
	if (*ret == -ETIMEDOUT)
		snprintf(err, errlen, "the policy host did not answer within %d ms", timeout_ms);
	else if (*ret == -EPIPE)
		snprintf(err, errlen, "the policy host exited");
	else if (*ret == -ECANCELED)
		snprintf(err, errlen, "gwlbd stops");
	else if (*ret)
		snprintf(err, errlen, "the policy host's socket: %s", strerror(-*ret));
	else if ((e = json_string_value(json_object_get(ans, "error")))) {
		snprintf(err, errlen, "%s", e);
		*ret = -EINVAL;
	} else if (!(res = json_object_get(ans, "result"))) {
		snprintf(err, errlen, "the policy host's answer has no result");
		*ret = -EPROTO;
	} else {
		json_incref(res);
	}
	json_decref(ans);
	return res;
}

/* Send req with an id and wait for the answer that carries it; NULL + *ret, err on error. */
static json_t *request(json_t *req, int timeout_ms, int *ret, char *err, size_t errlen)
{
	json_t *res;

	*ret = conn_take(timeout_ms, err, errlen);
	if (*ret)
		return NULL;
	res = exchange(req, timeout_ms, -1, ret, err, errlen);
	pthread_mutex_unlock(&PP.conn_lock);
	return res;
}

json_t *gwlb_policyproc_request(json_t *req, char *err, size_t errlen)
{
	int ret;

	const char *cmd = json_string_value(json_object_get(req, "cmd"));

	if (!cmd) {
		snprintf(err, errlen, "a request needs a \"cmd\"");
		return NULL;
	}
	if (atomic_load(&PP.state) == PROC_NONE) {
		snprintf(err, errlen, "no policy is running (start gwlbd with --policy)");
		return NULL;
	}
	return request(req, strcmp(cmd, "reload") ? REQUEST_TIMEOUT_MS : RELOAD_TIMEOUT_MS, &ret,
		       err, errlen);
}

/* Ask the child for cmd with no arguments. */
static json_t *request_cmd(const char *cmd, int timeout_ms, int *ret, char *err, size_t errlen)
{
	json_t *req = json_pack("{s:s}", "cmd", cmd), *res;

	res = request(req, timeout_ms, ret, err, errlen);
	json_decref(req);
	return res;
}

int gwlb_policyproc_reload(char *err, size_t errlen)
{
	json_t *res;
	int ret;

	if (atomic_load(&PP.state) == PROC_NONE) {
		snprintf(err, errlen, "no policy is running (start gwlbd with --policy)");
		return -ENOENT;
	}
	res = request_cmd("reload", RELOAD_TIMEOUT_MS, &ret, err, errlen);
	if (!res && ret == -EAGAIN)
		snprintf(err, errlen, "the policy host is %s: it reads %s anew when it starts",
			 state_names[atomic_load(&PP.state)], PP.path);
	json_decref(res);
	return res ? 0 : ret;
}

json_t *gwlb_policyproc_json(void)
{
	int state = atomic_load(&PP.state), ret;
	json_t *o = NULL, *ex = json_null();
	uint64_t now = gwlbd_now_ms();
	char err[256], why[128];

	if (state == PROC_NONE)
		return json_null();
	if (state == PROC_RUNNING)
		o = request_cmd("json", JSON_TIMEOUT_MS, &ret, err, sizeof(err));
	if (!json_is_object(o)) {
		json_decref(o);
		o = json_pack("{s:s}", "file", PP.path);
		if (state == PROC_RUNNING)
			json_object_set_new(o, "error", json_string(err));
	}
	/* The request may have seen the child die. */
	state = atomic_load(&PP.state);
	pthread_mutex_lock(&PP.info_lock);
	if (PP.have_exit) {
		exit_text(PP.exit_status, why, sizeof(why));
		ex = json_pack("{s:i, s:s}", "pid", (int)PP.exit_pid, "text", why);
		if (WIFSIGNALED(PP.exit_status))
			json_object_set_new(ex, "signal", json_integer(WTERMSIG(PP.exit_status)));
		else if (WIFEXITED(PP.exit_status))
			json_object_set_new(ex, "status", json_integer(WEXITSTATUS(PP.exit_status)));
	}
	json_object_set_new(o, "state", json_string(state_names[state]));
	json_object_set_new(o, "up", json_boolean(state == PROC_RUNNING));
	json_object_set_new(o, "pid", state == PROC_RUNNING ? json_integer(PP.pid) : json_null());
	json_object_set_new(o, "bypass", json_boolean(PP.bypass));
	json_object_set_new(o, "exits", json_integer((json_int_t)PP.exits));
	json_object_set_new(o, "restarts", json_integer((json_int_t)PP.restarts));
	json_object_set_new(o, "failed_starts", json_integer((json_int_t)PP.failed_starts));
	json_object_set_new(o, "last_exit", ex);
	json_object_set_new(o, "last_start_error",
			    PP.last_error[0] ? json_string(PP.last_error) : json_null());
	json_object_set_new(o, "watchdog", json_pack("{s:b, s:I, s:I, s:o}",
		"enabled", PP.stall_ms != 0, "stall_timeout_ms", (json_int_t)PP.stall_ms,
		"kills", (json_int_t)PP.wd_kills,
		"last_reason", PP.wd_reason[0] ? json_string(PP.wd_reason) : json_null()));
	if (state == PROC_DOWN && PP.restart_at_ms != UINT64_MAX)
		json_object_set_new(o, "restart_in_ms", json_integer(PP.restart_at_ms > now ?
					(json_int_t)(PP.restart_at_ms - now) : 0));
	pthread_mutex_unlock(&PP.info_lock);
	return o;
}

bool gwlb_policyproc_healthy(char *why, size_t len)
{
	int state = atomic_load(&PP.state);

	if (state == PROC_NONE || state == PROC_RUNNING)
		return true;
	pthread_mutex_lock(&PP.info_lock);
	if (state == PROC_HUNG)
		snprintf(why, len, "the policy host is hung (%s): the watchdog killed it, a "
			 "restart follows", PP.wd_reason);
	else
		snprintf(why, len, "the policy host is %s: the kernel %s what it would queue "
			 "(bypass = %s)", state == PROC_DOWN ? "down" : "restarting",
			 PP.bypass ? "accepts" : "drops", PP.bypass ? "yes" : "no");
	pthread_mutex_unlock(&PP.info_lock);
	return false;
}

/* ---- the child's side: gwlbd --policy-child FILE ---- */

struct child_cmd {
	const char *name;
	json_t *(*fn)(json_t *req, char *err, size_t errlen);
};

static json_t *child_cmd_json(json_t *req, char *err, size_t errlen)
{
	return gwlb_policyhost_json();
}

static json_t *child_cmd_ping(json_t *req, char *err, size_t errlen)
{
	return gwlb_policyhost_ping();
}

/* What the policy host answers itself; everything else is gwlbctl's (policyhost.c). */
static const struct child_cmd child_cmds[] = {
	{ "json",	child_cmd_json },
	{ "ping",	child_cmd_ping },
	{ NULL,		NULL },
};

static json_t *child_dispatch(json_t *req)
{
	const char *cmd = json_string_value(json_object_get(req, "cmd"));
	const struct child_cmd *c = child_cmds;
	json_t *res = NULL, *ans, *id;
	char err[512] = "";

	while (cmd && c->name && strcmp(c->name, cmd))
		c++;
	if (!cmd)
		snprintf(err, sizeof(err), "unknown command");
	else if (c->name)
		res = c->fn(req, err, sizeof(err));
	else
		res = gwlb_policyhost_ctl(cmd, req, err, sizeof(err));
	if (res)
		ans = json_pack("{s:o}", "result", res);
	else
		ans = json_pack("{s:s}", "error", err[0] ? err : "failed");
	id = json_object_get(req, "id");
	if (ans && id)
		json_object_set(ans, "id", id);
	return ans;
}

/* Answer every complete request in the buffer; < 0 when gwlbd's end is gone. */
static int child_serve(struct wire *w)
{
	json_t *req, *ans;
	int ret;

	ret = wire_fill(w);
	if (ret)
		return ret;
	while ((ret = wire_line(w, &req)) != 0) {
		if (ret < 0)
			ans = json_pack("{s:s}", "error", "not a JSON object");
		else
			ans = child_dispatch(req);
		if (ret > 0)
			json_decref(req);
		ret = ans ? wire_send(w->fd, ans) : -ENOMEM;
		json_decref(ans);
		if (ret)
			return ret;
	}
	return 0;
}

/* SIGTERM / SIGINT end the child (false, *si says who sent it); SIGHUP to it reloads. */
static bool child_signal(int sfd, struct signalfd_siginfo *si)
{
	char err[512];

	while (read(sfd, si, sizeof(*si)) == sizeof(*si)) {
		if (si->ssi_signo != SIGHUP)
			return false;
		if (gwlb_policyhost_reload(err, sizeof(err)) < 0)
			log_crit(GWLB_LS_POLICY, "reload refused, the running policy stays: %s", err);
	}
	return true;
}

/*
 * A stop signal from someone else while gwlbd lives: gwlbd restarts us, and removing the
 * table meanwhile would let every packet through unjudged, bypass = no or not. End as
 * killed, like a crash, and leave the table to the kernel.
 */
static void child_die_by(const struct signalfd_siginfo *si)
{
	sigset_t mask;

	log_imp(GWLB_LS_POLICY, "policy host: %s from pid %u: table inet %s stays for gwlbd's "
		"restart", strsignal((int)si->ssi_signo), si->ssi_pid, GWLB_NFT_TABLE);
	sigemptyset(&mask);
	sigaddset(&mask, (int)si->ssi_signo);
	signal((int)si->ssi_signo, SIG_DFL);
	pthread_sigmask(SIG_UNBLOCK, &mask, NULL);
	raise((int)si->ssi_signo);
}

/*
 * A worker stuck in a module's verdict() never joins, so a stop would wait forever; with
 * gwlbd gone (SIGKILLed) nobody else would end us and the queue would stay bound to a dead
 * worker. Give the stop this long, then take the table down and go.
 */
#define CHILD_STOP_LIMIT_S	5

static void *child_stop_limit(void *arg)
{
	(void)arg;
	sleep(CHILD_STOP_LIMIT_S);
	log_crit(GWLB_LS_POLICY, "policy host: stop did not finish in %d s (a worker stuck in a "
		 "module?): removing table inet gwlbnf and exiting", CHILD_STOP_LIMIT_S);
	gwlb_nft_remove();
	_exit(1);
	return NULL;
}

int gwlb_policyproc_child_main(const char *path)
{
	struct signalfd_siginfo si = { 0 };
	struct wire w = { .fd = CHILD_FD };
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	char err[512] = "";
	json_t *msg;
	int sfd, ret;

	if (getsockopt(CHILD_FD, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0) {
		fprintf(stderr, "gwlbd: --policy-child is internal: gwlbd --policy starts it with "
			"its socket on descriptor %d\n", CHILD_FD);
		return 1;
	}
	/*
	 * Die with gwlbd. The signal comes when the thread that spawned us ends: gwlbd's main
	 * thread or its supervisor, which both outlive us. gwlbd may be gone before prctl.
	 */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != cred.pid)
		return 1;
	/* Before the workers exist: they inherit the mask and the signals come to signalfd. */
	sfd = gwlbd_signalfd();
	/* Whatever a module runs must not hold gwlbd's socket open. */
	if (sfd < 0 || fcntl(CHILD_FD, F_SETFD, FD_CLOEXEC) < 0) {
		fprintf(stderr, "gwlbd: policy host: cannot set up signals: %m\n");
		return 1;
	}

	ret = gwlb_policyhost_start(path, err, sizeof(err));
	if (ret < 0) {
		msg = json_pack("{s:s}", "error", err[0] ? err : strerror(-ret));
		wire_send(CHILD_FD, msg);
		json_decref(msg);
		return 1;
	}
	msg = json_pack("{s:b, s:i}", "ready", 1, "pid", (int)getpid());
	ret = wire_send(CHILD_FD, msg);
	json_decref(msg);
	while (!ret) {
		struct pollfd pfd[2] = {
			{ .fd = CHILD_FD, .events = POLLIN },
			{ .fd = sfd, .events = POLLIN },
		};

		if (poll(pfd, 2, -1) < 0) {
			ret = errno == EINTR ? 0 : -errno;
			continue;
		}
		if (pfd[1].revents && !child_signal(sfd, &si))
			break;
		if (pfd[0].revents)
			ret = child_serve(&w);
	}
	if (ret == -EPIPE)
		log_imp(GWLB_LS_POLICY, "gwlbd closed the policy host's socket: stopping");
	/* gwlbd's own SIGTERM, and the death signal, come from gwlbd's pid. */
	if (si.ssi_signo && si.ssi_pid != (uint32_t)cred.pid && getppid() == cred.pid)
		child_die_by(&si);
	{
		pthread_t t;

		if (pthread_create(&t, NULL, child_stop_limit, NULL) == 0)
			pthread_detach(t);
	}
	gwlb_policyhost_stop();
	free(w.buf);
	close(sfd);
	return 0;
}
