"""Deliberately wrong models: the checker must catch each of them against the (correct) RTL."""

from __future__ import annotations

import numpy as np

from accelsim.systolic.core import ArrayCore, Ports


class SkewOffByOneCore(ArrayCore):
    """Row i of a_in delayed by i + 1 cycles instead of i (row 0 unchanged): wrong output values."""

    def __init__(self, rows, cols, data_bits=8, acc_bits=32):
        super().__init__(rows, cols, data_bits, acc_bits)
        self._a_pick = (np.arange(rows), np.arange(rows))


class LatePipeCore(ArrayCore):
    """Every output one cycle late (an extra register on the ports): the right rows in the wrong cycles."""

    def reset(self) -> None:
        super().reset()
        self._held = Ports(False, False, np.zeros(self.cols, dtype=np.int64), False)

    def step(self, *args, **kwargs) -> Ports:
        now = super().step(*args, **kwargs)
        out, self._held = self._held, now
        return out


class WrongFromColumn16Core(ArrayCore):
    """Right except in the folds of C's columns 16 and up, where one output value is off by one: on a
    GEMM with N = 24, only its last folds (the last job of a split run) disagree with the RTL. The
    testbench tells a model each fold it issues (``issue``); output rows come out in fold order."""

    def reset(self) -> None:
        super().reset()
        self._n0: list[int] = []
        self._rows = 0

    def issue(self, beats) -> None:
        self._n0.append(beats.fold.n0)

    def step(self, *args, **kwargs) -> Ports:
        p = super().step(*args, **kwargs)
        if not (p.c_valid and self._n0):
            return p
        wrong = self._rows == 0 and self._n0[0] >= 16
        self._rows += 1
        if p.done:
            self._n0.pop(0)
            self._rows = 0
        if wrong:
            out = p.c_out.copy()
            out[0] += 1
            p = Ports(p.c_valid, p.c_last, out, p.done)
        return p
