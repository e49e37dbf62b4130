"""Matplotlib figures of a design-space sweep (Agg backend, PNG at ~100 dpi).

Each function takes a result of the Python API (``accelsim.simulate(...)``, ``accelsim.profile(...)``,
``accelsim.sweep(...)``: anything with ``.layers`` / ``.points``) or the DataFrame itself (from
``accelsim.systolic.simulate``, ``accelsim.workload.profile`` or the results store, which share the
names of ``accelsim.columns``) and returns a ``Figure``; ``save`` writes it.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from accelsim.dse.pareto import pareto_front
from accelsim.errors import AccelsimError

DPI = 100
DATAFLOW_COLORS = {"os": "tab:blue", "ws": "tab:orange", "is": "tab:green"}
TYPE_COLORS = {"conv2d": "tab:blue", "linear": "tab:red"}
IN_PLACE = ("relu", "tanh", "sigmoid", "flatten", "softmax")


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


def save(fig: Figure, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return path


def layer_cycles(layers, title: str | None = None) -> Figure:
    """Per-layer cycles (busy and memory stall stacked) and PE utilization of one design point
    (a simulation result, its ``.layers``, or a point's layers from the results store).

    Layers with no cycles (flatten) are left out; vector-unit layers (pooling, activations) are
    drawn in their own colour and have no PE utilization.
    """
    layers = _frame(layers)
    title = title or _title(layers, "Per-layer cycles and utilization")
    layers = layers[layers["cycles"] > 0].reset_index(drop=True)
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(11, 6.5), sharex=True, height_ratios=(2, 1))
    x = np.arange(len(layers))
    array = (layers["unit"] == "array").to_numpy()
    busy = (layers["cycles"] - layers["stall_cycles"]).to_numpy()
    stall = layers["stall_cycles"].to_numpy()
    ax1.bar(x[array], busy[array], color="tab:blue", label="array: busy")
    ax1.bar(x[~array], busy[~array], color="tab:purple", label="vector unit: busy")
    ax1.bar(x, stall, bottom=busy, color="tab:gray", label="waiting for DRAM")
    ax1.set_ylabel("cycles")
    ax1.set_title(title, fontsize=10)
    ax1.legend(loc="upper right", fontsize=8)
    ax1.ticklabel_format(axis="y", style="sci", scilimits=(0, 0))
    ax2.bar(x[array], 100 * layers["utilization"].to_numpy()[array], color="tab:green")
    ax2.set_ylabel("PE utilization (%)")
    ax2.set_ylim(0, 100)
    ax2.set_xticks(x, layers["layer"], rotation=75, ha="right", fontsize=7)
    fig.tight_layout()
    return fig


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
    fig, ax = plt.subplots(figsize=(8, 5.5))
    lay = layers[layers["intensity_macs_per_dram_byte"].notna()]
    lo = min(0.05, float(lay["intensity_macs_per_dram_byte"].min()) / 2) if len(lay) else 0.05
    hi = 1e4
    if len(lay):
        hi = max(pe_count / bandwidth_bytes_per_cycle * 20, float(lay["intensity_macs_per_dram_byte"].max()) * 2)
    xi = np.logspace(np.log10(lo), np.log10(hi), 200)
    ax.plot(xi, np.minimum(pe_count, 2 * bandwidth_bytes_per_cycle * xi), color="black", lw=2, label="roof")
    ridge = pe_count / (2 * bandwidth_bytes_per_cycle)
    ax.axvline(ridge, color="gray", ls=":", lw=1)
    ax.annotate(f"ridge {ridge:,.1f} MACs/byte", (ridge, pe_count), textcoords="offset points", xytext=(4, -14),
                fontsize=8, color="gray")
    for kind, grp in lay.groupby("type"):
        ax.scatter(grp["intensity_macs_per_dram_byte"], grp["attained_macs_per_cycle"], s=30, zorder=3,
                   color=TYPE_COLORS.get(kind, "tab:purple"), label=kind)
    clusters = _clusters(lay["intensity_macs_per_dram_byte"], lay["attained_macs_per_cycle"], lay["layer"])
    for i, ((x, y), names) in enumerate(clusters):
        label = ", ".join(names[:3]) + (f" +{len(names) - 3}" if len(names) > 3 else "")
        ax.annotate(label, (x, y), textcoords="offset points", xytext=(5, 4 if i % 2 else -11), fontsize=7)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("arithmetic intensity (MACs per DRAM byte)")
    ax.set_ylabel("attained MACs per cycle")
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(True, which="both", alpha=0.2)
    fig.tight_layout()
    return fig


def _clusters(xs, ys, names, decades: float = 0.25):
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


def pareto(points, front: pd.DataFrame | None = None, x: str = "pe_count", y: str = "latency_ms",
           xlabel: str | None = None, ylabel: str | None = None, title: str | None = None,
           logx: bool = True) -> Figure:
    """Every point (by dataflow) with the Pareto front of (x, y), both minimized, drawn as a staircase.

    ``points``: a sweep result (its ``.points``) or the store's points; ``front`` defaults to their
    Pareto front of (x, y)."""
    points = _frame(points, "points")
    if front is None:
        front = pareto_front(points, [x, y])
    xlabel, ylabel, title = xlabel or x, ylabel or y, title or f"{y} vs {x} ({len(points)} points)"
    fig, ax = plt.subplots(figsize=(8, 5.5))
    for df_name, grp in points.groupby("dataflow"):
        ax.scatter(grp[x], grp[y], s=14, alpha=0.45, color=DATAFLOW_COLORS.get(df_name, "tab:gray"),
                   label=f"{df_name.upper()} points")
    f = front.sort_values(x)
    ax.step(f[x], f[y], where="post", color="black", lw=1.2)
    ax.scatter(f[x], f[y], s=46, facecolors="none", edgecolors="black", zorder=3, label="Pareto front")
    if logx:
        ax.set_xscale("log")
        ticks = np.unique(points[x].to_numpy())
        if len(ticks) <= 12 and np.all(ticks == np.round(ticks)):
            ax.set_xticks(ticks, [f"{int(t):,}" for t in ticks])
            ax.minorticks_off()
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.2)
    fig.tight_layout()
    return fig


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
    fig, ax = plt.subplots(figsize=(1.2 * len(grid.columns) + 2.5, 0.8 * len(grid.index) + 1.8))
    vals = 100 * grid.to_numpy(dtype=float)
    im = ax.imshow(np.ma.masked_invalid(vals), cmap="viridis", vmin=0, vmax=100, origin="lower", aspect="auto")
    ax.set_xticks(range(len(grid.columns)), [str(c) for c in grid.columns])
    ax.set_yticks(range(len(grid.index)), [str(r) for r in grid.index])
    ax.set_xlabel("array columns")
    ax.set_ylabel("array rows")
    for i in range(vals.shape[0]):
        for j in range(vals.shape[1]):
            if np.isfinite(vals[i, j]):
                ax.text(j, i, f"{vals[i, j]:.0f}", ha="center", va="center", fontsize=8,
                        color="white" if vals[i, j] < 60 else "black")
    fig.colorbar(im, ax=ax, label=label)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def memory_and_params(prof, title: str | None = None, dtype: str | None = None) -> Figure:
    """Per-layer output activation memory (MB = 10^6 bytes) and parameters (millions) of the layers
    that make a new tensor (in-place activations, flatten and softmax are left out); ``prof`` is a
    profile result or its ``.layers``."""
    prof = _frame(prof)
    dtype = dtype or prof.attrs.get("dtype", "")
    title = title or _title(prof, "Activation memory and parameters")
    prof = prof[~prof["type"].isin(IN_PLACE)].reset_index(drop=True)
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(11, 6.5), sharex=True)
    x = np.arange(len(prof))
    colors = [TYPE_COLORS.get(t, "tab:gray") for t in prof["type"]]
    ax1.bar(x, prof["output_bytes"] / 1e6, color=colors)
    ax1.set_ylabel(f"output activations (MB, {dtype})")
    ax1.set_title(title)
    ax2.bar(x, prof["params"] / 1e6, color=colors)
    ax2.set_ylabel("parameters (millions)")
    ax2.set_xticks(x, prof["layer"], rotation=75, ha="right", fontsize=7)
    handles = [Rectangle((0, 0), 1, 1, color=c) for c in (*TYPE_COLORS.values(), "tab:gray")]
    ax1.legend(handles, ["conv", "linear (FC)", "pooling, LRN"], fontsize=8, loc="upper right")
    fig.tight_layout()
    return fig
