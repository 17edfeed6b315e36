/* kcost: what the kernel charges for steps of hardinit's launch that tini does not take.
 *
 *   kcost ROUNDS LEN WALK [PATH...]    (as root) prints "STEP NS" lines, medians over ROUNDS
 *
 * PATHs are what a launch copies read-only (the paths `--print-policy` lists after "private
 * read-only mounts"); without any, the /proc directories of DEFAULT_PATHS this machine has.
 *
 * Each measurement runs in a fresh child, so no step sees an earlier one's filter or
 * namespace:
 *   filter-short   seccomp(SET_MODE_FILTER) of a 6-instruction filter that allows all
 *   filter-tree    a filter of LEN instructions in which every call walks at most WALK
 *                  (the shape of hardinit's: a search, `--print-policy` gives both numbers)
 *   filter-linear  a filter of LEN instructions that every call walks to its end
 *   mount-ns       unshare(CLONE_NEWNS) and making every mount a slave (MS_REC|MS_SLAVE)
 *   ro-binds       a recursive read-only copy of each PATH mounted over it (open_tree,
 *                  mount_setattr, move_mount, close), all of them together
 *   ns-exit        how much later a parent's waitpid returns when the exiting child was
 *                  alone in such a namespace with those copies in it
 * The kernel builds a filter's per-number action cache by emulating the filter for every
 * system call number, so what a filter costs to load grows with the walk, not the length. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/mount.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helper.h"

#define MAX_ROUNDS 1000
#define MAX_PATHS 64
static const char *const DEFAULT_PATHS[] = {"/proc/acpi", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys"};
#define NDEFAULT (sizeof DEFAULT_PATHS / sizeof DEFAULT_PATHS[0])

/* LEN instructions: check the arch, load the number, (a jump over the chain to WALK), a
 * chain of compares that all fall through, allow. */
static struct sock_fprog filter_of(int len, int walk)
{
	struct sock_filter *f = calloc(len + 8, sizeof *f);
	int i = 0;
	if (!f)
		exit(1);
	f[i++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 4);
	f[i++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
	f[i++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
	f[i++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0);
	int chain = len - i - 1;
	if (walk < len) {
		chain--;
		int skip = chain - (walk - i - 2);
		if (skip < 0)
			skip = 0;
		f[i++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JA, skip, 0, 0);
	}
	for (int k = 0; k < chain; k++)
		f[i++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 100000 + k, 0, 0);
	f[i++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	return (struct sock_fprog){.len = i, .filter = f};
}

static int bind_read_only(const char *dir)
{
	int fd = syscall(SYS_open_tree, AT_FDCWD, dir, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
	if (fd < 0)
		return -1;
	struct mount_attr a = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC};
	int rc = syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof a);
	if (rc == 0)
		rc = syscall(SYS_move_mount, fd, "", AT_FDCWD, dir, MOVE_MOUNT_F_EMPTY_PATH);
	close(fd);
	return rc;
}

static int private_namespace(void)
{
	if (unshare(CLONE_NEWNS))
		return -1;
	return mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL);
}

/* The paths of `given` (or, when there are none, of DEFAULT_PATHS) this machine has. */
static int present_paths(const char *const *given, int ngiven, const char **out)
{
	struct stat st;
	int n = 0;
	if (ngiven == 0) {
		given = DEFAULT_PATHS;
		ngiven = NDEFAULT;
	}
	for (int i = 0; i < ngiven && n < MAX_PATHS; i++)
		if (stat(given[i], &st) == 0)
			out[n++] = given[i];
	return n;
}

enum step { FILTER, MOUNT_NS, RO_BIND, EXIT_PLAIN, EXIT_NS };

/* One measurement in a fresh child; the child writes its nanoseconds into *shared (for the
 * exit steps: the clock just before _exit, which the parent subtracts from its own). */
static long long measure(enum step step, struct sock_fprog *prog, const char **paths, int npaths,
			 long long *shared)
{
	*shared = -1;
	pid_t child = fork();
	if (child < 0)
		return -1;
	if (child == 0) {
		long long t0, t1;
		switch (step) {
		case FILTER:
			if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
				_exit(1);
			t0 = now_ns();
			if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, prog))
				_exit(1);
			*shared = now_ns() - t0;
			break;
		case MOUNT_NS:
			t0 = now_ns();
			if (private_namespace())
				_exit(1);
			*shared = now_ns() - t0;
			break;
		case RO_BIND:
			if (private_namespace() || npaths == 0)
				_exit(1);
			t0 = now_ns();
			for (int i = 0; i < npaths; i++)
				if (bind_read_only(paths[i]))
					_exit(1);
			t1 = now_ns();
			*shared = t1 - t0;
			break;
		case EXIT_NS:
			if (private_namespace())
				_exit(1);
			for (int i = 0; i < npaths; i++)
				if (bind_read_only(paths[i]))
					_exit(1);
			/* fall through */
		case EXIT_PLAIN:
			*shared = now_ns();
			break;
		}
		_exit(0);
	}
	int status;
	if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status))
		return -1;
	if (step == EXIT_PLAIN || step == EXIT_NS)
		return *shared < 0 ? -1 : now_ns() - *shared;
	return *shared;
}

