/* SPDX-License-Identifier: GPL-2.0 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM page_reporting

#if !defined(_TRACE_PAGE_REPORTING_H) || defined(TRACE_HEADER_MULTI_READ)
#define _TRACE_PAGE_REPORTING_H

#include <linux/types.h>
#include <linux/tracepoint.h>
#include <trace/events/mmflags.h>

/*
 * One event per batch handed to the reporting device: which zone, how many
 * blocks (of the reporting order or larger) and bytes, and what ->report()
 * returned.
 */
TRACE_EVENT(page_reporting_batch,

	TP_PROTO(int nid, int zone_idx, unsigned int nents, unsigned long bytes,
		 int err),

	TP_ARGS(nid, zone_idx, nents, bytes, err),

	TP_STRUCT__entry(
		__field(unsigned long, bytes)
		__field(int, nid)
		__field(int, zone_idx)
		__field(unsigned int, nents)
		__field(int, err)
	),

	TP_fast_assign(
		__entry->bytes = bytes;
		__entry->nid = nid;
		__entry->zone_idx = zone_idx;
		__entry->nents = nents;
		__entry->err = err;
	),

	TP_printk("nid=%d zone=%s nents=%u bytes=%lu err=%d",
		__entry->nid, __print_symbolic(__entry->zone_idx, ZONE_TYPE),
		__entry->nents, __entry->bytes, __entry->err)
);

#endif /* _TRACE_PAGE_REPORTING_H */

/* This part must be outside protection */
#include <trace/define_trace.h>
