"""The design-space report: Markdown + self-contained HTML (figures embedded as base64) + figures.

``build_report(db, out_dir)`` reads a results database (``accelsim.dse``), picks one design point
(by default the lowest energy-delay product; ``select_by="knee"`` the knee of the latency-energy
front, ``"latency"`` the fastest; among those narrowed down by ``select``), says why, and writes
every figure as PNG, SVG and PDF (``figures.FORMATS``):

- ``pareto_latency_energy``, ``pareto_latency_area``, ``pareto_energy_area``, ``pareto_edp_area``:
  the four Pareto fronts over every point of the network, dominated points faded, the selected
  point starred;
- ``layers``: per-layer cycles (busy vs memory stall) and PE utilization of the selected point;
- ``roofline``: its layers on the array's roofline (MACs per DRAM byte);
- ``heatmap``: utilization over array rows x cols at the point's other settings;
- ``memory``: per-layer activation memory and parameters (``accelsim.workload.profile``);
- ``report.md`` (links the PNGs, SVGs and PDFs) and ``report.html`` (one file, PNGs inline).

The selected point's layer table names the mapping each layer ran (``mapping``) and, for a sweep
with ``mapper: search``, its cost next to the fixed mapping's (``fixed_cycles``, ``fixed_dram_bytes``,
``fixed_total_pJ``).
"""

from __future__ import annotations

import base64
import html
import math
import os
import re
import shutil
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from accelsim.columns import STORE_CONFIG
from accelsim.dse.pareto import pareto_front
from accelsim.dse.spec import network_from_spec
from accelsim.dse.store import load_layers, load_meta, load_networks, load_results
from accelsim.energy import DEFAULT_TABLE, EnergyTable
from accelsim.errors import AccelsimError
from accelsim.progress import ProgressCallback
from accelsim.report import figures
from accelsim.report.formats import SELECT_BY
from accelsim.workload.counts import DTYPE_BYTES
from accelsim.workload.files import atomic_folder
from accelsim.workload.profile import profile

SELECT_COLUMNS = {
    "network": "network", "batch": "batch", "rows": "rows", "cols": "cols", "dataflow": "dataflow",
    "bandwidth": "bandwidth_bytes_per_cycle", "clock_mhz": "clock_mhz", "ifmap_sram_kib": "ifmap_sram_kib",
    "filter_sram_kib": "filter_sram_kib", "ofmap_sram_kib": "ofmap_sram_kib", "double_buffer": "double_buffer",
    "pipeline": "pipeline", "mapper": "mapper", "objective": "objective", "tech_node_nm": "tech_node_nm",
}
# The settings that stay fixed across the rows x cols heatmap: every configuration column but the shape.
HEATMAP_FIXED = tuple(c for c in STORE_CONFIG if c not in ("network", "rows", "cols"))
# The four fronts: (file stem, x column, y column, title), both columns minimized.
FRONTS = (
    ("pareto_latency_energy", "energy_per_inference_uJ", "latency_ms", "latency vs energy"),
    ("pareto_latency_area", "area_mm2", "latency_ms", "latency vs area"),
    ("pareto_energy_area", "area_mm2", "energy_per_inference_uJ", "energy vs area"),
    ("pareto_edp_area", "area_mm2", "edp_uJ_ms", "EDP vs area"),
)


# ---- a tiny document model rendered to Markdown and HTML ----------------------------------------

@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: tuple[bool, ...]


@dataclass(frozen=True)
class Figure:
    file: str
    caption: str


# A block of the document: ("h1" | "h2" | "h3" | "p", text), ("ul", items), a Table or a Figure.
Block = tuple[Literal["h1", "h2", "h3", "p"], str] | tuple[Literal["ul"], list[str]] | Table | Figure


def _html_inline(text: str) -> str:
    out = html.escape(text)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", out)


def to_markdown(blocks: list[Block]) -> str:
    lines = []
    for b in blocks:
        if isinstance(b, tuple) and b[0] in ("h1", "h2", "h3"):
            lines += ["#" * int(b[0][1]) + " " + b[1], ""]
        elif isinstance(b, tuple) and b[0] == "p":
            lines += [b[1], ""]
        elif isinstance(b, tuple) and b[0] == "ul":
            lines += [f"- {item}" for item in b[1]] + [""]
        elif isinstance(b, Table):
            lines.append("| " + " | ".join(b.header) + " |")
            lines.append("|" + "|".join("---:" if n else ":---" for n in b.numeric) + "|")
            lines += ["| " + " | ".join(r) + " |" for r in b.rows]
            lines.append("")
        elif isinstance(b, Figure):
            stem = Path(b.file).stem
            lines += [f"![{b.caption}]({b.file})", "",
                      f"*{b.caption}* ([SVG]({stem}.svg), [PDF]({stem}.pdf))", ""]
    return "\n".join(lines).rstrip() + "\n"


_CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:.9em}th,td{border:1px solid #ccc;padding:.25em .6em}
th{background:#f3f3f3}td.n{text-align:right;font-variant-numeric:tabular-nums}img{max-width:100%}
figure{margin:1.5em 0}figcaption{color:#555;font-size:.9em}code{background:#f3f3f3;padding:0 .2em}"""


def to_html(blocks: list[Block], images: dict[str, bytes], title: str) -> str:
    parts = [(f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
             f"<style>{_CSS}</style></head><body>")]
    for b in blocks:
        if isinstance(b, tuple) and b[0] in ("h1", "h2", "h3"):
            parts.append(f"<{b[0]}>{_html_inline(b[1])}</{b[0]}>")
        elif isinstance(b, tuple) and b[0] == "p":
            parts.append(f"<p>{_html_inline(b[1])}</p>")
        elif isinstance(b, tuple) and b[0] == "ul":
            parts.append("<ul>" + "".join(f"<li>{_html_inline(i)}</li>" for i in b[1]) + "</ul>")
        elif isinstance(b, Table):
            head = "".join(f"<th>{_html_inline(h)}</th>" for h in b.header)
            body = "".join(
                "<tr>"
                + "".join(f"<td{' class=n' if n else ''}>{_html_inline(c)}</td>"
                          for c, n in zip(r, b.numeric, strict=True))
                + "</tr>"
                for r in b.rows
            )
            parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        elif isinstance(b, Figure):
            png = images[b.file]
            data = base64.b64encode(png).decode()
            # shown at 150 px per inch of the figure's print size (the PNG has figures.DPI)
            width = round(struct.unpack(">I", png[16:20])[0] * 150 / figures.DPI)
            parts.append(f"<figure><img alt='{html.escape(b.caption)}' width='{width}' "
                         f"src='data:image/png;base64,{data}'>"
                         f"<figcaption>{_html_inline(b.caption)}</figcaption></figure>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


# ---- formatting -------------------------------------------------------------------------------

def _n(v) -> str:
    return f"{int(v):,}"


def _f(d: int):
    return lambda v: f"{float(v):,.{d}f}"


def _pct(v) -> str:
    return f"{100 * float(v):.1f}%"


def _sig(v: float) -> str:
    """Three significant digits, thousands separated: 0.0123, 0.001, 1.23, 12.3, 123, 1,234."""
    a = abs(v)
    if a >= 100 or a == 0:
        return f"{v:,.0f}"
    if a < 1:
        return f"{v:.3g}"
    return f"{v:.{2 - math.floor(math.log10(a))}f}"


def _in(factor: float):
    return lambda v: _sig(float(v) / factor)


def _table(df: pd.DataFrame, cols: list[tuple[str, str, Callable[[Any], str] | None]]) -> Table:
    """``cols``: (column, header, formatter or None for text)."""
    rows = tuple(tuple(str(r[c]) if fmt is None else fmt(r[c]) for c, _, fmt in cols) for _, r in df.iterrows())
    return Table(tuple(h for _, h, _ in cols), rows, tuple(fmt is not None for _, _, fmt in cols))


def _mapper(row) -> str:
    if "mapper" not in row or not row["mapper"]:
        return ""
    if row["mapper"] == "search" and row.get("objective"):
        return f", mapper search (objective {row['objective']})"
    return f", mapper {row['mapper']}"


def describe(row) -> str:
    """One design point in words: network, array, dataflow, memories, clock (and mapper, if recorded)."""
    return (f"{row['network']} (batch {row['batch']}) on {row['rows']}x{row['cols']} {row['dataflow'].upper()}, "
            f"SRAM {row['sram']} KiB (ifmap/filter/ofmap, {'double' if row['double_buffer'] else 'single'}-buffered), "
            f"{'pipelined' if row['pipeline'] else 'serial'} folds, "
            f"DRAM {row['bandwidth_bytes_per_cycle']:g} B/cycle, {row['clock_mhz']:g} MHz, {row['tech_node_nm']} nm"
            f"{_mapper(row)}")


def point_columns(df: pd.DataFrame, network: bool = False,
                  mapping: bool | None = None) -> list[tuple[str, str, Callable[[Any], str] | None]]:
    """The columns of a table of design points, each quantity in the unit that suits ``df``'s values; a
    Mapping column (``fixed``, ``search (edp)``) when ``mapping`` (default: when ``df`` has both kinds)."""
    lf, lu = figures.scale_for(df["latency_ms"], "ms")
    ef, eu = figures.scale_for(df["energy_per_inference_uJ"], "uJ")
    pf, pu = figures.scale_for(df["edp_uJ_ms"], "uJ_ms")
    bf, bu = figures.scale_for(df["dram_bytes"], "bytes")
    cols: list[tuple[str, str, Callable[[Any], str] | None]] = [("network", "Network", None)] if network else []
    cols += [("array", "Array", None), ("dataflow_u", "Dataflow", None)]
    if mapping or (mapping is None and "mapper" in df and df["mapper"].nunique() > 1):
        cols.append(("mapping_u", "Mapping", None))
    cols += [
        ("sram", "SRAM KiB", None), ("bandwidth_bytes_per_cycle", "DRAM B/cycle", _f(0)),
        ("area_mm2", "Area mm²", _in(1.0)), ("latency_ms", f"Latency {lu}", _in(lf)),
        ("energy_per_inference_uJ", f"Energy {eu}", _in(ef)), ("edp_uJ_ms", f"EDP {pu}", _in(pf)),
        ("utilization", "Util.", _pct), ("dram_bytes", f"DRAM {bu}", _in(bf)),
    ]
    return cols


# The files a report owns in its folder; every other file there (the results database, a README, an
# export) is carried over when the report is written again.
REPORT_OWNS = ("report.md", "report.html", "*.png", "*.svg", "*.pdf")


def keep_others(folder: Path, new: Path) -> None:
    """Link (or copy) into ``new`` the files of ``folder`` the report does not own (``REPORT_OWNS``): the
    report replaces its folder whole, and the sweep's database often lives there."""
    if not folder.is_dir():
        return
    for f in folder.iterdir():
        if f.is_file() and not any(f.match(p) for p in REPORT_OWNS) and not (new / f.name).exists():
            try:
                os.link(f, new / f.name)
            except OSError:
                shutil.copy2(f, new / f.name)


def _with_labels(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    df["array"] = df["rows"].astype(str) + "x" + df["cols"].astype(str)
    df["dataflow_u"] = df["dataflow"].str.upper()
    if "mapper" in df:
        df["mapping_u"] = [f"search ({o})" if m == "search" else str(m) for m, o in
                           zip(df["mapper"], df["objective"], strict=True)]
    df["sram"] = [f"{a:g}/{b:g}/{c:g}" for a, b, c in
                  df[["ifmap_sram_kib", "filter_sram_kib", "ofmap_sram_kib"]].to_numpy()]
    return df


def _short(row) -> str:
    """A point in a few words for running text: ``32x64 WS, 256/256/128 KiB, 16 B/cycle`` (and ``, mapping
    search (edp)`` when it searched its mappings)."""
    text = (f"{row['rows']}x{row['cols']} {row['dataflow'].upper()}, {row['sram']} KiB, "
            f"{row['bandwidth_bytes_per_cycle']:g} B/cycle")
    if row.get("mapper") == "search":
        text += f", mapping search ({row['objective']})"
    return text


# ---- selection --------------------------------------------------------------------------------

def knee(front: pd.DataFrame, x: str = "energy_per_inference_uJ", y: str = "latency_ms") -> pd.Series:
    """The knee of a two-objective front: the point nearest the ideal corner (the front's lowest x and
    lowest y) once each objective's log is scaled to [0, 1] over the front. Ties: the lower ``y``."""
    if front.empty:
        raise AccelsimError("report: knee: the front is empty")
    f = front.sort_values([y, x], kind="stable")
    dist = np.zeros(len(f))
    for col in (x, y):
        v = np.log(f[col].to_numpy(dtype=float))
        span = v.max() - v.min()
        if span > 0:
            dist += ((v - v.min()) / span) ** 2
    return f.iloc[int(np.argmin(dist))]


def narrow(df: pd.DataFrame, select: dict) -> pd.DataFrame:
    """The points matching every ``select`` key (SELECT_COLUMNS) or one line saying which key matched none."""
    cand = df
    for key, value in select.items():
        if value is None:
            continue
        col = SELECT_COLUMNS[key]
        cand = cand[cand[col] == value]
        if cand.empty:
            have = ", ".join(str(v) for v in sorted(df[col].unique()))
            raise AccelsimError(f"report: {key}: no point with {value!r} among the selected results (have: {have})")
    return cand


def select_point(df: pd.DataFrame, select: dict, by: str = "edp") -> pd.Series:
    """The point among those matching ``select``: the lowest EDP (``by="edp"``; ties: lower latency, less
    area), the knee of their latency-energy front (``"knee"``) or the lowest latency (``"latency"``; ties:
    fewer PEs, less energy)."""
    if by not in SELECT_BY:
        raise AccelsimError(f"report: select_by: {by!r} is not one of {', '.join(SELECT_BY)}")
    cand = narrow(df, select)
    if by == "knee":
        return knee(pareto_front(cand, ["latency_ms", "energy_per_inference_uJ"]))
    keys = (["edp_uJ_ms", "latency_ms", "area_mm2"] if by == "edp"
            else ["latency_ms", "pe_count", "energy_per_inference_uJ"])
    return cand.sort_values(keys, kind="stable").iloc[0]


def why_chosen(cand: pd.DataFrame, best: pd.Series, by: str) -> str:
    """Why ``best`` is the detailed point, in numbers (``cand``: the points it was chosen among)."""
    if len(cand) == 1:
        return "the only such point"
    fastest = cand.sort_values(["latency_ms", "energy_per_inference_uJ"], kind="stable").iloc[0]
    frugal = cand.sort_values(["energy_per_inference_uJ", "latency_ms"], kind="stable").iloc[0]
    pf, pu = figures.scale_for(cand["edp_uJ_ms"], "uJ_ms")
    if by == "edp":
        others = []
        for what, row in (("the fastest point", fastest), ("the lowest-energy point", frugal)):
            if row["key"] == best["key"]:
                others.append(f"it is also {what}")
            else:
                others.append(f"{what} ({_short(row)}) has {row['edp_uJ_ms'] / best['edp_uJ_ms']:,.2f}x its EDP")
        return (f"the lowest energy-delay product of the {len(cand):,} points ({_sig(best['edp_uJ_ms'] / pf)} {pu}); "
                + ", ".join(others))
    if by == "knee":
        front = pareto_front(cand, ["latency_ms", "energy_per_inference_uJ"])
        if len(front) == 1:
            return (f"the one point of the latency-energy front of the {len(cand):,} points (the fastest and the "
                    "most frugal)")
        return (f"the knee of the latency-energy front of the {len(cand):,} points ({len(front):,} front points): the "
                f"front point nearest its ideal corner (lowest latency, lowest energy) with each axis's log scaled to "
                f"[0, 1]; {best['latency_ms'] / front['latency_ms'].min():,.2f}x the front's lowest latency, "
                f"{best['energy_per_inference_uJ'] / front['energy_per_inference_uJ'].min():,.2f}x its lowest energy")
    return (f"the lowest latency of the {len(cand):,} points; the lowest-EDP point has "
            f"{cand['edp_uJ_ms'].min() / best['edp_uJ_ms']:,.2f}x its EDP")


def _dtype(bits: int) -> str:
    return {b * 8: name for name, b in DTYPE_BYTES.items()}.get(int(bits), "int8")


def _memory_notes(prof: pd.DataFrame) -> list[str]:
    act = prof["output_bytes"]
    conv = prof["type"] == "conv2d"
    fc = prof["type"] == "linear"
    gemm = prof[conv | fc]
    top_act = prof.iloc[int(act.argmax())]
    top_par = prof.iloc[int(prof["params"].argmax())]
    first_conv = gemm[gemm["type"] == "conv2d"].head(4)
    notes = [
        (f"Activation memory: the largest output is `{top_act['layer']}` ({top_act['output_bytes'] / 1e6:.2f} MB); "
        f"conv layers produce {act[conv].sum() / act[conv | fc].sum():.1%} of the conv+FC output bytes, the first "
        f"{len(first_conv)} conv layers alone {first_conv['output_bytes'].sum() / act[conv | fc].sum():.1%}."),
        (f"Parameters: {prof['params'][fc].sum() / prof['params'].sum():.1%} of the {prof['params'].sum():,} "
        f"parameters sit in the FC layers; the largest is `{top_par['layer']}` ({top_par['params']:,})."),
    ]
    return notes


# ---- the report -------------------------------------------------------------------------------

REPORT_STEPS = 10  # loading, eight figures, the pages
FIGURE_FILES = (*(f for f, *_ in FRONTS), "layers", "roofline", "heatmap", "memory")


def build_report(db: str | Path, out_dir: str | Path, select: dict | None = None, command: str | None = None,
                 progress: ProgressCallback | None = None, select_by: str = "edp") -> list[Path]:
    """Write the report files for ``db`` into ``out_dir``; returns their paths.

    ``select`` narrows the points (SELECT_COLUMNS keys); ``select_by`` (SELECT_BY) picks the detailed one
    among them. ``progress(done, REPORT_STEPS)`` is called after loading, after each figure and at the end.
    """
    done = 0

    def step() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, REPORT_STEPS)

    select = {k: v for k, v in (select or {}).items() if v is not None}
    for key in select:
        if key not in SELECT_COLUMNS:
            raise AccelsimError(f"report: unknown selection key {key!r}")
    if select_by not in SELECT_BY:
        raise AccelsimError(f"report: select_by: {select_by!r} is not one of {', '.join(SELECT_BY)}")
    everything = load_results(db, errors=True)
    df = _with_labels(load_results(db))
    if df.empty:
        raise AccelsimError(f"results: {db}: no successful points to report ({len(everything)} failed)")
    meta = load_meta(db)
    name = meta.get("last_sweep", Path(db).stem)
    best = select_point(df, select, select_by)
    cand = narrow(df, select)
    cand = cand[(cand["network_id"] == best["network_id"]) & (cand["batch"] == best["batch"])]
    net_points = df[(df["network_id"] == best["network_id"]) & (df["batch"] == best["batch"])]
    layers = load_layers(db, best["key"])
    net = network_from_spec(load_networks(db)[best["network_id"]])
    dtype = _dtype(best["data_bits"])
    prof = profile(net, batch=int(best["batch"]), dtype=dtype)
    fronts = {stem: pareto_front(net_points, [x, y]) for stem, x, y, _ in FRONTS}
    same = net_points
    for col in HEATMAP_FIXED:
        if col in same:
            same = same[same[col] == best[col]]
    grid = same.pivot_table(index="rows", columns="cols", values="utilization", aggfunc="first")
    how = why_chosen(cand, best, select_by)
    if select:
        how = "chosen by " + ", ".join(f"`{k}={v}`" for k, v in select.items()) + ", then " + how
    step()

    files: list[str] = []
    # figure titles: a no-break space keeps a number with its unit when the title wraps
    flow = f"search/{best['objective']}" if best.get("mapper") == "search" else best["dataflow"].upper()
    where = (f"{best['network']} on {best['rows']}x{best['cols']} {flow}, "
             f"{best['bandwidth_bytes_per_cycle']:g}\u00a0B/cycle")
    marker = {"edp": "best EDP", "knee": "knee", "latency": "fastest"}[select_by]

    def fill(out: Path) -> None:
        images: dict[str, bytes] = {}

        def put(fig, stem: str) -> None:
            figures.save(fig, out / f"{stem}.png", figures.FORMATS)
            images[f"{stem}.png"] = (out / f"{stem}.png").read_bytes()
            files.extend(f"{stem}.{ext}" for ext in figures.FORMATS)
            step()

        for stem, x, y, what in FRONTS:
            put(figures.pareto(net_points, fronts[stem], x, y, title=f"{best['network']}: {what} "
                               f"({len(net_points):,} points)", highlight=best, highlight_label=marker), stem)
        put(figures.layer_cycles(layers, f"Per-layer cycles and utilization: {where}"), "layers")
        put(figures.roofline(layers, int(best["pe_count"]), float(best["bandwidth_bytes_per_cycle"]),
                             f"Roofline: {where} each way"), "roofline")
        put(figures.heatmap(grid, f"Utilization over array shape: {best['network']}, {flow}, "
                                  f"{best['sram']}\u00a0KiB, {best['bandwidth_bytes_per_cycle']:g}\u00a0B/cycle"),
            "heatmap")
        put(figures.memory_and_params(prof, f"{net.name}: per-layer activation memory and parameters", dtype),
            "memory")
        blocks = _blocks(name, meta, everything, df, best, how, layers, net_points, fronts, grid, prof, command)
        (out / "report.md").write_text(to_markdown(blocks))
        (out / "report.html").write_text(to_html(blocks, images, f"accelsim DSE: {name}"))
        files[:0] = ["report.md", "report.html"]
        keep_others(Path(out_dir), out)

    # Everything is written into a temporary folder beside out_dir and renamed into place at the end:
    # a failure halfway leaves no half-written report (and the previous one, if any, untouched).
    atomic_folder(out_dir, fill, "report")
    step()
    out = Path(out_dir)
    return [out / f for f in files]


def _blocks(name, meta, everything, df, best, how, layers, net_points, fronts, grid, prof, command):
    failed = int((everything["status"] != "ok").sum())
    axes = []
    for col, title in (("network", "networks"), ("array", "arrays"), ("dataflow_u", "dataflows"),
                       ("sram", "SRAM KiB (ifmap/filter/ofmap)"), ("bandwidth_bytes_per_cycle", "DRAM bytes/cycle"),
                       ("mapper", "mapper"), ("objective", "objective"), ("tech_node_nm", "technology node nm"),
                       ("clock_mhz", "clock MHz"),
                       ("batch", "batch")):
        if col in df:
            vals = [v for v in dict.fromkeys(df[col].tolist()) if v not in ("", None)]
            if not vals:
                continue
            axes.append(f"{title}: {', '.join(f'{v:g}' if isinstance(v, float) else str(v) for v in vals)}")
    blocks: list[Block] = [("h1", f"Design-space exploration: {name}")]
    if meta.get(f"command:{name}"):
        blocks.append(("p", f"Sweep: `{meta[f'command:{name}']}`."))
    if command:
        blocks.append(("p", f"Report: `{command}`."))
    blocks += [
        ("p", (f"{len(df):,} design points simulated ({failed:,} failed and are left out), cycle-level `"
              f"{best['engine']}` model of accelsim's systolic array (docs/microarchitecture.md).")),
        ("ul", axes),
        ("h2", "Best points"),
    ]
    best_rows = []
    for _, g in df.groupby("network_id", sort=False):
        knee_row = knee(pareto_front(g, ["latency_ms", "energy_per_inference_uJ"]))
        for metric, what in (("edp_uJ_ms", "lowest EDP"), ("latency_ms", "lowest latency"),
                             ("energy_per_inference_uJ", "lowest energy"), ("area_mm2", "smallest area"),
                             ("utilization", "highest utilization")):
            r = g.sort_values([metric, "latency_ms", "pe_count"], ascending=[metric != "utilization", True, True],
                              kind="stable").iloc[0]
            best_rows.append({**r.to_dict(), "what": what})
        best_rows.append({**knee_row.to_dict(), "what": "latency-energy knee"})
    best_df = pd.DataFrame(best_rows)
    both = "mapper" in df and df["mapper"].nunique() > 1
    blocks.append(_table(best_df, [("what", "Best by", None), *point_columns(best_df, network=True, mapping=both)]))
    blocks += [("h2", f"Findings for {best['network']}"), ("ul", findings(net_points, fronts))]
    lf, lu = figures.scale_for(best["latency_ms"], "ms")
    ef, eu = figures.scale_for(best["energy_per_inference_uJ"], "uJ")
    pf, pu = figures.scale_for(best["edp_uJ_ms"], "uJ_ms")
    blocks += [
        ("h2", "The selected design point"),
        ("p", (f"**{describe(best)}**, {how}.")),
        ("p", (f"{int(best['cycles']):,} cycles = {_sig(best['latency_ms'] / lf)} {lu}, "
               f"{best['inferences_per_second']:,.1f} inferences/s, {best['effective_tops']:.3f} effective TOPS of "
               f"{best['peak_tops']:.3f} peak, utilization {best['utilization']:.1%}, DRAM "
               f"{best['dram_bytes'] / 1e6:,.2f} MB, {_sig(best['energy_per_inference_uJ'] / ef)} {eu} per inference, "
               f"EDP {_sig(best['edp_uJ_ms'] / pf)} {pu}, chip area {best['area_mm2']:,.2f} mm².")),
        *_mapping_blocks(layers, best),
        _layer_table(layers),
        _energy_table(best),
        Figure("layers.png", "Per-layer cycles (busy and memory stall) and PE utilization of the selected point."),
        Figure("roofline.png", "Roofline of the selected point: peak = PEs MACs/cycle, memory roof = 2 x bandwidth "
                               "x intensity (read and write channels); each dot is a layer."),
        ("h2", "Pareto fronts"),
        ("p", (f"Over all {len(net_points):,} points of {best['network']} (batch {best['batch']}); a point is on a "
               "front when no other point is at least as good in both objectives and better in one (both "
               "minimized). Dominated points are faded, the selected point is the star.")),
    ]
    for stem, x, y, what in FRONTS:
        f = fronts[stem]
        blocks += [("h3", f"{what[0].upper()}{what[1:]}: {len(f):,} of {len(net_points):,} points on the front"),
                   Figure(f"{stem}.png", f"{what[0].upper()}{what[1:]} ({y} against {x}): the Pareto front."),
                   _table(f, point_columns(f, mapping=both))]
    blocks += [
        ("h2", "Utilization over array shape"),
        ("p", f"{grid.notna().to_numpy().sum()} array shapes at the selected point's other settings."),
        Figure("heatmap.png", "PE utilization (%) by array rows x cols."),
        ("h2", "Where the memory and the parameters are"),
        ("ul", _memory_notes(prof)),
        Figure("memory.png", "Per-layer output activation memory and parameters of the conv, pooling and FC layers "
                             "(in-place activations left out)."),
        ("h2", "Definitions"),
        ("ul", [
            "latency = cycles / clock; inferences_per_second = batch / latency; "
            "effective TOPS = 2 x MACs / latency / 10^12.",
            "utilization = MACs / (PEs x cycles).",
            "energy-delay product (EDP, `edp_uJ_ms`) = energy per inference (µJ) x latency (ms); lower is better.",
            ("chip area (`area_mm2`, `accelsim area`) = the array (yosys synthesis of the RTL, NanGate 45 nm cell "
             "areas) + the three SRAMs (CACTI 7) + the DRAM interface (CACTI-IO), scaled to the point's technology "
             "node (`accelsim/energy/table.py`); see the README's Area section."),
            "DRAM traffic counts bytes read and written; MB = 10^6 bytes, KiB = 1024 bytes.",
            _energy_line(meta.get(f"sweep:{name}", {}).get("energy")),
            _leakage_line(df),
        ]),
    ]
    return blocks


def _leakage_line(df: pd.DataFrame) -> str:
    if "leakage_pJ" in df and float(df["leakage_pJ"].max()) > 0:
        share = (df["leakage_pJ"] / df["total_pJ"]).median()
        return (f"Energy includes leakage: the chip's static power (from its area: logic and SRAMs) x latency "
                f"(`leakage_pJ`; {share:.0%} of the median point's energy), so a large, idle array pays for its "
                f"size in energy too.")
    return ("Energy is dynamic only (no leakage, no clock tree): idle PEs cost nothing, so a large array is not "
            "charged for its size in energy; area is the separate axis.")


def _front_line(f: pd.DataFrame, x: str, y: str, what: str) -> str:
    ends = f.sort_values([x, y], kind="stable")
    lo, hi = ends.iloc[0], ends.iloc[-1]
    xf, xu = figures.scale_for(f[x], figures.AXES[x][1])
    yf, yu = figures.scale_for(f[y], figures.AXES[y][1])
    text = f"{what[0].upper()}{what[1:]}: {len(f):,} front points"
    if len(f) == 1:
        return text + f", one design beats every other on both: {_short(lo)}."
    return (text + f", from {_short(lo)} ({_sig(lo[x] / xf)} {xu}, {_sig(lo[y] / yf)} {yu}) to {_short(hi)} "
            f"({_sig(hi[x] / xf)} {xu}, {_sig(hi[y] / yf)} {yu}): {hi[x] / lo[x]:,.2f}x the "
            f"{figures.AXES[x][0]} for {lo[y] / hi[y]:,.2f}x less {figures.AXES[y][0]}.")


def findings(points: pd.DataFrame, fronts: dict[str, pd.DataFrame]) -> list[str]:
    """Observations computed from one network's points and its fronts (``FRONTS`` stems), so the text
    never goes stale."""
    points = points if "sram" in points else _with_labels(points)
    out = []
    for stem, x, y, what in FRONTS:
        f = fronts[stem]
        out.append(_front_line(f if "sram" in f else _with_labels(f), x, y, what))
    stall = (points["stall_cycles"] / points["cycles"]).median()
    out.append(f"The median point spends {stall:.0%} of its cycles waiting for DRAM.")
    bw = points.groupby("bandwidth_bytes_per_cycle")["latency_ms"].median()
    if len(bw) > 1:
        lf, lu = figures.scale_for(bw, "ms")
        out.append("Median latency by DRAM bandwidth: "
                   + ", ".join(f"{b:g} B/cycle {_sig(v / lf)} {lu}" for b, v in bw.items()) + ".")
    if points["sram"].nunique() > 1:
        by = points.groupby("sram", sort=False)
        ef, eu = figures.scale_for(points["energy_per_inference_uJ"], "uJ")
        out.append("Median energy and area by SRAM KiB (ifmap/filter/ofmap): "
                   + ", ".join(f"{s} {_sig(e / ef)} {eu}, {a:,.2f} mm²" for s, e, a in
                               zip(by.groups, by["energy_per_inference_uJ"].median(), by["area_mm2"].median(),
                                   strict=True)) + ".")
    others = [c for c in HEATMAP_FIXED if c in points and c not in ("network_id", "batch", "dataflow")]
    others += ["rows", "cols"]
    fixed = points[points["mapper"] == "fixed"] if "mapper" in points else points
    if fixed["dataflow"].nunique() > 1:
        fastest = fixed.loc[fixed.groupby(others)["latency_ms"].idxmin(), "dataflow"].str.upper().value_counts()
        total = int(fastest.sum())
        out.append(f"Fastest dataflow (fixed mappings) over the {total} combinations of the other settings: "
                   + ", ".join(f"{d} in {n}" for d, n in fastest.items()) + ".")
    out += search_gain(points)
    e = points.sort_values(["energy_per_inference_uJ", "latency_ms", "pe_count"], kind="stable").iloc[0]
    levels = [("DRAM", "dram_pJ"), ("SRAM", "sram_pJ"), ("register file", "rf_pJ"), ("MAC", "mac_pJ")]
    if "leakage_pJ" in e and e["leakage_pJ"] > 0:
        levels.append(("leakage", "leakage_pJ"))
    ef, eu = figures.scale_for(e["energy_per_inference_uJ"], "uJ")
    out.append(f"Lowest energy: {_short(e)} at {_sig(e['energy_per_inference_uJ'] / ef)} {eu} per inference, of which "
               + ", ".join(f"{k} {e[c] / e['total_pJ']:.0%}" for k, c in levels) + ".")
    return out


def search_gain(points: pd.DataFrame) -> list[str]:
    """What searching each layer's mapping gained over the fixed mapping, per objective: the designs swept
    both ways (same configuration, dataflow included: the fixed mapping is that dataflow's), median and
    range of the change in latency, energy and EDP."""
    if "mapper" not in points or not {"fixed", "search"} <= set(points["mapper"]):
        return []
    keys = [c for c in STORE_CONFIG if c in points and c not in ("network", "mapper", "objective")]
    metrics = ["latency_ms", "energy_per_inference_uJ", "edp_uJ_ms"]
    fixed = points.loc[points["mapper"] == "fixed", keys + metrics]
    out = []
    for objective, searched in points[points["mapper"] == "search"].groupby("objective"):
        pair = searched[keys + metrics].merge(fixed, on=keys, how="inner", suffixes=("", "_fixed"))
        if pair.empty:
            continue
        changes = []
        for col, what in (("latency_ms", "latency"), ("energy_per_inference_uJ", "energy"), ("edp_uJ_ms", "EDP")):
            c = pair[col] / pair[f"{col}_fixed"] - 1
            changes.append(f"{what} {c.median():+.1%} (from {c.min():+.1%} to {c.max():+.1%})")
        designs = f"{len(pair):,} design{'s' if len(pair) != 1 else ''}"
        out.append(f"Mapping search (objective {objective}) against the fixed mapping of the same design, over the "
                   f"{designs} swept both ways, median change: " + ", ".join(changes) + ".")
    return out


def _energy_line(table: dict | None) -> str:
    t = EnergyTable.from_mapping(table) if table else DEFAULT_TABLE
    sram = ", ".join(f"{k:g} KiB {v:g}" for k, v in t.sram_pJ_per_byte)
    default = ""
    if t == DEFAULT_TABLE:
        default = " (the defaults: Horowitz ISSCC 2014 45 nm, register file by Eyeriss's 1x-MAC ratio)"
    return (f"Energy per access{default}: MAC {t.mac_pJ:g} pJ, vector op {t.vector_op_pJ:g} pJ, register file "
            f"{t.rf_pJ_per_byte:g} pJ/byte, SRAM pJ/byte by bank size ({sram}; log-log interpolated), DRAM "
            f"{t.dram_pJ_per_byte:g} pJ/byte; sources in `accelsim/energy/table.py`.")


def _has_mappings(layers: pd.DataFrame) -> bool:
    return "mapping" in layers and bool((layers["mapping"].fillna("") != "").any())


def _searched(layers: pd.DataFrame) -> bool:
    return {"fixed_cycles", "fixed_dram_bytes", "fixed_total_pJ"} <= set(layers.columns) and bool(
        layers["fixed_cycles"].notna().any())


def _change(new: float, old: float) -> str:
    return "" if not old or pd.isna(old) else f"{(new - old) / old:+.1%}"


def _mapping_blocks(layers: pd.DataFrame, best) -> list[Block]:
    """What the layers' mappings are and, after a mapping search, what it gained over the fixed mapping."""
    if not _has_mappings(layers):
        return []
    arr = layers[layers["unit"] == "array"]
    counts = arr["mapping"].value_counts()
    text = (f"Mappings of the {len(arr)} array layers: " + ", ".join(f"`{m}` {n}" for m, n in counts.items()) + ".")
    if not _searched(layers):
        return [("p", text)]
    s = arr[arr["fixed_cycles"].notna()]
    dram = s["dram_read_bytes"] + s["dram_write_bytes"]
    objective = str(best.get("objective") or "edp")
    cost = {"cycles": (s["cycles"], s["fixed_cycles"]), "energy": (s["total_pJ"], s["fixed_total_pJ"]),
            "edp": (s["cycles"] * s["total_pJ"], s["fixed_cycles"] * s["fixed_total_pJ"])}[objective]
    better = int((cost[0] < cost[1]).sum())
    bf, bu = figures.scale_for(s["fixed_dram_bytes"].sum(), "bytes")
    ef, eu = figures.scale_for(s["fixed_total_pJ"].sum() / 1e6, "uJ")
    lowered = {"cycles": "cycles", "energy": "energy", "edp": "cycles x energy"}[objective]
    text += (f" The search (objective {objective}, over the whole network) lowered the layer's {lowered} below the "
             f"fixed mapping's in {better} of {len(s)} layers; over "
             f"the array layers: cycles {int(s['cycles'].sum()):,} vs {int(s['fixed_cycles'].sum()):,} fixed "
             f"({_change(s['cycles'].sum(), s['fixed_cycles'].sum())}), DRAM {_sig(dram.sum() / bf)} vs "
             f"{_sig(s['fixed_dram_bytes'].sum() / bf)} {bu} ({_change(dram.sum(), s['fixed_dram_bytes'].sum())}), "
             f"energy {_sig(s['total_pJ'].sum() / 1e6 / ef)} vs {_sig(s['fixed_total_pJ'].sum() / 1e6 / ef)} {eu} "
             f"({_change(s['total_pJ'].sum(), s['fixed_total_pJ'].sum())}).")
    return [("p", text)]


def _layer_table(layers: pd.DataFrame) -> Table:
    lay = layers[layers["cycles"] > 0].copy()
    on_array = lay["unit"] == "array"
    lay["gemm"] = (lay["gemm_m"].astype(str) + "x" + lay["gemm_k"].astype(str) + "x" + lay["gemm_n"].astype(str)).where(
        on_array, "vector unit")
    lay["dram"] = lay["dram_read_bytes"] + lay["dram_write_bytes"]
    lay["util"] = lay["utilization"].map(_pct).where(on_array, "")
    lay["intensity"] = lay["intensity_macs_per_dram_byte"].map(lambda v: "" if pd.isna(v) else f"{v:,.1f}")
    cols: list[tuple[str, str, Callable[[Any], str] | None]] = [("layer", "Layer", None), ("gemm", "GEMM MxKxN", None)]
    if _has_mappings(layers):
        lay["mapping"] = lay["mapping"].fillna("")
        cols.append(("mapping", "Mapping", None))
    bf, bu = figures.scale_for(lay["dram"].max(), "bytes")
    ef, eu = figures.scale_for(lay["total_pJ"].max(), "pJ")
    cols += [("cycles", "Cycles", _n), ("stall_cycles", "Stall cycles", _n), ("util", "Util.", str),
             ("dram", f"DRAM {bu}", _in(bf)), ("intensity", "MACs/DRAM byte", str),
             ("total_pJ", f"Energy {eu}", _in(ef))]
    if _searched(layers):
        for new, old, head in (("cycles", "fixed_cycles", "Cycles vs fixed"), ("dram", "fixed_dram_bytes",
                                                                              "DRAM vs fixed"),
                               ("total_pJ", "fixed_total_pJ", "Energy vs fixed")):
            lay[head] = [_change(a, b) if unit == "array" else ""
                         for a, b, unit in zip(lay[new], lay[old], lay["unit"], strict=True)]
            cols.append((head, head, str))
    return _table(lay, cols)


def _energy_table(best) -> Table:
    total = float(best["total_pJ"])
    levels = [("MAC", "mac_pJ"), ("vector unit", "vector_pJ"), ("register file", "rf_pJ"), ("SRAM", "sram_pJ"),
              ("DRAM", "dram_pJ")]
    if "leakage_pJ" in best:
        levels.append(("leakage", "leakage_pJ"))
    rows = tuple((lvl, f"{float(best[c]) / 1e6:,.2f}", f"{float(best[c]) / total:.1%}")
                 for lvl, c in (*levels, ("total", "total_pJ")))
    return Table(("Energy level", "µJ", "share"), rows, (False, True, True))
