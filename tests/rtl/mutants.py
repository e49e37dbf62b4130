"""Deliberately wrong models: the checker must catch each of them against the (correct) RTL."""

from __future__ import annotations

import numpy as np

from accelsim.systolic.core import ArrayCore, CoreTrace


class SkewOffByOneCore(ArrayCore):
    """Row i of a_in delayed by i + 1 cycles instead of i (row 0 unchanged): wrong output values."""

    def __init__(self, rows, cols, data_bits=8, acc_bits=32):
        super().__init__(rows, cols, data_bits, acc_bits)
        self._a_pick = (np.arange(rows), np.arange(rows))


class LatePipeCore(ArrayCore):
    """The valid/last pipes one stage too long: in OS the drain starts a cycle late with the right values."""

    def reset(self) -> None:
        super().reset()
        self.pipe_valid = np.zeros(self.rows + self.cols, dtype=bool)
        self.pipe_last = np.zeros(self.rows + self.cols, dtype=bool)


class WrongFromColumn16Core(ArrayCore):
    """Right except in the folds of C's columns 16 and up, where one output value is off by one: on a
    GEMM with N = 24, only its last folds (the last job of a split run) disagree with the RTL."""

    def run(self, beats, record=False):
        trace = super().run(beats, record)
        if beats.fold.n0 < 16 or not len(trace.out):
            return trace
        out = trace.out.copy()
        out[0, 0] += 1
        return CoreTrace(out, trace.out_cycle, trace.done_cycle, trace.signals)
