# SPDX-License-Identifier: GPL-2.0
# A build's processes coming and going (pr-procs), with the guest's
# transparent huge page default (always); "procs-start" and the "procs"
# result bound the run for the host's discard count, as for pf.sh.
. /jobs/lib.sh
stats() {
	[ -e /sys/kernel/debug/page_reporting/state ] || return 0
	mark "stats-$1 reported_bytes=$(prstat reported_bytes)"
}
sleep "$(param settle 3)"
# pr.go=1: start when the host says so (once it has seen the reporter go
# quiet after its first pass over the memory free at boot).
[ "$(param go 0)" = 1 ] && wait_host go
stats before
mark "procs-start"
pr-procs -n "$(param tasks 200)" -j "$(param jobs 2)" \
	-m "$(param max 256)" | while read -r line; do
	mark "procs $line"
done
# The host judges each discard one second later: stay up for the
# discards of the run's last second.
sleep "$(param tail 2)"
stats after
