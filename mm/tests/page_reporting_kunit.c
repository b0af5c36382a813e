// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for the page reporting engine. Included at the end of
 * mm/page_reporting.c so that they can reach its static functions.
 *
 * The tests register a fake device that records what it is given, so they
 * run only where no real device has registered (a guest without a balloon
 * device); elsewhere they skip. They drive the worker synchronously with
 * the quiet and maximum delays set to 0, and with first_pick_ms at 0, so
 * that every pass looks at first-pick units (but prt_test_first_pick()).
 */

#include <kunit/test.h>
#include <kunit/test-bug.h>
#include <linux/delay.h>
#include <linux/initrd.h>
#include <linux/kthread.h>
#include <linux/page_owner.h>

#define PRT_MAX_RECORDS	16384
#define PRT_MAX_WITHHELD	512

struct prt_dev {
	struct page_reporting_dev_info prdev;
	unsigned long pfn[PRT_MAX_RECORDS];
	unsigned int order[PRT_MAX_RECORDS];
	unsigned int nr;		/* entries recorded */
	/* reporting_stats.passes at the first and last entry recorded */
	unsigned long pass_first, pass_last;
	unsigned int calls;
	unsigned int not_isolated;	/* reported pages still on a free list */
	int fail;			/* make ->report() return this */
	/* the entries of calls that withheld them: never given back */
	unsigned long withheld_pfn[PRT_MAX_WITHHELD];
	unsigned int withheld_order[PRT_MAX_WITHHELD];
	unsigned int nr_withheld;
	/*
	 * when not 0, the next ->report() sets page_reporting_order to it and
	 * fails, as hv_balloon does when the host refuses small blocks
	 */
	unsigned int raise_order;
	/* when set, ->report() signals @entered and waits for @hold */
	struct completion *hold;
	struct completion entered;
	/* when @only_end is set, record only entries in [@only, @only_end) */
	unsigned long only, only_end;
	/*
	 * free pages of the zone of @watch_pfn during the last call that held
	 * @watch_pfn, and how many pages of that zone the call held
	 */
	unsigned long watch_pfn;
	struct zone *watch;
	unsigned long watch_free;
	unsigned long watch_isolated;
};

static struct prt_dev *prt;
static unsigned int prt_saved_delay, prt_saved_max_delay, prt_saved_order;
static unsigned int prt_saved_first_pick;

static int prt_report(struct page_reporting_dev_info *prdev,
		      struct scatterlist *sgl, unsigned int nents)
{
	struct prt_dev *d = container_of(prdev, struct prt_dev, prdev);
	struct completion *hold;
	struct scatterlist *sg;
	unsigned long watched = 0;
	bool hit = false;
	unsigned int i;
	int ret;

	d->calls++;
	for_each_sg(sgl, sg, nents, i) {
		struct page *page = sg_page(sg);

		if (PageBuddy(page))
			d->not_isolated++;
		if (d->watch && page_zone(page) == d->watch)
			watched += sg->length >> PAGE_SHIFT;
		if (d->watch && d->watch_pfn >= page_to_pfn(page) &&
		    d->watch_pfn < page_to_pfn(page) + (sg->length >> PAGE_SHIFT))
			hit = true;
		if (d->only_end && (page_to_pfn(page) >= d->only_end ||
				    page_to_pfn(page) + (sg->length >> PAGE_SHIFT) <=
				    d->only))
			continue;
		if (d->nr < PRT_MAX_RECORDS) {
			/* Counted at the end of a pass: the same during one. */
			if (!d->nr)
				d->pass_first = READ_ONCE(reporting_stats.passes);
			d->pass_last = READ_ONCE(reporting_stats.passes);
			d->pfn[d->nr] = page_to_pfn(page);
			d->order[d->nr] = get_order(sg->length);
			d->nr++;
		}
	}
	/* Batches without the block, from frees elsewhere, do not count. */
	if (hit) {
		d->watch_isolated = watched;
		d->watch_free = zone_page_state_snapshot(d->watch, NR_FREE_PAGES);
	}
	if (d->raise_order) {
		WRITE_ONCE(page_reporting_order, d->raise_order);
		d->raise_order = 0;
		return -EINVAL;
	}
	/* The tests clear it while the worker may be here. */
	hold = READ_ONCE(d->hold);
	if (hold) {
		complete(&d->entered);
		wait_for_completion(hold);
	}
	ret = READ_ONCE(d->fail);
	if (ret == PAGE_REPORTING_WITHHOLD) {
		for_each_sg(sgl, sg, nents, i) {
			if (d->nr_withheld == PRT_MAX_WITHHELD)
				break;
			d->withheld_pfn[d->nr_withheld] = page_to_pfn(sg_page(sg));
			d->withheld_order[d->nr_withheld] = get_order(sg->length);
			d->nr_withheld++;
		}
	}
	return ret;
}

/*
 * Run the worker until it has nothing left to do. A worker that never gets
 * there fails the running test: what the test expects next would be
 * checked against a pass that has not run.
 */
static bool prt_settle(void)
{
	struct kunit *test = kunit_get_current_test();
	int i;

	for (i = 0; i < 20; i++) {
		flush_delayed_work(&prt->prdev.work);
		if (atomic_read(&prt->prdev.state) == PAGE_REPORTING_IDLE &&
		    !delayed_work_pending(&prt->prdev.work))
			return true;
	}
	if (test)
		KUNIT_FAIL(test, "the worker did not settle in 20 passes");
	return false;
}

/*
 * Hold the worker off: with delay_ms at 60 s a free queues it far ahead,
 * and a pass queued or running under the old delay runs to its end now,
 * not behind the test's back.
 */
static void prt_hold_off(void)
{
	page_reporting_delay_ms = 60000;
	flush_delayed_work(&prt->prdev.work);
}

/*
 * Held off: no pass runs or is queued to run within a second. What a pass
 * leaves on probation waits for the quiet time, whatever it is.
 */
static bool prt_held_off(void)
{
	struct delayed_work *dwork = &prt->prdev.work;

	if (!delayed_work_pending(dwork))
		return !work_busy(&dwork->work);
	return timer_pending(&dwork->timer) &&
	       time_after(dwork->timer.expires, jiffies + HZ);
}

/* One pass even though nothing was marked. */
static void prt_force_pass(void)
{
	atomic_set(&prt->prdev.state, PAGE_REPORTING_REQUESTED);
	queue_delayed_work(system_freezable_wq, &prt->prdev.work, 0);
	prt_settle();
}

static void prt_forget(void)
{
	prt->nr = 0;
	prt->calls = 0;
	prt->not_isolated = 0;
}

/* How many recorded entries cover @pfn. */
static unsigned int prt_times_reported(unsigned long pfn)
{
	unsigned int i, n = 0;

	for (i = 0; i < prt->nr; i++)
		if (pfn >= prt->pfn[i] && pfn < prt->pfn[i] + (1UL << prt->order[i]))
			n++;
	return n;
}

static bool prt_marked(unsigned long pfn)
{
	return test_bit(reporting_section_bit(pfn), reporting_section_map(pfn));
}

/* Clear the marks of the tracked blocks of an allocated order-@order block. */
static void prt_unmark(struct page *page, unsigned int order)
{
	struct zone *zone = page_zone(page);

	spin_lock_irq(&zone->lock);
	reporting_clear_unit(zone, page_to_pfn(page), order);
	spin_unlock_irq(&zone->lock);
}

/* Free a block and push it out of the per-cpu lists into the buddy. */
static void prt_free(struct page *page, unsigned int order)
{
	__free_pages(page, order);
	drain_all_pages(NULL);
}

/*
 * A block of @order (at least a tracked block) that the test owns, with no
 * mark and no record: what someone else freed just before, and was marked
 * or reported meanwhile, is what the allocator hands out first.
 */
/*
 * Free @page of @order with ->report() set to wait for @release, and queue
 * passes until the worker is inside ->report(). Probation: the block is
 * offered on the second pass at the latest. Returns false when the worker
 * never got there; the caller completes @release either way.
 */
static bool prt_free_held(struct page *page, unsigned int order,
			  struct completion *release)
{
	int i;

	init_completion(&prt->entered);
	WRITE_ONCE(prt->hold, release);
	prt_free(page, order);
	for (i = 0; i < 10; i++) {
		atomic_set(&prt->prdev.state, PAGE_REPORTING_REQUESTED);
		queue_delayed_work(system_freezable_wq, &prt->prdev.work, 0);
		if (wait_for_completion_timeout(&prt->entered, HZ))
			return true;
	}
	return false;
}

static struct page *prt_alloc(struct kunit *test, unsigned int order)
{
	struct page *page;

	page = alloc_pages(GFP_KERNEL | __GFP_NOWARN, order);
	KUNIT_ASSERT_NOT_NULL(test, page);
	prt_unmark(page, order);
	prt_settle();
	prt_forget();
	return page;
}

/*
 * prt_alloc() of a large block (512 MiB at MAX_PAGE_ORDER with 64 KiB
 * pages): the test skips when none is free.
 */
static struct page *prt_alloc_or_skip(struct kunit *test, unsigned int order)
{
	struct page *page;

	page = alloc_pages(GFP_KERNEL | __GFP_NOWARN, order);
	if (!page)
		kunit_skip(test, "no free block of order %u", order);
	prt_unmark(page, order);
	prt_settle();
	prt_forget();
	return page;
}

/*
 * An allocated block with its bit set: as if it had been freed, marked and
 * allocated again before the worker came to it.
 */
static struct page *prt_alloc_marked(struct kunit *test)
{
	struct page *page;
	struct zone *zone;

	page = alloc_pages(GFP_KERNEL | __GFP_NOWARN, PR_TRACK_ORDER);
	KUNIT_ASSERT_NOT_NULL(test, page);
	zone = page_zone(page);
	spin_lock_irq(&zone->lock);
	rcu_read_lock();
	reporting_mark_blocks(page_to_pfn(page), 1);
	rcu_read_unlock();
	spin_unlock_irq(&zone->lock);
	return page;
}

static int prt_init(struct kunit *test)
{
	int err;

	prt = kunit_kzalloc(test, sizeof(*prt), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, prt);
	prt->prdev.report = prt_report;
	prt->prdev.order = PAGE_REPORTING_ORDER_UNSPECIFIED;

	prt_saved_delay = page_reporting_delay_ms;
	prt_saved_max_delay = page_reporting_max_delay_ms;
	prt_saved_order = page_reporting_order;
	prt_saved_first_pick = page_reporting_first_pick_ms;
	page_reporting_delay_ms = 0;
	page_reporting_max_delay_ms = 0;
	page_reporting_first_pick_ms = 0;

	err = page_reporting_register(&prt->prdev);
	if (err == -EBUSY) {
		page_reporting_delay_ms = prt_saved_delay;
		page_reporting_max_delay_ms = prt_saved_max_delay;
		page_reporting_first_pick_ms = prt_saved_first_pick;
		prt = NULL;
		kunit_skip(test, "a page reporting device is registered");
	}
	KUNIT_ASSERT_EQ(test, err, 0);

	/*
	 * The tests report at the tracked order unless they say otherwise;
	 * unset, it is pageblock_order, larger than the tracked order where
	 * there is no hugetlb (i386: MAX_PAGE_ORDER).
	 */
	mutex_lock(&page_reporting_mutex);
	page_reporting_order = PR_TRACK_ORDER;
	reporting_set_mark_order();
	mutex_unlock(&page_reporting_mutex);

	/* Registration reports everything free once; start from there. */
	prt_settle();
	KUNIT_EXPECT_GT(test, prt->nr, 0U);
	KUNIT_EXPECT_EQ(test, prt->not_isolated, 0U);
	prt_forget();
	return 0;
}

