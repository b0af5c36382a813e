// SPDX-License-Identifier: GPL-2.0
/*
 * page_reporting_stress - data-integrity stress for free page reporting
 *
 * A host discards whatever a guest reports as free, so one wrong report is
 * silent corruption of memory in use. This program keeps memory in use
 * with known contents while other memory is freed, reported and reused,
 * and checks every word it wrote:
 *
 * - live regions (anonymous, with and without THP, and shmem files from
 *   memfd_create(), which need no tmpfs mounted anywhere) hold a
 *   pattern in every 64-bit word, derived from (region id, generation,
 *   page index, word index): a zeroed page, a stale page and a page of
 *   another region each show up as a mismatch;
 * - every round frees a random region, waits (so that the reporting
 *   worker can report the freed blocks), allocates new regions (1 to
 *   16 MiB, half of them multiples of 2 MiB), checks that the new memory
 *   reads zero before it is written, rewrites a region with its next
 *   generation, and re-verifies every live region;
 * - every --drain-every rounds, half of the live regions are freed and
 *   stay free for --drain-ms (longer than the reporter's deadline), so
 *   that they are reported and then reused by the next allocations;
 * - a mismatch prints the region, its kind, the address, the page and
 *   the expected and found words (up to 20 lines) and exits 1; an error
 *   of a system call exits 2.
 *
 * Output (stdout): "stress: seconds=S rounds=R churned_bytes=C
 * verified_bytes=V mismatches=M" every --progress-sec seconds and at the
 * end. --self-test corrupts one word on purpose and must exit 1.
 * --require-reporting exits 4 (kselftest's skip) when no virtio_balloon
 * device negotiated free page reporting: there is nothing to stress then.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <glob.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "../kselftest.h"

#define PAGE		4096UL
#define WORDS		(PAGE / sizeof(uint64_t))
#define MIB		(1UL << 20)
#define MAX_REGIONS	256
#define MAX_REPORTS	20
#define VIRTIO_BALLOON_F_REPORTING	5
#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL		0x0008U
#endif

enum kind { ANON_THP, ANON_NOTHP, SHMEM, NR_KINDS };
static const char * const kind_name[] = { "anon-thp", "anon", "shmem" };

struct region {
	uint64_t *mem;
	size_t len;
	enum kind kind;
	unsigned int id;
	unsigned int gen;
};

static struct region regions[MAX_REGIONS];
static unsigned int nr_regions, next_id;
static size_t live_bytes, budget;
static uint64_t churned, verified, mismatches, rng;
/* Set by the signal handler: a lock-free atomic, so async-signal-safe. */
static int stop;

static uint64_t rnd(void)
{
	/* xorshift64*: reproducible from --seed */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dULL;
}

static inline uint64_t pattern(const struct region *r, size_t page,
			       size_t word)
{
	uint64_t v = ((uint64_t)r->id << 40) ^ ((uint64_t)r->gen << 32) ^
		     (page << 9) ^ word;

	/* Never zero, so that a zeroed word is always a mismatch. */
	return (v * 0x9e3779b97f4a7c15ULL) | 1;
}

static void die(const char *what)
{
	fprintf(stderr, "page_reporting_stress: %s: %s\n", what,
		strerror(errno));
	exit(2);
}

static void report(const struct region *r, size_t page, size_t word,
		   uint64_t want, uint64_t got)
{
	if (++mismatches <= MAX_REPORTS)
		fprintf(stderr,
			"MISMATCH region %u (%s, gen %u) addr %p page %zu word %zu: expected %016llx found %016llx\n",
			r->id, kind_name[r->kind], r->gen,
			(void *)&r->mem[page * WORDS + word], page, word,
			(unsigned long long)want, (unsigned long long)got);
}

static void fill(struct region *r)
{
	size_t p, w, pages = r->len / PAGE;

	for (p = 0; p < pages; p++)
		for (w = 0; w < WORDS; w++)
			r->mem[p * WORDS + w] = pattern(r, p, w);
}

