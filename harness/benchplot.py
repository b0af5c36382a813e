# SPDX-License-Identifier: GPL-2.0
"""The bench's rounds: out/bench-rounds.csv and the figure out/bench.png.

The table gives a median and a spread; a median of five rounds under TCG
can still rest on one slow run, so the figure shows every round: one
panel per measure, one column per configuration, a dot per round and a
bar at the median. Rounds with no value (a time to return not reached,
no block discarded to judge) are counted under the column instead.
"""

import csv
import statistics
import textwrap

COLORS = {"off": "tab:gray", "upstream": "tab:orange", "ours": "tab:blue"}
COLUMNS = 4

HEADER = ["measure", "config", "round", "value", "plotted"]


def rounds(rows, plotted):
    """The per-round rows of a bench table's @rows ((measure, config,
    cell)): [measure, config, round, value or "", plotted 0/1] for every
    cell that keeps its rounds' values (a cell without them, such as a
    one-off text, has none)."""
    out = []
    for measure, cfg, cell in rows:
        for i, v in enumerate(getattr(cell, "values", ())):
            out.append([measure, cfg, i, "" if v is None else v,
                        int(measure in plotted)])
    return out


def write_csv(path, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        w.writerows(rows)


def read_csv(path):
    """The rows of write_csv(), with numbers as numbers (None: missed)."""
    with open(path, newline="") as f:
        r = csv.reader(f)
        if next(r, None) != HEADER:
            raise ValueError(f"{path}: not a bench rounds file")
        return [[m, c, int(i), float(v) if v != "" else None, int(p)]
                for m, c, i, v, p in r]


def panels(rows):
    """{measure: {config: [values by round]}} of the plotted @rows, in
    the order the bench measured them."""
    out = {}
    for measure, cfg, _, value, plotted in rows:
        if plotted:
            out.setdefault(measure, {}).setdefault(cfg, []).append(value)
    return out


def figure(rows, path, title):
    """Draw the plotted measures of @rows (see rounds()) into @path (PNG).
    Returns the number of panels; no file is written when there is none."""
    data = panels(rows)
    if not data:
        return 0
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    nrows = -(-len(data) // COLUMNS)
    fig, axes = plt.subplots(nrows, COLUMNS, squeeze=False,
                             figsize=(4 * COLUMNS, 3.2 * nrows))
    flat = [ax for line in axes for ax in line]
    for ax, (measure, by_cfg) in zip(flat, data.items()):
        _panel(ax, measure, by_cfg)
    for ax in flat[len(data):]:
        ax.set_visible(False)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return len(data)


def _panel(ax, measure, by_cfg):
    cfgs = list(by_cfg)
    top = 0.0
    for x, cfg in enumerate(cfgs):
        vals = [v for v in by_cfg[cfg] if v is not None]
        color = COLORS.get(cfg, "tab:green")
        n = len(vals)
        # Spread the dots of one column a little so that equal rounds
        # stay visible as several.
        xs = [x + (i - (n - 1) / 2) * 0.06 for i in range(n)]
        ax.plot(xs, vals, "o", color=color, alpha=0.7, ms=4)
        if vals:
            ax.hlines(statistics.median(vals), x - 0.3, x + 0.3,
                      color=color, lw=2)
            top = max(top, max(vals))
        missed = len(by_cfg[cfg]) - n
        if missed:
            ax.annotate(f"{missed} of {len(by_cfg[cfg])}\nno value",
                        (x, 0), xytext=(0, 4), textcoords="offset points",
                        ha="center", fontsize=7)
    ax.set_xticks(range(len(cfgs)))
    ax.set_xticklabels(cfgs, fontsize=8)
    ax.set_xlim(-0.6, len(cfgs) - 0.4)
    ax.set_ylim(0, top * 1.15 if top > 0 else 1)
    ax.tick_params(axis="y", labelsize=7)
    ax.grid(axis="y", alpha=0.3)
    ax.set_title("\n".join(textwrap.wrap(measure, 44)), fontsize=8)
