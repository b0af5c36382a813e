# SPDX-License-Identifier: GPL-2.0
"""The demo: a guest frees half its memory; watch the host get it back.

Also the measurement that the end-to-end checks and benchmarks reuse:
watch_return() boots a guest running the "demo" job and samples the QEMU
process's resident memory while the guest allocates, frees and idles.
"""

import csv
import os
import time

from .common import OUT, HarnessError, ensure_dir, is_tty, say, step
from .vm import VM

SAMPLE_PERIOD = 0.25


class Sample:
    __slots__ = ("t", "rss_mib", "guest_free_mib", "phase")

    def __init__(self, t, rss_mib, guest_free_mib, phase):
        self.t, self.rss_mib = t, rss_mib
        self.guest_free_mib, self.phase = guest_free_mib, phase


def _guest_free_mib(vm):
    try:
        v = vm.guest_stats().get("stat-free-memory", -1)
    except HarnessError:
        return None
    return v / 2**20 if v is not None and v >= 0 else None


def watch_return(vm, limit=60, live=True, tail_s=3.0, stats=True,
                 min_after=0.0):
    """Drive a VM that runs the demo job; return a result dict.

    The "returned" memory is the drop of the QEMU process's RSS below its
    peak between "allocated" and "freed"; its target is what the guest
    freed (MemFree after the free minus MemFree while allocated). Times
    count from "freeing", the start of the free, so the time the guest
    takes to free is included. The run ends @tail_s seconds after 90% came
    back, or @limit seconds after the free. @stats: let the host poll the
    balloon's statistics queue (the guest's free memory in the samples).
    @min_after: sample at least that many seconds after the free.
    """
    booted = vm.wait_marker("booted", timeout=vm.timeout)
    if stats:
        vm.enable_guest_stats(1)
    samples = []
    res = {"accel": vm.accel, "booted_s": booted.t}
    allocated = freeing = freed = None
    peak = None
    t50 = t90 = None
    last_print = -1.0
    phase = "boot"
    while True:
        vm._check_alive()
        t = vm.now()
        rss = vm.rss_kib()
        if rss is None:
            break
        rss_mib = rss / 1024
        gfree = _guest_free_mib(vm)
        events = vm.latest()
        if "alloc-start" in events and phase == "boot":
            phase = "allocating"
        if allocated is None and "allocated" in events:
            allocated = events["allocated"]
            phase = "holding"
        if allocated is not None and freed is None:
            peak = rss_mib if peak is None else max(peak, rss_mib)
        if freeing is None and "freeing" in events:
            freeing = events["freeing"]
        if freed is None and "freed" in events:
            freed = events["freed"]
            phase = "freed"
            res["freed_mib"] = (freed.num("memfree_kb")
                                - allocated.num("memfree_kb")) / 1024
            res["rss_peak_mib"] = peak
            if res["freed_mib"] < 64:
                raise HarnessError(f"the guest freed only "
                                   f"{res['freed_mib']:.0f} MiB")
        returned = pct = None
        if freed is not None:
            returned = max(0.0, peak - rss_mib)
            pct = 100.0 * returned / res["freed_mib"]
            since = t - freeing.t
            if t50 is None and pct >= 50:
                t50 = since
            if t90 is None and pct >= 90:
                t90 = since
            res["returned_mib"] = returned
        samples.append(Sample(t, rss_mib, gfree, phase))
        if live and t - last_print >= 1.0:
            last_print = t
            line = (f"  t={t:6.1f}s  guest free {gfree or 0:6.0f} MiB  "
                    f"host RSS {rss_mib:6.0f} MiB  {phase:10s}")
            if pct is not None:
                line += f"  returned {returned:5.0f} MiB ({pct:3.0f}%)"
            say(line)
        if freed is not None:
            if t90 is not None and \
                    t - freeing.t >= max(t90 + tail_s, min_after):
                break
            if t - freeing.t >= limit:
                break
        if "done" in events:
            break
        time.sleep(SAMPLE_PERIOD)
    if freed is None:
        raise HarnessError("the guest never reported 'freed'")
    res.update(t50=t50, t90=t90, samples=samples, free_t=freeing.t,
               limit=limit, rss_final_mib=samples[-1].rss_mib)
    return res


def summary_line(res, label):
    def when(key, pct):
        if res[key] is None:
            return f"{pct} not reached within {res['limit']} s"
        return f"{pct} back after {res[key]:.1f} s"
    return (f"{label}: {res['freed_mib']:.0f} MiB freed in the guest, "
            f"{res.get('returned_mib', 0):.0f} MiB returned to the host; "
            f"{when('t50', '50%')}, {when('t90', '90%')}")


def save(res, stem, title):
    ensure_dir(OUT)
    csv_path = os.path.join(OUT, stem + ".csv")
    with open(csv_path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["t_s", "host_rss_mib", "guest_free_mib", "phase"])
        for s in res["samples"]:
            w.writerow([f"{s.t:.2f}", f"{s.rss_mib:.1f}",
                        "" if s.guest_free_mib is None else
                        f"{s.guest_free_mib:.1f}", s.phase])
    png = os.path.join(OUT, stem + ".png")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(9, 5))
    ts = [s.t for s in res["samples"]]
    ax.plot(ts, [s.rss_mib for s in res["samples"]],
            label="host: QEMU RSS (MiB)")
    gf = [(s.t, s.guest_free_mib) for s in res["samples"]
          if s.guest_free_mib is not None]
    if gf:
        ax.plot([a for a, _ in gf], [b for _, b in gf], "--",
                label="guest: free memory (MiB, balloon stats)")
    top = ax.get_ylim()[1]
    ax.axvline(res["free_t"], color="gray", lw=0.8)
    ax.annotate(" free", (res["free_t"], top * 0.95))
    for key, name, y in (("t50", "50%", 0.85), ("t90", "90%", 0.75)):
        if res[key] is not None:
            x = res["free_t"] + res[key]
            ax.axvline(x, color="green", lw=0.8, ls=":")
            ax.annotate(f" {name} back: {res[key]:.1f} s", (x, top * y))
    ax.set_xlabel("seconds since QEMU start")
    ax.set_ylabel("MiB")
    ax.set_title(title)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2,
              frameon=False)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(png, dpi=100)
    plt.close(fig)
    return csv_path, png


def run(kernel_path, initrd, variant, base_version, mem_mib=2048, smp=2,
        workload="tmpfs", mib=None, limit=60):
    mib = mib or mem_mib // 2
    vm = VM(f"demo-{variant}", kernel_path, initrd, job="demo",
            mem_mib=mem_mib, smp=smp,
            params={"mib": mib, "workload": workload, "hold": 3,
                    "after": limit + 10},
            timeout=limit + 300)
    step(f"booting the {variant} guest: Linux {base_version}, "
         f"{mem_mib} MiB, {smp} vCPUs, {vm.accel.upper()}, "
         f"virtio-balloon free-page-reporting=on; workload: {mib} MiB "
         f"{workload}")
    if not is_tty():
        say("  (one line per second)")
    with vm:
        res = watch_return(vm, limit=limit)
        vm.quit()
    label = f"demo [{variant}, Linux {base_version}, {vm.accel.upper()}, " \
        f"{mem_mib} MiB, {smp} vCPUs, {workload}]"
    csv_path, png = save(res, f"demo-{variant}",
                         f"{variant}: {mib} MiB {workload} freed in a "
                         f"{mem_mib} MiB guest ({vm.accel.upper()})")
    say(f"  samples: {csv_path}\n  plot:    {png}")
    say(summary_line(res, label))
    return res
