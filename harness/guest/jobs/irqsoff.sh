# SPDX-License-Identifier: GPL-2.0
# The stretches with interrupts off while a free is reported, measured the
# same way for any engine, on a kernel built with Kconfig.irqsoff. The
# preemptirq:irq_disable and irq_enable events carry no duration, so two
# histogram triggers keyed by CPU pair them (interrupts go off and on
# again on one CPU, even across a context switch) and emit a synthetic
# event, irqs_off_stretch, with its length, in the task and on the stack
# where interrupts went on again. It is recorded, with its stack, from
# pr.min_us microseconds up, and with
# workqueue_execute_start/_end of page_reporting_process() (pr.fn, its
# address from System.map), so that a stretch that ended in a kworker
# while it ran the reporter is the worker's. (The irqsoff tracer's global
# maximum, under TCG, is a timer interrupt of the idle task.)
#
# The host sends "go" once the report of the memory free at boot is over.
# The job writes pr.mib MiB of tmpfs and deletes it with recording off,
# so that the stretches of the free itself (the page allocator's own
# batches under zone->lock) do not count, then records pr.after seconds,
# the time the reporter takes to report it. Lines for the host:
# "irqsoff-worker us=N kind=own|irq stack=F1,F2,..." for the worker's 3
# longest stretches of each kind, longest first (the stack from the
# function that turned interrupts on, outwards), and "irqsoff" with the longest of the worker's own
# stretches, of the interrupts it took, and of any task, the number of
# the worker's own stretches recorded, its runs, and events lost to a
# full trace buffer.
. /jobs/lib.sh
T=/sys/kernel/tracing
E=$T/events
fn=$(param fn)
mib=$(param mib 1024)
after=$(param after 20)
min_us=$(param min_us 10)
[ -e $T/trace ] || mount -t tracefs nodev $T
if [ -z "$fn" ] || [ ! -e $E/preemptirq/irq_enable ] ||
   [ ! -e $T/synthetic_events ]; then
	echo "irqsoff: needs pr.fn=, the preemptirq events and histogram" \
	     "triggers (Kconfig.irqsoff)"
	exit 2
fi
sleep "$(param settle 3)"
[ "$(param go 0)" = 1 ] && wait_host go
echo 0 >$T/tracing_on
echo 16384 >$T/buffer_size_kb
echo 'irqs_off_stretch u64 us' >>$T/synthetic_events || exit 2
echo 'hist:keys=common_cpu:t0=common_timestamp.usecs' \
	>>$E/preemptirq/irq_disable/trigger || exit 2
echo 'hist:keys=common_cpu:us=common_timestamp.usecs-$t0:onmatch(preemptirq.irq_disable).trace(irqs_off_stretch,$us)' \
	>>$E/preemptirq/irq_enable/trigger || exit 2
echo "us >= $min_us" >$E/synthetic/irqs_off_stretch/filter || exit 2
echo "stacktrace if us >= $min_us" \
	>$E/synthetic/irqs_off_stretch/trigger || exit 2
echo 1 >$E/synthetic/irqs_off_stretch/enable
for e in workqueue_execute_start workqueue_execute_end; do
	echo "function == $fn" >$E/workqueue/$e/filter || exit 2
	echo 1 >$E/workqueue/$e/enable
done

dd if=/dev/zero of=/tmp/hog bs=1M count="$mib" 2>/dev/null || exit 1
rm /tmp/hog
echo >$T/trace
echo 1 >$T/tracing_on
mark "traced mib=$mib min_us=$min_us"
sleep "$after"
echo 0 >$T/tracing_on

# A line is "TASK-PID [CPU] FLAGS SECONDS: EVENT: FIELDS"; the fields are
# found by their shape, which does not depend on the flags columns. A
# stretch is the worker's when it ended in a task between that task's
# execute_start and execute_end of the reporter's work. Its stack follows
# it on the same CPU: a "<stack trace>" line, then " => FUNCTION+OFFS/SIZE"
# lines from the trigger's own frames outwards (other CPUs' lines may come
# in between, in the order of their timestamps). The 6 frames after
# trace_hardirqs_on() are kept (the first 12 if it is not there). A
# stretch with an interrupt entry on its stack is an interrupt handler's
# that happened to interrupt the worker ("irq"); the others are the
# worker's own ("own").
awk -v out=/tmp/worker '
# A stretch of the worker on CPU c waits in cur[c] for its stack.
function flush(c) {
	if (cur[c] == "")
		return
	if (!after[c])
		frames[c] = all[c]
	if (irq[c] && cur[c] > irq_max)
		irq_max = cur[c]
	if (!irq[c]) {
		own++
		if (cur[c] > own_max)
			own_max = cur[c]
	}
	print cur[c], irq[c] ? "irq" : "own",
	      frames[c] == "" ? "none" : frames[c] > out
	cur[c] = ""
}
$1 == "=>" {
	if (taking == "")
		next
	c = taking
	f = $2
	sub(/\+.*/, "", f)
	if (f ~ /^(asm_)?(sysvec_|common_interrupt)|^irq_exit/)
		irq[c] = 1
	if (nall[c]++ < 12)
		all[c] = all[c] (all[c] == "" ? "" : ",") f
	if (f == "trace_hardirqs_on")
		after[c] = 1
	else if (after[c] && nframes[c]++ < 6)
		frames[c] = frames[c] (frames[c] == "" ? "" : ",") f
	next
}
{
	for (i = 1; i <= NF && $i !~ /^\[[0-9]+\]$/; i++)
		;
	for (t = i + 1; t <= NF && $t !~ /^[0-9]+\.[0-9]+:$/; t++)
		;
	if (i > NF || t >= NF)
		next
	c = $i
	ev = $(t + 1)
	taking = ""
	if (ev == "<stack") {
		if (cur[c] != "")
			taking = c
		next
	}
	flush(c)
	pid = $(i - 1)
	sub(/.*-/, "", pid)
	if (ev == "workqueue_execute_start:") {
		runs++
		on[pid] = 1
	} else if (ev == "workqueue_execute_end:") {
		on[pid] = 0
	} else if (ev == "irqs_off_stretch:") {
		f = $(t + 2)
		us = (f ~ /^us=/) ? substr(f, 4) + 0 : 0
		if (us > any)
			any = us
		if (on[pid]) {
			cur[c] = us
			frames[c] = all[c] = ""
			after[c] = nframes[c] = nall[c] = irq[c] = 0
		}
	}
}
END {
	for (c in cur)
		flush(c)
	printf "own_us=%d irq_us=%d any_us=%d own_stretches=%d runs=%d\n",
	       own_max, irq_max, any, own, runs
}' $T/trace >/tmp/summary
touch /tmp/worker
for kind in own irq; do
	awk -v k=$kind '$2 == k' /tmp/worker | sort -n -r | head -n 3 |
		while read -r us _ stack; do
			mark "irqsoff-worker us=$us kind=$kind stack=$stack"
		done
done
mark "irqsoff $(cat /tmp/summary) lost=$(trace_overruns)"
