# SPDX-License-Identifier: GPL-2.0
"""The guest's initramfs: busybox-static, our init, jobs and static programs.

The archive is written here in the kernel's "newc" cpio format, so device
nodes can be included without root and no external cpio is needed.
"""

import glob
import os
import stat

from .common import BUILD, LOGS, REPO, HarnessError, ensure_dir, run

GUEST = os.path.join(REPO, "harness", "guest")
BUSYBOX = "/bin/busybox"
# Guest programs written here, compiled static: the harness's own, and the
# programs of tools/testing/selftests/mm/ in this repository. Those named
# *_test.c are kselftests (run by the kselftest job, built against the base
# tree's kselftest_harness.h); the others (benchmarks, stress) go to /bin.
_MM = os.path.join(REPO, "tools", "testing", "selftests", "mm")
SELFTESTS = sorted(glob.glob(os.path.join(_MM, "*_test.c")))
PROGRAMS = sorted(glob.glob(os.path.join(GUEST, "*.c")) +
                  [p for p in glob.glob(os.path.join(_MM, "*.c"))
                   if p not in SELFTESTS])
OUTPUT = os.path.join(BUILD, "initramfs.cpio")


class Cpio:
    """A minimal writer of the newc format (see usr/gen_init_cpio.c)."""

    def __init__(self, path):
        self.f = open(path, "wb")
        self.ino = 1

    def _entry(self, name, mode, data=b"", rdev=(0, 0), nlink=1):
        name_b = name.encode() + b"\0"
        hdr = "070701" + "".join(f"{v:08x}" for v in (
            self.ino, mode, 0, 0, nlink, 0, len(data), 0, 0,
            rdev[0], rdev[1], len(name_b), 0))
        self.ino += 1
        self.f.write(hdr.encode() + name_b)
        self.f.write(b"\0" * (-(110 + len(name_b)) % 4))
        self.f.write(data)
        self.f.write(b"\0" * (-len(data) % 4))

    def dir(self, name):
        self._entry(name, stat.S_IFDIR | 0o755, nlink=2)

    def file(self, name, data, mode=0o755):
        self._entry(name, stat.S_IFREG | mode, data)

    def symlink(self, name, target):
        self._entry(name, stat.S_IFLNK | 0o777, target.encode())

    def chardev(self, name, major, minor):
        self._entry(name, stat.S_IFCHR | 0o600, rdev=(major, minor))

    def close(self):
        self._entry("TRAILER!!!", 0)
        self.f.close()


# Guests of another architecture: the compiler for their programs and its
# options, and Debian's name of the architecture (for its busybox-static).
CROSS = {
    "arm64": ("aarch64-linux-gnu-gcc", [], "arm64"),
    "i386": ("i686-linux-gnu-gcc", [], "i386"),
    "ppc64": ("powerpc64le-linux-gnu-gcc", [], "ppc64el"),
}


def foreign_busybox(arch):
    """Debian's static busybox for @arch, taken from the archive with a
    private apt state under build/ (installing busybox-static:<arch> would
    replace the host's own /bin/busybox, and the host's apt configuration
    stays as it is)."""
    debarch = CROSS[arch][2]
    root = os.path.join(BUILD, "foreign", debarch)
    busybox = os.path.join(root, "bin", "busybox")
    if os.path.exists(busybox):
        return busybox
    apt = ensure_dir(os.path.join(root, "apt"))
    for d in ("lists/partial", "cache/archives/partial", "debs"):
        ensure_dir(os.path.join(apt, d))
    opts = [f"-oAPT::Architecture={debarch}",
            f"-oAPT::Architectures::={debarch}",
            f"-oDir::State::Lists={apt}/lists",
            f"-oDir::Cache={apt}/cache", "-oDebug::NoLocking=1"]
    log = os.path.join(LOGS, f"busybox-{debarch}.log")
    # An index that fails (a mirror in sync) need not be busybox's: the
    # download below says whether what it needs came.
    run(["apt-get"] + opts + ["update"], log=log, check=False)
    run(["apt-get"] + opts + ["download", "busybox-static"], log=log,
        cwd=os.path.join(apt, "debs"), what=f"apt-get download "
        f"busybox-static:{debarch}")
    debs = glob.glob(os.path.join(apt, "debs", "busybox-static_*.deb"))
    if not debs:
        raise HarnessError(f"no busybox-static {debarch} package; see {log}")
    run(["dpkg-deb", "-x", debs[0], root], log=log,
        what=f"dpkg-deb -x {os.path.basename(debs[0])}")
    if not os.path.exists(busybox):
        raise HarnessError(f"{busybox} is not in {debs[0]}")
    return busybox


