/* sys: the cost of one system call, for timing it under a seccomp filter.
 *
 *   sys getppid|socket|denied N    prints the mean nanoseconds per call over N calls
 *
 * getppid: allowed unconditionally by every profile, so the kernel's per-number cache
 *          (Linux 5.11+) should skip the filter altogether.
 * socket:  socket(AF_UNIX, 0x100, 0): allowed by an argument rule on the domain in both
 *          built-in profiles, so the filter runs; the invalid type then fails in the kernel
 *          before anything is allocated.
 * denied:  keyctl(9999): denied (EPERM) by both built-in profiles; fails with EOPNOTSUPP at
 *          once without a filter. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "helper.h"

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: sys getppid|socket|denied N\n");
		return 2;
	}
	long nr, a0, a1;
	if (!strcmp(argv[1], "getppid"))
		nr = SYS_getppid, a0 = 0, a1 = 0;
	else if (!strcmp(argv[1], "socket"))
		nr = SYS_socket, a0 = 1, a1 = 0x100;
	else if (!strcmp(argv[1], "denied"))
		nr = SYS_keyctl, a0 = 9999, a1 = 0;
	else
		return 2;
	long n = atol(argv[2]);
	long long t0 = now_ns();
	for (long i = 0; i < n; i++)
		syscall(nr, a0, a1, 0L);
	long long t = now_ns() - t0;
	printf("%.1f\n", (double)t / n);
	return 0;
}
