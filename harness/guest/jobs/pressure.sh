# SPDX-License-Identifier: GPL-2.0
# Fill memory until pr.margin MiB are left, right after freeing pr.churn
# MiB (so that the reporting engine is busy while the pressure builds).
. /jobs/lib.sh
mark_balloon
sleep 2
pr-pressure "$(param margin 48)" "$(param churn 512)" | while read -r line; do
	mark "$line reported_bytes=$(prstat reported_bytes)"
done
exit 0
