// SPDX-License-Identifier: GPL-2.0
/*
 * Free page reporting, tracked with per-section bitmaps.
 *
 * A page reporting device (virtio-balloon, hv_balloon) asks to be told about
 * free memory so that its host can take it back. This engine finds that
 * memory without walking free lists:
 *
 *   mark     __free_one_page() puts a block of at least the mark order
 *            (the reporting order, or pageblock_order if that is smaller)
 *            on a free list, after merging.
 *            The tracked blocks that hold the freed range get their mark bit
 *            set in their section's map (after
 *            mem_section_usage::pageblock_flags) and their probation bit
 *            cleared, and the section gets its bit in a small summary
 *            bitmap. A block whose mark is clear was reported, or nothing
 *            was freed in it since the device registered.
 *   scan     After a quiet period, a worker walks the summary, then the
 *            marked blocks of each marked section.
 *   probate  The first time the worker finds a marked block free, it sets
 *            the block's probation bit and leaves it. A free in the block
 *            before the next pass clears that bit again; an allocation
 *            leaves it not free. Blocks that churn are not reported. A
 *            unit that is a free block of its own order below
 *            MAX_PAGE_ORDER, which the allocator hands out first, is looked
 *            at only by a pass every page_reporting_first_pick_ms, and its
 *            probation runs from one such pass to the next. Below the
 *            tracked order, a block that is not free as a whole skips
 *            probation: every free inside it would restart it.
 *   isolate  Under zone->lock (dropped after about 512 struct pages looked
 *            at, see reporting_scan_zone()), a marked block on probation
 *            that is still free is taken off the free list into a
 *            scatterlist and its bits are cleared: with the free buddy
 *            block that holds it, whole, once every marked block of that
 *            free block is ready, or, with a smaller reporting order, the
 *            free buddy blocks of at least that order inside it that are
 *            not PG_reported. A marked block with nothing free loses its
 *            bits: it will be marked again when something in it is freed
 *            again.
 *   report   With zone->lock dropped, the batch goes to ->report().
 *   drain    The blocks return to the buddy allocator without being marked
 *            (FPI_SKIP_REPORT_NOTIFY) and with PG_reported set, unless they
 *            merged. Blocks the device failed to report are marked again.
 *   idle     The worker stops when no bit is left that it could report.
 *
 * Why this is lossless: a mark is set under the zone->lock of the freed
 * block and cleared only under the same lock, after checking the block
 * (marks of memory that cannot be free, holes and offlined memory, are
 * cleared without it). The summary bit is cleared before the section's
 * map is read, with full barriers on both sides (see
 * reporting_mark_blocks() and reporting_scan()); a mark in a section the
 * summary does not cover raises reporting_unsummarized instead, which the
 * worker clears the same way before it looks at every online section.
 *
 * Why blocks are not reported twice: reporting clears the marks of a
 * block, and putting it back does not mark it. Merges and splits of free
 * blocks do not touch the marks; only a free of memory that was allocated
 * does. Below the tracked order, the blocks of a marked tracked block that
 * were reported and stayed as they are keep PG_reported and are skipped;
 * a reported block that merges with a newly freed buddy, or the rest of
 * one that was split by an allocation, has lost the flag and is reported
 * again once its tracked block is marked: it is a new free block.
 *
 * Memory cost: three bits per tracked block of present memory, inside the
 * mem_section_usage that sparse already allocates per present section (and
 * frees on hot-remove), plus one summary bit per section of physical
 * address space; with FLATMEM, which has no sections, one array of such
 * maps for the nodes' pfn span, allocated at boot. Nothing is added to
 * struct zone.
 */
#include <linux/debugfs.h>
#include <linux/mm.h>
#include <linux/mmzone.h>
#include <linux/memory.h>
#include <linux/memory_hotplug.h>
#include <linux/page_reporting.h>
#include <linux/page-isolation.h>
#include <linux/export.h>
#include <linux/module.h>
#include <linux/scatterlist.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmstat.h>

#include "page_reporting.h"
#include "internal.h"

#define CREATE_TRACE_POINTS
#include <trace/events/page_reporting.h>

#define PR_TRACK_ORDER		PAGE_REPORTING_TRACK_ORDER
#define PR_SECTION_SHIFT	PAGE_REPORTING_SECTION_SHIFT
#define PR_SECTION_BITS		PAGE_REPORTING_SECTION_BITS

/*
 * Reporting order: blocks smaller than this are not reported.
 * PAGE_REPORTING_ORDER_UNSPECIFIED until a device registers or the user
 * sets it.
 */
unsigned int page_reporting_order = PAGE_REPORTING_ORDER_UNSPECIFIED;

/*
 * Frees that leave a free block of at least this order mark their tracked
 * blocks: the reporting order, or pageblock_order if that is smaller.
 * Read by the free path without a lock; see reporting_set_mark_order().
 */
unsigned int page_reporting_mark_order __read_mostly = -1;

/*
 * The reporting order that the marks of the registered device follow.
 * Written under page_reporting_mutex; read without it by the worker.
 */
static unsigned int reporting_marked_order = -1;

/*
 * Pacing. A worker starts when the hook has seen no free for
 * page_reporting_delay_ms (the free looks finished), but no later than
 * page_reporting_max_delay_ms after it was queued for frees not yet
 * reported (frees that never stop still get reported). Both are multiplied
 * by the engine's back-off factor, which grows while reported or marked
 * blocks keep being reallocated at once: reporting a block that is about
 * to be reused costs the guest a refault and the host a discard for
 * nothing. A stretched wait is never longer than PR_BACKOFF_SPAN times
 * page_reporting_max_delay_ms (8 s by default), so that however the guest
 * churns, a free is looked at within that time. Only a pass changes the
 * factor: right after churn, a large free waits up to that span for its
 * first pass, and as long again for the pass that reports it after
 * probation; each pass without churn then halves the factor.
 */
static unsigned int page_reporting_delay_ms = 100;
static unsigned int page_reporting_max_delay_ms = 2000;
/* Time between passes that look at first-pick units */
static unsigned int page_reporting_first_pick_ms = 1000;
/* Blocks per ->report() call; the device's capacity bounds it too. */
static unsigned int page_reporting_capacity = PAGE_REPORTING_CAPACITY;

#define PR_DELAY_MAX_MS		60000
#define PR_BACKOFF_MAX		64
#define PR_BACKOFF_SPAN		4
#define PR_RETRY_DELAY		HZ

/*
 * The pacing and batch size are the engine's knobs, for experiments and
 * tests, in debugfs (/sys/kernel/debug/page_reporting/): no administrator
 * needs to set them.
 */
struct reporting_knob {
	const char *name;
	unsigned int *val;
	unsigned int min, max;
};

static const struct reporting_knob reporting_knobs[] = {
	{ "delay_ms", &page_reporting_delay_ms, 0, PR_DELAY_MAX_MS },
	{ "max_delay_ms", &page_reporting_max_delay_ms, 0, PR_DELAY_MAX_MS },
	{ "first_pick_ms", &page_reporting_first_pick_ms, 0, PR_DELAY_MAX_MS },
	{ "capacity", &page_reporting_capacity, 1, PAGE_REPORTING_CAPACITY },
};

/* Out of range, negative, overflowing or not a number: -EINVAL. */
static int reporting_knob_set(const struct reporting_knob *knob,
			      const char *buf)
{
	unsigned int v;

	if (!buf || kstrtouint(buf, 10, &v) || v < knob->min || v > knob->max)
		return -EINVAL;
	WRITE_ONCE(*knob->val, v);
	return 0;
}

static void reporting_order_changed(void);
static bool reporting_order_caught_up(void);

static int page_order_update_notify(const char *val,
				    const struct kernel_param *kp)
{
	/* Decimal or 0x hex; too large is -EINVAL as well. */
	if (param_set_uint_minmax(val, kp, 0, MAX_PAGE_ORDER))
		return -EINVAL;
	reporting_order_changed();
	return 0;
}

static const struct kernel_param_ops page_reporting_param_ops = {
	.set = &page_order_update_notify,
	/*
	 * param_get_int, not param_get_uint: unset, the value reads as
	 * PAGE_REPORTING_ORDER_UNSPECIFIED (-1).
	 */
	.get = &param_get_int,
};

module_param_cb(page_reporting_order, &page_reporting_param_ops,
		&page_reporting_order, 0644);
MODULE_PARM_DESC(page_reporting_order,
		 "Smallest order reported (0..MAX_PAGE_ORDER)");

/*
 * This symbol is also a kernel parameter. Export the page_reporting_order
 * symbol so that other drivers can access it to control order values without
 * having to introduce another configurable parameter. Only one driver can
 * register with the page_reporting driver for the service, so we have just
 * one control parameter for the use case(which can be accessed in both
 * drivers)
 */
EXPORT_SYMBOL_GPL(page_reporting_order);

static struct page_reporting_dev_info __rcu *pr_dev_info __read_mostly;

enum {
	PAGE_REPORTING_IDLE = 0,
	PAGE_REPORTING_REQUESTED,
	PAGE_REPORTING_ACTIVE
};

/*
 * Words of a section's map: the marks, the probation bits, then as many
 * first-pick probation bits (reporting_first_pick_wait()).
 */
#define PR_MARK_LONGS	BITS_TO_LONGS(PR_SECTION_BITS)
#define PR_MAP_LONGS	(3 * PR_MARK_LONGS)
#define PR_MAP_BITS	(PR_MAP_LONGS * BITS_PER_LONG)

#ifdef CONFIG_SPARSEMEM
/**
 * page_reporting_section_map_size - Bytes of a section's reporting map
 *
 * With SPARSEMEM the map lives in the section's mem_section_usage
 * (section_to_reporting_map()): sparse allocates it with the section
 * (early, or on hot-add) and frees it with it, so only present memory has
 * one.
 *
 * Return: the bytes mem_section_usage_size() adds for the map.
 */
size_t page_reporting_section_map_size(void)
{
	return page_reporting_map_size();
}

/* The map of the section of @pfn, which is online. */
static unsigned long *reporting_section_map(unsigned long pfn)
{
	return section_to_reporting_map(__pfn_to_section(pfn));
}

