"""Evaluate design points: simulate a network on one ArrayConfig and reduce it to metrics.

This is the only place the sweep calls the array simulator (``accelsim.systolic.simulate``). Per
point it records (names and units in ``accelsim.columns``): cycles (compute + stall) and ideal
cycles (conv and linear layers on the array, the rest on the vector unit), latency at the clock,
inferences per second, effective TOPS (2 x MACs / latency), utilization (MACs / (PEs x cycles)),
DRAM and SRAM traffic, energy by level (``accelsim.energy``) and the PE count as an area proxy;
per layer every column of ``simulate().layers`` (same names, same order) and its energy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from accelsim.columns import POINT_METRICS, SIMULATE_LAYERS
from accelsim.energy import ENERGY_COLUMNS, EnergyTable
from accelsim.energy.model import energy_arrays
from accelsim.hardware.config import ArrayConfig
from accelsim.systolic.simulate import simulate
from accelsim.workload.network import Network

# The store's columns (``accelsim.columns``): a point's metrics, and per layer the simulation's own
# columns (same names, same order as ``simulate().layers``) followed by the layer's energy.
LAYER_METRICS = ("layer_index", *SIMULATE_LAYERS, *ENERGY_COLUMNS)
# the text columns of LAYER_METRICS (the store types them TEXT)
TEXT_COLUMNS = ("layer", "type", "unit", "input_from", "output_to")


@dataclass(frozen=True)
class Job:
    """One task's worth of points, all of one network (so a task ships one network)."""

    network_id: str
    network: Network
    engine: str
    energy: EnergyTable
    points: tuple[tuple[str, int, dict], ...]  # (key, batch, ArrayConfig fields)


def evaluate(net: Network, cfg: ArrayConfig, batch: int, energy: EnergyTable, engine: str = "fast"):
    """(point metrics dict, per-layer column arrays in LAYER_METRICS order) of ``net`` on ``cfg``."""
    sim = simulate(net, cfg, batch=batch, engine=engine)
    df = sim.layers
    n = len(df)
    lay: dict = {c: df[c].tolist() for c in TEXT_COLUMNS}
    lay.update({c: df[c].to_numpy() for c in SIMULATE_LAYERS if c not in TEXT_COLUMNS})
    lay["layer_index"] = np.arange(n)
    on_array = lay["macs"] > 0
    lay.update(energy_arrays(lay, n, cfg, energy))

    t = sim.totals
    latency_s = t["cycles"] / (cfg.clock_mhz * 1e6)
    elem = {"ifmap": cfg.data_bytes, "filter": cfg.data_bytes, "ofmap": cfg.acc_bytes}
    point = {
        "pe_count": cfg.pes,
        "macs": t["macs"],
        "vector_ops": t["vector_ops"],
        "folds": t["folds"],
        "cycles": t["cycles"],
        "compute_cycles": t["compute_cycles"],
        "stall_cycles": t["stall_cycles"],
        "ideal_cycles": t["ideal_cycles"],
        "vector_cycles": int(lay["cycles"][~on_array].sum()),
        "utilization": t["utilization"],
        "latency_ms": latency_s * 1e3,
        "inferences_per_second": batch / latency_s if latency_s else 0.0,
        "effective_tops": 2 * t["macs"] / latency_s / 1e12 if latency_s else 0.0,
        "peak_tops": 2 * cfg.pes * cfg.clock_mhz * 1e6 / 1e12,
        "dram_read_bytes": t["dram_read_bytes"],
        "dram_write_bytes": t["dram_write_bytes"],
        "dram_bytes": t["dram_read_bytes"] + t["dram_write_bytes"],
        "sram_read_bytes": sum(t[f"{b}_sram_reads"] * e for b, e in elem.items()),
        "sram_write_bytes": sum(t[f"{b}_sram_writes"] * e for b, e in elem.items()),
        "peak_dram_bytes_per_cycle": t["peak_dram_bytes_per_cycle"],
        **{c: float(lay[c].sum()) for c in ENERGY_COLUMNS},
    }
    point["energy_per_inference_uJ"] = point["total_pJ"] / 1e6 / batch
    return {k: _py(point[k]) for k in POINT_METRICS}, {k: lay[k] for k in LAYER_METRICS}


def run_job(job: Job) -> list[dict]:
    """Evaluate every point of ``job``; a failing point becomes an error record, the rest go on."""
    out = []
    for key, batch, fields_ in job.points:
        rec: dict[str, Any] = {"key": key, "status": "ok", "error": None, "metrics": None, "layers": None}
        try:
            cfg = ArrayConfig(**fields_)
            metrics, layers = evaluate(job.network, cfg, batch, job.energy, job.engine)
            rec["metrics"] = metrics
            rec["layers"] = list(zip(*(_pylist(layers[c]) for c in LAYER_METRICS), strict=True))
        except Exception as e:  # noqa: BLE001 - a point's failure is data, recorded with its reason
            rec.update(status="error", error=f"{type(e).__name__}: {e}")
        out.append(rec)
    return out


def _py(v):
    if isinstance(v, np.generic):
        v = v.item()
    return None if isinstance(v, float) and math.isnan(v) else v


def _pylist(values) -> list:
    """Plain Python values for SQLite: ints, floats (NaN -> None), strings."""
    if isinstance(values, list):
        return values
    values = np.asarray(values)
    if values.dtype.kind == "f":
        return [None if math.isnan(v) else v for v in values.tolist()]
    return values.tolist()
