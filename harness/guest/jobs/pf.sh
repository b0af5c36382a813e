# SPDX-License-Identifier: GPL-2.0
# Page-fault throughput under churn (page_fault_loop), with reporting
# statistics before and after when the engine exports them; "pf-start"
# and the "pf" result bound the loop for the host's discard count.
. /jobs/lib.sh
thp=$(param thp on)
thp_mode "$thp" || exit 2
stats() {
	[ -e /sys/kernel/debug/page_reporting/state ] || return 0
	mark "stats-$1 reported_bytes=$(prstat reported_bytes)" \
		"reported_blocks=$(prstat reported_blocks)" \
		"$(tr ' ' = < /sys/kernel/debug/page_reporting/state | tr '\n' ' ')"
}
sleep "$(param settle 3)"
# pr.go=1: start when the host says so (once it has seen the reporter go
# quiet after its first pass over the memory free at boot).
[ "$(param go 0)" = 1 ] && wait_host go
# pr.hold=1: hold the worker off for the whole run (its quiet time, its
# deadline and the first-pick interval at their maximum, 60 s): the
# free-path hook marks blocks, and nothing is reported. A run queued
# before (for first-pick units, about a second away) may still make its
# pass: let it, before the statistics the host checks are taken. Once
# the loop frees, a queued run moves to the new quiet time.
if [ "$(param hold 0)" = 1 ]; then
	for k in delay_ms max_delay_ms first_pick_ms; do
		prknob $k 60000 || exit 2
	done
	sleep 3
fi
# What the loop's faults came to: huge pages or their fallback, and
# compaction (a free block held by the reporter is not there to take).
vmstat() {
	mark "vmstat-$1 $(grep -E '^(thp_fault_alloc|thp_fault_fallback|compact_stall|pgfault) ' \
		/proc/vmstat | tr ' ' = | tr '\n' ' ')"
}
stats before
vmstat before
mark "pf-start"
page_fault_loop -t "$(param threads 2)" -m "$(param mib 128)" \
	-s "$(param seconds 10)" -H "$thp" | while read -r line; do
	mark "pf $line"
done
# The host judges each discard one second later (harness/churn.py): stay
# up for the discards of the loop's last second.
sleep "$(param tail 2)"
vmstat after
stats after
