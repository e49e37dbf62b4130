"""Matplotlib figures of a design-space sweep, sized and lettered for a paper (Agg backend).

Each function takes a result of the Python API (``accelsim.simulate(...)``, ``accelsim.profile(...)``,
``accelsim.sweep(...)``: anything with ``.layers`` / ``.points``) or the DataFrame itself (from
``accelsim.systolic.simulate``, ``accelsim.workload.profile`` or the results store, which share the
names of ``accelsim.columns``) and returns a ``Figure``; ``save`` writes it (PNG, SVG and/or PDF).

Figures are drawn at their print size: one column (``COLUMN_IN`` = 3.5 in) or, for the per-layer
bar charts, two columns (``WIDE_IN``), with 7-8 pt text and 5.5-6 pt layer names, so tick labels stay
readable when the figure is placed at that width. Axes show scaled units (k/M/G for counts, µJ/mJ,
µs/ms/s, kB/MB, mm²; ``scale_for``) and plain tick numbers, never offsets or powers of ten.
"""

from __future__ import annotations

import functools
import math
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter
from matplotlib.transforms import Bbox

from accelsim.dse.pareto import pareto_front
from accelsim.errors import AccelsimError

DPI = 200  # PNG resolution: a 3.5 in figure is 700 px wide
FORMATS = ("png", "svg", "pdf")
COLUMN_IN = 3.5  # one column of a two-column paper
WIDE_IN = 7.16  # both columns (IEEE text width)
PAPER_RC: dict[Any, Any] = {
    "font.size": 7.5, "axes.titlesize": 8, "axes.labelsize": 7.5, "xtick.labelsize": 7, "ytick.labelsize": 7,
    "legend.fontsize": 6.5, "axes.linewidth": 0.6, "xtick.major.width": 0.6, "ytick.major.width": 0.6,
    "xtick.minor.width": 0.4, "ytick.minor.width": 0.4, "lines.linewidth": 1.0, "grid.linewidth": 0.4,
    "legend.handlelength": 1.4, "legend.borderpad": 0.3, "legend.labelspacing": 0.3,
}
# Written into every saved file the same way, so a regenerated report differs only where the data does.
_SAVE_RC: dict[Any, Any] = {"svg.hashsalt": "accelsim", "pdf.fonttype": 42}
_METADATA = {"png": {"Software": None}, "svg": {"Date": None, "Creator": None},
             "pdf": {"CreationDate": None, "Creator": None, "Producer": None}}
ROOFLINE_LABELS = 8  # clusters of layers named on the roofline (the first ones, in layer order)
LAYER_LABELS_MAX = 70  # more layers than this: every k-th layer named on the two-column bar charts
TITLE_CHARS = 46  # characters per title line over a one-column figure's axes at 8 pt

DATAFLOW_COLORS = {"os": "tab:blue", "ws": "tab:orange", "is": "tab:green", "search": "tab:purple"}
TYPE_COLORS = {"conv2d": "tab:blue", "linear": "tab:red"}
IN_PLACE = ("relu", "tanh", "sigmoid", "flatten", "softmax")

# Unit ladders: (factor in the column's unit, name), largest first.
UNITS: dict[str, tuple[tuple[float, str], ...]] = {
    "count": ((1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, "")),
    "bytes": ((1e9, "GB"), (1e6, "MB"), (1e3, "kB"), (1.0, "B")),
    "ms": ((1e3, "s"), (1.0, "ms"), (1e-3, "µs")),
    "uJ": ((1e6, "J"), (1e3, "mJ"), (1.0, "µJ"), (1e-3, "nJ")),
    "pJ": ((1e6, "µJ"), (1e3, "nJ"), (1.0, "pJ")),
    "uJ_ms": ((1e6, "J·ms"), (1e3, "mJ·ms"), (1.0, "µJ·ms"), (1e-3, "nJ·ms")),
    "mm2": ((1.0, "mm²"), (1e-6, "µm²")),
}
# Point columns drawn on the Pareto axes: (quantity, unit ladder).
AXES = {
    "latency_ms": ("latency", "ms"), "energy_per_inference_uJ": ("energy per inference", "uJ"),
    "area_mm2": ("chip area", "mm2"), "edp_uJ_ms": ("energy-delay product", "uJ_ms"), "pe_count": ("PEs", "count"),
    "cycles": ("cycles", "count"), "dram_bytes": ("DRAM traffic", "bytes"), "pJ_per_mac": ("energy per MAC", "pJ"),
    "total_pJ": ("energy", "pJ"),
}


