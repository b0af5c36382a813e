# SPDX-License-Identifier: GPL-2.0
# Allocate pr.mib MiB (pr.workload= tmpfs: a file in tmpfs; anon: anonymous
# memory of one process), hold it pr.hold seconds, free it, then stay idle
# pr.after seconds so that the host can watch the memory come back.
. /jobs/lib.sh
mib=$(param mib 1024)
workload=$(param workload tmpfs)
hold=$(param hold 3)
after=$(param after 60)
sleep "$(param settle 2)"
# pr.go=1: start when the host says so (once the report of the memory free
# at boot is over).
[ "$(param go 0)" = 1 ] && wait_host go
mark_balloon
mark "alloc-start mib=$mib workload=$workload memfree_kb=$(meminfo MemFree)"
case $workload in
tmpfs)
	dd if=/dev/zero of=/tmp/hog bs=1M count="$mib" 2>/dev/null || exit 1
	mark "allocated memfree_kb=$(meminfo MemFree)"
	sleep "$hold"
	mark "freeing"
	rm /tmp/hog
	;;
anon)
	# pr-memhog prints "allocated" once every page is written, then
	# "freeing" after $hold seconds, and frees everything by exiting.
	pr-memhog "$mib" "$hold" | while read -r line; do
		mark "$line memfree_kb=$(meminfo MemFree)"
	done
	;;
*)
	echo "demo: unknown workload '$workload'"
	exit 2
	;;
esac
# At once: the host times the reporter from here.
mark "free-done"
mark "freed memfree_kb=$(meminfo MemFree) reported_bytes=$(prstat reported_bytes)"
i=0
while [ $i -lt "$after" ]; do
	sleep 1
	i=$((i + 1))
	mark "idle memfree_kb=$(meminfo MemFree) reported_bytes=$(prstat reported_bytes)"
done
exit 0
