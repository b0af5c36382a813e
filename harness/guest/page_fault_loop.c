// SPDX-License-Identifier: GPL-2.0
/*
 * page_fault_loop - page-fault throughput under alloc/touch/free churn
 *
 * Like will-it-scale's page_fault1: each of THREADS threads maps MIB MiB of
 * anonymous memory, writes one byte to every page, unmaps it, and loops
 * until SECONDS have passed. With THP the mapping is madvised huge, so the
 * loop allocates and frees whole pageblocks: exactly what a free page
 * reporter sees, and what it must not slow down.
 *
 * Prints one line: iterations=N seconds=S mib_per_s=R threads=T mib=M thp=X
 * A benchmark, not a test: it never fails on a number.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static atomic_int stop;
static size_t map_len;
static int use_thp;

struct worker {
	pthread_t tid;
	unsigned long iterations;
	int err;
};

static void *worker_fn(void *arg)
{
	struct worker *w = arg;
	long page = sysconf(_SC_PAGESIZE);

	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		char *p = mmap(NULL, map_len, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		size_t off;

		if (p == MAP_FAILED) {
			w->err = errno;
			return NULL;
		}
		if (madvise(p, map_len,
			    use_thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE)) {
			w->err = errno;
			munmap(p, map_len);
			return NULL;
		}
		for (off = 0; off < map_len; off += page)
			p[off] = 1;
		munmap(p, map_len);
		w->iterations++;
	}
	return NULL;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void print_usage(const char *prog)
{
	fprintf(stderr, "usage: %s [-t THREADS] [-m MIB] [-s SECONDS] [-H on|off]\n",
		prog);
	exit(2);
}

static long number(const char *s, const char *prog)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v <= 0)
		print_usage(prog);
	return v;
}

int main(int argc, char **argv)
{
	long threads = 2, mib = 128, seconds = 10, i;
	unsigned long total = 0;
	struct worker *w;
	double t0, t1;
	int opt;

	while ((opt = getopt(argc, argv, "t:m:s:H:")) != -1) {
		switch (opt) {
		case 't':
			threads = number(optarg, argv[0]);
			break;
		case 'm':
			mib = number(optarg, argv[0]);
			break;
		case 's':
			seconds = number(optarg, argv[0]);
			break;
		case 'H':
			if (strcmp(optarg, "on") && strcmp(optarg, "off"))
				print_usage(argv[0]);
			use_thp = !strcmp(optarg, "on");
			break;
		default:
			print_usage(argv[0]);
		}
	}
	map_len = (size_t)mib << 20;
	w = calloc(threads, sizeof(*w));
	if (!w)
		return 1;
	t0 = now();
	for (i = 0; i < threads; i++) {
		if (pthread_create(&w[i].tid, NULL, worker_fn, &w[i])) {
			perror("pthread_create");
			return 1;
		}
	}
	sleep(seconds);
	atomic_store(&stop, 1);
	for (i = 0; i < threads; i++) {
		pthread_join(w[i].tid, NULL);
		if (w[i].err) {
			fprintf(stderr, "mmap or madvise: %s\n",
				strerror(w[i].err));
			return 1;
		}
		total += w[i].iterations;
	}
	t1 = now();
	printf("iterations=%lu seconds=%.2f mib_per_s=%.1f threads=%ld mib=%ld thp=%s\n",
	       total, t1 - t0, total * mib / (t1 - t0), threads, mib,
	       use_thp ? "on" : "off");
	return 0;
}
