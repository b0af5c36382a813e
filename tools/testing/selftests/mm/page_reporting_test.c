// SPDX-License-Identifier: GPL-2.0
/*
 * User-visible behaviour of free page reporting, run inside a guest that
 * has a virtio-balloon device with VIRTIO_BALLOON_F_REPORTING.
 *
 * - the device negotiated the reporting feature;
 * - page_reporting.page_reporting_order reads back a valid order, accepts a
 *   valid write and rejects bad ones with EINVAL, keeping its value;
 * - the engine's knobs in debugfs (delay_ms, max_delay_ms, capacity) do
 *   the same;
 * - freeing memory makes the page_reporting_* events of /proc/vmstat move,
 *   and an idle guest stops reporting (nothing is reported twice);
 * - each reported batch fires the page_reporting_batch tracepoint;
 * - tracking_bytes in the engine's debugfs state matches the present
 *   memory.
 *
 * The engine's events, state and tunables come with the bitmap engine; on
 * a kernel without them (or without debugfs mounted) those tests skip.
 * Without a virtio-balloon device that negotiated reporting (no balloon,
 * or a host that does not offer it) the tests that need one skip, so
 * run_vmtests.sh can run this anywhere. The order and tracking checks
 * know x86-64's geometry only and skip elsewhere.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "../kselftest_harness.h"

#define VIRTIO_DRV	"/sys/bus/virtio/drivers/virtio_balloon"
#define PARAMS		"/sys/module/page_reporting/parameters/"
#define ORDER_PARAM	PARAMS "page_reporting_order"
#define VMSTAT		"/proc/vmstat"
#define DEBUGFS		"/sys/kernel/debug/page_reporting/"
#define STATE		DEBUGFS "state"
/* include/uapi/linux/virtio_balloon.h */
#define VIRTIO_BALLOON_F_REPORTING	5
/* MAX_PAGE_ORDER on x86-64 with the default configuration. */
#define MAX_ORDER_X86	10

static int read_str(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

/* Returns 0 on success, or the negated errno of the failed write. */
static int write_str(const char *path, const char *val)
{
	int fd, ret = 0;

	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

static long read_long(const char *path)
{
	char buf[64];

	if (read_str(path, buf, sizeof(buf)))
		return -1;
	return strtol(buf, NULL, 10);
}

/*
 * Is a virtio-balloon device reporting? virtio_balloon registers with page
 * reporting when VIRTIO_BALLOON_F_REPORTING is negotiated, and clears the
 * bit when it declines (page poisoning the host cannot keep). The engine's
 * own state cannot tell: the order parameter and the statistics stay set
 * after a device goes away, and a KUnit suite may have registered a fake
 * one. Returns how many such devices are bound.
 */
static int reporting_balloons(void)
{
	char path[512], features[256];
	struct dirent *de;
	int found = 0;
	DIR *dir;

	dir = opendir(VIRTIO_DRV);
	if (!dir)
		return 0;
	while ((de = readdir(dir))) {
		if (strncmp(de->d_name, "virtio", 6))
			continue;
		snprintf(path, sizeof(path), VIRTIO_DRV "/%s/features",
			 de->d_name);
		/* One character per feature bit, bit 0 first. */
		if (!read_str(path, features, sizeof(features)) &&
		    strlen(features) > VIRTIO_BALLOON_F_REPORTING &&
		    features[VIRTIO_BALLOON_F_REPORTING] == '1')
			found++;
	}
	closedir(dir);
	return found;
}

/*
 * A balloon that negotiated reporting registered with the engine, which
 * then has a reporting order. (A balloon without the feature, because the
 * host does not offer it, is a skip.)
 */
TEST(balloon_negotiated_reporting)
{
	if (!reporting_balloons())
		SKIP(return, "no virtio_balloon device with reporting");
	EXPECT_LE(0, read_long(ORDER_PARAM))
		TH_LOG("reporting negotiated, but no reporting order set");
}

FIXTURE(order_param) {
	long saved;
};

FIXTURE_SETUP(order_param)
{
#ifndef __x86_64__
	SKIP(return, "orders are checked for x86-64 only");
#endif
	if (access(ORDER_PARAM, R_OK | W_OK))
		SKIP(return, "%s not writable", ORDER_PARAM);
	if (!reporting_balloons())
		SKIP(return, "no virtio_balloon device with reporting");
	self->saved = read_long(ORDER_PARAM);
	ASSERT_GE(self->saved, 0);
	ASSERT_LE(self->saved, MAX_ORDER_X86);
}

FIXTURE_TEARDOWN(order_param)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%ld", self->saved);
	write_str(ORDER_PARAM, buf);
}

TEST_F(order_param, accepts_valid_order)
{
	char buf[32];
	long want = self->saved == 9 ? 10 : 9;

	snprintf(buf, sizeof(buf), "%ld", want);
	ASSERT_EQ(0, write_str(ORDER_PARAM, buf));
	EXPECT_EQ(want, read_long(ORDER_PARAM));
}

TEST_F(order_param, rejects_bad_values)
{
	/* Non-numeric, negative, above MAX_PAGE_ORDER, trailing junk. */
	static const char * const bad[] = { "abc", "-1", "11", "9x" };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		EXPECT_EQ(-EINVAL, write_str(ORDER_PARAM, bad[i]))
			TH_LOG("writing '%s'", bad[i]);
		EXPECT_EQ(self->saved, read_long(ORDER_PARAM))
			TH_LOG("value changed by '%s'", bad[i]);
	}
}

