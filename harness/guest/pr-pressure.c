// SPDX-License-Identifier: GPL-2.0
/*
 * pr-pressure: fill anonymous memory until MemAvailable falls below a
 * margin, then report how far it got.
 *
 * Usage: pr-pressure MARGIN_MIB [CHURN_MIB]
 *
 * First, CHURN_MIB MiB are written and freed so that the reporting engine
 * has a pass in flight while the pressure builds. Then 2 MiB chunks are
 * written one by one; before each chunk /proc/meminfo is read, and the
 * fill stops when MemAvailable < MARGIN_MIB. Prints
 *   "pressure reached_mib=N memavail_kb=M"
 * and exits 0. A reporting engine that holds memory the allocator needs
 * makes the fill stop earlier (or gets it OOM-killed, which the host sees
 * as a missing line and a kernel log entry).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define CHUNK	(2UL << 20)

static long meminfo_kb(const char *key)
{
	char line[256];
	size_t n = strlen(key);
	long v = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, n) && line[n] == ':') {
			v = strtol(line + n + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

static void *fill(size_t len)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	size_t i;

	if (p == MAP_FAILED)
		return NULL;
	for (i = 0; i < len; i += 4096)
		p[i] = 1;
	return p;
}

int main(int argc, char **argv)
{
	long margin_kb, avail;
	unsigned long n = 0;
	void *p;

	if (argc < 2) {
		fprintf(stderr, "usage: pr-pressure MARGIN_MIB [CHURN_MIB]\n");
		return 2;
	}
	margin_kb = atol(argv[1]) * 1024;
	if (argc > 2) {
		size_t churn = strtoul(argv[2], NULL, 10) << 20;

		p = fill(churn);
		if (p)
			munmap(p, churn);
	}
	for (;;) {
		avail = meminfo_kb("MemAvailable");
		if (avail < 0) {
			perror("pr-pressure: /proc/meminfo");
			return 2;
		}
		if (avail < margin_kb)
			break;
		if (!fill(CHUNK))
			break;
		n++;
	}
	printf("pressure reached_mib=%lu memavail_kb=%ld\n", n * (CHUNK >> 20),
	       avail);
	fflush(stdout);
	return 0;
}