/*
 * The map of section @sec, or NULL where the section is not online:
 * offline memory has no marks (MEM_OFFLINE cleared them).
 */
static unsigned long *reporting_map_nr(unsigned long sec)
{
	struct mem_section *ms = __nr_to_section(sec);

	if (!online_section(ms))
		return NULL;
	return section_to_reporting_map(ms);
}

static unsigned long reporting_nr_sections(void)
{
	return __highest_present_section_nr + 1;
}

/* Sections with a map: the present ones. */
static unsigned long reporting_mapped_sections(void)
{
	unsigned long nr, n = 0;

	for (nr = 0; nr <= __highest_present_section_nr; nr++)
		if (present_section_nr(nr))
			n++;
	return n;
}

static int __init reporting_maps_init(void)
{
	return 0;
}
#else
/*
 * FLATMEM: the maps of all sections of the memory map's pfn range, in one
 * array allocated at boot. There is no memory hotplug.
 */
static unsigned long *reporting_flat_maps;
static unsigned long reporting_flat_sections;

static unsigned long *reporting_map_nr(unsigned long sec)
{
	if (sec >= reporting_flat_sections)
		return NULL;
	return reporting_flat_maps + sec * PR_MAP_LONGS;
}

/*
 * The map of the section of @pfn, a pfn of a node: the array covers every
 * node's span.
 */
static unsigned long *reporting_section_map(unsigned long pfn)
{
	return reporting_map_nr(pfn >> PR_SECTION_SHIFT);
}

static unsigned long reporting_nr_sections(void)
{
	return reporting_flat_sections;
}

static unsigned long reporting_mapped_sections(void)
{
	return reporting_flat_sections;
}

static int __init reporting_maps_init(void)
{
	unsigned long end = 0, n;
	pg_data_t *pgdat;

	/* Not max_mapnr: some architectures leave it 0 or make it a pfn. */
	for_each_online_pgdat(pgdat)
		end = max(end, pgdat_end_pfn(pgdat));
	n = DIV_ROUND_UP(end, 1UL << PR_SECTION_SHIFT);

	reporting_flat_maps = kvcalloc(n * PR_MAP_LONGS, sizeof(unsigned long),
				       GFP_KERNEL);
	if (!reporting_flat_maps)
		return -ENOMEM;
	reporting_flat_sections = n;
	return 0;
}
#endif

static unsigned long reporting_pfn_to_section(unsigned long pfn)
{
	return pfn >> PR_SECTION_SHIFT;
}

static unsigned long reporting_section_to_pfn(unsigned long sec)
{
	return sec << PR_SECTION_SHIFT;
}

static unsigned long reporting_section_bit(unsigned long pfn)
{
	return (pfn & ((1UL << PR_SECTION_SHIFT) - 1)) >> PR_TRACK_ORDER;
}

/*
 * Summary: one bit per memory section, set when the section may have
 * marked blocks. Replaced (grown) by page_reporting_init(), the memory
 * hotplug notifier and reporting_summarize_all(), with
 * reporting_summary_lock held; the free path reads it under RCU.
 */
struct reporting_summary {
	unsigned long nbits;
	unsigned long map[];
};

static struct reporting_summary __rcu *reporting_summary;
static DEFINE_MUTEX(reporting_summary_lock);

/*
 * Set by a free that marked blocks of a section the summary does not
 * cover: onlining could not grow it (it never fails onlining for that).
 * The block bits are set; the worker grows the summary and puts every
 * online section in it, so the mark is found all the same.
 */
static unsigned long reporting_unsummarized;

static struct reporting_summary *reporting_summary_locked(void)
{
	return rcu_dereference_protected(reporting_summary,
					 lockdep_is_held(&reporting_summary_lock));
}

static int reporting_summary_grow(unsigned long nbits)
{
	struct reporting_summary *old, *new;

	lockdep_assert_held(&reporting_summary_lock);
	old = reporting_summary_locked();
	if (old && old->nbits >= nbits)
		return 0;
	/*
	 * Whole words: a guest pays 8 bytes per 8 GiB of address space, and
	 * hot-add regrows it only when it crosses such a boundary.
	 */
	nbits = round_up(nbits, BITS_PER_LONG);
	new = kzalloc(struct_size(new, map, BITS_TO_LONGS(nbits)),
		      GFP_KERNEL | __GFP_NOWARN);
	if (!new)
		return -ENOMEM;
	new->nbits = nbits;
	if (old)
		bitmap_copy(new->map, old->map, old->nbits);
	rcu_assign_pointer(reporting_summary, new);
	if (old) {
		unsigned long i;

		/*
		 * Catch the bits that frees set in the old copy meanwhile.
		 * Atomically: frees already set bits in the new copy.
		 */
		synchronize_rcu();
		for (i = 0; i < BITS_TO_LONGS(old->nbits); i++)
			if (old->map[i])
				atomic_long_or(old->map[i],
					       (atomic_long_t *)&new->map[i]);
		kfree(old);
	}
	return 0;
}

/*
 * Marks were set in sections beyond the summary (reporting_unsummarized):
 * grow it to cover all present memory and put every online section in it,
 * since any of them may hold such marks. Called by the worker with the
 * memory locks held, after clearing reporting_unsummarized: a mark made
 * after that sets it again. Returns false when the summary still cannot
 * cover present memory; the flag is then set again for a later pass.
 */
static bool reporting_summarize_all(void)
{
	struct reporting_summary *summary;
	unsigned long sec;
	bool ok;

	ok = !reporting_summary_grow(reporting_nr_sections());
	/* Registration requires a summary: there is one. */
	summary = reporting_summary_locked();
	if (!ok)
		set_bit(0, &reporting_unsummarized);
	for (sec = 0; sec < summary->nbits; sec++)
		if (reporting_map_nr(sec))
			set_bit(sec, summary->map);
	return ok;
}

/*
 * Blocks reported by the last pass, to notice how many of them are
 * allocated again soon after (reported_reallocated in the debugfs state: a
 * sample, not an event count). Only the worker touches it.
 */
#define PR_RECENT		256
#define PR_RECENT_WINDOW	(2 * HZ)

/*
 * State of the registered device's engine. Only the worker writes it once
 * the device is published, but for @requested_at and @last_mark, which
 * reporting_request() writes as well, @seed_seq, which
 * reporting_set_mark_order() bumps, and @probation_ended, which frees
 * count.
 */
struct reporting_engine {
	struct scatterlist sgl[PAGE_REPORTING_CAPACITY];
	unsigned long recent[PR_RECENT];
	unsigned int nr_recent;
	/* what is still free of them: a free block of this order at least */
	unsigned int recent_order;
	unsigned long recent_when;
	/* jiffies when the worker was queued for frees not yet reported */
	unsigned long requested_at;
	unsigned int backoff;
	/*
	 * Bumped whenever every block is marked (registration, a lower
	 * order): until a whole pass has run since, with @seen_seq caught
	 * up, passes find memory that was never free, which is not churn.
	 */
	unsigned int seed_seq;
	unsigned int seen_seq;
	/* jiffies from which a pass looks at first-pick units again */
	unsigned long first_pick_at;
	/*
	 * jiffies of the last free the hook saw, into a marked block or not.
	 * Frees on every CPU store it (once per tick at most): a line of its
	 * own keeps them from bouncing the lines the worker writes during a
	 * pass.
	 */
	unsigned long last_mark ____cacheline_aligned_in_smp;
	/*
	 * Tracked blocks whose probation a free ended: allocated and freed
	 * again between the pass that put them on probation and the one
	 * that would have reported them. Churn, which the free path counts
	 * in reporting_mark_blocks(): on the line of @last_mark, which
	 * frees store too.
	 */
	atomic_t probation_ended;
};

/*
 * Static: reset under page_reporting_mutex before a device is published,
 * so the free path never sees it half set up or freed.
 */
static struct reporting_engine reporting_engine;

/* @wait (jiffies) stretched by the back-off factor, within its span. */
static unsigned long reporting_backed_off(struct reporting_engine *eng,
					  unsigned long wait)
{
	unsigned long span = PR_BACKOFF_SPAN *
		msecs_to_jiffies(READ_ONCE(page_reporting_max_delay_ms));

	return max(wait, min(wait * READ_ONCE(eng->backoff), span));
}

/*
 * The engine's own state, for debugfs; what users watch is in /proc/vmstat
 * (the PAGE_REPORTING_* events).
 */
static struct {
	unsigned long passes;
	unsigned long skipped_reallocated;
	unsigned long reported_reallocated;
	unsigned long isolated_now;	/* plus those withheld for good */
} reporting_stats;

/* Only the worker writes them; debugfs reads them. */
static void reporting_stat_add(unsigned long *stat, long n)
{
	WRITE_ONCE(*stat, READ_ONCE(*stat) + n);
}

/* The probation bits of a section's map: its second part. */
static unsigned long *reporting_probation(unsigned long *map)
{
	return map + PR_MARK_LONGS;
}

/*
 * The first-pick probation bits, its third part. One is set only with the
 * probation bit of its block, and cleared with it.
 */
static unsigned long *reporting_first_pick_bits(unsigned long *map)
{
	return map + 2 * PR_MARK_LONGS;
}

/*
 * Set the bits of @nr tracked blocks from @pfn (all in one section) and the
 * section's summary bit. Called with the zone->lock of those blocks held,
 * or with their pages isolated, and under RCU for the summary.
 */
