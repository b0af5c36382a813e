# SPDX-License-Identifier: GPL-2.0
"""Free page reporting through libvirt, as most users start their guests.

Debian's libvirt daemon defines and starts a TCG domain that boots the
tested kernel and initramfs directly, with

    <memballoon model='virtio' freePageReporting='on'/>

and the guest frees memory: it must come back to the QEMU process that
libvirt started (its resident memory), and `virsh dommemstat` shows the
guest's free memory and QEMU's RSS as libvirt reports them. Where no
libvirt daemon runs (no systemd here), the check starts virtlogd and
libvirtd itself and stops them afterwards.
"""

import os
import re
import shutil
import subprocess
import threading
import time
from xml.sax.saxutils import escape

from . import deps
from .common import BUILD, HarnessError, ensure_dir, tail
from .measure import watch_return
from .probes import process_rss_kib
from .markers import MarkerLog
from .vm import splats

PACKAGES = ["libvirt-daemon-system", "libvirt-clients"]
URI = "qemu:///system"
SOCKETS = {"virtlogd": "/run/libvirt/virtlogd-sock",
           "libvirtd": "/run/libvirt/libvirt-sock"}
DOMAIN = "pr-libvirt-check"
# The first connection probes every installed qemu-system-* binary for its
# capabilities: minutes on a busy machine under TCG.
SLOW = 300

# The domain users write to get free page reporting: a virtio balloon
# with freePageReporting='on' (libvirt 6.9 and later); the statistics
# period lets `virsh dommemstat` show the guest's free memory.
DOMAIN_XML = """<domain type='qemu'>
  <name>{name}</name>
  <memory unit='MiB'>{mem_mib}</memory>
  <vcpu>{smp}</vcpu>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    <kernel>{kernel}</kernel>
    <initrd>{initrd}</initrd>
    <cmdline>{cmdline}</cmdline>
  </os>
  <cpu mode='maximum'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <serial type='file'>
      <source path='{console}'/>
      <target port='0'/>
    </serial>
    <serial type='file'>
      <source path='{data}'/>
      <target port='1'/>
    </serial>
    <memballoon model='virtio' freePageReporting='on'>
      <stats period='1'/>
    </memballoon>
  </devices>
</domain>
"""


def domain_xml(name, kernel, initrd, cmdline, console, data, mem_mib=2048,
               smp=2):
    """The domain definition of a guest that boots @kernel and @initrd
    with @cmdline, its two serial ports written to @console and @data."""
    return DOMAIN_XML.format(
        name=escape(name), kernel=escape(kernel), initrd=escape(initrd),
        cmdline=escape(cmdline), console=escape(console), data=escape(data),
        mem_mib=mem_mib, smp=smp)


def parse_dommemstat(text):
    """`virsh dommemstat` output ("name value" per line, KiB) as a dict."""
    out = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and re.fullmatch(r"\d+", parts[1]):
            out[parts[0]] = int(parts[1])
    return out


def virsh(*args, check=True, timeout=60):
    try:
        p = subprocess.run(["virsh", "-c", URI] + list(args),
                           capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise HarnessError(f"virsh {' '.join(args)} did not return within "
                           f"{timeout}s") from None
    if check and p.returncode != 0:
        raise HarnessError(f"virsh {' '.join(args)} failed (exit "
                           f"{p.returncode}): {(p.stderr or p.stdout).strip()}")
    return p


class Daemon:
    """virtlogd and libvirtd for the duration of a `with` block: the ones
    running already, or started here (in the foreground, as children) and
    stopped at the end. Nothing under /etc is changed."""

    def __init__(self, rundir):
        self.rundir = rundir
        self.started = []

    @staticmethod
    def _answers(prog):
        if not os.path.exists(SOCKETS[prog]):
            return False
        if prog == "virtlogd":
            return True
        try:
            return virsh("uri", check=False, timeout=SLOW).returncode == 0
        except HarnessError:
            return False

    def _start(self, prog, args):
        path = shutil.which(prog) or os.path.join("/usr/sbin", prog)
        log = open(os.path.join(self.rundir, f"{prog}.log"), "w")
        proc = subprocess.Popen(
            [path, "--pid-file", os.path.join(self.rundir, f"{prog}.pid")]
            + args, stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True)
        self.started.append((prog, proc, log))
        deadline = time.monotonic() + SLOW
        while not self._answers(prog):
            if proc.poll() is not None:
                raise HarnessError(
                    f"{prog} exited ({proc.returncode}) at start:\n"
                    + tail(os.path.join(self.rundir, f"{prog}.log"), 10))
            if time.monotonic() > deadline:
                raise HarnessError(f"{prog} did not answer within {SLOW}s; "
                                   f"log: {self.rundir}/{prog}.log")
            time.sleep(0.5)

    def __enter__(self):
        try:
            if not self._answers("virtlogd"):
                # The serial ports' files go through virtlogd, which
                # would roll them over at 2 MiB (0: never).
                conf = os.path.join(self.rundir, "virtlogd.conf")
                with open(conf, "w") as f:
                    f.write("max_size = 0\n")
                self._start("virtlogd", ["--config", conf])
            if not self._answers("libvirtd"):
                self._start("libvirtd", [])
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc):
        for prog, proc, log in reversed(self.started):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            log.close()
        self.started = []


