# SPDX-License-Identifier: GPL-2.0
"""What a guest run needs: the Debian packages, a kernel and the
initramfs, for one variant."""

import os

from . import deps, initramfs, kernel
from .common import step


def prepare(variant, install=True):
    """Packages, the base tree and @variant's sources in it, without a
    build; returns the base's info."""
    src = os.environ.get("KERNEL_SRC") or None
    if install:
        deps.ensure(need_source=not src)
    kernel.prepare_base(src)
    kernel.checkout(kernel.source_of(variant))
    return kernel.base_info()


def build_all(variant, install=True):
    """Packages, kernel and initramfs; returns (bzImage, initramfs, info)."""
    src = os.environ.get("KERNEL_SRC") or None
    if install:
        deps.ensure(need_source=not src)
    step(f"building the guest kernel ({variant})")
    bz = kernel.build(variant, src)
    step("building the initramfs (busybox-static + guest programs)")
    initrd = initramfs.build(kernel.TREE)
    return bz, initrd, kernel.base_info()
