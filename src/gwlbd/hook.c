/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hook.h"

extern char **environ;

int gwlb_hook_spawn(pid_t *pid, int *pidfd, const char *path,
		    const posix_spawn_file_actions_t *fa, char *const argv[])
{
	posix_spawnattr_t attr;
	sigset_t none, def;
	int err;

	/* gwlbd blocks its signals for signalfd; a child must start with none blocked. */
	posix_spawnattr_init(&attr);
	sigemptyset(&none);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	sigemptyset(&def);
	sigaddset(&def, SIGPIPE);
	sigaddset(&def, SIGCHLD);
	posix_spawnattr_setsigdefault(&attr, &def);
	err = posix_spawn(pid, path, fa, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
	if (err)
		return -err;
	*pidfd = syscall(SYS_pidfd_open, *pid, 0);
	if (*pidfd < 0) {
		err = -errno;
		kill(*pid, SIGKILL);
		waitpid(*pid, NULL, 0);
		return err;
	}
	return 0;
}

int gwlb_hook_start(const char *path, const char *action, const char *gwi, const char *gwo,
		    uint64_t eni, struct gwlb_hook_run *run)
{
	char eni_hex[20];
	char *argv[6];

	snprintf(eni_hex, sizeof(eni_hex), "%017llx", (unsigned long long)eni);
	argv[0] = (char *)path;
	argv[1] = (char *)action;
	argv[2] = (char *)gwi;
	argv[3] = (char *)gwo;
	argv[4] = eni_hex;
	argv[5] = NULL;
	return gwlb_hook_spawn(&run->pid, &run->pidfd, path, NULL, argv);
}

int gwlb_hook_reap(struct gwlb_hook_run *run)
{
	int status = 0;

	if (waitpid(run->pid, &status, 0) < 0)
		status = -errno;
	close(run->pidfd);
	run->pidfd = -1;
	run->pid = 0;
	return status;
}

void gwlb_hook_kill(struct gwlb_hook_run *run)
{
	kill(run->pid, SIGKILL);
	gwlb_hook_reap(run);
}
