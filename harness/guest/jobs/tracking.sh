# SPDX-License-Identifier: GPL-2.0
# What free page reporting's tracking costs in this guest: the engine's
# tracking_bytes next to the present pages and the span of all zones
# (/proc/zoneinfo prints "spanned" and "present" before "start_pfn:").
. /jobs/lib.sh
awk '$1 == "present" { present += $2 }
     $1 == "spanned" { spanned = $2 }
     $1 == "start_pfn:" && $2 + spanned > end { end = $2 + spanned }
     END { printf "%d %d\n", present, end }' /proc/zoneinfo | {
	read -r present end_pfn
	mark "tracking tracking_bytes=$(prstat tracking_bytes)" \
	     "present_pages=$present end_pfn=$end_pfn"
}
exit 0
