# SPDX-License-Identifier: GPL-2.0
# The longest stretch with interrupts off while a free is reported, from
# the irqsoff tracer of a kernel built with Kconfig.irqsoff. The host
# sends "go" once the report of the memory free at boot is over. The job
# writes pr.mib MiB of tmpfs and deletes it with the tracer off, so that
# the stretches of the free itself (the page allocator's own batches under
# zone->lock) do not count, then traces pr.after seconds, the time the
# reporter takes to report it. One "irqsoff" line: the longest stretch in
# microseconds, the task it was in, where it started, and the functions
# of the stack where it ended (the tracer takes it there).
. /jobs/lib.sh
T=/sys/kernel/tracing
[ -e $T/trace ] || mount -t tracefs nodev $T
if ! grep -qw irqsoff $T/available_tracers 2>/dev/null; then
	echo "irqsoff: this kernel has no irqsoff tracer (Kconfig.irqsoff)"
	exit 2
fi
mib=$(param mib 1024)
after=$(param after 20)
sleep "$(param settle 3)"
[ "$(param go 0)" = 1 ] && wait_host go
echo 0 > $T/tracing_on
# The stretch's two ends and its stack, not every function inside it.
echo 0 > $T/options/function-trace
echo irqsoff > $T/current_tracer
dd if=/dev/zero of=/tmp/hog bs=1M count="$mib" 2>/dev/null || exit 1
rm /tmp/hog
echo 0 > $T/tracing_max_latency
echo 1 > $T/tracing_on
mark "traced mib=$mib"
sleep "$after"
echo 0 > $T/tracing_on
max=$(cat $T/tracing_max_latency)
task=$(sed -n 's/^#[ |]*task: \([^ ]*\).*/\1/p' $T/trace | head -n 1)
started=$(sed -n 's/^# *=> started at: *\([^ +]*\).*/\1/p' $T/trace | head -n 1)
stack=$(sed -n 's/^ *=> \([^ +]*\).*/\1/p' $T/trace | head -n 8 | tr '\n' ,)
mark "irqsoff max_us=$max task=${task:-none} started=${started:-none}" \
	"stack=${stack:-none}"
echo nop > $T/current_tracer
