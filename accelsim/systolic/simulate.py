"""A whole network on the array: one row per layer, network totals, optional bit-exact check.

GEMM layers (conv, linear; shapes from ``accelsim.workload.profile.gemm_shape``) run on the
array with the fast or the stepping model; the rest on the vector unit (``vector``). Layers run
one after another, each from an idle array and empty buffers. Per-layer columns (units in the
names; counts are elements, ``*_bytes`` bytes):

- ``cycles`` = ``compute_cycles`` (sum of fold cycles) + ``stall_cycles`` (waiting for DRAM);
  ``ideal_cycles`` = ceil(MACs / PEs); ``latency_ms`` = cycles at ``clock_mhz``;
- ``utilization`` = MACs / (PEs x cycles); ``compute_utilization`` = MACs / (PEs x
  compute_cycles); ``mapping_efficiency`` = MACs / (PEs x streaming beats), the used-PE fraction
  of the folds' streaming beats (all three 0 for vector-unit layers);
- ``dram_read_bytes`` (= ifmap + filter), ``dram_write_bytes``, the SRAM
  ``*_sram_reads``/``*_sram_writes`` per buffer (see ``accelsim.memory.traffic``); partial sums
  never leave the chip (WS/IS folds are chunked to fit the ofmap SRAM, OS accumulates in the PEs);
- ``avg_dram_bytes_per_cycle`` = DRAM bytes / cycles, ``peak_dram_bytes_per_cycle`` = the largest
  fold's (read + write bytes) / fold cycles, the bandwidth that would hide every fold's transfers.

``numbers=True`` feeds the array the int8 operands of ``accelsim.lowering``'s forward pass
(``reference``) and keeps its outputs; ``check=True`` also compares them bit for bit with the
reference accumulators (wrapped to ACC_W). The stepping model always computes numbers: without
``numbers`` it runs on seeded random operands.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from accelsim.errors import AccelsimError
from accelsim.systolic.arith import wrap
from accelsim.systolic.config import ArrayConfig
from accelsim.systolic.fast import fast_layer
from accelsim.systolic.reference import reference_gemms
from accelsim.systolic.result import ArrayRun
from accelsim.systolic.stepping import random_operands, step_layer
from accelsim.systolic.vector import vector_layer
from accelsim.workload.network import Network
from accelsim.workload.profile import gemm_shape

MODELS = ("fast", "stepping")
TRAFFIC_COLUMNS = ("ifmap_sram_reads", "ifmap_sram_writes", "filter_sram_reads", "filter_sram_writes",
                   "ofmap_sram_reads", "ofmap_sram_writes")
COLUMNS = ("name", "type", "unit", "gemm_m", "gemm_k", "gemm_n", "gemm_groups", "folds", "macs", "vector_ops",
           "cycles", "compute_cycles", "stall_cycles", "ideal_cycles", "latency_ms", "utilization",
           "compute_utilization", "mapping_efficiency", "stream_beats", "dram_read_bytes", "dram_write_bytes",
           "ifmap_dram_read_bytes", "filter_dram_read_bytes", *TRAFFIC_COLUMNS,
           "avg_dram_bytes_per_cycle", "peak_dram_bytes_per_cycle")
SUMMED = ("macs", "vector_ops", "folds", "cycles", "compute_cycles", "stall_cycles", "ideal_cycles",
          "stream_beats", "dram_read_bytes", "dram_write_bytes", "ifmap_dram_read_bytes", "filter_dram_read_bytes",
          *TRAFFIC_COLUMNS)


@dataclass(frozen=True, eq=False)
class Simulation:
    """A simulated network: ``layers`` (one row per layer), ``totals``, and the array runs by layer name."""

    network: Network
    config: ArrayConfig
    batch: int
    model: str
    layers: pd.DataFrame
    totals: dict
    runs: dict[str, ArrayRun] = field(default_factory=dict)
    mismatches: tuple[str, ...] = ()


def _ratio(num: int, den: int) -> float:
    return num / den if den else 0.0


def _gemm_row(cfg: ArrayConfig, run: ArrayRun) -> dict:
    t = run.traffic
    return {
        "unit": "array", "macs": run.macs, "vector_ops": 0, "folds": run.folds, "cycles": run.cycles,
        "compute_cycles": run.compute_cycles, "stream_beats": run.stream_beats,
        "dram_read_bytes": run.dram_read_bytes, "dram_write_bytes": run.dram_write_bytes,
        "ifmap_dram_read_bytes": t["ifmap_dram_bytes"], "filter_dram_read_bytes": t["filter_dram_bytes"],
        **{c: t[c] for c in TRAFFIC_COLUMNS},
        "peak_dram_bytes_per_cycle": run.peak_dram_bytes_per_cycle,
    }


def _vector_row(cfg: ArrayConfig, node, batch: int) -> dict:
    v = vector_layer(cfg, node, batch)
    peak = _ratio(v["dram_read_bytes"] + v["dram_write_bytes"], v["cycles"])
    return {
        "unit": "vector" if v["vector_ops"] else "none", "macs": 0, "vector_ops": v["vector_ops"], "folds": 0,
        "cycles": v["cycles"], "compute_cycles": v["compute_cycles"], "stream_beats": 0,
        "dram_read_bytes": v["dram_read_bytes"], "dram_write_bytes": v["dram_write_bytes"],
        "ifmap_dram_read_bytes": 0, "filter_dram_read_bytes": 0,
        **dict.fromkeys(TRAFFIC_COLUMNS, 0), "peak_dram_bytes_per_cycle": peak,
    }


def _derive(row: dict, cfg: ArrayConfig) -> dict:
    """The columns computed from the counts: stalls, ideal, ratios, latency."""
    pes = cfg.pes
    row["stall_cycles"] = row["cycles"] - row["compute_cycles"]
    row["ideal_cycles"] = -(-row["macs"] // pes)
    row["utilization"] = _ratio(row["macs"], pes * row["cycles"])
    row["compute_utilization"] = _ratio(row["macs"], pes * row["compute_cycles"])
    row["mapping_efficiency"] = _ratio(row["macs"], pes * row["stream_beats"])
    row["avg_dram_bytes_per_cycle"] = _ratio(row["dram_read_bytes"] + row["dram_write_bytes"], row["cycles"])
    row["latency_ms"] = row["cycles"] / (cfg.clock_mhz * 1e3)
    return row


def _compare(name: str, run: ArrayRun, refs, acc_bits: int) -> list[str]:
    problems = []
    for g, (out, ref) in enumerate(zip(run.outputs, refs)):
        want = wrap(np.asarray(ref.acc, dtype=np.int64), acc_bits)
        if out.shape != want.shape:
            problems.append(f"{name} group {g}: array output {out.shape} but reference {want.shape}")
            continue
        bad = np.argwhere(out != want)
        if len(bad):
            i, j = bad[0]
            problems.append(f"{name} group {g}: {len(bad)} of {out.size} elements differ, first C[{i}, {j}] = "
                            f"{out[i, j]} (array) vs {want[i, j]} (reference)")
    return problems


def simulate(net: Network, cfg: ArrayConfig, batch: int = 1, model: str = "fast", numbers: bool = False,
             check: bool = False, seed: int = 0) -> Simulation:
    """Simulate ``net`` at ``batch`` on ``cfg`` with the ``fast`` or ``stepping`` model."""
    if isinstance(batch, bool) or not isinstance(batch, int) or batch <= 0:
        raise AccelsimError(f"batch: must be a positive integer, got {batch!r}")
    if model not in MODELS:
        raise AccelsimError(f"model: must be one of {', '.join(MODELS)}, got {model!r}")
    refs = reference_gemms(net, batch, seed) if (numbers or check) else {}
    rows, runs, mismatches = [], {}, []
    for node in net:
        layer = node.layer
        shape = gemm_shape(node, batch)
        row = {"name": layer.name, "type": layer.kind}
        if shape is None:
            row.update(gemm_m=0, gemm_k=0, gemm_n=0, gemm_groups=0, **_vector_row(cfg, node, batch))
        else:
            m, k, n, groups = shape
            ops = [(r.a, r.b) for r in refs[layer.name]] if layer.name in refs else None
            if model == "fast":
                run = fast_layer(cfg, m, k, n, groups, operands=ops)
            else:
                run = step_layer(cfg, ops or random_operands(cfg, m, k, n, groups, seed))
            runs[layer.name] = run
            row.update(gemm_m=m, gemm_k=k, gemm_n=n, gemm_groups=groups, **_gemm_row(cfg, run))
            if check:
                found = _compare(layer.name, run, refs[layer.name], cfg.acc_bits)
                mismatches += found
                row["check"] = "ok" if not found else f"{len(found)} bad"
        if check and "check" not in row:
            row["check"] = ""
        rows.append(_derive(row, cfg))
    df = pd.DataFrame(rows, columns=[*COLUMNS, *(["check"] if check else [])])
    df.attrs.update(model=net.name, batch=batch, engine=model)
    return Simulation(net, cfg, batch, model, df, totals(df, cfg, batch), runs, tuple(mismatches))


def totals(df: pd.DataFrame, cfg: ArrayConfig, batch: int = 1) -> dict:
    """Network totals: sums of the counts, ratios recomputed from them, throughput at ``clock_mhz``."""
    out = {"layers": len(df), **{c: int(df[c].sum()) for c in SUMMED}}
    out = _derive(out, cfg)
    out.pop("stream_beats")
    out["peak_dram_bytes_per_cycle"] = float(df["peak_dram_bytes_per_cycle"].max())
    seconds = out["cycles"] / (cfg.clock_mhz * 1e6)
    out["inferences_per_second"] = batch / seconds if seconds else 0.0
    out["effective_tops"] = 2 * out["macs"] / seconds / 1e12 if seconds else 0.0
    if "check" in df:
        out["check_mismatches"] = int((df["check"].str.endswith("bad")).sum())
    return out
