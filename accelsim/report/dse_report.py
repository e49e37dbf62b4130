"""The design-space report: Markdown + self-contained HTML (figures embedded as base64) + PNGs.

``build_report(db, out_dir)`` reads a results database (``accelsim.dse``), picks one design point
(the lowest-latency one, or the one narrowed down by ``select``) and writes:

- ``layers.png``: per-layer cycles (busy vs memory stall) and PE utilization of that point;
- ``roofline.png``: its layers on the array's roofline (MACs per DRAM byte);
- ``pareto_pes.png`` / ``pareto_energy.png``: latency against PE count and against energy, with
  the Pareto fronts, over every point of the network;
- ``heatmap.png``: utilization over array rows x cols at the point's other settings;
- ``memory.png``: per-layer activation memory and parameters (``accelsim.workload.profile``);
- ``report.md`` (links the PNGs) and ``report.html`` (one file, images inline).
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from accelsim.dse.pareto import pareto_front
from accelsim.dse.spec import network_from_spec
from accelsim.dse.store import load_layers, load_meta, load_networks, load_results
from accelsim.energy import DEFAULT_TABLE, EnergyTable
from accelsim.errors import AccelsimError
from accelsim.progress import ProgressCallback
from accelsim.report import figures
from accelsim.workload.counts import DTYPE_BYTES
from accelsim.workload.files import atomic_folder
from accelsim.workload.profile import profile

SELECT_COLUMNS = {
    "network": "network", "batch": "batch", "rows": "rows", "cols": "cols", "dataflow": "dataflow",
    "bandwidth": "bandwidth_bytes_per_cycle", "clock_mhz": "clock_mhz", "ifmap_sram_kib": "ifmap_sram_kib",
    "filter_sram_kib": "filter_sram_kib", "ofmap_sram_kib": "ofmap_sram_kib", "double_buffer": "double_buffer",
    "pipeline": "pipeline",
}
# The settings that stay fixed across the rows x cols heatmap.
HEATMAP_FIXED = ("network_id", "batch", "dataflow", "ifmap_sram_kib", "filter_sram_kib", "ofmap_sram_kib",
                 "double_buffer", "pipeline", "bandwidth_bytes_per_cycle", "clock_mhz", "data_bits", "acc_bits",
                 "out_bits", "engine")


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
            lines += [f"![{b.caption}]({b.file})", "", f"*{b.caption}*", ""]
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
            data = base64.b64encode(images[b.file]).decode()
            parts.append(f"<figure><img alt='{html.escape(b.caption)}' src='data:image/png;base64,{data}'>"
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


def _table(df: pd.DataFrame, cols: list[tuple[str, str, Callable[[Any], str] | None]]) -> Table:
    """``cols``: (column, header, formatter or None for text)."""
    rows = tuple(tuple(str(r[c]) if fmt is None else fmt(r[c]) for c, _, fmt in cols) for _, r in df.iterrows())
    return Table(tuple(h for _, h, _ in cols), rows, tuple(fmt is not None for _, _, fmt in cols))


def describe(row) -> str:
    """One design point in words: network, array, dataflow, memories, clock."""
    sram = (row["ifmap_sram_kib"], row["filter_sram_kib"], row["ofmap_sram_kib"])
    sram_s = "/".join(f"{v:g}" for v in sram)
    return (f"{row['network']} (batch {row['batch']}) on {row['rows']}x{row['cols']} {row['dataflow'].upper()}, "
            f"SRAM {sram_s} KiB (ifmap/filter/ofmap, {'double' if row['double_buffer'] else 'single'}-buffered), "
            f"{'pipelined' if row['pipeline'] else 'serial'} folds, "
            f"DRAM {row['bandwidth_bytes_per_cycle']:g} B/cycle, {row['clock_mhz']:g} MHz")


POINT_TABLE = [
    ("network", "Network", None), ("array", "Array", None), ("dataflow_u", "Dataflow", None),
    ("bandwidth_bytes_per_cycle", "DRAM B/cycle", _f(0)), ("pe_count", "PEs", _n),
    ("cycles", "Cycles", _n), ("latency_ms", "Latency ms", _f(3)), ("effective_tops", "Eff. TOPS", _f(3)),
    ("utilization", "Util.", _pct), ("dram_mb", "DRAM MB", _f(2)), ("energy_per_inference_uJ", "Energy uJ", _f(1)),
]


def _with_labels(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    df["array"] = df["rows"].astype(str) + "x" + df["cols"].astype(str)
    df["dataflow_u"] = df["dataflow"].str.upper()
    df["dram_mb"] = df["dram_bytes"] / 1e6
    return df


# ---- selection --------------------------------------------------------------------------------

def select_point(df: pd.DataFrame, select: dict) -> pd.Series:
    """The lowest-latency point among those matching ``select`` (ties: fewer PEs, less energy)."""
    cand = df
    for key, value in select.items():
        if value is None:
            continue
        col = SELECT_COLUMNS[key]
        cand = cand[cand[col] == value]
        if cand.empty:
            have = ", ".join(str(v) for v in sorted(df[col].unique()))
            raise AccelsimError(f"report: {key}: no point with {value!r} among the selected results (have: {have})")
    order = cand.sort_values(["latency_ms", "pe_count", "energy_per_inference_uJ"], kind="stable")
    return order.iloc[0]


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

REPORT_STEPS = 8  # loading, six figures, the pages


def build_report(db: str | Path, out_dir: str | Path, select: dict | None = None, command: str | None = None,
                 progress: ProgressCallback | None = None) -> list[Path]:
    """Write the report files for ``db`` into ``out_dir``; returns their paths.

    ``progress(done, REPORT_STEPS)`` is called after loading, after each figure and at the end.
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
    everything = load_results(db, errors=True)
    df = _with_labels(load_results(db))
    if df.empty:
        raise AccelsimError(f"results: {db}: no successful points to report ({len(everything)} failed)")
    meta = load_meta(db)
    name = meta.get("last_sweep", Path(db).stem)
    best = select_point(df, select)
    net_points = df[(df["network_id"] == best["network_id"]) & (df["batch"] == best["batch"])]
    layers = load_layers(db, best["key"])
    net = network_from_spec(load_networks(db)[best["network_id"]])
    dtype = _dtype(best["data_bits"])
    prof = profile(net, batch=int(best["batch"]), dtype=dtype)
    step()

    files: list[str] = []

    def fill(out: Path) -> None:
        images: dict[str, bytes] = {}

        def put(fig, file):
            figures.save(fig, out / file)
            images[file] = (out / file).read_bytes()
            step()

        put(figures.layer_cycles(layers, f"Per-layer cycles and utilization: {best['network']} on {best['rows']}x"
                                         f"{best['cols']} {best['dataflow'].upper()}, "
                                         f"{best['bandwidth_bytes_per_cycle']:g} B/cycle"), "layers.png")
        put(figures.roofline(layers, int(best["pe_count"]), float(best["bandwidth_bytes_per_cycle"]),
                             f"Roofline: {best['network']} on {best['rows']}x{best['cols']} "
                             f"{best['dataflow'].upper()}, {best['bandwidth_bytes_per_cycle']:g} B/cycle each way"),
            "roofline.png")
        put(figures.pareto(net_points, front_pes, "pe_count", "latency_ms", "PE count (area proxy)", "latency (ms)",
                           f"{best['network']}: latency vs PE count ({len(net_points)} points)"), "pareto_pes.png")
        put(figures.pareto(net_points, front_energy, "energy_per_inference_uJ", "latency_ms",
                           "energy per inference (uJ)", "latency (ms)",
                           f"{best['network']}: latency vs energy ({len(net_points)} points)"), "pareto_energy.png")
        put(figures.heatmap(grid, f"Utilization over array shape: {best['network']}, {best['dataflow'].upper()}, "
                                  f"{best['bandwidth_bytes_per_cycle']:g} B/cycle"), "heatmap.png")
        put(figures.memory_and_params(prof, f"{net.name}: per-layer activation memory and parameters", dtype),
            "memory.png")
        blocks = _blocks(name, meta, everything, df, best, layers, net_points, front_pes, front_energy, grid, prof,
                         select, command)
        (out / "report.md").write_text(to_markdown(blocks))
        (out / "report.html").write_text(to_html(blocks, images, f"accelsim DSE: {name}"))
        files[:] = ["report.md", "report.html", *images]

    front_pes = pareto_front(net_points, ["latency_ms", "pe_count"])
    front_energy = pareto_front(net_points, ["latency_ms", "energy_per_inference_uJ"])
    same = net_points
    for col in HEATMAP_FIXED:
        same = same[same[col] == best[col]]
    grid = same.pivot_table(index="rows", columns="cols", values="utilization", aggfunc="first")
    # Everything is written into a temporary folder beside out_dir and renamed into place at the end:
    # a failure halfway leaves no half-written report (and the previous one, if any, untouched).
    atomic_folder(out_dir, fill, "report")
    step()
    out = Path(out_dir)
    return [out / f for f in files]


