# SPDX-License-Identifier: GPL-2.0
"""Unit tests of the harness itself (no kernel, no guest)."""

import ast
import ctypes
import mmap
import os
import subprocess
import tempfile
import time
import unittest
import xml.etree.ElementTree as ET

from harness import (background, bench, benchplot, churn, initramfs,
                     interop, kernel, libvirt, markers, measure, probes,
                     qemu, series, vm)
from harness.common import HarnessError


def _tree(d, version, patchlevel, sublevel="0", extra=""):
    with open(os.path.join(d, "Makefile"), "w") as f:
        f.write(f"# SPDX-License-Identifier: GPL-2.0\nVERSION = {version}\n"
                f"PATCHLEVEL = {patchlevel}\nSUBLEVEL = {sublevel}\n"
                f"EXTRAVERSION = {extra}\nNAME = Baby Opossum Posse\n")


class VersionTest(unittest.TestCase):
    def test_612_accepted(self):
        with tempfile.TemporaryDirectory() as d:
            _tree(d, 6, 12, 117)
            self.assertEqual(kernel.check_612(d), "6.12.117")

    def test_612_rc_accepted(self):
        with tempfile.TemporaryDirectory() as d:
            _tree(d, 6, 12, 0, "-rc7")
            self.assertEqual(kernel.check_612(d), "6.12.0-rc7")

    def test_other_versions_rejected(self):
        for ver in ((6, 1, 90), (6, 13, 0), (5, 12, 0), (6, 120, 1)):
            with tempfile.TemporaryDirectory() as d:
                _tree(d, *ver)
                with self.assertRaisesRegex(HarnessError, "not|is Linux"):
                    kernel.check_612(d)

    def test_not_a_tree(self):
        with tempfile.TemporaryDirectory() as d:
            with self.assertRaisesRegex(HarnessError, "not a Linux source"):
                kernel.check_612(d)


class SeriesTest(unittest.TestCase):
    def test_comments_and_order(self):
        with tempfile.TemporaryDirectory() as d:
            a = os.path.join(d, "a.patch")
            b = os.path.join(d, "b.c")
            msg = os.path.join(d, "msg")
            for p in (a, b, msg):
                open(p, "w").close()
            s = os.path.join(d, "series")
            with open(s, "w") as f:
                f.write(f"# comment\n## {msg}\n\n{b}  # trailing\n{a}\n")
            self.assertEqual([n for n, _ in kernel.read_series(s)], [b, a])
            self.assertEqual([(m, [n for n, _ in e]) for m, e in
                              kernel.read_groups(s)], [(msg, [b, a])])

    def test_entry_before_the_first_patch(self):
        with tempfile.TemporaryDirectory() as d:
            a = os.path.join(d, "a.patch")
            open(a, "w").close()
            s = os.path.join(d, "series")
            with open(s, "w") as f:
                f.write(f"{a}\n")
            with self.assertRaisesRegex(HarnessError, r"series:1: .* before "
                                        r"the first '## patches/msg"):
                kernel.read_series(s)

    def test_missing_entry_names_line(self):
        with tempfile.TemporaryDirectory() as d:
            s = os.path.join(d, "series")
            with open(s, "w") as f:
                f.write("# one\n## patches/series\nmm/no-such-file.c\n")
            with self.assertRaisesRegex(HarnessError, r"series:3: "
                                        r"mm/no-such-file\.c does not"):
                kernel.read_series(s)

    def test_every_kernel_tree_file_is_listed(self):
        """A kernel-tree file left out of patches/series would be missing
        from what git am gives users; the full check (series: ...) finds
        it too, but only after the builds."""
        listed = {name for _, entries in kernel.read_groups()
                  for name, _ in entries}
        mine = series.kernel_tree_files({"mm", "include", "Documentation",
                                         "tools", "drivers", "arch"})
        self.assertTrue(mine)
        self.assertEqual([f for f in mine if f not in listed], [])


