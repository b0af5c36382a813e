# SPDX-License-Identifier: GPL-2.0
"""Builds that no guest boots: the other users of the engine's API.

- hv_balloon: the Hyper-V balloon driver reports through the same API;
  it must still compile against the engine (x86_64, CONFIG_HYPERV_BALLOON).
- FLATMEM: the engine needs SPARSEMEM. On a FLATMEM kernel (i386 without
  NUMA) virtio-balloon must still build and link, without reporting.
"""

import os
import subprocess

from . import kernel
from .common import BUILD, LOGS, HarnessError, ensure_dir

HV_FRAGMENT = """CONFIG_HYPERVISOR_GUEST=y
CONFIG_HYPERV=y
CONFIG_HYPERV_BALLOON=y
"""

# Enough of a guest for virtio-balloon on i386; FLATMEM is i386's memory
# model without NUMA.
FLATMEM_FRAGMENT = """CONFIG_PCI=y
CONFIG_VIRTIO_MENU=y
CONFIG_VIRTIO_PCI=y
CONFIG_VIRTIO_BALLOON=y
CONFIG_FLATMEM_MANUAL=y
CONFIG_FLATMEM=y
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
    """Build and link an i386 FLATMEM kernel with virtio-balloon."""
    cfg, log = _build("flatmem", "i386", FLATMEM_FRAGMENT, ["vmlinux"])
    assert cfg.get("CONFIG_FLATMEM") == "y", "not a FLATMEM configuration"
    assert cfg.get("CONFIG_VIRTIO_BALLOON") == "y", "no virtio-balloon"
    assert cfg.get("CONFIG_PAGE_REPORTING", "n") == "n", \
        "PAGE_REPORTING enabled on FLATMEM"
    with open(log, errors="replace") as f:
        warn = [ln.strip() for ln in f
                if "warning:" in ln or "unmet direct dependencies" in ln]
    assert not warn, "warnings:\n" + "\n".join(warn[:10])
    return "i386 vmlinux links, virtio-balloon without reporting"
