# SPDX-License-Identifier: GPL-2.0
"""Benchmarks: the bitmap engine against the upstream reporter, side by side.

Both kernels come from the same base and configuration; every workload runs
its configurations interleaved (A B C A B C ...), and the table reports the
median and the spread (min..max) of the repetitions. Nothing here asserts a
number: timing under TCG is noisy.

Configurations:
  off       unpatched 6.12, balloon with free-page-reporting=off
  upstream  unpatched 6.12, free-page-reporting=on (the free-list reporter)
  ours      6.12 + this series, free-page-reporting=on

Workloads:
  return     1. time until 50% / 90% of a freed GiB is back on the host
  footprint  2. host RSS 30 s after boot and 30 s after the free (with 1)
  pf         3. page-fault throughput under alloc/free churn
  churn      4. during 3: bytes the host discarded / bytes the guest freed,
                and the share of discarded blocks touched again within 1 s
                (counted on the host, harness/churn.py)
  tracking   5. tracking metadata per GiB of present memory, with and
                without a large hole
  scaling    6. 1 and 3 at guest sizes 1, 2, 4 and 8 GiB
  order0     7. 1 (tmpfs) and 5 with page_reporting_order=0: every free
                page is reported, 4 KiB and up
  arm64      8. 1 on arm64 with 64 KiB pages (QEMU's virt machine, TCG):
                512 MiB freed in a 1536 MiB guest; both kernels are built
                from the same arm64 configuration (buildcheck.arm64)
  cost       9. the reporting worker's time on a CPU per GiB the host
                discarded, after a 1 GiB free, its runs and CPU time
                over 60 s of an idle guest after that, and over 20 s of
                the page-fault loop of 3 (guest trace events, the same
                for both engines: harness/guest/jobs/cost.sh)
  procs     10. a build's processes coming and going (pr-procs: 200
                processes, 2 at a time, each touching 4-255 MiB and
                exiting): its run time, and the host's discards during it
                as in 4
  irqsoff   12. the longest stretch with interrupts off that ended in the
                reporting worker, in the 20 s after a 1 GiB tmpfs free (the
                free itself not traced), and where it ended; from the
                preemptirq events, paired by histogram triggers, of
                kernels built with Kconfig.irqsoff on top
                (harness/guest/jobs/irqsoff.sh)
  big       11. 1 (anonymous), 9 and 5 in guests of 16 and 64 GiB, whose
                RAM the host maps without reserving it (reserve=off): a
                fixed 4 GiB is freed, so that the host's 24 GiB hold it
  pfparts   13. 3 taken apart, ours only: against off, the kernel with
                the series and a balloon without reporting (the hook's
                static key off), then with reporting on and the worker
                held off by its debugfs knobs (the free-path hook alone),
                then reporting on
"""

import csv
import dataclasses
import datetime
import os
import platform
import shutil
import statistics
import subprocess
import time

from . import benchplot, buildcheck, churn, initramfs, kernel, measure
from .common import BUILD, OUT, REPO, HarnessError, ensure_dir, say, step
from .vm import VM, detect_accel, run_dir

CONFIGS = {
    "off": ("baseline", False),
    "upstream": ("baseline", True),
    "ours": ("ours", True),
}
# The engines compared where "off" has no figure; AGAINST=NAME=BZIMAGE adds
# another build of the engine to both (see _against()).
ENGINES = ["upstream", "ours"]
WORKLOADS = ("return", "footprint", "pf", "churn", "tracking", "scaling",
             "order0", "arm64", "cost", "procs", "big", "irqsoff", "pfparts")
ORDER0 = "page_reporting.page_reporting_order=0"
# The figure of the last complete run, shown under the README's table.
FIGURE = os.path.join(REPO, "results", "bench.png")
FOOTPRINT_S = 30
# Workload 13 takes ours' page-fault throughput apart: besides "off" and
# "ours", these, as (variant, reporting, worker held off).
PF_PARTS = {
    "ours-nodev": ("ours", False, False),
    "ours-hook": ("ours", True, True),
}
PF_PARTS_ROUND = ["off", "ours-nodev", "ours-hook", "ours"]
# The page-fault loop in the worker-cost runs (workload 9): seconds, its
# threads (one per vCPU of the guest), and seconds traced after it.
COST_CHURN_S = 20
COST_CHURN_THREADS = 2
COST_CHURN_TAIL_S = 2


class Cell(str):
    """A table cell, "median (min..max)", that keeps the values of its
    rounds (None: a round without one) for benchplot."""
    values = ()


def _median_spread(values, fmt="{:.2f}"):
    vals = [v for v in values if v is not None]
    if not vals:
        cell = Cell("n/a")
    else:
        med = statistics.median(vals)
        cell = Cell(f"{fmt.format(med)} ({fmt.format(min(vals))}.."
                    f"{fmt.format(max(vals))})"
                    + ("" if len(vals) == len(values) else
                       f" [{len(values) - len(vals)} of {len(values)} "
                       f"missed]"))
    cell.values = list(values)
    return cell


def _secs(t):
    """A time to return for a progress line; None: not within the limit."""
    return "not reached" if t is None else f"{t:.2f} s"


def _rss_at(samples, t):
    """RSS (MiB) of the first sample at or after @t, else the last one."""
    for s in samples:
        if s.t >= t:
            return s.rss_mib
    return samples[-1].rss_mib if samples else None


def run_return(kernels, initrd, cfg, workload, mem_mib, limit,
               footprint=False, mib=None, machine="q35", append="", tag="",
               lazy_ram=False, quiet_first=False):
    """One guest frees @mib MiB (half its memory); with @footprint it idles
    FOOTPRINT_S seconds before allocating and is watched FOOTPRINT_S
    seconds after the free. @machine, @append, @lazy_ram: as for VM; @tag
    names the run's directory. @quiet_first: allocate only once the host
    has discarded nothing for 3 s (harness/churn.py), so that the report
    of the memory free at boot is over; in a large guest the upstream
    reporter takes minutes for it."""
    variant, reporting = CONFIGS[cfg]
    settle = FOOTPRINT_S if footprint else 2
    if footprint:
        limit = max(limit, FOOTPRINT_S + 1)
    name = f"bench-return{tag}-{cfg}"
    trace = os.path.join(run_dir(name), "discard-trace.log")
    vm = VM(name, kernels[variant], initrd,
            job="demo", mem_mib=mem_mib, reporting=reporting,
            timeout=limit + 600 + (600 if quiet_first else 0),
            machine=machine, append=append, lazy_ram=lazy_ram,
            params={"mib": mib or mem_mib // 2, "workload": workload,
                    "hold": 2, "settle": settle, "after": limit + 10,
                    "go": 1 if quiet_first else 0},
            qemu_args=churn.qemu_args(trace))
    with vm:
        watcher = churn.DiscardWatch(vm, trace).start()
        try:
            if quiet_first:
                vm.wait_marker("wait-go", timeout=600)
                watcher.wait_quiet(limit_s=600)
                vm.send("go")
            r = measure.watch_return(vm, limit=limit, live=False,
                                     min_after=FOOTPRINT_S + 0.5 if footprint
                                     else 0)
            start = vm.events("alloc-start")
            done = vm.events("free-done")
        finally:
            watcher.stop()
        vm.quit()
    if done and r.freed_mib:
        r = dataclasses.replace(r, free_s=done[0].t - r.free_t,
                                discard_t90=_discard_t90(
                                    watcher, r.free_t, done[0].t,
                                    r.freed_mib))
    if footprint:
        boot = [s for s in r.samples if s.t < start[0].t]
        r.rss_idle_mib = boot[-1].rss_mib if boot else None
        r.rss_after_mib = _rss_at(r.samples, r.free_t + FOOTPRINT_S)
    return r