class StageTest(unittest.TestCase):
    """A file that grows over several patches: the repository holds its
    final form, stage diffs the steps to it."""

    def test_each_patch_writes_the_file_as_it_is_then(self):
        lines = [f"line {i}\n" for i in range(40)]
        v1 = "".join(lines[:10] + lines[30:])
        v2 = "".join(lines[:20] + lines[30:])
        final = "".join(lines)
        with tempfile.TemporaryDirectory() as d:
            for k, (old, new) in enumerate(((v1, v2), (v2, final)), 1):
                for side, text in (("a", old), ("b", new)):
                    os.makedirs(os.path.join(d, str(k), side, "mm"))
                    with open(os.path.join(d, str(k), side, "mm/x.c"),
                              "w") as f:
                        f.write(text)
            os.makedirs(os.path.join(d, "mm"))
            with open(os.path.join(d, "mm/x.c"), "w") as f:
                f.write(final)
            diffs = []
            for k in (1, 2):
                p = subprocess.run(["git", "diff", "--no-index",
                                    "--no-prefix", "a/mm/x.c", "b/mm/x.c"],
                                   cwd=os.path.join(d, str(k)),
                                   capture_output=True, text=True)
                diffs.append(os.path.join(d, f"s{k}.diff"))
                with open(diffs[-1], "w") as f:
                    f.write(p.stdout)
            groups = [("m1", [("mm/x.c", os.path.join(d, "mm/x.c"))]),
                      ("m2", [("patches/stages/s1.diff", diffs[0])]),
                      ("m3", [("patches/stages/s2.diff", diffs[1])])]
            got = kernel.stage_contents(groups, root=d)
            self.assertEqual(got, {(0, "mm/x.c"): v1.encode(),
                                   (1, "mm/x.c"): v2.encode(),
                                   (2, "mm/x.c"): final.encode()})
            self.assertEqual(kernel.staged_for(got, 1),
                             {"mm/x.c": v2.encode()})

            # The final form moved on without its stage diffs: say which
            # one to regenerate.
            with open(os.path.join(d, "mm/x.c"), "w") as f:
                f.write(final.replace("line 25", "line twenty-five"))
            with self.assertRaisesRegex(HarnessError, r"s2\.diff does not "
                                        r"take mm/x\.c"):
                kernel.stage_contents(groups, root=d)

            # Edited as whole files, the stages come back as diffs.
            with open(os.path.join(d, "mm/x.c"), "w") as f:
                f.write(final)
            out = os.path.join(d, "export")
            self.assertEqual(kernel.export_stages(out, groups, root=d),
                             ["0-first", "1-s1", "2-s2"])
            with open(os.path.join(out, "1-s1", "mm/x.c"), "w") as f:
                f.write(v2.replace("line 15", "line fifteen"))
            with open(os.path.join(out, "2-s2", "mm/x.c"), "w") as f:
                f.write(final.replace("line 15", "line fifteen"))
            kernel.import_stages(out, groups, root=d)
            got = kernel.stage_contents(groups, root=d)
            self.assertEqual(got[(0, "mm/x.c")], v1.encode())
            self.assertIn(b"line fifteen", got[(1, "mm/x.c")])
            with open(os.path.join(d, "mm/x.c")) as f:
                self.assertIn("line fifteen", f.read())
            with open(diffs[0]) as f:
                self.assertIn("+line fifteen", f.read())

            # A stage of a file that no earlier entry writes.
            with self.assertRaisesRegex(HarnessError, r"s1\.diff changes "
                                        r"mm/x\.c, which no earlier"):
                kernel.stage_contents(groups[1:], root=d)


class FragmentTest(unittest.TestCase):
    def test_parse(self):
        with tempfile.NamedTemporaryFile("w", suffix=".config") as f:
            f.write("# c\nCONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=64\n"
                    'CONFIG_D="x y"\n')
            f.flush()
            self.assertEqual(dict(kernel._fragment_lines(f.name)),
                             {"CONFIG_A": "y", "CONFIG_B": "n",
                              "CONFIG_C": "64", "CONFIG_D": '"x y"'})

    def test_repo_fragment_enables_reporting(self):
        got = dict(kernel._fragment_lines(kernel.FRAGMENT))
        for opt in ("CONFIG_PAGE_REPORTING", "CONFIG_VIRTIO_BALLOON",
                    "CONFIG_KUNIT", "CONFIG_SERIAL_8250_CONSOLE"):
            self.assertEqual(got.get(opt), "y", opt)

    def test_section_for_other_architectures(self):
        with tempfile.NamedTemporaryFile("w", suffix=".fragment") as f:
            f.write("# --- A\nCONFIG_A=y\n\n# --- B\n# why\n"
                    "# CONFIG_B is not set\n\n# --- C\nCONFIG_C=y\n")
            f.flush()
            self.assertEqual(kernel.fragment_section("B", f.name),
                             "# --- B\n# why\n# CONFIG_B is not set\n")
            self.assertEqual(kernel.fragment_section("C", f.name),
                             "# --- C\nCONFIG_C=y\n")
        lean = kernel.fragment_section("Not built")
        self.assertIn("# CONFIG_VT is not set", lean)
        self.assertNotIn("=y", lean)


class CpioTest(unittest.TestCase):
    def test_roundtrip_with_cpio_tool(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "x.cpio")
            c = initramfs.Cpio(path)
            c.dir("bin")
            c.file("bin/hello", b"#!/bin/sh\necho hi\n")
            c.file("odd", b"123")  # data length not a multiple of 4
            c.symlink("bin/sh", "busybox")
            c.chardev("console", 5, 1)
            c.close()
            out = subprocess.run(["cpio", "-itv", "--quiet"],
                                 stdin=open(path, "rb"), capture_output=True,
                                 text=True, check=True).stdout.splitlines()
            kinds = {ln.split()[-1] if "->" not in ln else ln.split()[-3]:
                     ln[0] for ln in out}
            self.assertEqual(kinds, {"bin": "d", "bin/hello": "-",
                                     "odd": "-", "bin/sh": "l",
                                     "console": "c"})
            ext = os.path.join(d, "ext")
            os.mkdir(ext)
            subprocess.run(["cpio", "-id", "--quiet"], cwd=ext,
                           stdin=open(path, "rb"), check=True,
                           capture_output=True)
            with open(os.path.join(ext, "odd"), "rb") as f:
                self.assertEqual(f.read(), b"123")
            self.assertEqual(os.readlink(os.path.join(ext, "bin/sh")),
                             "busybox")


class SplatTest(unittest.TestCase):
    def test_finds_kernel_problems(self):
        log = ("[    0.1] Linux version 6.12.117\n"
               "[    1.0] WARNING: CPU: 0 PID: 1 at mm/page_alloc.c:1 x\n"
               "[    1.1] BUG: KASAN: use-after-free in foo\n"
               "[    1.2] Kernel panic - not syncing: sysrq triggered\n"
               "[    1.3] virtio_balloon virtio0: ok\n")
        self.assertEqual(len(vm.splats(log)), 3)

    def test_quiet_boot_is_clean(self):
        self.assertEqual(vm.splats("[ 0.1] Booting\n[ 0.2] Run /init\n"), [])


