"""``ArrayCore``: ``systolic_top`` register by register, one clock edge per ``step``.

The golden the RTL is checked against cycle for cycle (docs/microarchitecture.md). Registers,
named as in rtl/ (all int64 numpy arrays, updated together on the edge that ends a cycle):

- ``a_skew`` (R, R): lane i is an i-stage shift register (stage s at ``[i, s]``) on the qualified
  ``a_in`` (``valid ? a_in : 0``); lane 0 is a wire. ``b_skew`` (C, C): the same for ``b_in`` on
  OS valid beats.
- ``a_reg``, ``b_reg`` (R, C): each PE's forwarding registers (RTL ``a_q``, ``b_q``); PE(i, j)'s
  ``a`` is the skewed lane for j = 0, else ``a_reg[i, j-1]``; its ``b`` likewise from above.
- ``w_reg`` (R, C): the stationary registers (``w_q``); on a ``load`` edge
  ``w(0, j) <= b_in[j]`` (unskewed) and ``w(i, j) <= w(i-1, j)``.
- ``acc`` (R, C): the PE accumulator (``acc_q``), the OS accumulator and the WS ``psum_out``:
  OS ``acc <= acc + a*b`` or, on a drain edge, ``acc <= acc`` of the PE above (0 in row 0);
  WS ``acc <= acc_above + a*w``. Every sum wraps to ACC_W bits.
- ``deskew`` (C, C): lane j is a (C-1-j)-stage shift register on the bottom row of ``acc``.
- ``pipe_valid``, ``pipe_last`` (R+C-1,): ``valid`` and ``valid & last`` delayed R + C - 1 cycles.
- ``drain_left``: OS drain rows still to come after this cycle's.

Ports (during a cycle, from the registers): WS ``c_valid = pipe_valid``, ``c_last = pipe_last``,
``c_out`` = the deskew outputs; OS ``c_valid`` = the drain (first row when ``pipe_last``
arrives, then ``drain_left`` more), ``c_out = acc`` bottom row; ``done = c_valid & c_last``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from accelsim.hardware.arith import wrap
from accelsim.systolic.beats import Beats

SIGNALS = ("a_skew", "b_skew", "a_reg", "b_reg", "w_reg", "acc", "deskew", "pipe_valid", "pipe_last",
           "drain_left", "cycle_count", "c_valid", "c_last", "c_out", "done")


def _zeros(*shape: int) -> np.ndarray:
    return np.zeros(shape, dtype=np.int64)


@dataclass(frozen=True)
class Ports:
    """The outputs during one cycle."""

    c_valid: bool
    c_last: bool
    c_out: np.ndarray
    done: bool


@dataclass(frozen=True, eq=False)
class CoreTrace:
    """One fold through the core: its output rows, when they appeared, and optionally every register.

    Cycles count from the fold's first beat. ``signals[name][t]`` is the register's value during
    cycle t (before the edge that ends it); ports are the values on them during cycle t.
    """

    out: np.ndarray
    out_cycle: np.ndarray
    done_cycle: int
    signals: dict[str, np.ndarray] | None = None

    @property
    def cycles(self) -> int:
        return self.done_cycle + 1


class ArrayCore:
    """A ROWS x COLS ``systolic_top`` with DATA_W-bit operands and an ACC_W-bit wrapping accumulator."""

    def __init__(self, rows: int, cols: int, data_bits: int = 8, acc_bits: int = 32):
        self.rows, self.cols, self.data_bits, self.acc_bits = rows, cols, data_bits, acc_bits
        R, C = rows, cols
        self._a_pick = (np.arange(R), np.maximum(np.arange(R) - 1, 0))
        self._b_pick = (np.arange(C), np.maximum(np.arange(C) - 1, 0))
        self._d_pick = (np.arange(C), np.maximum(C - 2 - np.arange(C), 0))
        self._zero_row = np.zeros((1, C), dtype=np.int64)
        self._zero_a = np.zeros(R, dtype=np.int64)
        self._zero_b = np.zeros(C, dtype=np.int64)
        self.reset()

    def reset(self) -> None:
        """Synchronous reset: every register to 0."""
        R, C = self.rows, self.cols
        self.a_skew, self.b_skew = _zeros(R, R), _zeros(C, C)
        self.a_reg, self.b_reg, self.w_reg, self.acc = _zeros(R, C), _zeros(R, C), _zeros(R, C), _zeros(R, C)
        self.deskew = _zeros(C, C)
        self.pipe_valid = np.zeros(R + C - 1, dtype=bool)
        self.pipe_last = np.zeros(R + C - 1, dtype=bool)
        self.drain_left = 0
        self.cycle_count = 0

    def _ports(self, port: int) -> tuple[bool, bool, np.ndarray, bool, bool]:
        R = self.rows
        os_first = bool(self.pipe_last[-1]) and port == 0
        os_valid = os_first or self.drain_left != 0
        os_last = os_first if R == 1 else self.drain_left == 1
        bottom = self.acc[R - 1]
        if port:
            ws_out = self.deskew[self._d_pick]
            ws_out[self.cols - 1] = bottom[self.cols - 1]
            c_valid, c_last, c_out = bool(self.pipe_valid[-1]), bool(self.pipe_last[-1]), ws_out
        else:
            c_valid, c_last, c_out = os_valid, os_last, bottom.copy()
        return c_valid, c_last, c_out, os_valid and port == 0, os_first

    def step(self, load: bool, valid: bool, last: bool, a_in, b_in, port: int) -> Ports:
        """Present one cycle's inputs; return that cycle's outputs and clock the edge that ends it."""
        R, C = self.rows, self.cols
        c_valid, c_last, c_out, drain, os_first = self._ports(port)
        a_take = np.asarray(a_in, dtype=np.int64) if valid else self._zero_a
        b_take = np.asarray(b_in, dtype=np.int64) if (valid and port == 0) else self._zero_b
        a_left = self.a_skew[self._a_pick]
        a_left[0] = a_take[0]
        b_top = self.b_skew[self._b_pick]
        b_top[0] = b_take[0]
        a_at = np.empty((R, C), dtype=np.int64)
        a_at[:, 0] = a_left
        a_at[:, 1:] = self.a_reg[:, :-1]
        b_at = np.empty((R, C), dtype=np.int64)
        b_at[0] = b_top
        b_at[1:] = self.b_reg[:-1]
        acc_in = np.concatenate((self._zero_row, self.acc[:-1]))
        if port:
            acc_d = wrap(acc_in + a_at * self.w_reg, self.acc_bits)
        elif drain:
            acc_d = acc_in
        else:
            acc_d = wrap(self.acc + a_at * b_at, self.acc_bits)
        bottom = self.acc[R - 1]
        if load:
            self.w_reg = np.concatenate((np.asarray(b_in, dtype=np.int64)[None, :], self.w_reg[:-1]))
        self.a_reg, self.b_reg, self.acc = a_at, b_at, acc_d
        self.a_skew[:, 1:] = self.a_skew[:, :-1]
        self.a_skew[:, 0] = a_take
        self.b_skew[:, 1:] = self.b_skew[:, :-1]
        self.b_skew[:, 0] = b_take
        self.deskew[:, 1:] = self.deskew[:, :-1]
        self.deskew[:, 0] = bottom
        self.pipe_valid[1:] = self.pipe_valid[:-1]
        self.pipe_valid[0] = valid
        self.pipe_last[1:] = self.pipe_last[:-1]
        self.pipe_last[0] = valid and last
        if os_first:
            self.drain_left = R - 1
        elif self.drain_left:
            self.drain_left -= 1
        self.cycle_count = (self.cycle_count + 1) & 0xFFFFFFFF
        return Ports(c_valid, c_last, c_out, c_valid and c_last)

    def snapshot(self) -> dict:
        """Copies of every register (the values during the current cycle)."""
        return {
            "a_skew": self.a_skew.copy(), "b_skew": self.b_skew.copy(), "a_reg": self.a_reg.copy(),
            "b_reg": self.b_reg.copy(), "w_reg": self.w_reg.copy(), "acc": self.acc.copy(),
            "deskew": self.deskew.copy(), "pipe_valid": self.pipe_valid.copy(), "pipe_last": self.pipe_last.copy(),
            "drain_left": self.drain_left, "cycle_count": self.cycle_count,
        }

    def run(self, beats: Beats, record: bool = False) -> CoreTrace:
        """Drive one fold's beats from the core's current state, then idle inputs until ``done``."""
        if (beats.rows, beats.cols) != (self.rows, self.cols):
            raise ValueError(f"run: beats for {beats.rows}x{beats.cols}, core is {self.rows}x{self.cols}")
        port, T = beats.dataflow_port, beats.cycles
        limit = T + 2 * (self.rows + self.cols) + 2
        rows, cycles, trace = [], [], []
        for t in range(limit):
            regs = self.snapshot() if record else None
            if t < T:
                p = self.step(bool(beats.load[t]), bool(beats.valid[t]), bool(beats.last[t]),
                              beats.a_in[t], beats.b_in[t], port)
            else:
                p = self.step(False, False, False, self._zero_a, self._zero_b, port)
            if regs is not None:
                regs.update(c_valid=p.c_valid, c_last=p.c_last, c_out=p.c_out, done=p.done)
                trace.append(regs)
            if p.c_valid:
                rows.append(p.c_out)
                cycles.append(t)
            if p.done:
                signals = {k: np.array([r[k] for r in trace]) for k in SIGNALS} if record else None
                out = np.array(rows, dtype=np.int64).reshape(len(rows), self.cols)
                return CoreTrace(out, np.array(cycles, dtype=np.int64), t, signals)
        raise RuntimeError(f"run: no done within {limit} cycles of a {T}-beat fold")