/*
 * Built in, the suite runs before the boot waits for the initramfs, which
 * unpacks in the background and then frees its image: tracked blocks freed
 * and allocated while a test watches its own. Let that finish first.
 */
static int prt_suite_init(struct kunit_suite *suite)
{
	wait_for_initramfs();
	return 0;
}

static void prt_exit(struct kunit *test)
{
	if (!prt)
		return;
	page_reporting_unregister(&prt->prdev);
	page_reporting_delay_ms = prt_saved_delay;
	page_reporting_max_delay_ms = prt_saved_max_delay;
	page_reporting_first_pick_ms = prt_saved_first_pick;
	page_reporting_order = prt_saved_order;
	prt = NULL;
}

/* A freed pageblock is marked, reported once, and its bit cleared. */
static void prt_test_mark_after_merge(struct kunit *test)
{
	struct page *page;
	unsigned long pfn;

	page = prt_alloc(test, PR_TRACK_ORDER);
	pfn = page_to_pfn(page);
	KUNIT_EXPECT_FALSE(test, prt_marked(pfn));

	prt_free(page, PR_TRACK_ORDER);
	KUNIT_EXPECT_TRUE(test, prt_marked(pfn));

	prt_settle();
	KUNIT_EXPECT_EQ(test, prt_times_reported(pfn), 1U);
	KUNIT_EXPECT_FALSE(test, prt_marked(pfn));
	KUNIT_EXPECT_EQ(test, prt->not_isolated, 0U);
}

/* A free that leaves the pageblock incomplete marks nothing. */
static void prt_test_not_below_order(struct kunit *test)
{
	unsigned long half = (1UL << PR_TRACK_ORDER) / 2, i, pfn;
	struct page *page;

	page = prt_alloc(test, PR_TRACK_ORDER);
	pfn = page_to_pfn(page);
	split_page(page, PR_TRACK_ORDER);

	for (i = 0; i < half; i++)
		__free_page(page + i);
	drain_all_pages(NULL);
	KUNIT_EXPECT_FALSE(test, prt_marked(pfn));
	prt_settle();
	KUNIT_EXPECT_EQ(test, prt_times_reported(pfn), 0U);

	for (i = half; i < (1UL << PR_TRACK_ORDER); i++)
		__free_page(page + i);
	drain_all_pages(NULL);
	KUNIT_EXPECT_TRUE(test, prt_marked(pfn));
	prt_settle();
	KUNIT_EXPECT_EQ(test, prt_times_reported(pfn), 1U);
}

/*
 * A reported block that went back (and merged with its reported buddy) is
 * not reported again while it stays free.
 */
static void prt_test_reported_once(struct kunit *test)
{
	unsigned int order = min_t(unsigned int, PR_TRACK_ORDER + 1,
				   MAX_PAGE_ORDER);
	struct page *page;
	unsigned long pfn, i;

	page = prt_alloc(test, order);
	pfn = page_to_pfn(page);
	prt_free(page, order);
	prt_settle();
	for (i = 0; i < 1UL << order; i += (1UL << PR_TRACK_ORDER))
		KUNIT_EXPECT_EQ(test, prt_times_reported(pfn + i), 1U);

	prt_forget();
	prt_force_pass();
	prt_force_pass();
	KUNIT_EXPECT_EQ(test, prt->nr, 0U);
}

/*
 * A block first seen free by a pass is not reported by that pass, even
 * when a batch goes out after it: the pass goes on after the batch instead
 * of looking at the section from its start again. Three blocks of one
 * section with pairwise different MAX_PAGE_ORDER buddies (so none merges
 * with another): the last one is freed and put on probation first; then,
 * with one block per report, the other two are freed and one pass runs.
 */
#define PRT_PICK	64

static unsigned long prt_max_block(struct page *page)
{
	return page_to_pfn(page) >> MAX_PAGE_ORDER;
}

/* The block of @pages after @after (by pfn) in its section, or NULL. */
static struct page *prt_next_in_section(struct page **pages, unsigned int n,
					struct page *after)
{
	unsigned long pfn = page_to_pfn(after), best = ULONG_MAX;
	struct page *next = NULL;
	unsigned int k;

	for (k = 0; k < n; k++) {
		unsigned long p = page_to_pfn(pages[k]);

		if (p > pfn && p < best &&
		    reporting_pfn_to_section(p) ==
		    reporting_pfn_to_section(pfn)) {
			best = p;
			next = pages[k];
		}
	}
	return next;
}

static void prt_test_probation_survives_batch(struct kunit *test)
{
	struct page **pages, *b[3] = { };
	unsigned int i, n, k;

	pages = kunit_kcalloc(test, PRT_PICK, sizeof(*pages), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, pages);
	for (n = 0; n < PRT_PICK; n++) {
		pages[n] = alloc_pages(GFP_KERNEL | __GFP_NOWARN, PR_TRACK_ORDER);
		if (!pages[n])
			break;
	}
	/* Walk each section's blocks in pfn order, one per buddy range. */
	for (i = 0; i < n && !b[2]; i++) {
		struct page *next = pages[i];

		b[0] = pages[i];
		b[1] = NULL;
		b[2] = NULL;
		for (k = 1; k < 3; k++) {
			do {
				next = prt_next_in_section(pages, n, next);
			} while (next && (prt_max_block(next) ==
					  prt_max_block(b[k - 1])));
			if (!next)
				break;
			b[k] = next;
		}
	}
	for (i = 0; i < n; i++)
		if (pages[i] != b[0] && pages[i] != b[1] && pages[i] != b[2])
			prt_free(pages[i], PR_TRACK_ORDER);
	prt_settle();
	if (!b[2]) {
		for (k = 0; k < 3; k++)
			if (b[k])
				prt_free(b[k], PR_TRACK_ORDER);
		prt_settle();
		kunit_skip(test, "no three blocks of one section");
	}

	prt_forget();
	/*
	 * One pass per flush: the worker requeues itself after delay_ms,
	 * which the flush cuts short; max_delay_ms 0 keeps it from waiting.
	 */
	prt_hold_off();
	/* One pass: the last block goes on probation. */
	prt_free(b[2], PR_TRACK_ORDER);
	flush_delayed_work(&prt->prdev.work);
	KUNIT_EXPECT_EQ(test, prt_times_reported(page_to_pfn(b[2])), 0U);

	/* The next pass: b[0], b[1] are new, b[2] fills a batch of one. */
	prt->prdev.capacity = 1;
	prt_free(b[0], PR_TRACK_ORDER);
	prt_free(b[1], PR_TRACK_ORDER);
	flush_delayed_work(&prt->prdev.work);
	KUNIT_EXPECT_EQ(test, prt_times_reported(page_to_pfn(b[2])), 1U);
	KUNIT_EXPECT_EQ(test, prt_times_reported(page_to_pfn(b[0])), 0U);
	KUNIT_EXPECT_EQ(test, prt_times_reported(page_to_pfn(b[1])), 0U);

	/* They are reported by the pass after that, once. */
	prt->prdev.capacity = 0;
	page_reporting_delay_ms = 0;
	prt_settle();
	for (k = 0; k < 3; k++)
		KUNIT_EXPECT_EQ(test, prt_times_reported(page_to_pfn(b[k])), 1U);
}

static bool prt_on_probation(unsigned long pfn)
{
	return test_bit(reporting_section_bit(pfn),
			reporting_probation(reporting_section_map(pfn)));
}

static bool prt_on_first_pick_probation(unsigned long pfn)
{
	return test_bit(reporting_section_bit(pfn),
			reporting_first_pick_bits(reporting_section_map(pfn)));
}

/* Run one pass now; a first-pick pass if @first_pick. */
static void prt_one_pass(bool first_pick)
{
	if (first_pick)
		reporting_engine.first_pick_at = jiffies;
	flush_delayed_work(&prt->prdev.work);
}

/*
 * A tracked block freed while its buddy stays allocated is a free block
 * below MAX_PAGE_ORDER: the passes between first-pick passes leave it as it
 * is, while a MAX_PAGE_ORDER block freed with it is reported; the next
 * first-pick pass puts it on probation and the one after reports it.
 */
static void prt_test_first_pick(struct kunit *test)
{
	unsigned long i, pfn, whole_pfn;
	struct page *page, *whole;

	if (PR_TRACK_ORDER >= MAX_PAGE_ORDER)
		kunit_skip(test, "a free tracked block is MAX_PAGE_ORDER here");

	whole = prt_alloc_or_skip(test, MAX_PAGE_ORDER);
	page = prt_alloc(test, PR_TRACK_ORDER + 1);
	split_page(page, PR_TRACK_ORDER + 1);
	pfn = page_to_pfn(page) + (1UL << PR_TRACK_ORDER);
	whole_pfn = page_to_pfn(whole);

	/* No first-pick pass is due; one pass per flush (prt_hold_off()). */
	page_reporting_first_pick_ms = 60000;
	reporting_engine.first_pick_at = jiffies + 60 * HZ;
	prt_hold_off();
	for (i = 0; i < (1UL << PR_TRACK_ORDER); i++)
		__free_page(pfn_to_page(pfn + i));
	prt_free(whole, MAX_PAGE_ORDER);
	KUNIT_EXPECT_TRUE(test, prt_marked(pfn));

	/*
	 * Probation, then the report, of the MAX_PAGE_ORDER block only. The
	 * worker then waits for the first-pick pass with its state IDLE, so
	 * that a free can queue an earlier pass.
	 */
	for (i = 0; i < 3; i++)
		prt_one_pass(false);
	KUNIT_EXPECT_EQ(test, atomic_read(&prt->prdev.state),
			PAGE_REPORTING_IDLE);
	KUNIT_EXPECT_TRUE(test, delayed_work_pending(&prt->prdev.work));
	KUNIT_EXPECT_EQ(test, prt_times_reported(whole_pfn), 1U);
	KUNIT_EXPECT_EQ(test, prt_times_reported(pfn), 0U);
	KUNIT_EXPECT_TRUE(test, prt_marked(pfn));
	KUNIT_EXPECT_FALSE(test, prt_on_probation(pfn));

	/* The first-pick pass puts it on probation; the next pass leaves it. */
	prt_one_pass(true);
	KUNIT_EXPECT_TRUE(test, prt_on_first_pick_probation(pfn));
	prt_one_pass(false);
	KUNIT_EXPECT_EQ(test, prt_times_reported(pfn), 0U);
	KUNIT_EXPECT_TRUE(test, prt_on_first_pick_probation(pfn));

	/* The next first-pick pass reports it, once. */
	prt_one_pass(true);
	KUNIT_EXPECT_EQ(test, prt_times_reported(pfn), 1U);
	KUNIT_EXPECT_FALSE(test, prt_marked(pfn));
	KUNIT_EXPECT_EQ(test, prt->not_isolated, 0U);

	page_reporting_first_pick_ms = 0;
	page_reporting_delay_ms = 0;
	reporting_engine.first_pick_at = jiffies;
	for (i = 0; i < (1UL << PR_TRACK_ORDER); i++)
		__free_page(page + i);
	drain_all_pages(NULL);
	prt_settle();
}