/* The value of the "@name value" line of @path, or -1 without one. */
static long keyed_value(const char *path, const char *name)
{
	char line[256], key[128];
	long v, ret = -1;
	FILE *f;

	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%127s %ld", key, &v) == 2 &&
		    !strcmp(key, name)) {
			ret = v;
			break;
		}
	fclose(f);
	return ret;
}

static long vmstat_value(const char *name)
{
	return keyed_value(VMSTAT, name);
}

static long state_value(const char *name)
{
	return keyed_value(STATE, name);
}

/* Map @len bytes of anonymous memory, write every page, unmap it. */
static int free_written_memory(size_t len)
{
	size_t off;
	char *p;

	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	for (off = 0; off < len; off += 4096)
		p[off] = 1;
	return munmap(p, len) ? -errno : 0;
}

static double seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Free 256 MiB of written anonymous memory; the host must hear of it. */
TEST(reports_freed_memory)
{
	size_t len = 256UL << 20;
	long pages = len / getpagesize(), before, now = 0, isolated = -1;
	double t0;

	before = vmstat_value("page_reporting_pages");
	if (before < 0)
		SKIP(return, "no page_reporting_pages in %s", VMSTAT);
	if (!reporting_balloons())
		SKIP(return, "no virtio_balloon device with reporting");

	ASSERT_EQ(0, free_written_memory(len));

	/* Default pacing reports within a few seconds; allow 30. */
	for (t0 = seconds(); seconds() - t0 < 30; usleep(100000)) {
		now = vmstat_value("page_reporting_pages");
		if (now - before >= pages / 2)
			break;
	}
	EXPECT_GE(now - before, pages / 2)
		TH_LOG("reported %ld pages after freeing %ld", now - before,
		       pages);

	if (state_value("isolated") < 0)
		SKIP(return, "no %s (debugfs not mounted?)", STATE);

	/*
	 * The pass may still have a batch out with the host: blocks are
	 * isolated only while a report is in flight, so all must be back
	 * in the buddy allocator soon after.
	 */
	for (t0 = seconds(); seconds() - t0 < 30; usleep(100000)) {
		isolated = state_value("isolated");
		if (!isolated)
			break;
	}
	EXPECT_EQ(0, isolated)
		TH_LOG("%ld blocks still isolated 30 s after the report", isolated);
}

/*
 * An idle guest stops reporting: the worker does not requeue itself for
 * ever. What earlier tests freed, and what the per-CPU page lists give back
 * to the buddy allocator over the next seconds, is reported meanwhile; once
 * that is done, a 5 s window passes without a pass and with nothing
 * pending. A pass starts at most four times max_delay_ms (8 s by default)
 * after a free: allow 90 s.
 */
