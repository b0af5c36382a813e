# SPDX-License-Identifier: GPL-2.0
# What the reporting worker costs this guest, measured the same way for
# any engine. page_reporting_process() runs from a workqueue: its time on
# a CPU is the time from its workqueue_execute_start event to its
# workqueue_execute_end, less the stretches in between when its kworker
# is switched out (waiting for the host to acknowledge a report, or
# preempted). The host passes the function's address as pr.fn (from
# System.map: the test kernels have no kallsyms, so the events carry
# addresses, and no KASLR, so System.map's address is the one that runs).
# Interrupts taken during a run, and under TCG the host's own scheduling
# of the vCPU, count as the worker's: the figure is an upper bound, the
# same for both engines.
#
# The host sends "go" once the report of the memory free at boot is over.
# Phases follow, each traced on its own: "free" writes and deletes
# pr.mib MiB of tmpfs and traces pr.after seconds; "idle" then traces
# pr.idle seconds in which nothing is freed on purpose; with pr.churn=S,
# "churn" runs page_fault_loop (pr.threads threads, 128 MiB each, THP)
# for S seconds and traces pr.tail more, what the worker takes from a
# guest that allocates and frees all the time (the loop's own result is
# marked as "cost-pf"). One "cost" line
# per phase: worker runs started (every wake-up, also one that only finds
# it must wait longer), how many of the runs that ended were brief (under
# 100 microseconds on a CPU: too short for a pass that reports anything),
# on-CPU microseconds of the runs that ended, the longest of them, and
# events lost to a full trace buffer.
. /jobs/lib.sh
fn=$(param fn)
mib=$(param mib 1024)
after=$(param after 20)
idle=$(param idle 60)
churn=$(param churn 0)
threads=$(param threads 2)
tail=$(param tail 2)
T=/sys/kernel/tracing
E=$T/events

[ -e $T/trace ] || mount -t tracefs nodev $T
if [ -z "$fn" ] || [ ! -e $E/workqueue/workqueue_execute_start ]; then
	echo "cost: needs pr.fn= and the workqueue and sched trace events"
	exit 2
fi
echo 8192 >$T/buffer_size_kb
echo 0 >$T/tracing_on
for e in workqueue_execute_start workqueue_execute_end; do
	echo "function == $fn" >$E/workqueue/$e/filter || exit 2
	echo 1 >$E/workqueue/$e/enable
done
echo 'prev_comm ~ "kworker*" || next_comm ~ "kworker*"' \
	>$E/sched/sched_switch/filter || exit 2
echo 1 >$E/sched/sched_switch/enable

# On-CPU time of the traced runs, from $T/trace. A line is "TASK-PID
# [CPU] FLAGS SECONDS: EVENT: ..."; the fields are found by their shape,
# which does not depend on the flags columns.
runs_and_cpu() {
	awk '
	{
		for (i = 1; i <= NF && $i !~ /^\[[0-9]+\]$/; i++)
			;
		for (t = i + 1; t <= NF && $t !~ /^[0-9]+\.[0-9]+:$/; t++)
			;
		if (i > NF || t >= NF)
			next
		pid = $(i - 1)
		sub(/.*-/, "", pid)
		ts = substr($t, 1, length($t) - 1) * 1e6
		ev = $(t + 1)
		if (ev == "workqueue_execute_start:") {
			runs++
			on[pid] = 1
			cpu[pid] = 0
			since[pid] = ts
		} else if (ev == "workqueue_execute_end:" && on[pid]) {
			if (since[pid] >= 0)
				cpu[pid] += ts - since[pid]
			total += cpu[pid]
			if (cpu[pid] < 100)
				brief++
			if (cpu[pid] > longest)
				longest = cpu[pid]
			on[pid] = 0
		} else if (ev == "sched_switch:") {
			prev = next_ = ""
			for (j = t + 2; j <= NF; j++) {
				if ($j ~ /^prev_pid=/)
					prev = substr($j, 10)
				else if ($j ~ /^next_pid=/)
					next_ = substr($j, 10)
			}
			if (prev != "" && on[prev] && since[prev] >= 0) {
				cpu[prev] += ts - since[prev]
				since[prev] = -1
			}
			if (next_ != "" && on[next_])
				since[next_] = ts
		}
	}
	END {
		printf "runs=%d brief=%d cpu_us=%d longest_us=%d\n",
		       runs, brief, total, longest
	}
	' $T/trace
}

# phase NAME SECONDS [COMMAND...]: trace COMMAND and then SECONDS more.
phase() {
	local name=$1 secs=$2
	shift 2
	echo >$T/trace
	echo 1 >$T/tracing_on
	mark "phase-start name=$name"
	"$@" || return 1
	sleep "$secs"
	echo 0 >$T/tracing_on
	mark "phase-end name=$name"
	mark "cost phase=$name $(runs_and_cpu) lost=$(trace_overruns)"
}

free_tmpfs() {
	dd if=/dev/zero of=/tmp/cost bs=1M count="$mib" 2>/dev/null || return 1
	rm /tmp/cost
}

churn_loop() {
	thp_mode on || return 1
	page_fault_loop -t "$threads" -m 128 -s "$churn" -H on >/tmp/cost-pf ||
		return 1
	mark "cost-pf $(cat /tmp/cost-pf)"
}

wait_host go
phase free "$after" free_tmpfs || exit 1
phase idle "$idle" true || exit 1
if [ "$churn" -gt 0 ]; then
	phase churn "$tail" churn_loop || exit 1
fi
exit 0
