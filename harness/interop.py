# SPDX-License-Identifier: GPL-2.0
"""virtio-balloon against Debian's QEMU, in every feature combination.

The interop matrix boots one guest per cell of {stats queue polled by the
host} x {free page hinting} x {page-poison} x {guest init_on_free}, once
with free-page-reporting=on and once off. A cell with reporting on must
either report (the QEMU process's RSS drops by most of what the guest
freed) or, where the host cannot keep poisoned pages, decline with one
line in the kernel log and report nothing. A cell with reporting off must
negotiate no reporting and give nothing back.

QEMU 7.2 facts the cells rely on (hw/virtio/virtio-balloon.c): the stats
queue always exists, so "stats off" means the host does not poll it;
free-page-hint=on needs an iothread; the reporting queue is the last
queue QEMU creates, so its index is 3 or 4 depending on free page
hinting, which is what the hint column exercises.
"""

import dataclasses
import itertools
import os
import socket
import time

from . import measure, qemu
from .common import HarnessError, say
from .markers import Marker
from .vm import VM, detect_accel, splats

FREE_MIB = 384
GUEST_MIB = 1024
DECLINE_MSG = "free page reporting off: free pages are poisoned or zeroed"

# Feature bits of include/uapi/linux/virtio_balloon.h.
F_STATS_VQ, F_FREE_PAGE_HINT, F_PAGE_POISON, F_REPORTING = 1, 3, 4, 5


def hint_args(on):
    """QEMU properties and arguments for free page hinting."""
    if not on:
        return {"free-page-hint": "off"}, []
    return ({"free-page-hint": "on", "iothread": "io0"},
            ["-object", "iothread,id=io0"])


def _onoff(b):
    return "on" if b else "off"


@dataclasses.dataclass(frozen=True)
class Cell:
    """One combination of the balloon's other features and the guest's
    init_on_free."""
    stats: bool
    hint: bool
    poison: bool
    iof: bool

    @property
    def name(self):
        return (f"stats={_onoff(self.stats)} hint={_onoff(self.hint)} "
                f"page-poison={_onoff(self.poison)} "
                f"init_on_free={_onoff(self.iof)}")

    def expect_reporting(self):
        # The guest keeps PAGE_POISON only with init_on_free (or page
        # poisoning); then the host must offer it or reporting stays off.
        return not self.iof or self.poison


def cells():
    for stats, hint, poison, iof in itertools.product((True, False),
                                                      repeat=4):
        yield Cell(stats, hint, poison, iof)


@dataclasses.dataclass(frozen=True)
class Features:
    """The balloon features the guest driver negotiated."""
    stats: bool
    hint: bool
    poison: bool
    reporting: bool

    @classmethod
    def from_bits(cls, bits):
        """From the balloon marker's feature bit string."""
        return cls(*(bits[b] == "1" for b in (F_STATS_VQ, F_FREE_PAGE_HINT,
                                              F_PAGE_POISON, F_REPORTING)))


@dataclasses.dataclass(frozen=True)
class CellResult:
    """What one guest of the matrix did."""
    features: Features
    pct: float          # of the freed memory back on the host
    t90: float          # seconds until 90% was back (None: never)
    declined: bool      # the guest logged that it declines reporting
    stats: bool = None  # the host got statistics (None: stats off)

    def describe(self, reporting):
        if self.features.reporting:
            when = ("90% not reached" if self.t90 is None else
                    f"90% at {self.t90:.1f}s")
            return f"reports: {self.pct:.0f}% back, {when}"
        if reporting and self.declined:
            return f"declines (logged once), {self.pct:.0f}% back"
        return f"off, {self.pct:.0f}% back"