/*
 * A MAX_PAGE_ORDER block put on probation whole, then split by an
 * allocation of its first half: the other half, now a first-pick block,
 * starts first-pick probation at the next first-pick pass instead of being
 * reported by it. (The allocation is made by isolating the block and
 * putting its second half back, as the allocator's split would.)
 */
static void prt_test_first_pick_after_split(struct kunit *test)
{
	unsigned long half = 1UL << PR_TRACK_ORDER, pfn;
	struct page *page;
	struct zone *zone;
	int mt = 0, isolated = 0;

	if (PR_TRACK_ORDER >= MAX_PAGE_ORDER)
		kunit_skip(test, "a free tracked block is MAX_PAGE_ORDER here");

	page = prt_alloc_or_skip(test, MAX_PAGE_ORDER);
	pfn = page_to_pfn(page);
	zone = page_zone(page);

	page_reporting_first_pick_ms = 60000;
	reporting_engine.first_pick_at = jiffies + 60 * HZ;
	prt_hold_off();
	prt_free(page, MAX_PAGE_ORDER);
	prt_one_pass(false);
	KUNIT_EXPECT_TRUE(test, prt_on_probation(pfn + half));
	KUNIT_EXPECT_FALSE(test, prt_on_first_pick_probation(pfn + half));

	/* Still the free block it was, unless someone allocated it. */
	spin_lock_irq(&zone->lock);
	if (PageBuddy(page) && buddy_order(page) == MAX_PAGE_ORDER)
		isolated = __isolate_free_page(page, MAX_PAGE_ORDER);
	if (isolated) {
		/* __isolate_free_page() may have made it MIGRATE_MOVABLE. */
		mt = get_pageblock_migratetype(page);
		__putback_isolated_page(page + half, PR_TRACK_ORDER, mt);
	}
	spin_unlock_irq(&zone->lock);
	if (!isolated) {
		page_reporting_first_pick_ms = 0;
		page_reporting_delay_ms = 0;
		reporting_engine.first_pick_at = jiffies;
		prt_settle();
		kunit_skip(test, "could not take the block off its free list");
	}

	prt_one_pass(true);
	KUNIT_EXPECT_EQ(test, prt_times_reported(pfn + half), 0U);
	KUNIT_EXPECT_TRUE(test, prt_on_first_pick_probation(pfn + half));
	prt_one_pass(true);
	KUNIT_EXPECT_EQ(test, prt_times_reported(pfn + half), 1U);
	KUNIT_EXPECT_EQ(test, prt->not_isolated, 0U);

	page_reporting_first_pick_ms = 0;
	page_reporting_delay_ms = 0;
	reporting_engine.first_pick_at = jiffies;
	spin_lock_irq(&zone->lock);
	__putback_isolated_page(page, PR_TRACK_ORDER, mt);
	spin_unlock_irq(&zone->lock);
	prt_settle();
}

/* A block allocated between mark and scan is skipped and counted. */
static void prt_test_skip_reallocated(struct kunit *test)
{
	unsigned long skipped = reporting_stats.skipped_reallocated, pfn;
	struct page *page;

	page = prt_alloc_marked(test);
	pfn = page_to_pfn(page);

	prt_force_pass();
	KUNIT_EXPECT_EQ(test, prt_times_reported(pfn), 0U);
	KUNIT_EXPECT_FALSE(test, prt_marked(pfn));
	KUNIT_EXPECT_EQ(test, reporting_stats.skipped_reallocated, skipped + 1);
	prt_free(page, PR_TRACK_ORDER);
	prt_settle();
}

/*
 * A free into a unit on probation ends its probation and counts as churn:
 * the unit was allocated and freed again in between. Every unit of a
 * MAX_PAGE_ORDER block churns that way: the pass after looks at them (and
 * at whatever else the guest freed meanwhile, at boot far less than three
 * times as many) and backs off.
 */
static void prt_test_probation_refreed(struct kunit *test)
{
	unsigned long unit = 1UL << PR_TRACK_ORDER, pfn, i;
	unsigned long end = 1UL << MAX_PAGE_ORDER;
	unsigned int backoff, after;
	struct page *page;
	struct zone *zone;
	bool all = true;
	int ended;

	if (PR_TRACK_ORDER >= MAX_PAGE_ORDER)
		kunit_skip(test, "a free tracked block is MAX_PAGE_ORDER here");
	page = prt_alloc_or_skip(test, MAX_PAGE_ORDER);
	pfn = page_to_pfn(page);
	zone = page_zone(page);

	prt_hold_off();
	prt_free(page, MAX_PAGE_ORDER);
	prt_one_pass(false);
	for (i = 0; i < end; i += unit)
		all &= prt_on_probation(pfn + i);
	if (!all) {
		/* Allocated again before the pass came. */
		page_reporting_delay_ms = 0;
		prt_settle();
		kunit_skip(test, "the block was not free for the pass");
	}
	backoff = READ_ONCE(reporting_engine.backoff);

	/* What the free path does when a page of each unit comes back. */
	ended = atomic_read(&reporting_engine.probation_ended);
	spin_lock_irq(&zone->lock);
	for (i = 0; i < end; i += unit)
		__page_reporting_notify_free(pfn + i, 0);
	spin_unlock_irq(&zone->lock);
	/* Frees elsewhere may end other units' probation meanwhile. */
	KUNIT_EXPECT_GE(test, atomic_read(&reporting_engine.probation_ended),
			ended + (int)(end / unit));
	for (i = 0; i < end; i += unit) {
		KUNIT_EXPECT_FALSE(test, prt_on_probation(pfn + i));
		KUNIT_EXPECT_TRUE(test, prt_marked(pfn + i));
	}

	prt_one_pass(false);
	KUNIT_EXPECT_EQ(test, prt_times_reported(pfn), 0U);
	after = READ_ONCE(reporting_engine.backoff);
	KUNIT_EXPECT_EQ(test, after, min(backoff * 4, PR_BACKOFF_MAX));

	page_reporting_delay_ms = 0;
	prt_settle();
	KUNIT_EXPECT_EQ(test, prt_times_reported(pfn), 1U);
}

/*
 * While blocks are out the zone's free count is lower by exactly them;
 * once they are back it is what it was. The count is the whole zone's,
 * and the rest of the guest allocates and frees meanwhile (a task's
 * stack, the page cache): the round checked is the first of up to five
 * in which the count is exact, or the last. An engine that loses or adds
 * pages is off in every round.
 */
static void prt_test_counts_restored(struct kunit *test)
{
	unsigned long before, after, pfn;
	struct page *page;
	int round = 0;

	do {
		page = prt_alloc(test, PR_TRACK_ORDER);
		pfn = page_to_pfn(page);
		prt->watch = page_zone(page);
		prt->watch_pfn = pfn;
		prt->watch_isolated = 0;
		prt->watch_free = 0;
		prt_free(page, PR_TRACK_ORDER);

		before = zone_page_state_snapshot(prt->watch, NR_FREE_PAGES);
		prt_settle();
		after = zone_page_state_snapshot(prt->watch, NR_FREE_PAGES);
	} while (++round < 5 && (after != before ||
				 prt->watch_free != before - prt->watch_isolated));
	KUNIT_EXPECT_EQ(test, prt_times_reported(pfn), 1U);
	KUNIT_EXPECT_GE(test, prt->watch_isolated, (1UL << PR_TRACK_ORDER));
	KUNIT_EXPECT_EQ(test, prt->watch_free, before - prt->watch_isolated);
	KUNIT_EXPECT_EQ(test, after, before);
	KUNIT_EXPECT_EQ(test, reporting_stats.isolated_now, 0UL);
	/* And the block is a free buddy block again. */
	spin_lock_irq(&prt->watch->lock);
	KUNIT_EXPECT_NOT_NULL(test, reporting_free_block(prt->watch, pfn,
							 PR_TRACK_ORDER));
	spin_unlock_irq(&prt->watch->lock);
}

/* The count of vm event @item, summed over every CPU. */
static unsigned long prt_vm_event(struct kunit *test, enum vm_event_item item)
{
	unsigned long *events;

	/* Zeroed: without CONFIG_VM_EVENT_COUNTERS every event reads 0. */
	events = kunit_kcalloc(test, NR_VM_EVENT_ITEMS, sizeof(*events),
			       GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, events);
	all_vm_events(events);
	return events[item];
}

/* A failed report puts the blocks back still marked, for a later pass. */
static void prt_test_report_error(struct kunit *test)
{
	unsigned long failed = prt_vm_event(test, PAGE_REPORTING_FAILED), pfn;
	struct page *page;
	int i;

	page = prt_alloc(test, PR_TRACK_ORDER);
	pfn = page_to_pfn(page);
	prt->fail = -EIO;
	prt_free(page, PR_TRACK_ORDER);
	/*
	 * A first pass only flags the block (probation); a later one offers
	 * it. Other blocks may be offered (and fail) first: a failed batch
	 * ends the pass, and the retry comes with the next flush.
	 */
	for (i = 0; i < 10 && !prt_times_reported(pfn); i++)
		flush_delayed_work(&prt->prdev.work);
	KUNIT_EXPECT_EQ(test, prt_times_reported(pfn), 1U);
	KUNIT_EXPECT_TRUE(test, prt_marked(pfn));
	/* Counted, where the kernel counts vm events. */
	if (IS_ENABLED(CONFIG_VM_EVENT_COUNTERS))
		KUNIT_EXPECT_GT(test,
				prt_vm_event(test, PAGE_REPORTING_FAILED),
				failed);

	prt->fail = 0;
	prt_forget();
	prt_settle();
	KUNIT_EXPECT_EQ(test, prt_times_reported(pfn), 1U);
	KUNIT_EXPECT_FALSE(test, prt_marked(pfn));
}

/*
 * A device that could not be stopped may still use the blocks of its
 * report: ->report() says so with PAGE_REPORTING_WITHHOLD, and they never
 * go back to the allocator.
 */
static void prt_test_report_withheld(struct kunit *test)
{
	unsigned long withheld = prt_vm_event(test, PAGE_REPORTING_WITHHELD);
	struct page *page = prt_alloc(test, PR_TRACK_ORDER);
	unsigned long pfn = page_to_pfn(page), isolated, pages = 0;
	unsigned int i;

	prt->fail = PAGE_REPORTING_WITHHOLD;
	prt_free(page, PR_TRACK_ORDER);
	/* As in prt_test_report_error: probation first, then the offer. */
	for (i = 0; i < 10 && !prt_times_reported(pfn); i++)
		flush_delayed_work(&prt->prdev.work);
	/* No pass after this one: nothing more is withheld. */
	page_reporting_unregister(&prt->prdev);
	KUNIT_EXPECT_EQ(test, prt_times_reported(pfn), 1U);
	isolated = READ_ONCE(reporting_stats.isolated_now);
	KUNIT_EXPECT_EQ(test, isolated, (unsigned long)prt->nr_withheld);
	/* Given back after all: do not give it back again below. */
	KUNIT_ASSERT_FALSE(test, PageBuddy(page));

	/*
	 * Logically offline, so that memory offlining fails at once and
	 * kcore skips them: a reference on each block, PageOffline() on
	 * every page; counted in vmstat.
	 */
	for (i = 0; i < prt->nr_withheld; i++) {
		struct page *p = pfn_to_page(prt->withheld_pfn[i]);
		unsigned long j, nr = 1UL << prt->withheld_order[i];

		KUNIT_EXPECT_EQ(test, page_ref_count(p), 1);
		for (j = 0; j < nr; j++)
			if (!PageOffline(p + j))
				break;
		KUNIT_EXPECT_EQ_MSG(test, j, nr, "withheld block at pfn %lu",
				    prt->withheld_pfn[i]);
		pages += nr;
	}
	KUNIT_EXPECT_EQ(test, prt_vm_event(test, PAGE_REPORTING_WITHHELD) -
			withheld, pages);

	/* No device would let us: give them back for the tests that follow. */
	for (i = 0; i < prt->nr_withheld; i++) {
		struct page *p = pfn_to_page(prt->withheld_pfn[i]);
		unsigned long j, nr = 1UL << prt->withheld_order[i];
		struct zone *zone = page_zone(p);

		for (j = 0; j < nr; j++)
			__ClearPageOffline(p + j);
		set_page_count(p, 0);
		spin_lock_irq(&zone->lock);
		__putback_isolated_page(p, prt->withheld_order[i],
					get_pageblock_migratetype(p));
		spin_unlock_irq(&zone->lock);
		reporting_stat_add(&reporting_stats.isolated_now, -1);
	}
	prt->fail = 0;
	KUNIT_ASSERT_EQ(test, page_reporting_register(&prt->prdev), 0);
	prt_settle();
}