def _discard_t90(watcher, free_t, done_t, freed_mib):
    """Seconds from @done_t, the end of a free that started at @free_t,
    until the host had discarded 90% of its @freed_mib MiB since the
    start (the discard trace, 50 ms apart): the reporter's own part of
    the time to return, without the guest's time to free. None when 90%
    was never discarded."""
    total = 0
    for t, length, _ in watcher.events:
        if t < free_t:
            continue
        total += length
        if total >= 0.9 * freed_mib * 2**20:
            return max(0.0, t - done_t)
    return None


@dataclasses.dataclass(frozen=True)
class PageFaults:
    """One run of page_fault_loop in a guest."""
    mib_per_s: float
    freed_bytes: int            # what the loop freed
    # What the host discarded during the loop, and after how many seconds
    # without a discard the loop started (None: not watched).
    discards: churn.Discards = None
    quiet_after_s: float = None
    reported_bytes: int = None  # the engine's count (None: upstream)
    passes: int = None          # the engine's passes (None: upstream)


@dataclasses.dataclass(frozen=True)
class Cost:
    """What the reporting worker cost a guest in one phase of cost.sh."""
    runs: int                   # runs started
    brief: int                  # runs that ended under 0.1 ms on a CPU
    cpu_ms: float               # on a CPU, the runs that ended
    longest_ms: float           # the longest of them
    discarded: int              # bytes the host discarded meanwhile
    loop_mib_s: float = None    # the page-fault loop's own throughput


def _symbol_address(bz, name):
    """The address of @name in the System.map next to the x86 image @bz
    (OBJ/arch/x86/boot/bzImage)."""
    path = os.path.join(os.path.dirname(bz), "..", "..", "..", "System.map")
    with open(path) as f:
        for line in f:
            addr, _, sym = line.split()
            if sym == name:
                return "0x" + addr
    raise HarnessError(f"{name} is not in {path}")


def run_cost(kernels, initrd, cfg, mem_mib, mib=1024, after=20, idle=60,
             churn_s=0, lazy_ram=False):
    """cost.sh in a guest: the phases "free" (@mib MiB of tmpfs freed,
    traced @after s), "idle" (@idle s) and, if @churn_s, "churn" (the
    page-fault loop for @churn_s s). Returns {phase: Cost}."""
    variant, reporting = CONFIGS[cfg]
    name = f"bench-cost-{cfg}"
    trace = os.path.join(run_dir(name), "discard-trace.log")
    fn = _symbol_address(kernels[variant], "page_reporting_process")
    vm = VM(name, kernels[variant], initrd, job="cost", mem_mib=mem_mib,
            reporting=reporting, timeout=after + idle + churn_s + 600,
            lazy_ram=lazy_ram,
            params={"fn": fn, "mib": mib, "after": after, "idle": idle,
                    "churn": churn_s, "threads": COST_CHURN_THREADS,
                    "tail": COST_CHURN_TAIL_S},
            qemu_args=churn.qemu_args(trace))
    rc, watcher, _ = _run_watched(vm, trace)
    if rc:
        raise HarnessError(f"cost job failed (exit {rc}); see {vm.dir}")
    out = {}
    for c in vm.events("cost"):
        phase = c.fields["phase"]
        if c.num("lost"):
            raise HarnessError(f"cost: the trace buffer lost "
                               f"{c.num('lost')} events in phase {phase}; "
                               f"see {vm.dir}")
        start = [e.t for e in vm.events("phase-start")
                 if e.fields["name"] == phase]
        end = [e.t for e in vm.events("phase-end")
               if e.fields["name"] == phase]
        out[phase] = Cost(c.num("runs"), c.num("brief"),
                          c.num("cpu_us") / 1000,
                          c.num("longest_us") / 1000,
                          watcher.between(start[0], end[0]).bytes)
    if set(out) != {"free", "idle"} | ({"churn"} if churn_s else set()):
        raise HarnessError(f"cost: phases {sorted(out)}; see {vm.dir}")
    if churn_s:
        loop = _result(vm, rc, "cost", "cost-pf", "page_fault_loop")
        out["churn"] = dataclasses.replace(
            out["churn"], loop_mib_s=float(loop.fields["mib_per_s"]))
    return out


@dataclasses.dataclass(frozen=True)
class Tracking:
    """What the engine's tracking takes in a guest."""
    bytes: int
    present_gib: float          # memory present
    span_gib: float             # physical address space up to the last pfn


def _run_watched(vm, trace, watch=True):
    """Run @vm's job to its end. With @watch, follow what the host
    discards (@trace, harness/churn.py) and let the job go on from its
    "wait-go" once the report of the memory free at boot is over (no
    discard for 3 s, at most 10 minutes; upstream takes ~30 s for it in a
    2 GiB guest), so that it measures itself, not that first report.
    Returns (exit code, the stopped DiscardWatch or None, seconds until
    the host was quiet or None)."""
    watcher = quiet = None
    with vm:
        if watch:
            watcher = churn.DiscardWatch(vm, trace).start()
        try:
            if watch:
                vm.wait_marker("wait-go", timeout=300)
                quiet = watcher.wait_quiet(limit_s=600)
                vm.send("go")
            rc = vm.wait_done()
            vm.wait_exit()
        finally:
            if watcher:
                watcher.stop()
    return rc, watcher, quiet


