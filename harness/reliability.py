# SPDX-License-Identifier: GPL-2.0
"""Reliability scenarios: nothing lost, no splat, under faults.

Each scenario boots the guest kernel it is given (the test command gives
the debug kernel, Kconfig.debug) and fails on any kernel splat on the
console. The data-integrity stress program
(tools/testing/selftests/mm/page_reporting_stress.c) runs in the guest and
checks every live page against its pattern while memory is freed,
reported and reused. scenarios() lists the ones the test command runs.
"""

import re
import time

from . import interop
from .common import HarnessError
from .vm import VM, splats

OOM_RE = re.compile(r"Out of memory|invoked oom-killer|oom-kill:")


class Totals:
    """What the scenarios did, for the closing summary."""

    def __init__(self):
        self.scenarios = []
        self.churned = self.verified = 0
        self.splats = 0

    def add_stress(self, marker):
        self.churned += marker.num("churned_bytes")
        self.verified += marker.num("verified_bytes")

    def summary(self):
        ok = sum(1 for _, good in self.scenarios if good)
        return (f"reliability: {ok} of {len(self.scenarios)} scenarios "
                f"survived; stress churned {self.churned / 2**30:.1f} GiB "
                f"and verified {self.verified / 2**30:.1f} GiB; "
                f"{self.splats} kernel splats")


TOTALS = Totals()


def reset_totals():
    """Start the closing summary afresh (runs on other kernels, such as
    the microvm stress, are not in it); returns it."""
    global TOTALS
    TOTALS = Totals()
    return TOTALS


def _check_console(vm):
    con = vm.console()
    bad = splats(con)
    if bad:
        TOTALS.splats += 1
    assert not bad, (f"kernel problems on {vm.name}'s console:\n"
                     + "\n".join(bad[:30]))
    return con


def hotplug(bz, initrd):
    """Hot-add a 512 MiB DIMM while reporting runs, use it, hot-remove it."""
    vm = VM("rel-hotplug", bz, initrd, job="hotplug", mem_mib=1024,
            append="memhp_default_state=online_movable",
            params={"mib": 384}, timeout=900, mem_opts=",slots=2,maxmem=2G")
    with vm:
        ready = vm.wait_marker("ready", timeout=600)
        vm.qmp.cmd("object-add", **{"qom-type": "memory-backend-ram",
                                     "id": "hp0", "size": 512 << 20})
        vm.qmp.cmd("device_add", driver="pc-dimm", id="dimm0", memdev="hp0")
        added = vm.wait_marker("added", timeout=180)
        used = vm.wait_marker("used", timeout=180)
        vm.qmp.cmd("device_del", id="dimm0")
        removed = vm.wait_marker("removed", timeout=180)
        rc = vm.wait_done()
        left = vm.qmp.cmd("query-memory-devices")
        vm.quit()
    _check_console(vm)
    assert rc == 0, f"guest job exited {rc}; see {vm.dir}/console.log"
    grew = (added.num("memtotal_kb") - ready.num("memtotal_kb")) / 1024
    rep_add = (added.num("reported_bytes")
               - ready.num("reported_bytes")) / 2**20
    assert grew >= 500, f"MemTotal grew {grew:.0f} MiB, want 512"
    # The new memory is free when it comes online: the engine reports it.
    assert rep_add >= 400, f"only {rep_add:.0f} MiB reported after hot-add"
    rep_use = (used.num("reported_bytes") - added.num("reported_bytes"))
    assert removed.num("isolated") == 0, removed.raw
    after = vm.events("after")[0]
    assert after.num("isolated") == 0, after.raw
    rep_after = (after.num("reported_bytes") - after.num("before")) / 2**20
    assert rep_after >= 128, f"reporting stopped after removal: {after.raw}"
    assert not left, f"QEMU still has memory devices: {left}"
    return (f"+{grew:.0f} MiB, {rep_add:.0f} MiB reported after the add, "
            f"{rep_use / 2**20:.0f} MiB after use in the DIMM, removed, "
            f"{rep_after:.0f} MiB reported after")


def _pressure_once(bz, initrd, reporting, margin, churn):
    vm = VM("rel-pressure-" + ("on" if reporting else "off"), bz, initrd,
            job="pressure", mem_mib=1024, reporting=reporting,
            params={"margin": margin, "churn": churn}, timeout=900)
    with vm:
        rc = vm.wait_done()
        vm.wait_exit()
    con = _check_console(vm)
    assert not OOM_RE.search(con), (
        f"OOM with reporting {'on' if reporting else 'off'}:\n"
        + "\n".join(ln for ln in con.splitlines() if OOM_RE.search(ln))[:2000])
    assert rc == 0, f"guest job exited {rc}"
    got = vm.events("pressure")
    assert got, f"pr-pressure printed nothing; see {vm.dir}/data.log"
    return got[0]


def pressure(bz, initrd, margin=48, churn=512):
    """Fill a 1 GiB guest to a margin right after a large free, with
    reporting on and off: reporting must not make it stop earlier, nor
    OOM."""
    on = _pressure_once(bz, initrd, True, margin, churn)
    off = _pressure_once(bz, initrd, False, margin, churn)
    a, b = on.num("reached_mib"), off.num("reached_mib")
    # One batch (32 blocks of 2 MiB) may be in flight at the end.
    assert a >= b - 64, (f"reporting on reached {a} MiB, off {b} MiB "
                         f"(margin {margin} MiB)")
    return (f"reached {a} MiB with reporting on, {b} MiB off "
            f"(margin {margin} MiB, no OOM)")


