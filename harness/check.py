# SPDX-License-Identifier: GPL-2.0
"""The test command: everything CI runs, ending with "N passed, M failed".

Order: harness unit tests and argument errors (no kernel needed), the build,
then guest runs: boot, KUnit (KTAP parsed by the base tree's kunit.py),
kselftests in the guest, harness error paths with a real guest, and
host-side end-to-end checks that read the QEMU process's memory. In the
full run the other kernels (debug, with hv_balloon; the other platforms) build
in the background while the x86-64 guests run (harness/background.py).
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import time
import traceback
import unittest

from . import (background, buildcheck, churn, initramfs, interop,
               kernel, libvirt, measure, reliability, series)
from .build import build_all, prepare as build_prepare
from .common import BUILD, LOGS, REPO, HarnessError, say, step
from .qemu import MACHINES
from .vm import VM, splats

PY = sys.executable


class Results:
    def __init__(self, only=None):
        self.passed = self.failed = self.skipped = 0
        self.only = only
        self.failures = []

    def record(self, name, ok, detail=""):
        if ok is None:
            self.skipped += 1
            say(f"SKIP {name}" + (f": {detail}" if detail else ""))
        elif ok:
            self.passed += 1
            say(f"ok   {name}" + (f" ({detail})" if detail else ""))
        else:
            self.failed += 1
            self.failures.append(name)
            say(f"FAIL {name}: {detail}")

    def wants(self, prefix):
        """Whether a group of checks whose names start with @prefix may
        hold one that --only selects: with no --only, when the text occurs
        in @prefix, or when it names a check of the group."""
        return (not self.only or self.only in prefix
                or self.only.startswith(prefix))

    def run(self, name, fn, always=False):
        """Run one check; it passes unless it raises. Returns whether it
        passed (None when --only left it out; @always: never left out)."""
        if self.only and self.only not in name and not always:
            return None
        t0 = time.monotonic()
        try:
            detail = fn()
        except (HarnessError, AssertionError) as e:
            self.record(name, False, str(e))
            return False
        except Exception:  # a harness bug: fail this check, run the rest
            self.record(name, False, "unexpected error:\n"
                        + traceback.format_exc(limit=8))
            return False
        self.record(name, True, (detail or "")
                    + f"{', ' if detail else ''}{time.monotonic() - t0:.0f}s")
        return True


def _cli(*args, env=None, timeout=900):
    """Run the harness CLI as a user would; return (rc, output)."""
    e = dict(os.environ)
    e.update(env or {})
    p = subprocess.run([PY, "-m", "harness"] + list(args), cwd=REPO, env=e,
                       capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout + p.stderr


def _expect_error(rc, out, *needles):
    assert rc != 0, f"expected failure, got exit 0:\n{out[-1500:]}"
    for n in needles:
        assert re.search(n, out), f"no /{n}/ in output:\n{out[-1500:]}"


# --- checks that need no kernel

def unit_tests(res):
    """The harness's own unit tests, one result per test method."""
    suite = unittest.defaultTestLoader.discover(
        os.path.join(REPO, "harness", "tests"), top_level_dir=REPO)

    class Collect(unittest.TestResult):
        def addSuccess(self, test):
            res.record(f"unit: {test.id()}", True)

        def addFailure(self, test, err):
            res.record(f"unit: {test.id()}", False,
                       self._exc_info_to_string(err, test))

        addError = addFailure

        def addSkip(self, test, reason):
            res.record(f"unit: {test.id()}", None, reason)

    suite.run(Collect())


def err_not_612():
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "Makefile"), "w") as f:
            f.write("VERSION = 6\nPATCHLEVEL = 1\nSUBLEVEL = 90\n"
                    "EXTRAVERSION =\n")
        rc, out = _cli("kernel", "--prepare-only", env={"KERNEL_SRC": d})
    _expect_error(rc, out, r"is Linux 6\.1\.90; this series is for Linux "
                  r"6\.12")