def _result(vm, rc, job, event, what):
    """The first @event marker of @vm's @job, which exited with @rc;
    @what names the result in the error when there is none."""
    if rc:
        raise HarnessError(f"{job} job failed (exit {rc}); see {vm.dir}")
    found = vm.events(event)
    if not found:
        raise HarnessError(f"no {what} result; see {vm.dir}")
    return found[0]


def _stat_delta(vm, key):
    """How much the engine's statistic @key grew between the job's
    "stats-before" and "stats-after" markers (None: the kernel has no
    engine statistics)."""
    latest = vm.latest()
    if "stats-before" in latest and "stats-after" in latest:
        return (latest["stats-after"].num(key)
                - latest["stats-before"].num(key))
    return None


def _reported_bytes(vm):
    """What the engine reported during the job (see _stat_delta())."""
    return _stat_delta(vm, "reported_bytes")


def _pf_config(cfg):
    """(variant, reporting, worker held off) of @cfg, a key of CONFIGS
    or of PF_PARTS."""
    if cfg in CONFIGS:
        return CONFIGS[cfg] + (False,)
    return PF_PARTS[cfg]


def run_pf(kernels, initrd, cfg, thp, seconds, mem_mib, watch=True):
    """page_fault_loop in a guest; with @watch, what the host discarded
    meanwhile (harness/churn.py). @cfg is a key of CONFIGS or of PF_PARTS.
    Returns PageFaults."""
    variant, reporting, hold = _pf_config(cfg)
    name = f"bench-pf-{cfg}"
    trace = os.path.join(run_dir(name), "discard-trace.log")
    vm = VM(name, kernels[variant], initrd, job="pf", mem_mib=mem_mib,
            reporting=reporting, timeout=seconds + 600,
            params={"thp": thp, "seconds": seconds, "threads": 2,
                    "mib": 128, "go": 1 if watch else 0,
                    "hold": 1 if hold else 0},
            qemu_args=churn.qemu_args(trace) if watch else None)
    rc, watcher, quiet = _run_watched(vm, trace, watch)
    pf = _result(vm, rc, "pf", "pf", "page_fault_loop")
    f = pf.fields
    discards = quiet_after = None
    if watcher:
        begin = vm.events("pf-start")
        discards = watcher.between(begin[0].t if begin else 0, pf.t)
        quiet_after = quiet
    return PageFaults(float(f["mib_per_s"]),
                      int(f["iterations"]) * int(f["mib"]) << 20,
                      discards, quiet_after, _reported_bytes(vm),
                      _stat_delta(vm, "passes"))


@dataclasses.dataclass(frozen=True)
class Procs:
    """One run of pr-procs in a guest."""
    seconds: float
    touched_bytes: int          # what the processes touched, and freed
    discards: churn.Discards
    quiet_after_s: float
    reported_bytes: int = None  # the engine's count (None: upstream)


def run_procs(kernels, initrd, cfg, mem_mib, tasks=200, max_mib=256):
    """pr-procs in a guest, and what the host discarded meanwhile
    (harness/churn.py). Returns Procs."""
    variant, reporting = CONFIGS[cfg]
    name = f"bench-procs-{cfg}"
    trace = os.path.join(run_dir(name), "discard-trace.log")
    vm = VM(name, kernels[variant], initrd, job="procs", mem_mib=mem_mib,
            reporting=reporting, timeout=900,
            params={"tasks": tasks, "jobs": 2, "max": max_mib, "go": 1},
            qemu_args=churn.qemu_args(trace))
    rc, watcher, quiet = _run_watched(vm, trace)
    res = _result(vm, rc, "procs", "procs", "pr-procs")
    f = res.fields
    begin = vm.events("procs-start")
    return Procs(float(f["seconds"]), int(f["mib"]) << 20,
                 watcher.between(begin[0].t if begin else 0, res.t),
                 quiet, _reported_bytes(vm))


@dataclasses.dataclass(frozen=True)
class IrqsOff:
    """The stretches with interrupts off in one irqsoff.sh run."""
    own_us: int                 # longest of the reporting worker's own
    irq_us: int                 # longest of interrupts taken in the worker
    any_us: int                 # longest in any task
    own_stretches: int          # the worker's own, of at least 10 us
    ended: str                  # the function where the worker's longest
                                # own stretch ended
                                # (harness/guest/jobs/irqsoff.sh)


def _ended(stack):
    """Where a stretch with interrupts off ended: the first function of
    @stack (comma-separated, innermost first, from the one that turned
    interrupts on) that is not the irq-enable or unlock helper itself."""
    frames = [f for f in stack.split(",") if f and f != "none"]
    for f in frames:
        if not f.startswith(("_raw_spin_unlock", "__raw_spin_unlock",
                             "raw_spin_unlock", "spin_unlock")):
            return f
    return frames[-1] if frames else "none"


def run_irqsoff(kernels, initrd, cfg, mem_mib, mib=1024, after=20):
    """irqsoff.sh in a guest booted from @kernels["VARIANT-irqsoff"].
    Returns IrqsOff."""
    variant, reporting = CONFIGS[cfg]
    bz = kernels[f"{variant}-irqsoff"]
    name = f"bench-irqsoff-{cfg}"
    trace = os.path.join(run_dir(name), "discard-trace.log")
    vm = VM(name, bz, initrd, job="irqsoff", mem_mib=mem_mib,
            reporting=reporting, timeout=after + 600,
            params={"fn": _symbol_address(bz, "page_reporting_process"),
                    "mib": mib, "after": after, "go": 1},
            qemu_args=churn.qemu_args(trace))
    rc, _, _ = _run_watched(vm, trace)
    res = _result(vm, rc, "irqsoff", "irqsoff", "irqsoff")
    if res.num("lost"):
        raise HarnessError(f"irqsoff: the trace buffer lost "
                           f"{res.num('lost')} events; see {vm.dir}")
    top = [m for m in vm.events("irqsoff-worker")
           if m.fields["kind"] == "own"]
    return IrqsOff(res.num("own_us"), res.num("irq_us"), res.num("any_us"),
                   res.num("own_stretches"),
                   _ended(top[0].fields["stack"]) if top else "none")


def run_tracking(kernels, initrd, mem_mib, append="", lazy_ram=False):
    """The engine's tracking_bytes in a guest of @mem_mib MiB booted with
    @append."""
    with VM("bench-tracking", kernels["ours"], initrd, job="tracking",
            mem_mib=mem_mib, append=append, timeout=600,
            lazy_ram=lazy_ram) as vm:
        m = vm.wait_marker("tracking", timeout=600)
        vm.wait_done()
    return Tracking(m.num("tracking_bytes"),
                    m.num("present_pages") * 4096 / 2**30,
                    m.num("end_pfn") * 4096 / 2**30)


