# SPDX-License-Identifier: GPL-2.0
# Crash the guest on purpose: the harness must notice and show the console.
echo c > /proc/sysrq-trigger