class MarkerTest(unittest.TestCase):
    def test_marker_fields(self):
        v = vm.VM("unit", "bz", "initrd")
        v.t0 = 0
        v._line("@@PR freed memfree_kb=123 x=y")
        v._line("ok 1 plain TAP line")
        self.assertEqual(len(v.lines), 2)
        self.assertEqual(v.markers[0].event, "freed")
        self.assertEqual(v.markers[0].num("memfree_kb"), 123)

    def test_parse(self):
        m = markers.Marker.parse(1.5, "@@PR idle n=3 x")
        self.assertEqual((m.t, m.event, m.fields), (1.5, "idle", {"n": "3"}))
        self.assertIsNone(markers.Marker.parse(0, "[ 1.0] @@PR not at the start"))

    def test_process_rss(self):
        self.assertGreater(probes.process_rss_kib(os.getpid()), 1000)
        self.assertIsNone(probes.process_rss_kib(2**22 + 1))

    def test_events_latest_count(self):
        v = vm.VM("unit", "bz", "initrd")
        v.t0 = 0
        for line in ("@@PR tick n=1", "@@PR balloon features=01",
                     "@@PR tick n=2", "@@PR page_reporting_order=9"):
            v._line(line)
        self.assertEqual([m.num("n") for m in v.events("tick")], [1, 2])
        self.assertEqual([m.num("n") for m in v.events("tick", 1)], [2])
        self.assertEqual(v.latest()["tick"].num("n"), 2)
        self.assertIn("page_reporting_order=9", v.latest())
        self.assertEqual(v.marker_count(), 4)


class ResumedTest(unittest.TestCase):
    """The end-of-run check of the rebind and unplug scenarios."""

    START = ("@@PR start isolated=1 memfree_kb=996472 slab_kb=3640 "
             "pcp_kb=8788")

    def _vm(self, end):
        v = vm.VM("unit", "bz", "initrd")
        v.t0 = 0
        v._line(self.START)
        v._line("@@PR resumed before=0 after=%d %s" % (256 << 20, end))
        return v

    def test_per_cpu_lists_count_as_free(self):
        # Measured: MemFree 7 MiB up, the per-CPU lists 7 MiB down.
        v = self._vm("isolated=0 memfree_kb=1005688 slab_kb=3680 "
                     "pcp_kb=1516")
        grown, lost = interop._resumed(v, "x")
        self.assertEqual(grown, 256)
        self.assertLess(abs(lost), 0.5)

    def test_a_lost_block_fails(self):
        # Free at the start: 996472 + 8788 + one isolated block (2048).
        v = self._vm("isolated=0 memfree_kb=997260 slab_kb=3640 "
                     "pcp_kb=8000")
        with self.assertRaisesRegex(AssertionError, "2.0 MiB lower"):
            interop._resumed(v, "x")

    def test_slab_counts_as_free_with_kasan_only(self):
        # 8 MiB more slab (KASAN's quarantine), as much less MemFree.
        v = self._vm("isolated=0 memfree_kb=990924 slab_kb=11832 "
                     "pcp_kb=8192")
        self.assertLess(abs(interop._resumed(v, "x", kasan=True)[1]), 0.1)
        with self.assertRaisesRegex(AssertionError, "8.0 MiB lower"):
            interop._resumed(v, "x")

    def test_isolated_blocks_fail(self):
        v = self._vm("isolated=1 memfree_kb=998520 slab_kb=3640 "
                     "pcp_kb=8788")
        with self.assertRaisesRegex(AssertionError, "isolated"):
            interop._resumed(v, "x")


class HangStateTest(unittest.TestCase):
    """What the harness saves of the vCPUs when a guest stops answering."""

    class FakeQmp:
        def __init__(self, fail_on=None):
            self.asked, self.fail_on = [], fail_on

        def cmd(self, name, **args):
            line = args["command-line"]
            self.asked.append(line)
            if line == self.fail_on:
                raise HarnessError("QMP human-monitor-command: no")
            return f"output of {line}"

    class Running:
        def poll(self):
            return None

    class Exited:
        def poll(self):
            return 1

    def _vm(self, d, qmp):
        v = vm.VM("unit", "bz", "initrd", smp=2)
        v.dir, v.qmp, v.proc = d, qmp, self.Running()
        return v

    def test_every_cpu_and_its_lapic(self):
        with tempfile.TemporaryDirectory() as d:
            qmp = self.FakeQmp()
            said = self._vm(d, qmp).save_hang_state()
            self.assertIn(os.path.join(d, "hang-state.txt"), said)
            self.assertEqual(qmp.asked, ["info cpus", "info registers -a",
                                         "info lapic 0", "info lapic 1"])
            with open(os.path.join(d, "hang-state.txt")) as f:
                text = f.read()
            self.assertIn("=== info lapic 1\noutput of info lapic 1", text)

    def test_errors_are_reported_not_raised(self):
        with tempfile.TemporaryDirectory() as d:
            qmp = self.FakeQmp(fail_on="info lapic 0")
            said = self._vm(d, qmp).save_hang_state()
            self.assertIn("incomplete", said)
            v = self._vm(d, None)
            self.assertIn("no QMP connection", v.save_hang_state())
            v.proc = self.Exited()
            self.assertIn("QEMU gone", v.save_hang_state())


def _cmd(accel="tcg", **guest):
    return qemu.command(qemu.Guest("bz", "initrd", **guest), "/run", accel)


def _cmdline(**guest):
    return qemu.cmdline(qemu.Guest("bz", "initrd", **guest)).split()


