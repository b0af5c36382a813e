# SPDX-License-Identifier: GPL-2.0
"""Other users and platforms of the engine, beyond the x86-64 guest.

- hv_balloon: the Hyper-V balloon driver reports through the same API;
  it must still compile against the engine (x86_64, CONFIG_HYPERV_BALLOON):
  the debug kernel (Kconfig.debug) builds it.
- FLATMEM: i386 without NUMA has no memory sections; the engine keeps its
  maps in an array of its own there. An i386 FLATMEM kernel (HIGHMEM, so
  that memory above the direct map is reported too) with virtio-balloon
  and the engine builds and boots under qemu-system-i386.
- powerpc64 (pseries, Book3S-64, 64 KiB pages, hugetlb): pageblock_order
  is a variable there (HUGETLB_PAGE_SIZE_VARIABLE), set at boot. The
  kernel builds with the engine and boots under qemu-system-ppc64.
- arm64 with 4 KiB and with 64 KiB pages (QEMU's virt machine): with
  64 KiB pages a pageblock and a section are 512 MiB, and the tracked
  block (2 MiB, order 5) is much smaller than a pageblock.

Each kernel boots twice: without userspace, to the engine's KUnit suite
(the kernel then finds no root file system and panics, and QEMU exits),
and with the test initramfs built for its architecture (check.py).
"""

import os
import subprocess
import time

from . import kernel
from .common import BUILD, LOGS, HarnessError, die_with_parent, ensure_dir

# What a guest of another architecture needs for virtio-balloon and the
# engine's KUnit suite, which it runs at boot with no userspace.
KUNIT_GUEST_FRAGMENT = """CONFIG_PCI=y
CONFIG_VIRTIO_MENU=y
CONFIG_VIRTIO_PCI=y
CONFIG_VIRTIO_BALLOON=y
CONFIG_PAGE_REPORTING=y
CONFIG_COMPACTION=y
CONFIG_MIGRATION=y
CONFIG_PRINTK=y
CONFIG_PRINTK_TIME=y
CONFIG_TTY=y
CONFIG_KUNIT=y
CONFIG_PAGE_REPORTING_KUNIT_TEST=y
"""

# What the test guest's userspace (harness/guest) needs, as in
# Kconfig.fragment, and its data channel where that is a virtio console.
GUEST_USERSPACE_FRAGMENT = """CONFIG_SMP=y
CONFIG_SYSFS=y
CONFIG_BLK_DEV_INITRD=y
CONFIG_BINFMT_ELF=y
CONFIG_BINFMT_SCRIPT=y
CONFIG_PROC_FS=y
CONFIG_PROC_SYSCTL=y
CONFIG_DEVTMPFS=y
CONFIG_TMPFS=y
CONFIG_SHMEM=y
CONFIG_MULTIUSER=y
CONFIG_FUTEX=y
CONFIG_POSIX_TIMERS=y
CONFIG_HIGH_RES_TIMERS=y
CONFIG_DEBUG_FS=y
CONFIG_VIRTIO_CONSOLE=y
CONFIG_MEMORY_BALLOON=y
CONFIG_BALLOON_COMPACTION=y
CONFIG_TRANSPARENT_HUGEPAGE=y
CONFIG_VM_EVENT_COUNTERS=y
""" + kernel.fragment_section("Not built")

# i386 with serial consoles; FLATMEM is its memory model without NUMA.
# HIGHMEM: a guest of more than 896 MiB, so that memory above the kernel's
# direct map (ZONE_HIGHMEM) is reported too. No ACPI (a fifth of the
# kernel's objects): the guest finds PCI and its CPUs through the BIOS
# tables, and its init ends the run with a reboot (qemu.FOREIGN).
FLATMEM_FRAGMENT = KUNIT_GUEST_FRAGMENT + """CONFIG_FLATMEM_MANUAL=y
CONFIG_FLATMEM=y
CONFIG_SERIAL_8250=y
CONFIG_SERIAL_8250_CONSOLE=y
CONFIG_HIGHMEM4G=y
CONFIG_X86_MPPARSE=y
CONFIG_KERNEL_GZIP=y
""" + GUEST_USERSPACE_FRAGMENT


def _make(name, arch, targets, log, cross=""):
    env = dict(os.environ, **kernel.BUILD_ENV)
    cmd = ["make", "-C", kernel.TREE, f"O={kernel.obj_dir(name)}",
           f"ARCH={arch}", f"CC=ccache {cross}gcc", "HOSTCC=ccache gcc",
           f"-j{os.cpu_count() or 2}"] + targets
    if cross:
        cmd.append(f"CROSS_COMPILE={cross}")
    with open(log, "a") as f:
        f.write("$ " + " ".join(cmd) + "\n")
        f.flush()
        p = subprocess.run(cmd, env=env, stdout=f, stderr=subprocess.STDOUT,
                           preexec_fn=die_with_parent)
    if p.returncode != 0:
        with open(log, errors="replace") as f:
            errs = [ln.rstrip() for ln in f if "error" in ln.lower()][:15]
        raise HarnessError(f"{name}: make {' '.join(targets)} failed; "
                           f"log: {log}\n  " + "\n  ".join(errs))