static void verify(const struct region *r)
{
	size_t p, w, pages = r->len / PAGE;

	for (p = 0; p < pages; p++) {
		const uint64_t *pg = &r->mem[p * WORDS];

		for (w = 0; w < WORDS; w++) {
			uint64_t want = pattern(r, p, w);

			if (pg[w] != want)
				report(r, p, w, want, pg[w]);
		}
	}
	verified += r->len;
}

/* Fresh memory must read zero before the first write. */
static void verify_zero(const struct region *r)
{
	size_t i, n = r->len / sizeof(uint64_t);

	for (i = 0; i < n; i++)
		if (r->mem[i]) {
			report(r, i / WORDS, i % WORDS, 0, r->mem[i]);
			break;
		}
}

static void region_alloc(struct region *r, size_t len, enum kind kind)
{
	int fd;

	memset(r, 0, sizeof(*r));
	r->len = len;
	r->kind = kind;
	r->id = ++next_id;
	if (kind == SHMEM) {
		/*
		 * The mapping holds the file: its pages go with munmap().
		 * MFD_NOEXEC_SEAL, which vm.memfd_noexec=2 requires, is
		 * unknown before 6.3.
		 */
		fd = memfd_create("page_reporting_stress",
				  MFD_CLOEXEC | MFD_NOEXEC_SEAL);
		if (fd < 0 && errno == EINVAL)
			fd = memfd_create("page_reporting_stress", MFD_CLOEXEC);
		if (fd < 0)
			die("memfd_create");
		if (ftruncate(fd, len))
			die("ftruncate");
		r->mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED,
			      fd, 0);
		close(fd);
	} else {
		r->mem = mmap(NULL, len, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	}
	if (r->mem == MAP_FAILED)
		die("mmap");
	if (kind != SHMEM)
		madvise(r->mem, len, kind == ANON_THP ? MADV_HUGEPAGE :
						       MADV_NOHUGEPAGE);
	verify_zero(r);
	fill(r);
	live_bytes += len;
}

static void region_free(struct region *r)
{
	verify(r);
	if (munmap(r->mem, r->len))
		die("munmap");
	live_bytes -= r->len;
	churned += r->len;
}

static size_t pick_len(void)
{
	/* Half exact multiples of 2 MiB, half odd sizes of 1..16 MiB. */
	if (rnd() & 1)
		return (1 + rnd() % 8) * 2 * MIB;
	return MIB + (rnd() % (15 * MIB / PAGE)) * PAGE;
}