class MachineTest(unittest.TestCase):
    def test_q35_balloon_on_pci(self):
        cmd = _cmd()
        self.assertEqual(cmd[cmd.index("-M") + 1], "q35")
        self.assertEqual(cmd.count("-serial"), 2)
        self.assertTrue(any(a.startswith("virtio-balloon-pci,") for a in cmd))
        self.assertIn("socket,id=qmp,path=/run/qmp.sock,server=on,wait=off",
                      cmd)

    def test_microvm_balloon_on_mmio(self):
        cmd = _cmd(machine="microvm")
        self.assertEqual(cmd[cmd.index("-M") + 1], "microvm")
        # The console is COM1; the data channel a second ISA port.
        self.assertEqual(cmd.count("-serial"), 1)
        self.assertIn("isa-serial,chardev=data,iobase=0x2f8,irq=3", cmd)
        self.assertIn("virtio-mmio.force-legacy=false", cmd)
        self.assertTrue(any(a.startswith("virtio-balloon-device,")
                            for a in cmd))
        self.assertIn("tsc_early_khz=2000000",
                      qemu.cmdline(qemu.Guest("bz", "i", machine="microvm"),
                                   tsc_khz=2000000).split())

    def test_microvm_refuses_what_it_lacks(self):
        for bad in ({"numa_nodes": 2}, {"balloon_port": "rp0"},
                    {"mem_opts": ",slots=2,maxmem=2G"}):
            with self.assertRaisesRegex(HarnessError, "microvm has no"):
                qemu.Guest("bz", "initrd", machine="microvm", **bad)

    def test_arm64_virt_data_on_a_virtio_console(self):
        v = vm.VM("unit", "Image", "initrd", machine="virt")
        cmd = v.qemu_cmd()
        self.assertEqual(cmd[0], "qemu-system-aarch64")
        self.assertEqual(cmd[cmd.index("-M") + 1], "virt")
        # Emulated whatever the host offers.
        self.assertEqual(cmd[cmd.index("-accel") + 1], "tcg")
        # virt has one UART: the console; the data channel is hvc0.
        self.assertEqual(cmd.count("-serial"), 1)
        self.assertIn("virtconsole,chardev=data", cmd)
        self.assertIn("console=ttyAMA0", _cmdline(machine="virt"))
        self.assertIn("pr.data=hvc0", _cmdline(machine="virt"))
        self.assertTrue(any(a.startswith("virtio-balloon-pci,") for a in cmd))

    def test_i386_and_pseries(self):
        cmd = _cmd(machine="pc-i386")
        self.assertEqual(cmd[:1] + cmd[cmd.index("-M") + 1:][:1],
                         ["qemu-system-i386", "pc"])
        self.assertEqual(cmd.count("-serial"), 2)
        # No ACPI in the i386 kernel: its init reboots to end the run.
        self.assertIn("pr.exit=reboot", _cmdline(machine="pc-i386"))
        self.assertNotIn("pr.exit=reboot", _cmdline())
        cmd = _cmd(machine="pseries")
        self.assertEqual(cmd[0], "qemu-system-ppc64")
        # The machine's own CPU; the console is hvc0, the data hvc1.
        self.assertNotIn("-cpu", cmd)
        self.assertIn("console=hvc0", _cmdline(machine="pseries"))
        self.assertIn("pr.data=hvc1", _cmdline(machine="pseries"))

    def test_cpu_numa_and_params(self):
        self.assertEqual(_cmd("kvm")[_cmd("kvm").index("-cpu") + 1], "host")
        self.assertEqual(_cmd()[_cmd().index("-cpu") + 1], "max")
        cmd = _cmd(numa_nodes=2, smp=2, mem_mib=2048)
        self.assertEqual(cmd[cmd.index("-smp") + 1], "2,sockets=2")
        self.assertIn("node,nodeid=1,memdev=mem1,cpus=1", cmd)
        self.assertIn("memory-backend-ram,id=mem0,size=1024M", cmd)
        line = _cmdline(params={"mib": 64}, append="x=1", kunit=True)
        self.assertEqual(line[-2:], ["pr.mib=64", "x=1"])
        self.assertNotIn("kunit.enable=0", line)

    def test_balloon_device_behind_a_port(self):
        g = qemu.Guest("bz", "initrd", balloon_port="rp1", reporting=False,
                       balloon_props={"free-page-hint": "on"})
        self.assertEqual(qemu.balloon_device(g), {
            "driver": "virtio-balloon-pci", "id": "balloon0",
            "free-page-reporting": False, "bus": "rp1",
            "free-page-hint": True})
        self.assertEqual(qemu.balloon_device(qemu.Guest(
            "bz", "initrd", machine="microvm"))["driver"],
            "virtio-balloon-device")
        cmd = qemu.command(g, "/run", "tcg")
        self.assertLess(cmd.index("pcie-root-port,id=rp1,chassis=1"),
                        cmd.index("virtio-balloon-pci,id=balloon0,"
                                  "free-page-reporting=off,bus=rp1,"
                                  "free-page-hint=on"))

    def test_unknown_machine(self):
        with self.assertRaisesRegex(HarnessError, "unknown machine 'pc'"):
            vm.VM("unit", "bz", "initrd", machine="pc")


