"""SCALE-Sim's three report files, written from accelsim results (``simulate --format scalesim``).

The headers and the row format (``LayerID, v1, v2, ...,`` with ``str()`` of each value) are
SCALE-Sim 3.0.0's ``scalesim/simulator.py`` (``generate_reports``), so scripts that read
SCALE-Sim's output read these. One row per conv/linear layer, in network order, LayerID from 0
(SCALE-Sim has no pooling or activation layers). What each column holds under each convention,
and which have no accelsim equivalent (written ``nan``): docs/scalesim.md, "Report files".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from accelsim.compat.scalesim.common import ScaleSimConventionError
from accelsim.compat.scalesim.simulation import scalesim_node
from accelsim.hardware.config import ArrayConfig
from accelsim.workload.network import Network

if TYPE_CHECKING:
    from accelsim.systolic.simulate import Simulation

COMPUTE_REPORT = "COMPUTE_REPORT.csv"
BANDWIDTH_REPORT = "BANDWIDTH_REPORT.csv"
DETAILED_ACCESS_REPORT = "DETAILED_ACCESS_REPORT.csv"

# (SCALE-Sim's column, the key of a report row) per file, in SCALE-Sim's order.
COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    COMPUTE_REPORT: (
        ("Total Cycles (incl. prefetch)", "total_cycles_incl_prefetch"),
        ("Total Cycles", "total_cycles"),
        ("Stall Cycles", "stall_cycles"),
        ("Overall Util %", "overall_util"),
        ("Mapping Efficiency %", "mapping_efficiency"),
        ("Compute Util %", "compute_util"),
    ),
    BANDWIDTH_REPORT: (
        ("Avg IFMAP SRAM BW", "avg_ifmap_sram_bw"),
        ("Avg FILTER SRAM BW", "avg_filter_sram_bw"),
        ("Avg OFMAP SRAM BW", "avg_ofmap_sram_bw"),
        ("Avg IFMAP DRAM BW", "avg_ifmap_dram_bw"),
        ("Avg FILTER DRAM BW", "avg_filter_dram_bw"),
        ("Avg OFMAP DRAM BW", "avg_ofmap_dram_bw"),
    ),
    DETAILED_ACCESS_REPORT: tuple(
        (f"{mem} {op} {what}", f"{op.lower()}_{mem.lower()}_{key}")
        for mem in ("SRAM", "DRAM")
        for op in ("IFMAP", "Filter", "OFMAP")
        for what, key in (("Start Cycle", "start"), ("Stop Cycle", "stop"),
                          ("Writes" if op == "OFMAP" else "Reads", "writes" if op == "OFMAP" else "reads"))
    ),
}
REPORTS = tuple(COLUMNS)
ALL_KEYS = tuple(key for cols in COLUMNS.values() for _, key in cols)
# Per-layer timing of one SCALE-Sim row: meaningless for a grouped layer run as several rows.
_PER_ROW = ("total_cycles_incl_prefetch",
            *(k for k in ALL_KEYS if k.endswith(("_start", "_stop")) or "_dram_bw" in k))


def header(report: str) -> str:
    """The header line SCALE-Sim writes (its spacing and trailing comma included)."""
    return "LayerID, " + ", ".join(name for name, _ in COLUMNS[report]) + ",\n"


def _cell(key: str, v: Any) -> str:
    """SCALE-Sim's ``str(x)`` (its start/stop cycles are float64: ``33.0``); a value with no
    equivalent (``None``) is ``nan``, which float() and pandas parse."""
    if v is None:
        return "nan"
    return str(float(v)) if key.endswith(("_start", "_stop")) else str(v)


def render(rows: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """{file name: text} of the three reports for rows with the keys ``ALL_KEYS``."""
    out = {}
    for report, cols in COLUMNS.items():
        lines = [header(report)]
        lines += [f"{lid}, " + ", ".join(_cell(key, r[key]) for _, key in cols) + ",\n" for lid, r in enumerate(rows)]
        out[report] = "".join(lines)
    return out


def scalesim_rows(network: Network, cfg: ArrayConfig, batch: int = 1) -> list[dict[str, Any]]:
    """Report rows under ``--convention scalesim``: SCALE-Sim 3.0.0's own numbers (CALC mode).

    A grouped layer (``groups`` identical SCALE-Sim rows) is one row: cycles and counts summed, the
    SRAM bandwidths (reads / total cycles) of the sum, its per-row start/stop cycles, DRAM
    bandwidths and prefetch-inclusive cycles ``None``. Values the closed form does not reproduce
    (order-dependent DRAM reads) are ``None`` too.
    """
    if batch != 1:
        raise ScaleSimConventionError("batch", f"SCALE-Sim simulates batch 1 only, got {batch}")
    sram = {"ifmap_sram_kb": max(1, round(cfg.ifmap_sram_kib)), "filter_sram_kb": max(1, round(cfg.filter_sram_kib)),
            "ofmap_sram_kb": max(1, round(cfg.ofmap_sram_kib))}
    rows = []
    for node in network:
        try:
            r = scalesim_node(node, cfg.rows, cfg.cols, cfg.dataflow, **sram)
        except ScaleSimConventionError as e:
            if e.field != "layer":
                raise
            raise ScaleSimConventionError(f"layer '{node.layer.name}'", str(e).split(": ", 2)[-1]) from None
        if r is None:
            continue
        if r["layers"] > 1:
            r = {**r, **dict.fromkeys(_PER_ROW)}
            for op, count in (("ifmap", "ifmap_sram_reads"), ("filter", "filter_sram_reads"),
                              ("ofmap", "ofmap_sram_writes")):
                r[f"avg_{op}_sram_bw"] = r[count] / r["total_cycles"]
        rows.append({k: r.get(k) for k in ALL_KEYS})
    if not rows:
        raise ScaleSimConventionError("model", "has no conv or linear layer to simulate")
    return rows


def _elements(nbytes: int, width: int) -> int | float:
    return nbytes // width if nbytes % width == 0 else nbytes / width


def accelsim_rows(sim: Simulation) -> list[dict[str, Any]]:
    """Report rows from accelsim's own simulation (``--convention accelsim``).

    Cycles and ratios are accelsim's (``Total Cycles (incl. prefetch)`` = ``Total Cycles`` =
    ``cycles``: accelsim's layer cycles already include its first loads); counts are elements
    (SCALE-Sim's words), DRAM bytes divided by the element width; bandwidths are elements per
    cycle over the layer's cycles. accelsim has no per-buffer start/stop cycles: ``None``.
    """
    cfg = sim.config
    rows = []
    for r in sim.rows:
        if r["unit"] != "array":
            continue
        cycles = r["cycles"]
        ifmap_dram = _elements(r["ifmap_dram_read_bytes"], cfg.data_bytes)
        filter_dram = _elements(r["filter_dram_read_bytes"], cfg.data_bytes)
        ofmap_dram = _elements(r["dram_write_bytes"], cfg.out_bytes)
        row: dict[str, Any] = dict.fromkeys(ALL_KEYS)
        row.update({
            "total_cycles_incl_prefetch": cycles, "total_cycles": cycles, "stall_cycles": r["stall_cycles"],
            "overall_util": r["utilization"] * 100, "mapping_efficiency": r["mapping_efficiency"] * 100,
            "compute_util": r["compute_utilization"] * 100,
            "avg_ifmap_sram_bw": r["ifmap_sram_reads"] / cycles, "avg_filter_sram_bw": r["filter_sram_reads"] / cycles,
            "avg_ofmap_sram_bw": r["ofmap_sram_writes"] / cycles,
            "avg_ifmap_dram_bw": ifmap_dram / cycles, "avg_filter_dram_bw": filter_dram / cycles,
            "avg_ofmap_dram_bw": ofmap_dram / cycles,
            "ifmap_sram_reads": r["ifmap_sram_reads"], "filter_sram_reads": r["filter_sram_reads"],
            "ofmap_sram_writes": r["ofmap_sram_writes"],
            "ifmap_dram_reads": ifmap_dram, "filter_dram_reads": filter_dram, "ofmap_dram_writes": ofmap_dram,
        })
        rows.append(row)
    if not rows:
        raise ScaleSimConventionError("model", "has no conv or linear layer to simulate")
    return rows
