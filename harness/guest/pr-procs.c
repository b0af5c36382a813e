// SPDX-License-Identifier: GPL-2.0
/*
 * pr-procs - a build's processes coming and going
 *
 * Runs TASKS short-lived processes, JOBS at a time, as make -j does with
 * compiler processes: each child maps an anonymous heap of its own size,
 * writes every page of it, reads it back twice (its "work"), and exits,
 * which frees the heap to the buddy allocator in one go. The sizes spread
 * evenly over the doublings from 4 MiB up to MAX MiB (uniform within
 * each), from a fixed seed, so every run and every kernel does the same
 * work in the same order; the parent keeps
 * JOBS children running until all TASKS have run.
 *
 * A free page reporter sees what a guest running a build shows it: large
 * frees at every exit, and the same memory allocated again a moment
 * later by the next process. Reporting it costs the host a discard and
 * the next process a fault on zeroed memory.
 *
 * Prints one line: tasks=N jobs=J mib=M seconds=S mib_per_s=R
 * (M: MiB the children touched in all). A benchmark, not a test.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MIN_MIB 4

static uint64_t next_rand(uint64_t *s)
{
	/* xorshift64: the same sequence on every guest */
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One child's life: exits 0, or 1 if its heap could not be mapped. */
static void child(size_t len)
{
	long page = sysconf(_SC_PAGESIZE);
	volatile unsigned long sum = 0;
	unsigned char *p;
	size_t off;
	int pass;

	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		_exit(1);
	for (off = 0; off < len; off += page)
		p[off] = (unsigned char)off;
	for (pass = 0; pass < 2; pass++)
		for (off = 0; off < len; off += 256)
			sum += p[off];
	_exit(0);
}

int main(int argc, char **argv)
{
	unsigned long tasks = 200, started = 0, done = 0, failed = 0;
	unsigned long max_mib = 256, total_mib = 0;
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	int jobs = 2, running = 0, doublings = 1, opt;
	double t0, t;

	while ((opt = getopt(argc, argv, "n:j:m:s:")) != -1) {
		switch (opt) {
		case 'n':
			tasks = strtoul(optarg, NULL, 0);
			break;
		case 'j':
			jobs = atoi(optarg);
			break;
		case 'm':
			max_mib = strtoul(optarg, NULL, 0);
			break;
		case 's':
			seed = strtoull(optarg, NULL, 0);
			break;
		default:
			fprintf(stderr, "usage: %s [-n TASKS] [-j JOBS] [-m MAX_MIB] [-s SEED]\n",
				argv[0]);
			return 2;
		}
	}
	if (!tasks || jobs < 1 || max_mib < MIN_MIB || !seed) {
		fprintf(stderr, "%s: TASKS, JOBS and SEED must be positive, MAX_MIB at least %d\n",
			argv[0], MIN_MIB);
		return 2;
	}

	while ((unsigned long)MIN_MIB << (doublings + 1) <= max_mib)
		doublings++;

	t0 = now();
	while (done < tasks) {
		while (running < jobs && started < tasks) {
			unsigned long low = MIN_MIB << (next_rand(&seed) %
							doublings);
			unsigned long mib = low + next_rand(&seed) % low;
			pid_t pid;

			if (mib > max_mib)
				mib = max_mib;

			total_mib += mib;
			pid = fork();
			if (pid < 0) {
				perror("fork");
				return 1;
			}
			if (!pid)
				child((size_t)mib << 20);
			started++;
			running++;
		}
		{
			int status;

			if (wait(&status) < 0) {
				perror("wait");
				return 1;
			}
			if (!WIFEXITED(status) || WEXITSTATUS(status))
				failed++;
		}
		running--;
		done++;
	}
	t = now() - t0;
	if (failed) {
		fprintf(stderr, "%lu of %lu tasks failed\n", failed, tasks);
		return 1;
	}
	printf("tasks=%lu jobs=%d mib=%lu seconds=%.3f mib_per_s=%.1f\n",
	       tasks, jobs, total_mib, t, total_mib / t);
	return 0;
}