def _blocks(name, meta, everything, df, best, layers, net_points, front_pes, front_energy, grid, prof, select, command):
    failed = int((everything["status"] != "ok").sum())
    axes = []
    for col, title in (("network", "networks"), ("array", "arrays"), ("dataflow_u", "dataflows"),
                       ("bandwidth_bytes_per_cycle", "DRAM bytes/cycle"), ("clock_mhz", "clock MHz"),
                       ("batch", "batch")):
        vals = list(dict.fromkeys(df[col].tolist()))
        axes.append(f"{title}: {', '.join(f'{v:g}' if isinstance(v, float) else str(v) for v in vals)}")
    srams = df[["ifmap_sram_kib", "filter_sram_kib", "ofmap_sram_kib"]].drop_duplicates()
    axes.append("SRAM KiB (ifmap/filter/ofmap): " + ", ".join("/".join(f"{v:g}" for v in r) for r in srams.to_numpy()))
    how = "chosen by " + ", ".join(f"`{k}={v}`" for k, v in select.items()) if select else "the lowest latency"
    blocks: list[Block] = [("h1", f"Design-space exploration: {name}")]
    if meta.get(f"command:{name}"):
        blocks.append(("p", f"Sweep: `{meta[f'command:{name}']}`."))
    if command:
        blocks.append(("p", f"Report: `{command}`."))
    blocks += [
        ("p", (f"{len(df)} design points simulated ({failed} failed and are left out), cycle-level `"
              f"{best['engine']}` model of accelsim's systolic array (docs/microarchitecture.md).")),
        ("ul", axes),
        ("h2", "Best points"),
    ]
    best_rows = []
    for _, g in df.groupby("network_id", sort=False):
        for metric, what in (("latency_ms", "lowest latency"), ("energy_per_inference_uJ", "lowest energy"),
                             ("utilization", "highest utilization")):
            r = g.sort_values([metric, "latency_ms", "pe_count"], ascending=[metric != "utilization", True, True],
                              kind="stable").iloc[0]
            best_rows.append({**r.to_dict(), "what": what})
    blocks.append(_table(pd.DataFrame(best_rows), [("what", "Best by", None), *POINT_TABLE]))
    blocks += [("h2", f"Findings for {best['network']}"), ("ul", findings(net_points, front_pes))]
    blocks += [
        ("h2", "The selected design point"),
        ("p", (f"**{describe(best)}**, {how}: {int(best['cycles']):,} cycles = {best['latency_ms']:.3f} ms, "
              f"{best['inferences_per_second']:,.1f} inferences/s, {best['effective_tops']:.3f} effective TOPS of "
              f"{best['peak_tops']:.3f} peak, utilization {best['utilization']:.1%}, DRAM "
              f"{best['dram_bytes'] / 1e6:,.2f} MB, {best['energy_per_inference_uJ']:,.1f} uJ per inference.")),
        _layer_table(layers),
        _energy_table(best),
        Figure("layers.png", "Per-layer cycles (busy and memory stall) and PE utilization of the selected point."),
        Figure("roofline.png", "Roofline of the selected point: peak = PEs MACs/cycle, memory roof = 2 x bandwidth "
                               "x intensity (read and write channels); each dot is a layer."),
        ("h2", "Pareto fronts"),
        ("p", (f"Over all {len(net_points)} points of {best['network']} (batch {best['batch']}); "
               "a point is on the front "
              "when no other point is at least as good in both objectives and better in one (both minimized).")),
        Figure("pareto_pes.png", "Latency against PE count (area proxy): the Pareto front."),
        _table(_with_labels(front_pes), POINT_TABLE),
        Figure("pareto_energy.png", "Latency against energy per inference: the Pareto front."),
        _table(_with_labels(front_energy), POINT_TABLE),
        ("h2", "Utilization over array shape"),
        ("p", f"{grid.notna().to_numpy().sum()} array shapes at the selected point's other settings."),
        Figure("heatmap.png", "PE utilization (%) by array rows x cols."),
        ("h2", "Where the memory and the parameters are"),
        ("ul", _memory_notes(prof)),
        Figure("memory.png", "Per-layer output activation memory (MB = 10^6 bytes) and parameters (millions) of "
                             "the conv, pooling and FC layers (in-place activations left out)."),
        ("h2", "Definitions"),
        ("ul", [
            "latency_ms = cycles / clock; inferences_per_second = batch / latency; "
            "effective TOPS = 2 x MACs / latency / 10^12.",
            "utilization = MACs / (PEs x cycles); PE count = rows x cols is the area proxy.",
            "DRAM traffic counts bytes read and written; MB = 10^6 bytes, KiB = 1024 bytes.",
            _energy_line(meta.get(f"sweep:{name}", {}).get("energy")),
            ("Energy is dynamic only (no leakage, no clock tree): idle PEs cost nothing, so a large array is not "
            "charged for its size in energy; the PE count is the separate area axis."),
        ]),
    ]
    return blocks