static void reporting_mark_blocks(unsigned long pfn, unsigned long nr)
{
	unsigned long *map = reporting_section_map(pfn);
	unsigned long bit = reporting_section_bit(pfn);
	unsigned long *probation = reporting_probation(map);
	unsigned long *first_pick = reporting_first_pick_bits(map);
	unsigned long sec = reporting_pfn_to_section(pfn);
	struct reporting_summary *summary;
	bool marked = false;

	/*
	 * Atomic: two zones can share a section (ZONE_DMA in section 0,
	 * interleaved zones), and they hold different locks. Tested first:
	 * with a small reporting order every free comes here, and most find
	 * their block marked already. A free ends the block's probation,
	 * of either kind.
	 */
	for (; nr--; bit++) {
		if (!test_bit(bit, map)) {
			set_bit(bit, map);
			marked = true;
		}
		if (test_bit(bit, probation)) {
			clear_bit(bit, probation);
			/*
			 * Churn, which the back-off counts, unless it ends a
			 * first-pick probation: that one is long because such
			 * units churn, and most passes leave first-pick units
			 * out of what they count as looked at.
			 */
			if (test_bit(bit, first_pick))
				clear_bit(bit, first_pick);
			else
				atomic_inc(&reporting_engine.probation_ended);
		}
	}
	/*
	 * Blocks that were marked already keep their section in the summary
	 * until the worker has dealt with them (reporting_scan() puts back
	 * the summary bit of every section it leaves marks in).
	 */
	if (!marked)
		return;

	/*
	 * Order the block bits before the summary test. Pairs with the
	 * test_and_clear_bit() of the summary in reporting_scan(): either the
	 * worker sees our block bits, or we see its cleared summary bit and
	 * set it again.
	 */
	smp_mb__after_atomic();

	summary = rcu_dereference(reporting_summary);
	if (unlikely(!summary || sec >= summary->nbits)) {
		/* Not a lost mark: see reporting_summarize_all(). */
		if (!test_bit(0, &reporting_unsummarized)) {
			set_bit(0, &reporting_unsummarized);
			/* As for the summary bit below. */
			smp_mb__after_atomic();
		}
		return;
	}
	/* Test first: the summary word is shared by 64 sections. */
	if (!test_bit(sec, summary->map)) {
		set_bit(sec, summary->map);
		/*
		 * Order it before reporting_request() reads the worker's
		 * state: a worker that is about to go idle must either see
		 * this bit or leave a state that makes us queue it.
		 */
		smp_mb__after_atomic();
	}
}

/* Mark the tracked blocks that hold the 1 << @order pages at @pfn. */
static void reporting_mark_range(unsigned long pfn, unsigned int order)
{
	order = max_t(unsigned int, order, PR_TRACK_ORDER);
	reporting_mark_blocks(ALIGN_DOWN(pfn, 1UL << PR_TRACK_ORDER),
			      1UL << (order - PR_TRACK_ORDER));
}

static void reporting_request(struct page_reporting_dev_info *prdev)
{
	unsigned long now = jiffies, delay;
	struct reporting_engine *eng = &reporting_engine;

	/* One store per tick at most: this line is shared by all CPUs. */
	if (READ_ONCE(eng->last_mark) != now)
		WRITE_ONCE(eng->last_mark, now);

	/* Check to see if we are in desired state */
	if (atomic_read(&prdev->state) == PAGE_REPORTING_REQUESTED)
		return;

	/*
	 * If reporting is already active there is nothing we need to do:
	 * the worker will see REQUESTED and run again.
	 */
	if (atomic_xchg(&prdev->state, PAGE_REPORTING_REQUESTED) !=
	    PAGE_REPORTING_IDLE)
		return;

	WRITE_ONCE(eng->requested_at, now);
	delay = msecs_to_jiffies(READ_ONCE(page_reporting_delay_ms));
	/*
	 * Not queue_delayed_work(): an IDLE worker may still be queued, for
	 * the pass of first-pick units up to a second away, and this free
	 * must not wait for that. The runs queued in the REQUESTED state (a
	 * retry, a wait for the quiet time) are not moved: frees return
	 * above. mod_delayed_work() may be called in any context.
	 */
	mod_delayed_work(system_freezable_wq, &prdev->work,
			 reporting_backed_off(eng, delay));
}

/*
 * Called by page_reporting_notify_free() with zone->lock held: the 1 <<
 * @order pages at @pfn were freed into a free block of at least the mark
 * order, so the tracked blocks that hold them have something to report.
 */
void __page_reporting_notify_free(unsigned long pfn, unsigned int order)
{
	struct page_reporting_dev_info *prdev;

	rcu_read_lock();
	prdev = rcu_dereference(pr_dev_info);
	if (likely(prdev)) {
		reporting_mark_range(pfn, order);
		reporting_request(prdev);
	}
	rcu_read_unlock();
}

/*
 * The free buddy block that contains @pfn and is of at least @order, or
 * NULL. Called with zone->lock held, except by
 * reporting_count_reallocated(), whose statistics can live with a racy
 * answer: hence buddy_order_unsafe().
 */
static struct page *reporting_free_block(struct zone *zone, unsigned long pfn,
					 unsigned int order)
{
	for (; order <= MAX_PAGE_ORDER; order++) {
		unsigned long head = ALIGN_DOWN(pfn, 1UL << order);
		struct page *page;

		if (!pfn_valid(head) || !zone_spans_pfn(zone, head))
			return NULL;
		page = pfn_to_page(head);
		if (page_zone(page) != zone)
			return NULL;
		if (PageBuddy(page))
			return buddy_order_unsafe(page) >= order ? page : NULL;
	}
	return NULL;
}

/* Is any pageblock of the 1 << @order pages at @pfn isolated? */
static bool reporting_unit_isolated(unsigned long pfn, unsigned int order)
{
	unsigned long end = pfn + (1UL << order);

	for (; pfn < end; pfn += pageblock_nr_pages) {
		struct page *page;

		if (!pfn_valid(pfn))
			continue;
		page = pfn_to_page(pfn);
		if (is_migrate_isolate(get_pageblock_migratetype(page)))
			return true;
	}
	return false;
}

/* Is a tracked block in [@start, @pfn), within one section, marked? */
static bool reporting_marked_before(unsigned long start, unsigned long pfn)
{
	unsigned long bit = reporting_section_bit(pfn);

	return find_next_bit(reporting_section_map(pfn), bit,
			     reporting_section_bit(start)) < bit;
}

/*
 * Is the unit of 1 << @order pages at @pfn (at least a tracked block) ready
 * to report: some tracked block of it marked, and every marked one on
 * probation (on first-pick probation with @first_pick)?
 */
static bool reporting_unit_ready(unsigned long pfn, unsigned int order,
				 bool first_pick)
{
	unsigned long *map = reporting_section_map(pfn);
	unsigned long bit = reporting_section_bit(pfn);
	unsigned long end = bit + (1UL << (order - PR_TRACK_ORDER));
	unsigned long *probation = first_pick ?
		reporting_first_pick_bits(map) : reporting_probation(map);
	bool marked = false;

	for (; bit < end; bit++) {
		if (!test_bit(bit, map))
			continue;
		if (!test_bit(bit, probation))
			return false;
		marked = true;
	}
	return marked;
}

/*
 * Is the free block of 1 << @order pages at @pfn (larger than the unit,
 * within one section) ready to report as a whole, looked at from the unit
 * at @unit: every marked tracked block of it on probation, and none marked
 * before @unit? A pass walks the marks in pfn order: it judged the block
 * at its first marked tracked block, and the blocks it put on probation
 * since are not ready. (A free block larger than the unit is not a
 * first-pick unit: the allocator splits it only after those.)
 */
static bool reporting_block_ready(unsigned long pfn, unsigned int order,
				  unsigned long unit)
{
	return !reporting_marked_before(pfn, unit) &&
	       reporting_unit_ready(pfn, order, false);
}

/*
 * Put the marked tracked blocks on probation (@probate; on first-pick
 * probation as well with @first_pick), or clear all bits of every tracked
 * block, in the 1 << @order pages at @pfn (at least a tracked block) that
 * belong to @zone, whose lock is held: a unit larger than a tracked block
 * can straddle a zone boundary, and the other zone's bits are guarded by
 * its own lock.
 */
static void reporting_update_unit(struct zone *zone, unsigned long pfn,
				  unsigned int order, bool probate,
				  bool first_pick)
{
	unsigned long *map = reporting_section_map(pfn);
	unsigned long bit = reporting_section_bit(pfn);
	unsigned long end = pfn + (1UL << order);
	unsigned long *probation = reporting_probation(map);
	unsigned long *first_pick_bits = reporting_first_pick_bits(map);

	lockdep_assert_held(&zone->lock);
	for (; pfn < end; pfn += 1UL << PR_TRACK_ORDER, bit++) {
		if (!pfn_valid(pfn) || page_zone(pfn_to_page(pfn)) != zone)
			continue;
		if (!probate) {
			clear_bit(bit, first_pick_bits);
			clear_bit(bit, probation);
			clear_bit(bit, map);
		} else if (test_bit(bit, map)) {
			set_bit(bit, probation);
			if (first_pick)
				set_bit(bit, first_pick_bits);
		}
	}
}

/* Forget the unit: reported, or nothing of it is free any more. */
static void reporting_clear_unit(struct zone *zone, unsigned long pfn,
				 unsigned int order)
{
	reporting_update_unit(zone, pfn, order, false, false);
}

/* Its marked blocks start probation. */
static void reporting_probate_unit(struct zone *zone, unsigned long pfn,
				   unsigned int order)
{
	reporting_update_unit(zone, pfn, order, true, false);
}

/* Its marked blocks start probation, first-pick probation included. */
static void reporting_probate_first_pick(struct zone *zone, unsigned long pfn,
					 unsigned int order)
{
	reporting_update_unit(zone, pfn, order, true, true);
}

/* One pass over the marked blocks. */
struct reporting_pass {
	struct page_reporting_dev_info *prdev;
	struct reporting_engine *eng;
	unsigned int order;		/* reporting order for this pass */
	unsigned int unit_order;	/* its unit: at least a tracked block */
	unsigned int capacity;		/* entries per report */
	unsigned int nents;		/* entries in eng->sgl */
	struct zone *zone;		/* zone of the batch */
	unsigned long examined;		/* marked units looked at */
	unsigned long skipped;		/* of those, no longer free */
	unsigned int batches;		/* reports made in this pass */
	unsigned long candidates;	/* units first seen free: next pass */
	unsigned long first_pick_left;	/* first-pick units left marked */
	unsigned int locked_work;	/* pages looked at under the lock */
	bool first_pick;		/* looks at first-pick units */
	bool zone_low;			/* batch zone too low to report */
	bool deferred;			/* marks left in this section */
	bool retry;			/* ... that no free brings back */
	bool walked_all;		/* the scan reached the last section */
	unsigned long resume_sec;	/* after a batch: where to go on, */
	unsigned long resume_bit;	/* ... valid while resume_sec is set */
	bool resume_within;		/* ... in the block it filled up in */
	int err;
};

