# SPDX-License-Identifier: GPL-2.0
# The data-integrity stress (page_reporting_stress) for pr.seconds seconds
# over pr.mib MiB of live memory, seed pr.seed. Each progress line of the
# program becomes a "stress-progress" marker, the last one "stress", with
# the engine's reported bytes added.
. /jobs/lib.sh
mark_balloon
{
	page_reporting_stress --seconds "$(param seconds 60)" \
		--mib "$(param mib 256)" --seed "$(param seed 1)" \
		2>/tmp/stress.err
	echo $? >/tmp/stress.rc
} | while read -r line; do
	case $line in
	"stress: seconds="*)
		mark "stress-progress ${line#stress: } reported_bytes=$(prstat reported_bytes)"
		echo "$line" >/tmp/stress.last
		;;
	*)
		echo "$line"
		;;
	esac
done
cat /tmp/stress.err
rc=$(cat /tmp/stress.rc 2>/dev/null || echo 9)
line=$(cat /tmp/stress.last 2>/dev/null)
mark "stress rc=$rc ${line#stress: } reported_bytes=$(prstat reported_bytes)"
exit "$rc"
