# SPDX-License-Identifier: GPL-2.0
"""What the host receives, counted on the host, the same way for any guest.

QEMU discards every range the guest reports on the reporting virtqueue with
ram_block_discard_range() (hw/virtio/virtio-balloon.c), which has a trace
event of the same name giving the host address and length. DiscardWatch
follows that trace while a guest runs and, one window (1 s) after each
discard, reads the QEMU process's /proc/PID/pagemap for the range: a page
present again means the guest allocated and touched part of that block
within the window, i.e. the report was wasted. This works for the upstream
reporter too, which exports no statistics.

Only valid when nothing else discards guest RAM: no balloon inflation, no
free page hinting, no migration (the benchmark guests have none).
"""

import collections
import dataclasses
import os
import re
import threading
import time

from . import probes

TRACE_EVENT = "ram_block_discard_range"
# QEMU 7.2 softmmu/trace-events:
#   ram_block_discard_range "%s@%p + 0x%zx: madvise: %d fallocate: %d ret: %d"
LINE = re.compile(r"ram_block_discard_range (\S+)@(0x[0-9a-f]+) \+ "
                   r"(0x[0-9a-f]+): madvise: (-?\d+) fallocate: (-?\d+) "
                   r"ret: (-?\d+)")


@dataclasses.dataclass(frozen=True)
class Discards:
    """The host's discards in a stretch of time."""
    bytes: int          # discarded
    ranges: int         # discard calls
    judged: int         # ranges whose window has passed
    touched: int        # of those, found present again within the window

    @property
    def touched_share(self):
        return self.touched / self.judged if self.judged else None


def qemu_args(path):
    """QEMU arguments that log the discard trace event to @path."""
    return ["-trace", f"enable={TRACE_EVENT}", "-D", path]


class DiscardWatch:
    """Follow @vm's discard trace in @path from a thread until stop()."""

    WINDOW = 1.0

    def __init__(self, vm, path, window=WINDOW):
        self.vm, self.path, self.window = vm, path, window
        self.events = []          # (t, length, touched or None)
        self.errors = 0
        self._pending = collections.deque()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._thread.join()
        # Ranges whose window had not passed are left unjudged (None).
        return self

    def _touched(self, hva, length):
        """Whether any page of [hva, hva + length) is in QEMU's memory."""
        return probes.range_touched(self.vm.proc.pid, hva, length)

    def _run(self):
        while not os.path.exists(self.path):
            if self._stop.wait(0.05):
                return
        with open(self.path) as f:
            buf = ""
            while True:
                stopping = self._stop.is_set()
                chunk = f.read()
                now = self.vm.now()
                if chunk:
                    buf += chunk
                    *lines, buf = buf.split("\n")
                    for line in lines:
                        m = LINE.search(line)
                        if not m:
                            continue
                        if int(m.group(6)) != 0:
                            self.errors += 1
                            continue
                        idx = len(self.events)
                        self.events.append([now, int(m.group(3), 16), None])
                        self._pending.append((now, idx, int(m.group(2), 16)))
                while self._pending and \
                        self._pending[0][0] + self.window <= now:
                    _, idx, hva = self._pending.popleft()
                    self.events[idx][2] = self._touched(
                        hva, self.events[idx][1])
                if stopping:
                    return
                self._stop.wait(0.05)

    def quiet_since(self):
        """vm.now() of the last discard seen, or 0."""
        return self.events[-1][0] if self.events else 0.0

    def wait_quiet(self, quiet_s=3.0, limit_s=120.0):
        """Wait until no discard came for @quiet_s seconds (at most
        @limit_s); return how long after the call that was."""
        t0 = self.vm.now()
        while True:
            self.vm.check_alive()
            now = self.vm.now()
            if now - max(self.quiet_since(), t0) >= quiet_s or \
                    now - t0 >= limit_s:
                return now - t0
            time.sleep(0.1)

    def between(self, t0, t1):
        """The Discards of [@t0, @t1)."""
        sel = [e for e in self.events if t0 <= e[0] < t1]
        judged = [e for e in sel if e[2] is not None]
        return Discards(sum(e[1] for e in sel), len(sel), len(judged),
                        sum(1 for e in judged if e[2]))