/*
 * Reports per pass, 64 x 32 x 2 MiB = 4 GiB at least: a pass that keeps
 * finding new marks (frees faster than we report) ends and requeues itself
 * instead of running forever.
 */
#define PR_PASS_BATCHES		64

/*
 * May a free block of @order (at least a unit; a unit's worth for the
 * blocks below the tracked order) of @zone go into the batch? Only if the
 * zone keeps its low watermark without it: checked for every block, the
 * batch never takes a zone below its low watermark, so reporting never
 * wakes kswapd and never makes an allocation fail (__isolate_free_page()
 * checks the min watermark on top). A reserve of a whole batch would shut
 * out a zone smaller than one, such as ZONE_DMA, whose marks would then
 * never be reported. Marks a zone at its watermark cannot give stay, with
 * their section in the summary, until a later pass: the next free queues
 * one. When the blocks of this very batch are what the zone lacks, no
 * free may come: they return to it after the report, so p->retry asks for
 * that later pass.
 */
static bool reporting_zone_ok(struct reporting_pass *p, struct zone *zone,
			      unsigned int order)
{
	unsigned long reserve = 1UL << order;

	if (!p->zone_low && !zone_watermark_ok(zone, 0,
					       low_wmark_pages(zone) + reserve,
					       0, ALLOC_CMA)) {
		p->zone_low = true;
		if (p->nents)
			p->retry = true;
	}
	return !p->zone_low;
}

/*
 * Probation: report a unit only once it has stayed free from one pass to
 * the next. The first look sets the probation bits of its marked blocks;
 * a free in the unit meanwhile clears them (a block that was allocated and
 * freed again starts over), an allocation leaves it not free at the next
 * look. Returns true when the unit is not ready yet: it was put on
 * probation now, and its bits stay, and its section in the summary.
 */
static bool reporting_probate(struct reporting_pass *p, unsigned long unit,
			      unsigned int order)
{
	if (reporting_unit_ready(unit, order, false))
		return false;
	reporting_probate_unit(p->zone, unit, order);
	p->candidates++;
	p->deferred = true;
	return true;
}

/*
 * A unit that is a free block of its own order, below MAX_PAGE_ORDER (its
 * buddy is in use), is what the allocator hands out first among the blocks
 * reported: __rmqueue_smallest() takes the smallest free block that fits,
 * of the migratetype asked for, before it splits a larger one, wherever
 * that block sits in its free list (a reported block goes back to the
 * tail). One pass apart is not long enough for it: the probation of such
 * a "first-pick" unit runs from one first-pick pass to the next,
 * page_reporting_first_pick_ms apart, and the passes in between leave it
 * as it is. It has a bit of its own: a unit put on probation by another
 * pass while its block was whole, and split by an allocation since, starts
 * first-pick probation at the next first-pick pass. Returns true when the
 * unit is not ready yet; it keeps its mark, and its section stays in the
 * summary.
 */
static bool reporting_first_pick_wait(struct reporting_pass *p,
				      unsigned long unit, unsigned int order)
{
	if (p->first_pick) {
		if (reporting_unit_ready(unit, order, true))
			return false;
		reporting_probate_first_pick(p->zone, unit, order);
	} else {
		/* Left as it is: not a sample of churn either. */
		p->examined--;
	}
	p->first_pick_left++;
	p->deferred = true;
	return true;
}

/*
 * Take the free block @page of @order off its free list, with p->zone
 * locked. For a block of at least half a pageblock, __isolate_free_page()
 * makes its pageblocks movable: one of another migratetype it walks
 * (move_freepages_block()), one struct page at a time over what is not a
 * free block, the isolated block included. Count that walk towards the
 * irqs-off bound. A movable pageblock, where most free memory is, is left
 * as it is.
 */
static bool reporting_isolate_block(struct reporting_pass *p,
				    struct page *page, unsigned int order)
{
	unsigned long pfn = page_to_pfn(page), walk = 0, end;

	if (order + 1 >= pageblock_order) {
		end = pfn + (1UL << order);
		for (; pfn < end; pfn += pageblock_nr_pages)
			if (get_pageblock_migratetype(pfn_to_page(pfn)) !=
			    MIGRATE_MOVABLE)
				walk += pageblock_nr_pages;
	}
	if (!__isolate_free_page(page, order))
		return false;
	p->locked_work += walk;
	return true;
}

/* Put the free block @page of @order into the batch. */
static void reporting_take(struct reporting_pass *p, struct page *page,
			   unsigned int order)
{
	sg_set_page(&p->eng->sgl[p->nents++], page, PAGE_SIZE << order, 0);
	reporting_stat_add(&reporting_stats.isolated_now, 1);
}

/*
 * The reporting order is below the tracked order and the marked tracked
 * block at @pfn is not free as a whole: report the free buddy blocks of at
 * least the reporting order inside it that were not reported yet. Called
 * with p->zone locked. Returns false when the batch is full; a block with
 * candidates left then keeps its bits for the next pass.
 *
 * No probation here: a free of any page in the 2 MiB block, which a block
 * in use sees all the time, would clear its probation bit before the next
 * pass, so what is free in it would never be reported and the worker would
 * requeue itself for it for ever.
 */
static bool reporting_isolate_within(struct reporting_pass *p,
				     unsigned long pfn)
{
	unsigned long end = pfn + (1UL << PR_TRACK_ORDER), q = pfn;
	bool found = false, left = false, whole;

	/*
	 * A block whose last page is in p->zone and has a struct page has
	 * all of them: zone boundaries and memmap holes come in whole
	 * subsections (2 MiB) at least, except where a zone or node ends
	 * inside a tracked block. The part of such a block that lies in
	 * another zone is not looked at, and its mark is cleared under this
	 * zone's lock: below the tracked order, what is free there may stay
	 * unreported.
	 */
	whole = pfn_valid(end - 1) && page_zone(pfn_to_page(end - 1)) == p->zone;

	/*
	 * Buddy blocks are aligned to their order: stepping from one free
	 * block's end, or to the next multiple of the reporting order past
	 * anything else, visits the head of every free block of at least
	 * that order in here.
	 */
	while (q < end) {
		struct page *page;
		unsigned int order;

		p->locked_work++;
		if (!whole && !pfn_valid(q)) {
			q = ALIGN(q + 1, 1UL << p->order);
			continue;
		}
		page = pfn_to_page(q);
		/* Free blocks never straddle zones. */
		if (!PageBuddy(page) || page_zone(page) != p->zone ||
		    buddy_order(page) < p->order) {
			q = ALIGN(q + 1, 1UL << p->order);
			continue;
		}
		order = buddy_order(page);
		q += 1UL << order;
		if (PageReported(page))
			continue;
		found = true;
		if (p->nents == p->capacity) {
			/* The next batch goes on in here. */
			p->resume_within = true;
			left = true;
			break;
		}
		if (!reporting_zone_ok(p, p->zone, p->unit_order) ||
		    !reporting_isolate_block(p, page, order)) {
			p->zone_low = true;
			left = true;
			break;
		}
		reporting_take(p, page, order);
	}

	if (left) {
		/*
		 * Still marked: the rest goes with the next batch, or, from
		 * a zone too low to give it, with a pass after the next free.
		 */
		p->deferred = true;
		return p->nents < p->capacity;
	}
	if (!found)
		p->skipped++;
	reporting_clear_unit(p->zone, pfn, PR_TRACK_ORDER);
	return p->nents < p->capacity;
}

/*
 * Look at the marked tracked block at @pfn with p->zone locked. Returns
 * false when the batch is full and must be reported first.
 */
static bool reporting_isolate(struct reporting_pass *p, unsigned long pfn)
{
	unsigned int uorder = p->unit_order;
	unsigned long unit = ALIGN_DOWN(pfn, 1UL << uorder);
	unsigned long head_pfn;
	struct page *head;
	unsigned int order;
	bool first_pick;

	/*
	 * An earlier tracked block of the same unit took this one along, or
	 * this pass judged the unit there already: a unit it has just put on
	 * probation is not ready at its next tracked block.
	 */
	if (!test_bit(reporting_section_bit(pfn), reporting_section_map(pfn)) ||
	    reporting_marked_before(unit, pfn))
		return true;

	p->examined++;
	p->locked_work += 8;
	head = reporting_free_block(p->zone, unit, uorder);
	if (!head && reporting_unit_isolated(unit, uorder)) {
		/*
		 * Split by the isolation of a pageblock (a unit larger than a
		 * pageblock, or a tracked block inside an isolated one):
		 * undoing the isolation merges it back without a free, so
		 * keep its bits, and look again later.
		 */
		p->deferred = true;
		p->retry = true;
		return true;
	}
	if (!head && p->order < PR_TRACK_ORDER)
		return reporting_isolate_within(p, pfn);
	if (!head) {
		/*
		 * Allocated (or split) since it was marked. It is marked
		 * again when a free leaves a free block of at least the mark
		 * order in it, under this same lock, so clearing loses
		 * nothing. Churn only if the
		 * marked block itself was allocated: above pageblock_order,
		 * a free pageblock inside a unit still partly in use is
		 * marked too.
		 */
		reporting_clear_unit(p->zone, unit, uorder);
		if (!reporting_free_block(p->zone, pfn, PR_TRACK_ORDER))
			p->skipped++;
		return true;
	}

	/*
	 * Being offlined or taken by alloc_contig_range(): leave it and its
	 * bits alone. MEM_OFFLINE clears the bits of memory that goes away;
	 * blocks whose isolation is undone stay marked, and the section stays
	 * in the summary, for a later pass (p->deferred) that nothing but
	 * p->retry queues: undoing the isolation frees nothing.
	 */
	if (is_migrate_isolate(get_pageblock_migratetype(head))) {
		p->deferred = true;
		p->retry = true;
		return true;
	}

	order = buddy_order(head);
	first_pick = order == uorder && uorder < MAX_PAGE_ORDER;
	if (first_pick) {
		if (reporting_first_pick_wait(p, unit, uorder))
			return true;
	} else if (reporting_probate(p, unit, uorder)) {
		return true;
	}

	/*
	 * A free block larger than the unit is reported whole, as one entry,
	 * once all of it that is marked is ready; until then it waits, its
	 * units on probation. Taking the ready units alone would leave the
	 * rest, and the units themselves when they come back, as first-pick
	 * units, the ones the allocator hands out first. Parts
	 * of it that were reported already (unmarked) go along: their buddy
	 * was freed since, so the block is a new free block. At the default
	 * order of x86-64, a MAX_PAGE_ORDER block is two units: a large free
	 * takes half the entries, and the host half the discards.
	 */
	head_pfn = page_to_pfn(head);
	if (order > uorder && !reporting_block_ready(head_pfn, order, unit)) {
		/*
		 * A marked block of it not yet on probation is put there
		 * when the pass reaches it, and counted then.
		 */
		p->deferred = true;
		return true;
	}

	if (!reporting_zone_ok(p, p->zone, order)) {
		p->deferred = true;
		return true;
	}

	if (!reporting_isolate_block(p, head, order)) {
		p->zone_low = true;
		p->deferred = true;
		return true;
	}
	reporting_clear_unit(p->zone, head_pfn, order);
	reporting_take(p, head, order);
	return p->nents < p->capacity;
}