def findings(points: pd.DataFrame, front: pd.DataFrame) -> list[str]:
    """Observations computed from one network's points (so the text never goes stale)."""
    out = []
    f = front.sort_values("pe_count")
    lo, hi = f.iloc[0], f.iloc[-1]
    out.append(
        f"The latency / PE-count front has {len(f)} points, from {lo['rows']}x{lo['cols']} {lo['dataflow'].upper()} "
        f"({lo['latency_ms']:,.2f} ms, utilization {lo['utilization']:.1%}) to {hi['rows']}x{hi['cols']} "
        f"{hi['dataflow'].upper()} ({hi['latency_ms']:,.2f} ms, {hi['utilization']:.1%}): "
        f"{hi['pe_count'] / lo['pe_count']:,.0f}x the PEs for {lo['latency_ms'] / hi['latency_ms']:,.1f}x the speed."
    )
    stall = (points["stall_cycles"] / points["cycles"]).median()
    out.append(f"The median point spends {stall:.0%} of its cycles waiting for DRAM.")
    bw = points.groupby("bandwidth_bytes_per_cycle")["latency_ms"].median()
    if len(bw) > 1:
        out.append("Median latency by DRAM bandwidth: "
                   + ", ".join(f"{b:g} B/cycle {v:,.2f} ms" for b, v in bw.items()) + ".")
    others = ["rows", "cols", "ifmap_sram_kib", "filter_sram_kib", "ofmap_sram_kib", "double_buffer", "pipeline",
              "bandwidth_bytes_per_cycle", "clock_mhz", "data_bits", "acc_bits", "out_bits", "engine"]
    if points["dataflow"].nunique() > 1:
        fastest = points.loc[points.groupby(others)["latency_ms"].idxmin(), "dataflow"].str.upper().value_counts()
        total = int(fastest.sum())
        out.append(f"Fastest dataflow over the {total} combinations of the other settings: "
                   + ", ".join(f"{d} in {n}" for d, n in fastest.items()) + ".")
    e = points.iloc[int(points["energy_per_inference_uJ"].argmin())]
    shares = {lvl: e[c] / e["total_pJ"] for lvl, c in (("DRAM", "dram_pJ"), ("SRAM", "sram_pJ"),
                                                        ("register file", "rf_pJ"), ("MAC", "mac_pJ"))}
    out.append(f"Lowest energy: {e['rows']}x{e['cols']} {e['dataflow'].upper()} at "
               f"{e['energy_per_inference_uJ']:,.1f} uJ per inference, of which "
               + ", ".join(f"{k} {v:.0%}" for k, v in shares.items()) + ".")
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


