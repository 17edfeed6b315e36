/* launch: time sequential launches of several commands, interleaved round by round.
 *
 *   launch SPECFILE ROUNDS PER_ROUND
 *
 * SPECFILE holds one contender per line: a name, then the argv, all separated by tabs.
 * Each round runs PER_ROUND launches of every contender, in an order that rotates from round
 * to round, so that a burst of load from elsewhere on the machine hits every contender alike.
 * Prints one line per launch: "NAME ROUND NANOSECONDS", or "NAME fail STATUS" when a launch
 * does not exit 0 (the caller reports that contender as n/a).
 * The launched program's stdout and stderr go to /dev/null: warnings such as tini's
 * "not PID 1" must not be timed as terminal output. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helper.h"

#define MAX_CONTENDERS 32
#define MAX_ARGS 32

struct contender {
	char *name;
	char *argv[MAX_ARGS + 1];
	int failed;
};

static int read_spec(const char *path, struct contender *c)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		perror(path);
		exit(2);
	}
	int n = 0;
	char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, f) > 0 && n < MAX_CONTENDERS) {
		line[strcspn(line, "\n")] = 0;
		if (!*line)
			continue;
		char *save = NULL;
		c[n].name = strdup(strtok_r(line, "\t", &save));
		int a = 0;
		for (char *t; a < MAX_ARGS && (t = strtok_r(NULL, "\t", &save));)
			c[n].argv[a++] = strdup(t);
		c[n].argv[a] = NULL;
		n++;
	}
	free(line);
	fclose(f);
	return n;
}

/* Returns the wait status of one launch and stores its duration in *ns. */
static int launch_once(struct contender *c, long long *ns)
{
	long long t0 = now_ns();
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		dup2(null, 2);
		execv(c->argv[0], c->argv);
		_exit(127);
	}
	int status = -1;
	waitpid(pid, &status, 0);
	*ns = now_ns() - t0;
	return status;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: launch SPECFILE ROUNDS PER_ROUND\n");
		return 2;
	}
	static struct contender c[MAX_CONTENDERS];
	int n = read_spec(argv[1], c);
	int rounds = atoi(argv[2]), per_round = atoi(argv[3]);
	for (int r = 0; r < rounds; r++) {
		for (int k = 0; k < n; k++) {
			struct contender *x = &c[(r + k) % n];
			for (int i = 0; i < per_round && !x->failed; i++) {
				long long ns;
				int status = launch_once(x, &ns);
				if (status != 0) {
					printf("%s fail %d\n", x->name, status);
					x->failed = 1;
				} else {
					printf("%s %d %lld\n", x->name, r, ns);
				}
			}
		}
	}
	return 0;
}
