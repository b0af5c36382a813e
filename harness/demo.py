# SPDX-License-Identifier: GPL-2.0
"""The demo: a guest frees half its memory; watch the host get it back."""

from .common import is_tty, say, step
from .measure import save, summary_line, watch_return
from .vm import VM


def run(kernel_path, initrd, variant, base_version, mem_mib=2048, smp=2,
        workload="tmpfs", mib=None, limit=60):
    mib = mib or mem_mib // 2
    vm = VM(f"demo-{variant}", kernel_path, initrd, job="demo",
            mem_mib=mem_mib, smp=smp,
            params={"mib": mib, "workload": workload, "hold": 3,
                    "after": limit + 10},
            timeout=limit + 300)
    step(f"booting the {variant} guest: Linux {base_version}, "
         f"{mem_mib} MiB, {smp} vCPUs, {vm.accel.upper()}, "
         f"virtio-balloon free-page-reporting=on; workload: {mib} MiB "
         f"{workload}")
    if not is_tty():
        say("  (one line per second)")
    with vm:
        res = watch_return(vm, limit=limit)
        vm.quit()
    label = f"demo [{variant}, Linux {base_version}, {vm.accel.upper()}, " \
        f"{mem_mib} MiB, {smp} vCPUs, {workload}]"
    csv_path, png = save(res, f"demo-{variant}",
                         f"{variant}: {mib} MiB {workload} freed in a "
                         f"{mem_mib} MiB guest ({vm.accel.upper()})")
    say(f"  samples: {csv_path}\n  plot:    {png}")
    say(summary_line(res, label))
    return res
