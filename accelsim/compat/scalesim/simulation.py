"""SCALE-Sim's numbers for accelsim networks: per node, per network, and the table of
``accelsim simulate --convention scalesim`` (docs/scalesim.md, "Networks")."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from accelsim.compat.scalesim.common import WORD_BYTES, ScaleSimConventionError
from accelsim.compat.scalesim.layer import scalesim_layer
from accelsim.compat.scalesim.topology import topology_row
from accelsim.hardware.config import ArrayConfig
from accelsim.workload.network import Network, Node

if TYPE_CHECKING:
    import pandas as pd

# Keys that add up when one accelsim layer is several SCALE-Sim rows (groups).
_ADDITIVE = (
    "total_cycles_incl_prefetch", "total_cycles", "stall_cycles", "compute_cycles", "macs", "folds",
    "ifmap_sram_reads", "filter_sram_reads", "ofmap_sram_writes",
    "ifmap_dram_reads", "filter_dram_reads", "ofmap_dram_writes",
)
# Per-fold averages keep their value; per-layer timing details make no sense summed.
_KEPT = ("mapping_efficiency", "compute_util", "ofmap_h", "ofmap_w", "M", "N", "K", "Sr", "Sc", "T",
         "row_folds", "col_folds", "fold_cycles")


def scalesim_node(node: Node, rows: int, cols: int, dataflow: str, **sram_kb: int) -> dict[str, Any] | None:
    """``scalesim_layer`` for an accelsim network node (``None`` for layers without a GEMM).

    A grouped convolution is ``groups`` identical SCALE-Sim rows run one after another: cycles and
    access counts are summed, per-fold averages kept, ``overall_util`` recomputed; per-layer
    start/stop cycles and bandwidths are dropped when groups > 1. ``layers`` tells how many rows
    were summed.
    """
    row = topology_row(node)
    if row is None:
        return None
    one = scalesim_layer(*row[1:], rows=rows, cols=cols, dataflow=dataflow, **sram_kb)
    groups: int = getattr(node.layer, "groups", 1)
    if groups == 1:
        return {**one, "layers": 1}
    out = {k: one[k] for k in _KEPT}
    for k in _ADDITIVE:
        out[k] = None if one[k] is None else one[k] * groups
    out["overall_util"] = out["macs"] * 100 / (out["total_cycles"] * rows * cols)
    out["layers"] = groups
    return out


def scalesim_network(
    network: Network, rows: int, cols: int, dataflow: str, **sram_kb: int
) -> list[tuple[str, dict[str, Any]]]:
    """``scalesim_node`` for every GEMM layer of a network, in order: [(layer name, result), ...]."""
    out = []
    for node in network:
        try:
            r = scalesim_node(node, rows, cols, dataflow, **sram_kb)
        except ScaleSimConventionError as e:
            if e.field != "layer":
                raise
            raise ScaleSimConventionError(f"layer '{node.layer.name}'", str(e).split(": ", 2)[-1]) from None
        if r is not None:
            out.append((node.layer.name, r))
    return out


def scalesim_simulation(network: Network, cfg: ArrayConfig, batch: int = 1) -> tuple[pd.DataFrame, dict[str, Any]]:
    """``accelsim simulate --convention scalesim``: SCALE-Sim's per-layer report as a DataFrame.

    One row per conv/linear layer (SCALE-Sim has no pooling or activation layers), with the
    columns of our own ``simulate`` where SCALE-Sim has the quantity (docs/scalesim.md). SRAM
    sizes are the config's KiB (SCALE-Sim's ``*SramSzkB``). Returns ``(layers, totals)``.
    """
    import pandas as pd  # heavy: only this table needs it

    if batch != 1:
        raise ScaleSimConventionError("batch", f"SCALE-Sim simulates batch 1 only, got {batch}")
    sram = {"ifmap_sram_kb": max(1, round(cfg.ifmap_sram_kib)), "filter_sram_kb": max(1, round(cfg.filter_sram_kib)),
            "ofmap_sram_kb": max(1, round(cfg.ofmap_sram_kib))}
    rows = []
    for name, r in scalesim_network(network, cfg.rows, cfg.cols, cfg.dataflow, **sram):
        reads = (None if r["ifmap_dram_reads"] is None or r["filter_dram_reads"] is None
                 else (r["ifmap_dram_reads"] + r["filter_dram_reads"]) * WORD_BYTES)
        rows.append({
            "layer": name, "gemm_m": r["M"], "gemm_k": r["K"], "gemm_n": r["N"], "gemm_groups": r["layers"],
            "folds": r["folds"], "macs": r["macs"], "cycles": r["total_cycles"],
            "compute_cycles": r["compute_cycles"], "stall_cycles": r["stall_cycles"],
            "ideal_cycles": math.ceil(r["macs"] / (cfg.rows * cfg.cols)),
            "utilization": r["overall_util"] / 100, "compute_utilization": r["compute_util"] / 100,
            "mapping_efficiency": r["mapping_efficiency"] / 100,
            "ifmap_sram_reads": r["ifmap_sram_reads"], "filter_sram_reads": r["filter_sram_reads"],
            "ofmap_sram_writes": r["ofmap_sram_writes"],
            "dram_read_bytes": float("nan") if reads is None else reads,
            "dram_write_bytes": r["ofmap_dram_writes"] * WORD_BYTES,
        })
    if not rows:
        raise ScaleSimConventionError("model", "has no conv or linear layer to simulate")
    df = pd.DataFrame(rows)
    df.attrs.update(network=network.name, convention="scalesim")
    summed = ("macs", "folds", "cycles", "compute_cycles", "stall_cycles", "ideal_cycles", "ifmap_sram_reads",
              "filter_sram_reads", "ofmap_sram_writes", "dram_write_bytes")
    totals: dict[str, Any] = {k: int(df[k].sum()) for k in summed}
    totals["dram_read_bytes"] = None if df["dram_read_bytes"].isna().any() else int(df["dram_read_bytes"].sum())
    totals["utilization"] = totals["macs"] / (cfg.rows * cfg.cols * totals["cycles"])
    totals["latency_ms"] = totals["cycles"] / (cfg.clock_mhz * 1e3)
    return df, totals
