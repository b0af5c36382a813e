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

# One "balloon" line per bound virtio-balloon device: its negotiated
# feature bits (bit 1 stats, 3 free page hint, 4 page poison, 5 reporting).
mark_balloon() {
	for d in /sys/bus/virtio/drivers/virtio_balloon/virtio*; do
		[ -e "$d/features" ] &&
			mark "balloon dev=${d##*/} features=$(cat "$d/features")"
	done
}

# A counter of the engine in /sys/kernel/mm/page_reporting/stats (0 when
# the engine is not there).
prstat() {
	cat "/sys/kernel/mm/page_reporting/stats/$1" 2>/dev/null || echo 0
}

# Wait until reported_bytes stays the same for two seconds (the engine
# starts a pass at most max_delay_ms, 2 s, after a free when it is not
# backing off); fail after two minutes.
reporting_quiet() {
	n=0 same=0 prev=
	while [ $same -lt 2 ]; do
		v=$(prstat reported_bytes)
		[ "$v" = "$prev" ] && same=$((same + 1)) || same=0
		prev=$v
		n=$((n + 1))
		[ $n -lt 120 ] || { echo "reporting not quiet after 120 s"; return 1; }
		sleep 1
	done
}

# Tell the host we wait ("wait-$1"), then block until it sends a line on
# the data channel (VM.send() in harness/vm.py).
wait_host() {
	mark "wait-$1"
	read -r _ </dev/ttyS1
}

exec 3>/dev/ttyS1