/*
 * The worker looks at marks with memory hotplug held off and the summary
 * stable; it never keeps either while ->report() runs, so a host that is
 * slow to acknowledge cannot hold up memory hotplug. The blocks in flight
 * stay safe without them: isolated pages cannot be offlined.
 */
static void reporting_lock_memory(void)
{
	get_online_mems();
	mutex_lock(&reporting_summary_lock);
}

static void reporting_unlock_memory(void)
{
	mutex_unlock(&reporting_summary_lock);
	put_online_mems();
}

/*
 * page_reporting_unregister() has cleared the device pointer and waits for
 * this pass: isolate and report nothing more.
 */
static bool reporting_dev_gone(struct reporting_pass *p)
{
	return rcu_access_pointer(pr_dev_info) != p->prdev;
}

/*
 * Take a block the device may still use out of the allocator for good, as
 * a balloon driver takes its pages: logically offline. A reference makes it
 * look allocated; PageOffline() on every page makes memory offlining fail
 * at once with -EBUSY, in ZONE_MOVABLE too (there a page that is neither
 * free nor movable makes it retry until signalled, and a kernel thread
 * offlining memory is never signalled), and keeps /proc/kcore and dump
 * tools from reading memory the device may still discard.
 */
static void reporting_withhold(struct page *page, unsigned int order)
{
	unsigned long i;

	set_page_refcounted(page);
	for (i = 0; i < 1UL << order; i++)
		__SetPageOffline(page + i);
}

/*
 * Give back the isolated block @page of @order, with its zone locked: a
 * pageblock at a time when it spans several. While it was out, nothing of
 * it was on a free list, and alloc_contig_range() may have isolated one of
 * its pageblocks (MIGRATE_ISOLATE) anyway; given back whole under the
 * first pageblock's migratetype, that one would be counted free and could
 * be allocated. Each part goes to the free list of its own pageblock;
 * parts of the same migratetype are merged again.
 */
static void reporting_putback(struct page *page, unsigned int order)
{
	unsigned int part = min_t(unsigned int, order, pageblock_order);
	unsigned long i;

	for (i = 0; i < 1UL << order; i += 1UL << part)
		__putback_isolated_page(page + i, part,
					get_pageblock_migratetype(page + i));
}

/*
 * Report the batch of p->zone and give it back. Called with the memory
 * locks held and no zone locked; returns the same way. The isolated blocks
 * need no lock while they are out: nobody else can reach them.
 */
static void reporting_flush(struct reporting_pass *p)
{
	struct reporting_engine *eng = p->eng;
	struct zone *zone = p->zone;
	unsigned int i, n = p->nents;
	unsigned long bytes = 0;
	struct scatterlist *sg;
	int err;

	/* The next block re-checks its zone's watermark. */
	p->zone = NULL;
	reporting_unlock_memory();

	sg_mark_end(&eng->sgl[n - 1]);
	for_each_sg(eng->sgl, sg, n, i)
		bytes += sg->length;
	/* Unregistering began while it was assembled: it goes back. */
	if (reporting_dev_gone(p)) {
		err = -ENODEV;
	} else {
		err = p->prdev->report(p->prdev, eng->sgl, n);
		trace_page_reporting_batch(zone_to_nid(zone), zone_idx(zone),
					   n, bytes, err);
	}

	/*
	 * The device may still write or discard them (it could not be
	 * stopped): they must never be used again. So may it after any
	 * other positive result, which no driver should return.
	 */
	if (WARN_ON_ONCE(err > 0 && err != PAGE_REPORTING_WITHHOLD))
		err = PAGE_REPORTING_WITHHOLD;
	if (err == PAGE_REPORTING_WITHHOLD) {
		/* Readers of /proc/kcore see each page before or after. */
		page_offline_begin();
		for_each_sg(eng->sgl, sg, n, i)
			reporting_withhold(sg_page(sg), get_order(sg->length));
		page_offline_end();
		pr_warn("page_reporting: %u blocks withheld from the allocator for good: the device may still use them\n",
			n);
		n = 0;		/* none of them goes back */
	}
	spin_lock_irq(&zone->lock);
	for_each_sg(eng->sgl, sg, n, i) {
		struct page *page = sg_page(sg);
		unsigned int order = get_order(sg->length);
		unsigned long pfn = page_to_pfn(page);

		reporting_putback(page, order);
		if (err) {
			/* Not reported: mark it again for a later pass. */
			rcu_read_lock();
			reporting_mark_range(pfn, order);
			rcu_read_unlock();
			continue;
		}
		/*
		 * Reported: the worker skips it while it stays free as it is.
		 * Allocation and merging take the flag away; then it is a
		 * new block, and when it is free again it is reported again.
		 */
		if (PageBuddy(page) && buddy_order(page) == order)
			__SetPageReported(page);
		if (eng->nr_recent < PR_RECENT)
			eng->recent[eng->nr_recent++] = pfn;
	}
	spin_unlock_irq(&zone->lock);

	reporting_stat_add(&reporting_stats.isolated_now, -(long)n);
	if (err) {
		/*
		 * Withheld pages never go back; a device that is going
		 * away (-ENODEV) fails its reports without a fault.
		 */
		if (err == PAGE_REPORTING_WITHHOLD)
			count_vm_events(PAGE_REPORTING_WITHHELD,
					bytes >> PAGE_SHIFT);
		else if (err != -ENODEV)
			count_vm_events(PAGE_REPORTING_FAILED,
					bytes >> PAGE_SHIFT);
		p->err = err;
	} else {
		count_vm_events(PAGE_REPORTING_BLOCKS, n);
		count_vm_events(PAGE_REPORTING_PAGES, bytes >> PAGE_SHIFT);
	}
	sg_init_table(eng->sgl, PAGE_REPORTING_CAPACITY);
	p->nents = 0;
	p->batches++;
	cond_resched();
	reporting_lock_memory();
}

enum reporting_section_result {
	PR_SECTION_DONE,	/* no marked block left that we could take */
	PR_SECTION_AGAIN,	/* a batch went out: go on where it stopped */
	PR_SECTION_STOP,	/* ->report() failed, or the pass is over */
};

/* The reporting order of this pass, and its unit. */
static void reporting_pass_order(struct reporting_pass *p)
{
	p->order = READ_ONCE(page_reporting_order);
	p->unit_order = max_t(unsigned int, p->order, PR_TRACK_ORDER);
}

/* Report the batch; the section goes on at @bit unless the pass ends. */
static enum reporting_section_result
reporting_flushed(struct reporting_pass *p, unsigned long sec,
		  unsigned long bit)
{
	reporting_flush(p);
	if (p->err || p->batches >= PR_PASS_BATCHES || reporting_dev_gone(p))
		return PR_SECTION_STOP;
	/*
	 * The order changed while the batch was out: the marks were all set
	 * again for it, and judging them by the old one would clear some.
	 * Leave them to a pass by the new order, which a raised order does
	 * not request.
	 */
	if (READ_ONCE(page_reporting_order) != p->order) {
		p->retry = true;
		return PR_SECTION_STOP;
	}
	p->resume_sec = sec;
	p->resume_bit = bit;
	return PR_SECTION_AGAIN;
}

/*
 * Look at the marked blocks of p->zone in the section at @base, from *@bit
 * on, under p->zone->lock, until a block of another zone or the end of the
 * section (*@bit is then there). Returns false when the batch is full.
 */
static bool reporting_scan_zone(struct reporting_pass *p, unsigned long base,
				unsigned long *map, unsigned long *bit)
{
	struct zone *zone = p->zone;
	bool room = true;

	spin_lock_irq(&zone->lock);
	for (; *bit < PR_SECTION_BITS;
	     *bit = find_next_bit(map, PR_SECTION_BITS, *bit + 1)) {
		unsigned long pfn = base + (*bit << PR_TRACK_ORDER);
		struct page *page = pfn_to_online_page(pfn);

		/* reporting_scan_section() deals with holes. */
		if (!page || page_zone(page) != zone)
			break;
		if (!reporting_isolate(p, pfn)) {
			room = false;
			break;
		}
		/*
		 * Bound the time interrupts stay off: about 512 struct pages
		 * looked at (a tracked block counts 8, each page looked at
		 * inside one 1, an isolation its pageblock walk), plus what
		 * the last block took, at most one isolation's walk. Blocks
		 * in movable pageblocks fill a batch under one hold.
		 */
		if (p->locked_work >= 512) {
			p->locked_work = 0;
			spin_unlock_irq(&zone->lock);
			cond_resched();
			spin_lock_irq(&zone->lock);
		}
	}
	spin_unlock_irq(&zone->lock);
	return room;
}

