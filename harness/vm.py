# SPDX-License-Identifier: GPL-2.0
"""Boot a guest under QEMU, talk to it, watch it from the host, always kill it.

Channels:
  console  ttyS0 -> console.log          kernel log, panics, KUnit KTAP
  data     ttyS1 <-> data.sock (client)  "@@PR event k=v" lines, test TAP
           (hvc0, a virtio console, on machines of another architecture)
  qmp      qmp.sock                      host-side figures and control
Host figures come from the QEMU process (probes.py) and from QMP (qmp.py),
never from the guest console alone. The command line comes from qemu.py.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time

from . import probes, qemu
from .common import BUILD, HarnessError, die_with_parent, ensure_dir, tail
from .markers import MarkerLog
from .qmp import Qmp

from .qemu import QEMU

_accel = None
# Every live VM, so that an interrupted harness still kills them all.
_live = set()

SPLAT_PATTERNS = [
    r"Kernel panic - not syncing", r"\bBUG: ", r"WARNING: ", r"\bOops\b",
    r"general protection fault", r"KASAN: ", r"UBSAN: ",
    r"possible circular locking dependency", r"INFO: task .* blocked",
    r"rcu: INFO: .* stall", r"Call Trace:",
]
_splat_re = re.compile("|".join(SPLAT_PATTERNS))


def splats(text):
    """Lines of a console log that show a kernel problem."""
    return [ln for ln in text.splitlines() if _splat_re.search(ln)]


def _cpu_has_virt():
    with open("/proc/cpuinfo") as f:
        flags = set()
        for line in f:
            if line.startswith("flags"):
                flags.update(line.split(":", 1)[1].split())
                break
    return bool(flags & {"vmx", "svm"})


def detect_accel():
    """"kvm" when /dev/kvm is usable by QEMU and the CPU advertises VMX/SVM,
    "tcg" otherwise; ACCEL= forces one.

    Both conditions matter: on the build machines /dev/kvm opens and QEMU
    starts with -accel kvm, but the CPU flags are hidden and the guest is
    emulated so slowly that it did not reach init in 5 minutes, where TCG
    boots it in 2 seconds.
    """
    global _accel
    forced = os.environ.get("ACCEL")
    if forced:
        if forced not in ("kvm", "tcg"):
            raise HarnessError(f"ACCEL={forced}: use kvm or tcg")
        return forced
    if _accel:
        return _accel
    _accel = "tcg"
    if os.access("/dev/kvm", os.R_OK | os.W_OK) and _cpu_has_virt():
        try:
            p = subprocess.run(
                [QEMU, "-accel", "kvm", "-M", "q35", "-display", "none",
                 "-nodefaults", "-monitor", "stdio"], input="quit\n",
                capture_output=True, text=True, timeout=30)
            if p.returncode == 0:
                _accel = "kvm"
        except (OSError, subprocess.TimeoutExpired):
            pass
    return _accel


def _die_with_parent():
    die_with_parent(signal.SIGKILL)


def run_dir(name):
    """Where the guest run @name keeps its console, QMP socket and logs."""
    return os.path.join(BUILD, "runs", name)


class VM:
    """One guest run. Use as a context manager: QEMU is killed on exit."""

    def __init__(self, name, kernel, initrd, **guest):
        """@guest: the fields of qemu.Guest besides @kernel and @initrd."""
        self.spec = qemu.Guest(kernel, initrd, **guest)
        self.name = name
        self.timeout = self.spec.timeout
        self.dir = run_dir(name)
        self.proc = None
        self.qmp = None
        # Another architecture than the host's is always emulated.
        self.accel = (detect_accel() if self.spec.machine not in
                      qemu.FOREIGN else "tcg")
        self.log = MarkerLog()

    # The data channel so far (copies).
    lines = property(lambda self: self.log.lines())
    markers = property(lambda self: self.log.markers())

    # The guest's description, as callers read it.
    machine = property(lambda self: self.spec.machine)
    mem_mib = property(lambda self: self.spec.mem_mib)
    mem_extra_kib = property(lambda self: self.spec.mem_extra_kib)

    # --- life cycle

    def qemu_cmd(self):
        return qemu.command(self.spec, self.dir, self.accel,
                            extra=os.environ.get("PR_QEMU_EXTRA", "").split())

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def start(self):
        shutil.rmtree(self.dir, ignore_errors=True)
        ensure_dir(self.dir)
        cmd = self.qemu_cmd()
        with open(os.path.join(self.dir, "qemu-cmd.txt"), "w") as f:
            f.write(" ".join(cmd) + "\n")
        self.qemu_log = open(os.path.join(self.dir, "qemu.log"), "w")
        self.t0 = time.monotonic()
        self.deadline = self.t0 + self.timeout
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                     stdout=self.qemu_log,
                                     stderr=subprocess.STDOUT,
                                     preexec_fn=_die_with_parent)
        _live.add(self)
        try:
            self.data = self._connect(os.path.join(self.dir, "data.sock"))
            threading.Thread(target=self._reader, daemon=True).start()
            self.qmp = Qmp(os.path.join(self.dir, "qmp.sock"))
        except (OSError, HarnessError):
            # QEMU opens its sockets before it checks the devices: a bad
            # -device closes them again. Say why QEMU went away.
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
            self.check_alive()
            raise

    def _connect(self, path):
        while True:
            self.check_alive()
            if os.path.exists(path):
                s = socket.socket(socket.AF_UNIX)
                try:
                    s.connect(path)
                    return s
                except OSError:
                    s.close()
            if time.monotonic() > self.t0 + 30:
                raise HarnessError(f"QEMU did not open {path} within 30s")
            time.sleep(0.05)

    def send(self, line):
        """One line to the guest on the data channel (wait_host in the
        guest's jobs/lib.sh reads it)."""
        self.data.sendall(line.encode() + b"\n")

    def _reader(self):
        buf = b""
        with open(os.path.join(self.dir, "data.log"), "wb") as log:
            while True:
                try:
                    chunk = self.data.recv(65536)
                except OSError:
                    chunk = b""
                if not chunk:
                    break
                log.write(chunk)
                log.flush()
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    self._line(line.decode(errors="replace").rstrip("\r"))
        self.log.closed()

    def _line(self, line):
        self.log.add(time.monotonic() - self.t0, line)

    def stop(self):
        if self.qmp:
            self.qmp.close()
            self.qmp = None
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        _live.discard(self)
        if getattr(self, "data", None):
            try:
                self.data.close()
            except OSError:
                pass

    def quit(self):
        """Ask QEMU to exit now (the guest needs no clean shutdown)."""
        try:
            if self.qmp:
                self.qmp.cmd("quit")
        except (HarnessError, OSError):
            pass
        self.stop()

    # --- state

    def now(self):
        return time.monotonic() - self.t0

    def console(self):
        try:
            with open(os.path.join(self.dir, "console.log"),
                      errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def console_tail(self, n=25):
        return tail(os.path.join(self.dir, "console.log"), n)

    def save_hang_state(self):
        """Write what QEMU knows of the vCPUs to hang-state.txt in the run
        directory: where each one is (info cpus, registers) and its local
        APIC, timer included, to tell a guest that does not program its
        timer from a host that does not fire it. Returns a line that
        names the file, or says why there is none."""
        if self.proc.poll() is not None:
            return "(QEMU gone: no vCPU state saved)"
        if not self.qmp:
            return "(no QMP connection yet: no vCPU state saved)"
        path = os.path.join(self.dir, "hang-state.txt")
        hmp = ["info cpus", "info registers -a"]
        # info lapic takes an APIC ID: 0..smp-1 with one thread per core
        # and one core per socket, QEMU's default for -smp N.
        hmp += [f"info lapic {i}" for i in range(self.spec.smp)]
        try:
            with open(path, "w") as f:
                for c in hmp:
                    out = self.qmp.cmd("human-monitor-command",
                                       **{"command-line": c})
                    f.write(f"=== {c}\n{out}\n")
        except (HarnessError, OSError, ValueError) as e:
            # A QEMU that dies mid-reply must not hide the hang itself.
            return f"(vCPU state incomplete: {e}; {path})"
        return f"(vCPU state in {path})"

    def check_alive(self):
        """Raise a precise error if QEMU is gone or the guest has died."""
        if self.proc.poll() is None:
            if time.monotonic() > self.deadline:
                state = self.save_hang_state()
                self.stop()
                raise HarnessError(
                    f"guest '{self.name}' did not finish within "
                    f"{self.timeout}s (job {self.spec.job}); QEMU killed "
                    f"{state}. Last console lines:\n{self.console_tail()}")
            return
        con = self.console()
        if "Kernel panic" in con:
            raise HarnessError(
                f"guest '{self.name}' panicked. Last console lines "
                f"({self.dir}/console.log):\n{self.console_tail()}")
        if not self.log.done():
            rc = self.proc.returncode
            qlog = tail(os.path.join(self.dir, "qemu.log"), 10)
            raise HarnessError(
                f"QEMU exited early (exit {rc}) in run '{self.name}':\n"
                f"{qlog}Last console lines:\n{self.console_tail()}")

    def events(self, event, after=0):
        """The markers @event so far, from index @after on, in order."""
        return self.log.events(event, after)

    def latest(self):
        """The last marker of each event so far."""
        return self.log.latest()

    def marker_count(self):
        """How many markers so far: an @after for wait_marker()."""
        return self.log.count()

    def wait_marker(self, event, after=0, timeout=None):
        """The first marker @event at index >= @after; raise on death,
        hang or @timeout."""
        limit = time.monotonic() + timeout if timeout else None
        while True:
            done = self.log.done()
            m = self.log.find(event, after, wait=0 if done else 0.2)
            if m:
                return m
            if done:
                raise HarnessError(
                    f"guest '{self.name}': the job ended ({done.raw}) "
                    f"without '{event}'. Last console lines:\n"
                    f"{self.console_tail()}")
            self.check_alive()
            if limit and time.monotonic() > limit:
                raise HarnessError(f"no '{event}' from guest '{self.name}' "
                                   f"within {timeout}s "
                                   f"{self.save_hang_state()}. Last "
                                   f"console lines:\n{self.console_tail()}")

    def wait_done(self):
        """Wait for the job to finish; return its exit status."""
        m = self.wait_marker("done")
        return int(m.fields.get("rc", "1"))

    def wait_exit(self, timeout=30):
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.stop()

    def process_rss_kib(self):
        """Resident memory of the whole QEMU process (VmRSS, KiB): guest
        RAM, TCG's translation cache, QEMU itself."""
        return probes.process_rss_kib(self.proc.pid)

    def ram_rss_kib(self):
        """Resident memory of the guest's RAM in the QEMU process (KiB);
        see probes.ram_rss_kib()."""
        return probes.ram_rss_kib(self.proc.pid,
                                  qemu.ram_block_kib(self.spec),
                                  self.spec.numa_nodes)

    def enable_guest_stats(self, period=1):
        self.qmp.cmd("qom-set", path="/machine/peripheral/balloon0",
                     property="guest-stats-polling-interval", value=period)

    def guest_stats(self):
        """The balloon driver's statistics as the host sees them (QMP)."""
        r = self.qmp.cmd("qom-get", path="/machine/peripheral/balloon0",
                         property="guest-stats")
        return r.get("stats", {}) if r else {}


def kill_all():
    for vm in list(_live):
        vm.stop()