/*
 * A host that does not acknowledge holds the worker in ->report(). Nothing
 * else may wait for it: allocating and freeing, marks included, go on, and
 * what was freed meanwhile is reported once the host answers.
 */
static void prt_test_report_blocked(struct kunit *test)
{
	DECLARE_COMPLETION_ONSTACK(release);
	unsigned long pfns[64];
	struct page *pages[64];
	unsigned int once = 0;
	struct page *page;
	int i;

	page = prt_alloc(test, PR_TRACK_ORDER);
	if (!prt_free_held(page, PR_TRACK_ORDER, &release)) {
		WRITE_ONCE(prt->hold, NULL);
		complete(&release);
		prt_settle();
		KUNIT_FAIL(test, "the worker never called ->report()");
		return;
	}

	/* The worker is inside ->report(); this thread must not block. */
	for (i = 0; i < ARRAY_SIZE(pages); i++) {
		pages[i] = alloc_pages(GFP_KERNEL | __GFP_NOWARN, PR_TRACK_ORDER);
		pfns[i] = pages[i] ? page_to_pfn(pages[i]) : 0;
	}
	for (i = 0; i < ARRAY_SIZE(pages); i++)
		if (pages[i])
			prt_free(pages[i], PR_TRACK_ORDER);

	/*
	 * The host answers (@release lives on this stack, so before any
	 * return); the pass goes on and what was freed meanwhile follows.
	 */
	prt_forget();
	WRITE_ONCE(prt->hold, NULL);
	complete(&release);
	KUNIT_EXPECT_NOT_NULL(test, pages[0]);
	for (i = 0; i < 10; i++)
		prt_force_pass();
	/* Some may have been allocated again meanwhile; none twice. */
	for (i = 0; i < ARRAY_SIZE(pfns); i++) {
		if (!pfns[i])
			continue;
		once += prt_times_reported(pfns[i]) == 1;
		KUNIT_EXPECT_LE(test, prt_times_reported(pfns[i]), 1U);
	}
	KUNIT_EXPECT_GT(test, once, 0U);
}

#ifdef CONFIG_COMPACTION

/*
 * Hand out a captured tracked block as compaction would (the part of
 * prep_new_page() a GFP_KERNEL allocation needs), then free it for real.
 */
static void prt_free_captured(struct page *page)
{
	post_alloc_hook(page, PR_TRACK_ORDER, GFP_KERNEL);
	set_page_refcounted(page);
	prt_free(page, PR_TRACK_ORDER);
}

/*
 * A block that compaction_capture() takes while it is being freed never
 * reaches a free list, so it is not marked. The block is freed in two
 * halves; the second half merges with the first up to the tracked order,
 * and a capture_control that asks for that order takes the merged block.
 */
static void prt_test_capture_not_marked(struct kunit *test)
{
	unsigned int half = PR_TRACK_ORDER - 1;
	struct compact_control cc = { .order = PR_TRACK_ORDER };
	struct capture_control capc = { .cc = &cc };
	struct page *page = NULL;
	unsigned long pfn = 0, flags;
	unsigned int kthread;
	int tries;

	/* The halves must go straight to the buddy allocator, not a pcp list. */
	if (!PR_TRACK_ORDER || half <= PAGE_ALLOC_COSTLY_ORDER)
		kunit_skip(test, "half a tracked block fits the per-cpu lists");
	/* zone->lock sleeps there, and the free below has interrupts off. */
	if (IS_ENABLED(CONFIG_PREEMPT_RT))
		kunit_skip(test, "PREEMPT_RT");

	/* No capture when someone took the first half meanwhile: retry. */
	for (tries = 0; tries < 5; tries++) {
		page = alloc_pages(GFP_KERNEL | __GFP_NOWARN, PR_TRACK_ORDER);
		KUNIT_ASSERT_NOT_NULL(test, page);
		pfn = page_to_pfn(page);
		/* A stale mark from before it was allocated is not ours. */
		prt_unmark(page, PR_TRACK_ORDER);
		/*
		 * Two blocks of order @half, as split_page() would make them
		 * (GFP_KERNEL: no memcg charge to split).
		 */
		set_page_refcounted(page + (1UL << half));
		split_page_owner(page, PR_TRACK_ORDER, half);
		pgalloc_tag_split(page_folio(page), PR_TRACK_ORDER, half);
		__free_pages(page, half);
		KUNIT_EXPECT_FALSE(test, prt_marked(pfn));

		cc.zone = page_zone(page);
		cc.migratetype = get_pageblock_migratetype(page);
		capc.page = NULL;
		/*
		 * task_capc() serves the direct compaction of user tasks;
		 * this test runs in a kthread. Look like one for the length
		 * of the free, with interrupts off so that no other free on
		 * this CPU sees it.
		 */
		local_irq_save(flags);
		kthread = current->flags & PF_KTHREAD;
		current->flags &= ~PF_KTHREAD;
		current->capture_control = &capc;
		__free_pages(page + (1UL << half), half);
		current->capture_control = NULL;
		current->flags |= kthread;
		local_irq_restore(flags);
		if (capc.page)
			break;
	}
	KUNIT_ASSERT_LT_MSG(test, tries, 5, "no capture in %d tries", tries);
	KUNIT_EXPECT_EQ(test, page_to_pfn(capc.page), pfn);
	KUNIT_EXPECT_FALSE(test, prt_marked(pfn));

	prt_free_captured(capc.page);
	KUNIT_EXPECT_TRUE(test, prt_marked(pfn));
	prt_settle();
	KUNIT_EXPECT_EQ(test, prt_times_reported(pfn), 1U);
}
#endif

/*
 * A free in a section that the summary does not cover (onlining could not
 * grow it) is not lost: the worker grows the summary and finds the mark.
 */
static void prt_test_mark_beyond_summary(struct kunit *test)
{
	struct reporting_summary *old, *small;
	struct page *page;
	unsigned long pfn;

	page = prt_alloc(test, PR_TRACK_ORDER);
	pfn = page_to_pfn(page);

	/* No pass before the checks below: one would clear the flag. */
	prt_hold_off();
	page_reporting_max_delay_ms = 60000;

	/*
	 * A summary of no section: every mark falls beyond it. Its map is
	 * as large as the old one: a pass that a batch interrupted sets the
	 * bit of the section it was in when it comes back.
	 */
	reporting_lock_memory();
	old = reporting_summary_locked();
	small = kzalloc(struct_size(small, map, BITS_TO_LONGS(old->nbits)),
			GFP_KERNEL);
	if (small)
		rcu_assign_pointer(reporting_summary, small);
	reporting_unlock_memory();
	if (!small)
		__free_pages(page, PR_TRACK_ORDER);
	KUNIT_ASSERT_NOT_NULL(test, small);
	synchronize_rcu();
	/* The marks it had: reporting_summarize_all() finds them again. */
	kfree(old);

	prt_free(page, PR_TRACK_ORDER);
	KUNIT_EXPECT_TRUE(test, prt_marked(pfn));
	KUNIT_EXPECT_TRUE(test, test_bit(0, &reporting_unsummarized));

	page_reporting_delay_ms = 0;
	page_reporting_max_delay_ms = 0;
	prt_settle();
	KUNIT_EXPECT_EQ(test, prt_times_reported(pfn), 1U);
	KUNIT_EXPECT_FALSE(test, prt_marked(pfn));
	KUNIT_EXPECT_FALSE(test, test_bit(0, &reporting_unsummarized));
	reporting_lock_memory();
	KUNIT_EXPECT_GT(test, reporting_summary_locked()->nbits,
			reporting_pfn_to_section(pfn));
	reporting_unlock_memory();
}

static int prt_unregister_fn(void *arg)
{
	struct completion *done = arg;

	page_reporting_unregister(&prt->prdev);
	complete(done);
	return 0;
}

/*
 * Once page_reporting_unregister() has cleared the device pointer, the
 * pass in progress makes no further ->report() call: the one in flight
 * completes and the pass stops.
 */
static void prt_test_unregister_stops_pass(struct kunit *test)
{
	DECLARE_COMPLETION_ONSTACK(release);
	DECLARE_COMPLETION_ONSTACK(unregistered);
	struct page *pages[8];
	struct task_struct *t;
	unsigned int calls;
	int i, n = 0;

	for (i = 0; i < ARRAY_SIZE(pages); i++) {
		pages[i] = alloc_pages(GFP_KERNEL | __GFP_NOWARN, PR_TRACK_ORDER);
		n += !!pages[i];
	}
	/* No pass while they are freed: the next flush runs the only one. */
	prt_hold_off();
	for (i = 0; i < ARRAY_SIZE(pages); i++)
		if (pages[i])
			prt_free(pages[i], PR_TRACK_ORDER);
	KUNIT_ASSERT_GE(test, n, 3);

	/* One pass puts them on probation, without reporting them. */
	flush_delayed_work(&prt->prdev.work);

	/* The next pass reports one block per call; hold the first call. */
	prt_forget();
	prt->prdev.capacity = 1;
	init_completion(&prt->entered);
	WRITE_ONCE(prt->hold, &release);
	atomic_set(&prt->prdev.state, PAGE_REPORTING_REQUESTED);
	mod_delayed_work(system_freezable_wq, &prt->prdev.work, 0);
	if (!wait_for_completion_timeout(&prt->entered, 10 * HZ)) {
		WRITE_ONCE(prt->hold, NULL);
		complete(&release);
		KUNIT_FAIL(test, "the worker never called ->report()");
		return;
	}

	t = kthread_run(prt_unregister_fn, &unregistered, "prt-unregister");
	if (IS_ERR(t)) {
		WRITE_ONCE(prt->hold, NULL);
		complete(&release);
		KUNIT_FAIL(test, "kthread_run: %ld", PTR_ERR(t));
		return;
	}
	/* Wait until the device pointer is gone, then let the host answer. */
	for (i = 0; i < 500 && rcu_access_pointer(pr_dev_info); i++)
		msleep(20);
	calls = prt->calls;
	WRITE_ONCE(prt->hold, NULL);
	complete(&release);
	wait_for_completion(&unregistered);

	KUNIT_EXPECT_NULL(test, rcu_access_pointer(pr_dev_info));
	KUNIT_EXPECT_EQ(test, calls, 1U);
	KUNIT_EXPECT_EQ(test, prt->calls, calls);
	KUNIT_EXPECT_EQ(test, reporting_stats.isolated_now, 0UL);
	/* prt_exit() has nothing left to unregister. */
	page_reporting_delay_ms = prt_saved_delay;
	page_reporting_max_delay_ms = prt_saved_max_delay;
	prt = NULL;
}

