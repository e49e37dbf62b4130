"""The stepping model: a layer clock by clock, the array register by register.

``step_layer`` runs every fold of a layer's GEMMs (one per group, back to back) through one
``ArrayCore`` (the RTL's ``systolic_top``, see ``accelsim.systolic.core``) while a
``MemorySystem`` moves DRAM bytes cycle by cycle (the folds of ``mapping.folds_for``: WS/IS
chunked by the ofmap SRAM). Each cycle: transfers whose conditions hold start; if the next
fold's operands are in its buffer and the driver (``issue.FoldDriver``, serial or pipelined)
may present its first beat, it does so this cycle; the array clocks once on the driver's merged
beats (zeros when there are none); output rows are attributed to their fold and accumulated
into the ofmap buffer (k-tile partial sums added with ACC_W wrap); the DRAM channels advance. A
fold's buffer is released after its last beat (pipelined) or its ``done`` (serial).
Fold lengths (the occupancy: from a fold's first beat to the first cycle the next one's may
come; the last fold's to its ``done``), stalls and output cycles are what the registers,
the driver's events and the channels produce, never a formula, which is what makes this the
golden for the fast model and the RTL.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from accelsim.hardware.arith import check_operand, wrap
from accelsim.hardware.config import ArrayConfig
from accelsim.lowering.requant import OutputStage
from accelsim.mapping.dataflow import Dataflow
from accelsim.mapping.folds import folds_for, mapping_for
from accelsim.mapping.space import Mapping
from accelsim.memory.stepper import FoldRequest, MemorySystem
from accelsim.progress import ProgressCallback
from accelsim.systolic.beats import fold_beats
from accelsim.systolic.core import ArrayCore, CoreTrace
from accelsim.systolic.issue import FoldDriver
from accelsim.systolic.result import ArrayRun, fixed_timeline, group_stages

__all__ = ["ArrayCore", "CoreTrace", "random_operands", "step_layer"]


def random_operands(cfg: ArrayConfig, m: int, k: int, n: int, groups: int = 1, seed: int = 0):
    """Seeded signed DATA_W-bit operands, for running the stepping model when the numbers don't matter."""
    rng = np.random.default_rng(seed)
    lo, hi = -(1 << (cfg.data_bits - 1)), 1 << (cfg.data_bits - 1)
    return [(rng.integers(lo, hi, (m, k)), rng.integers(lo, hi, (k, n))) for _ in range(groups)]


