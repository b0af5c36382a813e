# SPDX-License-Identifier: GPL-2.0
# Run every kselftest binary in /kselftest; their TAP goes to the host.
. /jobs/lib.sh
rc=0
for t in /kselftest/*; do
	mark "kselftest-begin ${t##*/}"
	"$t" >&3 2>&1
	r=$?
	mark "kselftest-end ${t##*/} rc=$r"
	[ $r -eq 0 ] || [ $r -eq 4 ] || rc=1
done
# As run_vmtests.sh runs it: a pass with a reporting device, kselftest's
# skip (4) without one. The host checks which.
page_reporting_stress --require-reporting --seconds 5 --mib 32 >&3 2>&1
mark "stress-require rc=$?"
exit $rc
