# SPDX-License-Identifier: GPL-2.0
"""The QEMU command line of a test guest, from a typed description.

Nothing here starts a process or reads the guest: vm.VM runs what
command() builds.
"""

import dataclasses

from .common import HarnessError

QEMU = "qemu-system-x86_64"


def host_tsc_khz():
    """The host CPU's clock in kHz ("cpu MHz" of /proc/cpuinfo), or None."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("cpu MHz"):
                    return int(float(line.split(":")[1]) * 1000)
    except (OSError, ValueError, IndexError):
        pass
    return None


# The machines a guest runs on: the balloon device each one takes, and the
# transport the guest then binds it through (the driver of its parent).
MACHINES = {
    "q35": ("virtio-balloon-pci", "virtio-pci"),
    "microvm": ("virtio-balloon-device", "virtio-mmio"),
    "virt": ("virtio-balloon-pci", "virtio-pci"),
    "pc-i386": ("virtio-balloon-pci", "virtio-pci"),
    "pseries": ("virtio-balloon-pci", "virtio-pci"),
}


@dataclasses.dataclass(frozen=True)
class Emulated:
    """A machine of another architecture than the host's."""
    qemu: str           # its QEMU
    mtype: str          # its -M
    console: str        # the guest's console
    # The guest's data channel: a virtio console where the machine has
    # one UART (its name in the guest), else ttyS1 (None).
    data: str = None
    cpu: str = "max"    # -cpu (None: the machine's default)
    # How the guest's init ends the run: "poweroff", or "reboot" where the
    # guest kernel has no power-off path (i386 without ACPI); QEMU runs
    # with -no-reboot, so it exits either way.
    exit: str = "poweroff"


FOREIGN = {
    "virt": Emulated("qemu-system-aarch64", "virt", "ttyAMA0", "hvc0"),
    "pc-i386": Emulated("qemu-system-i386", "pc", "ttyS0", exit="reboot"),
    "pseries": Emulated("qemu-system-ppc64", "pseries", "hvc0", "hvc1",
                        cpu=None),
}
NATIVE = Emulated(QEMU, None, "ttyS0")


@dataclasses.dataclass(frozen=True)
class Guest:
    """One guest: its kernel, memory and devices, and what it runs."""
    kernel: str
    initrd: str
    job: str = "boot"       # harness/guest/jobs/JOB.sh, run by its init
    mem_mib: int = 2048
    smp: int = 2
    reporting: bool = True  # the balloon's free-page-reporting property
    params: dict = dataclasses.field(default_factory=dict)  # pr.K=V
    # More balloon properties ({"free-page-hint": "on"}).
    balloon_props: dict = dataclasses.field(default_factory=dict)
    qemu_args: list = dataclasses.field(default_factory=list)
    append: str = ""        # more kernel command line
    timeout: float = 300    # seconds until the run counts as hung
    balloon: bool = True    # a balloon device at all
    numa_nodes: int = 1
    # KUnit suites run at boot only where a check wants them: the
    # engine's suite registers a fake device and reports all memory,
    # which a demo or benchmark guest must not pay for.
    kunit: bool = False
    cpu: str = None         # None: the host's under KVM, "max" under TCG
    # q35: the balloon on virtio-pci; microvm: on virtio-mmio, the
    # transport of microVM hosts; the others: see FOREIGN.
    machine: str = "q35"
    # Appended to -m, e.g. ",slots=2,maxmem=2G" for memory hotplug.
    mem_opts: str = ""
    # KiB of RAM added to mem_mib (see interop.migration_extra_kib()).
    mem_extra_kib: int = 0
    # The id of a PCIe root port to put the balloon behind, so that the
    # host can unplug it (q35's root complex has no hotplug).
    balloon_port: str = None
    # RAM from a memory backend with reserve=off: QEMU maps it without
    # reserving swap space for it, so a guest larger than the host's
    # memory starts, and only what the guest touches is resident.
    lazy_ram: bool = False

    def __post_init__(self):
        # None stands for "none" in callers' keyword arguments.
        for name, empty in (("params", {}), ("balloon_props", {}),
                            ("qemu_args", [])):
            if getattr(self, name) is None:
                object.__setattr__(self, name, empty)
        if self.machine not in MACHINES:
            raise HarnessError(f"unknown machine {self.machine!r}; one of "
                               + ", ".join(sorted(MACHINES)))
        if self.lazy_ram and (self.numa_nodes > 1 or self.mem_opts):
            raise HarnessError("lazy_ram is one memory backend: no NUMA "
                               "nodes or memory hotplug with it")
        if self.machine == "microvm" and (
                self.balloon_port or self.mem_opts or self.numa_nodes > 1):
            raise HarnessError("microvm has no PCIe root port, memory "
                               "hotplug or NUMA nodes")

    @property
    def host(self):
        """How the machine is emulated (Emulated)."""
        return FOREIGN.get(self.machine, NATIVE)


