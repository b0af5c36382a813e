# SPDX-License-Identifier: GPL-2.0
"""Build, boot, test and measure the bitmap free page reporting series."""
