# SPDX-License-Identifier: GPL-2.0
# Helpers for guest jobs. Sourced by /init and by every job.

# One line for the host on the data channel (fd 3 = ttyS1).
mark() {
	echo "@@PR $*" >&3
}

# Value of pr.NAME= on the kernel command line, or $2 when absent.
param() {
	v=$(sed -n "s/.*pr\.$1=\([^ ]*\).*/\1/p" /proc/cmdline)
	echo "${v:-$2}"
}

# A /proc/meminfo field in kB.
meminfo() {
	awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo
}

exec 3>/dev/ttyS1