/* Blocks of zones on different nodes are reported from their own zone. */
static void prt_test_nodes_apart(struct kunit *test)
{
	struct page *pages[2] = { };
	int nids[2], n = 0, nid, i;

	for_each_online_node(nid) {
		if (n < 2 && node_present_pages(nid))
			nids[n++] = nid;
	}
	if (n < 2)
		kunit_skip(test, "needs two memory nodes");

	for (i = 0; i < 2; i++) {
		pages[i] = alloc_pages_node(nids[i], GFP_KERNEL | __GFP_THISNODE |
					    __GFP_NOWARN, PR_TRACK_ORDER);
		KUNIT_ASSERT_NOT_NULL(test, pages[i]);
		KUNIT_EXPECT_EQ(test, page_to_nid(pages[i]), nids[i]);
	}
	for (i = 0; i < 2; i++)
		prt_free(pages[i], PR_TRACK_ORDER);
	prt_settle();
	for (i = 0; i < 2; i++) {
		unsigned long pfn = page_to_pfn(pages[i]);

		KUNIT_EXPECT_EQ(test, prt_times_reported(pfn), 1U);
		KUNIT_EXPECT_FALSE(test, prt_marked(pfn));
		KUNIT_EXPECT_EQ(test, pfn_to_nid(pfn), nids[i]);
	}
}

#ifdef CONFIG_MEMORY_HOTPLUG
/*
 * MEM_OFFLINE leaves no bit in the offlined sections; MEM_GOING_ONLINE
 * grows the summary to cover new sections and keeps the marks it had.
 */
static void prt_test_hotplug_notifier(struct kunit *test)
{
	struct memory_notify mn = { };
	struct reporting_summary *summary;
	unsigned long pfn, sec, nbits;
	struct page *page;

	page = prt_alloc_marked(test);
	pfn = page_to_pfn(page);
	sec = pfn_to_section_nr(pfn);

	/* Grow: a range far beyond present memory. */
	mutex_lock(&reporting_summary_lock);
	summary = reporting_summary_locked();
	nbits = summary->nbits;
	mutex_unlock(&reporting_summary_lock);
	mn.start_pfn = section_nr_to_pfn(nbits + 64);
	mn.nr_pages = PAGES_PER_SECTION;
	KUNIT_EXPECT_EQ(test, reporting_memory_notifier(NULL, MEM_GOING_ONLINE,
							&mn), NOTIFY_OK);
	mutex_lock(&reporting_summary_lock);
	summary = reporting_summary_locked();
	/* Rounded up to whole words, not beyond. */
	KUNIT_EXPECT_GE(test, summary->nbits, nbits + 65);
	KUNIT_EXPECT_LT(test, summary->nbits, nbits + 65 + BITS_PER_LONG);
	KUNIT_EXPECT_EQ(test, summary->nbits % BITS_PER_LONG, 0UL);
	KUNIT_EXPECT_TRUE(test, test_bit(sec, summary->map));
	mutex_unlock(&reporting_summary_lock);

	/*
	 * A summary that cannot be allocated does not fail onlining: twice
	 * KMALLOC_MAX_SIZE worth of summary bits. (A 32-bit summary always
	 * fits.)
	 */
	if (IS_ENABLED(CONFIG_64BIT)) {
		int ret;

		mn.start_pfn = section_nr_to_pfn(KMALLOC_MAX_SIZE *
						 BITS_PER_BYTE * 2);
		ret = reporting_memory_notifier(NULL, MEM_GOING_ONLINE, &mn);
		KUNIT_EXPECT_EQ(test, ret, NOTIFY_OK);
	}

	/* Offline: the section's bits go. (Only the bits: nothing is freed.) */
	mn.start_pfn = section_nr_to_pfn(sec);
	mn.nr_pages = PAGES_PER_SECTION;
	KUNIT_EXPECT_EQ(test, reporting_memory_notifier(NULL, MEM_OFFLINE, &mn),
			NOTIFY_OK);
	KUNIT_EXPECT_FALSE(test, prt_marked(pfn));

	prt_free(page, PR_TRACK_ORDER);
	prt_settle();
	KUNIT_EXPECT_EQ(test, prt_times_reported(pfn), 1U);
}
#endif

/*
 * Back-off stretches a wait by its factor, but never beyond PR_BACKOFF_SPAN
 * times max_delay_ms: a free is looked at within that however the guest
 * churns.
 */
static void prt_test_backoff_span(struct kunit *test)
{
	unsigned int saved = page_reporting_max_delay_ms;
	struct reporting_engine *eng;
	unsigned long span;

	eng = kunit_kzalloc(test, sizeof(*eng), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, eng);
	/* The suite runs with the delays at 0; the default max delay here. */
	page_reporting_max_delay_ms = 2000;
	span = PR_BACKOFF_SPAN * msecs_to_jiffies(2000);

	eng->backoff = 1;
	KUNIT_EXPECT_EQ(test, reporting_backed_off(eng, 10), 10UL);
	eng->backoff = 4;
	KUNIT_EXPECT_EQ(test, reporting_backed_off(eng, 10), 40UL);
	eng->backoff = PR_BACKOFF_MAX;
	KUNIT_EXPECT_EQ(test, reporting_backed_off(eng, span / 4), span);
	KUNIT_EXPECT_EQ(test, reporting_backed_off(eng, span), span);
	/* A wait the knobs make longer than the span is not cut. */
	KUNIT_EXPECT_EQ(test, reporting_backed_off(eng, 2 * span), 2 * span);
	/* max_delay_ms at 0: no back-off at all. */
	page_reporting_max_delay_ms = 0;
	KUNIT_EXPECT_EQ(test, reporting_backed_off(eng, 10), 10UL);
	page_reporting_max_delay_ms = saved;
}

/* Every tunable rejects bad input with -EINVAL and keeps its value. */
static void prt_test_tunables(struct kunit *test)
{
	static const char * const bad[] = {
		"abc", "-1", "", "12x", "99999999999999999999", "0x10",
	};
	unsigned int val = 1234, order = PR_TRACK_ORDER;
	const struct reporting_knob delay = {
		"delay", &val, 0, PR_DELAY_MAX_MS,
	};
	const struct reporting_knob capacity = {
		"capacity", &val, 1, PAGE_REPORTING_CAPACITY,
	};
	struct kernel_param okp = { .arg = &order };
	char big[16];
	int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		KUNIT_EXPECT_EQ_MSG(test, reporting_knob_set(&delay, bad[i]),
				    -EINVAL, "delay '%s'", bad[i]);
		KUNIT_EXPECT_EQ_MSG(test, reporting_knob_set(&capacity, bad[i]),
				    -EINVAL, "capacity '%s'", bad[i]);
		KUNIT_EXPECT_EQ_MSG(test, page_order_update_notify(bad[i], &okp),
				    -EINVAL, "order '%s'", bad[i]);
	}
	KUNIT_EXPECT_EQ(test, reporting_knob_set(&delay, NULL), -EINVAL);
	snprintf(big, sizeof(big), "%u", PR_DELAY_MAX_MS + 1);
	KUNIT_EXPECT_EQ(test, reporting_knob_set(&delay, big), -EINVAL);
	KUNIT_EXPECT_EQ(test, reporting_knob_set(&capacity, "0"), -EINVAL);
	KUNIT_EXPECT_EQ(test, reporting_knob_set(&capacity, "33"), -EINVAL);
	snprintf(big, sizeof(big), "%u", MAX_PAGE_ORDER + 1);
	KUNIT_EXPECT_EQ(test, page_order_update_notify(big, &okp), -EINVAL);
	KUNIT_EXPECT_EQ(test, val, 1234U);
	KUNIT_EXPECT_EQ(test, order, (unsigned int)PR_TRACK_ORDER);

	KUNIT_EXPECT_EQ(test, reporting_knob_set(&delay, "0"), 0);
	KUNIT_EXPECT_EQ(test, val, 0U);
	KUNIT_EXPECT_EQ(test, reporting_knob_set(&delay, "60000\n"), 0);
	KUNIT_EXPECT_EQ(test, val, 60000U);
	KUNIT_EXPECT_EQ(test, reporting_knob_set(&capacity, "32"), 0);
	KUNIT_EXPECT_EQ(test, val, 32U);
	snprintf(big, sizeof(big), "%u", MAX_PAGE_ORDER);
	KUNIT_EXPECT_EQ(test, page_order_update_notify(big, &okp), 0);
	KUNIT_EXPECT_EQ(test, order, (unsigned int)MAX_PAGE_ORDER);
	KUNIT_EXPECT_EQ(test, page_order_update_notify("0", &okp), 0);
	KUNIT_EXPECT_EQ(test, order, 0U);
}

/* The order of the first recorded entry that covers @pfn, or -1. */
static int prt_reported_order(unsigned long pfn)
{
	unsigned int i;

	for (i = 0; i < prt->nr; i++)
		if (pfn >= prt->pfn[i] && pfn < prt->pfn[i] + (1UL << prt->order[i]))
			return prt->order[i];
	return -1;
}

/*
 * Register the fake device again, as a driver asking for @dev_order, with
 * page_reporting_order at @order (PAGE_REPORTING_ORDER_UNSPECIFIED: unset),
 * and let it report what is free at registration.
 */
static void prt_reregister(struct kunit *test, unsigned int order,
			   unsigned int dev_order)
{
	page_reporting_unregister(&prt->prdev);
	page_reporting_order = order;
	prt->prdev.order = dev_order;
	KUNIT_ASSERT_EQ(test, page_reporting_register(&prt->prdev), 0);
	KUNIT_ASSERT_TRUE(test, prt_settle());
	prt_forget();
}

/*
 * The order a registration takes: the parameter when set; else the
 * driver's, order 0 included; else pageblock_order, which a driver order
 * above MAX_PAGE_ORDER gets too.
 */
static void prt_test_register_order(struct kunit *test)
{
	const unsigned int unset = PAGE_REPORTING_ORDER_UNSPECIFIED;
	const unsigned int pb_order = pageblock_order;

	prt_reregister(test, unset, unset);
	KUNIT_EXPECT_EQ(test, page_reporting_order, pb_order);
	prt_reregister(test, unset, 0);
	KUNIT_EXPECT_EQ(test, page_reporting_order, 0U);
	prt_reregister(test, unset, MAX_PAGE_ORDER + 1);
	KUNIT_EXPECT_EQ(test, page_reporting_order, pb_order);
	prt_reregister(test, PR_TRACK_ORDER, 0);
	KUNIT_EXPECT_EQ(test, page_reporting_order, (unsigned int)PR_TRACK_ORDER);
}

/*
 * A free MAX_PAGE_ORDER block that is ready as a whole is reported as one
 * entry, not as one per unit of the reporting order.
 */
