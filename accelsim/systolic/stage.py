"""``OutputStagePipe``: ``rtl/output_stage.v`` at its ports, one clock edge per ``step``.

docs/microarchitecture.md, "Output stage": a row taken on the edge that ends cycle t leaves in
cycle t + ``OUT_STAGE_CYCLES`` (3), computed by ``requant.output_stage`` (the one definition of the
rule) with the per-row inputs sampled with it. ``OutputStagePipe`` is the golden of the RTL
stage's unit test and of the array testbench (lock step with ``ArrayCore``); ``stage_lanes`` says
what a fold's output row puts on the stage's per-lane ports (lanes vs channels per dataflow).
"""

from __future__ import annotations

from collections import deque
from typing import NamedTuple

import numpy as np

from accelsim.lowering.requant import OUT_STAGE_CYCLES, OutputStage, output_stage
from accelsim.mapping.folds import Fold


class StageOut(NamedTuple):
    """The stage's outputs during one cycle (``q`` is a don't-care without ``valid``)."""

    valid: bool
    last: bool
    q: np.ndarray


class StageRow(NamedTuple):
    """One row's per-lane stage inputs besides the accumulators: bias, M0, shift and the clamp."""

    bias: np.ndarray
    m0: np.ndarray
    shift: np.ndarray
    act_min: int
    act_max: int


class OutputStagePipe:
    """The COLS-lane output stage: ``OUT_STAGE_CYCLES`` registered stages, one row a cycle."""

    def __init__(self, cols: int):
        self.cols = cols
        self.reset()

    def reset(self) -> None:
        """Synchronous reset: every stage empty (valid 0, q 0)."""
        zero = np.zeros(self.cols, dtype=np.int64)
        self._pipe: deque[StageOut] = deque([StageOut(False, False, zero)] * OUT_STAGE_CYCLES)

    def step(self, valid: bool, last: bool, acc, psum, row: StageRow) -> StageOut:
        """Present one cycle's inputs; return that cycle's outputs and clock the edge that ends it."""
        out = self._pipe.popleft()
        q = (output_stage(acc, row.bias, row.m0, row.shift, row.act_min, row.act_max, psum) if valid
             else np.zeros(self.cols, dtype=np.int64))
        self._pipe.append(StageOut(bool(valid), bool(valid and last), q))
        return out


def stage_lanes(stage: OutputStage, dataflow: str, fold: Fold, row: int, cols: int) -> StageRow:
    """The per-lane stage inputs for output row ``row`` of ``fold`` (docs/microarchitecture.md, "Lanes and
    channels"): OS and WS lane j is GEMM column ``n0 + j`` (0 beyond the tile), IS row s is column ``n0 + s``
    on every lane. M0 and shift are per layer, so every lane gets the same."""
    bias = np.zeros(cols, dtype=np.int64)
    if stage.bias is not None:
        if dataflow == "is":
            bias[:] = stage.bias[fold.n0 + row] if row < fold.nt else 0
        else:
            bias[: fold.nt] = stage.bias[fold.n0: fold.n0 + fold.nt]
    return StageRow(bias, np.full(cols, stage.m0, dtype=np.int64), np.full(cols, stage.shift, dtype=np.int64),
                    stage.act_min, stage.act_max)
