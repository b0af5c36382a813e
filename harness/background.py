# SPDX-License-Identifier: GPL-2.0
"""Kernel builds on a background thread while guests run.

A TCG guest of the test command spends much of its time waiting (for the
host to discard memory, for a timer, for QEMU): a build at the lowest CPU
priority fills what the guests leave of the two cores. The builds run one
after another, never two at once, and the caller starts no kernel build
of its own until it has waited for the last of them.
"""

import os
import threading
import time


class Builds:
    """@jobs, a list of (name, function). After start(), they run in order
    on one thread of nice 19; without it, each runs in the caller when
    first waited for. wait(name) returns what the function returned, or
    raises what it raised, once it has finished."""

    def __init__(self, jobs):
        self.jobs = dict(jobs)
        self.done = {}
        self.cond = threading.Condition()
        self.thread = threading.Thread(target=self._run, daemon=True,
                                       name="background-builds")

    def start(self):
        self.thread.start()
        return self

    @property
    def in_background(self):
        return self.thread.ident is not None

    def _do(self, name):
        t0 = time.monotonic()
        try:
            out = (self.jobs[name](), None)
        except Exception as e:  # handed to the caller of wait()
            out = (None, e)
        with self.cond:
            self.done[name] = out + (time.monotonic() - t0,)
            self.cond.notify_all()

    def _run(self):
        # Linux keeps a nice value per thread, and make and the compilers
        # it starts inherit this thread's.
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
        for name in self.jobs:
            self._do(name)

    def wait(self, name):
        """The result of job @name and how long it ran (seconds), once it
        has finished; raises what the job raised."""
        if name not in self.jobs:
            raise KeyError(name)
        if not self.in_background and name not in self.done:
            self._do(name)
        with self.cond:
            while name not in self.done:
                self.cond.wait()
            value, error, took = self.done[name]
        if error is not None:
            raise error
        return value, took

    def join(self):
        """Wait for every job started (their failures are reported by
        wait())."""
        if self.in_background:
            self.thread.join()
