// SPDX-License-Identifier: GPL-2.0
/*
 * User-visible behaviour of free page reporting, run inside a guest that
 * has a virtio-balloon device with VIRTIO_BALLOON_F_REPORTING.
 *
 * - the device negotiated the reporting feature;
 * - page_reporting.page_reporting_order reads back a valid order, accepts a
 *   valid write and rejects bad ones with EINVAL, keeping its value.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../kselftest_harness.h"

#define VIRTIO_DRV	"/sys/bus/virtio/drivers/virtio_balloon"
#define ORDER_PARAM	"/sys/module/page_reporting/parameters/page_reporting_order"
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

TEST(balloon_negotiated_reporting)
{
	char path[512], features[256];
	struct dirent *de;
	int found = 0;
	DIR *dir;

	dir = opendir(VIRTIO_DRV);
	if (!dir)
		SKIP(return, "no virtio_balloon driver bound");
	while ((de = readdir(dir))) {
		if (strncmp(de->d_name, "virtio", 6))
			continue;
		snprintf(path, sizeof(path), VIRTIO_DRV "/%s/features",
			 de->d_name);
		ASSERT_EQ(0, read_str(path, features, sizeof(features)));
		/* One character per feature bit, bit 0 first. */
		ASSERT_GT(strlen(features), VIRTIO_BALLOON_F_REPORTING);
		EXPECT_EQ('1', features[VIRTIO_BALLOON_F_REPORTING])
			TH_LOG("%s: features %s", de->d_name, features);
		found++;
	}
	closedir(dir);
	if (!found)
		SKIP(return, "no virtio_balloon device");
}

FIXTURE(order_param) {
	long saved;
};

FIXTURE_SETUP(order_param)
{
	if (access(ORDER_PARAM, R_OK | W_OK))
		SKIP(return, "%s not writable", ORDER_PARAM);
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

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(-EINVAL, write_str(ORDER_PARAM, bad[i]))
			TH_LOG("writing '%s'", bad[i]);
		EXPECT_EQ(self->saved, read_long(ORDER_PARAM))
			TH_LOG("value changed by '%s'", bad[i]);
	}
}

TEST_HARNESS_MAIN