def run_cell(bz, initrd, cell, reporting):
    """One guest: free FREE_MIB MiB and watch the host. Returns its
    CellResult; raises AssertionError when the cell misbehaves."""
    props, qargs = hint_args(cell.hint)
    props["page-poison"] = _onoff(cell.poison)
    expect = reporting and cell.expect_reporting()
    limit = 20 if expect else 6
    tag = "".join(str(int(b)) for b in (cell.stats, cell.hint, cell.poison,
                                         cell.iof))
    vm = VM(f"matrix-{tag}-{_onoff(reporting)}", bz, initrd, job="demo",
            mem_mib=GUEST_MIB, reporting=reporting, balloon_props=props,
            qemu_args=qargs, append="init_on_free=1" if cell.iof else "",
            params={"mib": FREE_MIB, "hold": 1, "after": limit + 30,
                    "settle": 1},
            timeout=limit + 240)
    stats = None
    with vm:
        r = measure.watch_return(vm, limit=limit, live=False,
                                 tail_s=0 if expect else limit,
                                 stats=cell.stats)
        if cell.stats:
            stats = vm.guest_stats().get("stat-free-memory", -1) > 0
        # The guest is idle from here on: no need to wait for its end.
        vm.quit()
    con = vm.console()
    bad = splats(con)
    assert not bad, "kernel problems:\n" + "\n".join(bad[:10])
    feats = vm.events("balloon")
    assert feats, "no virtio_balloon device bound"
    bits = feats[0].fields["features"]
    out = CellResult(Features.from_bits(bits), r.pct, r.t90,
                     DECLINE_MSG in con, stats)
    got, pct = out.features, out.pct
    assert got.hint == cell.hint, f"free page hint negotiated: {got}"
    if cell.stats:
        assert out.stats, "the host got no statistics from the guest"
    if expect:
        assert got.reporting, f"reporting not negotiated: {bits}"
        assert pct >= 80, (f"only {pct:.0f}% of {r.freed_mib:.0f} MiB "
                           f"came back within {limit}s")
        assert not out.declined, "guest said it declines, yet reported"
    else:
        assert not got.reporting, f"reporting negotiated: {bits}"
        assert pct < 10, f"{pct:.0f}% came back without reporting"
        if reporting:
            n = con.count(DECLINE_MSG)
            assert n == 1, f"the decline is logged {n} times, want once"
        else:
            assert not out.declined, "decline logged without reporting"
    return out


def _describe(o, reporting):
    return "FAILED" if o is None else o.describe(reporting)


def matrix(res, bz, initrd):
    """Run every cell, record each as a result, print the table."""
    rows = []
    for cell in cells():
        row = [cell]
        for reporting in (True, False):
            box = {}

            def one(cell=cell, reporting=reporting, box=box):
                box["o"] = run_cell(bz, initrd, cell, reporting)
                return box["o"].describe(reporting)
            res.run(f"interop: {cell.name} reporting={_onoff(reporting)}",
                    one)
            row.append(box.get("o"))
        rows.append(row)
    if not any(o for r in rows for o in r[1:]):
        return
    lines = ["| stats | hint | page-poison | init_on_free | reporting=on "
             "| reporting=off |", "|---|---|---|---|---|---|"]
    for cell, on, off in rows:
        lines.append(f"| {_onoff(cell.stats)} | {_onoff(cell.hint)} | "
                     f"{_onoff(cell.poison)} | {_onoff(cell.iof)} | "
                     f"{_describe(on, True)} | {_describe(off, False)} |")
    say("\n".join(["", f"interop matrix (QEMU free-page-reporting, guest "
                   f"{GUEST_MIB} MiB frees {FREE_MIB} MiB):"] + lines))
    return lines


# --- scenarios

# Debian 12's QEMU 7.2 loses guest stores during a live migration under
# TCG. The fast path of cpu_physical_memory_sync_dirty_bitmap(), taken for
# a RAM block whose offset and size are multiples of 64 pages, clears the
# dirty bits a word at a time without resetting the TCG TLB: a store
# through a TLB entry filled before the sync does not take the notdirty
# path again, so the page is not sent again (fixed in QEMU 9.0 by
# "physmem: Fix migration dirty bitmap coherency with TCG memory access";
# not in 7.2+dfsg-7+deb12u18). The destination then runs on stale memory
# and crashes or hangs within seconds, with the unpatched kernel and every
# balloon feature off as well. The slow path, which does reset the TLB, is
# taken when the size is not a multiple of 64 pages: the migration guests
# get 8 KiB (the step QEMU rounds -m to) more than GUEST_MIB. pc.ram is the
# only block the guest writes. Under KVM the kernel tracks dirty pages.
def migration_extra_kib():
    return 8 if detect_accel() == "tcg" else 0