class RamSizeTest(unittest.TestCase):
    def test_plain_and_extra(self):
        cmd = _cmd(mem_mib=1024)
        self.assertEqual(cmd[cmd.index("-m") + 1], "1024M")
        cmd = _cmd(mem_mib=1024, mem_extra_kib=8,
                   mem_opts=",slots=2,maxmem=4G")
        self.assertEqual(cmd[cmd.index("-m") + 1],
                         "1048584K,slots=2,maxmem=4G")

    def test_lazy_ram_is_one_backend_without_reserve(self):
        cmd = _cmd(mem_mib=65536, lazy_ram=True)
        self.assertEqual(cmd[cmd.index("-M") + 1],
                         "q35,memory-backend=ram0")
        self.assertEqual(cmd[cmd.index("-m") + 1], "65536M")
        self.assertIn("memory-backend-ram,id=ram0,size=65536M,reserve=off",
                      cmd)
        self.assertNotIn("memory-backend=ram0", " ".join(_cmd()))
        for bad in ({"numa_nodes": 2}, {"mem_opts": ",slots=2,maxmem=4G"}):
            with self.assertRaisesRegex(HarnessError, "lazy_ram"):
                qemu.Guest("bz", "initrd", lazy_ram=True, **bad)

    def test_ram_rss_counts_the_ram_mapping_only(self):
        # Stand in for QEMU: this process, with one private anonymous
        # mapping of the RAM size (2 MiB + 8 KiB) of which 1 MiB is
        # touched. PROT_NONE pages on both sides keep it from merging with
        # a neighbour.
        libc = ctypes.CDLL(None, use_errno=True)
        libc.mmap.restype = ctypes.c_void_p
        libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int,
                              ctypes.c_int, ctypes.c_int, ctypes.c_long]
        libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t,
                                  ctypes.c_int]
        libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
        page, size = mmap.PAGESIZE, (2 << 20) + 8192
        total = size + 2 * page
        base = libc.mmap(None, total, mmap.PROT_READ | mmap.PROT_WRITE,
                         mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, -1, 0)
        self.assertNotEqual(base, ctypes.c_void_p(-1).value)
        try:
            self.assertEqual(libc.mprotect(base, page, 0), 0)
            self.assertEqual(libc.mprotect(base + page + size, page, 0), 0)
            ctypes.memset(base + page, 1, 1 << 20)
            v = vm.VM("unit", "bz", "initrd", mem_mib=2, mem_extra_kib=8)
            v.proc = type("P", (), {"pid": os.getpid()})()
            self.assertEqual(v.ram_rss_kib(), 1024)
            # No mapping of that size: None, not a wrong number.
            v = vm.VM("unit", "bz", "initrd", mem_mib=2, mem_extra_kib=12)
            v.proc = type("P", (), {"pid": os.getpid()})()
            self.assertIsNone(v.ram_rss_kib())
        finally:
            libc.munmap(base, total)

    def test_migration_size_avoids_qemu_fast_path(self):
        # QEMU 7.2 syncs the dirty bitmap of a RAM block 64 pages at a time
        # (without the TCG TLB reset) only when its size is a multiple of
        # 64 pages; the migration guests must not be.
        if vm.detect_accel() != "tcg":
            self.skipTest("only TCG needs it")
        size = ((interop.GUEST_MIB << 20)
                + (interop.migration_extra_kib() << 10))
        self.assertNotEqual(size % (64 * 4096), 0)
        self.assertEqual(size % 8192, 0)  # QEMU's RAM size granularity


class DiscardWatchTest(unittest.TestCase):
    """The watcher parses QEMU's trace line and judges a range by the
    pagemap of the traced process: here this process, with one mapping it
    touched and one it did not."""

    def test_touched_and_untouched(self):
        if os.geteuid() != 0:
            self.skipTest("reading pagemap addresses needs root")
        size = 2 << 20
        touched = mmap.mmap(-1, size)
        untouched = mmap.mmap(-1, size)
        touched[0:1] = b"x"
        addr = {}
        for name, m in (("t", touched), ("u", untouched)):
            buf = (ctypes.c_char * 1).from_buffer(m)
            addr[name] = ctypes.addressof(buf)
            del buf

        class FakeVM:
            class proc:
                pid = os.getpid()
            t0 = time.monotonic()

            def now(self):
                return time.monotonic() - self.t0

        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "trace.log")
            w = churn.DiscardWatch(FakeVM(), path, window=0.2).start()
            with open(path, "w") as f:
                for name in ("t", "u"):
                    f.write(f"1@1.0:ram_block_discard_range pc.ram@"
                            f"{addr[name]:#x} + {size:#x}: madvise: 1 "
                            f"fallocate: 0 ret: 0\n")
                f.write("1@1.0:ram_block_discard_range pc.ram@0x1000 + "
                        "0x1000: madvise: 1 fallocate: 0 ret: -22\n")
            time.sleep(1.0)
            w.stop()
        got = w.between(0, 1e9)
        self.assertEqual(got.ranges, 2)
        self.assertEqual(got.bytes, 2 * size)
        self.assertEqual(got.judged, 2)
        self.assertEqual(got.touched, 1)
        self.assertEqual(got.touched_share, 0.5)
        self.assertEqual(w.errors, 1)
        touched.close()
        untouched.close()


if __name__ == "__main__":
    unittest.main()


