# SPDX-License-Identifier: GPL-2.0
"""What the host sees of a guest: the QEMU process's memory, from /proc."""

import struct

from .common import HarnessError

PAGE = 4096
PM_PRESENT = 1 << 63
PM_SWAPPED = 1 << 62


def process_rss_kib(pid):
    """Resident memory of process @pid (VmRSS, KiB), or None if it is
    gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def ram_rss_kib(pid, block_kib, blocks):
    """Resident memory of a guest's RAM in QEMU process @pid (KiB): the Rss
    of its private anonymous mappings of @block_kib KiB, which must be
    @blocks in number (one RAM block, or one per NUMA node), from
    /proc/PID/smaps. Unlike VmRSS it leaves out QEMU's own memory, TCG's
    translation cache first, which grows while the guest runs new code.
    None if the process is gone or the number of such mappings is not
    @blocks (a DIMM of the same size; shared or file-backed RAM is not
    looked for)."""
    rss, found, match = 0, 0, False
    try:
        with open(f"/proc/{pid}/smaps") as f:
            for line in f:
                k, _, rest = line.partition(" ")
                if "-" in k and not k.endswith(":"):
                    # perms offset dev inode [path]
                    cur, match = rest.split(), False
                elif k == "Size:":
                    match = (int(rest.split()[0]) == block_kib
                             and cur[0] == "rw-p" and len(cur) == 4)
                    found += match
                elif k == "Rss:" and match:
                    rss += int(rest.split()[0])
    except OSError:
        return None
    return rss if found == blocks else None


def range_touched(pid, hva, length):
    """Whether any page of [@hva, @hva + @length) of process @pid is in
    memory (present or swapped), from /proc/PID/pagemap; None if the
    process is gone."""
    path = f"/proc/{pid}/pagemap"
    try:
        with open(path, "rb") as f:
            f.seek(hva // PAGE * 8)
            data = f.read(length // PAGE * 8)
    except PermissionError as e:
        raise HarnessError(f"cannot read {path} (needs root): {e}")
    except OSError:
        return None
    return any(entry & (PM_PRESENT | PM_SWAPPED)
               for (entry,) in struct.iter_unpack("<Q", data))