static void prt_test_whole_block(struct kunit *test)
{
	struct page *page;
	unsigned long pfn, i;

	if (PR_TRACK_ORDER >= MAX_PAGE_ORDER)
		kunit_skip(test, "the unit is a MAX_PAGE_ORDER block here");
	page = prt_alloc_or_skip(test, MAX_PAGE_ORDER);
	pfn = page_to_pfn(page);
	prt_free(page, MAX_PAGE_ORDER);
	prt_settle();
	for (i = 0; i < 1UL << MAX_PAGE_ORDER; i += 1UL << PR_TRACK_ORDER)
		KUNIT_EXPECT_EQ(test, prt_times_reported(pfn + i), 1U);
	KUNIT_EXPECT_EQ(test, prt_reported_order(pfn), (int)MAX_PAGE_ORDER);
}

/*
 * An order-@order block split into pages, its marks cleared, and the
 * worker held off until the test calls prt_go(); only entries inside the
 * block are recorded.
 */
static struct page *prt_alloc_split(struct kunit *test, unsigned int order)
{
	struct page *page;

	page = alloc_pages(GFP_KERNEL | __GFP_NOWARN, order);
	KUNIT_ASSERT_NOT_NULL(test, page);
	prt_hold_off();
	prt_unmark(page, order);
	split_page(page, order);
	prt->only = page_to_pfn(page);
	prt->only_end = prt->only + (1UL << order);
	return page;
}

/* Let the worker run again, and run it until it has nothing to do. */
static void prt_go(struct kunit *test)
{
	page_reporting_delay_ms = 0;
	KUNIT_EXPECT_TRUE(test, prt_settle());
}

/*
 * A driver that leaves the order to page_reporting_order, set to 0
 * (hv_balloon's way): single free pages inside a tracked block are
 * reported as 4 KiB entries, each once, while the rest of the block stays
 * allocated.
 */
static void prt_test_order_zero(struct kunit *test)
{
	unsigned long pfn, i, n = 1UL << PR_TRACK_ORDER;
	struct page *page;

	prt_reregister(test, 0, PAGE_REPORTING_ORDER_UNSPECIFIED);
	KUNIT_EXPECT_EQ(test, page_reporting_order, 0U);
	page = prt_alloc_split(test, PR_TRACK_ORDER);
	pfn = page_to_pfn(page);

	/* Page 1: its buddy, page 0, stays allocated. */
	prt_free(page + 1, 0);
	KUNIT_EXPECT_TRUE(test, prt_marked(pfn));
	prt_go(test);
	KUNIT_EXPECT_EQ(test, prt_times_reported(pfn + 1), 1U);
	KUNIT_EXPECT_EQ(test, prt_reported_order(pfn + 1), 0);
	KUNIT_EXPECT_EQ(test, prt->nr, 1U);
	KUNIT_EXPECT_EQ(test, prt->not_isolated, 0U);

	/* Page 3 marks the block again; page 1 is not reported again. */
	prt_free(page + 3, 0);
	KUNIT_EXPECT_TRUE(test, prt_settle());
	KUNIT_EXPECT_EQ(test, prt_times_reported(pfn + 3), 1U);
	KUNIT_EXPECT_EQ(test, prt_times_reported(pfn + 1), 1U);
	KUNIT_EXPECT_EQ(test, prt->nr, 2U);

	for (i = 0; i < n; i++)
		if (i != 1 && i != 3)
			__free_page(page + i);
	drain_all_pages(NULL);
	prt_settle();
}

/*
 * Below the tracked order, frees keep landing in a tracked block that stays
 * in use, one before every pass: what is free in it is reported at the
 * first pass all the same, not held back by a probation that every free
 * restarts.
 */
static void prt_test_order_zero_busy_block(struct kunit *test)
{
	unsigned long pfn, i, n = 1UL << PR_TRACK_ORDER;
	struct page *page;

	prt_reregister(test, 0, PAGE_REPORTING_ORDER_UNSPECIFIED);
	page = prt_alloc_split(test, PR_TRACK_ORDER);
	pfn = page_to_pfn(page);
	page_reporting_delay_ms = 0;

	/* Odd pages: their even buddies stay allocated, nothing merges. */
	prt_free(page + 1, 0);
	for (i = 0; i < 4; i++) {
		flush_delayed_work(&prt->prdev.work);
		prt_free(page + 3 + 2 * i, 0);
	}
	KUNIT_EXPECT_EQ(test, prt_times_reported(pfn + 1), 1U);
	KUNIT_EXPECT_TRUE(test, prt_settle());
	for (i = 0; i < 5; i++)
		KUNIT_EXPECT_EQ(test, prt_times_reported(pfn + 1 + 2 * i), 1U);

	for (i = 0; i < n; i++)
		if (i % 2 == 0 || i > 9)
			__free_page(page + i);
	drain_all_pages(NULL);
	prt_settle();
}

/*
 * Below the tracked order, a tracked block can hold more free blocks than
 * a batch: the pass that fills a batch in it goes on in it after the
 * report, and reports them all. No free would queue the worker for the
 * ones it left.
 */
static void prt_test_batch_full_within(struct kunit *test)
{
	unsigned long pfn, i, n = 1UL << PR_TRACK_ORDER;
	struct page *page;

	prt->prdev.capacity = 2;
	prt_reregister(test, 0, PAGE_REPORTING_ORDER_UNSPECIFIED);
	page = prt_alloc_split(test, PR_TRACK_ORDER);
	pfn = page_to_pfn(page);

	/*
	 * Odd pages: their even buddies stay allocated, nothing merges. The
	 * worker waits for the summary lock meanwhile: its first look at
	 * the block finds all five free.
	 */
	reporting_lock_memory();
	for (i = 0; i < 5; i++)
		__free_page(page + 1 + 2 * i);
	drain_all_pages(NULL);
	reporting_unlock_memory();
	prt_go(test);
	for (i = 0; i < 5; i++)
		KUNIT_EXPECT_EQ(test, prt_times_reported(pfn + 1 + 2 * i), 1U);
	KUNIT_EXPECT_GE(test, prt->calls, 3U);
	KUNIT_EXPECT_EQ(test, prt->pass_first, prt->pass_last);
	KUNIT_EXPECT_FALSE(test, prt_marked(pfn));

	for (i = 0; i < n; i++)
		if (i % 2 == 0 || i > 9)
			__free_page(page + i);
	drain_all_pages(NULL);
	prt_settle();
}

/*
 * A zone gives a unit as long as it keeps its low watermark without it,
 * however large a batch is next to the zone: a reserve of a whole batch
 * (32 x 2 MiB) would never let a smaller zone report, such as the 16 MiB
 * ZONE_DMA of x86-64, and its marks would be deferred for ever. The pass
 * here has a batch larger than the zone it looks at.
 */
static void prt_test_small_zone(struct kunit *test)
{
	struct reporting_pass p = { .unit_order = PR_TRACK_ORDER };
	unsigned long unit = 1UL << p.unit_order;
	struct zone *zone;

	for_each_populated_zone(zone) {
		/* A margin: allocations may go on meanwhile. */
		if (!zone_watermark_ok(zone, 0,
				       low_wmark_pages(zone) + 4 * unit, 0,
				       ALLOC_CMA))
			continue;
		p.capacity = zone_managed_pages(zone) / unit + 1;
		KUNIT_EXPECT_TRUE_MSG(test,
				      reporting_zone_ok(&p, zone, p.unit_order),
				      "zone %s", zone->name);
		return;
	}
	kunit_skip(test, "no zone with units to give");
}

/*
 * A free, marked block on probation in a zone at its low watermark keeps
 * its mark, and the pass does not ask to be run again for it: the next
 * free queues the worker. Polling such marks every few seconds would keep
 * the worker of an idle guest, whose page cache holds a zone near its
 * watermarks, running for ever.
 */
static void prt_test_low_zone_waits(struct kunit *test)
{
	struct reporting_pass p = { .eng = &reporting_engine,
				    .order = PR_TRACK_ORDER,
				    .unit_order = PR_TRACK_ORDER,
				    .capacity = PAGE_REPORTING_CAPACITY,
				    .zone_low = true };
	struct page *page = prt_alloc(test, PR_TRACK_ORDER);
	unsigned long pfn = page_to_pfn(page);
	struct zone *zone = page_zone(page);
	bool free;

	prt_hold_off();
	prt_free(page, PR_TRACK_ORDER);
	spin_lock_irq(&zone->lock);
	free = reporting_free_block(zone, pfn, PR_TRACK_ORDER);
	if (free) {
		p.zone = zone;
		reporting_probate_unit(zone, pfn, PR_TRACK_ORDER);
		KUNIT_EXPECT_TRUE(test, reporting_isolate(&p, pfn));
	}
	spin_unlock_irq(&zone->lock);
	if (!free)
		kunit_skip(test, "the block was allocated again");
	KUNIT_EXPECT_TRUE(test, p.deferred);
	KUNIT_EXPECT_FALSE(test, p.retry);
	KUNIT_EXPECT_EQ(test, p.nents, 0U);
	KUNIT_EXPECT_TRUE(test, prt_marked(pfn));
	prt_go(test);
}

/*
 * A zone that the pass's own batch took to its low watermark: the batch's
 * blocks come back after the report, and no free may follow to queue the
 * worker, so the pass asks to be run again. A zone that was at its
 * watermark before the batch took any of it waits for the next free. The
 * watermark boost stands in for a zone short of free pages: it is raised
 * and put back under zone->lock, as kswapd and boost_watermark() change
 * it, for the few instructions of the check.
 */
static void prt_test_low_zone_own_batch(struct kunit *test)
{
	struct reporting_pass p = { .order = PR_TRACK_ORDER,
				    .unit_order = PR_TRACK_ORDER };
	struct zone *zone = NULL, *z;
	unsigned long boost;
	bool ok;
	int i;

	for_each_populated_zone(z) {
		zone = z;
		break;
	}
	if (!zone)
		kunit_skip(test, "no populated zone");

	for (i = 0; i < 2; i++) {
		p.zone_low = false;
		p.retry = false;
		/* The batch holds a block of this zone in the second round. */
		p.nents = i;
		spin_lock_irq(&zone->lock);
		boost = zone->watermark_boost;
		zone->watermark_boost = zone_managed_pages(zone);
		ok = reporting_zone_ok(&p, zone, p.unit_order);
		zone->watermark_boost = boost;
		spin_unlock_irq(&zone->lock);
		KUNIT_EXPECT_FALSE(test, ok);
		KUNIT_EXPECT_TRUE(test, p.zone_low);
		KUNIT_EXPECT_EQ_MSG(test, p.retry, i == 1, "batch of %d", i);
	}
}

/*
 * Above pageblock_order, merging stops at a pageblock whose buddy is
 * isolated, and undoing the isolation merges the two without a free. The
 * unit must be reported all the same: the free of the first half marks it
 * (the mark order is pageblock_order), a pass leaves the mark while the
 * buddy is isolated, and the one after the undo reports the whole unit.
 */