/* Walk the marked blocks of section @sec, memory locks held. */
static enum reporting_section_result
reporting_scan_section(struct reporting_pass *p, unsigned long sec)
{
	unsigned long base = reporting_section_to_pfn(sec);
	unsigned long *map, bit = 0;

	lockdep_assert_held(&reporting_summary_lock);
	/*
	 * Back after a batch: go on after its last block. Looking at the
	 * blocks before it again would report the ones this very pass has
	 * just put on probation. (reporting_scan() left the section in the
	 * summary for marks set behind us meanwhile.)
	 */
	if (p->resume_sec == sec)
		bit = p->resume_bit;
	p->resume_sec = ULONG_MAX;

	map = reporting_map_nr(sec);
	if (!map)
		return PR_SECTION_DONE;

	/*
	 * Mostly one zone per section; zone->lock is taken once per run of
	 * blocks of one zone (and per batch), never held across calls.
	 */
	bit = find_next_bit(map, PR_SECTION_BITS, bit);
	while (bit < PR_SECTION_BITS) {
		unsigned long pfn = base + (bit << PR_TRACK_ORDER);
		struct zone *zone;

		/*
		 * reporting_mark_all() marks every block of a section, holes
		 * too; where the architecture freed the memmap of a hole
		 * (SPARSEMEM without VMEMMAP, HAVE_ARCH_PFN_VALID) there is
		 * no struct page to look at, and the memmap of ZONE_DEVICE
		 * memory in an early section may not be initialised yet.
		 * Neither is online memory; nothing is ever freed there.
		 */
		if (!pfn_to_online_page(pfn)) {
			clear_bit(bit, map);
			bit = find_next_bit(map, PR_SECTION_BITS, bit + 1);
			continue;
		}
		zone = page_zone(pfn_to_page(pfn));
		if (zone != p->zone) {
			/* A batch holds blocks of one zone only. */
			if (p->nents)
				return reporting_flushed(p, sec, bit);
			p->zone = zone;
			p->zone_low = false;
		}
		if (!reporting_scan_zone(p, base, map, &bit)) {
			/*
			 * Go on after the block that filled the batch, or in
			 * it when it has free blocks left below the tracked
			 * order: no free would queue the worker for them.
			 */
			if (!p->resume_within)
				bit++;
			else	/* counted when the next batch goes on in it */
				p->examined--;
			p->resume_within = false;
			return reporting_flushed(p, sec, bit);
		}
	}
	return PR_SECTION_DONE;
}

/* The one pass: scan the summary, report everything still marked. */
static bool reporting_scan(struct reporting_pass *p)
{
	struct reporting_summary *summary;
	unsigned long sec = 0;

	reporting_lock_memory();
	/*
	 * Under the summary lock: a change of the order that marks every
	 * block again (reporting_set_mark_order()) waits for it, and a pass
	 * that read the old order stops at its next batch.
	 */
	reporting_pass_order(p);
	/*
	 * The order was written and the marks do not follow it yet: its
	 * writer has not come to reporting_set_mark_order(), or a driver
	 * wrote it directly (reporting_order_caught_up()). Judging the marks
	 * by it now would clear some that a lower order needs.
	 */
	if (p->order != READ_ONCE(reporting_marked_order)) {
		reporting_unlock_memory();
		return false;
	}
	/* Fully ordered: pairs with the barrier in reporting_mark_blocks(). */
	if (test_and_clear_bit(0, &reporting_unsummarized) &&
	    !reporting_summarize_all()) {
		p->retry = true;
	}
	for (;;) {
		enum reporting_section_result res;

		if (reporting_dev_gone(p))
			break;
		/* Re-read: it may have grown while a batch was out. */
		summary = reporting_summary_locked();
		sec = find_next_bit(summary->map, summary->nbits, sec);
		if (sec >= summary->nbits) {
			p->walked_all = true;
			break;
		}
		/*
		 * Clear before reading the section: a block marked after
		 * this sets the summary bit again (see reporting_mark_blocks()).
		 * test_and_clear_bit() is fully ordered. A section we come
		 * back to after a batch keeps its bit: we go on after the
		 * batch, and the blocks marked behind us meanwhile are for
		 * the next pass.
		 */
		if (p->resume_sec != sec) {
			if (!test_and_clear_bit(sec, summary->map))
				continue;
			p->deferred = false;
		}
		res = reporting_scan_section(p, sec);
		if (res == PR_SECTION_DONE && !p->deferred) {
			sec++;
			continue;
		}
		/* Not finished with it: keep it in the summary. */
		summary = reporting_summary_locked();
		set_bit(sec, summary->map);
		if (res == PR_SECTION_STOP)
			break;
		/* Deferred marks: leave them for a later pass. */
		if (res == PR_SECTION_DONE)
			sec++;
	}
	if (p->nents)
		reporting_flush(p);
	p->zone = NULL;
	reporting_unlock_memory();
	return true;
}

/*
 * How many of the blocks reported by the previous pass have been
 * allocated since? Only a statistic and a pacing hint, so it looks
 * without zone->lock; the memmap cannot go away (get_online_mems()).
 */
static unsigned int reporting_count_reallocated(struct reporting_engine *eng)
{
	unsigned int i, n = 0;

	if (!eng->nr_recent)
		return 0;
	if (time_after(jiffies, eng->recent_when + PR_RECENT_WINDOW)) {
		eng->nr_recent = 0;
		return 0;
	}
	get_online_mems();
	for (i = 0; i < eng->nr_recent; i++) {
		struct page *page = pfn_to_online_page(eng->recent[i]);

		if (page && !reporting_free_block(page_zone(page), eng->recent[i],
						  eng->recent_order))
			n++;
	}
	put_online_mems();
	return n;
}

/*
 * Reporting blocks that are reallocated right away only costs: back off
 * fast (x4) while more than a quarter of what we looked at was, recover
 * slowly (/2) while less than one in eight was.
 */
static void reporting_adjust_backoff(struct reporting_engine *eng,
				     unsigned long churned, unsigned long seen)
{
	unsigned int b = eng->backoff;

	if (!seen)
		return;
	if (churned * 4 > seen)
		b = min(b * 4, PR_BACKOFF_MAX);
	else if (churned * 8 < seen)
		b = max(b / 2, 1U);
	WRITE_ONCE(eng->backoff, b);
}