def step_layer(cfg: ArrayConfig, operands: Sequence[tuple[np.ndarray, np.ndarray]], *,
               mapping: Mapping | str | Dataflow | None = None, dataflow: str | Dataflow | None = None,
               stages: Sequence[OutputStage] | None = None, pipeline: bool | None = None,
               ifmap_on_chip: bool = False, output_on_chip: bool = False,
               progress: ProgressCallback | None = None) -> ArrayRun:
    """Run one layer's GEMMs ``[(A, B) per group]`` cycle by cycle; outputs and output cycles included.

    With per-group output ``stages``, each C block's final values also pass its group's stage as its last
    k-tile's rows leave the array (the block's columns take their channels' bias): ``stage_outputs``.

    ``mapping``: the layer's Mapping (or a dataflow's fixed one; ``dataflow=`` is the older spelling; default
    the config's fixed mapping). ``pipeline`` (default ``cfg.pipeline``) picks the issue rule;
    ``ifmap_on_chip`` / ``output_on_chip``: the layer's A operand is in the ifmap SRAM / its output stays there
    (``memory.onchip``);
    ``progress(done, total)`` is called as folds complete.
    """
    mp = mapping_for(cfg, mapping, dataflow=dataflow)
    df = mp.flow
    pipe = cfg.pipeline if pipeline is None else pipeline
    R, C = cfg.rows, cfg.cols
    ops = [(check_operand("A", A, cfg.data_bits), check_operand("B", B, cfg.data_bits)) for A, B in operands]
    if not ops:
        raise ValueError("step_layer: no operands")
    m, k = ops[0][0].shape
    n = ops[0][1].shape[1]
    if any(A.shape != (m, k) or B.shape != (k, n) for A, B in ops):
        raise ValueError("step_layer: every group must be an (m, k) @ (k, n) GEMM of the same shape")
    folds = folds_for(cfg, m, k, n, mp)
    requests = [FoldRequest(g, f, m, k, n) for g in range(len(ops)) for f in folds]
    mem = MemorySystem(cfg, requests, mp, ifmap_on_chip=ifmap_on_chip, output_on_chip=output_on_chip)
    core = ArrayCore(R, C, cfg.data_bits, cfg.acc_bits)
    drv = FoldDriver(R, C, pipe)
    outputs = [np.zeros((m, n), dtype=np.int64) for _ in ops]
    out_cycles = [np.full((m, n), -1, dtype=np.int64) for _ in ops]
    stages = None if stages is None else group_stages(stages, len(ops))
    staged = None if stages is None else [np.zeros((m, n), dtype=np.int8) for _ in ops]
    starts: list[int] = []
    may_start: list[int] = []  # the first cycle each fold's first beat could have come (fold 0: 0)
    sram = dict.fromkeys(("ifmap_sram_reads", "filter_sram_reads", "ofmap_sram_reads", "ofmap_sram_writes"), 0)
    computed, released, t, stream = 0, 0, 0, 0
    nxt = None  # the next fold's beats, built once the previous fold is presented
    while True:
        mem.start(t, computed, released if pipe else computed)
        if computed == len(requests) and mem.written():
            break
        if nxt is None and len(starts) < len(requests):
            req = requests[len(starts)]
            A, B = ops[req.group]
            nxt = fold_beats(cfg, df, A, B, req.fold)
        if nxt is not None and drv.may_issue(nxt, t):
            if len(may_start) == len(starts):
                may_start.append(t)
            if mem.loaded(len(starts)):
                drv.issue(nxt, t)
                starts.append(t)
                stream += nxt.stream
                nxt = None
        load, valid, last, a_in, b_in, port = drv.inputs(t)
        p = core.step(load, valid, last, a_in, b_in, port)
        fin = drv.observe(t, p)
        if fin is not None:
            req = requests[computed]
            f, bt = req.fold, fin.beats
            tile = bt.scatter(np.array(fin.rows, dtype=np.int64).reshape(len(fin.rows), C))
            acc = outputs[req.group]
            acc[bt.block] = tile if f.first_k else wrap(acc[bt.block] + tile, cfg.acc_bits)
            if f.last_k:
                cyc = np.broadcast_to(np.array(fin.row_cycles, dtype=np.int64)[:, None], (len(fin.rows), C))
                out_cycles[req.group][bt.block] = bt.scatter(cyc)
                if stages is not None and staged is not None:
                    staged[req.group][bt.block] = stages[req.group].apply(acc[bt.block], channels=bt.block[1])
            sram["ifmap_sram_reads"] += f.mt * f.kt
            sram["filter_sram_reads"] += f.kt * f.nt
            sram["ofmap_sram_writes"] += f.mt * f.nt
            sram["ofmap_sram_reads"] += 0 if f.first_k else f.mt * f.nt
            computed += 1
            if progress is not None:
                progress(computed, len(requests))
        mem.tick(t)
        t += 1
        while released < len(starts) and drv.issued[released].last_beat < t:
            released += 1
    final = drv.issued[-1]
    assert final.done is not None
    lengths = [b - a for a, b in zip(starts, may_start[1:], strict=False)] + [final.done + 1 - final.start]
    fold_cycles = np.array(lengths, dtype=np.int64)
    traffic = {**mem.counts, "write_bytes": sum(mem.write_bytes), **sram}
    demand = max((r + w) / c for r, w, c in zip(mem.read_bytes, mem.write_bytes, lengths, strict=True))
    return ArrayRun(df.name, m, k, n, len(ops), len(fold_cycles), int(fold_cycles.sum()), t, stream, traffic,
                    float(demand), fixed_timeline(fold_cycles, np.array(starts, dtype=np.int64)), tuple(outputs),
                    tuple(out_cycles), None if staged is None else tuple(staged), mp)
