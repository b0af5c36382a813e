# SPDX-License-Identifier: GPL-2.0
"""Other users and platforms of the engine, beyond the x86-64 guest.

- hv_balloon: the Hyper-V balloon driver reports through the same API;
  it must still compile against the engine (x86_64, CONFIG_HYPERV_BALLOON).
- FLATMEM: i386 without NUMA has no memory sections; the engine keeps its
  maps in an array of its own there. An i386 FLATMEM kernel with
  virtio-balloon and the engine builds, and boots under qemu-system-i386
  to the engine's KUnit suite (no userspace: the kernel stops after it).
"""

import os
import subprocess
import time

from . import kernel
from .common import BUILD, LOGS, HarnessError, ensure_dir

HV_FRAGMENT = """CONFIG_HYPERVISOR_GUEST=y
CONFIG_HYPERV=y
CONFIG_HYPERV_BALLOON=y
"""

# Enough of a guest for virtio-balloon and the engine's KUnit suite on
# i386, with a serial console; FLATMEM is i386's memory model without NUMA.
FLATMEM_FRAGMENT = """CONFIG_PCI=y
CONFIG_VIRTIO_MENU=y
CONFIG_VIRTIO_PCI=y
CONFIG_VIRTIO_BALLOON=y
CONFIG_FLATMEM_MANUAL=y
CONFIG_FLATMEM=y
CONFIG_PAGE_REPORTING=y
CONFIG_COMPACTION=y
CONFIG_MIGRATION=y
CONFIG_PRINTK=y
CONFIG_PRINTK_TIME=y
CONFIG_TTY=y
CONFIG_SERIAL_8250=y
CONFIG_SERIAL_8250_CONSOLE=y
CONFIG_KUNIT=y
CONFIG_PAGE_REPORTING_KUNIT_TEST=y
"""


def _make(name, arch, targets, log):
    env = dict(os.environ, **kernel.BUILD_ENV)
    cmd = ["make", "-C", kernel.TREE, f"O={kernel.obj_dir(name)}",
           f"ARCH={arch}", "CC=ccache gcc", "HOSTCC=ccache gcc",
           f"-j{os.cpu_count() or 2}"] + targets
    with open(log, "a") as f:
        f.write("$ " + " ".join(cmd) + "\n")
        f.flush()
        p = subprocess.run(cmd, env=env, stdout=f, stderr=subprocess.STDOUT)
    if p.returncode != 0:
        with open(log, errors="replace") as f:
            errs = [ln.rstrip() for ln in f if "error" in ln.lower()][:15]
        raise HarnessError(f"{name}: make {' '.join(targets)} failed; "
                           f"log: {log}\n  " + "\n  ".join(errs))


def _config(name):
    with open(os.path.join(kernel.obj_dir(name), ".config")) as f:
        return dict(kernel._fragment_lines(f.name))


def _build(name, arch, fragment, targets):
    kernel.prepare_base()
    kernel.checkout("ours")
    ensure_dir(LOGS)
    frag = os.path.join(BUILD, f"{name}.fragment")
    with open(frag, "w") as f:
        f.write(fragment)
    log = os.path.join(LOGS, f"kernel-{name}.log")
    with open(log, "w") as f:
        f.write(f"# {name}: ARCH={arch}\n")
    fragments = [frag] if arch != kernel.ARCH else [kernel.FRAGMENT, frag]
    kernel.configure(name, fragments, log, arch=arch)
    _make(name, arch, targets, log)
    return _config(name), log


def hv_balloon():
    """Compile drivers/hv/hv_balloon.o against the engine."""
    cfg, log = _build("hv-balloon", kernel.ARCH, HV_FRAGMENT,
                      ["drivers/hv/hv_balloon.o"])
    assert cfg.get("CONFIG_PAGE_REPORTING") == "y", \
        "CONFIG_PAGE_REPORTING is not set next to HYPERV_BALLOON"
    with open(log, errors="replace") as f:
        warn = [ln.strip() for ln in f if "warning:" in ln]
    assert not warn, "warnings:\n" + "\n".join(warn[:10])
    return "drivers/hv/hv_balloon.o, no warning"


def flatmem():
    """Build an i386 FLATMEM kernel with virtio-balloon and the engine."""
    cfg, log = _build("flatmem", "i386", FLATMEM_FRAGMENT, ["bzImage"])
    assert cfg.get("CONFIG_FLATMEM") == "y", "not a FLATMEM configuration"
    assert cfg.get("CONFIG_64BIT", "n") == "n", "not a 32-bit kernel"
    with open(log, errors="replace") as f:
        warn = [ln.strip() for ln in f
                if "warning:" in ln or "unmet direct dependencies" in ln]
    assert not warn, "warnings:\n" + "\n".join(warn[:10])
    return "i386 FLATMEM bzImage with virtio-balloon and PAGE_REPORTING"


def flatmem_kunit_boot(timeout=300):
    """Boot the i386 FLATMEM kernel under TCG until its KUnit suites have
    run (it then panics for want of a root file system); return the path
    of the console log."""
    bz = os.path.join(kernel.obj_dir("flatmem"), "arch", "x86", "boot",
                      "bzImage")
    if not os.path.exists(bz):
        raise HarnessError(f"{bz} missing: build the FLATMEM kernel first")
    rundir = ensure_dir(os.path.join(BUILD, "runs", "flatmem-kunit"))
    console = os.path.join(rundir, "console.log")
    cmd = ["qemu-system-i386", "-M", "pc", "-accel", "tcg", "-m", "512",
           "-smp", "2", "-nographic", "-no-reboot", "-kernel", bz,
           "-append", "console=ttyS0 panic=-1"]
    with open(os.path.join(rundir, "qemu-cmd.txt"), "w") as f:
        f.write(" ".join(cmd) + "\n")
    with open(console, "wb") as out:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        try:
            while proc.poll() is None:
                # After KUnit, no root file system: a panic, and with
                # panic=-1 and -no-reboot QEMU exits.
                with open(console, errors="replace") as f:
                    if "Kernel panic" in f.read():
                        break
                if time.monotonic() > deadline:
                    raise HarnessError(f"i386 FLATMEM guest: no KUnit "
                                       f"totals within {timeout}s; "
                                       f"console: {console}")
                time.sleep(0.5)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
    return console