def _compile(src, out, tree, log, cc=("gcc", [])):
    inc = ["-I", os.path.join(tree, "tools", "testing", "selftests", "mm"),
           "-I", os.path.join(tree, "tools", "testing", "selftests"),
           # After the C library's own: its asm/ headers are the
           # target's, which another architecture's libc needs.
           "-idirafter", os.path.join(tree, "tools", "include", "uapi")]
    run([cc[0]] + cc[1] + ["-static", "-O2", "-Wall", "-pthread"] + inc
        + ["-o", out, src], log=log, what=f"compiling {os.path.basename(src)}")


def build(tree, output=OUTPUT, selftests_from=None, arch=None):
    """Build the initramfs at @output; @tree provides the kselftest headers.
    With @selftests_from (a kernel tree), the programs of
    tools/testing/selftests/mm/ are compiled from that tree's copies, as a
    user of the series has them, instead of this repository's. @arch: a
    guest of another architecture (a key of CROSS)."""
    busybox, cc = BUSYBOX, ("gcc", [])
    if arch:
        busybox, cc = foreign_busybox(arch), CROSS[arch][:2]
    if not os.path.exists(busybox):
        raise HarnessError(f"{busybox} missing: install busybox-static")
    bindir = ensure_dir(os.path.join(os.path.dirname(output), "guest-bin"))
    log = os.path.join(LOGS, f"guest-programs{'-' + arch if arch else ''}"
                       ".log")
    progs = {}
    for src in PROGRAMS + SELFTESTS:
        name = os.path.splitext(os.path.basename(src))[0]
        is_selftest = src in SELFTESTS
        if selftests_from and src.startswith(_MM + os.sep):
            src = os.path.join(selftests_from, os.path.relpath(src, REPO))
            if not os.path.exists(src):
                raise HarnessError(f"{src} is missing from {selftests_from}")
        out = os.path.join(bindir, name)
        if (not os.path.exists(out)
                or os.path.getmtime(out) < os.path.getmtime(src)):
            _compile(src, out, tree, log, cc)
        progs[name] = (out, is_selftest)
    path = output
    cpio = Cpio(path + ".tmp")
    for d in ("bin", "sbin", "usr", "usr/bin", "usr/sbin", "dev", "proc",
              "sys", "tmp", "run", "jobs", "kselftest"):
        cpio.dir(d)
    cpio.chardev("dev/console", 5, 1)
    with open(busybox, "rb") as f:
        cpio.file("bin/busybox", f.read())
    cpio.symlink("bin/sh", "busybox")
    with open(os.path.join(GUEST, "init"), "rb") as f:
        cpio.file("init", f.read())
    for job in sorted(glob.glob(os.path.join(GUEST, "jobs", "*.sh"))):
        with open(job, "rb") as f:
            cpio.file("jobs/" + os.path.basename(job), f.read())
    for name, (out, is_selftest) in sorted(progs.items()):
        with open(out, "rb") as f:
            where = "kselftest/" if is_selftest else "bin/"
            cpio.file(where + name, f.read())
    cpio.close()
    os.replace(path + ".tmp", path)
    return path
