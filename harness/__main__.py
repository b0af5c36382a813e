# SPDX-License-Identifier: GPL-2.0
"""Command line of the harness: python3 -m harness COMMAND (see --help).

Environment (also what the Makefile passes on):
  KERNEL_SRC=DIR  a 6.12 tree to use as base instead of Debian's package
  BASELINE=1      build/boot the unpatched base instead of the series
  ACCEL=kvm|tcg   force an accelerator (default: KVM when usable)
"""

import argparse
import os
import sys

from . import (bench, check, demo, deps, initramfs, interop, kernel,
               reliability, series)
from .build import build_all
from .common import HarnessError, say, step
from .vm import VM, kill_all


def _variant(args):
    if getattr(args, "variant", None):
        return args.variant
    if os.environ.get("BASELINE") == "1":
        return "baseline"
    return "debug" if os.environ.get("DEBUG") == "1" else "ours"


def cmd_deps(args):
    deps.ensure(need_source=not os.environ.get("KERNEL_SRC"))
    return 0


def cmd_kernel(args):
    if args.prepare_only:
        kernel.prepare_base(os.environ.get("KERNEL_SRC") or None)
        kernel.checkout(_variant(args))
        return 0
    bz, initrd, info = build_all(_variant(args))
    say(f"Linux {info['version']} ({_variant(args)})")
    say(f"kernel:    {bz}\ninitramfs: {initrd}")
    return 0


def cmd_boot(args):
    if bool(args.kernel) != bool(args.initrd):
        raise HarnessError("--kernel and --initrd go together")
    if args.kernel:
        bz, initrd = args.kernel, args.initrd
        for path in (bz, initrd):
            if not os.path.exists(path):
                raise HarnessError(f"{path} is missing")
    elif args.no_build:
        bz = os.path.join(kernel.obj_dir(_variant(args)),
                          "arch/x86/boot/bzImage")
        initrd = initramfs.OUTPUT
        for path in (bz, initrd):
            if not os.path.exists(path):
                raise HarnessError(f"{path} is missing: run 'make kernel'")
    else:
        bz, initrd, _ = build_all(_variant(args))
    with VM(f"boot-{args.job}", bz, initrd, job=args.job,
            mem_mib=args.mem, smp=args.smp, timeout=args.timeout,
            reporting=not args.no_reporting) as vm:
        step(f"booting job '{args.job}' ({vm.accel.upper()}), "
             f"console: {vm.dir}/console.log")
        rc = vm.wait_done()
        for line in vm.lines:
            say("  " + line)
        vm.wait_exit()
    return rc


def cmd_demo(args):
    bz, initrd, info = build_all(_variant(args))
    demo.run(bz, initrd, _variant(args), info["version"],
             mem_mib=args.mem, smp=args.smp, workload=args.workload,
             mib=args.mib, limit=args.limit)
    return 0


def cmd_bench(args):
    kernels = {}
    for variant in ("baseline", "ours"):
        kernels[variant], initrd, info = build_all(variant)
    bench.main(kernels, initrd, info["version"], quick=args.quick,
               only=args.only.split(",") if args.only else None)
    return 0


def cmd_stress(args):
    variant = args.variant or ("baseline" if os.environ.get(
        "BASELINE") == "1" else "debug")
    bz, initrd, info = build_all(variant)
    step(f"stress: {args.minutes:g} min, {args.mib} MiB live, seed "
         f"{args.seed}, Linux {info['version']} ({variant})")
    name = f"stress {args.minutes:g} min"
    try:
        say(reliability.stress(bz, initrd, "long-stress",
                               int(args.minutes * 60), args.mib,
                               seed=args.seed))
        reliability.TOTALS.scenarios.append((name, True))
    except AssertionError as e:
        reliability.TOTALS.scenarios.append((name, False))
        say(f"FAIL {e}")
        return 1
    finally:
        say(reliability.TOTALS.summary())
    return 0


def cmd_migrate(args):
    variant = _variant(args)
    bz, initrd, info = build_all(variant)
    fix = not args.no_ram_fix
    step(f"live migration, {args.runs} runs per combination, Linux "
         f"{info['version']} ({variant}), RAM "
         f"{'sized for' if fix else 'NOT sized for'} QEMU 7.2/TCG")
    rows = interop.migration_runs(bz, initrd, args.runs, ram_fix=fix,
                                  tag=f"-{variant}"
                                  + ("" if fix else "-nofix"))
    return 0 if all(r[2] == args.runs for r in rows) else 1


def _report(lines):
    """Print (name, ok, detail) lines; return how many failed."""
    bad = 0
    for name, ok, detail in lines:
        say(f"{'ok  ' if ok else 'FAIL'} {name}: {detail}")
        bad += not ok
    return bad


def cmd_series(args):
    deps.ensure(need_source=True,
                extra=deps.DOC_PACKAGES if args.docs else ())
    step("writing the series (git format-patch)")
    files = series.write()
    step("checking the series")
    bad = _report(series.check(files))
    if args.build_prefixes:
        step("the guests' userspace for the prefix boots")
        initrd = initramfs.build(kernel.TREE)
        step("building every prefix of the series; booting those that "
             "change the engine")
        built = series.build_prefixes(files, initrd)
        bad += sum(not ok for _, ok in built)
        step("make W=1 C=2 (sparse) of the touched files: the "
             "baseline against the series")
        bad += _report(series.warnings_over_baseline())
    if args.docs:
        step("make htmldocs of the touched documentation: the "
             "baseline against the series")
        bad += _report(series.docs_over_baseline())
    return 1 if bad else 0