def _layer_table(layers: pd.DataFrame) -> Table:
    lay = layers[layers["cycles"] > 0].copy()
    on_array = lay["unit"] == "array"
    lay["gemm"] = (lay["gemm_m"].astype(str) + "x" + lay["gemm_k"].astype(str) + "x" + lay["gemm_n"].astype(str)).where(
        on_array, "vector unit")
    lay["dram_mb"] = (lay["dram_read_bytes"] + lay["dram_write_bytes"]) / 1e6
    lay["energy_uj"] = lay["total_pJ"] / 1e6
    lay["util"] = lay["utilization"].map(_pct).where(on_array, "")
    lay["intensity"] = lay["intensity_macs_per_dram_byte"].map(lambda v: "" if pd.isna(v) else f"{v:,.1f}")
    return _table(lay, [("layer", "Layer", None), ("gemm", "GEMM MxKxN", None), ("cycles", "Cycles", _n),
                        ("stall_cycles", "Stall cycles", _n), ("util", "Util.", str), ("dram_mb", "DRAM MB", _f(3)),
                        ("intensity", "MACs/DRAM byte", str), ("energy_uj", "Energy uJ", _f(2))])


def _energy_table(best) -> Table:
    total = float(best["total_pJ"])
    rows = tuple((lvl, f"{float(best[c]) / 1e6:,.2f}", f"{float(best[c]) / total:.1%}")
                 for lvl, c in (("MAC", "mac_pJ"), ("vector unit", "vector_pJ"), ("register file", "rf_pJ"),
                                ("SRAM", "sram_pJ"),
                                ("DRAM", "dram_pJ"), ("total", "total_pJ")))
    return Table(("Energy level", "uJ", "share"), rows, (False, True, True))
