"""The driver's side of the fold protocol: when a fold's first beat may come, and what the ports carry.

docs/microarchitecture.md, "Issue". ``FoldDriver`` presents the beats of the folds it was given
(each on its own consecutive cycles, consecutive folds overlapping in pipelined mode: a WS/IS
fold's load beats during the previous fold's stream), decides from the folds it has presented
(their beats' cycles, and ``done``) whether the next fold's first beat may be presented in a
cycle, and attributes the output rows to their folds (rows appear in fold order; ``done`` ends
a fold's). It is the one driver of the stepping model (``step_layer``), of ``run_folds`` and of
the RTL testbench, so the models and the RTL are driven identically; the occupancy rule is
derived from these events, never from the closed form (``Dataflow.occupancy``) the fast model
uses, which property tests compare.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from accelsim.systolic.beats import Beats
from accelsim.systolic.core import SIGNALS, ArrayCore, CoreTrace, Ports


@dataclass(eq=False)
class Issued:
    """A fold the driver presented: its beats, first-beat cycle, output rows so far and ``done`` cycle."""

    beats: Beats
    start: int
    rows: list[np.ndarray] = field(default_factory=list)
    row_cycles: list[int] = field(default_factory=list)
    done: int | None = None

    @property
    def first_stream(self) -> int:
        """Cycle of the fold's first streaming beat."""
        return self.start + self.beats.cycles - self.beats.stream

    @property
    def last_beat(self) -> int:
        return self.start + self.beats.cycles - 1

    def trace(self, signals: dict[str, np.ndarray] | None = None) -> CoreTrace:
        """The fold's outputs with cycles counted from its first beat."""
        cols = self.beats.cols
        out = np.array(self.rows, dtype=np.int64).reshape(len(self.rows), cols)
        rel = np.array(self.row_cycles, dtype=np.int64) - self.start
        assert self.done is not None
        return CoreTrace(out, rel, self.done - self.start, signals, self.start)


class FoldDriver:
    """Presents folds on the ports of a ROWS x COLS ``systolic_top``, serial or pipelined."""

    def __init__(self, rows: int, cols: int, pipeline: bool):
        self.rows, self.cols, self.pipeline = rows, cols, pipeline
        self.issued: list[Issued] = []
        self._open: deque[Issued] = deque()  # presented, not done yet, in order
        self._zero_a = np.zeros(rows, dtype=np.int64)
        self._zero_b = np.zeros(cols, dtype=np.int64)
        self.port = 0

    def may_issue(self, beats: Beats, t: int) -> bool:
        """Whether ``beats``' first beat may be presented in cycle t (after every fold issued so far)."""
        if not self.issued:
            return True
        p = self.issued[-1]
        overlap = self.pipeline and beats.dataflow.preloads and p.beats.dataflow.preloads
        if t <= p.last_beat and not overlap:  # only a WS/IS load may come during the previous stream
            return False
        if not self.pipeline or beats.dataflow_port != p.beats.dataflow_port:
            return p.done is not None and t > p.done  # serial, or the dataflow changes: the pipeline drains
        if beats.dataflow.preloads:
            # the shadow registers are free from the previous fold's first streaming beat on, and this
            # fold's stream must follow the previous one's
            return t >= p.first_stream and t + beats.cycles - beats.stream > p.last_beat
        # OS: streams do not overlap, and last beats are at least R cycles apart
        return t > p.last_beat and t + beats.cycles - 1 >= p.last_beat + self.rows

    def issue(self, beats: Beats, t: int) -> Issued:
        if (beats.rows, beats.cols) != (self.rows, self.cols):
            raise ValueError(f"issue: beats for {beats.rows}x{beats.cols}, array is {self.rows}x{self.cols}")
        if not self.may_issue(beats, t):
            raise ValueError(f"issue: fold {len(self.issued)} may not start in cycle {t}")
        f = Issued(beats, t)
        self.issued.append(f)
        self._open.append(f)
        self.port = beats.dataflow_port
        return f

    def inputs(self, t: int) -> tuple[bool, bool, bool, np.ndarray, np.ndarray, int]:
        """(load, valid, last, a_in, b_in, dataflow) in cycle t: the presented folds' beats, merged."""
        load = valid = last = False
        a_in, b_in = self._zero_a, self._zero_b
        for f in self.issued[-2:]:
            i = t - f.start
            if not 0 <= i < f.beats.cycles:
                continue
            bt = f.beats
            if bt.load[i]:
                load, b_in = True, bt.b_in[i]
            if bt.valid[i]:
                valid, last, a_in = True, bool(bt.last[i]), bt.a_in[i]
                if not bt.dataflow.preloads:
                    b_in = bt.b_in[i]
        return load, valid, last, a_in, b_in, self.port

    def observe(self, t: int, ports: Ports) -> Issued | None:
        """Attribute cycle t's outputs; the fold whose ``done`` this is, if any."""
        if not (ports.c_valid or ports.done):
            return None
        if not self._open:
            raise RuntimeError(f"cycle {t}: an output row with no fold in flight")
        f = self._open[0]
        if ports.c_valid:
            f.rows.append(ports.c_out)
            f.row_cycles.append(t)
        if ports.done:
            f.done = t
            self._open.popleft()
            return f
        return None

    @property
    def busy(self) -> bool:
        return bool(self._open)

    @property
    def current(self) -> Issued | None:
        """The oldest fold without ``done``: the one the next output row belongs to."""
        return self._open[0] if self._open else None


def run_folds(core: ArrayCore, folds: Sequence[Beats], pipeline: bool, gaps: Sequence[int] | None = None,
              record: bool = False) -> list[CoreTrace]:
    """Drive ``folds`` through ``core`` from its current state, each at its earliest cycle plus
    ``gaps[i]`` idle cycles; each fold's trace counts cycles from its own first beat (``start``: from
    the run's first cycle). ``record`` keeps every register of every cycle in each fold's trace,
    from its first beat to its ``done``."""
    drv = FoldDriver(core.rows, core.cols, pipeline)
    gaps = [0] * len(folds) if gaps is None else list(gaps)
    if len(gaps) != len(folds) or any(g < 0 for g in gaps):
        raise ValueError("run_folds: one gap >= 0 per fold")
    limit = sum(b.cycles for b in folds) + (2 * (core.rows + core.cols) + 2) * (len(folds) + 1) + sum(gaps)
    history: list[dict] = []
    nxt, wait, t = 0, None, 0
    while nxt < len(folds) or drv.busy:
        if t > limit:
            raise RuntimeError(f"run_folds: not done within {limit} cycles")
        if nxt < len(folds) and drv.may_issue(folds[nxt], t):
            wait = gaps[nxt] if wait is None else wait
            if wait == 0:
                drv.issue(folds[nxt], t)
                nxt, wait = nxt + 1, None
            else:
                wait -= 1
        regs = core.snapshot() if record else None
        load, valid, last, a_in, b_in, port = drv.inputs(t)
        p = core.step(load, valid, last, a_in, b_in, port)
        if regs is not None:
            regs.update(c_valid=p.c_valid, c_last=p.c_last, c_out=p.c_out, done=p.done)
            history.append(regs)
        drv.observe(t, p)
        t += 1
    traces = []
    for f in drv.issued:
        signals = None
        if record:
            assert f.done is not None
            span = history[f.start:f.done + 1]
            signals = {k: np.array([r[k] for r in span]) for k in SIGNALS}
        traces.append(f.trace(signals))
    return traces
