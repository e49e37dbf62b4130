"""A whole network on the array: one row per layer, network totals, optional bit-exact check.

GEMM layers (conv, linear, matmul; shapes from ``accelsim.workload.profile.gemm_shape``) run on the
array with the fast or the stepping model; the rest on the vector unit (``vector``). Layers run
one after another in the network's topological order (a graph's branches do not overlap), each
from an idle array and empty buffers. Per-layer columns (units in the
names; counts are elements, ``*_bytes`` bytes; names and units in ``accelsim.columns``; the
first column is ``layer``):

- ``cycles`` = ``compute_cycles`` (sum of fold cycles) + ``stall_cycles`` (waiting for DRAM);
  ``ideal_cycles`` = ceil(MACs / PEs); ``latency_ms`` = cycles at ``clock_mhz``;
- ``utilization`` = MACs / (PEs x cycles); ``compute_utilization`` = MACs / (PEs x
  compute_cycles); ``mapping_efficiency`` = MACs / (PEs x streaming beats), the used-PE fraction
  of the folds' streaming beats (all three 0 for vector-unit layers);
- ``dram_read_bytes`` (= ifmap + filter), ``dram_write_bytes``, the SRAM
  ``*_sram_reads``/``*_sram_writes`` per buffer (see ``accelsim.memory.traffic``); partial sums
  never leave the chip (WS/IS folds are chunked to fit the ofmap SRAM, OS accumulates in the PEs);
- ``avg_dram_bytes_per_cycle`` = DRAM bytes / cycles, ``peak_dram_bytes_per_cycle`` = the largest
  fold's (read + write bytes) / fold cycles, the bandwidth that would hide every fold's transfers;
- ``intensity_macs_per_dram_byte`` = MACs / DRAM bytes and ``attained_macs_per_cycle`` = MACs /
  cycles, the layer's roofline coordinates (NaN for vector-unit layers);
- ``input_from`` / ``output_to``: where the layer's inputs come from and its output goes
  (``dram``, ``sram``, ``fused``; ``memory.onchip.place``, docs/microarchitecture.md "Layers that
  stay on chip"): with ``cfg.on_chip`` a tensor that fits stays in the ifmap SRAM and the layers the
  output stage computes are fused (``unit`` ``fused``, no cycles, no traffic).

Every row also gives the layer's ``mapping`` (``Mapping.describe`` with the chunk S its folds use;
empty off the array) and its energy (``accelsim.columns.ENERGY``: ``energy.model.energy_arrays`` of the
counts above at the ``energy`` table, leakage at ``leakage_mW`` over the layer's time). ``mapper``
``fixed`` runs every array layer under the config's fixed mapping; ``search`` picks each layer's
mapping by ``objective`` with the fast model (``systolic.mapper``) and runs it with the chosen engine,
and the rows add the fixed mapping's ``fixed_cycles``, ``fixed_dram_bytes`` and ``fixed_total_pJ``
(a vector-unit layer's own). ``mappings`` forces a layer's mapping (by layer name) under either mapper.
Totals add the energy sums, ``energy_per_inference_uJ``, ``edp_uJ_ms`` and ``pJ_per_mac``.

``numbers=True`` feeds the array the int8 operands of ``accelsim.lowering``'s forward pass
(``reference``) and keeps its outputs; on a config with the output stage (``cfg.output_stage``:
32-bit accumulators, int8 outputs) each group's outputs also pass the layer's output stage (bias,
integer requantization, fused activation, ``accelsim.lowering.requant``). ``check=True`` compares
the accumulators bit for bit with the reference's (wrapped to ACC_W) and the int8 outputs after the
stage with the int8 forward pass's. The stepping model always computes numbers: without
``numbers`` it runs on seeded random operands.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from accelsim.columns import ENERGY, SIMULATE_LAYERS, SIMULATE_MAPPING, SIMULATE_SEARCH, SRAM_COUNTS
from accelsim.energy.model import energy_arrays
from accelsim.energy.table import DEFAULT_TABLE, EnergyTable
from accelsim.errors import AccelsimError
from accelsim.hardware.arith import wrap
from accelsim.hardware.config import ENGINES, MAPPERS, OBJECTIVES, ArrayConfig, check_batch
from accelsim.mapping.folds import runs_for, used_chunk
from accelsim.mapping.space import Mapping as LayerMapping
from accelsim.memory.onchip import LayerPlace, Placement, place
from accelsim.progress import ProgressCallback, ProgressFactory, no_progress
from accelsim.systolic.fast import fast_layer
from accelsim.systolic.mapper import LayerKey, LayerSearch, LayerTask, Priced, run_counts, search
from accelsim.systolic.reference import reference_gemms
from accelsim.systolic.result import ArrayRun
from accelsim.systolic.stepping import random_operands, step_layer
from accelsim.systolic.vector import vector_layer
from accelsim.workload.gemm import gemm_shape
from accelsim.workload.network import Network

if TYPE_CHECKING:
    import pandas as pd

# The fast model's timing works on runs of folds (``mapping.FoldRuns``): memory independent of the
# fold count, no limit. Per-fold int64 arrays exist only where per-fold results are made: the
# stepping model, and the fast model's output cycles when numbers are asked for (~190 bytes a fold
# at the peak, measured with tracemalloc; a finished layer keeps 16, its fold cycles and starts).
# For those, every layer's peak plus what the finished layers keep is checked against
# MEMORY_BUDGET_BYTES before any work, so an impossible run is refused in milliseconds.
BYTES_PER_FOLD = 256
KEPT_BYTES_PER_FOLD = 16
MEMORY_BUDGET_BYTES = 1 << 30
MAX_FOLDS = MEMORY_BUDGET_BYTES // BYTES_PER_FOLD  # a layer alone: ~4.2 million folds
# The stepping model costs ~16-20 us a cycle in Python plus numpy work on every PE: its estimated
# compute cycles x PEs above this (a few minutes) is refused with a pointer to the fast engine.
MAX_STEPPING_PE_CYCLES = 1 << 31
MAX_CYCLES = 1 << 62  # int64 headroom for the models' per-fold and cumulative cycle arithmetic
TRAFFIC_COLUMNS = SRAM_COUNTS
COLUMNS = SIMULATE_LAYERS  # the per-layer columns, in order (``accelsim.columns``)
SUMMED = ("macs", "vector_ops", "folds", "cycles", "compute_cycles", "stall_cycles", "ideal_cycles",
          "stream_beats", "dram_read_bytes", "dram_write_bytes", "ifmap_dram_read_bytes", "filter_dram_read_bytes",
          *TRAFFIC_COLUMNS)


@dataclass(frozen=True, eq=False)
class Simulation:
    """A simulated network: ``rows`` (one dict per layer, keys ``columns``), ``totals``, the array runs by
    layer name, ``mappings`` (array layer name -> the ``Mapping`` it ran: what cosim runs), the ``mapper``
    and ``objective`` that chose them, and ``layers``, the rows as a DataFrame (built on first use: pandas
    stays out of the CLI)."""

    network: Network
    config: ArrayConfig
    batch: int
    engine: str
    rows: tuple[dict[str, Any], ...]
    columns: tuple[str, ...]
    totals: dict
    runs: dict[str, ArrayRun] = field(default_factory=dict)
    mismatches: tuple[str, ...] = ()
    mappings: dict[str, LayerMapping] = field(default_factory=dict)  # array layer -> the mapping it ran
    mapper: str = "fixed"
    objective: str = "edp"

    @cached_property
    def layers(self) -> pd.DataFrame:
        import pandas as pd

        df = pd.DataFrame(list(self.rows), columns=list(self.columns))
        df.attrs.update(network=self.network.name, batch=self.batch, engine=self.engine)
        return df


def _ratio(num: int, den: int) -> float:
    return num / den if den else 0.0


def _gemm_row(cfg: ArrayConfig, run: ArrayRun) -> dict:
    t = run.traffic
    return {
        "unit": "array", **run_counts(run), "vector_ops": 0, "folds": run.folds,
        "compute_cycles": run.compute_cycles, "stream_beats": run.stream_beats,
        "ifmap_dram_read_bytes": t["ifmap_dram_bytes"], "filter_dram_read_bytes": t["filter_dram_bytes"],
        "peak_dram_bytes_per_cycle": run.peak_dram_bytes_per_cycle,
    }


def _vector_row(cfg: ArrayConfig, node, batch: int, where: LayerPlace) -> dict:
    if where.fused:
        v = dict.fromkeys(("vector_ops", "cycles", "compute_cycles", "dram_read_bytes", "dram_write_bytes",
                           "ifmap_sram_reads", "ifmap_sram_writes"), 0)
        unit = "fused"
    else:
        v = vector_layer(cfg, node, batch, [w == "sram" for w in where.inputs], where.output_on_chip)
        unit = "vector" if v["vector_ops"] or v["cycles"] else "none"
    peak = _ratio(v["dram_read_bytes"] + v["dram_write_bytes"], v["cycles"])
    return {
        "unit": unit, "macs": 0,
        "vector_ops": v["vector_ops"], "folds": 0,
        "cycles": v["cycles"], "compute_cycles": v["compute_cycles"], "stream_beats": 0,
        "dram_read_bytes": v["dram_read_bytes"], "dram_write_bytes": v["dram_write_bytes"],
        "ifmap_dram_read_bytes": 0, "filter_dram_read_bytes": 0,
        **dict.fromkeys(TRAFFIC_COLUMNS, 0), "ifmap_sram_reads": v["ifmap_sram_reads"],
        "ifmap_sram_writes": v["ifmap_sram_writes"], "peak_dram_bytes_per_cycle": peak,
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


def _intensity(row: dict) -> dict:
    """Roofline coordinates of a layer on the array (NaN off the array: no MACs)."""
    dram = row["dram_read_bytes"] + row["dram_write_bytes"]
    on_array = row["macs"] > 0
    row["intensity_macs_per_dram_byte"] = row["macs"] / dram if on_array and dram else float("nan")
    row["attained_macs_per_cycle"] = row["macs"] / row["cycles"] if on_array and row["cycles"] else float("nan")
    return row


def _compare(name: str, run: ArrayRun, refs, acc_bits: int) -> list[str]:
    if run.outputs is None:
        return [f"{name}: the run kept no outputs to check"]
    problems = []
    for g, (out, ref) in enumerate(zip(run.outputs, refs, strict=True)):
        want = wrap(np.asarray(ref.acc, dtype=np.int64), acc_bits)
        if out.shape != want.shape:
            problems.append(f"{name} group {g}: array output {out.shape} but reference {want.shape}")
            continue
        bad = np.argwhere(out != want)
        if len(bad):
            i, j = bad[0]
            problems.append(f"{name} group {g}: {len(bad)} of {out.size} elements differ, first C[{i}, {j}] = "
                            f"{out[i, j]} (array) vs {want[i, j]} (reference)")
    for g, (q, ref) in enumerate(zip(run.stage_outputs, refs, strict=True) if run.stage_outputs else ()):
        bad = np.argwhere(q != ref.out)
        if len(bad):
            i, j = bad[0]
            problems.append(f"{name} group {g}: {len(bad)} of {q.size} int8 outputs differ after the output stage, "
                            f"first Q[{i}, {j}] = {q[i, j]} (array) vs {ref.out[i, j]} (reference)")
    return problems


def fold_count(cfg: ArrayConfig, m: int, k: int, n: int, groups: int = 1, mapping: LayerMapping | None = None) -> int:
    """Folds of ``groups`` (m, k, n) GEMMs on ``cfg`` under ``mapping`` (default the config's fixed one)
    (= ``len(mapping.folds_for(...)) * groups``), in O(1)."""
    return runs_for(cfg, m, k, n, mapping).count * groups


def cycle_bound(cfg: ArrayConfig, m: int, k: int, n: int, groups: int = 1, mapping: LayerMapping | None = None) -> int:
    """An upper bound (exact integers) on what the models compute in int64 for this layer: the larger
    of a fold's bytes x the bandwidth's denominator (the transfer-length product) and the layer's
    cycles (every fold's compute, load and write lengths summed)."""
    mp = mapping or LayerMapping.fixed(cfg.dataflow)
    df = mp.flow
    beats = used_chunk(cfg, mp, m, k, n)  # the longest fold's S_f
    r, c = cfg.rows, cfg.cols
    nbytes = (beats * r + r * c + beats * c) * cfg.data_bytes + (beats * c + r * c) * cfg.out_bytes
    bw = cfg.bandwidth_fraction
    product = nbytes * bw.denominator
    fold = int(df.fold_cycles(r, c, beats)) + -(-product // bw.numerator) + 2
    return max(product, fold_count(cfg, m, k, n, groups, mp) * fold)


def compute_cycles_estimate(cfg: ArrayConfig, m: int, k: int, n: int, groups: int = 1,
                            mapping: LayerMapping | None = None) -> int:
    """The layer's compute cycles without stalls (every fold's ``Dataflow.fold_cycles``), in O(1)."""
    return runs_for(cfg, m, k, n, mapping).cycles * groups


def check_size(net: Network, cfg: ArrayConfig, batch: int, engine: str = "fast", numbers: bool = False,
               mappings: Mapping[str, LayerMapping] | None = None) -> None:
    """Refuse, before any work, a network whose cycle counts could overflow int64, whose per-fold arrays
    (the stepping engine, or ``numbers``: output cycles) would not fit in memory, or (stepping) that
    would step for more than a few minutes. The fast engine's timing alone has no fold limit.
    ``mappings``: the layers' mappings by name (default: the config's fixed mapping)."""
    kept, pe_cycles = 0, 0
    per_fold = engine == "stepping" or numbers
    chosen = mappings or {}
    for node in net:
        shape = gemm_shape(node, batch)
        if shape is None:
            continue
        name = node.layer.name
        mp = chosen.get(name)
        folds = fold_count(cfg, *shape, mapping=mp)
        need = folds * BYTES_PER_FOLD + kept
        if per_fold and need > MEMORY_BUDGET_BYTES:
            hint = "use a larger array or a smaller layer" + ("" if engine == "stepping" else
                                                              ", or time it without numbers (no fold arrays)")
            raise _too_big(name, cfg, *shape, f"which needs ~{need / 2 ** 30:.1f} GiB of fold arrays for its "
                                              f"{'steps' if engine == 'stepping' else 'output cycles'} (budget "
                                              f"{MEMORY_BUDGET_BYTES / 2 ** 30:g} GiB)", hint, mp)
        kept += folds * KEPT_BYTES_PER_FOLD
        if cycle_bound(cfg, *shape, mapping=mp) >= MAX_CYCLES:
            raise _too_big(name, cfg, *shape, "whose cycle count could overflow 64-bit integers",
                           "use a smaller batch or SRAM, or a higher bandwidth", mp)
        if engine == "stepping":
            pe_cycles += compute_cycles_estimate(cfg, *shape, mapping=mp) * cfg.pes
            if pe_cycles > MAX_STEPPING_PE_CYCLES:
                raise AccelsimError(
                    f"layer '{name}': the stepping engine would step ~{pe_cycles / cfg.pes:,.0f} cycles x "
                    f"{cfg.pes} PEs up to here (limit {MAX_STEPPING_PE_CYCLES:,} PE-cycles, minutes of work): "
                    f"use the fast engine (same cycle counts, closed form) or a smaller network")


def _too_big(name: str, cfg: ArrayConfig, m: int, k: int, n: int, groups: int, why: str = "",
             hint: str = "use a larger array or a smaller layer", mapping: LayerMapping | None = None) -> AccelsimError:
    mp = mapping or LayerMapping.fixed(cfg.dataflow)
    g = f"{groups}x({m}x{k}x{n})" if groups > 1 else f"{m}x{k}x{n}"
    why = why or f"more than the simulator holds in memory (limit {MAX_FOLDS:,})"
    return AccelsimError(f"layer '{name}': GEMM {g} needs {fold_count(cfg, m, k, n, groups, mp):,} folds on a "
                         f"{cfg.rows}x{cfg.cols} array under {mp.describe(used_chunk(cfg, mp, m, k, n))}, {why}: "
                         f"{hint}")


@dataclass(frozen=True, eq=False)
class _Plan:
    """Before any layer runs: every array layer's mapping (by name), the mapper's prices (chosen, fixed)
    with ``search``, and the vector-unit rows (their counts do not depend on the mappings)."""

    placement: Placement
    mappings: dict[str, LayerMapping]
    priced: dict[str, tuple[Priced, Priced]]
    vector: dict[str, dict]


def _check_options(engine: str, mapper: str, objective: str, energy: EnergyTable, leakage_mW: float) -> None:
    if engine not in ENGINES:
        raise AccelsimError(f"engine: must be one of {', '.join(ENGINES)}, got {engine!r}")
    if mapper not in MAPPERS:
        raise AccelsimError(f"mapper: must be one of {', '.join(MAPPERS)}, got {mapper!r}")
    if objective not in OBJECTIVES:
        raise AccelsimError(f"objective: must be one of {', '.join(OBJECTIVES)}, got {objective!r}")
    if not isinstance(energy, EnergyTable):
        raise AccelsimError(f"energy: expected an EnergyTable, got {type(energy).__name__}")
    if isinstance(leakage_mW, bool) or not isinstance(leakage_mW, (int, float)) or not 0 <= leakage_mW < float("inf"):
        raise AccelsimError(f"leakage_mW: expected a finite number >= 0, got {leakage_mW!r}")


def _plan(net: Network, cfg: ArrayConfig, batch: int, placement: Placement, mapper: str, objective: str,
          energy: EnergyTable, leakage_mW: float, mappings: Mapping[str, LayerMapping] | None) -> _Plan:
    forced = dict(mappings or {})
    vector, tasks = {}, []
    for node in net:
        name, shape = node.layer.name, gemm_shape(node, batch)
        where = placement[name]
        if shape is None:
            if name in forced:
                raise AccelsimError(f"mappings: layer '{name}' runs on the vector unit, not the array: no mapping")
            vector[name] = _vector_row(cfg, node, batch, where)
            continue
        mp = forced.pop(name, None)
        if mp is not None and not isinstance(mp, LayerMapping):
            raise AccelsimError(f"mappings: layer '{name}': expected a Mapping, got {type(mp).__name__}")
        key = LayerKey(shape.m, shape.k, shape.n, shape.count, where.ifmap_on_chip, where.output_on_chip)
        tasks.append(LayerTask(name, key, mp))
    if forced:
        raise AccelsimError(f"mappings: no layer named {', '.join(repr(n) for n in forced)} in '{net.name}'")
    for t in tasks:
        if t.forced is not None:  # a chunk the config cannot hold is refused here, naming mapping.chunk
            runs_for(cfg, t.key.m, t.key.k, t.key.n, t.forced)
    chosen = {t.name: t.forced or LayerMapping.fixed(cfg.dataflow) for t in tasks}
    priced: dict[str, tuple[Priced, Priced]] = {}
    if mapper == "search":
        rows = list(vector.values())
        base = energy_arrays(_columns(rows), len(rows), cfg, energy, leakage_mW)["total_pJ"]
        searches: dict[LayerKey, LayerSearch] = {}
        priced = search(cfg, tasks, objective, energy, leakage_mW, float(base.sum()),
                        sum(r["cycles"] for r in rows), searches)
        chosen = {name: p[0].mapping for name, p in priced.items()}
    return _Plan(placement, chosen, priced, vector)


def _columns(rows: Sequence[Mapping[str, Any]]) -> dict[str, list]:
    """Row dicts as column lists (the energy model's input)."""
    names = rows[0].keys() if rows else ()
    return {c: [r[c] for r in rows] for c in names}


def simulate(net: Network, cfg: ArrayConfig, batch: int = 1, engine: str = "fast", numbers: bool = False,
             check: bool = False, seed: int = 0, progress: ProgressFactory | None = None, *, mapper: str = "fixed",
             objective: str = "edp", energy: EnergyTable = DEFAULT_TABLE, leakage_mW: float = 0.0,
             mappings: Mapping[str, LayerMapping] | None = None) -> Simulation:
    """Simulate ``net`` at ``batch`` on ``cfg`` with the ``fast`` or ``stepping`` engine.

    ``mapper`` ``fixed`` or ``search`` (by ``objective``: ``cycles``, ``energy``, ``edp``), ``mappings``
    (layer name -> ``Mapping``) forced layers; ``energy`` and ``leakage_mW`` price the rows' energy (module
    docstring). ``progress`` shows the phases: the reference pass (``numbers``/``check``), then the array,
    fold by fold with the stepping model, layer by layer with the fast one.
    """
    check_batch(batch)
    _check_options(engine, mapper, objective, energy, leakage_mW)
    # before any work (the reference pass is the biggest)
    check_size(net, cfg, batch, engine, numbers or check, mappings)
    plan = _plan(net, cfg, batch, place(net, cfg, batch), mapper, objective, energy, float(leakage_mW), mappings)
    if mapper == "search":
        check_size(net, cfg, batch, engine, numbers or check, plan.mappings)
    track = progress or no_progress
    try:
        refs = reference_gemms(net, batch, seed, progress=progress) if (numbers or check) else {}
    except MemoryError:
        raise AccelsimError(f"check: the int8 reference pass of '{net.name}' at batch {batch} does not fit in "
                            f"memory") from None
    label, total = _phase(net, cfg, batch, engine, check, plan.mappings)
    with track(label, total) as advance:
        sim = _simulate(net, cfg, batch, engine, check, seed, refs, advance, total, plan, energy, float(leakage_mW))
    return replace(sim, mapper=mapper, objective=objective)


def _phase(net: Network, cfg: ArrayConfig, batch: int, engine: str, check: bool,
           mappings: Mapping[str, LayerMapping]) -> tuple[str, int]:
    """The array phase's label and total: folds for the stepping engine, layers for the fast one."""
    what = f"{engine} engine" + (" and check" if check else "")
    if engine == "stepping":
        folds = sum(fold_count(cfg, *shape, mapping=mappings.get(node.layer.name)) for node in net
                    if (shape := gemm_shape(node, batch)) is not None)
        return f"{what} (folds)", folds
    return f"{what} (layers)", len(net.nodes)


def _simulate(net: Network, cfg: ArrayConfig, batch: int, engine: str, check: bool, seed: int, refs,
              advance: ProgressCallback, total: int, plan: _Plan, energy: EnergyTable,
              leakage_mW: float) -> Simulation:
    rows, runs, mismatches = [], {}, []
    done = 0
    placement = plan.placement
    for node in net:
        layer = node.layer
        shape = gemm_shape(node, batch)
        where = placement[layer.name]
        row = {"layer": layer.name, "type": layer.kind}
        if shape is None:
            row.update(gemm_m=0, gemm_k=0, gemm_n=0, gemm_groups=0, **plan.vector[layer.name], mapping="")
        else:
            m, k, n, groups = shape
            mp = plan.mappings[layer.name]
            ops = [(r.a, r.b) for r in refs[layer.name]] if layer.name in refs else None
            stages = [r.stage for r in refs[layer.name]] if ops is not None and cfg.output_stage else None
            priced = plan.priced.get(layer.name)
            try:
                if engine == "fast" and ops is None and priced is not None:
                    run = priced[0].run  # the mapper's own fast-model run of this mapping
                elif engine == "fast":
                    run = fast_layer(cfg, m, k, n, groups, mapping=mp, operands=ops, stages=stages,
                                     ifmap_on_chip=where.ifmap_on_chip, output_on_chip=where.output_on_chip)
                else:
                    def layer_progress(d: int, t: int, base: int = done) -> None:  # base: earlier layers' folds
                        advance(base + d, total)

                    run = step_layer(cfg, ops or random_operands(cfg, m, k, n, groups, seed), mapping=mp,
                                     stages=stages, ifmap_on_chip=where.ifmap_on_chip,
                                     output_on_chip=where.output_on_chip, progress=layer_progress)
                    done += run.folds
            except MemoryError:
                raise _too_big(layer.name, cfg, m, k, n, groups, "and ran out of memory", mapping=mp) from None
            runs[layer.name] = run
            row.update(gemm_m=m, gemm_k=k, gemm_n=n, gemm_groups=groups, **_gemm_row(cfg, run),
                       mapping=mp.describe(used_chunk(cfg, mp, m, k, n)))
            if check:
                found = _compare(layer.name, run, refs[layer.name], cfg.acc_bits)
                mismatches += found
                row["check"] = "ok" if not found else f"{len(found)} bad"
        if check and "check" not in row:
            row["check"] = ""
        row["input_from"], row["output_to"] = where.input_from, where.output
        rows.append(_intensity(_derive(row, cfg)))
        if engine == "fast":
            advance(len(rows), len(net.nodes))
    _add_energy(rows, cfg, energy, leakage_mW)
    if plan.priced:
        _add_fixed(rows, plan.priced)
    columns = (*COLUMNS, *SIMULATE_MAPPING, *(SIMULATE_SEARCH if plan.priced else ()), *(["check"] if check else []))
    table = tuple({c: row[c] for c in columns} for row in rows)
    return Simulation(net, cfg, batch, engine, table, columns, totals(table, cfg, batch), runs, tuple(mismatches),
                      mappings=dict(plan.mappings))


def _add_energy(rows: list[dict], cfg: ArrayConfig, energy: EnergyTable, leakage_mW: float) -> None:
    """Each row's ``ENERGY`` columns (pJ, floats), from its counts."""
    e = energy_arrays(_columns(rows), len(rows), cfg, energy, leakage_mW)
    for c in ENERGY:
        for row, v in zip(rows, e[c].tolist(), strict=True):
            row[c] = v


def _add_fixed(rows: list[dict], priced: Mapping[str, tuple[Priced, Priced]]) -> None:
    """``--mapper search``: the fixed mapping's cycles, DRAM bytes and energy of each layer (a vector-unit
    layer's own: it has no mapping)."""
    for row in rows:
        got = priced.get(row["layer"])
        if got is None:
            row.update(fixed_cycles=row["cycles"], fixed_dram_bytes=row["dram_read_bytes"] + row["dram_write_bytes"],
                       fixed_total_pJ=row["total_pJ"])
        else:
            fixed = got[1]
            row.update(fixed_cycles=fixed.cycles, fixed_dram_bytes=fixed.dram_bytes, fixed_total_pJ=fixed.total_pJ)


def totals(rows: Sequence[Mapping[str, Any]], cfg: ArrayConfig, batch: int = 1) -> dict:
    """Network totals of the per-layer ``rows``: sums of the counts (``ideal_cycles`` too), ratios recomputed
    from them, throughput at ``clock_mhz``; with the rows' energy, its sums, the energy per inference, the
    energy-delay product and pJ per MAC; with ``--mapper search`` the fixed mapping's sums."""
    out: dict[str, Any] = {"layers": len(rows), **{c: sum(int(r[c]) for r in rows) for c in SUMMED}}
    ideal = out["ideal_cycles"]  # layers run one after another: the sum of theirs, not ceil(all MACs / PEs)
    out = _derive(out, cfg)
    out["ideal_cycles"] = ideal
    out.pop("stream_beats")
    out["peak_dram_bytes_per_cycle"] = float(max((r["peak_dram_bytes_per_cycle"] for r in rows), default=float("nan")))
    seconds = out["cycles"] / (cfg.clock_mhz * 1e6)
    out["inferences_per_second"] = batch / seconds if seconds else 0.0
    out["effective_tops"] = 2 * out["macs"] / seconds / 1e12 if seconds else 0.0
    first = rows[0] if rows else {}
    if "total_pJ" in first:
        out.update({c: float(sum(r[c] for r in rows)) for c in ENERGY})
        out["energy_per_inference_uJ"] = out["total_pJ"] / 1e6 / batch
        out["edp_uJ_ms"] = out["energy_per_inference_uJ"] * out["latency_ms"]
        out["pJ_per_mac"] = _ratio(out["total_pJ"], out["macs"])
    if "fixed_cycles" in first:
        out["fixed_cycles"] = sum(int(r["fixed_cycles"]) for r in rows)
        out["fixed_dram_bytes"] = sum(int(r["fixed_dram_bytes"]) for r in rows)
        out["fixed_total_pJ"] = float(sum(r["fixed_total_pJ"] for r in rows))
    if "check" in first:
        out["check_mismatches"] = sum(str(r["check"]).endswith("bad") for r in rows)
    return out
