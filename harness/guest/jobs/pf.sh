# SPDX-License-Identifier: GPL-2.0
# Page-fault throughput under churn (page_fault_loop), with reporting
# statistics before and after when the engine exports them.
. /jobs/lib.sh
thp=$(param thp on)
if [ "$thp" = on ]; then
	echo madvise > /sys/kernel/mm/transparent_hugepage/enabled
else
	echo never > /sys/kernel/mm/transparent_hugepage/enabled
fi
stats() {
	d=/sys/kernel/mm/page_reporting/stats
	[ -d $d ] || return 0
	line=""
	for f in $d/*; do line="$line ${f##*/}=$(cat "$f")"; done
	mark "stats-$1$line"
}
sleep "$(param settle 3)"
stats before
page_fault_loop -t "$(param threads 2)" -m "$(param mib 128)" \
	-s "$(param seconds 10)" -H "$thp" | while read -r line; do
	mark "pf $line"
done
stats after