# Bytes per second for the migration stream: slow enough that the bulk
# stage lasts seconds, so that hinting and reporting run during it. After
# MIGRATION_SLOW_S the limit goes, so that a fast guest (KVM) that dirties
# more than this per second still converges.
MIGRATION_BANDWIDTH = 32 << 20
MIGRATION_SLOW_S = 30
# After the stress stops, within REPORT_WAIT seconds, the guest RAM
# resident in the destination QEMU must drop by REPORT_MIN_MIB, and
# resident <= RAM - reportable + REPORT_SLACK_MIB, reportable being the
# free blocks of order 9 or more
# (/proc/buddyinfo). The left side minus the right is a lower bound of the
# reportable memory the host still holds (used memory the destination
# never got written is not resident either); with THP it is close. After
# the stress's churn the engine waits at most four times max_delay_ms
# (8 s) between passes, and a block needs two passes (probation); the
# rest of the bound is for a slow TCG host.
REPORT_WAIT = 300
MIGRATION_STRESS_MIB = 128
# The stop can come while the stress drains: it then holds half its
# budget or a little less, part of which the engine may have reported
# already. So the drop asked for is a quarter of the budget.
REPORT_MIN_MIB = MIGRATION_STRESS_MIB // 4
REPORT_SLACK_MIB = 16


def _ticks(vm, after=0):
    return vm.events("tick", after)


def _no_mismatch(vm):
    bad = [m.raw for m in _ticks(vm) if m.num("mismatches")]
    assert not bad, (f"guest '{vm.name}' read back wrong data: {bad[0]}; "
                     f"see {vm.dir}/console.log")


def _wait_ticks(vm, count, timeout):
    """Wait until @vm printed @count ticks, none with a mismatch; return
    the last one."""
    deadline = time.monotonic() + timeout
    while True:
        seen = vm.marker_count()
        _no_mismatch(vm)
        ticks = _ticks(vm)
        if len(ticks) >= count:
            return ticks[-1]
        assert time.monotonic() < deadline, (
            f"guest '{vm.name}': {len(ticks)} ticks of {count} "
            f"within {timeout}s")
        vm.wait_marker("tick", after=seen,
                       timeout=deadline - time.monotonic() + 1)


def _ram_rss_kib(vm):
    rss = vm.ram_rss_kib()
    assert rss is not None, f"no guest RAM mapping in QEMU of '{vm.name}'"
    return rss