def _stress_result(vm, rc):
    """The last result line of the stress program in @vm, whose job exited
    @rc, after checking the console: fails unless the job passed with no
    mismatch. Adds it to the run's totals."""
    con = _check_console(vm)
    final = vm.events("stress")
    assert final, f"no stress result (job exit {rc}); see {vm.dir}"
    last = final[-1]
    assert "mismatches" in last.fields, (
        f"the stress program printed no result (exit {rc}): {last.raw}")
    TOTALS.add_stress(last)
    assert last.num("mismatches") == 0 and rc == 0, (
        f"stress failed (exit {rc}): {last.raw}\n"
        + "\n".join(ln for ln in con.splitlines() if "stress" in ln)[-3000:])
    return last


def stress(bz, initrd, name, seconds, mib, mem_mib=1024, numa_nodes=1,
           append="", check_reported=True, seed=1, machine="q35"):
    """Run the data-integrity stress program in a guest; it re-verifies
    every live page each round while freed memory is reported and reused.
    With @check_reported the engine must have reported during the run."""
    vm = VM(f"rel-{name}", bz, initrd, job="stress", mem_mib=mem_mib,
            numa_nodes=numa_nodes, append=append, machine=machine,
            params={"seconds": seconds, "mib": mib, "seed": seed},
            timeout=seconds + 600)
    with vm:
        vm.wait_marker("booted", timeout=600)
        rc = vm.wait_done()
        vm.wait_exit()
    last = _stress_result(vm, rc)
    out = (f"{last.num('rounds')} rounds, churned "
           f"{last.num('churned_bytes') / 2**30:.1f} GiB, verified "
           f"{last.num('verified_bytes') / 2**30:.1f} GiB, 0 mismatches, "
           f"reported {last.num('reported_bytes') / 2**20:.0f} MiB")
    if check_reported:
        assert last.num("reported_bytes") > 64 << 20, \
            f"the engine reported little: {last.raw}"
    return out


def _balloon_to(vm, mib, timeout=60):
    """Ask for a balloon target of @mib MiB of guest memory and wait until
    the guest has got there (within 8 MiB)."""
    vm.qmp.cmd("balloon", value=mib << 20)
    deadline = time.monotonic() + timeout
    while True:
        actual = vm.qmp.cmd("query-balloon")["actual"] >> 20
        if abs(actual - mib) <= 8:
            return actual
        if time.monotonic() > deadline:
            raise HarnessError(f"balloon stuck at {actual} MiB, target "
                               f"{mib} MiB")
        vm.check_alive()
        time.sleep(0.5)


def balloon(bz, initrd, seconds=60, rounds=3):
    """Inflate and deflate the balloon @rounds times while the stress
    program runs and a loop compacts memory, reporting on throughout; the
    stress runs at least @seconds, and until the rounds are done."""
    mem = 1024
    vm = VM("rel-balloon", bz, initrd, job="balloon", mem_mib=mem,
            params={"mib": 256, "seed": 2},
            timeout=seconds + rounds * 150 + 600)
    with vm:
        start = vm.wait_marker("stress-start", timeout=600)
        for _ in range(rounds):
            _balloon_to(vm, mem - 384)
            time.sleep(2)
            _balloon_to(vm, mem)
            time.sleep(2)
        time.sleep(max(0.0, start.t + seconds - vm.now()))
        vm.wait_marker("wait-stop", timeout=60)
        vm.send("stop")
        rc = vm.wait_done()
        vm.wait_exit()
    last = _stress_result(vm, rc)
    infl = int(last.fields.get("balloon_inflate") or 0)
    assert infl >= rounds * 384 * 256, f"balloon barely inflated: {last.raw}"
    return (f"{rounds} x inflate 384 MiB/deflate, "
            f"{last.fields.get('balloon_migrate') or 0} balloon pages "
            f"migrated, stress churned "
            f"{last.num('churned_bytes') / 2**30:.1f} GiB, verified "
            f"{last.num('verified_bytes') / 2**30:.1f} GiB, 0 mismatches")


def scenarios(bz, initrd):
    """The test command's reliability scenarios on the debug kernel @bz,
    each as (check name, function that runs it)."""
    return [
        ("reliability: data-integrity stress, 60 s",
         lambda: stress(bz, initrd, "stress", 60, 256)),
        ("reliability: stress in a two-node NUMA guest",
         lambda: stress(bz, initrd, "numa", 45, 256, mem_mib=2048,
                        numa_nodes=2)),
        ("reliability: stress with a memmap= hole in the middle of RAM",
         lambda: stress(bz, initrd, "hole", 45, 256, mem_mib=2048,
                        append="memmap=256M$768M")),
        ("reliability: memory hot-add and hot-remove while reporting",
         lambda: hotplug(bz, initrd)),
        ("reliability: memory pressure, reporting on vs off",
         lambda: pressure(bz, initrd)),
        ("reliability: balloon inflate/deflate + compaction + stress",
         lambda: balloon(bz, initrd)),
        # Three rounds each (six on the guest kernel): under KASAN a round
        # takes about 25 s.
        ("reliability: unbind/rebind on the debug kernel",
         lambda: interop.rebind(bz, initrd, tag="-debug", kasan=True,
                                rounds=3)),
        ("reliability: device hot-unplug on the debug kernel",
         lambda: interop.unplug(bz, initrd, tag="-debug", kasan=True,
                                rounds=3)),
    ]