static void prt_test_order_above_isolated(struct kunit *test)
{
#ifdef CONFIG_MEMORY_ISOLATION
	unsigned int order = pageblock_order + 1;
	unsigned long pfn, i, half = pageblock_nr_pages;
	struct page *page;

	if (order > MAX_PAGE_ORDER || PR_TRACK_ORDER != pageblock_order)
		kunit_skip(test, "pageblock_order %u", pageblock_order);
	prt_reregister(test, order, PAGE_REPORTING_ORDER_UNSPECIFIED);
	page = prt_alloc_split(test, order);
	pfn = page_to_pfn(page);

	/* The second half free, then isolated, as alloc_contig_range() does. */
	for (i = half; i < 2 * half; i++)
		__free_page(page + i);
	drain_all_pages(NULL);
	prt_go(test);
	if (start_isolate_page_range(pfn + half, pfn + 2 * half,
				     MIGRATE_MOVABLE, 0, GFP_KERNEL)) {
		for (i = 0; i < half; i++)
			__free_page(page + i);
		prt_settle();
		kunit_skip(test, "could not isolate the pageblock");
	}

	for (i = 0; i < half; i++)
		__free_page(page + i);
	drain_all_pages(NULL);
	KUNIT_EXPECT_TRUE(test, prt_marked(pfn));
	/* Passes now requeue themselves for the isolated unit: run two. */
	page_reporting_delay_ms = 0;
	for (i = 0; i < 2; i++)
		flush_delayed_work(&prt->prdev.work);
	KUNIT_EXPECT_EQ(test, prt_times_reported(pfn), 0U);
	KUNIT_EXPECT_TRUE(test, prt_marked(pfn));

	undo_isolate_page_range(pfn + half, pfn + 2 * half, MIGRATE_MOVABLE);
	KUNIT_EXPECT_TRUE(test, prt_settle());
	KUNIT_EXPECT_EQ(test, prt_times_reported(pfn), 1U);
	KUNIT_EXPECT_EQ(test, prt_reported_order(pfn), (int)order);
#else
	kunit_skip(test, "no CONFIG_MEMORY_ISOLATION: nothing isolates pageblocks");
#endif
}

#ifdef CONFIG_MEMORY_ISOLATION
/*
 * Isolate the pageblock at @iso inside the free block at @page of @order,
 * and undo it: -EAGAIN when the block is no longer free as a whole.
 */
static int prt_isolate_and_undo(struct kunit *test, struct page *page,
				unsigned int order, unsigned long iso)
{
	struct zone *zone = page_zone(page);
	unsigned long pfn = page_to_pfn(page);
	bool whole;
	int mt;

	/* Split by isolation only while it is free as one block. */
	spin_lock_irq(&zone->lock);
	whole = PageBuddy(page) && buddy_order(page) >= order;
	spin_unlock_irq(&zone->lock);
	if (!whole)
		return -EAGAIN;
	mt = get_pageblock_migratetype(pfn_to_page(iso));
	if (start_isolate_page_range(iso, iso + pageblock_nr_pages, mt, 0,
				     GFP_KERNEL))
		return -EAGAIN;
	KUNIT_EXPECT_FALSE(test, prt_marked(pfn));
	KUNIT_EXPECT_FALSE(test, prt_marked(pfn + pageblock_nr_pages));
	undo_isolate_page_range(iso, iso + pageblock_nr_pages, mt);
	return 0;
}
#endif

/*
 * Isolating a pageblock inside a larger free block splits that block (the
 * upper half: the free block starts below it; the lower half: it starts
 * there), and undoing the isolation merges the pieces again. Nothing is
 * freed either time: nothing is marked, and a block that was reported is
 * not reported again. Someone else may allocate the first piece while the
 * other is isolated (it heads the free list) and free it again, which
 * marks it rightly: not at boot, where the suite runs.
 */
static void prt_test_isolate_split_not_marked(struct kunit *test)
{
#ifdef CONFIG_MEMORY_ISOLATION
	unsigned int order = pageblock_order + 1, i;
	unsigned long pfn, half = pageblock_nr_pages;
	struct page *page;

	if (order > MAX_PAGE_ORDER)
		kunit_skip(test, "pageblock_order %u is MAX_PAGE_ORDER",
			   pageblock_order);
	page = prt_alloc_or_skip(test, order);
	pfn = page_to_pfn(page);
	prt_free(page, order);
	KUNIT_ASSERT_TRUE(test, prt_settle());
	if (prt_times_reported(pfn) != 1)
		kunit_skip(test, "the block was allocated before its report");
	prt_forget();

	for (i = 0; i < 2; i++) {
		if (prt_isolate_and_undo(test, page, order,
					 i ? pfn : pfn + half))
			kunit_skip(test,
				   "the block is no longer free as one block");
		KUNIT_EXPECT_FALSE(test, prt_marked(pfn));
		KUNIT_EXPECT_FALSE(test, prt_marked(pfn + half));
		KUNIT_EXPECT_TRUE(test, prt_settle());
		KUNIT_EXPECT_EQ(test, prt_times_reported(pfn), 0U);
		KUNIT_EXPECT_EQ(test, prt_times_reported(pfn + half), 0U);
	}
#else
	kunit_skip(test, "no CONFIG_MEMORY_ISOLATION: nothing isolates pageblocks");
#endif
}

/*
 * alloc_contig_range() may isolate a pageblock of a block that is out for a
 * report: no free page is there to move, so only the pageblock's
 * migratetype changes. The block must come back a pageblock at a time:
 * given back whole under the first pageblock's migratetype, the isolated
 * pageblock would be on the movable free list, counted free and
 * allocatable.
 */
static void prt_test_isolated_while_out(struct kunit *test)
{
#ifdef CONFIG_MEMORY_ISOLATION
	DECLARE_COMPLETION_ONSTACK(release);
	unsigned long pfn, half = pageblock_nr_pages;
	int head_order = -1, mt;
	bool held, out, iso_free;
	struct page *page;
	struct zone *zone;

	if (pageblock_order >= MAX_PAGE_ORDER || PR_TRACK_ORDER >= MAX_PAGE_ORDER)
		kunit_skip(test, "no block spans two pageblocks here");
	page = prt_alloc_or_skip(test, MAX_PAGE_ORDER);
	pfn = page_to_pfn(page);
	zone = page_zone(page);
	held = prt_free_held(page, MAX_PAGE_ORDER, &release);
	/* Out when the batch the worker holds has it: off the free lists. */
	spin_lock_irq(&zone->lock);
	out = held && !PageBuddy(page) && !page_ref_count(page);
	spin_unlock_irq(&zone->lock);
	mt = get_pageblock_migratetype(pfn_to_page(pfn + half));
	if (!out || start_isolate_page_range(pfn + half, pfn + 2 * half, mt, 0,
					     GFP_KERNEL)) {
		WRITE_ONCE(prt->hold, NULL);
		complete(&release);
		prt_settle();
		kunit_skip(test, "the block was not out, or not isolated");
	}
	/* The host answers (@release lives on this stack): the block is back. */
	WRITE_ONCE(prt->hold, NULL);
	complete(&release);
	KUNIT_EXPECT_TRUE(test, prt_settle());

	spin_lock_irq(&zone->lock);
	if (PageBuddy(page))
		head_order = buddy_order(page);
	iso_free = PageBuddy(page + half) &&
		   buddy_order(page + half) == pageblock_order;
	spin_unlock_irq(&zone->lock);
	/* The lower pageblock may have been allocated since, not merged. */
	KUNIT_EXPECT_LE(test, head_order, (int)pageblock_order);
	/* On the isolate free list, where nothing allocates from. */
	KUNIT_EXPECT_TRUE(test, iso_free);
	undo_isolate_page_range(pfn + half, pfn + 2 * half, mt);
	KUNIT_EXPECT_TRUE(test, prt_settle());
#else
	kunit_skip(test, "no CONFIG_MEMORY_ISOLATION: nothing isolates pageblocks");
#endif
}

/*
 * A reporting order between 0 and the tracked order: a free block of that
 * order inside a tracked block is reported as one entry, smaller ones are
 * not. A single free page before it, at the start of the tracked block,
 * must not make the walk miss it.
 */
static void prt_test_order_between(struct kunit *test)
{
	unsigned int order = PR_TRACK_ORDER / 2;
	unsigned long pfn, i, n = 1UL << PR_TRACK_ORDER, u = 1UL << order;
	struct page *page;

	if (order < 2)
		kunit_skip(test, "tracked order %u", PR_TRACK_ORDER);
	prt_reregister(test, order, PAGE_REPORTING_ORDER_UNSPECIFIED);
	page = prt_alloc_split(test, PR_TRACK_ORDER);
	pfn = page_to_pfn(page);

	/* Page 0 alone; [u, 2u) merges to @order; half of [2u, 3u) does not. */
	__free_page(page);
	for (i = u; i < 2 * u + u / 2; i++)
		__free_page(page + i);
	drain_all_pages(NULL);
	prt_go(test);
	KUNIT_EXPECT_EQ(test, prt_times_reported(pfn + u), 1U);
	KUNIT_EXPECT_EQ(test, prt_reported_order(pfn + u), (int)order);
	KUNIT_EXPECT_EQ(test, prt_times_reported(pfn), 0U);
	KUNIT_EXPECT_EQ(test, prt_times_reported(pfn + 2 * u), 0U);
	KUNIT_EXPECT_EQ(test, prt->nr, 1U);

	for (i = 1; i < n; i++)
		if (i < u || i >= 2 * u + u / 2)
			__free_page(page + i);
	drain_all_pages(NULL);
	prt_settle();
}

/*
 * A unit of two tracked blocks, both marked, is put on probation by a pass
 * at its first tracked block; the same pass must not find it ready at the
 * second one. The next pass reports it, and not before the quiet time:
 * with first_pick_ms 0, as in this suite, a first-pick unit too.
 */
static void prt_test_unit_probation(struct kunit *test)
{
	unsigned int order = PR_TRACK_ORDER + 1;
	struct page *page;
	unsigned long pfn;

	if (order > MAX_PAGE_ORDER)
		kunit_skip(test, "tracked order is MAX_PAGE_ORDER");
	prt_reregister(test, order, PAGE_REPORTING_ORDER_UNSPECIFIED);
	page = prt_alloc_or_skip(test, order);
	pfn = page_to_pfn(page);
	prt_hold_off();
	prt_free(page, order);
	KUNIT_EXPECT_TRUE(test, prt_marked(pfn));
	KUNIT_EXPECT_TRUE(test, prt_marked(pfn + (1UL << PR_TRACK_ORDER)));
	flush_delayed_work(&prt->prdev.work);
	KUNIT_EXPECT_TRUE(test, prt_held_off());
	KUNIT_EXPECT_EQ(test, prt_times_reported(pfn), 0U);
	KUNIT_EXPECT_TRUE(test, prt_on_probation(pfn));

	page_reporting_delay_ms = 0;
	KUNIT_EXPECT_TRUE(test, prt_settle());
	KUNIT_EXPECT_EQ(test, prt_times_reported(pfn), 1U);
	KUNIT_EXPECT_GE(test, prt_reported_order(pfn), (int)order);
}

/*
 * A reporting order above the tracked order: half of a unit free is not
 * reported; once the other half is freed, the unit is reported as one
 * entry. Then, lowering the order to the tracked order makes a free half
 * whose mark the larger order cleared reportable again.
 */
