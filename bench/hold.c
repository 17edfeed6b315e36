/* hold: keep a file's pages mapped until killed.
 *
 *   hold FILE
 *
 * hardinit pages its own binary out before its loop, which drops the binary from the page
 * cache when no other process maps it, so the next launch reads it from disk again. On a
 * host where something else maps the binary (another container from the same image) that
 * does not happen; this stands in for that something else. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: hold FILE\n");
		return 2;
	}
	int fd = open(argv[1], O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		perror(argv[1]);
		return 1;
	}
	volatile const char *p = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	long sum = 0;
	for (off_t i = 0; i < st.st_size; i += 4096)
		sum += p[i];
	printf("%ld\n", sum & 1);
	fflush(stdout);
	pause();
	return 0;
}
