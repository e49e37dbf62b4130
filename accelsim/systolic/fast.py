"""The fast model: closed-form fold timing, the contract's stall recurrence, and numpy numbers.

Per layer: the folds as runs (``mapping.runs_for``: WS/IS chunked by the ofmap SRAM; at most 27
fold classes, each a combination of first / middle / last tile spans of the three fold loops),
their traffic priced per class (``memory.traffic``), bytes turned into cycles with the exact
bandwidth fraction, and the load/compute/write recurrence evaluated over the nested loops of
classes (``memory.schedule.schedule_loops``, which extrapolates every loop once its state
settles). Time and memory grow with the classes and the loop nesting, not with the fold count:
VGG-19 on a 1x1 array (~1.5e8 folds) is milliseconds a layer. Each fold takes
``Dataflow.fold_cycles`` of its streaming beats S_f (F_f); serial folds (``pipeline`` false)
occupy the array that long, pipelined ones ``Dataflow.occupancy`` (O_f, the next fold's first beat
may come that much later) and release their operand buffer after their beats (B_f = T_f), so a
run of identical folds costs O per fold plus one fill and drain (the contract's "Issue" and
"Memory"); the per-fold ``fold_cycles`` are O_f for every fold but the layer's last, F_last for
the last. Numbers (only when operands are given) are
an exact numpy matmul wrapped to ACC_W (``gemm_numbers``); each element's output cycle is its last
k-tile fold's start plus the row's offset from ``Dataflow.output_cycles``: those expand the folds.
Given the layer's output stages (``requant.OutputStage``, one a group), the int8 outputs are the
stage applied to those numbers. Inside ``memoized()`` (design-space sweeps) a timing-only layer is
computed once per config fields it depends on (``PLAN_FIELDS``, the mapping, the issue rule, the
on-chip flags, the bandwidth) and its folds, traffic and fold timing once across bandwidths.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import fields
from functools import partial
from typing import NamedTuple

import numpy as np

from accelsim.hardware.arith import check_operand, wrap
from accelsim.hardware.config import ArrayConfig
from accelsim.lowering.requant import OutputStage
from accelsim.mapping.dataflow import Dataflow
from accelsim.mapping.folds import FoldRuns, Folds, Loop, folds_for, mapping_for, runs_for
from accelsim.mapping.space import Mapping
from accelsim.memory.schedule import Schedule, schedule, schedule_loops
from accelsim.memory.traffic import FoldTraffic, fold_traffic
from accelsim.systolic.beats import scatter
from accelsim.systolic.result import ArrayRun, Timeline, fixed_timeline, group_stages


def transfer_cycles(cfg: ArrayConfig, nbytes: np.ndarray) -> np.ndarray:
    """``ceil(nbytes / bandwidth)`` with the bandwidth as its exact fraction."""
    bw = cfg.bandwidth_fraction
    return -(-np.asarray(nbytes, dtype=np.int64) * bw.denominator // bw.numerator)


# ``memoized()``: fast_layer's timing-only results, and their bandwidth-independent part, kept per process.
# A layer's result depends on the config only through these fields (plus the bandwidth, for the timing;
# the mapping, resolved from ``dataflow``, and the issue rule, from ``pipeline``, are keyed themselves):
# not on the clock, nor on ``on_chip`` (the caller passes the layer's own on-chip flags).
PLAN_FIELDS = tuple(f.name for f in fields(ArrayConfig)
                    if f.name not in ("bandwidth", "clock_mhz", "on_chip", "dataflow", "pipeline"))
MEMO_ENTRIES = 4096  # ~3 KB each (a VGG-16 sweep measured): bounded, least recently used go first


class _LRU:
    def __init__(self, entries: int):
        self.entries = entries
        self.data: OrderedDict = OrderedDict()

    def get(self, key):
        value = self.data.get(key)
        if value is not None:
            self.data.move_to_end(key)
        return value

    def put(self, key, value):
        self.data[key] = value
        if len(self.data) > self.entries:
            self.data.popitem(last=False)
        return value


class _Local(threading.local):
    memo: _LRU | None = None  # the cache in use (inside a ``memoized`` block)
    kept: _LRU | None = None  # the cache kept between blocks


_LOCAL = _Local()  # per thread: a Dask worker may run tasks in several threads


@contextmanager
def memoized(entries: int | None = None) -> Iterator[None]:
    """Within the block, ``fast_layer`` without operands returns the same (shared, read-only) ``ArrayRun``
    for the same layer on a config that differs only in clock or ``on_chip``, and reuses the folds, traffic
    and fold timing across bandwidths. For design-space sweeps (``accelsim.dse``), whose points repeat
    layers: the cache (one per thread) lives on for the thread's next block (at most ``entries`` entries,
    default ``MEMO_ENTRIES``)."""
    local, entries = _LOCAL, entries or MEMO_ENTRIES
    if local.kept is None or local.kept.entries != entries:
        local.kept = _LRU(entries)
    outer, local.memo = local.memo, local.kept
    try:
        yield
    finally:
        local.memo = outer


def exact_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` of integer matrices as int64, exact modulo 2^64: float64 BLAS when no sum can exceed 2^53."""
    bound = float(np.abs(a.astype(np.int64)).max(initial=0)) * float(np.abs(b.astype(np.int64)).max(initial=0))
    if bound * a.shape[1] < 2.0 ** 53:
        return (a.astype(np.float64) @ b.astype(np.float64)).astype(np.int64)
    return a.astype(np.int64) @ b.astype(np.int64)


