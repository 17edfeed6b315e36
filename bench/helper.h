/* Shared by the bench helpers: a clock, and the command line that runs this helper itself as
 * the program under an init. */
#ifndef HARDINIT_BENCH_HELPER_H
#define HARDINIT_BENCH_HELPER_H

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static inline long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* INIT... followed by this binary's real path and ARG1 ARG2 (ARG2 may be NULL): the init
 * execs whatever path it is given, so it gets ours, resolved. NULL when that fails. */
static inline char **self_under(char **init, char *arg1, char *arg2)
{
	static char self[4096];
	ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
	if (len < 0)
		return NULL;
	self[len] = 0;
	int argc = 0;
	while (init[argc])
		argc++;
	char **argv = calloc(argc + 4, sizeof *argv);
	if (!argv)
		return NULL;
	memcpy(argv, init, argc * sizeof *argv);
	argv[argc] = self;
	argv[argc + 1] = arg1;
	argv[argc + 2] = arg2;
	return argv;
}

#endif