def cmdline(g, tsc_khz=None):
    """The kernel command line of guest @g. @tsc_khz: the host's TSC
    frequency, which a microvm guest is told (host_tsc_khz())."""
    args = [f"console={g.host.console}", "panic=-1", "oops=panic",
            f"pr.job={g.job}"]
    if g.host.data:
        args.append(f"pr.data={g.host.data}")
    if g.host.exit != "poweroff":
        args.append(f"pr.exit={g.host.exit}")
    if not g.kunit:
        args.append("kunit.enable=0")
    if g.machine == "microvm" and tsc_khz:
        # microvm has no HPET or ACPI PM timer to calibrate the TSC
        # against, and calibrating against the PIT under TCG fails on a
        # busy host: the guest then hangs in early boot. Under TCG the
        # guest's TSC is the host's.
        args.append(f"tsc_early_khz={tsc_khz}")
    args += [f"pr.{k}={v}" for k, v in g.params.items()]
    if g.append:
        args.append(g.append)
    return " ".join(args)


def balloon_device(g):
    """Guest @g's balloon device: its driver (the one its machine takes)
    and properties, typed as QMP's device_add takes them (booleans, not
    "on"/"off")."""
    props = {"driver": MACHINES[g.machine][0], "id": "balloon0",
             "free-page-reporting": g.reporting}
    if g.balloon_port:
        props["bus"] = g.balloon_port
    for k, v in g.balloon_props.items():
        props[k] = {"on": True, "off": False}.get(v, v)
    return props


def ram_block_kib(g):
    """The size of each of guest @g's RAM blocks in KiB: all of its RAM,
    or one NUMA node's (command() gives the nodes equal shares)."""
    if g.numa_nodes > 1:
        return g.mem_mib // g.numa_nodes * 1024
    return g.mem_mib * 1024 + g.mem_extra_kib


def _mem_size(g):
    if g.mem_extra_kib:
        return f"{g.mem_mib * 1024 + g.mem_extra_kib}K"
    return f"{g.mem_mib}M"


def command(g, rundir, accel, extra=()):
    """QEMU's command line for guest @g under @accel ("kvm" or "tcg"),
    with its sockets and logs in @rundir, and @extra arguments last."""
    def text(v):
        return ("on" if v else "off") if isinstance(v, bool) else v
    props = balloon_device(g)
    dev = props.pop("driver") + "," + ",".join(
        f"{k}={text(v)}" for k, v in props.items())
    cpu = g.cpu or ("host" if accel == "kvm" else g.host.cpu)
    devices = ["-device", dev] if g.balloon else []
    if g.balloon_port:
        devices[:0] = ["-device", f"pcie-root-port,id={g.balloon_port}"
                       ",chassis=1"]
    if g.numa_nodes > 1:
        # Equal nodes, vCPUs spread round-robin.
        size = g.mem_mib // g.numa_nodes
        for n in range(g.numa_nodes):
            cpus = [c for c in range(g.smp) if c % g.numa_nodes == n]
            devices += ["-object",
                        f"memory-backend-ram,id=mem{n},size={size}M",
                        "-numa", f"node,nodeid={n},memdev=mem{n}"
                        + "".join(f",cpus={c}" for c in cpus)]
    # One socket per node: a last-level cache shared across nodes is a
    # topology the kernel warns about.
    smp = str(g.smp)
    if g.numa_nodes > 1:
        smp += f",sockets={g.numa_nodes}"
    if g.machine == "microvm":
        # microvm makes only the first -serial a port (COM1); the data
        # channel is a second ISA port, ttyS1 in the guest.
        data = ["-device", "isa-serial,chardev=data,iobase=0x2f8,irq=3",
                # QEMU's virtio-mmio is legacy (version 1) by default;
                # microVM hosts offer version 2, as PCI does.
                "-global", "virtio-mmio.force-legacy=false"]
    elif g.host.data:
        data = ["-device", "virtio-serial-pci,id=vser0",
                "-device", "virtconsole,chardev=data"]
    else:
        data = ["-serial", "chardev:data"]
    mtype = g.host.mtype or g.machine
    if g.lazy_ram:
        devices += ["-object", f"memory-backend-ram,id=ram0,size="
                    f"{_mem_size(g)},reserve=off"]
        mtype += ",memory-backend=ram0"
    d = rundir
    tsc = host_tsc_khz() if g.machine == "microvm" else None
    return [g.host.qemu, "-accel", accel,
            "-M", mtype,
            ] + (["-cpu", cpu] if cpu else []) + [
            "-smp", smp, "-m", _mem_size(g) + g.mem_opts,
            "-nodefaults", "-display", "none", "-no-reboot",
            "-kernel", g.kernel, "-initrd", g.initrd,
            "-append", cmdline(g, tsc),
            "-chardev", f"socket,id=qmp,path={d}/qmp.sock,server=on,"
            "wait=off",
            "-mon", "chardev=qmp,mode=control",
            "-chardev", f"file,id=con,path={d}/console.log",
            "-serial", "chardev:con",
            # wait=on: the guest does not start before the harness
            # listens, so no line of the data channel is lost.
            "-chardev", f"socket,id=data,path={d}/data.sock,server=on,"
            "wait=on",
            ] + data + devices + list(g.qemu_args) + list(extra)