class Domain:
    """A domain started by libvirt, as measure.watch_return() watches a
    guest (measure.Watched): markers from the data port, QEMU's RSS, the
    balloon's statistics."""

    accel = "tcg"

    def __init__(self, name, kernel, initrd, cmdline, rundir, mem_mib=2048,
                 timeout=300):
        self.name, self.rundir, self.timeout = name, rundir, timeout
        self.console_path = os.path.join(rundir, "console.log")
        self.data_path = os.path.join(rundir, "data.log")
        self.xml = domain_xml(name, kernel, initrd, cmdline,
                              self.console_path, self.data_path, mem_mib)
        self.log = MarkerLog()
        self.pid = None
        self.stopped = threading.Event()

    def __enter__(self):
        for path in (self.console_path, self.data_path):
            open(path, "w").close()
        xml = os.path.join(self.rundir, "domain.xml")
        with open(xml, "w") as f:
            f.write(self.xml)
        # A domain left by an interrupted run.
        virsh("destroy", self.name, check=False)
        virsh("undefine", self.name, check=False)
        virsh("define", xml, timeout=SLOW)
        self.t0 = time.monotonic()
        self.deadline = self.t0 + self.timeout
        try:
            virsh("start", self.name, timeout=SLOW)
            with open(f"/run/libvirt/qemu/{self.name}.pid") as f:
                self.pid = int(f.read().strip())
        except (HarnessError, OSError, ValueError) as e:
            virsh("undefine", self.name, check=False)
            raise HarnessError(f"libvirt could not start the domain: {e}; "
                               f"QEMU's log: /var/log/libvirt/qemu/"
                               f"{self.name}.log") from None
        self.reader = threading.Thread(target=self._follow, daemon=True)
        self.reader.start()
        return self

    def __exit__(self, *exc):
        self.stopped.set()
        virsh("destroy", self.name, check=False)
        virsh("undefine", self.name, check=False)

    def _follow(self):
        """Parse the data port's file as the guest writes it."""
        buf = ""
        with open(self.data_path, errors="replace") as f:
            while not self.stopped.is_set():
                chunk = f.read()
                if not chunk:
                    time.sleep(0.1)
                    continue
                buf += chunk
                while "\n" in buf:
                    line, buf = buf.split("\n", 1)
                    self.log.add(self.now(), line.rstrip("\r"))

    def now(self):
        return time.monotonic() - self.t0

    def latest(self):
        """The last marker of each event so far."""
        return self.log.latest()

    def console(self):
        with open(self.console_path, errors="replace") as f:
            return f.read()

    def check_alive(self):
        if self.pid and os.path.exists(f"/proc/{self.pid}"):
            if time.monotonic() > self.deadline:
                raise HarnessError(f"domain {self.name} did not finish "
                                   f"within {self.timeout}s")
            return
        if not self.log.done():
            raise HarnessError(
                f"the domain's QEMU is gone; console "
                f"({self.console_path}):\n{self.console()[-2000:]}")

    def wait_marker(self, event, timeout=None):
        limit = time.monotonic() + (timeout or self.timeout)
        while True:
            m = self.log.find(event, wait=0.2)
            if m:
                return m
            self.check_alive()
            if time.monotonic() > limit:
                raise HarnessError(f"no '{event}' from domain {self.name} "
                                   f"within {timeout}s; console:\n"
                                   f"{self.console()[-2000:]}")

    def process_rss_kib(self):
        return process_rss_kib(self.pid)

    def enable_guest_stats(self, period=1):
        virsh("dommemstat", self.name, "--period", str(period), "--live")

    def dommemstat(self):
        return parse_dommemstat(virsh("dommemstat", self.name).stdout)

    def guest_stats(self):
        """The balloon's statistics in QMP's names, for watch_return()."""
        unused = self.dommemstat().get("unused")
        return {} if unused is None else {"stat-free-memory": unused << 10}


def e2e(kernel, initrd, mib=1024, limit=60):
    """Define and start the domain, free @mib MiB in the guest, and check
    that 90% of it comes back to QEMU within @limit seconds; undefine it.
    Returns a one-line account."""
    deps.ensure(need_source=False, extra=PACKAGES)
    rundir = ensure_dir(os.path.join(BUILD, "runs", "check-libvirt"))
    cmdline = (f"console=ttyS0 panic=-1 oops=panic kunit.enable=0 "
               f"pr.job=demo pr.mib={mib} pr.workload=tmpfs pr.hold=2 "
               f"pr.after={limit + 10}")
    with Daemon(rundir), Domain(DOMAIN, kernel, initrd, cmdline, rundir,
                               timeout=limit + 300) as g:
        r = watch_return(g, limit=limit, live=False)
        stat = g.dommemstat()
    bad = splats(g.console())
    assert not bad, "kernel problems on the console:\n" + "\n".join(bad)
    pct = r.pct
    assert pct >= 90, (f"only {pct:.0f}% of {r.freed_mib:.0f} MiB came "
                       f"back within {limit}s")
    return (f"{pct:.0f}% of {r.freed_mib:.0f} MiB back, 90% after "
            f"{r.t90:.1f}s; dommemstat: unused "
            f"{stat.get('unused', 0) >> 10} MiB, rss "
            f"{stat.get('rss', 0) >> 10} MiB")
