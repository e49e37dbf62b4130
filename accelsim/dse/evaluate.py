"""Evaluate design points: simulate a network on one ArrayConfig and reduce it to metrics.

This is the only place the sweep calls the array simulator (``accelsim.systolic.simulate``). Per
point it records (units in the names): total/compute/stall/ideal cycles (conv and linear layers on
the array, the rest on the vector unit), latency at the clock, throughput, effective TOPS
(2 x MACs / latency), utilization (MACs / (PEs x cycles)), DRAM and SRAM traffic, energy by
level (``accelsim.energy``) and the PE count as an area proxy; per layer the same plus the GEMM
shape and the arithmetic intensity (MACs per DRAM byte, read + write).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from accelsim.energy import ENERGY_COLUMNS, EnergyTable
from accelsim.energy.model import energy_arrays
from accelsim.hardware.config import ArrayConfig
from accelsim.systolic.simulate import simulate
from accelsim.workload.network import Network

SRAM_COUNTS = ("ifmap_sram_reads", "ifmap_sram_writes", "filter_sram_reads", "filter_sram_writes",
               "ofmap_sram_reads", "ofmap_sram_writes")
POINT_METRICS = (
    "pe_count", "macs", "vector_ops", "folds", "total_cycles", "compute_cycles", "stall_cycles", "ideal_cycles",
    "vector_cycles", "utilization", "latency_ms", "throughput_inf_per_s", "effective_tops", "peak_tops",
    "dram_read_bytes", "dram_write_bytes", "dram_bytes", "sram_read_bytes",
    "sram_write_bytes", "peak_dram_bytes_per_cycle", *ENERGY_COLUMNS, "energy_per_inference_uJ",
)
# Copied per layer from the simulator's rows (its column ``name`` becomes ``layer``).
SIM_LAYER_COLUMNS = (
    "layer", "type", "unit", "gemm_m", "gemm_k", "gemm_n", "gemm_groups", "folds", "macs", "vector_ops", "cycles",
    "compute_cycles", "stall_cycles", "ideal_cycles", "utilization", "mapping_efficiency", "dram_read_bytes",
    "dram_write_bytes", "ifmap_dram_read_bytes", "filter_dram_read_bytes", *SRAM_COUNTS,
    "peak_dram_bytes_per_cycle",
)
_FLOAT_COLUMNS = ("utilization", "mapping_efficiency", "peak_dram_bytes_per_cycle")
_INT_COLUMNS = tuple(c for c in SIM_LAYER_COLUMNS if c not in ("layer", "type", "unit", *_FLOAT_COLUMNS))
LAYER_METRICS = ("layer_index", *SIM_LAYER_COLUMNS, "intensity_macs_per_dram_byte", "attained_macs_per_cycle",
                 *ENERGY_COLUMNS)


@dataclass(frozen=True)
class Job:
    """One task's worth of points, all of one network (so a task ships one network)."""

    network_id: str
    network: Network
    simulator: str
    energy: EnergyTable
    points: tuple[tuple[str, int, dict], ...]  # (key, batch, ArrayConfig fields)


def evaluate(net: Network, cfg: ArrayConfig, batch: int, energy: EnergyTable, simulator: str = "fast"):
    """(point metrics dict, per-layer column arrays in LAYER_METRICS order) of ``net`` on ``cfg``."""
    sim = simulate(net, cfg, batch=batch, model=simulator)
    df = sim.layers
    n = len(df)
    lay = {"layer": df["name"].tolist(), "type": df["type"].tolist(), "unit": df["unit"].tolist()}
    ints = df[list(_INT_COLUMNS)].to_numpy(dtype=np.int64)
    floats = df[list(_FLOAT_COLUMNS)].to_numpy(dtype=float)
    lay.update({c: ints[:, i] for i, c in enumerate(_INT_COLUMNS)})
    lay.update({c: floats[:, i] for i, c in enumerate(_FLOAT_COLUMNS)})
    lay["layer_index"] = np.arange(n)
    macs = lay["macs"].astype(float)
    dram = (lay["dram_read_bytes"] + lay["dram_write_bytes"]).astype(float)
    on_array = lay["macs"] > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        lay["intensity_macs_per_dram_byte"] = np.where(on_array & (dram > 0), macs / dram, np.nan)
        lay["attained_macs_per_cycle"] = np.where(on_array & (lay["cycles"] > 0), macs / lay["cycles"], np.nan)
    lay.update(energy_arrays(lay, n, cfg, energy))

    t = sim.totals
    latency_s = t["cycles"] / (cfg.clock_mhz * 1e6)
    elem = {"ifmap": cfg.data_bytes, "filter": cfg.data_bytes, "ofmap": cfg.acc_bytes}
    point = {
        "pe_count": cfg.pes,
        "macs": t["macs"],
        "vector_ops": t["vector_ops"],
        "folds": t["folds"],
        "total_cycles": t["cycles"],
        "compute_cycles": t["compute_cycles"],
        "stall_cycles": t["stall_cycles"],
        "ideal_cycles": t["ideal_cycles"],
        "vector_cycles": int(lay["cycles"][~on_array].sum()),
        "utilization": t["utilization"],
        "latency_ms": latency_s * 1e3,
        "throughput_inf_per_s": batch / latency_s if latency_s else 0.0,
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
        rec = {"key": key, "status": "ok", "error": None, "metrics": None, "layers": None}
        try:
            cfg = ArrayConfig(**fields_)
            metrics, layers = evaluate(job.network, cfg, batch, job.energy, job.simulator)
            rec["metrics"] = metrics
            rec["layers"] = list(zip(*(_pylist(layers[c]) for c in LAYER_METRICS)))
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
