# SPDX-License-Identifier: GPL-2.0
"""The guest's data channel as the host reads it.

The guest's jobs write "@@PR EVENT key=value ..." lines (mark in
guest/jobs/lib.sh) among plain ones (TAP, program output). A MarkerLog
keeps every line and the markers among them, for the thread that reads
the channel and the threads that wait for an event; vm.VM (a QEMU the
harness started) and libvirt.Domain (one libvirt started) each have one.
"""

import re
import threading


class Marker:
    def __init__(self, t, event, fields, raw):
        self.t, self.event, self.fields, self.raw = t, event, fields, raw

    def num(self, key):
        return int(self.fields[key])

    @staticmethod
    def parse(t, line):
        """The marker of a data-channel @line ("@@PR EVENT key=value ..."),
        seen at @t seconds, or None for any other line."""
        m = re.match(r"^@@PR (\S+)\s*(.*)$", line)
        if not m:
            return None
        fields = dict(kv.split("=", 1) for kv in m.group(2).split()
                      if "=" in kv)
        return Marker(t, m.group(1), fields, line)


class MarkerLog:
    """Lines and markers of one guest's data channel, in order. One thread
    adds lines; any thread reads or waits. Readers get copies."""

    def __init__(self):
        self._lines = []
        self._markers = []
        self._cond = threading.Condition()

    def add(self, t, line):
        """The channel's next @line, read @t seconds into the run."""
        m = Marker.parse(t, line)
        with self._cond:
            self._lines.append(line)
            if m:
                self._markers.append(m)
            self._cond.notify_all()

    def closed(self):
        """The channel ended: wake every waiter."""
        with self._cond:
            self._cond.notify_all()

    def lines(self):
        with self._cond:
            return list(self._lines)

    def markers(self):
        with self._cond:
            return list(self._markers)

    def count(self):
        """How many markers so far: an @after for find() and wait()."""
        with self._cond:
            return len(self._markers)

    def events(self, event, after=0):
        """The markers @event so far, from index @after on, in order."""
        with self._cond:
            return [m for m in self._markers[after:] if m.event == event]

    def latest(self):
        """The last marker of each event so far."""
        with self._cond:
            return {m.event: m for m in self._markers}

    def done(self):
        """The job's "done" marker, or None while it runs."""
        with self._cond:
            return next((m for m in self._markers if m.event == "done"),
                        None)

    def find(self, event, after=0, wait=0):
        """The first marker @event at index >= @after, or None; with
        @wait, sleep up to that many seconds for a new line first when
        there is none yet."""
        with self._cond:
            for m in self._markers[after:]:
                if m.event == event:
                    return m
            if wait:
                self._cond.wait(wait)
            return None