def _harness_imports():
    """{module: {modules of harness it imports}}, from every import
    statement of harness/*.py, inside functions too."""
    pkg = os.path.join(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    mods = {f[:-3] for f in os.listdir(pkg) if f.endswith(".py")}
    graph = {}
    for mod in mods:
        with open(os.path.join(pkg, mod + ".py")) as f:
            tree = ast.parse(f.read())
        deps = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                if node.module:
                    deps.add(node.module.split(".")[0])
                else:
                    deps.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and \
                    node.module.split(".")[0] == "harness":
                parts = node.module.split(".")
                deps.update([parts[1]] if len(parts) > 1 else
                            [a.name for a in node.names])
        graph[mod] = deps & mods
    return graph


class InteropCellTest(unittest.TestCase):
    def test_features_from_the_marker_bits(self):
        bits = "0" * 64
        on = {interop.F_STATS_VQ, interop.F_REPORTING}
        bits = "".join("1" if i in on else b for i, b in enumerate(bits))
        self.assertEqual(interop.Features.from_bits(bits),
                         interop.Features(stats=True, hint=False,
                                          poison=False, reporting=True))

    def test_describe(self):
        rep = interop.Features(False, False, False, True)
        off = interop.Features(False, False, False, False)
        self.assertEqual(interop.CellResult(rep, 97.4, 1.25, False)
                         .describe(True), "reports: 97% back, 90% at 1.2s")
        self.assertEqual(interop.CellResult(rep, 85, None, False)
                         .describe(True), "reports: 85% back, 90% not "
                         "reached")
        self.assertEqual(interop.CellResult(off, 1, None, True)
                         .describe(True), "declines (logged once), 1% back")
        self.assertEqual(interop.CellResult(off, 1, None, False)
                         .describe(False), "off, 1% back")
        self.assertEqual(len(list(interop.cells())), 16)


class BackgroundBuildsTest(unittest.TestCase):
    def test_in_order_one_at_a_time_errors_to_the_waiter(self):
        ran = []

        def job(name, fail=False):
            def fn():
                ran.append(("start", name))
                time.sleep(0.05)
                ran.append(("end", name))
                if fail:
                    raise HarnessError(f"{name} broke")
                return name.upper()
            return fn
        b = background.Builds([("a", job("a")), ("b", job("b", True)),
                               ("c", job("c"))]).start()
        value, took = b.wait("c")
        self.assertEqual(value, "C")
        self.assertGreaterEqual(took, 0.04)
        with self.assertRaisesRegex(HarnessError, "b broke"):
            b.wait("b")
        self.assertEqual(b.wait("a")[0], "A")
        b.join()
        self.assertEqual(ran, [("start", "a"), ("end", "a"), ("start", "b"),
                               ("end", "b"), ("start", "c"), ("end", "c")])
        with self.assertRaises(KeyError):
            b.wait("d")

    def test_not_started_runs_in_the_caller_once(self):
        """Without start(), a job runs when first waited for, in the
        caller, and only that job."""
        ran = []
        b = background.Builds([("a", lambda: ran.append("a") or "A"),
                               ("b", lambda: ran.append("b") or "B")])
        self.assertEqual(b.wait("b")[0], "B")
        self.assertEqual(b.wait("b")[0], "B")
        self.assertEqual(ran, ["b"])
        self.assertFalse(b.in_background)
        b.join()

    def test_lowest_priority_thread(self):
        """The thread and the processes it starts (make) run at nice 19;
        the rest of the harness does not."""
        seen = []
        b = background.Builds([("nice", lambda: seen.append(
            (os.getpriority(os.PRIO_PROCESS, 0), subprocess.run(
                ["nice"], capture_output=True, text=True).stdout.strip())))
        ]).start()
        b.join()
        self.assertEqual(seen, [(19, "19")])
        self.assertLess(os.getpriority(os.PRIO_PROCESS, 0), 19)


class BenchAgainstTest(unittest.TestCase):
    def setUp(self):
        self.saved = (dict(bench.CONFIGS), list(bench.ENGINES),
                      os.environ.get("AGAINST"))

    def tearDown(self):
        bench.CONFIGS.clear()
        bench.CONFIGS.update(self.saved[0])
        bench.ENGINES[:] = self.saved[1]
        if self.saved[2] is None:
            os.environ.pop("AGAINST", None)
        else:
            os.environ["AGAINST"] = self.saved[2]

    def test_a_fourth_configuration(self):
        with tempfile.NamedTemporaryFile() as bz:
            os.environ["AGAINST"] = f"before={bz.name}"
            kernels = {}
            self.assertEqual(bench._against(kernels), "before")
            self.assertEqual(kernels["before"], bz.name)
            self.assertEqual(bench.CONFIGS["before"], ("before", True))
            self.assertEqual(bench.ENGINES, ["upstream", "ours", "before"])
            self.assertIn("| before |",
                          bench.pivot([("m", "before", "1")]).split("\n")[0])

    def test_bad_values_change_nothing(self):
        for spec in ("before", "=/bin/sh", "ours=/bin/sh",
                     "before=/nonexistent"):
            os.environ["AGAINST"] = spec
            with self.assertRaisesRegex(HarnessError, "NAME=BZIMAGE"):
                bench._against({})
            self.assertEqual(list(bench.CONFIGS), ["off", "upstream", "ours"])
            self.assertEqual(bench.ENGINES, ["upstream", "ours"])


class BenchInterleavedTest(unittest.TestCase):
    def test_rounds_interleave_and_rows(self):
        """Round after round, every configuration once per round, the
        order rotated by the round; one raw row per run with the key, the
        configuration, the round and the extra columns."""
        b = bench.Bench({}, "", quick=True, only=None)
        seen = []

        def run(cfg, rep):
            seen.append((cfg, rep))
            return measure.Return(accel="tcg", booted_s=1.0, freed_mib=100,
                                  rss_peak_mib=900, t50=0.5, t90=0.9,
                                  free_t=10.0, limit=30, samples=[],
                                  returned_mib=95, rss_idle_mib=7)
        res = b.interleaved("w", ("a", "b"), 2, run, key=["k", 1],
                            extra=lambda r: ([r.rss_idle_mib], "; note"))
        self.assertEqual(seen, [("a", 0), ("b", 0), ("b", 1), ("a", 1)])
        self.assertEqual(len(res["a"]), 2)
        self.assertEqual(res["a"][0].pct, 95.0)
        self.assertEqual(b.raw[1], ["w", "k", 1, "b", 0, 0.5, 0.9, 100, 95, 7])

    def test_pf_parts(self):
        """Each part of ours' page-fault throughput against the "off" run
        of its round; a hook-only run in which the worker made a pass,
        reported or had the host discard anything fails."""
        b = bench.Bench({}, "", quick=True, only=None)
        speed = {"ours-nodev": 396.0, "ours-hook": 392.0, "ours": 388.0}
        hook = {"passes": 0, "reported": 0, "discarded": 0}
        seen = []

        def run_pf(kernels, initrd, cfg, thp, seconds, mem):
            rep = sum(c == cfg for c in seen)
            seen.append(cfg)
            # Off is 400 MiB/s in round 1, 800 in round 2.
            mib_s = 400.0 * (rep + 1) if cfg == "off" else speed[cfg]
            held = cfg == "ours-hook"
            return bench.PageFaults(
                mib_s, 1 << 30,
                churn.Discards(hook["discarded"] if held else 0, 0, 0, 0),
                quiet_after_s=3.0, reported_bytes=hook["reported"] if held else None,
                passes=hook["passes"] if held else None)
        saved = bench.run_pf
        bench.run_pf = run_pf
        try:
            b.pf_parts(2048, 10, ["on"], 2)
            self.assertEqual(seen, ["off", "ours-nodev", "ours-hook",
                                    "ours", "ours-nodev", "ours-hook",
                                    "ours", "off"])
            rows = {m: v for m, c, v in b.rows}
            self.assertEqual(rows["page-fault throughput / off, THP on: "
                                  "ours, reporting on"], "0.73 (0.48..0.97)")
            self.assertEqual(len(b.raw), 8)
            for key in hook:
                hook.update(passes=0, reported=0, discarded=0)
                hook[key] = 1
                with self.assertRaisesRegex(HarnessError, "held off"):
                    b.pf_parts(2048, 10, ["on"], 1)
        finally:
            bench.run_pf = saved
        self.assertEqual(bench._pf_config("ours-hook"), ("ours", True, True))
        self.assertEqual(bench._pf_config("ours-nodev"),
                         ("ours", False, False))
        self.assertEqual(bench._pf_config("ours"), ("ours", True, False))
        self.assertEqual(bench._pf_config("off"),
                         ("baseline", False, False))

    def test_rotated(self):
        """No configuration runs first in every round."""
        self.assertEqual(bench._rotated(("off", "up", "ours"), 0),
                         ["off", "up", "ours"])
        self.assertEqual(bench._rotated(("off", "up", "ours"), 1),
                         ["up", "ours", "off"])
        self.assertEqual(bench._rotated({"a": 1, "b": 2}, 3), ["b", "a"])


class BenchPlotTest(unittest.TestCase):
    def test_rounds_of_the_plotted_measures(self):
        """The figure shows every round of the measures tagged for it
        (the 2 GiB page-fault ratios, not scaling's), a round without a
        value (nothing discarded to judge) kept as missed; the rounds
        survive the CSV."""
        b = bench.Bench({}, "", quick=True, only=None)

        def pf(mib_s, discarded, judged, touched):
            return bench.PageFaults(
                mib_s, 1 << 30, churn.Discards(discarded, 1, judged,
                                               touched),
                quiet_after_s=3.0, reported_bytes=None)
        res = {"on": {"off": [pf(400, 0, 0, 0), pf(800, 0, 0, 0)],
                      "upstream": [pf(400, 1 << 20, 4, 1),
                                   pf(400, 1 << 20, 4, 2)],
                      "ours": [pf(200, 0, 0, 0), pf(800, 1 << 20, 2, 0)]}}
        b.pf_rows(res)
        b.pf_rows(res, label=", 4096 MiB guest")
        b.churn_rows(res)
        b.row("tracking bytes", "ours", "3104")
        rounds = benchplot.rounds(b.rows, b.plotted)
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "rounds.csv")
            benchplot.write_csv(path, rounds)
            back = benchplot.read_csv(path)
            panels = benchplot.panels(back)
            self.assertEqual(list(panels), [
                "page-fault throughput / off, THP on",
                "churn: discarded / freed by the loop, THP on",
                "churn: share of discarded blocks touched again within "
                "1 s, THP on"])
            self.assertEqual(panels["page-fault throughput / off, THP on"],
                             {"upstream": [1.0, 0.5], "ours": [0.5, 1.0]})
            share = panels["churn: share of discarded blocks touched again "
                           "within 1 s, THP on"]
            self.assertEqual(share, {"upstream": [0.25, 0.5],
                                     "ours": [None, 0.0]})
            # Scaling's ratio and the MiB/s are in the CSV, not plotted.
            self.assertIn(["page-fault throughput / off, THP on, 4096 MiB "
                           "guest", "ours", 1, 1.0, 0], back)
            self.assertIn(["page-fault MiB/s, THP on", "off", 1, 800.0, 0],
                          back)
            png = os.path.join(d, "bench.png")
            self.assertEqual(benchplot.figure(back, png, "t"), 3)
            with open(png, "rb") as f:
                self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
            with open(path, "w") as f:
                f.write("pf,on,2048,off,0,1302.8\n")
            with self.assertRaisesRegex(ValueError, "not a bench rounds"):
                benchplot.read_csv(path)

    def test_readme_gets_the_table_and_the_figure(self):
        """A complete run's table goes between the README's markers, its
        figure to FIGURE with a link under the table; what is around the
        markers stays."""
        saved = bench.REPO, bench.FIGURE
        with tempfile.TemporaryDirectory() as d:
            bench.REPO, bench.FIGURE = d, os.path.join(d, "r", "b.png")
            try:
                with open(os.path.join(d, "README.md"), "w") as f:
                    f.write("a\n<!-- bench:start -->\nold\n"
                            "<!-- bench:end -->\nb\n")
                png = os.path.join(d, "out.png")
                with open(png, "wb") as f:
                    f.write(b"png")
                bench._update_readme("| t |\n", png)
                with open(os.path.join(d, "README.md")) as f:
                    self.assertEqual(f.read(), (
                        "a\n<!-- bench:start -->\n| t |\n\n![Every round "
                        "of the measures above that the figure shows]"
                        "(r/b.png)\n<!-- bench:end -->\nb\n"))
                with open(bench.FIGURE, "rb") as f:
                    self.assertEqual(f.read(), b"png")
            finally:
                bench.REPO, bench.FIGURE = saved


