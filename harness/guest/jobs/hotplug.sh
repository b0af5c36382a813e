# SPDX-License-Identifier: GPL-2.0
# Memory hot-add and hot-remove while reporting runs. The host adds a DIMM
# after "ready" and removes it after "used"; the guest onlines it movable
# (memhp_default_state=online_movable), uses and frees memory in it, and
# sees it go again.
. /jobs/lib.sh

# Wait until "MemTotal $1 $2" holds (a test(1) comparison); fail after 120 s.
wait_memtotal() {
	i=0
	until [ "$(meminfo MemTotal)" "$1" "$2" ]; do
		[ $i -lt 120 ] || return 1
		sleep 1
		i=$((i + 1))
	done
}

mark_balloon
total0=$(meminfo MemTotal)
sleep 2
mark "ready memtotal_kb=$total0 reported_bytes=$(prstat reported_bytes)"
wait_memtotal -gt "$total0" || { echo "hotplug: no memory added"; exit 1; }
# Let the engine report the new, free memory.
sleep 5
mark "added memtotal_kb=$(meminfo MemTotal) reported_bytes=$(prstat reported_bytes)"
# Movable allocations come from ZONE_MOVABLE first: that is the new DIMM.
dd if=/dev/zero of=/tmp/hp bs=1M count="$(param mib 384)" 2>/dev/null
rm /tmp/hp
sleep 3
mark "used memtotal_kb=$(meminfo MemTotal) reported_bytes=$(prstat reported_bytes)"
wait_memtotal -le "$total0" || { echo "hotplug: memory not removed"; exit 1; }
mark "removed memtotal_kb=$(meminfo MemTotal) isolated=$(prstat isolated_now)"
before=$(prstat reported_bytes)
dd if=/dev/zero of=/tmp/hp bs=1M count=256 2>/dev/null
rm /tmp/hp
sleep 5
mark "after before=$before reported_bytes=$(prstat reported_bytes) isolated=$(prstat isolated_now)"
exit 0