class Bench:
    def __init__(self, kernels, initrd, quick, only):
        self.kernels, self.initrd = kernels, initrd
        self.quick = quick
        self.only = only
        # REPS=N: fewer rounds, to try the harness (not for the table).
        self.reps = int(os.environ.get("REPS") or (3 if quick else 5))
        self.rows = []
        self.raw = []
        self.notes = []
        # The measures of the figure (benchplot), in the table's order.
        self.plotted = []

    def want(self, workload):
        return not self.only or workload in self.only

    def row(self, measure, cfg, value, plot=False):
        """A cell of the table; @plot: the measure's rounds go into the
        figure too (@value from _median_spread())."""
        self.rows.append((measure, cfg, value))
        if plot and measure not in self.plotted:
            self.plotted.append(measure)

    # 1 and 2
    def returns(self, mem):
        workloads = ["tmpfs"] if self.quick else ["tmpfs", "anon"]
        results = {}
        for workload in workloads:
            # The footprint rides on the tmpfs runs, with "off" added.
            fp = (workload == "tmpfs" and self.want("footprint")
                  and not self.quick)
            if not self.want("return") and not fp:
                continue
            cfgs = (["off"] if fp else []) + ENGINES
            step(f"time to return{' and footprint' if fp else ''}: "
                 f"{mem // 2} MiB {workload} freed in a {mem} MiB guest, "
                 f"{self.reps} rounds of {'/'.join(cfgs)}")
            def run(cfg, rep, workload=workload, fp=fp):
                r = run_return(self.kernels, self.initrd, cfg, workload,
                               mem, 30, footprint=fp)
                if rep == 0 and cfg != "off":
                    measure.save(r, f"bench-return-{workload}-{cfg}",
                                 f"{cfg}: {mem // 2} MiB {workload} "
                                 f"freed ({r.accel.upper()})")
                return r

            def footprint(r):
                return [r.rss_idle_mib, r.rss_after_mib], (
                    f"; RSS idle {r.rss_idle_mib:.0f} MiB, {FOOTPRINT_S} s "
                    f"after the free {r.rss_after_mib:.0f} MiB")
            res = self.interleaved("return", cfgs, self.reps, run,
                                   key=[workload, mem],
                                   extra=footprint if fp else None)
            results[workload] = res
            for cfg in ENGINES:
                rs = res[cfg]
                self.row(f"seconds until 90% of a freed GiB is back "
                         f"({workload})", cfg,
                         _median_spread([r.t90 for r in rs]), plot=True)
                self.row(f"seconds until 50% is back ({workload})", cfg,
                         _median_spread([r.t50 for r in rs]))
                self.row(f"seconds from the end of the free until the "
                         f"host discarded 90% of it ({workload})", cfg,
                         _median_spread([r.discard_t90 for r in rs]))
                self.row(f"seconds the guest took to free it ({workload})",
                         cfg, _median_spread([r.free_s for r in rs]))
            if fp:
                for key, what in (("rss_idle_mib",
                                   f"host RSS MiB, idle {FOOTPRINT_S} s "
                                   f"after boot"),
                                  ("rss_after_mib",
                                   f"host RSS MiB, {FOOTPRINT_S} s after "
                                   f"freeing {mem // 2} MiB")):
                    for cfg in cfgs:
                        self.row(what, cfg, _median_spread(
                            [getattr(r, key) for r in res[cfg]], "{:.0f}"))
        return results

    # 3 and 4
    def page_faults(self, mem, seconds, thps, reps, label="", cfgs=None,
                    check=None):
        """Rounds of run_pf() over @cfgs (CONFIGS by default); @check, if
        given, sees each run (cfg, PageFaults) before it counts."""
        cfgs = list(cfgs or CONFIGS)
        results = {}
        for thp in thps:
            step(f"page-fault throughput{label} (2 threads x 128 MiB, THP "
                 f"{thp}, {seconds} s, {mem} MiB guest), {reps} rounds of "
                 f"{'/'.join(cfgs)}; discards counted on the host")
            res = {c: [] for c in cfgs}
            for rep in range(reps):
                for cfg in _rotated(cfgs, rep):
                    r = run_pf(self.kernels, self.initrd, cfg, thp, seconds,
                               mem)
                    if check:
                        check(cfg, r)
                    res[cfg].append(r)
                    d = r.discards
                    self.raw.append(["pf", thp, mem, cfg, rep,
                                     r.mib_per_s, r.freed_bytes, d.bytes,
                                     d.judged, d.touched, r.reported_bytes,
                                     r.quiet_after_s])
                    say(f"  round {rep + 1} {cfg:8s}: quiet after "
                        f"{r.quiet_after_s:.0f} s, {r.mib_per_s:.0f} MiB/s, "
                        f"host discarded {d.bytes >> 20} MiB in {d.ranges} "
                        f"ranges, {d.touched} of {d.judged} touched again "
                        f"within 1 s"
                        + (f"; engine reported {r.reported_bytes >> 20} MiB"
                           if r.reported_bytes is not None else ""))
            results[thp] = res
        return results

    def pf_rows(self, results, label=""):
        for thp, res in results.items():
            off = [r.mib_per_s for r in res["off"]]
            for cfg, rs in res.items():
                vals = [r.mib_per_s for r in rs]
                self.row(f"page-fault MiB/s, THP {thp}{label}", cfg,
                         _median_spread(vals, "{:.0f}"))
                if cfg != "off":
                    # Each round against the "off" run of the same round.
                    self.row(f"page-fault throughput / off, THP {thp}"
                             f"{label}", cfg, _median_spread(
                                 [v / o for v, o in zip(vals, off)]),
                             plot=not label)

    # 13
    def pf_parts(self, mem, seconds, thps, reps):
        """Ours' page-fault throughput against off, taken apart. The
        hook's row is a lower bound of what the hook costs with the worker
        running: held off, the worker clears no mark, so most frees find
        theirs set and take the short way through the hook."""
        what = {
            "ours-nodev": "ours kernel, balloon without reporting",
            "ours-hook": "ours, reporting on, worker held off "
                         "(the free-path hook alone)",
            "ours": "ours, reporting on",
        }

        def hook_alone(cfg, r):
            # A worker that ran after all would put its own cost under the
            # hook's name.
            if cfg == "ours-hook" and (r.passes != 0 or r.reported_bytes or
                                       r.discards.bytes):
                raise HarnessError(
                    f"pfparts: with the worker held off, the engine ran "
                    f"{r.passes} passes and reported {r.reported_bytes} "
                    f"bytes, and the host discarded {r.discards.bytes}, "
                    f"during the loop")
        results = self.page_faults(mem, seconds, thps, reps, " taken apart",
                                   PF_PARTS_ROUND, hook_alone)
        for thp, res in results.items():
            off = [r.mib_per_s for r in res["off"]]
            for cfg, label in what.items():
                # Each round against the "off" run of the same round.
                self.row(f"page-fault throughput / off, THP {thp}: {label}",
                         "ours", _median_spread(
                             [r.mib_per_s / o
                              for r, o in zip(res[cfg], off)]))

    def churn_rows(self, results):
        for thp, res in results.items():
            for cfg in ENGINES:
                rs = res[cfg]
                self.row(f"churn: MiB discarded by the host during the "
                         f"loop, THP {thp}", cfg, _median_spread(
                             [r.discards.bytes / 2**20 for r in rs],
                             "{:.0f}"))
                self.row(f"churn: discarded / freed by the loop, THP {thp}",
                         cfg, _median_spread(
                             [r.discards.bytes / r.freed_bytes
                              for r in rs], "{:.4f}"), plot=True)
                self.row(f"churn: share of discarded blocks touched again "
                         f"within 1 s, THP {thp}", cfg, _median_spread(
                             [r.discards.touched_share for r in rs]),
                         plot=True)

    # 5
    def tracking(self):
        step("tracking cost: the engine's tracking_bytes, 4096 MiB guests "
             "with and without a 1 GiB memmap= hole")
        cases = [("4 GiB guest (RAM 0-2 GiB and 4-6 GiB)", ""),
                 ("4 GiB guest with a 1 GiB memmap= hole", "memmap=1G$512M")]
        for what, append in cases:
            t = run_tracking(self.kernels, self.initrd, 4096, append)
            self.raw.append(["tracking", what, t.bytes, t.present_gib,
                             t.span_gib])
            say(f"  {what}: {t.bytes} bytes for {t.present_gib:.2f} "
                f"GiB present, {t.span_gib:.2f} GiB spanned")
            measure = (f"tracking bytes per GiB present ({what}; "
                       f"{t.present_gib:.2f} GiB present of "
                       f"{t.span_gib:.2f} spanned)")
            self.row(measure, "upstream", "0 (PG_reported, a page flag)")
            self.row(measure, "ours",
                     f"{t.bytes / t.present_gib:.1f} "
                     f"({t.bytes} bytes)")

    # 6
    def scaling(self, reps, seconds, ret2, pf2):
        """@ret2, @pf2: the 2048 MiB results of workloads 1 (anon) and 3
        (THP on), which use the same settings."""
        sizes = [1024, 2048, 4096, 8192]
        step(f"scaling: guests of {', '.join(str(s) for s in sizes)} MiB"
             + (" (2048 from above)" if ret2 and pf2 else "")
             + f", half freed (anonymous), and the page-fault loop; {reps} "
             f"rounds of each")
        ret = {2048: ret2} if ret2 else {}
        for mem in sizes:
            if mem in ret:
                continue
            ret[mem] = self.interleaved(
                "scaling-return", ("upstream", "ours"), reps,
                lambda cfg, rep, mem=mem: run_return(
                    self.kernels, self.initrd, cfg, "anon", mem, 60),
                key=["anon", mem], label=f"{mem} MiB ")
        for cfg in ("upstream", "ours"):
            for mem in sizes:
                self.row(f"scaling: seconds until 90% of {mem // 2} MiB is "
                         f"back, {mem} MiB guest", cfg, _median_spread(
                             [r.t90 for r in ret[mem][cfg]]))
        for mem in sizes:
            res = pf2 if mem == 2048 and pf2 else self.page_faults(
                mem, seconds, ["on"], reps, label=f", {mem} MiB guest")["on"]
            self.pf_rows({"on": res}, label=f", {mem} MiB guest")


    def interleaved(self, what, cfgs, reps, run, key=(), extra=None,
                    label=""):
        """@reps rounds of run(cfg, round) (a measure.Return) for each of
        @cfgs, interleaved; the results per configuration. Each run is a
        raw row [@what, *@key, cfg, round, t50, t90, freed, returned] and
        a line; extra(result), if given, returns more raw columns and a
        note for the line."""
        res = {c: [] for c in cfgs}
        for rep in range(reps):
            for cfg in _rotated(cfgs, rep):
                r = run(cfg, rep)
                res[cfg].append(r)
                cols, note = extra(r) if extra else ([], "")
                self.raw.append([what, *key, cfg, rep, r.t50, r.t90,
                                 r.freed_mib, r.returned_mib, *cols])
                after = ("" if r.discard_t90 is None else
                         f" (discarded {r.discard_t90:.2f} s after the "
                         f"free's end)")
                say(f"  {label}round {rep + 1} {cfg:8s}: 50% "
                    f"{_secs(r.t50)}, 90% {_secs(r.t90)}{after}{note}")
        return res

    # 7
    def order0(self, mem):
        step(f"order 0: {mem // 2} MiB tmpfs freed in a {mem} MiB guest "
             f"booted with {ORDER0}, {self.reps} rounds of upstream/ours; "
             f"then the engine's tracking_bytes at order 0")
        res = self.interleaved("order0-return", ("upstream", "ours"),
                               self.reps, lambda cfg, rep: run_return(
                                   self.kernels, self.initrd, cfg, "tmpfs",
                                   mem, 30, append=ORDER0, tag="-order0"))
        for cfg, rs in res.items():
            self.row("order 0: seconds until 90% of a freed GiB is back "
                     "(tmpfs)", cfg, _median_spread([r.t90 for r in rs]))
        t = run_tracking(self.kernels, self.initrd, 4096, ORDER0)
        self.raw.append(["tracking-order0", t.bytes, t.present_gib,
                         t.span_gib])
        say(f"  order 0: {t.bytes} bytes for {t.present_gib:.2f} GiB "
            f"present")
        measure = (f"order 0: tracking bytes per GiB present (4 GiB guest; "
                   f"{t.present_gib:.2f} GiB present)")
        self.row(measure, "upstream", "0 (PG_reported, a page flag)")
        self.row(measure, "ours", f"{t.bytes / t.present_gib:.1f} "
                 f"({t.bytes} bytes)")

    # 9
    def cost(self, mem, churn_s=COST_CHURN_S):
        # Each run idles a minute: fewer rounds than the others.
        reps = min(3, self.reps)
        step(f"worker cost: 1 GiB tmpfs freed in a {mem} MiB guest, traced "
             f"20 s, then 60 s idle, then {churn_s} s of the page-fault loop "
             f"(THP on); {reps} rounds of upstream/ours")
        res = {c: [] for c in ("upstream", "ours")}
        for rep in range(reps):
            for cfg in _rotated(res, rep):
                r = run_cost(self.kernels, self.initrd, cfg, mem,
                             churn_s=churn_s)
                res[cfg].append(r)
                f, i, c = r["free"], r["idle"], r["churn"]
                self.raw.append(["cost", mem, cfg, rep, f.runs, f.cpu_ms,
                                 f.longest_ms, f.discarded, i.runs,
                                 i.cpu_ms, i.longest_ms, i.discarded,
                                 f.brief, c.runs, c.brief, c.cpu_ms,
                                 c.longest_ms, c.discarded, c.loop_mib_s])
                say(f"  round {rep + 1} {cfg:8s}: free: {f.runs} wake-ups "
                    f"({f.brief} brief), "
                    f"{f.cpu_ms:.1f} ms on a CPU (longest run "
                    f"{f.longest_ms:.1f} ms), host discarded "
                    f"{f.discarded >> 20} MiB; idle 60 s: {i.runs} wake-ups, "
                    f"{i.cpu_ms:.1f} ms; page-fault loop {churn_s} s: "
                    f"{c.runs} wake-ups ({c.brief} brief), "
                    f"{c.cpu_ms:.1f} ms, host discarded "
                    f"{c.discarded >> 20} MiB, loop {c.loop_mib_s:.0f} MiB/s")
        for cfg, rs in res.items():
            self.row("worker ms on a CPU per GiB discarded (1 GiB freed)",
                     cfg, _median_spread(
                         [r["free"].cpu_ms / (r["free"].discarded / 2**30)
                          if r["free"].discarded else None for r in rs],
                         "{:.1f}"), plot=True)
            self.row("worker wake-ups for a 1 GiB free (20 s)", cfg,
                     _median_spread([r["free"].runs for r in rs], "{:.0f}"))
            self.row("of those, brief ones (under 0.1 ms on a CPU)", cfg,
                     _median_spread([r["free"].brief for r in rs], "{:.0f}"))
            self.row("worker's longest run on a CPU, ms (1 GiB freed)", cfg,
                     _median_spread([r["free"].longest_ms for r in rs],
                                    "{:.1f}"))
            self.row("idle guest, 60 s after that: worker wake-ups", cfg,
                     _median_spread([r["idle"].runs for r in rs], "{:.0f}"),
                     plot=True)
            self.row("idle guest, 60 s after that: worker ms on a CPU", cfg,
                     _median_spread([r["idle"].cpu_ms for r in rs],
                                    "{:.1f}"))
            what = (f"page-fault loop, THP on, {churn_s} s "
                    f"(and {COST_CHURN_TAIL_S} s after)")
            self.row(f"{what}: worker wake-ups", cfg, _median_spread(
                [r["churn"].runs for r in rs], "{:.0f}"))
            self.row(f"{what}: of those, brief ones", cfg, _median_spread(
                [r["churn"].brief for r in rs], "{:.0f}"))
            self.row(f"{what}: worker ms on a CPU", cfg, _median_spread(
                [r["churn"].cpu_ms for r in rs], "{:.1f}"))
            # The loop keeps every vCPU busy: what the worker took of them.
            n = COST_CHURN_THREADS
            self.row(f"{what}: worker's share of the loop's {n} vCPUs", cfg,
                     _median_spread([r["churn"].cpu_ms / (n * churn_s * 1000)
                                     for r in rs], "{:.5f}"))

    # 10
    def procs(self, mem):
        step(f"a build's processes: pr-procs, 200 processes of 4-255 MiB, "
             f"2 at a time, in a {mem} MiB guest; {self.reps} rounds of "
             f"off/upstream/ours; discards counted on the host")
        res = {c: [] for c in CONFIGS}
        for rep in range(self.reps):
            for cfg in _rotated(CONFIGS, rep):
                r = run_procs(self.kernels, self.initrd, cfg, mem)
                res[cfg].append(r)
                d = r.discards
                self.raw.append(["procs", mem, cfg, rep, r.seconds,
                                 r.touched_bytes, d.bytes, d.judged,
                                 d.touched, r.reported_bytes,
                                 r.quiet_after_s])
                say(f"  round {rep + 1} {cfg:8s}: {r.seconds:.1f} s for "
                    f"{r.touched_bytes >> 20} MiB, host discarded "
                    f"{d.bytes >> 20} MiB in {d.ranges} ranges, "
                    f"{d.touched} of {d.judged} touched again within 1 s"
                    + (f"; engine reported {r.reported_bytes >> 20} MiB"
                       if r.reported_bytes is not None else ""))
        off = [r.seconds for r in res["off"]]
        for cfg, rs in res.items():
            secs = [r.seconds for r in rs]
            self.row("build-like processes: seconds for 200 (2 at a time)",
                     cfg, _median_spread(secs, "{:.1f}"))
            if cfg == "off":
                continue
            # Each round against the "off" run of the same round.
            self.row("build-like processes: speed / off", cfg,
                     _median_spread([o / v for v, o in zip(secs, off)]),
                     plot=True)
            self.row("build-like processes: MiB discarded by the host", cfg,
                     _median_spread([r.discards.bytes / 2**20 for r in rs],
                                    "{:.0f}"))
            self.row("build-like processes: discarded / freed", cfg,
                     _median_spread([r.discards.bytes / r.touched_bytes
                                     for r in rs], "{:.4f}"))
            self.row("build-like processes: share of discarded blocks "
                     "touched again within 1 s", cfg, _median_spread(
                         [r.discards.touched_share for r in rs]), plot=True)

    # 12
    def irqsoff(self, mem):
        step("irqsoff: the kernels with the preemptirq events and histogram "
             "triggers (Kconfig.irqsoff)")
        kernels = dict(self.kernels)
        for variant in ("baseline-irqsoff", "ours-irqsoff"):
            kernels[variant] = kernel.build(variant)
        cfgs = ["off"] + ENGINES[:2]
        step(f"irqsoff: stretches with interrupts off in the 20 s after a "
             f"1 GiB tmpfs free, {mem} MiB guest, {self.reps} rounds of "
             f"{'/'.join(cfgs)}")
        res = {c: [] for c in cfgs}
        for rep in range(self.reps):
            for cfg in _rotated(cfgs, rep):
                r = run_irqsoff(kernels, self.initrd, cfg, mem)
                res[cfg].append(r)
                self.raw.append(["irqsoff", mem, cfg, rep, r.own_us,
                                 r.irq_us, r.any_us, r.own_stretches,
                                 r.ended])
                say(f"  round {rep + 1} {cfg:8s}: worker {r.own_us} us "
                    f"(ended in {r.ended}; {r.own_stretches} of 10 us or "
                    f"more), interrupts in it {r.irq_us} us, any task "
                    f"{r.any_us} us")
        for cfg, rs in res.items():
            if cfg != "off":
                self.row("irqsoff: longest stretch the reporting worker "
                         "kept interrupts off, us, in the 20 s after a "
                         "1 GiB free (interrupts it took not counted)", cfg,
                         _median_spread([r.own_us for r in rs], "{:.0f}"),
                         plot=True)
                ends = sorted({r.ended for r in rs})
                self.row("irqsoff: the function where the worker's longest "
                         "stretch ended",
                         cfg, "; ".join(
                             f"{e} ({sum(r.ended == e for r in rs)} of "
                             f"{len(rs)})" for e in ends))
                self.row("irqsoff: the worker's own stretches of 10 us or "
                         "more", cfg, _median_spread(
                             [r.own_stretches for r in rs], "{:.0f}"))
            self.row("irqsoff: longest stretch with interrupts off in any "
                     "task, us (under TCG: timer interrupts)", cfg,
                     _median_spread([r.any_us for r in rs], "{:.0f}"))

    # 11
    def big(self, reps):
        sizes, mib = [16384, 65536], 4096
        step(f"big guests: {mib} MiB anonymous freed in guests of "
             f"{', '.join(str(m) for m in sizes)} MiB (reserve=off), {reps} "
             f"rounds of upstream/ours; then the worker's cost of a "
             f"{mib} MiB tmpfs free and the engine's tracking_bytes")
        for mem in sizes:
            res = self.interleaved(
                "big-return", ("upstream", "ours"), reps,
                lambda cfg, rep, mem=mem: run_return(
                    self.kernels, self.initrd, cfg, "anon", mem, 120,
                    mib=mib, tag="-big", lazy_ram=True, quiet_first=True),
                key=["anon", mem], label=f"{mem} MiB ")
            for cfg, rs in res.items():
                self.row(f"big guests: seconds until 90% of {mib} MiB is "
                         f"back, {mem} MiB guest", cfg,
                         _median_spread([r.t90 for r in rs]), plot=True)
            for cfg in ("upstream", "ours"):
                # One round: the 64 GiB guest boots for minutes under TCG.
                c = run_cost(self.kernels, self.initrd, cfg, mem, mib=mib,
                             after=60, idle=10, lazy_ram=True)["free"]
                self.raw.append(["big-cost", mem, cfg, c.runs, c.cpu_ms,
                                 c.longest_ms, c.discarded, c.brief])
                say(f"  {mem} MiB {cfg:8s}: worker {c.runs} wake-ups "
                    f"({c.brief} brief), "
                    f"{c.cpu_ms:.1f} ms on a CPU (longest run "
                    f"{c.longest_ms:.1f} ms), host discarded "
                    f"{c.discarded >> 20} MiB")
                self.row(f"big guests: worker ms on a CPU per GiB "
                         f"discarded ({mib} MiB freed), {mem} MiB guest",
                         cfg, f"{c.cpu_ms / (c.discarded / 2**30):.1f}"
                         if c.discarded else "n/a")
                self.row(f"big guests: worker's longest run on a CPU, ms, "
                         f"{mem} MiB guest", cfg, f"{c.longest_ms:.1f}")
            t = run_tracking(self.kernels, self.initrd, mem, lazy_ram=True)
            self.raw.append(["big-tracking", mem, t.bytes, t.present_gib,
                             t.span_gib])
            say(f"  {mem} MiB: tracking {t.bytes} bytes for "
                f"{t.present_gib:.2f} GiB present")
            measure = (f"big guests: tracking bytes per GiB present, {mem} "
                       f"MiB guest")
            self.row(measure, "upstream", "0 (PG_reported, a page flag)")
            self.row(measure, "ours", f"{t.bytes / t.present_gib:.1f} "
                     f"({t.bytes} bytes)")

    # 8
    def arm64(self):
        step("arm64, 64 KiB pages: the kernels (ours and the upstream "
             "reporter, one configuration) and the arm64 initramfs")
        kernels = {}
        for variant in ("baseline", "ours"):
            buildcheck.arm64(64, variant)
            kernels[variant] = buildcheck.arm64_image(64, variant)
        initrd = initramfs.build(
            kernel.TREE, os.path.join(BUILD, "arm64", "initramfs.cpio"),
            arch="arm64")
        mem, mib = 1536, 512
        step(f"arm64, 64 KiB pages (virt, TCG): {mib} MiB tmpfs freed in a "
             f"{mem} MiB guest, {self.reps} rounds of upstream/ours")
        res = self.interleaved("arm64-64k-return", ("upstream", "ours"),
                               self.reps, lambda cfg, rep: run_return(
                                   kernels, initrd, cfg, "tmpfs", mem, 60,
                                   mib=mib, machine="virt", tag="-arm64"))
        for cfg, rs in res.items():
            self.row(f"arm64, 64 KiB pages: seconds until 90% of a freed "
                     f"{mib} MiB is back ({mem} MiB guest, tmpfs)", cfg,
                     _median_spread([r.t90 for r in rs]))


