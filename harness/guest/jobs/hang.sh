# SPDX-License-Identifier: GPL-2.0
# Never finish: the harness must time out and kill QEMU.
while :; do sleep 3600; done