class DiscardT90Test(unittest.TestCase):
    def test_counts_from_the_start_times_from_the_end(self):
        """Discards count from the start of the free (not before); the
        time is from its end, never below 0; None when 90% never came."""
        class Watch:
            events = [(9.0, 512 << 20, None), (10.5, 400 << 20, None),
                      (11.2, 300 << 20, None), (11.4, 300 << 20, None)]
        # 90% of 1000 MiB: 900 MiB, reached at 11.4 (the first is early).
        self.assertAlmostEqual(bench._discard_t90(Watch, 10.0, 11.0, 1000),
                               0.4)
        self.assertEqual(bench._discard_t90(Watch, 10.0, 12.0, 1000), 0.0)
        self.assertIsNone(bench._discard_t90(Watch, 10.0, 11.0, 2000))


class IrqsOffEndedTest(unittest.TestCase):
    def test_ended(self):
        # The unlock helpers are skipped, the first other frame is it.
        self.assertEqual(bench._ended(
            "_raw_spin_unlock_irq,page_reporting_cycle,"
            "page_reporting_process"), "page_reporting_cycle")
        self.assertEqual(bench._ended(
            "_raw_spin_unlock_irqrestore,reporting_isolate"),
            "reporting_isolate")
        # Only helpers: the outermost of them; no stack: "none".
        self.assertEqual(bench._ended("_raw_spin_unlock_irq"),
                         "_raw_spin_unlock_irq")
        self.assertEqual(bench._ended("none"), "none")
        self.assertEqual(bench._ended(""), "none")