static void page_reporting_process(struct work_struct *work)
{
	struct delayed_work *d_work = to_delayed_work(work);
	struct page_reporting_dev_info *prdev =
		container_of(d_work, struct page_reporting_dev_info, work);
	struct reporting_engine *eng = &reporting_engine;
	unsigned long now = jiffies, quiet, deadline, wait = 0;
	unsigned long realloc, recent, refreed, delay, interval, settle;
	struct reporting_pass p = { .prdev = prdev, .eng = eng,
				    .resume_sec = ULONG_MAX };
	unsigned int seed_seq;
	int state;

	/*
	 * Still freeing? Wait until the hook has seen no free for the quiet
	 * time, but not beyond the deadline counted from our queueing.
	 */
	delay = msecs_to_jiffies(READ_ONCE(page_reporting_delay_ms));
	quiet = READ_ONCE(eng->last_mark) + reporting_backed_off(eng, delay);
	delay = msecs_to_jiffies(READ_ONCE(page_reporting_max_delay_ms));
	deadline = READ_ONCE(eng->requested_at) +
		   reporting_backed_off(eng, delay);
	if (time_before(now, quiet) && time_before(now, deadline))
		wait = (time_before(quiet, deadline) ? quiet : deadline) - now;
	if (wait) {
		/*
		 * The state stays as it is: REQUESTED, frees meanwhile need
		 * not queue us; IDLE (queued for first-pick units), a free
		 * queues us again for its own quiet time.
		 */
		queue_delayed_work(system_freezable_wq, &prdev->work, wait);
		return;
	}

	/*
	 * Before the state goes ACTIVE: a catch-up that marks every block
	 * requests a pass, which the REQUESTED state already stands for.
	 */
	if (!reporting_order_caught_up()) {
		/*
		 * The mutex holder may be page_reporting_unregister(), which
		 * waits for this work: do not wait for it. The state stays
		 * REQUESTED.
		 */
		queue_delayed_work(system_freezable_wq, &prdev->work,
				   PR_RETRY_DELAY);
		return;
	}

	/*
	 * Change the state to "Active" so that we can track if there is
	 * anyone requests page reporting after we complete our pass. If
	 * the state is not altered by the end of the pass we will switch
	 * to idle and quit scheduling reporting runs.
	 */
	atomic_set(&prdev->state, PAGE_REPORTING_ACTIVE);

	/*
	 * Only the back-off depends on it, so no barrier orders it against
	 * the marks: a pass that misjudges moves the factor once.
	 */
	seed_seq = READ_ONCE(eng->seed_seq);
	/* First: it empties the sample if its window is over. */
	realloc = reporting_count_reallocated(eng);
	recent = eng->nr_recent;
	/* Tracked blocks freed again on probation since the last pass. */
	refreed = atomic_xchg(&eng->probation_ended, 0);
	reporting_stat_add(&reporting_stats.reported_reallocated, realloc);
	eng->nr_recent = 0;

	p.capacity = min(READ_ONCE(page_reporting_capacity),
			 prdev->capacity ?: PAGE_REPORTING_CAPACITY);
	/*
	 * Due: a first-pick pass, and the next one not before the interval
	 * (nor before the quiet time, see below). A deadline further away
	 * than either can be is stale (a knob was lowered, or jiffies went
	 * round past it while the guest was idle).
	 */
	interval = msecs_to_jiffies(READ_ONCE(page_reporting_first_pick_ms));
	delay = max(msecs_to_jiffies(READ_ONCE(page_reporting_delay_ms)),
		    PR_BACKOFF_SPAN *
		    msecs_to_jiffies(READ_ONCE(page_reporting_max_delay_ms)));
	if (time_after(eng->first_pick_at, now + max(interval, delay)))
		eng->first_pick_at = now;
	p.first_pick = !time_before(now, eng->first_pick_at);
	if (p.first_pick)
		eng->first_pick_at = now + interval;
	if (!reporting_scan(&p)) {
		/* The order changed under us: once more, when it has settled. */
		atomic_set(&prdev->state, PAGE_REPORTING_REQUESTED);
		queue_delayed_work(system_freezable_wq, &prdev->work,
				   PR_RETRY_DELAY);
		return;
	}
	eng->recent_when = jiffies;
	eng->recent_order = min_t(unsigned int, p.order, PR_TRACK_ORDER);
	/* Counted in tracked blocks; the rest of the pass counts units. */
	refreed = DIV_ROUND_UP(refreed, 1UL << (p.unit_order - PR_TRACK_ORDER));
	/* Unregistering: an unfinished pass counts for nothing; no requeue. */
	if (reporting_dev_gone(&p))
		return;

	reporting_stat_add(&reporting_stats.passes, 1);
	/*
	 * Marks of memory that was never free are not churn, until a pass
	 * that started after every block was marked has walked them all.
	 */
	if (seed_seq != eng->seen_seq ||
	    READ_ONCE(eng->seed_seq) != seed_seq) {
		if (p.walked_all && !p.err)
			eng->seen_seq = seed_seq;
	} else {
		reporting_stat_add(&reporting_stats.skipped_reallocated,
				   p.skipped);
		reporting_adjust_backoff(eng, p.skipped + realloc + refreed,
					 p.examined + recent);
	}

	/*
	 * Units this pass put on first-pick probation keep it for the quiet
	 * time at least, as every unit does, however the next run comes: a
	 * free before this run went ACTIVE may have queued one for its own
	 * quiet time, which the IDLE requeue below leaves as it is.
	 */
	delay = msecs_to_jiffies(READ_ONCE(page_reporting_delay_ms));
	settle = reporting_backed_off(eng, delay);	/* the quiet time */
	if (p.first_pick && time_before(eng->first_pick_at, jiffies + settle))
		eng->first_pick_at = jiffies + settle;

	/*
	 * Frees during the pass moved the state back to REQUESTED: start
	 * again after the quiet time. A failed report is retried after a
	 * second at least. First-pick units left wait for their pass.
	 */
	state = atomic_cmpxchg(&prdev->state, PAGE_REPORTING_ACTIVE,
			       PAGE_REPORTING_IDLE);
	if (state != PAGE_REPORTING_REQUESTED && !p.err && !p.candidates &&
	    p.batches < PR_PASS_BATCHES && !p.retry) {
		/*
		 * Only first-pick units left, or nothing: come back for their
		 * pass with the state left IDLE, so that a free meanwhile
		 * queues the next pass for its own quiet time instead of
		 * leaving it to wait for this one (reporting_request()).
		 */
		if (p.first_pick_left) {
			now = jiffies;
			wait = time_before(now, eng->first_pick_at) ?
			       eng->first_pick_at - now : 0;
			/*
			 * Not sooner than the pass after any other probation:
			 * a first-pick probation is never the shorter one,
			 * whatever first_pick_ms says.
			 */
			delay = max(min(wait, interval), settle);
			queue_delayed_work(system_freezable_wq, &prdev->work,
					   delay);
		}
		return;
	}
	/* A device that fails is retried slowly, never in a loop. */
	if (p.err) {
		WRITE_ONCE(eng->backoff, min(eng->backoff * 2, PR_BACKOFF_MAX));
		delay = max(delay, PR_RETRY_DELAY);
	} else if (p.retry && !p.candidates &&
		   state != PAGE_REPORTING_REQUESTED &&
		   p.batches < PR_PASS_BATCHES) {
		/*
		 * Only marks in isolated pageblocks, or in a zone that this
		 * pass's own batch took to its watermark: look again later,
		 * slowly. (Other marks that a zone at its watermark could not
		 * give wait for the next free, which queues us: an idle guest
		 * whose page cache keeps a zone there must not have it polled
		 * for ever.)
		 */
		unsigned int max_ms = READ_ONCE(page_reporting_max_delay_ms);

		delay = max(delay, msecs_to_jiffies(max_ms));
		delay = max(delay, PR_RETRY_DELAY);
	}
	atomic_set(&prdev->state, PAGE_REPORTING_REQUESTED);
	WRITE_ONCE(eng->requested_at, jiffies);
	/*
	 * Not queue_delayed_work(): a run queued for first-pick units starts
	 * IDLE, and a free before it went ACTIVE queued it again for that
	 * free's quiet time, which may end before the probation this pass
	 * started. Frees do not queue us in the REQUESTED state.
	 */
	mod_delayed_work(system_freezable_wq, &prdev->work,
			 reporting_backed_off(eng, delay));
}

/*
 * At registration the device knows nothing: mark every block of present
 * memory and let the first pass find which of them are free (the others it
 * just clears, without counting them as reallocated). This takes no zone
 * lock, unlike walking every free list would. Frees that race with it are
 * marked by the hook, which is already enabled.
 */
static void reporting_mark_all(void)
{
	struct reporting_summary *summary;
	unsigned long sec, i;

	reporting_lock_memory();
	summary = reporting_summary_locked();
	for (sec = 0; sec < reporting_nr_sections(); sec++) {
		atomic_long_t *map = (atomic_long_t *)reporting_map_nr(sec);

		if (!map)
			continue;
		/*
		 * atomic_long_set(), not a plain store: the free path and the
		 * worker change bits in the same words with set_bit() and
		 * clear_bit(), under zone locks that we do not take, and where
		 * those take a hashed spinlock (parisc, sparc32) so does this.
		 * Bits past PR_SECTION_BITS in the last word are never looked
		 * at.
		 */
		for (i = 0; i < PR_MARK_LONGS; i++) {
			atomic_long_set(&map[i], ~0UL);
			atomic_long_set(&map[PR_MARK_LONGS + i], 0);
			atomic_long_set(&map[2 * PR_MARK_LONGS + i], 0);
		}
		/* The worker reads them under the summary lock, held here. */
		if (sec < summary->nbits)
			set_bit(sec, summary->map);
		else
			set_bit(0, &reporting_unsummarized);
		cond_resched();
	}
	reporting_unlock_memory();
}

/*
 * Forget every mark: used when the device goes away. The PG_reported flags
 * of free blocks stay; clearing them would take the zone->lock for every
 * free block. A reporting order below the tracked order makes the next
 * device skip such blocks: they stayed free since they were reported, and
 * a host keeps what it was told across a device reset. Marks in sections
 * beyond the summary, and reporting_unsummarized, stay too: the next
 * registration marks every block anyway.
 */
static void reporting_clear_all(void)
{
	struct reporting_summary *summary;
	unsigned long sec;

	reporting_lock_memory();
	summary = reporting_summary_locked();
	for_each_set_bit(sec, summary->map, summary->nbits) {
		unsigned long *map = reporting_map_nr(sec);

		/* No free marks now: the device pointer is gone. */
		if (map)
			bitmap_zero(map, PR_MAP_BITS);
		clear_bit(sec, summary->map);
	}
	reporting_unlock_memory();
}

static DEFINE_MUTEX(page_reporting_mutex);
DEFINE_STATIC_KEY_FALSE(page_reporting_enabled);

static struct page_reporting_dev_info *reporting_dev_locked(void)
{
	return rcu_dereference_protected(pr_dev_info,
					 lockdep_is_held(&page_reporting_mutex));
}

/*
 * Frees mark their tracked blocks only when they leave a free block of at
 * least page_reporting_mark_order (the reporting order: above the tracked
 * order, a free that completes a tracked block inside a unit still partly
 * in use gives a pass nothing to do; but no more than pageblock_order,
 * since merging stops at a pageblock whose buddy is isolated and undoing
 * the isolation merges without a free), and a pass clears the marks of blocks
 * that are not free at the reporting order. Lowering the reporting order
 * makes blocks reportable that were never marked or whose marks a pass
 * cleared: once every free that may still have read the old mark order is
 * over (the free path holds zone->lock: an RCU read-side critical section,
 * with or without PREEMPT_RT), mark every block, as at registration. A pass
 * that read the old order stops at its next batch (reporting_flushed()).
 */
static void reporting_set_mark_order(void)
{
	struct page_reporting_dev_info *prdev = reporting_dev_locked();
	/* hv_balloon may write it from its ->report(), without the mutex. */
	unsigned int order = READ_ONCE(page_reporting_order);
	unsigned int old = reporting_marked_order;

	lockdep_assert_held(&page_reporting_mutex);
	WRITE_ONCE(page_reporting_mark_order,
		   min_t(unsigned int, order, pageblock_order));
	/* Read without the mutex by reporting_order_caught_up(). */
	WRITE_ONCE(reporting_marked_order, order);
	if (!prdev || order >= old)
		return;
	synchronize_rcu();
	/* Blocks found allocated by the next pass are not churn. */
	WRITE_ONCE(reporting_engine.seed_seq, reporting_engine.seed_seq + 1);
	reporting_mark_all();
	rcu_read_lock();
	reporting_request(prdev);
	rcu_read_unlock();
}

/*
 * Bring the marks to page_reporting_order if it was written without
 * reporting_order_changed(): hv_balloon raises it from its ->report() when
 * the host refuses blocks below 2 MiB. Passes at the raised order clear
 * the marks of blocks free only below it; were reporting_marked_order
 * left at the old order, lowering the order back to it would not mark
 * every block again, and those blocks would never be reported.
 * page_reporting_unregister() holds the mutex while it waits for the
 * worker, the only caller: never sleep on it. Returns false when the
 * caller must try again later.
 */
static bool reporting_order_caught_up(void)
{
	if (READ_ONCE(page_reporting_order) ==
	    READ_ONCE(reporting_marked_order))
		return true;
	if (!mutex_trylock(&page_reporting_mutex))
		return false;
	reporting_set_mark_order();
	mutex_unlock(&page_reporting_mutex);
	return true;
}