def scale_for(values, ladder: str) -> tuple[float, str]:
    """(factor, unit name) of ``UNITS[ladder]`` for ``values``: the largest unit not above the
    geometric middle of their positive magnitudes, so the numbers read mostly between 1 and 1000."""
    v = np.abs(np.asarray(values, dtype=float).ravel())
    v = v[np.isfinite(v) & (v > 0)]
    ref = math.sqrt(float(v.min()) * float(v.max())) if len(v) else 1.0
    steps = UNITS[ladder]
    for factor, name in steps:
        if ref >= factor:
            return factor, name
    return steps[-1]


def axis_label(quantity: str, unit: str) -> str:
    """``quantity (unit)``; a count without a prefix has no unit."""
    return f"{quantity} ({unit})" if unit else quantity


def _scaled(values, column: str, quantity: str | None = None) -> tuple[np.ndarray, float, str]:
    """The values of a point column in their scaled unit, the factor, and the axis label."""
    what, ladder = AXES.get(column, (column, "count"))
    factor, unit = scale_for(values, ladder)
    return np.asarray(values, dtype=float) / factor, factor, axis_label(quantity or what, unit)


def _num(v: float, _pos=None) -> str:
    """A tick number as written: 0.5, 20, 1,000 (no offset, no 10^x)."""
    return f"{v:,.6g}"


def _axis(ax, which: str, values, log: bool | None = None) -> bool:
    """Linear or (``log`` None: if the values span 10x or more) log scale with plain tick numbers;
    returns whether it is log."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    span = float(v.max() / v.min()) if len(v) else 1.0
    if log is None:
        log = span >= 10
    axis = ax.xaxis if which == "x" else ax.yaxis
    if log:
        (ax.set_xscale if which == "x" else ax.set_yscale)("log")
        decades = math.log10(span) if span > 0 else 0
        subs = (1.0,) if decades > 3.5 else (1.0, 2.0, 5.0) if decades > 0.8 else (1.0, 1.5, 2.0, 3.0, 5.0, 7.0)
        axis.set_major_locator(LogLocator(base=10, subs=subs))
        axis.set_minor_locator(LogLocator(base=10, subs=[float(i) for i in range(2, 10)]))
        axis.set_minor_formatter(NullFormatter())
    else:
        axis.set_major_locator(MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10]))
    axis.set_major_formatter(FuncFormatter(_num))
    return bool(log)


def _wrap(title: str, chars: int = TITLE_CHARS) -> str:
    return "\n".join(textwrap.wrap(title, chars)) if len(title) > chars else title


def _paper(fn):
    """Build the figure with the paper's font sizes and line widths."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with plt.rc_context(PAPER_RC):
            return fn(*args, **kwargs)
    return wrapper


def _frame(obj, attr: str = "layers") -> pd.DataFrame:
    """The DataFrame of a result (its ``attr``), or ``obj`` itself if it is one."""
    if isinstance(obj, pd.DataFrame):
        return obj
    df = getattr(obj, attr, None)
    if not isinstance(df, pd.DataFrame):
        raise AccelsimError(f"figure: expected a DataFrame or a result with .{attr}, got {type(obj).__name__}")
    return df


def _config(obj):
    """The ArrayConfig a result was simulated on, if it carries one."""
    return None if isinstance(obj, pd.DataFrame) else getattr(obj, "config", None)