def _config(name):
    with open(os.path.join(kernel.obj_dir(name), ".config")) as f:
        return dict(kernel._fragment_lines(f.name))


def _build(name, arch, fragment, targets, cross="", variant="ours"):
    """Configure and build @targets of @variant's sources ("ours" or
    "baseline", the unpatched base) for @arch in the object tree @name."""
    kernel.prepare_base()
    kernel.checkout(variant)
    ensure_dir(LOGS)
    frag = os.path.join(BUILD, f"{name}.fragment")
    with open(frag, "w") as f:
        f.write(fragment)
    log = os.path.join(LOGS, f"kernel-{name}.log")
    with open(log, "w") as f:
        f.write(f"# {name}: ARCH={arch}\n")
    fragments = [frag] if arch != kernel.ARCH else [kernel.FRAGMENT, frag]
    # The baseline lacks the series' own options (its KUnit suite):
    # configure() skips those for the "baseline" variant.
    kernel.configure(variant if variant == "baseline" else name, fragments,
                     log, arch=arch, obj=kernel.obj_dir(name), cross=cross)
    _make(name, arch, targets, log, cross=cross)
    return _config(name), log


def hv_balloon():
    """Check that the debug kernel (built) compiled drivers/hv/hv_balloon.o
    next to the engine, without a warning."""
    obj = kernel.obj_dir("debug")
    cfg = _config("debug")
    for opt in ("CONFIG_HYPERV_BALLOON", "CONFIG_PAGE_REPORTING"):
        assert cfg.get(opt) == "y", f"{opt} is not set in the debug kernel"
    assert os.path.exists(os.path.join(obj, "drivers/hv/hv_balloon.o")), \
        "the debug kernel has no drivers/hv/hv_balloon.o"
    _no_warnings(os.path.join(LOGS, "kernel-debug.log"))
    return "drivers/hv/hv_balloon.o in the debug kernel, no warning"


def flatmem():
    """Build an i386 FLATMEM kernel with virtio-balloon and the engine."""
    cfg, log = _build("flatmem", "i386", FLATMEM_FRAGMENT, ["bzImage"])
    assert cfg.get("CONFIG_FLATMEM") == "y", "not a FLATMEM configuration"
    assert cfg.get("CONFIG_64BIT", "n") == "n", "not a 32-bit kernel"
    _no_warnings(log)
    return "i386 FLATMEM bzImage with virtio-balloon and PAGE_REPORTING"


def _no_warnings(log):
    with open(log, errors="replace") as f:
        warn = [ln.strip() for ln in f
                if "warning:" in ln or "unmet direct dependencies" in ln]
    assert not warn, "warnings:\n" + "\n".join(warn[:10])


# A pseries guest with 64 KiB pages and hugetlb: pageblock_order is set at
# boot (HUGETLB_PAGE_SIZE_VARIABLE), and the console is hvc0.
PPC64_CROSS = "powerpc64le-linux-gnu-"
PPC64_FRAGMENT = KUNIT_GUEST_FRAGMENT + """CONFIG_PPC64=y
CONFIG_PPC_BOOK3S_64=y
CONFIG_CPU_LITTLE_ENDIAN=y
CONFIG_PPC_PSERIES=y
CONFIG_PPC_64K_PAGES=y
# SLOF boots the kernel through its Open Firmware client interface.
CONFIG_PPC_OF_BOOT_TRAMPOLINE=y
# Debian's ppc64el userspace is built for POWER8: it uses VSX.
CONFIG_PPC_FPU=y
CONFIG_ALTIVEC=y
CONFIG_VSX=y
CONFIG_HUGETLBFS=y
CONFIG_HUGETLB_PAGE=y
CONFIG_HUGETLB_PAGE_SIZE_VARIABLE=y
CONFIG_HVC_CONSOLE=y
# ppc64's own default: tinyconfig's 1024 fails the base tree's slice.c.
CONFIG_FRAME_WARN=2048
""" + GUEST_USERSPACE_FRAGMENT


def ppc64():
    """Build a powerpc64 pseries kernel (variable pageblock order) with
    virtio-balloon and the engine."""
    cfg, log = _build("ppc64", "powerpc", PPC64_FRAGMENT, ["vmlinux"],
                      cross=PPC64_CROSS)
    assert cfg.get("CONFIG_HUGETLB_PAGE_SIZE_VARIABLE") == "y", \
        "pageblock_order is not variable in this configuration"
    _no_warnings(log)
    return "powerpc64le pseries vmlinux, HUGETLB_PAGE_SIZE_VARIABLE, engine"