def _free_port():
    """A TCP port on 127.0.0.1 that nothing listens on. The destination
    QEMU binds it a moment later; if another process took it in between,
    that QEMU exits at start and the run fails with its "Address already
    in use" from qemu.log."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclasses.dataclass(frozen=True)
class Migration:
    """What migration() saw."""
    took: float             # seconds from "migrate" to "completed"
    sent_mib: float         # what the stream carried
    pages: int              # pages sent (normal and duplicate)
    syncs: int              # dirty bitmap syncs
    low_mib: int            # the source's lowest MemFree during it
    src: Marker             # the source's last stress tick
    dst_first: Marker       # the destination's first and last ticks
    dst_last: Marker
    verified_mib: float     # what the stress read back, from boot on
    reporting: bool
    backoff: int            # the engine's back-off at the last tick
    # After the stress stopped on the destination: guest RAM resident in
    # its QEMU, at the stop and at the end of the wait; what of it the
    # guest could still report; how long the wait took; what the engine
    # reported meanwhile.
    rss_stop_mib: float = 0.0
    rss_end_mib: float = 0.0
    held_mib: float = 0.0
    report_after: float = 0.0
    reported_mib: float = 0.0

    def describe(self):
        stress = (f"stress at {self.src.fields['seconds']}s on the source, "
                  f"then {self.dst_first.fields['seconds']}..."
                  f"{self.dst_last.fields['seconds']}s on the destination, "
                  f"{self.verified_mib:.0f} MiB verified, 0 mismatches")
        if not self.reporting:
            after = "stress stopped, reporting off"
        else:
            after = (f"stress stopped (backoff {self.backoff}): guest RAM "
                     f"resident in the destination QEMU "
                     f"{self.rss_stop_mib:.0f} -> {self.rss_end_mib:.0f} MiB "
                     f"(resident minus what the guest cannot report: "
                     f"{self.held_mib:.0f} MiB) {self.report_after:.0f}s "
                     f"later, engine reported {self.reported_mib:.0f} MiB "
                     f"there")
        return (f"{self.took:.1f}s, {self.sent_mib:.0f} MiB sent, "
                f"{self.pages} pages sent in {self.syncs} syncs, source "
                f"MemFree down to {self.low_mib} MiB; {stress}; {after}")


def _migrate(src, uri):
    """Migrate @src to the QEMU listening on @uri, slowly at first (see
    MIGRATION_BANDWIDTH); return (seconds, query-migrate's "ram")."""
    src.qmp.cmd("migrate-set-parameters",
                **{"max-bandwidth": MIGRATION_BANDWIDTH})
    t0 = time.monotonic()
    src.qmp.cmd("migrate", uri=uri)
    unlimited = False
    while True:
        st = src.qmp.cmd("query-migrate")
        status = st.get("status")
        if status == "completed":
            return time.monotonic() - t0, st.get("ram", {})
        assert status not in ("failed", "cancelled"), \
            f"migration {status}: {st}"
        assert time.monotonic() - t0 < 300, \
            f"migration not done after 300s: {st}"
        if not unlimited and time.monotonic() - t0 > MIGRATION_SLOW_S:
            src.qmp.cmd("migrate-set-parameters",
                        **{"max-bandwidth": 1 << 40})
            unlimited = True
        time.sleep(0.2)


def _hinting_ran(hint, before, during):
    """Hinting holds every free block it hands to the host until the
    migration ends: the source's free memory (MiB, from its ticks before
    and @during the migration) shows whether it ran. Returns the low."""
    assert during, "no tick from the source during the migration"
    low, free0 = min(during), before.num("memfree_kb") >> 10
    if hint:
        assert low < free0 // 2, (
            f"free page hinting did not run: MemFree {free0} MiB "
            f"before, never below {low} MiB during the migration")
    else:
        assert low >= free0 // 2, (
            f"MemFree fell from {free0} to {low} MiB without hinting")
    return low


def _stop_stress(dst):
    """Stop the stress on @dst: it frees its memory (verifying it once
    more). Returns the stress's last tick before the stop, and the first
    "idle" marker after it."""
    n = dst.marker_count()
    stopped_at = _ticks(dst)[-1]
    dst.send("stop")
    ended = dst.wait_marker("stress-exit", after=n, timeout=120)
    _no_mismatch(dst)
    assert ended.num("rc") == 0, (
        f"the stress failed on the destination: {ended.raw}; see "
        f"{dst.dir}/console.log")
    assert _ticks(dst, n), "the stress printed no final line"
    return stopped_at, dst.wait_marker("idle", after=n, timeout=60)


def _returned_after_stop(dst, rss_stop, idle, r_stop, reporting, t_stop):
    """Follow @dst's "idle" markers (the first is @idle) until its QEMU
    has given back what the engine can report (with @reporting), and
    write one row per marker to after-stop.tsv. @rss_stop: guest RAM
    resident at the stop (KiB); @r_stop: reported_bytes then. Returns
    (resident KiB at the end, KiB still reportable, the last marker)."""
    ram_kib = dst.mem_mib * 1024 + dst.mem_extra_kib
    rss_end = rss_stop
    path = os.path.join(dst.dir, "after-stop.tsv")
    with open(path, "w") as log:
        log.write("seconds\tram_rss_kib\tvm_rss_kib\theld_kib\tguest\n")
        while True:
            held = rss_end - (ram_kib - idle.num("free_big_kb"))
            log.write(f"{time.monotonic() - t_stop:.1f}\t{rss_end}"
                      f"\t{dst.process_rss_kib()}\t{held}\t{idle.raw}\n")
            if not reporting:
                return rss_end, held, idle
            if (rss_stop - rss_end >= REPORT_MIN_MIB << 10 and
                    held <= REPORT_SLACK_MIB << 10):
                # The guest printed this marker before the host's resident
                # memory was read: the engine's count that goes with it is
                # in the next one.
                return rss_end, held, dst.wait_marker(
                    "idle", after=dst.marker_count(), timeout=60)
            assert time.monotonic() - t_stop < REPORT_WAIT, (
                f"no reporting on the destination within {REPORT_WAIT}s: "
                f"guest RAM resident in QEMU {rss_stop >> 10} -> "
                f"{rss_end >> 10} MiB, at least {held >> 10} MiB of it "
                f"reportable; engine reported "
                f"{(idle.num('reported_bytes') - r_stop) >> 20} MiB since "
                f"the stop; {idle.raw}; see {path}")
            idle = dst.wait_marker("idle", after=dst.marker_count(),
                                   timeout=60)
            rss_end = _ram_rss_kib(dst)