static void fill_up(void)
{
	while (nr_regions < MAX_REGIONS) {
		size_t len = pick_len();

		if (live_bytes + len > budget)
			break;
		region_alloc(&regions[nr_regions++], len, rnd() % NR_KINDS);
	}
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void print_stats(double t, unsigned long rounds)
{
	printf("stress: seconds=%.0f rounds=%lu ", t, rounds);
	printf("churned_bytes=%llu verified_bytes=%llu mismatches=%llu\n",
	       (unsigned long long)churned, (unsigned long long)verified,
	       (unsigned long long)mismatches);
	fflush(stdout);
}

static void on_signal(int sig)
{
	(void)sig;
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
}

/*
 * Is a virtio_balloon device bound that negotiated free page reporting?
 * Its "features" file has one character per feature bit, bit 0 first.
 */
static int reporting_device(void)
{
	glob_t g;
	size_t i;
	int found = 0;

	if (glob("/sys/bus/virtio/drivers/virtio_balloon/virtio*/features", 0,
		 NULL, &g))
		return 0;
	for (i = 0; i < g.gl_pathc && !found; i++) {
		char bits[256] = "";
		FILE *f = fopen(g.gl_pathv[i], "r");

		if (!f)
			continue;
		if (fgets(bits, sizeof(bits), f) &&
		    strlen(bits) > VIRTIO_BALLOON_F_REPORTING)
			found = bits[VIRTIO_BALLOON_F_REPORTING] == '1';
		fclose(f);
	}
	globfree(&g);
	return found;
}

static void print_usage(void)
{
	fprintf(stderr,
		"usage: page_reporting_stress [--seconds N] [--mib M] [--seed S]\n"
		"       [--pause-ms P] [--progress-sec N] [--drain-every N] [--drain-ms M]\n"
		"       [--self-test] [--require-reporting]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seconds", required_argument, NULL, 't' },
		{ "mib", required_argument, NULL, 'm' },
		{ "seed", required_argument, NULL, 's' },
		{ "pause-ms", required_argument, NULL, 'p' },
		{ "progress-sec", required_argument, NULL, 'g' },
		{ "self-test", no_argument, NULL, 'x' },
		{ "drain-every", required_argument, NULL, 'e' },
		{ "drain-ms", required_argument, NULL, 'w' },
		{ "require-reporting", no_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long seconds = 30, mib = 256, pause_ms = 150, progress = 10;
	unsigned long rounds = 0, seed = 1, drain_every = 10, drain_ms = 2500;
	double t0, last;
	int self_test = 0, require = 0, c;
	unsigned int i;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			seconds = strtoul(optarg, NULL, 10);
			break;
		case 'm':
			mib = strtoul(optarg, NULL, 10);
			break;
		case 's':
			seed = strtoul(optarg, NULL, 10);
			break;
		case 'p':
			pause_ms = strtoul(optarg, NULL, 10);
			break;
		case 'g':
			progress = strtoul(optarg, NULL, 10);
			break;
		case 'x':
			self_test = 1;
			break;
		case 'e':
			drain_every = strtoul(optarg, NULL, 10);
			break;
		case 'w':
			drain_ms = strtoul(optarg, NULL, 10);
			break;
		case 'r':
			require = 1;
			break;
		default:
			print_usage();
		}
	}
	if (!mib || !progress)
		print_usage();
	if (require && !reporting_device()) {
		printf("# SKIP no virtio_balloon device with reporting\n");
		return KSFT_SKIP;
	}
	rng = seed * 0x9e3779b97f4a7c15ULL + 1;
	budget = mib * MIB;
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	printf("stress: seed=%lu mib=%lu seconds=%lu\n", seed, mib, seconds);

	t0 = now();
	last = t0;
	fill_up();
	if (self_test && nr_regions) {
		/* The checker must be able to fail: break one word. */
		regions[0].mem[regions[0].len / sizeof(uint64_t) / 2] ^= 1;
	}
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED) && !mismatches &&
	       now() - t0 < seconds) {
		unsigned int victim;

		/* Free one region; the reporter gets a quiet moment. */
		if (nr_regions) {
			victim = rnd() % nr_regions;
			region_free(&regions[victim]);
			regions[victim] = regions[--nr_regions];
		}
		/* Now and then leave much memory free until it is reported. */
		if (drain_every && rounds % drain_every == drain_every - 1) {
			while (nr_regions > 1 && live_bytes > budget / 2) {
				victim = rnd() % nr_regions;
				region_free(&regions[victim]);
				regions[victim] = regions[--nr_regions];
			}
			usleep(drain_ms * 1000);
		} else {
			usleep(pause_ms * 1000);
		}
		fill_up();
		/* Writes after a report must stick as well. */
		if (nr_regions) {
			struct region *r = &regions[rnd() % nr_regions];

			verify(r);
			r->gen++;
			fill(r);
		}
		for (i = 0; i < nr_regions; i++)
			verify(&regions[i]);
		rounds++;
		if (now() - last >= progress) {
			last = now();
			print_stats(last - t0, rounds);
		}
	}
	for (i = 0; i < nr_regions; i++)
		region_free(&regions[i]);
	print_stats(now() - t0, rounds);
	if (mismatches > MAX_REPORTS)
		fprintf(stderr, "... %llu mismatches in all\n",
			(unsigned long long)mismatches);
	return mismatches ? 1 : 0;
}
