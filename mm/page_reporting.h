/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _MM_PAGE_REPORTING_H
#define _MM_PAGE_REPORTING_H

#include <linux/mmzone.h>
#include <linux/pageblock-flags.h>
#include <linux/page-isolation.h>
#include <linux/jump_label.h>
#include <linux/slab.h>
#include <linux/pgtable.h>
#include <linux/scatterlist.h>
#include <linux/sizes.h>
#include <linux/log2.h>

#ifdef CONFIG_PAGE_REPORTING
/*
 * Frees are tracked in blocks of this order: 2 MiB, the size hosts back
 * guest memory with (THP on x86-64 and on arm64 with 4 KiB pages), or a
 * pageblock if that is smaller. With 64 KiB pages a pageblock is 512 MiB,
 * far too coarse to find anything free. The reporting order may be smaller
 * or larger than this: a tracked block is then searched for free buddy
 * blocks of that order, or reported as part of a larger unit.
 */
#define PAGE_REPORTING_TRACK_ORDER \
	min_t(unsigned int, pageblock_order, ilog2(SZ_2M) - PAGE_SHIFT)

#ifdef CONFIG_SPARSEMEM
#define PAGE_REPORTING_SECTION_SHIFT	PFN_SECTION_SHIFT
#else
/*
 * FLATMEM has no memory sections; the engine cuts the memory map into
 * pieces of 128 MiB (or of a MAX_PAGE_ORDER block, if larger) all the same.
 */
#define PAGE_REPORTING_SECTION_SHIFT \
	max_t(unsigned int, ilog2(SZ_128M) - PAGE_SHIFT, MAX_PAGE_ORDER)
#endif

/* Tracked blocks of a section. */
#define PAGE_REPORTING_SECTION_BITS \
	((1UL << PAGE_REPORTING_SECTION_SHIFT) >> PAGE_REPORTING_TRACK_ORDER)

/*
 * Each tracked block has three bits in its section's map. The first part of
 * the map holds the marks (something in the block was freed and not yet
 * reported), the second the probation bits (the worker saw the block
 * marked and free on its last pass, and nothing was freed in it since), the
 * third the first-pick probation bits (the same, seen by the last pass that
 * looked at blocks the allocator hands out first).
 */
static inline size_t page_reporting_map_size(void)
{
	return 3 * BITS_TO_LONGS(PAGE_REPORTING_SECTION_BITS) *
	       sizeof(unsigned long);
}

DECLARE_STATIC_KEY_FALSE(page_reporting_enabled);
extern unsigned int page_reporting_order;
extern unsigned int page_reporting_mark_order;
void __page_reporting_notify_free(unsigned long pfn, unsigned int order);

/*
 * PG_reported on the head of a free buddy block: the block was reported
 * and has not left the free list since (allocation, merge and isolation
 * clear it). The worker does not report such a block again.
 */
static inline bool page_reported(struct page *page)
{
	return static_branch_unlikely(&page_reporting_enabled) &&
	       PageReported(page);
}

/**
 * page_reporting_notify_free - Tell page reporting about a freed range
 * @pfn: first pfn of the range the caller of __free_one_page() frees
 * @order: its order
 * @merged_order: order of the free block it became part of
 *
 * Called by __free_one_page() with zone->lock held, once the merged block
 * is on its free list. When that block is of at least the mark order (the
 * reporting order, or pageblock_order if that is smaller), the tracked
 * blocks that hold the freed range have something new to report. Returns at once while no
 * device has ever registered (the static key is off).
 */
static inline void page_reporting_notify_free(unsigned long pfn,
					      unsigned int order,
					      unsigned int merged_order)
{
	/* Called from hot path in __free_one_page() */
	if (!static_branch_unlikely(&page_reporting_enabled))
		return;

	if (merged_order < READ_ONCE(page_reporting_mark_order))
		return;

	__page_reporting_notify_free(pfn, order);
}
#else /* CONFIG_PAGE_REPORTING */
static inline bool page_reported(struct page *page)
{
	return false;
}

static inline void page_reporting_notify_free(unsigned long pfn,
					      unsigned int order,
					      unsigned int merged_order)
{
}
#endif /* CONFIG_PAGE_REPORTING */
#endif /*_MM_PAGE_REPORTING_H */