def migration(bz, initrd, hint=True, reporting=True, tag="", ram_fix=True):
    """Live-migrate a guest that runs the data-integrity stress to a second
    QEMU over TCP on 127.0.0.1, with free page hinting and reporting on or
    off. The guest must keep running on the destination, read back every
    word it wrote (before, during and after the migration) and, with
    reporting on, keep reporting there. Returns a Migration.
    @tag: suffix of the run directories (repeated runs keep their logs).
    @ram_fix: size the RAM so that QEMU 7.2 under TCG migrates it correctly
    (see migration_extra_kib()); False shows QEMU's bug."""
    props, qargs = hint_args(hint)
    common = dict(job="migrate", mem_mib=GUEST_MIB, balloon_props=props,
                  params={"mib": MIGRATION_STRESS_MIB}, timeout=1200,
                  reporting=reporting,
                  mem_extra_kib=migration_extra_kib() if ram_fix else 0)
    uri = f"tcp:127.0.0.1:{_free_port()}"
    src = VM(f"migrate{tag}-src", bz, initrd, qemu_args=qargs, **common)
    dst = VM(f"migrate{tag}-dst", bz, initrd,
             qemu_args=qargs + ["-incoming", uri], **common)
    with src:
        src.wait_marker("booted", timeout=300)
        bits = src.wait_marker("balloon", timeout=60).fields["features"]
        got = Features.from_bits(bits)
        assert got.hint == hint and got.reporting == reporting, \
            f"hinting/reporting negotiated: {bits}"
        before = _wait_ticks(src, 5, 120)
        n_before = len(_ticks(src))
        with dst:
            took, ram = _migrate(src, uri)
            # A word the migration lost on the source side shows up there
            # first (the stress then stops ticking).
            _no_mismatch(src)
            on_src = _ticks(src)[-1]
            low = _hinting_ran(hint, before, [
                m.num("memfree_kb") >> 10 for m in _ticks(src)[n_before:]])
            # The destination carries on where the source stopped; ten
            # ticks are ten rounds, each re-verifying every live word.
            first = dst.wait_marker("tick", timeout=120)
            last = _wait_ticks(dst, 10, 180)
            # Guest RAM only: TCG's translation cache grows by tens of MiB
            # as the destination runs code it had not run yet.
            rss_stop = _ram_rss_kib(dst)
            t_stop = time.monotonic()
            stopped_at, idle = _stop_stress(dst)
            r_stop = stopped_at.num("reported_bytes")
            # The host's view: the destination QEMU gives the memory back.
            rss_end, held, idle = _returned_after_stop(
                dst, rss_stop, idle, r_stop, reporting, t_stop)
            waited = time.monotonic() - t_stop
            reported = (idle.num("reported_bytes") - r_stop) / 2**20
            # The guest's view agrees (a kernel without the engine's
            # statistics shows backoff=0).
            if reporting and last.fields["backoff"] != "0":
                assert reported >= REPORT_MIN_MIB, (
                    f"the host got memory back but the engine counts "
                    f"{reported:.0f} MiB reported: {idle.raw}")
            bad = splats(src.console() + dst.console())
            assert not bad, "kernel problems:\n" + "\n".join(bad[:10])
            dst.quit()
        src.quit()
    return Migration(
        took=took, sent_mib=ram.get("transferred", 0) / 2**20,
        pages=ram.get("normal", 0) + ram.get("duplicate", 0),
        syncs=ram.get("dirty-sync-count", 0), low_mib=low,
        src=on_src, dst_first=first, dst_last=last,
        verified_mib=(last.num("verified_bytes")
                      - before.num("verified_bytes")) / 2**20,
        reporting=reporting, backoff=int(last.fields["backoff"]),
        rss_stop_mib=rss_stop / 1024, rss_end_mib=rss_end / 1024,
        held_mib=held / 1024, report_after=waited, reported_mib=reported)


