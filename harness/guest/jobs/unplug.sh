# SPDX-License-Identifier: GPL-2.0
# The host removes the virtio-balloon device (QMP device_del, ACPI PCI
# hotplug) while the engine reports, then plugs a new one in. With one
# block per report (the engine's capacity knob at 1), reporting a free
# takes several passes of 64 single-block reports. Each round
# waits until reporting is quiet (a new device gets all free memory
# reported), frees pr.mib MiB and says so; the host waits a different time
# in each round and removes the device. What was reported in between shows
# whether that was before, during or after the pass that reports the freed
# memory. Once the device is gone no block may stay isolated; once the new
# device is bound, the next round starts; after the last one, reporting
# must resume.
. /jobs/lib.sh
drv=/sys/bus/virtio/drivers/virtio_balloon
bound() {
	ls -d $drv/virtio* >/dev/null 2>&1
}
mib=$(param mib 256)
rounds=$(param rounds 6)
bound || { echo "unplug: no virtio_balloon device"; exit 1; }
prknob capacity 1 || exit 1
sleep 2
mark_start || exit 1
i=0
while [ $i -lt "$rounds" ]; do
	quiet_free "$mib" || exit 1
	mark "freed n=$i"
	wait_host removed
	bound && { echo "unplug: driver still bound after removal"; exit 1; }
	mark "removed n=$i isolated=$(prstat isolated_now) before=$before reported_bytes=$(prstat reported_bytes) memfree_kb=$(meminfo MemFree)"
	wait_host added
	t=0
	until bound; do
		[ $t -lt 600 ] || { echo "unplug: no driver 60 s after device_add"; exit 1; }
		usleep 100000
		t=$((t + 1))
	done
	mark_balloon
	i=$((i + 1))
done
mark_resumed "$mib" || exit 1
exit 0