def _against(kernels):
    """AGAINST=NAME=BZIMAGE: one more configuration, NAME, booting the x86
    image BZIMAGE (another build of the engine, say of an older commit)
    with reporting on; workloads 1-4 and 10 run it interleaved with the
    others. Returns NAME or None."""
    spec = os.environ.get("AGAINST")
    if not spec:
        return None
    name, sep, path = spec.partition("=")
    if not sep or not name or name in CONFIGS or not os.path.isfile(path):
        raise HarnessError(f"AGAINST={spec}: give NAME=BZIMAGE, a new name "
                           f"and an existing x86 kernel image")
    CONFIGS[name] = (name, True)
    ENGINES.append(name)
    kernels[name] = os.path.abspath(path)
    return name


def main(kernels, initrd, base_version, quick=False, only=None):
    against = _against(kernels)
    b = Bench(kernels, initrd, quick, only)
    unknown = [w for w in (only or []) if w not in WORKLOADS]
    if unknown:
        raise HarnessError(f"unknown workload(s) {', '.join(unknown)}; "
                           f"choose from {', '.join(WORKLOADS)}")
    seconds = 10
    mem = 2048
    ensure_dir(OUT)
    t_start = time.monotonic()

    # Scaling reuses the 2048 MiB runs of 1 (anon) and 3 (THP on) when
    # they run too; ONLY=scaling measures 2048 MiB itself.
    scaling = b.want("scaling") and not quick
    failed = []
    qemu = subprocess.run(["qemu-system-x86_64", "--version"],
                          capture_output=True, text=True).stdout.split("\n")[0]
    accel = detect_accel().upper()
    cmd = "make bench" + (" QUICK=1" if quick else "") + \
        (f" ONLY={','.join(only)}" if only else "") + \
        (f" REPS={b.reps}" if os.environ.get("REPS") else "") + \
        (f" AGAINST={against}=..." if against else "")

    def write(done):
        """out/bench.md and the raw samples, also after each workload:
        an interrupted run keeps what it measured."""
        took = time.monotonic() - t_start
        head = (f"Generated by `{cmd}` on {datetime.date.today()} in "
                f"{took / 60:.0f} min{'' if done else ' (INCOMPLETE)'}: "
                f"Linux {base_version}, {qemu}, {accel}, "
                f"{os.cpu_count()} host CPUs ({platform.machine()}), guests "
                f"of 2 vCPUs and {mem} MiB unless the row says otherwise; "
                f"{b.reps} rounds interleaved (scaling and worker cost: "
                f"{min(3, b.reps)}); "
                f"median (min..max).")
        table = head + "\n\n" + pivot(b.rows)
        with open(os.path.join(OUT, "bench.md"), "w") as f:
            f.write(table)
        with open(os.path.join(OUT, "bench-raw.csv"), "w", newline="") as f:
            csv.writer(f).writerows(b.raw)
        rounds = benchplot.rounds(b.rows, b.plotted)
        benchplot.write_csv(os.path.join(OUT, "bench-rounds.csv"), rounds)
        # A figure that cannot be drawn must not end a run of hours.
        try:
            benchplot.figure(rounds, os.path.join(OUT, "bench.png"),
                             f"{cmd}, {datetime.date.today()}: every round "
                             f"a dot, the median a bar"
                             f"{'' if done else ' (INCOMPLETE)'}")
        except Exception as e:  # matplotlib's errors have no common base
            say(f"  the figure was not drawn: {e}")
            # Nor may an earlier run's figure go under this run's table.
            if os.path.exists(os.path.join(OUT, "bench.png")):
                os.remove(os.path.join(OUT, "bench.png"))
        return table

    def attempt(name, fn):
        """A workload that fails leaves a line in the table and the
        others still run; the command fails at the end."""
        try:
            return fn()
        except HarnessError as e:
            say(f"FAIL {name}: {e}")
            failed.append(name)
            b.row(f"{name}: FAILED ({str(e).splitlines()[0][:120]})",
                  "ours", "")
            return None
        finally:
            write(False)

    ret = attempt("time to return / footprint", lambda: b.returns(mem))
    pf = None
    if b.want("pf") or b.want("churn"):
        thps = ["on"] if quick else ["on", "off"]
        pf = attempt("page faults / churn",
                     lambda: b.page_faults(mem, seconds, thps, b.reps))
        if pf and b.want("pf"):
            b.pf_rows(pf)
        if pf and b.want("churn"):
            b.churn_rows(pf)
    if b.want("tracking"):
        attempt("tracking", b.tracking)
    if b.want("order0"):
        attempt("order 0", lambda: b.order0(mem))
    # Not in QUICK=1 unless asked for: nine runs of a minute or more.
    if b.want("procs") and (not quick or only):
        attempt("build-like processes", lambda: b.procs(mem))
    if b.want("arm64"):
        attempt("arm64 64 KiB pages", b.arm64)
    # Not in QUICK=1 unless asked for: a round takes about 5 minutes.
    if b.want("cost") and (not quick or only):
        attempt("worker cost", lambda: b.cost(mem))
    # Not in QUICK=1 unless asked for: two kernels of their own.
    if b.want("irqsoff") and (not quick or only):
        attempt("irqsoff", lambda: b.irqsoff(mem))
    # Not in QUICK=1 unless asked for: 64 GiB guests boot slowly.
    if b.want("big") and (not quick or only):
        attempt("big guests", lambda: b.big(min(3, b.reps)))
    # Not in QUICK=1 unless asked for: four configurations, two THP modes.
    if b.want("pfparts") and (not quick or only):
        attempt("page faults taken apart",
                lambda: b.pf_parts(mem, seconds, ["on", "off"], b.reps))
    if scaling:
        attempt("scaling", lambda: b.scaling(
            min(3, b.reps), seconds, (ret or {}).get("anon"),
            (pf or {}).get("on")))
    table = write(True)
    # Only a complete run of the usual configurations replaces the
    # README's table.
    if not only and not failed and not against:
        _update_readme(table, os.path.join(OUT, "bench.png"))
    say("\n" + table)
    say(f"table: {OUT}/bench.md, raw samples: {OUT}/bench-raw.csv, "
        f"rounds: {OUT}/bench-rounds.csv, figure: {OUT}/bench.png")
    if failed:
        raise HarnessError(f"benchmark workloads failed: {', '.join(failed)}"
                           f" (the README's table was left as it was)")
    return table


