# SPDX-License-Identifier: GPL-2.0
"""A QMP client: QEMU's machine protocol over its UNIX socket."""

import json
import socket
import threading
import time

from .common import HarnessError


class Qmp:
    """Just enough QMP: negotiate, execute, keep events."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(path)
        self.sock.settimeout(30)
        self.rfile = self.sock.makefile("r")
        self.events = []
        self.lock = threading.Lock()
        self._read()  # greeting
        self.cmd("qmp_capabilities")

    def _read(self):
        try:
            line = self.rfile.readline()
        except OSError as e:
            raise HarnessError(f"QMP connection lost ({e})") from None
        if not line:
            raise HarnessError("QMP connection closed")
        return json.loads(line)

    def cmd(self, name, **args):
        with self.lock:
            msg = {"execute": name}
            if args:
                msg["arguments"] = args
            try:
                self.sock.sendall(json.dumps(msg).encode() + b"\n")
            except OSError as e:
                # QEMU exited: a failed check, not a harness crash.
                raise HarnessError(f"QMP {name}: QEMU is gone ({e})") \
                    from None
            while True:
                r = self._read()
                if "event" in r:
                    self.events.append(r)
                    continue
                if "error" in r:
                    raise HarnessError(f"QMP {name}: {r['error']}")
                return r.get("return")

    def wait_event(self, name, timeout, fail=(), **data):
        """Pop the first event @name whose data has @data; raise on an
        event named in @fail with that data. Events come with replies, so
        this polls with query-status."""
        limit = time.monotonic() + timeout
        while True:
            with self.lock:
                for i, ev in enumerate(self.events):
                    if not all(ev.get("data", {}).get(k) == v
                               for k, v in data.items()):
                        continue
                    if ev["event"] == name:
                        return self.events.pop(i)
                    if ev["event"] in fail:
                        raise HarnessError(f"QMP event {ev} while waiting "
                                           f"for {name}")
            if time.monotonic() > limit:
                raise HarnessError(f"no QMP event {name} {data} within "
                                   f"{timeout}s")
            time.sleep(0.1)
            self.cmd("query-status")

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