TEST(idle_guest_stops_reporting)
{
	long blocks, passes;
	double t0;

	if (vmstat_value("page_reporting_blocks") < 0)
		SKIP(return, "no page_reporting_blocks in %s", VMSTAT);
	if (state_value("pending") < 0)
		SKIP(return, "no pending in %s (debugfs not mounted?)", STATE);
	if (!reporting_balloons())
		SKIP(return, "no virtio_balloon device with reporting");
	for (t0 = seconds();;) {
		blocks = vmstat_value("page_reporting_blocks");
		passes = state_value("passes");
		sleep(5);
		if (state_value("passes") == passes && !state_value("pending"))
			break;
		ASSERT_LT(seconds() - t0, 90)
			TH_LOG("still reporting after 90 s: %ld passes, %ld blocks in 5 s",
			       state_value("passes") - passes,
			       vmstat_value("page_reporting_blocks") - blocks);
	}
	EXPECT_EQ(blocks, vmstat_value("page_reporting_blocks"));
}

/* x86-64: 128 MiB sections of 4 KiB pages, 2 MiB tracked blocks. */
#define SECTION_PAGES		((128UL << 20) / 4096)
/* Three bits per 2 MiB block: a mark and two probation bits. */
#define MAP_BYTES_PER_SECTION	(3 * (SECTION_PAGES >> 9) / 8)
#define SUMMARY_STEP		64

/*
 * Present pages and the highest pfn of all zones, from /proc/zoneinfo.
 * Returns 0, or -1 when the file cannot be read.
 */
static int zone_extent(unsigned long *present, unsigned long *end_pfn)
{
	unsigned long spanned = 0, v;
	char line[256];
	FILE *f;

	f = fopen("/proc/zoneinfo", "r");
	if (!f)
		return -1;
	*present = *end_pfn = 0;
	/* A zone prints "spanned" and "present" before its "start_pfn:". */
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, " present %lu", &v) == 1)
			*present += v;
		else if (sscanf(line, " spanned %lu", &v) == 1)
			spanned = v;
		else if (sscanf(line, " start_pfn: %lu", &v) == 1 &&
			 v + spanned > *end_pfn)
			*end_pfn = v + spanned;
	}
	fclose(f);
	return 0;
}

/*
 * tracking_bytes is the bitmaps' cost: three bits per block of every
 * present section (192 bytes per GiB) and a summary bit per section of the
 * address space (in whole words). Check it against /proc/zoneinfo:
 * whole sections below, partial ones and the summary above.
 */
TEST(tracking_bytes_follow_present_memory)
{
	unsigned long present, end_pfn, lo, hi, summary;
	long bytes;

#ifndef __x86_64__
	SKIP(return, "the section geometry is x86-64's");
#endif
	bytes = state_value("tracking_bytes");
	if (bytes < 0)
		SKIP(return, "no tracking_bytes in %s", STATE);
	ASSERT_EQ(0, zone_extent(&present, &end_pfn));
	ASSERT_GT(bytes, 0);

	summary = sizeof(long) +
		  (end_pfn / SECTION_PAGES / SUMMARY_STEP + 1) * SUMMARY_STEP / 8;
	lo = present / SECTION_PAGES * MAP_BYTES_PER_SECTION;
	/* Up to two partial sections per zone; a few zones. */
	hi = (present / SECTION_PAGES + 8) * MAP_BYTES_PER_SECTION + summary;
	EXPECT_GE(bytes, (long)lo)
		TH_LOG("%ld bytes for %lu present pages", bytes, present);
	EXPECT_LE(bytes, (long)hi)
		TH_LOG("%ld bytes for %lu present pages", bytes, present);
	TH_LOG("%ld tracking bytes for %lu MiB present: %.1f bytes per GiB",
	       bytes, present >> 8, bytes / (present / 262144.0));
}

