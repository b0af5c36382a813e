# SPDX-License-Identifier: GPL-2.0
"""Paths, errors, logging and small process helpers shared by the harness."""

import ctypes
import os
import signal
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Everything generated lives below build/ (ignored by git): the kernel source
# tree, one object tree per variant, the shared ccache, logs and run output.
BUILD = os.environ.get("PR_BUILD_DIR", os.path.join(REPO, "build"))
LOGS = os.path.join(BUILD, "logs")
OUT = os.environ.get("PR_OUT_DIR", os.path.join(REPO, "out"))


class HarnessError(Exception):
    """A failure with a message meant for the user; no traceback is shown."""


def die_with_parent(sig=signal.SIGTERM):
    """For subprocess's preexec_fn: the child gets @sig when the thread that
    started it ends, with the harness however it ends (PR_SET_PDEATHSIG):
    a kernel build or QEMU must not outlive it."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, sig)  # PR_SET_PDEATHSIG


def is_tty():
    return sys.stdout.isatty() and os.environ.get("CI") != "true"


def say(msg):
    print(msg, flush=True)


def step(msg):
    print(f"==> {msg}", flush=True)


def ensure_dir(path):
    os.makedirs(path, exist_ok=True)
    return path


def run(cmd, log=None, cwd=None, env=None, check=True, what=None):
    """Run @cmd; its output goes to @log (appended) or is captured.

    On failure raise HarnessError naming @what and the log to read.
    Returns the CompletedProcess (stdout captured as text when no log).
    """
    if log:
        ensure_dir(os.path.dirname(log))
        with open(log, "a") as f:
            f.write(f"\n$ {' '.join(cmd)}\n")
            f.flush()
            p = subprocess.run(cmd, cwd=cwd, env=env, stdout=f,
                               stderr=subprocess.STDOUT, text=True)
    else:
        p = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True,
                           text=True)
    if check and p.returncode != 0:
        where = f"; full log: {log}" if log else ""
        detail = "" if log else (p.stderr or p.stdout).strip()[-2000:]
        raise HarnessError(f"{what or cmd[0]} failed (exit {p.returncode})"
                           f"{where}" + (f"\n{detail}" if detail else ""))
    return p


def tail(path, n=30):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return ""


class Progress:
    """One status line for a long step: rewritten in place on a terminal,
    printed at most every @period seconds otherwise (CI logs stay short)."""

    def __init__(self, label, period=30):
        self.label = label
        self.period = period
        self.t0 = time.monotonic()
        self.last = 0.0
        self.tty = is_tty()

    def elapsed(self):
        return time.monotonic() - self.t0

    def update(self, text, force=False):
        now = time.monotonic()
        line = f"    {self.label}: {text} [{int(self.elapsed())}s]"
        if self.tty:
            sys.stdout.write("\r\033[K" + line[:150])
            sys.stdout.flush()
        elif force or now - self.last >= self.period:
            print(line, flush=True)
            self.last = now

    def done(self, text):
        if self.tty:
            sys.stdout.write("\r\033[K")
        print(f"    {self.label}: {text} ({self.elapsed():.0f}s)", flush=True)