def _when(m, mib):
    """0, 1 or 2: marker @m (before=, reported_bytes=) came before, during
    or after the reporting of the @mib MiB freed after 'before' (the job
    waited until reporting was quiet, so all of it is that free's)."""
    got = (m.num("reported_bytes") - m.num("before")) >> 20
    return 0 if got == 0 else 1 if got < mib - 32 else 2


# Free memory (_free_kb()) may end this much lower than it started. Over
# fourteen runs of rebind and unplug it drifted by at most 0.5 MiB: eight
# on this kernel, six on the debug kernel (whose slab grows by 9 MiB of
# KASAN quarantine). Without the per-CPU lists it drifted by up to 16 MiB.
# One lost 2 MiB block fails the check.
LEAK_SLACK_MIB = 1.5

# Size of a block the engine isolates: pageblock order 9 on x86-64.
BLOCK_KB = 2048


def _resumed(vm, after, kasan=False):
    """Check the job's "start" and "resumed" markers: nothing isolated at
    the end, at least 128 MiB of the last free reported (@after: what
    reporting resumed after), and free memory (_free_kb(), @kasan) within
    LEAK_SLACK_MIB of the start. Returns (MiB reported, MiB lost)."""
    res = vm.events("resumed")[0]
    assert res.num("isolated") == 0, f"isolated after the end: {res.raw}"
    grown = (res.num("after") - res.num("before")) / 2**20
    assert grown >= 128, f"reporting did not resume after {after}: {res.raw}"
    start = vm.events("start")[0]
    lost = (_free_kb(start, kasan) - _free_kb(res, kasan)) / 1024
    assert lost < LEAK_SLACK_MIB, (
        f"free memory {lost:.1f} MiB lower at the end than at the "
        f"start:\n{start.raw}\n{res.raw}")
    return grown, lost


def _free_kb(m, kasan):
    """Free memory in marker @m (isolated= and memory_fields in the guest's
    lib.sh), with what holds free memory for a while counted as free: the
    per-CPU free lists, blocks the engine has isolated for a report and,
    with @kasan, slab pages (KASAN's quarantine keeps freed objects there,
    up to 1/32 of memory; without KASAN a growing slab is memory in use)."""
    free = (m.num("memfree_kb") + m.num("pcp_kb")
            + m.num("isolated") * BLOCK_KB)
    return free + m.num("slab_kb") if kasan else free


REBIND_MIB = 256


def rebind(bz, initrd, tag="", kasan=False, machine="q35", rounds=6):
    """Unbind and rebind virtio_balloon @rounds times at different points
    of reporting a free; as in unplug(), one block per report.
    @tag: suffix of the run directory. @kasan: the kernel has KASAN (see
    _free_kb()). @machine: see qemu.MACHINES."""
    vm = VM(f"rebind{tag}", bz, initrd, job="rebind", mem_mib=GUEST_MIB,
            params={"mib": REBIND_MIB, "rounds": rounds}, timeout=600,
            machine=machine)
    with vm:
        rc = vm.wait_done()
        vm.wait_exit()
    con = vm.console()
    bad = splats(con)
    assert not bad, "kernel problems:\n" + "\n".join(bad[:10])
    assert rc == 0, f"guest job exited {rc}; see {vm.dir}/console.log"
    unbound = vm.events("unbound")
    assert len(unbound) == rounds, f"{len(unbound)} unbinds of {rounds}"
    held = [m.raw for m in unbound if m.num("isolated") != 0]
    assert not held, "blocks still isolated after unbind:\n" + "\n".join(held)
    when = [0, 0, 0]
    for m in unbound:
        when[_when(m, REBIND_MIB)] += 1
    grown, lost = _resumed(vm, "rebind", kasan)
    bits = vm.events("balloon")[-1]
    assert Features.from_bits(bits.fields["features"]).reporting, bits.raw
    return (f"{rounds} unbinds ({when[0]} before the reporting of the freed "
            f"{REBIND_MIB} MiB, {when[1]} during it, {when[2]} after it), "
            f"nothing left isolated, "
            f"{grown:.0f} MiB reported after the last rebind, free memory "
            f"{-lost:+.1f} MiB over the run")