def err_no_root():
    """Missing packages without root or sudo: a clear message, no install."""
    if os.geteuid() != 0:
        raise HarnessError("needs root to switch to user nobody")
    p = subprocess.run(
        ["runuser", "-u", "nobody", "--", PY, "-m", "harness", "deps"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
        env=dict(os.environ, PR_EXTRA_PACKAGES="pr-no-such-package",
                 PR_BUILD_DIR=tempfile.gettempdir() + "/pr-nobody"))
    _expect_error(p.returncode, p.stdout + p.stderr,
                  r"missing Debian packages: pr-no-such-package",
                  r"needs root or password-less sudo",
                  r"apt-get install -y pr-no-such-package")


# --- checks with the base tree

def err_bad_patch():
    with tempfile.TemporaryDirectory() as d:
        bad = os.path.join(d, "bad.patch")
        with open(bad, "w") as f:
            f.write("--- a/mm/page_reporting.c\n+++ b/mm/page_reporting.c\n"
                    "@@ -14,3 +14,3 @@\n"
                    " /* this context line is not in the base */\n"
                    "-unsigned int page_reporting_order = -1;\n"
                    "+unsigned int page_reporting_order = 9;\n"
                    " \n")
        msg = os.path.join(d, "msg")
        with open(msg, "w") as f:
            f.write("mm: a patch that does not apply\n")
        series = os.path.join(d, "series")
        with open(series, "w") as f:
            f.write(f"## {msg}\n{bad}\n")
        rc, out = _cli("kernel", "--prepare-only", "--variant", "ours",
                       env={"PR_SERIES": series})
    _expect_error(rc, out, r"patch .*bad\.patch does not apply to Linux "
                  r"6\.12", r"mm/page_reporting\.c:14")


# --- guest runs

def _clean_boot(vm):
    """Run @vm's boot job to the end; fail on a bad exit or kernel splats.
    Returns the console text."""
    with vm:
        rc = vm.wait_done()
        vm.wait_exit()
        con = vm.console()
    assert rc == 0, f"boot job exited {rc}"
    bad = splats(con)
    assert not bad, "kernel problems on the console:\n" + "\n".join(bad[:20])
    return con


def boot_check(bz, initrd, state, machine="q35"):
    vm = VM(f"check-boot-{machine}", bz, initrd, job="boot", timeout=300,
            machine=machine)
    _clean_boot(vm)
    feats = vm.events("balloon")
    assert feats, "no virtio_balloon device bound in the guest"
    bits = feats[0].fields["features"]
    assert interop.Features.from_bits(bits).reporting, \
        f"VIRTIO_BALLOON_F_REPORTING not negotiated: {bits}"
    assert len(bits) > 32 and bits[32] == "1", \
        f"VIRTIO_F_VERSION_1 not negotiated (a legacy device): {bits}"
    transport = feats[0].fields.get("transport")
    want = MACHINES[machine][1]
    assert transport == want, f"the balloon is on {transport}, not {want}"
    # "@@PR page_reporting_order=N": the marker's event is the pair.
    order = [e for e in vm.latest() if e.startswith("page_reporting_order=")]
    assert order, "no page_reporting_order parameter in the guest"
    booted = vm.events("booted")[0]
    return f"{vm.accel.upper()}, {booted.fields['kernel']}, {transport}, " \
        f"init after {booted.t:.1f}s"


def kunit_boot(bz, initrd, state, name="check-kunit"):
    """KUnit runs at boot. The engine's suite registers a fake device, so it
    needs a guest where no balloon has registered; two nodes let it check
    that zones of different nodes are kept apart."""
    vm = VM(name, bz, initrd, job="boot", balloon=False,
            numa_nodes=2, timeout=600, kunit=True)
    state["kunit_console"] = os.path.join(vm.dir, "console.log")
    con = _clean_boot(vm)
    m = re.search(r"NUMA: .*|Initmem setup node 1.*", con)
    return m.group(0).strip() if m else "no second node seen"


def kunit_case_log(console, case):
    """What KUnit printed for @case before its "not ok" line (its failed
    expectations), at most 12 lines."""
    try:
        with open(console, errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return []
    strip = re.compile(r"^\[[ \d.]+\]\s*")
    for i, ln in enumerate(lines):
        if re.search(rf"\bnot ok \d+ {re.escape(case)}\b", ln):
            start = i
            while start > 0 and not re.search(r"\b(ok \d+|# Subtest:)",
                                              lines[start - 1]):
                start -= 1
            return [strip.sub("", x) for x in lines[start:i]][-12:]
    return []


def kunit_results(res, console, label="kunit"):
    """Parse KTAP from the boot console with the base tree's kunit.py;
    one result per case, named "@label: suite.case"."""
    out_json = os.path.join(LOGS, f"{label.replace(' ', '-')}.json")
    tool = os.path.join(kernel.TREE, "tools", "testing", "kunit", "kunit.py")
    p = subprocess.run([PY, tool, "parse", f"--json={out_json}", console],
                       capture_output=True, text=True)
    with open(os.path.join(LOGS, "kunit-parse.log"), "w") as f:
        f.write(p.stdout + p.stderr)
    summary = [ln for ln in p.stdout.splitlines() if "Testing complete" in ln]
    say("     kunit.py: " + (summary[-1].strip(" =") if summary
                             else "no summary"))
    try:
        with open(out_json) as f:
            tree = json.load(f)
    except (OSError, ValueError):
        res.record(f"{label}: parse", False, "kunit.py parse produced no JSON "
                   f"(exit {p.returncode}); see {LOGS}/kunit-parse.log")
        return
    n = 0

    def walk(group, prefix):
        nonlocal n
        name = group.get("name", "")
        # kunit.py names its root group "KUnit Test Group": not a suite.
        if name == "KUnit Test Group":
            name = ""
        prefix = f"{prefix}.{name}" if prefix and name else (name or prefix)
        for case in group.get("test_cases", []):
            status = case.get("status")
            n += 1
            ok = {"PASS": True, "SKIP": None}.get(status, False)
            detail = "" if ok else status
            if ok is False:
                detail += "".join(f"\n       {ln}" for ln in
                                  kunit_case_log(console, case["name"]))
            res.record(f"{label}: {prefix}.{case['name']}", ok, detail)
        for sub in group.get("sub_groups", []):
            walk(sub, prefix)
    walk(tree, "")
    if n == 0:
        res.record(f"{label}: any test ran", False,
                   "no KUnit test case found on the console")


TAP_RE = re.compile(r"^(not )?ok \d+ (.*?)(\s+#\s*(SKIP|TODO)\b(.*))?$")


def kselftests(res, bz, initrd, label="kselftest", name="check-kselftest",
               balloon=True, kunit=False):
    """The kselftests of the initramfs in a guest with the balloon (or
    without, @balloon); one result per TAP line, named "@label: binary:
    test". @kunit: the KUnit suites run at boot first."""
    with VM(name, bz, initrd, job="kselftest", timeout=600, balloon=balloon,
            kunit=kunit) as vm:
        rc = vm.wait_done()
        vm.wait_exit()
    current = None
    seen = 0
    for line in vm.lines:
        m = re.match(r"^@@PR kselftest-(begin|end) (\S+)", line)
        if m:
            current = m.group(2) if m.group(1) == "begin" else None
            continue
        m = TAP_RE.match(line)
        if current and m:
            seen += 1
            what = f"{label}: {current}: {m.group(2)}"
            if m.group(4) == "SKIP":
                res.record(what, None, m.group(5).strip())
            else:
                res.record(what, m.group(1) is None,
                           "" if m.group(1) is None else
                           f"see {vm.dir}/data.log")
    if not seen:
        res.record(f"{label}: any test ran", False,
                   f"no TAP results (job exit {rc}); see {vm.dir}/data.log")
    # 0 with a reporting device, KSFT_SKIP (4) without: run_vmtests.sh
    # counts the second as a skip.
    want = 0 if balloon else 4
    got = [m.num("rc") for m in vm.events("stress-require")]
    res.record(f"{label}: page_reporting_stress --require-reporting "
               f"exits {want}", got == [want],
               "" if got == [want] else f"exit {got}; see {vm.dir}/data.log")
    bad = splats(vm.console())
    if bad:
        res.record(f"{label}: clean console", False, "\n".join(bad[:20]))


def err_qemu_early(bz, initrd):
    rc, out = _cli("boot", "--kernel", bz, "--initrd", initrd,
                   "--timeout", "60",
                   env={"PR_QEMU_EXTRA": "-device pr-no-such-device"})
    _expect_error(rc, out, r"QEMU exited early \(exit 1\)",
                  r"pr-no-such-device")


def err_panic(bz, initrd):
    rc, out = _cli("boot", "--kernel", bz, "--initrd", initrd,
                   "--job", "panic", "--timeout", "120")
    _expect_error(rc, out, r"guest 'boot-panic' panicked",
                  r"Kernel panic - not syncing", r"sysrq")


def _qemu_running(rundir):
    p = subprocess.run(["pgrep", "-f", rundir], capture_output=True,
                       text=True)
    return p.stdout.split()


def err_hang(bz, initrd):
    rc, out = _cli("boot", "--kernel", bz, "--initrd", initrd,
                   "--job", "hang", "--timeout", "20")
    _expect_error(rc, out, r"did not finish within 20s \(job hang\); "
                  r"QEMU killed \(vCPU state in \S+hang-state.txt\)")
    left = _qemu_running(os.path.join(BUILD, "runs", "boot-hang") + "/")
    assert not left, f"QEMU still running after the timeout: pids {left}"
    # Saved before the kill: each vCPU's registers and local APIC timer.
    with open(os.path.join(BUILD, "runs", "boot-hang",
                           "hang-state.txt")) as f:
        state = f.read()
    for i in range(2):
        assert re.search(rf"=== info lapic {i}\n((?!=== ).*\n)*?"
                         r"Timer\t DCR=", state), (
            f"no LAPIC timer of vCPU {i} saved")
    assert state.count("HLT=") == 2, "registers of 2 vCPUs not saved"


def e2e_returns(bz, initrd, reporting, want, machine="q35", mib=1024,
                mem_mib=2048, tag=""):
    """Free @mib MiB (1 GiB) in a guest of @mem_mib MiB (2 GiB); check how
    much the host got back."""
    limit = 60 if reporting else 20
    with VM(f"check-e2e-{machine}{tag}-" + ("on" if reporting else "off"),
            bz, initrd, job="demo", reporting=reporting, timeout=limit + 400,
            machine=machine, mem_mib=mem_mib,
            params={"mib": mib, "workload": "tmpfs", "hold": 2,
                    "after": limit + 10}) as vm:
        r = measure.watch_return(vm, limit=limit, live=False,
                                 tail_s=0 if reporting else limit)
        vm.quit()
    say("     " + measure.summary_line(r, "e2e reporting=" +
                                       ("on" if reporting else "off")))
    pct = r.pct
    if reporting:
        assert pct >= want, (f"only {pct:.0f}% of {r.freed_mib:.0f} MiB "
                             f"came back within {limit}s (want {want}%)")
        return f"{pct:.0f}% back, 90% after {r.t90:.1f}s"
    assert pct < want, (f"{pct:.0f}% came back with reporting off "
                        f"(want < {want}%)")
    return f"{pct:.0f}% back after {limit}s"


def e2e_order(bz, initrd, order):
    """Free 1 GiB in a 2 GiB guest booted with page_reporting_order=@order:
    90% comes back, the host discards blocks below 2 MiB, and none below
    the order (QEMU's ram_block_discard_range trace)."""
    limit = 60
    name = f"check-e2e-order{order}"
    trace = os.path.join(BUILD, "runs", name, "discard-trace.log")
    with VM(name, bz, initrd, job="demo", timeout=limit + 400,
            append=f"page_reporting.page_reporting_order={order}",
            qemu_args=churn.qemu_args(trace),
            params={"mib": 1024, "workload": "tmpfs", "hold": 2,
                    "after": limit + 10}) as vm:
        watcher = churn.DiscardWatch(vm, trace).start()
        try:
            r = measure.watch_return(vm, limit=limit, live=False)
            vm.quit()
        finally:
            watcher.stop()
    say("     " + measure.summary_line(r, f"e2e order={order}"))
    pct = r.pct
    sizes = [e[1] for e in watcher.events]
    assert sizes, "the host saw no discard"
    small = sum(1 for n in sizes if n < 2 << 20)
    assert min(sizes) >= 4096 << order, (
        f"a discard of {min(sizes)} bytes, below order {order}")
    assert small, f"none of {len(sizes)} discards is below 2 MiB"
    assert pct >= 90, (f"only {pct:.0f}% of {r.freed_mib:.0f} MiB came "
                       f"back within {limit}s")
    return (f"{pct:.0f}% back, 90% after {r.t90:.1f}s; {small} of "
            f"{len(sizes)} discards below 2 MiB, smallest {min(sizes) >> 10} "
            f"KiB")


def other_kernels(in_background):
    """The kernels of the test command besides the guest's, in the order
    its checks need them: the debug kernel (which compiles hv_balloon too)
    and the other platforms'. @in_background: build them one after another
    on a background thread from now on, else each when a check first needs
    it."""
    src = os.environ.get("KERNEL_SRC") or None
    builds = background.Builds([
        ("debug", lambda: kernel.build("debug", src, quiet=in_background)),
        ("flatmem", buildcheck.flatmem),
        ("ppc64", buildcheck.ppc64),
        ("arm64-4k", lambda: buildcheck.arm64(4)),
        ("arm64-64k", lambda: buildcheck.arm64(64)),
    ])
    return builds.start() if in_background else builds


def reliability_checks(res, initrd, builds):
    """The reliability scenarios, each on the debug kernel (from @builds),
    and their closing summary."""
    dbg = {}

    def build_debug():
        dbg["bz"], note = _built(builds, "debug")
        return f"DEBUG_VM, PROVE_LOCKING, DEBUG_ATOMIC_SLEEP, KASAN{note}"
    if not res.run("build: debug kernel", build_debug, always=True):
        return
    tot = reliability.reset_totals()
    for name, fn in reliability.scenarios(dbg["bz"], initrd):
        ok = res.run(name, fn)
        if ok is not None:
            tot.scenarios.append((name, ok))
    if tot.scenarios:
        say("     " + tot.summary())


def series_checks(res, boot=True):
    """The series as a user receives it: written, checked, applied with
    git am to a pristine extraction of the base and built there. Returns
    that kernel and its initramfs, or None. @boot: boot it to its KUnit
    suites and kselftests here (the caller does not test it otherwise)."""
    box = {}

    def write():
        box["files"] = series.write()
        return f"{len(box['files']) - 1} patches and a cover letter"
    if not res.run("series: git format-patch with a cover letter", write,
                   always=True):
        return None
    try:
        gates = series.check(box["files"])
    except HarnessError as e:
        res.record("series: checks", False, str(e))
        return None
    for name, ok, detail in gates:
        res.record(f"series: {name}", ok, detail)
    if not all(ok for name, ok, _ in gates if name.startswith("git am ")):
        return None
    # What a user gets: the git am tree, built and booted.
    built = {}

    def build():
        built["bz"], built["initrd"] = series.build_pristine()
        return "guest configuration, KUnit on"
    if not res.run("series: the git am tree builds", build, always=True):
        return None
    if not boot:
        return built["bz"], built["initrd"]
    state = {}
    if res.run("series: the git am kernel boots its KUnit suites",
               lambda: kunit_boot(built["bz"], built["initrd"], state,
                                  name="series-kunit"), always=True):
        kunit_results(res, state["kunit_console"], label="series kunit")
    kselftests(res, built["bz"], built["initrd"], label="series kselftest",
               name="series-kselftest")
    return built["bz"], built["initrd"]


def main(variant, only=None):
    t0 = time.monotonic()
    res = Results(only)
    step("harness unit tests and argument errors")
    if res.wants("unit: "):
        unit_tests(res)
    res.run("error: kernel tree that is not 6.12", err_not_612)
    res.run("error: missing packages without root", err_no_root)

    state = {}

    def build():
        state["bz"], state["initrd"], info = build_all(variant)
        return f"Linux {info['version']}, {variant}"

    def prepare():
        info = build_prepare(variant)
        return f"Linux {info['version']}, {variant}"
    # The whole test command tests what users receive: its guests run the
    # kernel built from the series applied with git am to a pristine
    # extraction of the base (the same sources as build/linux: a series
    # check says so), not a second build of build/linux.
    from_series = variant == "ours" and not only
    step("build")
    if not res.run("build: packages, base tree and sources", prepare,
                   always=True):
        return finish(res, t0)
    res.run("error: patch that does not apply", err_bad_patch)
    # The bad patch left the tree on the base; put the variant back.
    kernel.checkout(variant)
    # In the whole test command every other kernel builds in the background
    # from here on (one at a time, at the lowest CPU priority), in the time
    # the series checks and the guests leave of the two cores; each check
    # that needs one waits for it. They build in build/linux, which nothing
    # in the foreground writes from then on. Otherwise each builds when a
    # check first needs it.
    builds = other_kernels(in_background=from_series)
    if from_series:
        step("the series: git format-patch, checkpatch, kernel-doc, git am")
        am = series_checks(res, boot=False)
        if am:
            state["bz"], state["initrd"] = am
    if "bz" not in state and not res.run(
            f"build: {variant} kernel and initramfs", build, always=True):
        return finish(res, t0)
    bz, initrd = state["bz"], state["initrd"]

    step("guest: boot, KUnit, kselftests")
    res.run("boot: guest boots, balloon negotiates reporting",
            lambda: boot_check(bz, initrd, state))
    if res.wants("kunit: "):
        res.run("kunit: guest without a reporting device, two NUMA nodes",
                lambda: kunit_boot(bz, initrd, state), always=True)
    if "kunit_console" in state:
        kunit_results(res, state["kunit_console"])
    if res.wants("kselftest"):
        kselftests(res, bz, initrd)
        # Without a device, after the KUnit suite registered and went
        # away: every test passes or skips, as run_vmtests.sh needs.
        kselftests(res, bz, initrd, label="kselftest without a device",
                   name="check-kselftest-nodev", balloon=False, kunit=True)

    step("guest: harness error paths")
    res.run("error: QEMU exits early", lambda: err_qemu_early(bz, initrd))
    res.run("error: guest panic shows the console",
            lambda: err_panic(bz, initrd))
    res.run("error: hung guest is killed", lambda: err_hang(bz, initrd))

    step("host side: memory returned to the QEMU process")
    res.run("e2e: reporting on returns >= 90% of a freed GiB",
            lambda: e2e_returns(bz, initrd, True, 90))
    res.run("e2e: reporting off returns < 10%",
            lambda: e2e_returns(bz, initrd, False, 10))

    step("reporting orders below the tracked 2 MiB")
    for order in (0, 5):
        res.run(f"order {order}: 90% of a freed GiB back, discards below "
                "2 MiB, none below the order",
                lambda order=order: e2e_order(bz, initrd, order))
    res.run("order 0: data-integrity stress, 45 s",
            lambda: reliability.stress(
                bz, initrd, "stress-order0", 45, 256,
                append="page_reporting.page_reporting_order=0"))

    step("virtio-mmio: the balloon on QEMU's microvm machine")
    res.run("microvm: guest boots, balloon on virtio-mmio negotiates "
            "reporting", lambda: boot_check(bz, initrd, state,
                                            machine="microvm"))
    res.run("microvm: reporting on returns >= 90% of a freed GiB",
            lambda: e2e_returns(bz, initrd, True, 90, machine="microvm"))
    res.run("microvm: unbind/rebind virtio_balloon while reporting",
            lambda: interop.rebind(bz, initrd, tag="-microvm",
                                   machine="microvm"))
    res.run("microvm: data-integrity stress, 45 s",
            lambda: reliability.stress(bz, initrd, "stress-microvm", 45, 256,
                                       machine="microvm"))

    step("virtio-balloon against QEMU: interop matrix and scenarios")
    if res.wants("interop: stats="):
        interop.matrix(res, bz, initrd)
    res.run("interop: unbind/rebind virtio_balloon while reporting",
            lambda: interop.rebind(bz, initrd))
    res.run("interop: hot-unplug and re-plug of the device while reporting",
            lambda: interop.unplug(bz, initrd))
    res.run("interop: live migration with free page hinting and reporting",
            lambda: interop.migration(bz, initrd, hint=True,
                                      reporting=True).describe())
    res.run("libvirt: a domain with <memballoon freePageReporting='on'> "
            "returns >= 90% of a freed GiB",
            lambda: libvirt.e2e(bz, initrd))

    step("reliability on the debug kernel (Kconfig.debug)")
    if res.wants("reliability: "):
        reliability_checks(res, initrd, builds)

    if not from_series and res.wants("series: "):
        step("the series: git format-patch, checkpatch, kernel-doc, git am")
        series_checks(res)

    step("other users and platforms of the engine")

    def hv_balloon():
        # The debug kernel compiles hv_balloon (Kconfig.debug).
        _built(builds, "debug")
        return buildcheck.hv_balloon()
    res.run("build: hv_balloon against the engine", hv_balloon)
    initrds = {}
    platform_checks(res, "FLATMEM (i386)", "with virtio-balloon and the "
                    "engine",
                    lambda: _built_detail(builds, "flatmem"),
                    buildcheck.flatmem_kunit_boot,
                    "FLATMEM kunit", initrds, "i386", "pc-i386",
                    buildcheck.flatmem_image)
    platform_checks(res, "powerpc64", "pseries (variable pageblock order) "
                    "with the engine",
                    lambda: _built_detail(builds, "ppc64"),
                    buildcheck.ppc64_kunit_boot, "powerpc64 kunit", initrds,
                    "ppc64", "pseries", buildcheck.ppc64_image)
    for kib in (4, 64):
        platform_checks(res, f"arm64 {kib}K", f"({kib} KiB pages) with the "
                        "engine",
                        lambda kib=kib: _built_detail(builds, f"arm64-{kib}k"),
                        lambda kib=kib: buildcheck.arm64_kunit_boot(kib),
                        f"arm64 {kib}K kunit", initrds, "arm64", "virt",
                        lambda kib=kib: buildcheck.arm64_image(kib))
    builds.join()
    return finish(res, t0)


def platform_checks(res, name, what, build, boot, label, initrds, arch,
                    machine, image):
    """platform_kunit(), then the guest of @arch on QEMU's @machine with the
    test initramfs (built once per @arch, kept in @initrds): 90% of a freed
    512 MiB back within the x86 bound, and the data-integrity stress."""
    if not platform_kunit(res, name, what, build, boot, label):
        return

    def build_initramfs():
        initrds[arch] = initramfs.build(
            kernel.TREE, os.path.join(BUILD, arch, "initramfs.cpio"),
            arch=arch)
        return (f"Debian's {initramfs.CROSS[arch][2]} busybox-static, "
                "programs built static for it")
    if arch not in initrds and not res.run(f"build: {arch} initramfs",
                                           build_initramfs, always=True):
        return
    tag = "-" + re.sub(r"\W+", "-", name.split()[-1].lower()).strip("-")
    res.run(f"{name}: reporting on returns >= 90% of a freed 512 MiB",
            lambda: e2e_returns(image(), initrds[arch], True, 90,
                                machine=machine, mib=512, mem_mib=1536,
                                tag=tag))
    res.run(f"{name}: data-integrity stress, 45 s",
            lambda: reliability.stress(image(), initrds[arch],
                                       f"stress-{machine}{tag}", 45, 256,
                                       machine=machine))


def platform_kunit(res, name, what, build, boot, label):
    """Build another platform's kernel, boot it to its KUnit suites (no
    userspace) and record their results under @label. Returns whether the
    kernel built and booted."""
    out = {}
    if res.run(f"build: {name} {what}", build) and \
            res.run(f"{name}: boots to its KUnit suite under TCG",
                    lambda: out.update(console=boot())):
        kunit_results(res, out["console"], label=label)
        return True
    return False


def _built(builds, name):
    """What the build of kernel @name returned, once @builds has run it,
    and a note that says so when it ran in the background (else "")."""
    value, took = builds.wait(name)
    if not builds.in_background:
        return value, ""
    return value, f"; built in the background in {took:.0f}s"


def _built_detail(builds, name):
    """A check's detail for the build of kernel @name (see _built())."""
    return "{}{}".format(*_built(builds, name))


def finish(res, t0):
    say(f"\ntest command ran {time.monotonic() - t0:.0f}s")
    if res.failures:
        say("failed: " + "; ".join(res.failures))
    line = f"{res.passed} passed, {res.failed} failed"
    if res.skipped:
        line += f", {res.skipped} skipped"
    say(line)
    return 1 if res.failed else 0
