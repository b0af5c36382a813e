# SPDX-License-Identifier: GPL-2.0
# Front door of the bitmap free page reporting series. Everything is done by
# the harness (python3 -m harness, Python standard library + matplotlib);
# these targets only name its commands. Variables, all optional:
#   KERNEL_SRC=DIR     a 6.12 tree to use instead of Debian's linux-source-6.12
#   BASELINE=1         use the unpatched base (the upstream reporter)
#   DEBUG=1            use the debug kernel (Kconfig.debug: DEBUG_VM, lockdep,
#                      KASAN); the test command builds it for its scenarios
#   ACCEL=kvm|tcg      force the accelerator (default: KVM when usable)
#   MEM=MiB SMP=N WORKLOAD=tmpfs|anon   demo guest size and workload
#   ONLY=TEXT          check: run only the tests whose name contains TEXT;
#                      bench: only these workloads (comma-separated)
#   MINUTES=N          stress: how long (default 30)

# Debian's interpreter: it is the one that sees python3-matplotlib.
PYTHON ?= /usr/bin/python3
HARNESS = $(PYTHON) -m harness

.PHONY: help demo check bench stress migrate series series-build series-docs kernel boot deps clean distclean

help:
	@echo "make demo     build, boot, free half of guest memory, watch it return"
	@echo "make check    the test suite (what CI runs); last line: N passed, M failed"
	@echo "make bench    upstream reporter vs ours, interleaved (QUICK=1: about 13 min)"
	@echo "make stress   long data-integrity stress on the debug kernel (MINUTES=30)"
	@echo "make migrate  live migration, hinting and reporting on/off (RUNS=3 each)"
	@echo "make series   git format-patch the series into out/series/, checkpatch, kernel-doc, git am"
	@echo "make series-build  the same, build the kernel after every patch, W=1 + sparse"
	@echo "make series-docs   the same, and make htmldocs of the touched documentation"
	@echo "make kernel   build the guest kernel + initramfs and print their paths"
	@echo "make boot     boot the guest once (JOB=boot|kselftest|demo|...)"
	@echo "make deps     install the Debian packages the harness needs"
	@echo "make clean    remove run output; distclean: also build trees (not ~/.cache/pr-ccache)"

demo:
	$(HARNESS) demo

check:
	$(HARNESS) check $(if $(ONLY),--only "$(ONLY)")

bench:
	$(HARNESS) bench

stress:
	$(HARNESS) stress

migrate:
	$(HARNESS) migrate

series:
	$(HARNESS) series

series-build:
	$(HARNESS) series --build-prefixes

series-docs:
	$(HARNESS) series --docs

kernel:
	$(HARNESS) kernel

boot:
	$(HARNESS) boot --job $(or $(JOB),boot)

deps:
	$(HARNESS) deps

clean:
	rm -rf out build/runs build/logs

distclean:
	rm -rf out build
