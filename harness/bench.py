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
"""

import csv
import datetime
import os
import platform
import statistics
import subprocess

from . import demo
from .common import OUT, REPO, HarnessError, ensure_dir, say, step
from .vm import VM

CONFIGS = {
    "off": ("baseline", False),
    "upstream": ("baseline", True),
    "ours": ("ours", True),
}


def _median_spread(values):
    vals = [v for v in values if v is not None]
    if not vals:
        return "n/a"
    med = statistics.median(vals)
    return f"{med:.2f} ({min(vals):.2f}..{max(vals):.2f})" \
        + ("" if len(vals) == len(values) else
           f" [{len(values) - len(vals)} of {len(values)} missed]")


def run_return(kernels, initrd, cfg, workload, mem_mib, limit):
    variant, reporting = CONFIGS[cfg]
    vm = VM(f"bench-return-{cfg}", kernels[variant], initrd, job="demo",
            mem_mib=mem_mib, reporting=reporting, timeout=limit + 300,
            params={"mib": mem_mib // 2, "workload": workload, "hold": 2,
                    "after": limit + 10})
    with vm:
        r = demo.watch_return(vm, limit=limit, live=False)
        vm.quit()
    return r


def run_pf(kernels, initrd, cfg, thp, seconds, mem_mib):
    variant, reporting = CONFIGS[cfg]
    with VM(f"bench-pf-{cfg}", kernels[variant], initrd, job="pf",
            mem_mib=mem_mib, reporting=reporting, timeout=seconds + 300,
            params={"thp": thp, "seconds": seconds, "threads": 2,
                    "mib": 128}) as vm:
        rc = vm.wait_done()
        vm.wait_exit()
    if rc:
        raise HarnessError(f"pf job failed (exit {rc}); see {vm.dir}")
    pf = [m for m in vm.markers if m.event == "pf"]
    if not pf:
        raise HarnessError(f"no page_fault_loop result; see {vm.dir}")
    out = {"mib_per_s": float(pf[0].fields["mib_per_s"])}
    st = {m.event: m.fields for m in vm.markers
          if m.event.startswith("stats-")}
    if "stats-before" in st and "stats-after" in st:
        for key in ("reported_bytes", "reported_blocks",
                    "skipped_reallocated", "reported_reallocated"):
            out[key] = (int(st["stats-after"][key])
                        - int(st["stats-before"][key]))
    return out


def _update_readme(table):
    """Put @table between the bench markers of README.md."""
    path = os.path.join(REPO, "README.md")
    start, end = "<!-- bench:start -->", "<!-- bench:end -->"
    with open(path) as f:
        text = f.read()
    if start not in text or end not in text:
        return
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    with open(path, "w") as f:
        f.write(head + start + "\n" + table + end + tail)


def main(kernels, initrd, base_version, quick=False):
    reps = 3 if quick else 5
    seconds = 10 if quick else 20
    mem = 2048
    limit = 30
    ensure_dir(OUT)
    rows = []
    raw = []

    workloads = ["tmpfs"] if quick else ["tmpfs", "anon"]
    for workload in workloads:
        step(f"time to return: {mem // 2} MiB {workload} freed in a "
             f"{mem} MiB guest, {reps} rounds of upstream/ours")
        res = {c: [] for c in ("upstream", "ours")}
        for rep in range(reps):
            for cfg in res:
                r = run_return(kernels, initrd, cfg, workload, mem, limit)
                res[cfg].append(r)
                raw.append(["return", workload, cfg, rep, r["t50"], r["t90"],
                            r["freed_mib"], r.get("returned_mib")])
                say(f"  round {rep + 1} {cfg:8s}: 50% {r['t50']} s, "
                    f"90% {r['t90']} s")
                if rep == 0:
                    demo.save(r, f"bench-return-{workload}-{cfg}",
                              f"{cfg}: {mem // 2} MiB {workload} freed "
                              f"({r['accel'].upper()})")
        for cfg, rs in res.items():
            rows.append((f"seconds until 90% of a freed GiB is back "
                         f"({workload})", cfg,
                         _median_spread([r["t90"] for r in rs])))
            rows.append((f"seconds until 50% is back ({workload})", cfg,
                         _median_spread([r["t50"] for r in rs])))

    for thp in (["on"] if quick else ["on", "off"]):
        step(f"page-fault throughput (2 threads x 128 MiB, THP {thp}, "
             f"{seconds} s), {reps} rounds of off/upstream/ours")
        res = {c: [] for c in CONFIGS}
        for rep in range(reps):
            for cfg in CONFIGS:
                r = run_pf(kernels, initrd, cfg, thp, seconds, mem)
                res[cfg].append(r)
                raw.append(["pf", thp, cfg, rep, r["mib_per_s"],
                            r.get("reported_bytes"),
                            r.get("skipped_reallocated"),
                            r.get("reported_reallocated")])
                say(f"  round {rep + 1} {cfg:8s}: {r['mib_per_s']:.0f} MiB/s"
                    + (f", reported {r['reported_bytes'] >> 20} MiB"
                       if "reported_bytes" in r else ""))
        off = [r["mib_per_s"] for r in res["off"]]
        for cfg, rs in res.items():
            vals = [r["mib_per_s"] for r in rs]
            rows.append((f"page-fault MiB/s, THP {thp}", cfg,
                         _median_spread(vals)))
            if cfg != "off":
                # Ratio of each round to the "off" run of the same round.
                ratios = [v / o for v, o in zip(vals, off)]
                rows.append((f"page-fault throughput / off, THP {thp}", cfg,
                             _median_spread(ratios)))
            if cfg == "ours":
                rows.append((f"MiB reported during the loop, THP {thp}", cfg,
                             _median_spread([r["reported_bytes"] / 2**20
                                             for r in rs])))

    qemu = subprocess.run(["qemu-system-x86_64", "--version"],
                          capture_output=True, text=True).stdout.split("\n")[0]
    accel = VM("probe", "", "").accel.upper()
    head = (f"Generated by `make bench{' QUICK=1' if quick else ''}` on "
            f"{datetime.date.today()}: Linux {base_version}, {qemu}, "
            f"{accel}, {os.cpu_count()} host CPUs ({platform.machine()}), "
            f"guest {mem} MiB / 2 vCPUs, {reps} rounds interleaved; "
            f"median (min..max).")
    lines = [head, "", "| measure | config | value |", "| --- | --- | --- |"]
    lines += [f"| {m} | {c} | {v} |" for m, c, v in rows]
    table = "\n".join(lines) + "\n"
    with open(os.path.join(OUT, "bench.md"), "w") as f:
        f.write(table)
    _update_readme(table)
    with open(os.path.join(OUT, "bench-raw.csv"), "w", newline="") as f:
        csv.writer(f).writerows(raw)
    say("\n" + table)
    say(f"table: {OUT}/bench.md, raw samples: {OUT}/bench-raw.csv")
    return table