def cmd_stages(args):
    if args.action == "export":
        labels = kernel.export_stages(args.dir)
        say(f"the staged files, as each patch writes them, in {args.dir}: "
            + ", ".join(labels))
    else:
        kernel.import_stages(args.dir)
        say(f"stage diffs and final forms regenerated from {args.dir}")
    return 0


def cmd_check(args):
    return check.main(_variant(args), args.only)


def _add_variant(parser):
    parser.add_argument("--variant", choices=kernel.VARIANTS)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m harness",
                                 description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("deps", help="install missing Debian packages")

    k = sub.add_parser("kernel", help="build the guest kernel and initramfs "
                       "and print their paths")
    _add_variant(k)
    k.add_argument("--prepare-only", action="store_true",
                   help="only prepare the source tree (base + series)")

    b = sub.add_parser("boot", help="boot the guest with one job")
    b.add_argument("--job", default="boot")
    _add_variant(b)
    b.add_argument("--mem", type=int, default=2048, help="MiB")
    b.add_argument("--smp", type=int, default=2)
    b.add_argument("--timeout", type=int, default=300, help="seconds")
    b.add_argument("--no-reporting", action="store_true")
    b.add_argument("--no-build", action="store_true",
                   help="boot what was built last, build nothing")
    b.add_argument("--kernel", metavar="BZIMAGE",
                   help="boot this kernel, build nothing (with --initrd)")
    b.add_argument("--initrd", metavar="CPIO",
                   help="the initramfs for --kernel")

    d = sub.add_parser("demo", help="free half of guest memory and watch "
                       "the host get it back")
    _add_variant(d)
    d.add_argument("--mem", type=int, default=int(os.environ.get("MEM", 2048)),
                   help="guest memory in MiB (default 2048)")
    d.add_argument("--smp", type=int, default=int(os.environ.get("SMP", 2)),
                   help="vCPUs (default 2)")
    d.add_argument("--workload", choices=("tmpfs", "anon"),
                   default=os.environ.get("WORKLOAD", "tmpfs"))
    d.add_argument("--mib", type=int, help="MiB to free (default: half)")
    d.add_argument("--limit", type=int, default=60,
                   help="seconds to watch after the free (default 60)")

    bn = sub.add_parser("bench", help="upstream reporter vs ours, "
                        "interleaved; writes out/bench.md")
    bn.add_argument("--quick", action="store_true",
                    default=os.environ.get("QUICK") == "1")
    bn.add_argument("--only", default=os.environ.get("ONLY") or None,
                    help="comma-separated workloads: "
                    + ", ".join(bench.WORKLOADS) + " (the README's table is "
                    "only replaced by a run of all)")

    st = sub.add_parser("stress", help="long data-integrity stress on the "
                        "debug kernel (default) or --variant")
    _add_variant(st)
    st.add_argument("--minutes", type=float,
                    default=float(os.environ.get("MINUTES") or 30))
    st.add_argument("--mib", type=int, default=256)
    st.add_argument("--seed", type=int, default=1)

    mg = sub.add_parser("migrate", help="live migration with hinting and "
                        "reporting on and off, RUNS times each")
    mg.add_argument("--runs", type=int,
                    default=int(os.environ.get("RUNS") or 3))
    _add_variant(mg)
    mg.add_argument("--no-ram-fix", action="store_true",
                    default=os.environ.get("RAM_FIX") == "0",
                    help="give the guests a RAM size that is a multiple of "
                    "64 pages, which QEMU 7.2 under TCG migrates wrongly "
                    "(see interop.migration_extra_kib)")

    se = sub.add_parser("series", help="git format-patch the series into "
                        "out/series/ and run its checks")
    se.add_argument("--build-prefixes", action="store_true",
                    help="also build the kernel after every patch, and "
                    "compare W=1 and sparse warnings with the baseline")
    se.add_argument("--docs", action="store_true",
                    help="also make htmldocs of the touched documentation "
                    "(Sphinx) and compare its warnings with the baseline")

    sg = sub.add_parser("stages", help="edit a file that grows over "
                        "several patches: export its forms as whole files, "
                        "import them back as stage diffs")
    sg.add_argument("action", choices=("export", "import"))
    sg.add_argument("dir")

    c = sub.add_parser("check", help="the test suite (what CI runs)")
    _add_variant(c)
    c.add_argument("--only", help="run only tests whose name contains this")
    args = ap.parse_args(argv)
    try:
        return COMMANDS[args.cmd](args)
    except HarnessError as e:
        print(f"error: {e}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        kill_all()


COMMANDS = {
    "deps": cmd_deps, "kernel": cmd_kernel, "boot": cmd_boot,
    "stages": cmd_stages,
    "demo": cmd_demo, "bench": cmd_bench, "stress": cmd_stress,
    "migrate": cmd_migrate, "series": cmd_series, "check": cmd_check,
}


if __name__ == "__main__":
    sys.exit(main())
