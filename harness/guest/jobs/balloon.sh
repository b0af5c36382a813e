# SPDX-License-Identifier: GPL-2.0
# The data-integrity stress runs while the host inflates and deflates the
# balloon and a loop compacts memory (which migrates balloon pages), all
# with reporting on. The stress program re-verifies every live page. It
# runs until the host has done its rounds and says "stop" (SIGTERM ends it
# after the round in progress), however slow the guest is.
. /jobs/lib.sh
mark_balloon
(
	while :; do
		echo 1 >/proc/sys/vm/compact_memory
		sleep 1
	done
) &
compactor=$!
mark "stress-start"
page_reporting_stress --seconds 3600 --mib "$(param mib 256)" \
	--seed "$(param seed 1)" >/tmp/stress.out 2>/tmp/stress.err &
stress=$!
wait_host stop
kill -TERM $stress 2>/dev/null
wait $stress
rc=$?
kill $compactor
cat /tmp/stress.err
line=$(grep '^stress:' /tmp/stress.out | tail -n 1)
mark "stress rc=$rc ${line#stress: } reported_bytes=$(prstat reported_bytes) balloon_inflate=$(vmevent balloon_inflate) balloon_deflate=$(vmevent balloon_deflate) balloon_migrate=$(vmevent balloon_migrate)"
exit $rc