UNPLUG_ROUNDS = 6
UNPLUG_MIB = 256


def unplug(bz, initrd, tag="", kasan=False, rounds=UNPLUG_ROUNDS):
    """Remove the virtio-balloon device from the host (QMP device_del; the
    guest's ACPI PCI hotplug driver unbinds it, then ejects it) while the
    engine reports, and plug a new one in; @rounds times. One block per
    report (the guest sets the engine's capacity knob to 1) makes
    reporting the 256 MiB take two passes of 64 reports: a removal can
    land before, between or after them.
    @tag: suffix of the run directory. @kasan: as for rebind()."""
    vm = VM(f"unplug{tag}", bz, initrd, job="unplug", mem_mib=GUEST_MIB,
            params={"mib": UNPLUG_MIB, "rounds": rounds}, timeout=900,
            balloon_port="rp1")
    # Removals that came before, during and after the pass.
    when = [0, 0, 0]
    n = 0
    with vm:
        for i in range(rounds):
            vm.wait_marker("freed", after=n, timeout=300)
            # 0, 80, 160, ... ms after the free: the engine waits 100 ms
            # for frees to go quiet, keeps blocks on probation for a pass,
            # then reports, and the guest needs a moment to act on
            # device_del, so removals land at different points.
            time.sleep(i * 0.08)
            vm.qmp.cmd("device_del", id="balloon0")
            try:
                vm.qmp.wait_event("DEVICE_DELETED", 120, device="balloon0",
                                  fail=("DEVICE_UNPLUG_GUEST_ERROR",))
            except HarnessError as e:
                # The guest carries out the removal: a stalled vCPU
                # shows here first.
                raise HarnessError(f"{e} {vm.save_hang_state()}") from e
            n = vm.marker_count()
            vm.send("removed")
            gone = vm.wait_marker("removed", after=n, timeout=60)
            assert gone.num("isolated") == 0, (
                f"blocks still isolated after the device went: {gone.raw}")
            when[_when(gone, UNPLUG_MIB)] += 1
            n = vm.marker_count()
            vm.qmp.cmd("device_add", **qemu.balloon_device(vm.spec))
            vm.send("added")
            bits = vm.wait_marker("balloon", after=n, timeout=120)
            assert Features.from_bits(bits.fields["features"]).reporting, \
                bits.raw
        rc = vm.wait_done()
        vm.wait_exit()
    bad = splats(vm.console())
    assert not bad, "kernel problems:\n" + "\n".join(bad[:10])
    assert rc == 0, f"guest job exited {rc}; see {vm.dir}/console.log"
    grown, lost = _resumed(vm, "re-plug", kasan)
    return (f"{rounds} removals ({when[0]} before the reporting of "
            f"the freed {UNPLUG_MIB} MiB, {when[1]} during it, "
            f"{when[2]} after it), nothing left isolated, "
            f"{grown:.0f} MiB reported after the last re-plug, free memory "
            f"{-lost:+.1f} MiB over the run")


def migration_runs(bz, initrd, runs=3, ram_fix=True, tag=""):
    """Repeat the migration with hinting and reporting each on and off;
    print every run (why it failed, if it did) and how many passed.
    Returns (hint, reporting, passed) per combination."""
    rows = []
    for hint, reporting in ((False, False), (False, True), (True, False),
                            (True, True)):
        passed = 0
        for i in range(runs):
            name = f"{tag}-h{int(hint)}r{int(reporting)}-{i}"
            try:
                r = migration(bz, initrd, hint=hint, reporting=reporting,
                              tag=name, ram_fix=ram_fix)
                passed += 1
                say(f"      ok   {r.describe()}")
            except (AssertionError, HarnessError, OSError) as e:
                first = (str(e).strip().splitlines() or [repr(e)])[0]
                say(f"      FAIL {first[:160]}")
        rows.append((hint, reporting, passed))
        say(f"    hint={_onoff(hint)} reporting={_onoff(reporting)}: "
            f"{passed}/{runs} passed")
    return rows
