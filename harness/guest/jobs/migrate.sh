# SPDX-License-Identifier: GPL-2.0
# Keep freeing memory, one tick a second, until the host stops the guest:
# the host migrates it meanwhile and watches the ticks (and the engine's
# reported bytes) go on on the destination.
. /jobs/lib.sh
mark_balloon
i=0
while :; do
	dd if=/dev/zero of=/tmp/churn bs=1M count="$(param mib 128)" 2>/dev/null
	rm /tmp/churn
	sleep 1
	i=$((i + 1))
	mark "tick n=$i reported_bytes=$(prstat reported_bytes) memfree_kb=$(meminfo MemFree)"
done
