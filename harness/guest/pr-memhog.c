// SPDX-License-Identifier: GPL-2.0
/*
 * pr-memhog MIB HOLD_SECONDS
 *
 * Map MIB MiB of anonymous memory, write every page (a non-zero pattern, so
 * that neither the guest nor the host can share a zero page), print
 * "allocated", keep it HOLD_SECONDS, print "freeing" and free it by exiting.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	size_t mib, len, off, page = sysconf(_SC_PAGESIZE);
	unsigned int hold;
	char *end, *p;

	if (argc != 3) {
		fprintf(stderr, "usage: %s MIB HOLD_SECONDS\n", argv[0]);
		return 2;
	}
	errno = 0;
	mib = strtoul(argv[1], &end, 10);
	if (errno || *end || !mib) {
		fprintf(stderr, "pr-memhog: bad size '%s'\n", argv[1]);
		return 2;
	}
	hold = strtoul(argv[2], &end, 10);
	if (*end) {
		fprintf(stderr, "pr-memhog: bad time '%s'\n", argv[2]);
		return 2;
	}
	len = mib << 20;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("pr-memhog: mmap");
		return 1;
	}
	for (off = 0; off < len; off += page)
		memset(p + off, 0x5a, page);
	printf("allocated mib=%zu\n", mib);
	fflush(stdout);
	sleep(hold);
	printf("freeing\n");
	fflush(stdout);
	return 0;
}