def gemm_numbers(cfg: ArrayConfig, A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """C = A @ B wrapped to ACC_W: what the ofmap buffer holds after adding every k-tile's partial sums.

    Wrapping is addition modulo 2^ACC_W, so one exact product wrapped once equals the per-k-tile
    partials wrapped and summed with wrap, bit for bit.
    """
    return wrap(exact_matmul(A, B), cfg.acc_bits)


def output_cycles(folds: Folds, compute_start: np.ndarray) -> np.ndarray:
    """Cycle (from the layer's start) each C element's final value leaves the array."""
    df, cols = folds.dataflow, folds.cols
    rows = {}
    out = np.empty((folds.m, folds.n), dtype=np.int64)
    for i in np.flatnonzero(folds.last_k).tolist():
        f = folds[i]
        if f.st not in rows:
            rel = df.output_cycles(folds.rows, cols, f.st)
            rows[f.st] = np.broadcast_to(rel[:, None], (len(rel), cols))
        out[f.m0:f.m0 + f.mt, f.n0:f.n0 + f.nt] = scatter(df, f, rows[f.st]) + compute_start[i]
    return out


def fold_timing(folds: Folds, pipeline: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per fold of one layer (every fold the same ``dataflow`` port and, in OS, the same K): its fold
    cycles F, occupancy O and release B (int64; serial: O = B = F)."""
    df = folds.dataflow
    F = folds.cycles.astype(np.int64)
    if not pipeline:
        return F, F, F
    occupancy = np.asarray(df.occupancy(folds.rows, folds.st), dtype=np.int64)
    beats = df.beats(folds.rows, 0) + folds.st.astype(np.int64)  # T_f: preload beats plus S_f
    return F, occupancy, beats


def column_cycles(F: np.ndarray, occ: np.ndarray) -> np.ndarray:
    """The per-fold ``fold cycles`` column of a layer's folds: O_f for all but the last, F_last for the last."""
    out = occ.astype(np.int64, copy=True)
    if len(out):
        out[-1] = F[-1]
    return out


def _recorded(runs: FoldRuns, groups: int, timing: tuple[np.ndarray, np.ndarray, np.ndarray], L: np.ndarray,
              W: np.ndarray, double_buffer: bool, pipeline: bool,
              folds: Folds | None = None) -> tuple[Schedule, np.ndarray]:
    """The runs evaluated recording every fold's compute start, and every fold's cycles (O(folds) memory;
    ``folds``: ``runs.expand()`` when the caller already has it)."""
    F, occ, B = timing
    sched = schedule_loops(runs.loops(groups), F, L, W, double_buffer, folds=runs.count * groups, occupancy=occ,
                           release=B)
    Ff, Of, _ = fold_timing(runs.expand() if folds is None else folds, pipeline)
    return sched, column_cycles(np.tile(Ff, groups), np.tile(Of, groups))


def _timeline(runs: FoldRuns, groups: int, timing: tuple[np.ndarray, np.ndarray, np.ndarray], L: np.ndarray,
              W: np.ndarray, double_buffer: bool, pipeline: bool) -> tuple[np.ndarray, np.ndarray]:
    sched, fold_cycles = _recorded(runs, groups, timing, L, W, double_buffer, pipeline)
    assert sched.compute_start is not None
    return fold_cycles, sched.compute_start


def _compute_cycles(runs: FoldRuns, groups: int, F: np.ndarray, occ: np.ndarray) -> int:
    """``sum_{f < last} O_f + F_last`` over the layer's folds, exactly, from the classes (the last fold is
    of the last class: every loop's last span)."""
    if not runs.count:
        return 0
    total = runs.total(occ) * groups
    return total - int(occ[-1]) + int(F[-1])


def _demand(read_bytes: np.ndarray, write_bytes: np.ndarray, F: np.ndarray, occ: np.ndarray,
            counts: np.ndarray, groups: int) -> float:
    """The peak of a fold's DRAM bytes over its column cycles (O_f, F for the layer's last fold)."""
    if not len(F):
        return 0.0
    nbytes = read_bytes + write_bytes
    ratios = [float(nbytes[-1] / F[-1])]
    others = counts.copy()
    others[-1] -= 1 if groups == 1 else 0
    ratios += [float(v) for v in (nbytes / occ)[others > 0]]
    return max(ratios)


def fast_layer(cfg: ArrayConfig, m: int, k: int, n: int, groups: int = 1, *,
               mapping: Mapping | str | Dataflow | None = None, dataflow: str | Dataflow | None = None,
               operands: Sequence[tuple[np.ndarray, np.ndarray]] | None = None,
               stages: Sequence[OutputStage] | None = None, ifmap_on_chip: bool = False,
               output_on_chip: bool = False, pipeline: bool | None = None) -> ArrayRun:
    """Timing (and, given per-group ``operands`` (A, B), the numbers) of ``groups`` (m, k, n) GEMMs;
    with per-group output ``stages`` also the int8 outputs after them. ``mapping``: the layer's Mapping
    (or a dataflow's fixed one; ``dataflow=`` is the older spelling; default the config's fixed mapping).
    ``ifmap_on_chip`` / ``output_on_chip``: the layer's A operand is in the ifmap SRAM / its output stays
    there (``memory.onchip``). ``pipeline`` (default ``cfg.pipeline``) picks the issue rule, as in
    ``step_layer``.

    Works on the fold classes and their runs (``mapping.runs_for``), in time and memory independent
    of the fold count; the per-fold ``fold_cycles`` / ``compute_start`` are expanded on first use
    (at once when ``operands`` are given: the output cycles need them).
    """
    mp = mapping_for(cfg, mapping, dataflow=dataflow)
    pipe = cfg.pipeline if pipeline is None else pipeline
    memo = _LOCAL.memo
    if operands is None and memo is not None:
        key = (tuple(getattr(cfg, f) for f in PLAN_FIELDS), m, k, n, groups, mp, pipe, ifmap_on_chip, output_on_chip)
        run = memo.get((key, cfg.bandwidth))
        if run is None:
            plan = memo.get(key)
            if plan is None:
                plan = memo.put(key, _plan(cfg, m, k, n, groups, mp, pipe, ifmap_on_chip, output_on_chip))
            run = memo.put((key, cfg.bandwidth), _timed(cfg, plan, m, k, n, groups, pipe, mp))
        return run
    plan = _plan(cfg, m, k, n, groups, mp, pipe, ifmap_on_chip, output_on_chip)
    if operands is None:
        return _timed(cfg, plan, m, k, n, groups, pipe, mp)
    runs, traffic, timing = plan.runs, plan.traffic, plan.timing
    L, W = transfer_cycles(cfg, traffic.read_bytes), transfer_cycles(cfg, traffic.write_bytes)
    if len(operands) != groups:
        raise ValueError(f"fast_layer: expected {groups} operand pairs, got {len(operands)}")
    folds = runs.expand()
    sched, fold_cycles = _recorded(runs, groups, timing, L, W, cfg.double_buffer, pipe, folds)
    compute_start = sched.compute_start
    assert compute_start is not None
    outs, cyc = [], []
    for g, (A, B) in enumerate(operands):
        A = check_operand("A", A, cfg.data_bits, as_int64=False)
        B = check_operand("B", B, cfg.data_bits, as_int64=False)
        if A.shape != (m, k) or B.shape != (k, n):
            raise ValueError(f"fast_layer: operands {A.shape} @ {B.shape} are not ({m}, {k}) @ ({k}, {n})")
        outs.append(gemm_numbers(cfg, A, B))
        cyc.append(output_cycles(folds, compute_start[g * len(folds):(g + 1) * len(folds)]))
    outputs = tuple(outs)
    staged = None
    if stages is not None:
        staged = tuple(st.apply(out) for st, out in zip(group_stages(stages, groups), outputs, strict=True))
    return ArrayRun(mp.flow.name, m, k, n, groups, runs.count * groups, plan.compute_cycles, sched.cycles,
                    runs.stream_beats * groups, plan.totals, plan.demand, fixed_timeline(fold_cycles, compute_start),
                    outputs, tuple(cyc), staged, mp)


class _Plan(NamedTuple):
    """A layer's folds, traffic and fold timing: everything ``fast_layer`` computes before the bandwidth
    turns bytes into cycles."""

    runs: FoldRuns
    traffic: FoldTraffic
    timing: tuple[np.ndarray, np.ndarray, np.ndarray]
    compute_cycles: int
    totals: dict[str, int]
    demand: float
    loops: tuple[Loop, ...]  # runs.loops(groups)


def _plan(cfg: ArrayConfig, m: int, k: int, n: int, groups: int, mp: Mapping, pipe: bool, ifmap_on_chip: bool,
          output_on_chip: bool) -> _Plan:
    runs = runs_for(cfg, m, k, n, mp)
    reps = runs.classes
    traffic = fold_traffic(cfg, reps, ifmap_on_chip=ifmap_on_chip, output_on_chip=output_on_chip)
    timing = fold_timing(reps, pipe)
    F, occ, _ = timing
    return _Plan(runs, traffic, timing, _compute_cycles(runs, groups, F, occ), traffic.totals(runs.counts, groups),
                 _demand(traffic.read_bytes, traffic.write_bytes, F, occ, runs.counts, groups), runs.loops(groups))


def _timed(cfg: ArrayConfig, plan: _Plan, m: int, k: int, n: int, groups: int, pipe: bool,
           mp: Mapping) -> ArrayRun:
    """The timing-only ``ArrayRun`` of a planned layer at ``cfg``'s bandwidth (the load/compute recurrence)."""
    runs, traffic, timing = plan.runs, plan.traffic, plan.timing
    F, occ, B = timing
    L, W = transfer_cycles(cfg, traffic.read_bytes), transfer_cycles(cfg, traffic.write_bytes)
    sched = schedule_loops(plan.loops, F, L, W, cfg.double_buffer, occupancy=occ, release=B)
    timeline: Timeline = partial(_timeline, runs, groups, timing, L, W, cfg.double_buffer, pipe)
    return ArrayRun(mp.flow.name, m, k, n, groups, runs.count * groups, plan.compute_cycles, sched.cycles,
                    runs.stream_beats * groups, plan.totals, plan.demand, timeline, mapping=mp)


def per_fold_layer(cfg: ArrayConfig, m: int, k: int, n: int, groups: int = 1, *,
                   mapping: Mapping | str | Dataflow | None = None, dataflow: str | Dataflow | None = None,
                   pipeline: bool | None = None) -> ArrayRun:
    """``fast_layer``'s timing the way it was evaluated before runs: every fold enumerated, priced and
    scheduled as int64 arrays (memory and time proportional to the folds). The golden for the
    run-based evaluation (tests) and the baseline of ``benchmarks/bench_fold_runs.py``."""
    mp = mapping_for(cfg, mapping, dataflow=dataflow)
    df = mp.flow
    pipe = cfg.pipeline if pipeline is None else pipeline
    folds = folds_for(cfg, m, k, n, mp)
    one = fold_traffic(cfg, folds)
    traffic = one.tile(groups) if groups > 1 else one
    F, occ, B = (np.tile(x, groups) for x in fold_timing(folds, pipe))
    sched = schedule(F, transfer_cycles(cfg, traffic.read_bytes), transfer_cycles(cfg, traffic.write_bytes),
                     cfg.double_buffer, occ, B)
    assert sched.compute_start is not None
    fold_cycles = column_cycles(F, occ)
    demand = ((traffic.read_bytes + traffic.write_bytes) / fold_cycles).max()
    return ArrayRun(df.name, m, k, n, groups, len(fold_cycles), int(fold_cycles.sum()), sched.cycles,
                    folds.stream_beats * groups, traffic.totals(), float(demand),
                    fixed_timeline(fold_cycles, sched.compute_start), mapping=mp)
