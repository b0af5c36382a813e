# SPDX-License-Identifier: GPL-2.0
# Helpers for guest jobs. Sourced by /init and by every job.

# The data channel to the host: ttyS1, or the device pr.data= names.
PR_DATA=/dev/$(sed -n 's/.*pr\.data=\([^ ]*\).*/\1/p' /proc/cmdline)
[ "$PR_DATA" = /dev/ ] && PR_DATA=/dev/ttyS1

# One line for the host on the data channel (fd 3).
mark() {
	echo "@@PR $*" >&3
}

# Value of pr.NAME= on the kernel command line, or $2 when absent.
param() {
	v=$(sed -n "s/.*pr\.$1=\([^ ]*\).*/\1/p" /proc/cmdline)
	echo "${v:-$2}"
}

# Transparent huge pages for the page-fault loop: "on" lets its madvise()
# take them (and nothing else), "off" leaves them out entirely.
thp_mode() {
	if [ "$1" = on ]; then
		echo madvise >/sys/kernel/mm/transparent_hugepage/enabled
	else
		echo never >/sys/kernel/mm/transparent_hugepage/enabled
	fi
}

# A /proc/meminfo field in kB.
meminfo() {
	awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo
}

# Free memory and what can hold it for a while, as marker fields: blocks
# the engine has isolated for a report, MemFree, Slab (KASAN's quarantine
# keeps freed objects there), and the free pages
# on the per-CPU lists (zoneinfo "count:"), which MemFree leaves out and
# which grow by megabytes after a large free, then shrink every second.
# One awk reads both files, and sampling repeats (up to 10 times, 0.2 s
# apart) until two samples in a row agree within 256 kB, so that pages
# moving from the per-CPU lists to the free lists meanwhile are neither
# missed nor counted twice.
memory_fields() {
	local n=0 prev= cur d
	while :; do
		# "count:" is in pages; the page size in kB is MemTotal over
		# the zones' managed pages.
		cur=$(awk '
			$1 == "MemTotal:" { t = $2 }
			$1 == "MemFree:" { f = $2 }
			$1 == "Slab:" { s = $2 }
			$1 == "managed" { m += $2 }
			$1 == "count:" { c += $2 }
			END { p = c * int(t / m + 0.5); print f, s, p, f + s + p }' \
			/proc/meminfo /proc/zoneinfo)
		n=$((n + 1))
		if [ -n "$prev" ]; then
			set -- $prev $cur
			d=$(($8 - $4))
			[ $d -lt 256 ] && [ $d -gt -256 ] && break
		fi
		[ $n -lt 10 ] || break
		prev=$cur
		usleep 200000
	done
	set -- $cur
	echo "isolated=$(prstat isolated_now) memfree_kb=$1 slab_kb=$2 pcp_kb=$3"
}

# One "balloon" line per bound virtio-balloon device: its negotiated
# feature bits (bit 1 stats, 3 free page hint, 4 page poison, 5 reporting)
# and its transport (the driver of its parent: virtio-pci, virtio-mmio).
mark_balloon() {
	local d t
	for d in /sys/bus/virtio/drivers/virtio_balloon/virtio*; do
		[ -e "$d/features" ] || continue
		t=$(readlink "$(readlink -f "$d")/../driver")
		mark "balloon dev=${d##*/} features=$(cat "$d/features")" \
			"transport=${t##*/}"
	done
}

# The kernel's page size in bytes (4096, or 65536 on the 64K kernels).
page_size() {
	awk '$1 == "KernelPageSize:" { print $2 * 1024; exit }' /proc/self/smaps
}

# An event of /proc/vmstat (0 when the kernel has no such event).
vmevent() {
	awk -v k="$1" '$1 == k { v = $2 } END { print v + 0 }' /proc/vmstat
}

# The engine's figure @1, as the harness's markers name it: reported_bytes
# and reported_blocks from its /proc/vmstat events, the others (passes,
# isolated_now, backoff, tracking_bytes, ...) from its debugfs state. 0
# when the engine is not there.
prstat() {
	case $1 in
	reported_bytes)
		echo $(($(vmevent page_reporting_pages) * $(page_size))) ;;
	reported_blocks) vmevent page_reporting_blocks ;;
	isolated_now) prstate isolated ;;
	*) prstate "$1" ;;
	esac
}

# Set the engine's debugfs knob @1 to @2; fail without it.
prknob() {
	echo "$2" >"/sys/kernel/debug/page_reporting/$1" ||
		{ echo "no page_reporting knob $1"; return 1; }
}

# A line of the engine's debugfs state (0 without it).
prstate() {
	awk -v k="$1" '$1 == k { v = $2 } END { print v + 0 }' \
		/sys/kernel/debug/page_reporting/state 2>/dev/null || echo 0
}

# Wait until the engine has no pass pending and reported_bytes stays the
# same for two seconds (a kernel without the engine's state has nothing
# pending); fail after two minutes.
reporting_quiet() {
	n=0 same=0 prev=
	while [ $same -lt 2 ]; do
		v=$(prstat reported_bytes)
		[ "$v" = "$prev" ] && [ "$(prstate pending)" = 0 ] &&
			same=$((same + 1)) || same=0
		prev=$v
		n=$((n + 1))
		[ $n -lt 120 ] || { echo "reporting not quiet after 120 s"; return 1; }
		sleep 1
	done
}

# Wait until reporting is quiet, then write and delete $1 MiB of tmpfs:
# the free the engine then reports. Sets $before to reported_bytes just
# before it.
quiet_free() {
	reporting_quiet || return 1
	before=$(prstat reported_bytes)
	if ! dd if=/dev/zero of=/tmp/churn bs=1M count="$1" 2>/dev/null; then
		echo "could not write $1 MiB to /tmp"
		rm -f /tmp/churn
		return 1
	fi
	rm /tmp/churn
}

# The start of a device removal scenario, once the reporting of the memory
# free at boot is over: how much memory is free ("start").
mark_start() {
	reporting_quiet || return 1
	mark "start $(memory_fields)"
}

# Its end: free $1 MiB once more and say, 5 s later, how much of it was
# reported and how much memory is free ("resumed").
mark_resumed() {
	quiet_free "$1" || return 1
	sleep 5
	mark "resumed before=$before after=$(prstat reported_bytes) $(memory_fields)"
}

# Tell the host we wait ("wait-$1"), then block until it sends a line on
# the data channel (VM.send() in harness/vm.py).
wait_host() {
	mark "wait-$1"
	read -r _ <"$PR_DATA"
}

# Events the trace ring buffer dropped, over all CPUs (tracefs mounted at
# /sys/kernel/tracing).
trace_overruns() {
	cat /sys/kernel/tracing/per_cpu/cpu*/stats |
		awk '$1 == "overrun:" { n += $2 } END { print n + 0 }'
}

exec 3>"$PR_DATA"
