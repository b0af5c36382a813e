# SPDX-License-Identifier: GPL-2.0
# Unbind and rebind virtio_balloon while the engine reports: each round
# frees pr.mib MiB, waits a different time (so the unbind lands before,
# during and after the pass) and unbinds. After every unbind no block may
# stay isolated; after the last rebind, reporting must resume.
. /jobs/lib.sh
drv=/sys/bus/virtio/drivers/virtio_balloon
dev=$(ls -d $drv/virtio* 2>/dev/null | head -n 1)
dev=${dev##*/}
[ -n "$dev" ] || { echo "rebind: no virtio_balloon device"; exit 1; }
mib=$(param mib 256)
rounds=$(param rounds 6)
sleep 2
mark "start memfree_kb=$(meminfo MemFree) slab_kb=$(meminfo Slab)"
i=0
while [ $i -lt "$rounds" ]; do
	dd if=/dev/zero of=/tmp/churn bs=1M count="$mib" 2>/dev/null
	rm /tmp/churn
	# 0, 100 ms, 200 ms, ... after the free: the engine's quiet period
	# is 100 ms, so some unbinds land in the middle of a pass.
	usleep $((i * 100000))
	echo "$dev" >$drv/unbind || { echo "rebind: unbind failed"; exit 1; }
	mark "unbound n=$i isolated=$(prstat isolated_now) reported_bytes=$(prstat reported_bytes) memfree_kb=$(meminfo MemFree)"
	echo "$dev" >$drv/bind || { echo "rebind: bind failed"; exit 1; }
	i=$((i + 1))
done
sleep 3
before=$(prstat reported_bytes)
dd if=/dev/zero of=/tmp/churn bs=1M count="$mib" 2>/dev/null
rm /tmp/churn
sleep 5
mark_balloon
mark "resumed before=$before after=$(prstat reported_bytes) isolated=$(prstat isolated_now) memfree_kb=$(meminfo MemFree) slab_kb=$(meminfo Slab)"
exit 0