#define TRACING		"/sys/kernel/tracing/"
#define EVENT		TRACING "events/page_reporting/page_reporting_batch/"

/* Every reported batch shows up as one page_reporting_batch event. */
TEST(tracepoint_per_batch)
{
	size_t len = 64UL << 20;
	char buf[4096], *line;
	long before;
	double t0;
	ssize_t n;
	int fd;

	if (access(EVENT "enable", W_OK))
		SKIP(return, "no %s (tracefs or CONFIG_TRACING missing)", EVENT);
	if (!reporting_balloons())
		SKIP(return, "no virtio_balloon device with reporting");
	/* Opening the buffer for writing with O_TRUNC empties it. */
	fd = open(TRACING "trace", O_WRONLY | O_TRUNC);
	ASSERT_LE(0, fd);
	close(fd);
	ASSERT_EQ(0, write_str(EVENT "enable", "1"));
	before = vmstat_value("page_reporting_blocks");

	ASSERT_EQ(0, free_written_memory(len));
	for (t0 = seconds(); seconds() - t0 < 30; usleep(100000))
		if (vmstat_value("page_reporting_blocks") > before)
			break;
	/* Let the pass that is reporting finish. */
	sleep(1);
	ASSERT_EQ(0, write_str(EVENT "enable", "0"));

	fd = open(TRACING "trace", O_RDONLY);
	ASSERT_LE(0, fd);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	ASSERT_LT(0, n);
	buf[n] = '\0';
	line = strstr(buf, "page_reporting_batch: ");
	ASSERT_NE(NULL, line)
		TH_LOG("no event in the trace buffer:\n%s", buf);
	EXPECT_NE(NULL, strstr(line, "nents="));
	EXPECT_NE(NULL, strstr(line, "err=0"));
}

struct tunable {
	const char *dir;
	const char *name;
	const char * const bad[8];
	const char *good;
};

static const struct tunable tunables[] = {
	/* The last: too long to take whole, and a valid 2 if cut short. */
	{ DEBUGFS, "delay_ms", { "abc", "-1", "60001", "99999999999999999999",
				 "1.5", "0x10", "0000000000000000000000250",
				 NULL }, "250" },
	{ DEBUGFS, "max_delay_ms", { "abc", "-5", "60001",
				     "18446744073709551616", "2s", NULL },
	  "3000" },
	{ DEBUGFS, "capacity", { "0", "33", "-1", "x", "4294967297", NULL },
	  "16" },
	{ PARAMS, "page_reporting_order", { "11", "-1", "nine", "4294967305",
					    "0x10", NULL }, "10" },
};

/* Every tunable: bad writes fail with EINVAL and change nothing. */
TEST(tunables_reject_bad_values)
{
	unsigned int i, j;

	for (i = 0; i < ARRAY_SIZE(tunables); i++) {
		const struct tunable *t = &tunables[i];
		int order = !strcmp(t->name, "page_reporting_order");
		char path[256], buf[32];
		long saved;

		snprintf(path, sizeof(path), "%s%s", t->dir, t->name);
		if (access(path, R_OK | W_OK)) {
			if (!order)
				SKIP(return, "no %s", path);
			continue;
		}
		saved = read_long(path);
		/*
		 * The order's limits are x86-64's, and without a device it
		 * reads -1, which cannot be written back.
		 */
#ifndef __x86_64__
		if (order)
			continue;
#endif
		if (order && saved < 0)
			continue;
		for (j = 0; t->bad[j]; j++) {
			EXPECT_EQ(-EINVAL, write_str(path, t->bad[j]))
				TH_LOG("%s: writing '%s'", t->name, t->bad[j]);
			EXPECT_EQ(saved, read_long(path))
				TH_LOG("%s changed by '%s'", t->name, t->bad[j]);
		}
		EXPECT_EQ(0, write_str(path, t->good));
		EXPECT_EQ(strtol(t->good, NULL, 10), read_long(path));
		snprintf(buf, sizeof(buf), "%ld", saved);
		EXPECT_EQ(0, write_str(path, buf));
	}
}

TEST_HARNESS_MAIN
