/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hook.h"

extern char **environ;

int gwlb_hook_spawn(pid_t *pid, int *pidfd, const char *path,
		    const posix_spawn_file_actions_t *fa, char *const argv[], char *const envp[])
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
	err = posix_spawn(pid, path, fa, &attr, argv, envp ? envp : environ);
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

/* Does environment entry e set one of extra's variables? */
static bool env_overridden(const char *e, const char *const *extra)
{
	for (; extra && *extra; extra++) {
		size_t n = strcspn(*extra, "=");

		if (!strncmp(e, *extra, n) && e[n] == '=')
			return true;
	}
	return false;
}

int gwlb_hook_start(const char *path, const char *action, const char *gwi, const char *gwo,
		    uint64_t eni, const char *const *extra_env, struct gwlb_hook_run *run)
{
	size_t n_env = 0, n_extra = 0, i, j = 0;
	char eni_hex[20];
	char *argv[6];
	char **envp;
	int ret;

	snprintf(eni_hex, sizeof(eni_hex), "%017llx", (unsigned long long)eni);
	argv[0] = (char *)path;
	argv[1] = (char *)action;
	argv[2] = (char *)gwi;
	argv[3] = (char *)gwo;
	argv[4] = eni_hex;
	argv[5] = NULL;
	while (environ[n_env])
		n_env++;
	while (extra_env && extra_env[n_extra])
		n_extra++;
	/* gwlbd's environment, with extra's variables replacing any of the same name */
	envp = calloc(n_env + n_extra + 1, sizeof(*envp));
	if (!envp)
		return -ENOMEM;
	for (i = 0; i < n_env; i++)
		if (!env_overridden(environ[i], extra_env))
			envp[j++] = environ[i];
	for (i = 0; i < n_extra; i++)
		envp[j++] = (char *)extra_env[i];
	ret = gwlb_hook_spawn(&run->pid, &run->pidfd, path, NULL, argv, envp);
	free(envp);
	return ret;
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