def _title(df: pd.DataFrame, what: str) -> str:
    network = df.attrs.get("network")
    return f"{what}: {network}" if network else what


def save(fig: Figure, path: str | Path, formats: Sequence[str] | None = None) -> Path:
    """Write ``fig`` to ``path`` (format from its extension) and, for each of ``formats`` (e.g.
    ``FORMATS``), beside it with that extension; returns ``path``. Closes the figure."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    exts = [path.suffix.lstrip(".").lower() or "png"]
    exts += [f for f in (formats or ()) if f not in exts]
    with plt.rc_context(_SAVE_RC):
        for ext in exts:
            fig.savefig(path.with_suffix("." + ext), dpi=DPI, format=ext, metadata=_METADATA.get(ext))
            fig.set_layout_engine("none")  # laid out by the first save: the others reuse it (half the time)
    plt.close(fig)
    return path


def _layer_ticks(ax, names: Sequence[str]) -> None:
    """Layer names under the bars, every k-th of them when there are more than LAYER_LABELS_MAX."""
    k = max(1, math.ceil(len(names) / LAYER_LABELS_MAX))
    x = list(range(0, len(names), k))
    ax.set_xticks(x, [names[i] for i in x], rotation=90, fontsize=5.5)
    ax.set_xlim(-0.7, len(names) - 0.3)
    if k > 1:
        ax.set_xlabel(f"layers (one in {k} named)", fontsize=6.5)


@_paper
def layer_cycles(layers, title: str | None = None) -> Figure:
    """Per-layer cycles (busy and memory stall stacked) and PE utilization of one design point
    (a simulation result, its ``.layers``, or a point's layers from the results store).

    Layers with no cycles (flatten) are left out; vector-unit layers (pooling, activations) are
    drawn in their own colour and have no PE utilization. Two columns wide.
    """
    layers = _frame(layers)
    title = title or _title(layers, "Per-layer cycles and utilization")
    layers = layers[layers["cycles"] > 0].reset_index(drop=True)
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(WIDE_IN, 3.9), sharex=True, height_ratios=(2, 1),
                                   layout="constrained")
    x = np.arange(len(layers))
    array = (layers["unit"] == "array").to_numpy()
    busy = (layers["cycles"] - layers["stall_cycles"]).to_numpy()
    stall = layers["stall_cycles"].to_numpy()
    factor, unit = scale_for(layers["cycles"].max(), "count")
    width = 0.8
    ax1.bar(x[array], busy[array] / factor, width, color="tab:blue", label="array: busy")
    ax1.bar(x[~array], busy[~array] / factor, width, color="tab:purple", label="vector unit: busy")
    ax1.bar(x, stall / factor, width, bottom=busy / factor, color="tab:gray", label="waiting for DRAM")
    ax1.set_ylabel(axis_label("cycles", unit))
    ax1.yaxis.set_major_locator(MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10]))
    ax1.yaxis.set_major_formatter(FuncFormatter(_num))
    ax1.set_title(_wrap(title, TITLE_CHARS + 14), loc="left")
    ax1.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), ncols=3, frameon=False, borderaxespad=0.2)
    ax2.bar(x[array], 100 * layers["utilization"].to_numpy()[array], width, color="tab:green")
    ax2.set_ylabel("PE util. (%)")
    ax2.set_ylim(0, 100)
    ax2.set_yticks([0, 50, 100])
    _layer_ticks(ax2, list(layers["layer"]))
    return fig


@_paper
def roofline(layers, pe_count: int | None = None, bandwidth_bytes_per_cycle: float | None = None,
             title: str | None = None) -> Figure:
    """Roofline in MACs/cycle: the array's peak (one MAC per PE per cycle) against DRAM bandwidth.

    A layer sits at its arithmetic intensity I = MACs / DRAM bytes (read + write). Reads and
    writes each have ``bandwidth`` bytes/cycle, so the memory roof is 2 x bandwidth x I (the bound
    cycles >= (read + write bytes) / (2 x bandwidth)). Given a simulation result, the PE count and
    bandwidth default to its configuration's.
    """
    cfg = _config(layers)
    layers = _frame(layers)
    if pe_count is None or bandwidth_bytes_per_cycle is None:
        if cfg is None:
            raise AccelsimError("figure: roofline: give pe_count and bandwidth_bytes_per_cycle (or a simulation "
                                "result)")
        pe_count = cfg.pes if pe_count is None else pe_count
        bandwidth_bytes_per_cycle = cfg.bandwidth if bandwidth_bytes_per_cycle is None else bandwidth_bytes_per_cycle
    title = title or _title(layers, "Roofline")
    fig, ax = plt.subplots(figsize=(COLUMN_IN, 3.0), layout="constrained")
    lay = layers[layers["intensity_macs_per_dram_byte"].notna()]
    lo = min(0.05, float(lay["intensity_macs_per_dram_byte"].min()) / 2) if len(lay) else 0.05
    hi = 1e4
    if len(lay):
        hi = max(pe_count / bandwidth_bytes_per_cycle * 20, float(lay["intensity_macs_per_dram_byte"].max()) * 2)
    xi = np.logspace(np.log10(lo), np.log10(hi), 200)
    roof = np.minimum(pe_count, 2 * bandwidth_bytes_per_cycle * xi)
    factor, unit = scale_for([roof.min(), pe_count], "count")
    ax.plot(xi, roof / factor, color="black", lw=1.5, label="roof")
    ridge = pe_count / (2 * bandwidth_bytes_per_cycle)
    ax.axvline(ridge, color="gray", ls=":", lw=0.8)
    ax.annotate(f"ridge {ridge:,.1f}", (ridge, 0.02), xycoords=("data", "axes fraction"), textcoords="offset points",
                xytext=(3, 0), fontsize=6, color="gray")
    for kind, grp in lay.groupby("type"):
        ax.scatter(grp["intensity_macs_per_dram_byte"], grp["attained_macs_per_cycle"] / factor, s=12, zorder=3,
                   color=TYPE_COLORS.get(kind, "tab:purple"), label=kind)
    _axis(ax, "x", xi, log=True)
    _axis(ax, "y", np.concatenate([roof, lay["attained_macs_per_cycle"].to_numpy(dtype=float)]) / factor, log=True)
    ax.autoscale_view()
    ax.set_xlabel("arithmetic intensity (MACs per DRAM byte)")
    ax.set_ylabel(axis_label("attained MACs per cycle", unit))
    ax.set_title(_wrap(title))
    legend = ax.legend(loc="upper left")
    ax.grid(True, which="major", alpha=0.25)
    fig.draw_without_rendering()
    taken = [legend.get_window_extent()]
    clusters = _clusters(lay["intensity_macs_per_dram_byte"], lay["attained_macs_per_cycle"], lay["layer"])
    for (cx, cy), names in clusters[:ROOFLINE_LABELS]:
        _place(ax, (cx, cy / factor), names[0] + (f" +{len(names) - 1}" if len(names) > 1 else ""), taken=taken)
    return fig


def _clusters(xs, ys, names, decades: float = 0.5):
    """Points closer than ``decades`` (log10) in both axes share one label, at the first point."""
    out: list[tuple[tuple[float, float], list[str]]] = []
    for x, y, name in zip(xs, ys, names, strict=True):
        for (cx, cy), members in out:
            if abs(np.log10(x / cx)) < decades and abs(np.log10(y / cy)) < decades:
                members.append(name)
                break
        else:
            out.append(((x, y), [name]))
    return out


def _sram_label(row) -> str | None:
    """A point's SRAM (the three buffers together) in a few characters: ``640 KiB``, ``2.5 MiB``."""
    kib = [row.get(f"{b}_sram_kib") for b in ("ifmap", "filter", "ofmap")]
    if any(v is None for v in kib):
        return None
    total = float(sum(kib))
    return f"{total / 1024:g} MiB" if total >= 1024 else f"{total:g} KiB"


def design_label(row, bandwidth: bool = True, sram: bool = True, objective: bool = False) -> str:
    """A design point in a few characters: ``32x64 WS`` (``32x64 search`` when each layer's mapping was
    searched), with its DRAM bandwidth (``32 B/c``), SRAM (all three buffers, ``640 KiB``) and search
    objective (``search/edp``) when asked (``pareto`` asks when the named points differ in them)."""
    parts = []
    if "rows" in row and "cols" in row:
        parts.append(f"{int(row['rows'])}x{int(row['cols'])}")
    if row.get("mapper") == "search":
        parts.append(f"search/{row['objective']}" if objective else "search")  # each layer's dataflow searched
    elif "dataflow" in row:
        parts.append(str(row["dataflow"]).upper())
    if bandwidth and "bandwidth_bytes_per_cycle" in row:
        parts.append(f"{row['bandwidth_bytes_per_cycle']:g} B/c")
    if sram and _sram_label(row):
        parts.append(str(_sram_label(row)))
    return " ".join(parts)


# Where a label may sit around its point: (dx, dy) in points, horizontal and vertical alignment.
_SPOTS = ((6, 0, "left", "center"), (-6, 0, "right", "center"), (0, 6, "center", "bottom"),
          (0, -6, "center", "top"), (5, 5, "left", "bottom"), (-5, -5, "right", "top"), (5, -5, "left", "top"),
          (-5, 5, "right", "bottom"))


def _place(ax, xy, text: str, bold: bool = False, dy: float = 0, taken: list | None = None,
           force: bool = False, within=None) -> bool:
    """Label a point with ``text``. Without ``taken``: on the side of it that faces the middle of the
    axes (``dy`` points above it). With ``taken`` (the window boxes of the labels and marks placed so
    far; the figure must be laid out): at the first of ``_SPOTS`` inside the axes, else inside ``within``
    (a larger window box, e.g. the main axes around an inset), that overlaps none of them; else
    (``force``) at the first spot inside the axes whatever it covers, or not at all (returns False).
    Labels stay out of the layout, so they never shrink the axes."""
    style = {"fontsize": 6, "fontweight": "bold" if bold else "normal", "zorder": 5,
             "bbox": {"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.75}}
    if taken is None:
        fx, fy = ax.transAxes.inverted().transform(ax.transData.transform(xy))
        right = fx < 0.6
        va = "bottom" if fy < 0.15 else "top" if fy > 0.85 else "center"
        spots: tuple = ((6 if right else -6, dy, "left" if right else "right", va),)
    else:
        spots = _SPOTS
    renderer = ax.figure.canvas.get_renderer()
    fallback = None
    for area in (ax.bbox, within):
        if area is None:
            continue
        for dx, ddy, ha, va in spots:
            ann = ax.annotate(text, xy, textcoords="offset points", xytext=(dx, ddy), ha=ha, va=va, **style)
            ann.set_in_layout(False)
            ann.set_clip_on(False)
            if taken is None:
                return True
            box = ann.get_window_extent(renderer).expanded(1.05, 1.1)
            inside = area.x0 <= box.x0 and box.x1 <= area.x1 and area.y0 <= box.y0 and box.y1 <= area.y1
            if inside and not any(box.overlaps(t) for t in taken):
                taken.append(box)
                return True
            if inside and fallback is None and area is ax.bbox:
                fallback = (dx, ddy, ha, va)
            ann.remove()
    if not force:
        return False
    dx, ddy, ha, va = fallback or spots[0]  # inside the axes, over another label if it must
    ax.annotate(text, xy, textcoords="offset points", xytext=(dx, ddy), ha=ha, va=va, **style).set_in_layout(False)
    return True


def _span(lo: float, hi: float, log: bool, pad: float) -> tuple[float, float]:
    """[lo, hi] widened by ``pad`` of its width on each side (in log space on a log axis)."""
    if log:
        a, b = math.log10(lo), math.log10(hi)
        w = max(b - a, 0.02)
        return 10 ** (a - pad * w), 10 ** (b + pad * w)
    w = max(hi - lo, 0.02 * max(abs(hi), 1e-12))
    return lo - pad * w, hi + pad * w


ZOOM_BELOW = 0.2  # a front spanning less than this share of both axes gets a zoomed inset


@_paper
def pareto(points, front: pd.DataFrame | None = None, x: str = "pe_count", y: str = "latency_ms",
           xlabel: str | None = None, ylabel: str | None = None, title: str | None = None,
           logx: bool | None = None, logy: bool | None = None, highlight=None,
           highlight_label: str = "selected") -> Figure:
    """Every point with the Pareto front of (x, y), both minimized: dominated points faded, front
    points solid (colour by dataflow) on a staircase, its two ends named; ``highlight`` (a point's
    row) drawn as a star and named. One column wide; axes in scaled units, log when a column spans
    10x or more (``logx``/``logy`` force it). A front squeezed into a corner (under ``ZOOM_BELOW`` of
    both axes) is drawn again, named, in a zoomed inset.

    ``points``: a sweep result (its ``.points``) or the store's points; ``front`` defaults to their
    Pareto front of (x, y) (its index must be ``points``' index)."""
    points = _frame(points, "points")
    if front is None:
        front = pareto_front(points, [x, y])
    xs, fx, auto_xlabel = _scaled(points[x], x)
    ys, fy, auto_ylabel = _scaled(points[y], y)
    on_front = points.index.isin(front.index)
    # colour by dataflow; a point whose mappings were searched picks each layer's dataflow, so it has its own
    # colour and marker
    flows = points["dataflow"].to_numpy() if "dataflow" in points else np.array([""] * len(points))
    if "mapper" in points:
        flows = np.where(points["mapper"].to_numpy() == "search", "search", flows)
    order = np.argsort(xs[on_front], kind="stable")
    hxy = None if highlight is None else (float(highlight[x]) / fx, float(highlight[y]) / fy)

    def draw(ax, zoom: bool) -> None:
        tag = "-zoom" if zoom else ""
        for flow in sorted(set(flows)):
            color, marker = DATAFLOW_COLORS.get(flow, "tab:gray"), "D" if flow == "search" else "o"
            sel = flows == flow
            ax.scatter(xs[sel & ~on_front], ys[sel & ~on_front], s=7, color=color, marker=marker, alpha=0.2,
                       linewidths=0, zorder=2, gid="dominated" + tag)
            ax.scatter(xs[sel & on_front], ys[sel & on_front], s=20, color=color, marker=marker, edgecolors="black",
                       linewidths=0.5, zorder=4, gid="front" + tag)
        ax.step(xs[on_front][order], ys[on_front][order], where="post", color="black", lw=0.9, zorder=3)
        if hxy is not None:
            ax.scatter([hxy[0]], [hxy[1]], s=80, marker="*", color="gold", edgecolors="black", linewidths=0.6,
                       zorder=6, gid="selected" + tag)

    # name the bandwidth / SRAM only when the named points differ in them
    ends = points[on_front].iloc[order[[0, -1]]] if on_front.sum() > 1 else points[on_front]
    named_rows = ends
    if hxy is not None and highlight.name in points.index:
        named_rows = pd.concat([ends, points.loc[[highlight.name]]])
    varies = [c in named_rows and named_rows[c].nunique() > 1
              for c in ("bandwidth_bytes_per_cycle", "ifmap_sram_kib", "objective")]

    def name(ax, within=None) -> None:
        """The selected point and the front's two ends, each where its label fits (in the axes, else in
        ``within``)."""
        ax.figure.draw_without_rendering()
        # the front's markers and the star are taken too: a label never covers a point it is not naming
        marks = np.column_stack([xs[on_front], ys[on_front]])
        if hxy is not None:
            marks = np.vstack([marks, hxy])
        taken: list = [Bbox.from_bounds(px - 4, py - 4, 8, 8) for px, py in ax.transData.transform(marks)]
        if within is not None:  # a label may leave the inset, never over its tick labels
            renderer = ax.figure.canvas.get_renderer()
            taken += [t.get_window_extent(renderer) for t in (*ax.get_xticklabels(), *ax.get_yticklabels())
                      if t.get_visible() and t.get_text()]
        named = set()
        if hxy is not None:
            row = points.loc[highlight.name] if highlight.name in points.index else highlight
            _place(ax, hxy, design_label(row, *varies), bold=True, taken=taken, force=True, within=within)
            named.add(hxy)
        for _, row in ends.iterrows():
            xy = (float(row[x]) / fx, float(row[y]) / fy)
            if xy not in named:
                _place(ax, xy, design_label(row, *varies), taken=taken, within=within)
                named.add(xy)

    fig, ax = plt.subplots(figsize=(COLUMN_IN, 3.0), layout="constrained")
    draw(ax, zoom=False)
    log = (_axis(ax, "x", xs, logx), _axis(ax, "y", ys, logy))
    ax.grid(True, which="major", alpha=0.25)
    ax.autoscale_view()
    handles = [Line2D([], [], ls="", marker="D" if f == "search" else "o", ms=4, mec="black", mew=0.5,
                      color=DATAFLOW_COLORS.get(f, "tab:gray"),
                      label="mapping search" if f == "search" else f.upper() or "points") for f in sorted(set(flows))]
    handles.append(Line2D([], [], color="black", lw=0.9, marker="o", ms=3, mfc="white",
                          label=f"Pareto front ({int(on_front.sum())})"))
    handles.append(Line2D([], [], ls="", marker="o", ms=3, color="gray", alpha=0.35,
                          label=f"dominated ({int((~on_front).sum())})"))
    if hxy is not None:
        handles.append(Line2D([], [], ls="", marker="*", ms=8, color="gold", mec="black", mew=0.6,
                              label=highlight_label))
    inset = None
    if on_front.any():
        corners = np.array([[xs[on_front].min(), ys[on_front].min()], [xs[on_front].max(), ys[on_front].max()]])
        if hxy is not None:
            corners = np.vstack([corners, hxy])
        frac = ax.transAxes.inverted().transform(ax.transData.transform(corners))
        width, height = frac.max(axis=0) - frac.min(axis=0)
        if on_front.sum() > 1 and width < ZOOM_BELOW and height < ZOOM_BELOW:
            inset = ax.inset_axes((0.36, 0.36, 0.62, 0.62))
            draw(inset, zoom=True)
            for axis_name, lo_hi, is_log in (("x", corners[:, 0], log[0]), ("y", corners[:, 1], log[1])):
                lim = _span(float(lo_hi.min()), float(lo_hi.max()), is_log, 0.35)
                inside = (xs if axis_name == "x" else ys)
                _axis(inset, axis_name, inside[(inside >= lim[0]) & (inside <= lim[1])], is_log)
                (inset.set_xlim if axis_name == "x" else inset.set_ylim)(*lim)
            inset.tick_params(labelsize=6)
            inset.grid(True, which="major", alpha=0.25)
            ax.indicate_inset_zoom(inset, edgecolor="gray", alpha=0.6)
    ax.set_xlabel(xlabel or auto_xlabel)
    ax.set_ylabel(ylabel or auto_ylabel)
    ax.set_title(_wrap(title or f"{y} vs {x} ({len(points)} points)"))
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 3), frameon=False)
    if on_front.any():
        if inset is not None:
            name(inset, within=ax.bbox)
        else:
            name(ax)
    return fig


@_paper
def heatmap(grid, title: str | None = None, label: str = "PE utilization (%)", value: str = "utilization") -> Figure:
    """``grid``: rows index x cols columns of fractions (NaN = not in the sweep); or a sweep result (or its
    points) with one point per array shape, whose ``value`` column is drawn."""
    if not isinstance(grid, pd.DataFrame) or {"rows", "cols", value} <= set(grid.columns):
        points = _frame(grid, "points")
        shared = points.groupby(["rows", "cols"]).size()
        if (shared > 1).any():
            raise AccelsimError(f"figure: heatmap: {int(shared.max())} points share an array shape; select one "
                                f"setting of the other axes (dataflow, SRAM, bandwidth, ...) first")
        grid = points.pivot(index="rows", columns="cols", values=value).sort_index().sort_index(axis=1)
        title = title or f"{value} by array shape"
    title = title or "PE utilization"
    ncol, nrow = len(grid.columns), len(grid.index)
    width = COLUMN_IN if ncol <= 8 else WIDE_IN
    fig, ax = plt.subplots(figsize=(width, min(8.0, 0.3 * nrow + 1.4)), layout="constrained")
    vals = 100 * grid.to_numpy(dtype=float)
    im = ax.imshow(np.ma.masked_invalid(vals), cmap="viridis", vmin=0, vmax=100, origin="lower", aspect="auto")
    ax.set_xticks(range(ncol), [str(c) for c in grid.columns])
    ax.set_yticks(range(nrow), [str(r) for r in grid.index])
    ax.set_xlabel("array columns")
    ax.set_ylabel("array rows")
    for i in range(vals.shape[0]):
        for j in range(vals.shape[1]):
            if np.isfinite(vals[i, j]):
                ax.text(j, i, f"{vals[i, j]:.0f}", ha="center", va="center", fontsize=6,
                        color="white" if vals[i, j] < 60 else "black")
    fig.colorbar(im, ax=ax, label=label, ticks=[0, 25, 50, 75, 100])
    ax.set_title(_wrap(title))
    return fig


@_paper
def memory_and_params(prof, title: str | None = None, dtype: str | None = None) -> Figure:
    """Per-layer output activation memory (bytes, scaled to kB/MB) and parameters (k/M) of the layers
    that make a new tensor (in-place activations, flatten and softmax are left out); ``prof`` is a
    profile result or its ``.layers``. Two columns wide."""
    prof = _frame(prof)
    dtype = dtype or prof.attrs.get("dtype", "")
    title = title or _title(prof, "Activation memory and parameters")
    prof = prof[~prof["type"].isin(IN_PLACE)].reset_index(drop=True)
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(WIDE_IN, 3.9), sharex=True, layout="constrained")
    x = np.arange(len(prof))
    colors = [TYPE_COLORS.get(t, "tab:gray") for t in prof["type"]]
    bf, bunit = scale_for(prof["output_bytes"].max(), "bytes")
    pf, punit = scale_for(max(1, prof["params"].max()), "count")
    ax1.bar(x, prof["output_bytes"] / bf, 0.8, color=colors)
    ax1.set_ylabel(f"output activations\n({bunit}{', ' + dtype if dtype else ''})")
    ax1.set_title(_wrap(title, 2 * TITLE_CHARS))
    ax2.bar(x, prof["params"] / pf, 0.8, color=colors)
    ax2.set_ylabel(axis_label("parameters", punit))
    for ax in (ax1, ax2):
        ax.yaxis.set_major_locator(MaxNLocator(nbins=4, steps=[1, 2, 2.5, 5, 10]))
        ax.yaxis.set_major_formatter(FuncFormatter(_num))
    _layer_ticks(ax2, list(prof["layer"]))
    handles = [Rectangle((0, 0), 1, 1, color=c) for c in (*TYPE_COLORS.values(), "tab:gray")]
    ax1.legend(handles, ["conv", "linear (FC)", "pooling, LRN, other"], loc="upper right")
    return fig