static int by_value(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;
	return (x > y) - (x < y);
}

static long long median(long long *v, int n)
{
	qsort(v, n, sizeof *v, by_value);
	return v[n / 2];
}

int main(int argc, char **argv)
{
	if (argc < 4 || argc - 4 > MAX_PATHS) {
		fprintf(stderr, "usage: kcost ROUNDS LEN WALK [PATH...] (at most %d paths)\n", MAX_PATHS);
		return 2;
	}
	int rounds = atoi(argv[1]), len = atoi(argv[2]), walk = atoi(argv[3]);
	if (rounds < 1 || rounds > MAX_ROUNDS || len < 10 || walk < 6 || walk > len) {
		fprintf(stderr, "kcost: ROUNDS 1..%d, LEN >= 10, WALK 6..LEN\n", MAX_ROUNDS);
		return 2;
	}
	long long *shared = mmap(NULL, sizeof *shared, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED)
		return 1;
	struct sock_fprog progs[3] = {filter_of(6, 6), filter_of(len, walk), filter_of(len, len)};
	const char *names[] = {"filter-short", "filter-tree", "filter-linear", "mount-ns", "ro-binds", "ns-exit"};
	static long long v[6][MAX_ROUNDS], plain[MAX_ROUNDS];
	const char *paths[MAX_PATHS];
	int npaths = present_paths((const char *const *)argv + 4, argc - 4, paths); /* once: the same for every round */
	/* Interleaved: every round takes each step once. */
	for (int r = 0; r < rounds; r++) {
		for (int p = 0; p < 3; p++)
			v[p][r] = measure(FILTER, &progs[p], paths, npaths, shared);
		v[3][r] = measure(MOUNT_NS, NULL, paths, npaths, shared);
		v[4][r] = measure(RO_BIND, NULL, paths, npaths, shared);
		plain[r] = measure(EXIT_PLAIN, NULL, paths, npaths, shared);
		v[5][r] = measure(EXIT_NS, NULL, paths, npaths, shared);
	}
	long long plain_median = median(plain, rounds);
	for (int s = 0; s < 6; s++) {
		for (int r = 0; r < rounds; r++)
			if (v[s][r] < 0 || plain[r] < 0) {
				printf("%s fail\n", names[s]);
				goto next;
			}
		long long m = median(v[s], rounds);
		printf("%s %lld\n", names[s], s == 5 ? m - plain_median : m);
	next:;
	}
	printf("filter-lengths %d %d %d\n", progs[0].len, progs[1].len, progs[2].len);
	printf("ro-bind-paths %d\n", npaths);
	return 0;
}
