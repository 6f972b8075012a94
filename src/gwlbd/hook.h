/* SPDX-License-Identifier: GPL-2.0-or-later */
/* gwlbtun-compatible hook scripts, run off the fast path. */
#ifndef GWLBD_HOOK_H
#define GWLBD_HOOK_H

#include <spawn.h>
#include <stdint.h>
#include <sys/types.h>

struct gwlb_hook_run {
	pid_t pid;
	int pidfd;	/* readable when the hook exits */
};

/*
 * How gwlbd starts any helper process (hooks, the policy host): posix_spawn path with no
 * signal blocked and SIGPIPE, SIGCHLD at their defaults, and a
 * pidfd for it. fa may be NULL; envp NULL is gwlbd's environment. 0, or -errno with
 * nothing left running.
 */
int gwlb_hook_spawn(pid_t *pid, int *pidfd, const char *path,
		    const posix_spawn_file_actions_t *fa, char *const argv[], char *const envp[]);

/*
 * Start `path ACTION gwi gwo <eni as 17 hex digits>` without waiting for it, in gwlbd's
 * environment plus extra_env (NULL-terminated "NAME=value" strings, may be NULL).
 * 0 with run filled, or -errno.
 */
int gwlb_hook_start(const char *path, const char *action, const char *gwi, const char *gwo,
		    uint64_t eni, const char *const *extra_env, struct gwlb_hook_run *run);

/* Reap a hook whose pidfd is readable: its wait status, or -errno. */
int gwlb_hook_reap(struct gwlb_hook_run *run);

/* Kill a hook that overran its time (SIGKILL) and reap it. */
void gwlb_hook_kill(struct gwlb_hook_run *run);

#endif
