/* sig: latency of a signal forwarded by an init to its program.
 *
 *   sig N INIT [ARGS...]   runs INIT ARGS... sig receive, sends N SIGUSR1s to the init one at
 *                          a time and prints "p50_ns p99_ns min_ns max_ns"
 *   sig receive            (the program) writes the CLOCK_MONOTONIC time of every SIGUSR1
 *                          to stdout; exits on SIGTERM or when stdin closes
 *
 * The driver sends the next signal only after the previous one's timestamp arrived, so no
 * two are ever pending together (the kernel would merge them). */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helper.h"

static void on_usr1(int signo)
{
	(void)signo;
	long long t = now_ns();
	if (write(1, &t, sizeof t) != sizeof t)
		_exit(1);
}

/* A handler and a blocking read, not sigwaitinfo: the `node` seccomp profile denies
 * rt_sigtimedwait (Node never calls it), while read, write, rt_sigaction and rt_sigreturn
 * are what any Node process uses. */
static int receive(void)
{
	struct sigaction sa = {.sa_handler = on_usr1, .sa_flags = SA_RESTART};
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL) != 0)
		return 1;
	long long ready = 0;
	if (write(1, &ready, sizeof ready) != sizeof ready)
		return 1;
	char c;
	/* stdin is a pipe nobody writes to: the read blocks until SIGTERM ends the process. */
	while (read(0, &c, 1) != 0)
		;
	return 0;
}

static int cmp(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;
	return (x > y) - (x < y);
}

static int drive(int n, char **init)
{
	char **argv = self_under(init, "receive", NULL);
	if (!argv)
		return 2;

	int out[2], in[2];
	if (pipe(out) != 0 || pipe(in) != 0)
		return 2;
	alarm(120);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[0]);
		close(in[1]);
		close(out[0]);
		close(out[1]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(out[1]);
	close(in[0]);
	long long t, *lat = calloc(n, sizeof *lat);
	int ok = read(out[0], &t, sizeof t) == sizeof t;
	for (int i = 0; ok && i < n; i++) {
		long long t0 = now_ns();
		kill(pid, SIGUSR1);
		ok = read(out[0], &t, sizeof t) == sizeof t;
		lat[i] = t - t0;
	}
	kill(pid, SIGTERM);
	close(in[1]);
	int status;
	waitpid(pid, &status, 0);
	if (!ok) {
		printf("fail %d\n", status);
		return 1;
	}
	qsort(lat, n, sizeof *lat, cmp);
	printf("%lld %lld %lld %lld\n", lat[n / 2], lat[(n * 99) / 100], lat[0], lat[n - 1]);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "receive"))
		return receive();
	if (argc >= 3)
		return drive(atoi(argv[1]), argv + 2);
	fprintf(stderr, "usage: sig N INIT [ARGS...] | sig receive\n");
	return 2;
}