class LibvirtTest(unittest.TestCase):
    def test_domain_xml(self):
        """The domain users copy: direct kernel boot, two serial ports,
        the balloon with free page reporting and a statistics period."""
        xml = libvirt.domain_xml("d", "/k/bzImage", "/k/init & co.cpio",
                                 "console=ttyS0 pr.job=demo", "/r/con.log",
                                 "/r/data.log", mem_mib=1024)
        dom = ET.fromstring(xml)
        self.assertEqual(dom.get("type"), "qemu")
        self.assertEqual(dom.findtext("os/initrd"), "/k/init & co.cpio")
        self.assertEqual(dom.findtext("os/cmdline"),
                         "console=ttyS0 pr.job=demo")
        self.assertEqual(dom.findtext("memory"), "1024")
        bal = dom.find("devices/memballoon")
        self.assertEqual((bal.get("model"), bal.get("freePageReporting")),
                         ("virtio", "on"))
        self.assertEqual(bal.find("stats").get("period"), "1")
        ports = [(s.find("target").get("port"), s.find("source").get("path"))
                 for s in dom.findall("devices/serial")]
        self.assertEqual(ports, [("0", "/r/con.log"), ("1", "/r/data.log")])

    def test_dommemstat(self):
        out = ("actual 2097152\nswap_in 0\nunused 1843200\n"
               "last_update 1733000000\nrss 412345\n\n")
        self.assertEqual(libvirt.parse_dommemstat(out),
                         {"actual": 2097152, "swap_in": 0, "unused": 1843200,
                          "last_update": 1733000000, "rss": 412345})


class ImportGraphTest(unittest.TestCase):
    def test_no_cycle(self):
        """The harness's modules import each other in one direction."""
        graph = _harness_imports()
        state = {}

        def visit(mod, path):
            if state.get(mod) == "done":
                return
            if state.get(mod) == "open":
                cycle = path[path.index(mod):] + [mod]
                self.fail("import cycle: " + " -> ".join(cycle))
            state[mod] = "open"
            for dep in sorted(graph[mod]):
                visit(dep, path + [mod])
            state[mod] = "done"
        for mod in sorted(graph):
            visit(mod, [])

    def test_imports_at_module_level(self):
        """No module imports another of the harness inside a function: a
        local import hides a cycle or a side effect of importing."""
        pkg = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        local = []
        for f in sorted(os.listdir(pkg)):
            if not f.endswith(".py"):
                continue
            with open(os.path.join(pkg, f)) as fh:
                tree = ast.parse(fh.read())
            for fn in ast.walk(tree):
                if not isinstance(fn, (ast.FunctionDef, ast.ClassDef)):
                    continue
                local += [f"{f}:{n.lineno}" for n in ast.walk(fn)
                          if isinstance(n, ast.ImportFrom) and n.level]
        self.assertEqual(local, [])

    def test_graph_has_the_imports(self):
        """The parser finds imports, top-level and inside functions, or
        the walk above could see no cycle at all."""
        graph = _harness_imports()
        self.assertIn("build", graph["check"])
        self.assertIn("kernel", graph["build"])
