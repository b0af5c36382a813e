# SPDX-License-Identifier: GPL-2.0
"""Time to return: how fast memory that a guest frees comes back to the host.

watch_return() follows a guest that runs the "demo" job (allocate, hold,
free, idle) and samples the QEMU process's resident memory meanwhile; the
demo, the end-to-end checks, the interop matrix, libvirt and the benchmarks
all measure with it. save() writes the samples as CSV and a plot.
"""

import csv
import dataclasses
import os
import time
import typing

from .common import OUT, HarnessError, ensure_dir, say

SAMPLE_PERIOD = 0.25


class Watched(typing.Protocol):
    """What watch_return() needs of a guest: vm.VM (a QEMU the harness
    started) and libvirt.Domain (a domain libvirt started) are two."""
    accel: str              # "kvm" or "tcg"
    timeout: float          # seconds the guest may take to boot

    def check_alive(self):
        """Raise HarnessError if the guest's QEMU has gone."""

    def now(self):
        """Seconds since the guest's QEMU started."""

    def wait_marker(self, event, timeout=None):
        """The first data-channel marker @event (markers.Marker)."""

    def latest(self):
        """{event: its latest marker} so far."""

    def process_rss_kib(self):
        """The QEMU process's resident memory, None once it has gone."""

    def enable_guest_stats(self, period=1):
        """Let the host poll the balloon's statistics every @period s."""

    def guest_stats(self):
        """The balloon's last statistics ({"stat-free-memory": bytes})."""


@dataclasses.dataclass(frozen=True)
class Sample:
    t: float                # seconds since QEMU started
    rss_mib: float          # the QEMU process's resident memory
    guest_free_mib: float   # the guest's free memory (balloon statistics)
    phase: str              # boot, allocating, holding, freed


@dataclasses.dataclass
class Return:
    """What watch_return() measured. Times count from the start of the
    guest's free; None: not reached within @limit seconds."""
    accel: str
    booted_s: float
    freed_mib: float        # MemFree after the free minus while allocated
    rss_peak_mib: float     # QEMU's RSS while the guest held the memory
    t50: float
    t90: float
    free_t: float           # when the free started, seconds since start
    limit: float
    samples: list
    returned_mib: float = 0.0   # peak RSS minus the last sample's
    # Bench footprint runs: RSS idle after boot and some seconds after
    # the free.
    rss_idle_mib: float = None
    rss_after_mib: float = None
    # Bench: seconds from the end of the free until the host discarded
    # 90% of it (harness/bench.py, the discard trace), and seconds from
    # the start of the free to its end (markers "freeing", "free-done").
    discard_t90: float = None
    free_s: float = None

    @property
    def rss_final_mib(self):
        return self.samples[-1].rss_mib

    @property
    def pct(self):
        """Share of the freed memory back on the host, in percent."""
        return 100.0 * self.returned_mib / self.freed_mib


def _guest_free_mib(vm):
    try:
        v = vm.guest_stats().get("stat-free-memory", -1)
    except HarnessError:
        return None
    return v / 2**20 if v is not None and v >= 0 else None


def watch_return(vm: Watched, limit=60, live=True, tail_s=3.0, stats=True,
                 min_after=0.0):
    """Drive a guest that runs the demo job; return a Return.

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
    allocated = freeing = freed = None
    freed_mib = returned = None
    peak = None
    t50 = t90 = None
    last_print = -1.0
    phase = "boot"
    while True:
        vm.check_alive()
        t = vm.now()
        rss = vm.process_rss_kib()
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
            freed_mib = (freed.num("memfree_kb")
                         - allocated.num("memfree_kb")) / 1024
            if freed_mib < 64:
                raise HarnessError(f"the guest freed only "
                                   f"{freed_mib:.0f} MiB")
        pct = None
        if freed is not None:
            returned = max(0.0, peak - rss_mib)
            pct = 100.0 * returned / freed_mib
            since = t - freeing.t
            if t50 is None and pct >= 50:
                t50 = since
            if t90 is None and pct >= 90:
                t90 = since
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
    return Return(accel=vm.accel, booted_s=booted.t, freed_mib=freed_mib,
                  rss_peak_mib=peak, t50=t50, t90=t90, free_t=freeing.t,
                  limit=limit, samples=samples, returned_mib=returned or 0.0)


def summary_line(res, label):
    def when(t, pct):
        if t is None:
            return f"{pct} not reached within {res.limit} s"
        return f"{pct} back after {t:.1f} s"
    return (f"{label}: {res.freed_mib:.0f} MiB freed in the guest, "
            f"{res.returned_mib:.0f} MiB returned to the host; "
            f"{when(res.t50, '50%')}, {when(res.t90, '90%')}")


def save(res, stem, title):
    ensure_dir(OUT)
    csv_path = os.path.join(OUT, stem + ".csv")
    with open(csv_path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["t_s", "host_rss_mib", "guest_free_mib", "phase"])
        for s in res.samples:
            w.writerow([f"{s.t:.2f}", f"{s.rss_mib:.1f}",
                        "" if s.guest_free_mib is None else
                        f"{s.guest_free_mib:.1f}", s.phase])
    png = os.path.join(OUT, stem + ".png")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(9, 5))
    ts = [s.t for s in res.samples]
    ax.plot(ts, [s.rss_mib for s in res.samples],
            label="host: QEMU RSS (MiB)")
    gf = [(s.t, s.guest_free_mib) for s in res.samples
          if s.guest_free_mib is not None]
    if gf:
        ax.plot([a for a, _ in gf], [b for _, b in gf], "--",
                label="guest: free memory (MiB, balloon stats)")
    top = ax.get_ylim()[1]
    ax.axvline(res.free_t, color="gray", lw=0.8)
    ax.annotate(" free", (res.free_t, top * 0.95))
    for t, name, y in ((res.t50, "50%", 0.85), (res.t90, "90%", 0.75)):
        if t is not None:
            x = res.free_t + t
            ax.axvline(x, color="green", lw=0.8, ls=":")
            ax.annotate(f" {name} back: {t:.1f} s", (x, top * y))
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
