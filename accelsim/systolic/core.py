"""``ArrayCore``: ``systolic_top`` register by register, one clock edge per ``step``.

The golden the RTL is checked against cycle for cycle (docs/microarchitecture.md, "The processing
element" and "The top"). Registers, named as in rtl/ (int64 or bool numpy arrays, all updated
together on the edge that ends a cycle):

- ``a_skew`` (R, R): lane i is an i-stage shift register (stage s at ``[i, s]``) on the qualified
  ``a_in`` (``valid ? a_in : 0``); lane 0 is a wire. ``sw_skew`` (R, R): the same for the switch
  bit (``valid & (dataflow ? first : last)``). ``b_skew`` (C, C): the same for ``b_in`` on load
  beats and OS valid beats; ``commit_skew`` (C, C) for ``commit_in``.
- per PE (R, C): ``a_reg`` and ``sw_reg`` (RTL ``a_q``, ``sw_q``, forwarded right), ``b_reg``
  (``b_q``, forwarded down), ``w_reg`` (``w_q``: the WS active weight), ``s_reg`` (``s_q``: the OS
  accumulator, the WS shadow weight), ``acc`` (``acc_q``: the WS partial sum, the OS drain chain)
  and ``dn_reg`` (``dn_q``: OS draining).
- ``streaming`` (inside a fold's stream), ``load_count`` (load beats modulo R), ``last_early``
  (R-1,) (``valid & last`` delayed R-1), ``pipe_last`` (C,) (``last_early`` delayed C more),
  ``pipe_valid`` (R+C-1,), ``deskew`` (C, C) (lane j: C-1-j stages on the bottom ``acc``),
  ``drain_left`` (OS rows still to come after this cycle's) and ``cycle_count``.

Ports (during a cycle, from the registers): ``c_out`` = the deskewed bottom row; WS
``c_valid = pipe_valid``, ``c_last = pipe_last``; OS ``c_valid`` = the first row when
``pipe_last`` arrives, then ``drain_left`` more; ``done = c_valid & c_last``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from accelsim.hardware.arith import wrap
from accelsim.systolic.beats import Beats

SIGNALS = ("a_skew", "sw_skew", "b_skew", "commit_skew", "a_reg", "sw_reg", "b_reg", "w_reg", "s_reg", "acc",
           "dn_reg", "streaming", "load_count", "last_early", "pipe_last", "pipe_valid", "deskew", "drain_left",
           "cycle_count", "c_valid", "c_last", "c_out", "done")
_REGISTERS = SIGNALS[:-4]


def _zeros(*shape: int) -> np.ndarray:
    return np.zeros(shape, dtype=np.int64)


def _false(*shape: int) -> np.ndarray:
    return np.zeros(shape, dtype=bool)


def _shift(reg: np.ndarray, value) -> None:
    """Clock a bank of shift registers (one per lane, stage 0 first) with ``value`` entering stage 0."""
    if reg.shape[-1]:
        reg[..., 1:] = reg[..., :-1]
        reg[..., 0] = value


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

    Cycles count from the fold's first beat (``start``: that beat's cycle in the run).
    ``signals[name][t]`` is the register's value during cycle t (before the edge that ends it);
    ports are the values on them during cycle t.
    """

    out: np.ndarray
    out_cycle: np.ndarray
    done_cycle: int
    signals: dict[str, np.ndarray] | None = None
    start: int = 0

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
        self._false_row = np.zeros((1, C), dtype=bool)
        self._zero_a = np.zeros(R, dtype=np.int64)
        self._zero_b = np.zeros(C, dtype=np.int64)
        self.reset()

    def reset(self) -> None:
        """Synchronous reset: every register to 0."""
        R, C = self.rows, self.cols
        self.a_skew, self.sw_skew = _zeros(R, R), _false(R, R)
        self.b_skew, self.commit_skew = _zeros(C, C), _false(C, C)
        self.a_reg, self.b_reg, self.w_reg, self.s_reg, self.acc = (_zeros(R, C) for _ in range(5))
        self.sw_reg, self.dn_reg = _false(R, C), _false(R, C)
        self.streaming = False
        self.load_count = 0
        self.last_early, self.pipe_last, self.pipe_valid = _false(R - 1), _false(C), _false(R + C - 1)
        self.deskew = _zeros(C, C)
        self.drain_left = 0
        self.cycle_count = 0

    def _ports(self, port: int) -> tuple[bool, bool, np.ndarray, bool]:
        R, C = self.rows, self.cols
        c_out = self.deskew[self._d_pick]
        c_out[C - 1] = self.acc[R - 1, C - 1]
        if port:
            return bool(self.pipe_valid[-1]), bool(self.pipe_last[-1]), c_out, False
        os_first = bool(self.pipe_last[-1])
        os_valid = os_first or self.drain_left != 0
        os_last = os_first if R == 1 else self.drain_left == 1
        return os_valid, os_last, c_out, os_first

    def step(self, load: bool, valid: bool, last: bool, a_in, b_in, port: int) -> Ports:
        """Present one cycle's inputs; return that cycle's outputs and clock the edge that ends it."""
        R, C = self.rows, self.cols
        c_valid, c_last, c_out, os_first = self._ports(port)
        # the top's combinational inputs to the registers
        first = valid and not self.streaming
        sw_in = valid and (first if port else last)
        a_take = np.asarray(a_in, dtype=np.int64) if valid else self._zero_a
        b_take = np.asarray(b_in, dtype=np.int64) if (load or (valid and port == 0)) else self._zero_b
        last_in = valid and last
        last_early_out = bool(self.last_early[-1]) if R > 1 else last_in
        commit_in = (load and self.load_count == R - 1) if port else last_early_out
        a_left = self.a_skew[self._a_pick]
        a_left[0] = a_take[0]
        sw_left = self.sw_skew[self._a_pick]
        sw_left[0] = sw_in
        b_top = self.b_skew[self._b_pick]
        b_top[0] = b_take[0]
        commit = self.commit_skew[self._b_pick]
        commit[0] = commit_in
        # every PE's inputs
        a_at = np.empty((R, C), dtype=np.int64)
        a_at[:, 0] = a_left
        a_at[:, 1:] = self.a_reg[:, :-1]
        sw_at = np.empty((R, C), dtype=bool)
        sw_at[:, 0] = sw_left
        sw_at[:, 1:] = self.sw_reg[:, :-1]
        b_at = np.concatenate((b_top[None, :], self.b_reg[:-1]))
        acc_above = np.concatenate((self._zero_row, self.acc[:-1]))
        dn_above = np.concatenate((self._false_row, self.dn_reg[:-1]))
        commit_at = np.broadcast_to(commit[None, :], (R, C))
        if port:  # WS: the switch multiplies by the shadow and makes it the active weight
            x = np.where(sw_at, self.s_reg, self.w_reg)
            acc_d = wrap(acc_above + a_at * x, self.acc_bits)
            s_d = np.where(commit_at, b_at, np.where(sw_at, 0, self.s_reg))
            w_d, dn_d = x, np.zeros((R, C), dtype=bool)
        else:  # OS: the switch (last beat) hands the finished sum to the drain chain
            total = wrap(self.s_reg + a_at * b_at, self.acc_bits)
            acc_d = np.where(sw_at, total, np.where(self.dn_reg, acc_above, self.acc))
            s_d = np.where(sw_at, 0, total)
            w_d, dn_d = self.w_reg, commit_at | dn_above
        bottom = self.acc[R - 1].copy()
        # the edge
        self.a_reg, self.sw_reg, self.b_reg = a_at, sw_at, b_at
        self.w_reg, self.s_reg, self.acc, self.dn_reg = w_d, s_d, acc_d, dn_d
        _shift(self.a_skew, a_take)
        _shift(self.sw_skew, sw_in)
        _shift(self.b_skew, b_take)
        _shift(self.commit_skew, commit_in)
        _shift(self.deskew, bottom)
        _shift(self.pipe_valid, valid)
        _shift(self.pipe_last, last_early_out)
        _shift(self.last_early, last_in)
        if valid:
            self.streaming = not last
        if load:
            self.load_count = 0 if self.load_count == R - 1 else self.load_count + 1
        if os_first:
            self.drain_left = R - 1
        elif self.drain_left:
            self.drain_left -= 1
        self.cycle_count = (self.cycle_count + 1) & 0xFFFFFFFF
        return Ports(c_valid, c_last, c_out, c_valid and c_last)

    def idle(self, port: int) -> Ports:
        """One cycle with no beat."""
        return self.step(False, False, False, self._zero_a, self._zero_b, port)

    def snapshot(self) -> dict:
        """Copies of every register (the values during the current cycle)."""
        return {k: np.copy(getattr(self, k)) if isinstance(getattr(self, k), np.ndarray) else getattr(self, k)
                for k in _REGISTERS}

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
                p = self.idle(port)
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