static void prt_test_order_above(struct kunit *test)
{
	unsigned int order = PR_TRACK_ORDER + 1;
	struct kernel_param kp = { .arg = &page_reporting_order };
	unsigned long pfn, i, half = 1UL << PR_TRACK_ORDER, skipped;
	char val[16];
	struct page *page;

	if (order > MAX_PAGE_ORDER)
		kunit_skip(test, "tracked order is MAX_PAGE_ORDER");
	prt_reregister(test, order, PAGE_REPORTING_ORDER_UNSPECIFIED);
	page = prt_alloc_split(test, order);
	pfn = page_to_pfn(page);

	/*
	 * Half of the unit free: nothing to report. It is marked only when
	 * it is a whole pageblock (then a pass must see it, in case its
	 * buddy is isolated), and a pass that finds the unit in use does
	 * not take it for churn.
	 */
	skipped = READ_ONCE(reporting_stats.skipped_reallocated);
	for (i = 0; i < half; i++)
		__free_page(page + i);
	drain_all_pages(NULL);
	KUNIT_EXPECT_EQ(test, prt_marked(pfn), order > pageblock_order);
	prt_go(test);
	KUNIT_EXPECT_EQ(test, prt->nr, 0U);
	KUNIT_EXPECT_EQ(test, READ_ONCE(reporting_stats.skipped_reallocated),
			skipped);

	for (; i < 2 * half; i++)
		__free_page(page + i);
	drain_all_pages(NULL);
	KUNIT_EXPECT_TRUE(test, prt_settle());
	KUNIT_EXPECT_EQ(test, prt->nr, 1U);
	KUNIT_EXPECT_EQ(test, prt_times_reported(pfn), 1U);
	KUNIT_EXPECT_EQ(test, prt_times_reported(pfn + half), 1U);
	/* Larger if it merged with free neighbours: a free block goes whole. */
	KUNIT_EXPECT_GE(test, prt_reported_order(pfn), (int)order);

	/* A free half again, its mark cleared at @order; then the order drops. */
	page = prt_alloc_split(test, order);
	pfn = page_to_pfn(page);
	prt_forget();
	for (i = 0; i < half; i++)
		__free_page(page + i);
	drain_all_pages(NULL);
	prt_go(test);
	KUNIT_EXPECT_EQ(test, prt->nr, 0U);
	KUNIT_EXPECT_FALSE(test, prt_marked(pfn));
	snprintf(val, sizeof(val), "%u", PR_TRACK_ORDER);
	KUNIT_EXPECT_EQ(test, page_order_update_notify(val, &kp), 0);
	KUNIT_EXPECT_TRUE(test, prt_settle());
	KUNIT_EXPECT_EQ(test, prt_times_reported(pfn), 1U);
	KUNIT_EXPECT_EQ(test, prt_times_reported(pfn + half), 0U);

	for (; i < 2 * half; i++)
		__free_page(page + i);
	drain_all_pages(NULL);
	prt_settle();
}

/*
 * Lower page_reporting_order to 0 through the parameter: page 1 of the
 * tracked block at @page, freed alone and not marked, is reported once.
 * Then free the rest of the block.
 */
static void prt_lower_to_zero(struct kunit *test, struct page *page)
{
	struct kernel_param kp = { .arg = &page_reporting_order };
	unsigned long i, n = 1UL << PR_TRACK_ORDER;

	KUNIT_EXPECT_EQ(test, page_order_update_notify("0", &kp), 0);
	KUNIT_EXPECT_TRUE(test, prt_settle());
	KUNIT_EXPECT_EQ(test, prt_times_reported(page_to_pfn(page) + 1), 1U);

	for (i = 0; i < n; i++)
		if (i != 1)
			__free_page(page + i);
	drain_all_pages(NULL);
	prt_settle();
}

/*
 * Every block is marked again (the order is lowered) while a pass waits in
 * ->report(): neither that pass nor the next counts the marks of memory
 * that was never free as blocks reallocated.
 */
static void prt_test_seed_during_pass(struct kunit *test)
{
	struct kernel_param kp = { .arg = &page_reporting_order };
	DECLARE_COMPLETION_ONSTACK(release);
	unsigned long skipped;
	struct page *page;
	char order[8];
	bool held;
	int j;

	prt_reregister(test, PR_TRACK_ORDER,
		       PAGE_REPORTING_ORDER_UNSPECIFIED);
	page = prt_alloc(test, PR_TRACK_ORDER);
	held = prt_free_held(page, PR_TRACK_ORDER, &release);
	skipped = reporting_stats.skipped_reallocated;
	snprintf(order, sizeof(order), "%u", PR_TRACK_ORDER - 1);
	if (held)
		KUNIT_EXPECT_EQ(test, page_order_update_notify(order, &kp), 0);
	WRITE_ONCE(prt->hold, NULL);
	complete(&release);

	/*
	 * Until the walk of the new marks is over: later passes may count
	 * what other users of memory do meanwhile.
	 */
	for (j = 0; j < 20; j++) {
		flush_delayed_work(&prt->prdev.work);
		if (reporting_engine.seen_seq ==
		    READ_ONCE(reporting_engine.seed_seq))
			break;
	}
	KUNIT_EXPECT_LT(test, j, 20);
	KUNIT_EXPECT_EQ(test, reporting_stats.skipped_reallocated, skipped);
	/* The worker is done with @release only once it has settled. */
	KUNIT_EXPECT_TRUE(test, prt_settle());
	KUNIT_EXPECT_TRUE_MSG(test, held, "the worker never called ->report()");
	prt_reregister(test, PR_TRACK_ORDER,
		       PAGE_REPORTING_ORDER_UNSPECIFIED);
}

/*
 * Lowering page_reporting_order while a device is registered: free blocks
 * of the new order that no free marked are found all the same.
 */
static void prt_test_order_lowered(struct kunit *test)
{
	unsigned long pfn;
	struct page *page;

	prt_reregister(test, PR_TRACK_ORDER,
		       PAGE_REPORTING_ORDER_UNSPECIFIED);
	page = prt_alloc_split(test, PR_TRACK_ORDER);
	pfn = page_to_pfn(page);

	prt_free(page + 1, 0);
	KUNIT_EXPECT_FALSE(test, prt_marked(pfn));
	prt_go(test);
	KUNIT_EXPECT_EQ(test, prt->nr, 0U);

	prt_lower_to_zero(test, page);
}

/*
 * The driver raises page_reporting_order from ->report() (hv_balloon when
 * the host refuses blocks below 2 MiB), then the order is lowered again: a
 * single free page whose mark the passes at the raised order cleared is
 * reported all the same.
 */
static void prt_test_order_raised_by_driver(struct kunit *test)
{
	unsigned long pfn;
	unsigned int marked;
	struct page *page;

	prt_reregister(test, 0, PAGE_REPORTING_ORDER_UNSPECIFIED);
	page = prt_alloc_split(test, PR_TRACK_ORDER);
	pfn = page_to_pfn(page);

	prt->raise_order = PR_TRACK_ORDER;
	prt_free(page + 1, 0);
	prt_go(test);
	/* A report went out and raised the order; the marks caught up. */
	KUNIT_ASSERT_EQ(test, prt->raise_order, 0U);
	KUNIT_EXPECT_EQ(test, page_reporting_order, (unsigned int)PR_TRACK_ORDER);
	marked = READ_ONCE(reporting_marked_order);
	KUNIT_EXPECT_EQ(test, marked, (unsigned int)PR_TRACK_ORDER);
	KUNIT_EXPECT_FALSE(test, prt_marked(pfn));
	prt_forget();

	prt_lower_to_zero(test, page);
}

/*
 * The order was written directly while page_reporting_mutex is held (by
 * page_reporting_unregister() or an order change, say): the worker does
 * not wait for the mutex and reports nothing at an order the marks do not
 * follow, but tries again and catches up once the mutex is free.
 */
static void prt_test_order_catch_up_retries(struct kunit *test)
{
	unsigned int order = PR_TRACK_ORDER + 1, marked, state;

	if (order > MAX_PAGE_ORDER)
		kunit_skip(test, "tracked order is MAX_PAGE_ORDER");
	mutex_lock(&page_reporting_mutex);
	WRITE_ONCE(page_reporting_order, order);
	atomic_set(&prt->prdev.state, PAGE_REPORTING_REQUESTED);
	queue_delayed_work(system_freezable_wq, &prt->prdev.work, 0);
	flush_delayed_work(&prt->prdev.work);
	KUNIT_EXPECT_EQ(test, prt->calls, 0U);
	state = atomic_read(&prt->prdev.state);
	KUNIT_EXPECT_EQ(test, state, (unsigned int)PAGE_REPORTING_REQUESTED);
	KUNIT_EXPECT_TRUE(test, delayed_work_pending(&prt->prdev.work));
	marked = READ_ONCE(reporting_marked_order);
	KUNIT_EXPECT_EQ(test, marked, (unsigned int)PR_TRACK_ORDER);
	mutex_unlock(&page_reporting_mutex);

	KUNIT_EXPECT_TRUE(test, prt_settle());
	marked = READ_ONCE(reporting_marked_order);
	KUNIT_EXPECT_EQ(test, marked, order);
}

static struct kunit_case page_reporting_test_cases[] = {
	KUNIT_CASE(prt_test_mark_after_merge),
	KUNIT_CASE(prt_test_not_below_order),
	KUNIT_CASE(prt_test_reported_once),
	KUNIT_CASE(prt_test_probation_survives_batch),
	KUNIT_CASE(prt_test_first_pick),
	KUNIT_CASE(prt_test_first_pick_after_split),
	KUNIT_CASE(prt_test_skip_reallocated),
	KUNIT_CASE(prt_test_probation_refreed),
	KUNIT_CASE(prt_test_counts_restored),
	KUNIT_CASE(prt_test_report_error),
	KUNIT_CASE(prt_test_report_withheld),
	KUNIT_CASE(prt_test_report_blocked),
#ifdef CONFIG_COMPACTION
	KUNIT_CASE(prt_test_capture_not_marked),
#endif
	KUNIT_CASE(prt_test_mark_beyond_summary),
	KUNIT_CASE(prt_test_unregister_stops_pass),
	KUNIT_CASE(prt_test_nodes_apart),
#ifdef CONFIG_MEMORY_HOTPLUG
	KUNIT_CASE(prt_test_hotplug_notifier),
#endif
	KUNIT_CASE(prt_test_tunables),
	KUNIT_CASE(prt_test_backoff_span),
	KUNIT_CASE(prt_test_register_order),
	KUNIT_CASE(prt_test_whole_block),
	KUNIT_CASE(prt_test_order_zero),
	KUNIT_CASE(prt_test_order_zero_busy_block),
	KUNIT_CASE(prt_test_batch_full_within),
	KUNIT_CASE(prt_test_small_zone),
	KUNIT_CASE(prt_test_low_zone_waits),
	KUNIT_CASE(prt_test_low_zone_own_batch),
	KUNIT_CASE(prt_test_order_between),
	KUNIT_CASE(prt_test_order_above),
	KUNIT_CASE(prt_test_unit_probation),
	KUNIT_CASE(prt_test_order_above_isolated),
	KUNIT_CASE(prt_test_isolate_split_not_marked),
	KUNIT_CASE(prt_test_isolated_while_out),
	KUNIT_CASE(prt_test_order_lowered),
	KUNIT_CASE(prt_test_seed_during_pass),
	KUNIT_CASE(prt_test_order_raised_by_driver),
	KUNIT_CASE(prt_test_order_catch_up_retries),
	{}
};

static struct kunit_suite page_reporting_test_suite = {
	.name = "page_reporting",
	.suite_init = prt_suite_init,
	.init = prt_init,
	.exit = prt_exit,
	.test_cases = page_reporting_test_cases,
};

kunit_test_suite(page_reporting_test_suite);
