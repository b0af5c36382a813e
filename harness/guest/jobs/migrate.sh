# SPDX-License-Identifier: GPL-2.0
# The data-integrity stress (page_reporting_stress) while the host
# migrates the guest. Every progress line of the stress becomes a "tick"
# with the engine's counters, so the host sees, on the source and then on
# the destination, that the guest runs and that every word it wrote before,
# during and after the migration reads back (mismatches=0). When the host
# says "stop", the stress ends (it frees and verifies its memory once more,
# prints a last line and exits 0 unless a word was wrong), and one "idle"
# line a second shows what the engine reports from then on.
. /jobs/lib.sh
mark_balloon
# Free memory in buddy blocks of order 9 (2 MiB on x86-64) or more: what a
# reporter could give back.
free_big_kb() {
	# Counts per order start in field 5; busybox awk has no "^".
	awk '{ for (o = 9; o + 5 <= NF; o++) { n = 4; for (i = 0; i < o; i++) n *= 2; kb += $(o + 5) * n } }
	     END { print kb + 0 }' /proc/buddyinfo
}
counters() {
	echo "reported_bytes=$(prstat reported_bytes) backoff=$(prstat backoff) memfree_kb=$(meminfo MemFree) free_big_kb=$(free_big_kb)"
}
{
	page_reporting_stress --seconds 100000 --mib "$(param mib 128)" \
		--seed "$(param seed 1)" --progress-sec 1 2>&1
	echo "stress-exit rc=$?"
} | while read -r line; do
	case $line in
	"stress: seconds="*)
		mark "tick ${line#stress: } $(counters)"
		;;
	"stress-exit "*)
		mark "$line"
		;;
	*)
		echo "$line"
		;;
	esac
done &
reader=$!
wait_host stop
killall page_reporting_stress
wait "$reader"
i=0
while :; do
	i=$((i + 1))
	mark "idle n=$i $(counters)"
	sleep 1
done