def ppc64_kunit_boot(timeout=600):
    """Boot the powerpc64 kernel on QEMU's pseries machine (TCG) until its
    KUnit suites have run; return the path of the console log."""
    vmlinux = ppc64_image()
    return _kunit_boot("ppc64-kunit", vmlinux, [
        "qemu-system-ppc64", "-M", "pseries", "-accel", "tcg", "-m", "1024",
        "-nographic", "-no-reboot", "-kernel", vmlinux,
        "-append", "console=hvc0 panic=-1"], timeout)


def flatmem_image():
    """The i386 FLATMEM kernel image."""
    return os.path.join(kernel.obj_dir("flatmem"), "arch", "x86", "boot",
                        "bzImage")


def ppc64_image():
    """The powerpc64 kernel image."""
    return os.path.join(kernel.obj_dir("ppc64"), "vmlinux")


def flatmem_kunit_boot(timeout=300):
    """Boot the i386 FLATMEM kernel under TCG until its KUnit suites have
    run; return the path of the console log."""
    bz = flatmem_image()
    return _kunit_boot("flatmem-kunit", bz, [
        "qemu-system-i386", "-M", "pc", "-accel", "tcg", "-m", "512",
        "-smp", "2", "-nographic", "-no-reboot", "-kernel", bz,
        "-append", "console=ttyS0 panic=-1"], timeout)


# arm64 on QEMU's virt machine: PL011 console, PCIe through the generic
# ECAM host bridge; hugetlb on, so that pageblock_order is the huge page
# order (13, 512 MiB, with 64 KiB pages).
ARM64_CROSS = "aarch64-linux-gnu-"
ARM64_FRAGMENT = KUNIT_GUEST_FRAGMENT + """CONFIG_PCI_HOST_GENERIC=y
CONFIG_SERIAL_AMBA_PL011=y
CONFIG_SERIAL_AMBA_PL011_CONSOLE=y
CONFIG_HUGETLBFS=y
CONFIG_HUGETLB_PAGE=y
""" + GUEST_USERSPACE_FRAGMENT
ARM64_PAGES = {4: "CONFIG_ARM64_4K_PAGES=y\n", 64: "CONFIG_ARM64_64K_PAGES=y\n"}


def _arm64_name(kib, variant):
    return f"arm64-{kib}k" + ("" if variant == "ours" else f"-{variant}")


def arm64(kib, variant="ours"):
    """Build an arm64 kernel with @kib KiB pages and virtio-balloon, with
    the engine (@variant "ours") or with the upstream reporter
    ("baseline", for the benchmark)."""
    cfg, log = _build(_arm64_name(kib, variant), "arm64",
                      ARM64_FRAGMENT + ARM64_PAGES[kib], ["Image"],
                      cross=ARM64_CROSS, variant=variant)
    assert cfg.get("CONFIG_PAGE_REPORTING") == "y", "no PAGE_REPORTING"
    _no_warnings(log)
    return (f"arm64 Image, {kib} KiB pages, hugetlb, "
            + ("engine" if variant == "ours" else "upstream reporter"))


def arm64_image(kib, variant="ours"):
    """The arm64 kernel image with @kib KiB pages of @variant."""
    return os.path.join(kernel.obj_dir(_arm64_name(kib, variant)), "arch",
                        "arm64", "boot", "Image")


def arm64_kunit_boot(kib, timeout=600):
    """Boot the arm64 kernel with @kib KiB pages on QEMU's virt machine
    (TCG) until its KUnit suites have run; return the console log's path."""
    image = arm64_image(kib)
    return _kunit_boot(f"arm64-{kib}k-kunit", image, [
        "qemu-system-aarch64", "-M", "virt", "-cpu", "max", "-accel", "tcg",
        "-m", "1536", "-smp", "2", "-nographic", "-no-reboot",
        "-kernel", image, "-append", "console=ttyAMA0 panic=-1"], timeout)


# Firmware or the kernel died before KUnit could run.
BOOT_FATAL = ("Program Exception", "Kernel panic - not syncing: Attempted "
              "to kill the idle task")


def _kunit_boot(name, image, cmd, timeout):
    """Run @cmd, a QEMU that boots @image without userspace: after its
    KUnit suites the kernel finds no root file system and panics, and with
    panic=-1 and -no-reboot QEMU exits. Returns the console log's path."""
    if not os.path.exists(image):
        raise HarnessError(f"{image} missing: build that kernel first")
    rundir = ensure_dir(os.path.join(BUILD, "runs", name))
    console = os.path.join(rundir, "console.log")
    with open(os.path.join(rundir, "qemu-cmd.txt"), "w") as f:
        f.write(" ".join(cmd) + "\n")
    with open(console, "wb") as out:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        try:
            while proc.poll() is None:
                with open(console, errors="replace") as f:
                    text = f.read()
                fatal = [m for m in BOOT_FATAL if m in text]
                if fatal:
                    raise HarnessError(f"{name}: {fatal[0]!r} before KUnit "
                                       f"finished; console: {console}")
                if "Kernel panic" in text:
                    break
                if time.monotonic() > deadline:
                    raise HarnessError(f"{name}: no panic after KUnit within "
                                       f"{timeout}s; console: {console}")
                time.sleep(0.5)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
    return console
