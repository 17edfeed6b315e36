/* reap: how fast an init reaps a pile of orphans.
 *
 *   reap pid1|subreaper N INIT [ARGS...]    runs INIT ARGS... reap orphans N, prints one line
 *   reap orphans N                          (the program) leaves N orphans behind and exits
 *
 * The program forks N children that exit at once and never waits for them, writes the
 * CLOCK_MONOTONIC time to stdout and exits: the kernel hands all N zombies to the init in
 * one go. The driver reports "exit_ns reap_ns total_ns leftover": reap_ns runs from the
 * program's last instant to the init's exit, so it holds only the init's work (and its
 * exit), not the forks. In pid1 mode the init is PID 1 of a new PID namespace; in subreaper
 * mode the driver is a subreaper itself, so every zombie the init leaves behind lands here
 * and is counted as leftover. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helper.h"

static int leave_orphans(int n)
{
	for (int i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid == 0)
			_exit(0);
		if (pid < 0) {
			perror("fork");
			return 1;
		}
	}
	long long t = now_ns();
	if (write(1, &t, sizeof t) != sizeof t)
		return 1;
	return 0;
}

static int drive(int pid1, char *n, char **init)
{
	char **argv = self_under(init, "orphans", n);
	if (!argv)
		return 2;

	if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0 || (pid1 && unshare(CLONE_NEWPID) != 0)) {
		perror("subreaper/unshare");
		return 2;
	}
	int out[2];
	if (pipe(out) != 0)
		return 2;
	alarm(300);
	long long t0 = now_ns();
	pid_t init_pid = fork();
	if (init_pid == 0) {
		dup2(out[1], 1);
		close(out[0]);
		close(out[1]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(out[1]);
	long long exited = 0;
	ssize_t got = read(out[0], &exited, sizeof exited);
	int status;
	waitpid(init_pid, &status, 0);
	long long t_end = now_ns();
	int leftover = 0;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		leftover++;
	if (got != sizeof exited || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		printf("fail %d\n", status);
		return 1;
	}
	printf("%lld %lld %lld %d\n", exited - t0, t_end - exited, t_end - t0, leftover);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "orphans"))
		return leave_orphans(atoi(argv[2]));
	if (argc >= 4 && (!strcmp(argv[1], "pid1") || !strcmp(argv[1], "subreaper")))
		return drive(!strcmp(argv[1], "pid1"), argv[2], argv + 3);
	fprintf(stderr, "usage: reap pid1|subreaper N INIT [ARGS...] | reap orphans N\n");
	return 2;
}