def _rotated(cfgs, rep):
    """The configurations of round @rep, rotated by the round: none of
    them runs first (or last) in every round, so that what one run leaves
    on the host (its page cache, free or fragmented memory) does not
    favour one configuration throughout."""
    cfgs = list(cfgs)
    k = rep % len(cfgs)
    return cfgs[k:] + cfgs[:k]


def pivot(rows):
    """A Markdown table of (measure, config, value) rows: one line per
    measure, one column per configuration, in the order first seen."""
    order, cells = [], {}
    for m, c, v in rows:
        if m not in cells:
            order.append(m)
            cells[m] = {}
        cells[m][c] = v
    lines = ["| measure | " + " | ".join(CONFIGS) + " |",
             "| --- |" + " --- |" * len(CONFIGS)]
    for m in order:
        lines.append(f"| {m} | "
                     + " | ".join(cells[m].get(c, "") for c in CONFIGS)
                     + " |")
    return "\n".join(lines) + "\n"


def _update_readme(table, figure=None):
    """Put @table between the bench markers of README.md, and @figure (a
    PNG of the same run), if given, under it as FIGURE."""
    path = os.path.join(REPO, "README.md")
    start, end = "<!-- bench:start -->", "<!-- bench:end -->"
    with open(path) as f:
        text = f.read()
    if start not in text or end not in text:
        return
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    if figure and os.path.exists(figure):
        ensure_dir(os.path.dirname(FIGURE))
        shutil.copyfile(figure, FIGURE)
        table += (f"\n![Every round of the measures above that the figure "
                  f"shows]({os.path.relpath(FIGURE, REPO)})\n")
    with open(path, "w") as f:
        f.write(head + start + "\n" + table + end + tail)