/* page_reporting_order was written. */
static void reporting_order_changed(void)
{
	/* A boot parameter: no device can have registered yet. */
	if (system_state == SYSTEM_BOOTING)
		return;
	mutex_lock(&page_reporting_mutex);
	/*
	 * With no device, frees need not mark anything: the next
	 * registration follows the order.
	 */
	if (reporting_dev_locked())
		reporting_set_mark_order();
	mutex_unlock(&page_reporting_mutex);
}

/**
 * page_reporting_register - Register a free page reporting device
 * @prdev: the device; ->report must be set, ->order is 0..MAX_PAGE_ORDER
 *	or PAGE_REPORTING_ORDER_UNSPECIFIED (larger values count as
 *	unspecified), ->capacity may be 0
 *
 * Starts tracking freed blocks and reporting them to @prdev. Every block
 * that is free at registration is reported once, but for blocks below the
 * tracked order that an earlier device was told about and that stayed
 * free since (they keep PG_reported).
 *
 * Context: Process context; takes page_reporting_mutex.
 * Return: 0, -EBUSY if a device is already registered, -ENOMEM.
 */
int page_reporting_register(struct page_reporting_dev_info *prdev)
{
	struct reporting_engine *eng = &reporting_engine;
	int err = 0;

	mutex_lock(&page_reporting_mutex);

	/* nothing to do if already in use */
	if (reporting_dev_locked()) {
		err = -EBUSY;
		goto err_out;
	}

	/* page_reporting_init() could not allocate the summary. */
	if (!rcu_access_pointer(reporting_summary)) {
		err = -ENOMEM;
		goto err_out;
	}

	/* Published by rcu_assign_pointer(pr_dev_info) below. */
	memset(eng, 0, sizeof(*eng));
	sg_init_table(eng->sgl, PAGE_REPORTING_CAPACITY);
	eng->backoff = 1;
	eng->last_mark = jiffies;
	eng->first_pick_at = jiffies;
	/* Every block is marked below: the first passes see no churn. */
	eng->seed_seq = 1;

	/*
	 * The parameter, when set, decides; else the driver's order (0 is a
	 * valid one); else pageblock_order.
	 */
	if (page_reporting_order == PAGE_REPORTING_ORDER_UNSPECIFIED) {
		if (prdev->order != PAGE_REPORTING_ORDER_UNSPECIFIED &&
		    prdev->order <= MAX_PAGE_ORDER)
			page_reporting_order = prdev->order;
		else
			page_reporting_order = pageblock_order;
	}
	/* No device yet: the marks of every block follow below. */
	reporting_set_mark_order();

	/* initialize state and work structures */
	atomic_set(&prdev->state, PAGE_REPORTING_IDLE);
	INIT_DELAYED_WORK(&prdev->work, &page_reporting_process);

	/* Assign device to allow notifications */
	rcu_assign_pointer(pr_dev_info, prdev);

	/* enable page reporting notification */
	if (!static_key_enabled(&page_reporting_enabled)) {
		static_branch_enable(&page_reporting_enabled);
		pr_info("Free page reporting enabled\n");
	}

	/* Everything free now is unknown to the device. */
	reporting_mark_all();
	rcu_read_lock();
	reporting_request(prdev);
	rcu_read_unlock();
err_out:
	mutex_unlock(&page_reporting_mutex);

	return err;
}
EXPORT_SYMBOL_GPL(page_reporting_register);

/**
 * page_reporting_unregister - Unregister a free page reporting device
 * @prdev: the device given to page_reporting_register()
 *
 * Stops reporting to @prdev. When this returns, ->report() is not running
 * and every block isolated for @prdev is back on the free lists, except the
 * blocks of a report that returned PAGE_REPORTING_WITHHOLD: the device may
 * still use those, so they stay withheld.
 *
 * Context: Process context; may sleep until a report in flight completes.
 */
void page_reporting_unregister(struct page_reporting_dev_info *prdev)
{
	mutex_lock(&page_reporting_mutex);

	if (prdev == reporting_dev_locked()) {
		/* Disable page reporting notification */
		RCU_INIT_POINTER(pr_dev_info, NULL);
		/* The free path need not even look for a device now. */
		WRITE_ONCE(page_reporting_mark_order, -1);
		synchronize_rcu();

		/* Flush any existing work, and lock it out */
		cancel_delayed_work_sync(&prdev->work);

		/* A new device starts from what is free at its registration. */
		reporting_clear_all();
	}

	mutex_unlock(&page_reporting_mutex);
}
EXPORT_SYMBOL_GPL(page_reporting_unregister);

#ifdef CONFIG_MEMORY_HOTPLUG
static int reporting_memory_notifier(struct notifier_block *nb,
				     unsigned long action, void *arg)
{
	struct memory_notify *mn = arg;
	unsigned long pfn, end = mn->start_pfn + mn->nr_pages;

	mutex_lock(&reporting_summary_lock);
	switch (action) {
	case MEM_GOING_ONLINE:
		/*
		 * Cover the new sections before their pages are freed. When
		 * that fails, onlining goes on all the same: marks in them
		 * set reporting_unsummarized, and the worker retries.
		 */
		if (reporting_summary_grow(pfn_to_section_nr(end - 1) + 1))
			pr_warn_ratelimited("page_reporting: summary not grown, retrying\n");
		break;
	case MEM_OFFLINE:
		/*
		 * Its pages left the free lists; leave no bit behind, so the
		 * worker never looks at this memory again.
		 */
		for (pfn = mn->start_pfn; pfn < end; pfn += PAGES_PER_SECTION)
			bitmap_zero(reporting_section_map(pfn), PR_MAP_BITS);
		break;
	}
	mutex_unlock(&reporting_summary_lock);
	return NOTIFY_OK;
}
#endif

/*
 * What the tracking costs in memory: the bits in the mem_section_usage of
 * every present section, and the summary. The memory locks keep sections
 * from coming and going, and the summary from being replaced, meanwhile.
 */
static size_t reporting_tracking_bytes(void)
{
	struct reporting_summary *summary;
	size_t bytes;

	reporting_lock_memory();
	summary = reporting_summary_locked();
	bytes = reporting_mapped_sections() * page_reporting_map_size();
	if (summary)
		bytes += struct_size(summary, map, BITS_TO_LONGS(summary->nbits));
	reporting_unlock_memory();
	return bytes;
}

/*
 * /sys/kernel/debug/page_reporting/state: the engine's internal state, one
 * "name value" line each, for debugging and benchmarks. Not an ABI.
 */
static int reporting_state_show(struct seq_file *m, void *v)
{
	struct page_reporting_dev_info *prdev;
	bool pending = false;

	/* A pass is queued or running: something freed is not looked at. */
	rcu_read_lock();
	prdev = rcu_dereference(pr_dev_info);
	if (prdev)
		pending = atomic_read(&prdev->state) != PAGE_REPORTING_IDLE ||
			  delayed_work_pending(&prdev->work);
	rcu_read_unlock();

	seq_printf(m, "passes %lu\n", READ_ONCE(reporting_stats.passes));
	seq_printf(m, "pending %d\n", pending);
	seq_printf(m, "skipped_reallocated %lu\n",
		   READ_ONCE(reporting_stats.skipped_reallocated));
	seq_printf(m, "reported_reallocated %lu\n",
		   READ_ONCE(reporting_stats.reported_reallocated));
	seq_printf(m, "isolated %lu\n", READ_ONCE(reporting_stats.isolated_now));
	seq_printf(m, "backoff %u\n", READ_ONCE(reporting_engine.backoff));
	seq_printf(m, "tracking_bytes %zu\n", reporting_tracking_bytes());
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(reporting_state);

static ssize_t reporting_knob_read(struct file *file, char __user *ubuf,
				   size_t len, loff_t *ppos)
{
	const struct reporting_knob *knob = file->private_data;
	char buf[16];
	int n;

	n = scnprintf(buf, sizeof(buf), "%u\n", READ_ONCE(*knob->val));
	return simple_read_from_buffer(ubuf, len, ppos, buf, n);
}

/*
 * Not a simple_attr (DEFINE_DEBUGFS_ATTRIBUTE): its write takes any base
 * ("010" is 8), cuts input longer than its buffer down to a number it
 * may accept, and fails an overflow with -ERANGE. A knob takes one
 * decimal value and fails anything else with -EINVAL, changing nothing.
 */
static ssize_t reporting_knob_write(struct file *file,
				    const char __user *ubuf, size_t len,
				    loff_t *ppos)
{
	const struct reporting_knob *knob = file->private_data;
	char buf[24];

	if (*ppos || !len || len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = '\0';
	if (reporting_knob_set(knob, buf))
		return -EINVAL;
	/* One value per open: a second write() on it fails. */
	*ppos += len;
	return len;
}

static const struct file_operations reporting_knob_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.read = reporting_knob_read,
	.write = reporting_knob_write,
	.llseek = default_llseek,
};

/* Without debugfs the engine works the same; only the files are gone. */
static void __init reporting_debugfs_init(void)
{
	struct dentry *dir = debugfs_create_dir("page_reporting", NULL);
	unsigned int i;

	debugfs_create_file("state", 0444, dir, NULL, &reporting_state_fops);
	for (i = 0; i < ARRAY_SIZE(reporting_knobs); i++)
		debugfs_create_file(reporting_knobs[i].name, 0600, dir,
				    (void *)&reporting_knobs[i],
				    &reporting_knob_fops);
}

static int __init page_reporting_init(void)
{
	int err;

	err = reporting_maps_init();
	if (err)
		return err;
	mutex_lock(&reporting_summary_lock);
	err = reporting_summary_grow(reporting_nr_sections());
	mutex_unlock(&reporting_summary_lock);
	if (err)
		return err;
#ifdef CONFIG_MEMORY_HOTPLUG
	hotplug_memory_notifier(reporting_memory_notifier, DEFAULT_CALLBACK_PRI);
#endif
	reporting_debugfs_init();
	return 0;
}

/* Before device_initcall(): drivers register from their probe. */
subsys_initcall(page_reporting_init);

#ifdef CONFIG_PAGE_REPORTING_KUNIT_TEST
#include "tests/page_reporting_kunit.c"
#endif
