# SPDX-License-Identifier: GPL-2.0
"""Install the Debian packages the harness needs, or say exactly which."""

import os
import shutil
import subprocess

from .common import HarnessError, step, run, LOGS

# What building, booting and measuring a guest kernel needs on Debian 12.
PACKAGES = [
    "make", "gcc", "libc6-dev", "flex", "bison", "bc", "perl",
    "libelf-dev", "libssl-dev", "cpio", "xz-utils", "git", "rsync",
    "ccache", "sparse", "busybox-static", "qemu-system-x86", "python3",
    "python3-matplotlib",
    # checkpatch.pl runs scripts/spdxcheck.py, which needs these.
    "python3-ply", "python3-git",
    # The powerpc64 (pseries, variable pageblock order) build and KUnit boot.
    "gcc-powerpc64le-linux-gnu", "qemu-system-ppc",
    # The arm64 builds (4 KiB and 64 KiB pages) and KUnit boots.
    "gcc-aarch64-linux-gnu", "qemu-system-arm",
    # Static guest programs for the i386, powerpc64 and arm64 guests.
    # (Cross compilers, not gcc-multilib: it conflicts with them.)
    "gcc-i686-linux-gnu", "libc6-dev-i386-cross", "libc6-dev-ppc64el-cross",
    "libc6-dev-arm64-cross",
]
# Only for `make series-docs` (make htmldocs of the touched documentation).
DOC_PACKAGES = ["python3-sphinx", "python3-sphinx-rtd-theme"]
# The default base tree; not needed when the user names one with KERNEL_SRC.
SOURCE_PACKAGE = "linux-source-6.12"


def missing(packages):
    out = []
    for pkg in packages:
        p = subprocess.run(["dpkg-query", "-W", "-f=${Status}", pkg],
                           capture_output=True, text=True)
        if p.returncode != 0 or "install ok installed" not in p.stdout:
            out.append(pkg)
    return out


def _installer():
    """The command prefix that can install packages, or None."""
    if os.geteuid() == 0:
        return []
    if shutil.which("sudo") and subprocess.run(
            ["sudo", "-n", "true"], capture_output=True).returncode == 0:
        return ["sudo", "-n"]
    return None


def ensure(need_source=True, extra=()):
    pkgs = list(PACKAGES) + list(extra)
    if need_source:
        pkgs.append(SOURCE_PACKAGE)
    # Lets the tests ask for a package that cannot be installed.
    pkgs += os.environ.get("PR_EXTRA_PACKAGES", "").split()
    todo = missing(pkgs)
    if not todo:
        return
    prefix = _installer()
    if prefix is None:
        raise HarnessError(
            "missing Debian packages: " + " ".join(todo) + "\n"
            "Installing them needs root or password-less sudo; run as root:\n"
            "  apt-get update && apt-get install -y " + " ".join(todo))
    step("installing Debian packages: " + " ".join(todo))
    log = os.path.join(LOGS, "apt.log")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    run(prefix + ["apt-get", "update"], log=log, env=env,
        what="apt-get update")
    run(prefix + ["apt-get", "install", "-y", "--no-install-recommends"]
        + todo, log=log, env=env, what="apt-get install " + " ".join(todo))
