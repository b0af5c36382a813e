# SPDX-License-Identifier: GPL-2.0
# Unbind and rebind virtio_balloon while the engine reports: each round
# waits until reporting is quiet (a rebound driver gets all free memory
# reported), frees pr.mib MiB, waits a different time and unbinds; what was
# reported in between shows whether that was before, during or after the
# reporting of the free (one block per report, the engine's capacity knob
# at 1: two passes of 64 single-block reports). After every unbind no
# block may stay isolated; after the last rebind, reporting must resume.
. /jobs/lib.sh
drv=/sys/bus/virtio/drivers/virtio_balloon
dev=$(ls -d $drv/virtio* 2>/dev/null | head -n 1)
dev=${dev##*/}
[ -n "$dev" ] || { echo "rebind: no virtio_balloon device"; exit 1; }
mib=$(param mib 256)
rounds=$(param rounds 6)
prknob capacity 1 || exit 1
sleep 2
mark_start || exit 1
i=0
while [ $i -lt "$rounds" ]; do
	quiet_free "$mib" || exit 1
	# 0, 100 ms, 200 ms, ... after the free: the engine waits 100 ms
	# for frees to go quiet and keeps blocks on probation for a pass.
	usleep $((i * 100000))
	echo "$dev" >$drv/unbind || { echo "rebind: unbind failed"; exit 1; }
	mark "unbound n=$i isolated=$(prstat isolated_now) before=$before reported_bytes=$(prstat reported_bytes) memfree_kb=$(meminfo MemFree)"
	echo "$dev" >$drv/bind || { echo "rebind: bind failed"; exit 1; }
	i=$((i + 1))
done
mark_balloon
mark_resumed "$mib" || exit 1
exit 0
