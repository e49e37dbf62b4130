"""Evaluate design points: simulate a network on one ArrayConfig and reduce it to metrics.

This is the only place the sweep calls the array simulator (``accelsim.systolic.simulate``). Per
point it records (names and units in ``accelsim.columns``): cycles (compute + stall) and ideal
cycles (conv and linear layers on the array, the rest on the vector unit), latency at the clock,
inferences per second, effective TOPS (2 x MACs / latency), utilization (MACs / (PEs x cycles)),
DRAM and SRAM traffic, energy by level with leakage (``accelsim.energy``), energy per inference,
pJ/MAC, EDP, and the chip's area from synthesis (computed once per variant by the planner and
handed in with its static power); per layer every column of ``simulate().rows`` (same names, same
order) and its energy.

A point is a few milliseconds: it works on ``simulate``'s row dicts (no DataFrame) and hands back
plain Python tuples, ready for SQLite and cheap to send from a Dask worker.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from accelsim.columns import ENERGY, POINT_METRICS, SIMULATE_SEARCH, STORE_LAYERS
from accelsim.dse.spec import DEFAULT_MAPPER, DEFAULT_OBJECTIVE, NO_OBJECTIVE
from accelsim.energy.table import BASE_NODE_NM, EnergyTable, Technology
from accelsim.hardware.config import ArrayConfig
from accelsim.systolic.fast import memoized
from accelsim.systolic.simulate import simulate
from accelsim.workload.network import Network

# The store's per-layer columns (``accelsim.columns.STORE_LAYERS`` without the point's key): the
# position, the simulation's own columns (same names, same order as ``simulate().rows``), the energy.
LAYER_METRICS = STORE_LAYERS[1:]
# the text columns of LAYER_METRICS (the store types them TEXT)
TEXT_COLUMNS = ("layer", "type", "unit", "input_from", "output_to", "mapping")
_ROW_COLUMNS = LAYER_METRICS[1:]  # simulate's row keys
# the point metrics that are simulate's totals under the same name
_TOTALS = ("macs", "vector_ops", "folds", "cycles", "compute_cycles", "stall_cycles", "ideal_cycles", "utilization",
           "latency_ms", "inferences_per_second", "effective_tops", "dram_read_bytes", "dram_write_bytes",
           "peak_dram_bytes_per_cycle", *ENERGY, "energy_per_inference_uJ", "edp_uJ_ms", "pJ_per_mac")


@dataclass(frozen=True)
class PointSpec:
    """One point to evaluate: its key, batch, ArrayConfig fields, mapping search, and the chip's area and
    static power (from ``accelsim.synth.area``, once per variant; ``cost_error`` says why they are missing)."""

    key: str
    batch: int
    config: dict
    mapper: str = DEFAULT_MAPPER
    objective: str = NO_OBJECTIVE
    tech_node_nm: int = BASE_NODE_NM
    area_mm2: float | None = None
    leakage_mW: float = 0.0
    cost_error: str | None = None


@dataclass(frozen=True)
class Job:
    """One task's worth of points, all of one network (so a task ships one network); ``energy`` is the
    sweep's table (45 nm figures, scaled to each point's ``tech_node_nm``)."""

    network_id: str
    network: Network
    engine: str
    energy: EnergyTable
    points: tuple[PointSpec, ...]


def evaluate(net: Network, cfg: ArrayConfig, batch: int, energy: EnergyTable, engine: str = "fast", *,
             mapper: str = DEFAULT_MAPPER, objective: str = NO_OBJECTIVE, area_mm2: float | None = None,
             leakage_mW: float = 0.0) -> tuple[dict[str, Any], list[tuple]]:
    """(point metrics by ``POINT_METRICS`` name, per-layer rows as tuples in ``LAYER_METRICS`` order) of
    ``net`` on ``cfg`` with ``mapper`` (``search``: by ``objective``); ``leakage_mW`` is the chip's static
    power and ``area_mm2`` its area (both from synthesis). Energy, EDP and pJ/MAC are simulate's."""
    sim = simulate(net, cfg, batch=batch, engine=engine, mapper=mapper, objective=objective or DEFAULT_OBJECTIVE,
                   energy=energy, leakage_mW=leakage_mW)
    rows = sim.rows
    layers = [(i, *map(r.get, _ROW_COLUMNS)) for i, r in enumerate(rows)]  # fixed_*: None unless search
    t = sim.totals
    elem = {"ifmap": cfg.data_bytes, "filter": cfg.data_bytes, "ofmap": cfg.acc_bytes}
    point: dict[str, Any] = {
        "pe_count": cfg.pes,
        "area_mm2": area_mm2,
        **{c: t[c] for c in _TOTALS},
        "vector_cycles": sum(r["cycles"] for r in rows if not r["macs"]),
        "peak_tops": 2 * cfg.pes * cfg.clock_mhz * 1e6 / 1e12,
        "dram_bytes": t["dram_read_bytes"] + t["dram_write_bytes"],
        "sram_read_bytes": sum(t[f"{b}_sram_reads"] * e for b, e in elem.items()),
        "sram_write_bytes": sum(t[f"{b}_sram_writes"] * e for b, e in elem.items()),
        **{c: t.get(c) for c in SIMULATE_SEARCH},  # the fixed mapping's totals, with mapper search
    }
    return {k: _sql(point[k]) for k in POINT_METRICS}, layers


def run_job(job: Job) -> list[dict]:
    """Evaluate every point of ``job``; a failing point becomes an error record, the rest go on."""
    out = []
    with memoized():  # points repeat layers: a layer on a config that differs only in clock, on_chip or
        for p in job.points:  # bandwidth reuses what the fast model computed (systolic.fast.memoized)
            out.append(_run_point(job, p))
    return out


def _run_point(job: Job, p: PointSpec) -> dict:
    rec: dict[str, Any] = {"key": p.key, "status": "ok", "error": None, "metrics": None, "layers": None}
    if p.cost_error:
        return {**rec, "status": "error", "error": p.cost_error}
    try:
        cfg = ArrayConfig(**p.config)
        energy = job.energy if p.tech_node_nm == BASE_NODE_NM else Technology(p.tech_node_nm).energy_table(job.energy)
        rec["metrics"], rec["layers"] = evaluate(job.network, cfg, p.batch, energy, job.engine, mapper=p.mapper,
                                                 objective=p.objective, area_mm2=p.area_mm2, leakage_mW=p.leakage_mW)
    except Exception as e:  # noqa: BLE001 - a point's failure is data, recorded with its reason
        rec.update(status="error", error=f"{type(e).__name__}: {e}")
    return rec


def _sql(v):
    """NaN as None (SQLite stores NaN as NULL anyway; the metrics dict says so too)."""
    return None if isinstance(v, float) and v != v else v
