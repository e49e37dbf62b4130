"""The contract's load/compute/write recurrence, evaluated exactly and fast (docs/microarchitecture.md).

Per fold f (compute F_f, load L_f, write W_f cycles):

- double buffering: ``ls_f = max(le_{f-1}, ce_{f-2})``, ``le_f = ls_f + L_f``,
  ``cs_f = max(ce_{f-1}, le_f)``, ``ce_f = cs_f + F_f``;
- single buffering: ``ls_f = ce_{f-1}``, ``cs_f = ls_f + L_f``, ``ce_f = cs_f + F_f``;
- writes: ``we_f = max(ce_f, we_{f-1}) + W_f``; the layer ends at ``max(ce_last, we_last)``.

``step`` is the one place the load/compute rule is written. It is a max-plus map of the state
(``(le, ce, ce_prev)``, or ``(ce,)`` without double buffering), so it commutes with adding a
constant to the whole state; so does any sequence of steps. The folds come as nested ``Loop``s
(``mapping.FoldRuns.loops``: runs of identical folds inside loops over tile spans). A loop's body
is one and the same map every iteration, so once an iteration moves every state component by the
same delta, every later iteration does too, and the rest of the loop is extrapolated exactly, at
every level of the nesting: the work grows with the distinct fold classes and the iterations
before the state settles (two or three on every zoo network, array and memory tried), not with
the fold count. A loop that never settles is stepped through, still exactly.

The write channel never feeds back into loads or compute; it is carried as the prefix sum P of
W and ``best = max_j(ce_j - P_{j-1})``, so ``we_last = P_last + max(0, best)``. Both shift
linearly across a loop's periods (P by the period's writes, ``ce_j - P_{j-1}`` by the delta minus
them), so an extrapolated loop's best is at its first or last period.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from accelsim.mapping.folds import Loop

_NONE = float("-inf")  # no fold yet: below every ce_j - P_{j-1}


def start_state(double_buffer: bool) -> list[int]:
    """The recurrence's state before the first fold: (le, ce, ce_prev), or (ce,) without double buffering."""
    return [0, 0, 0] if double_buffer else [0]


def step(state: list[int], f: int, l_: int) -> tuple[int, list[int]]:
    """One fold (compute ``f``, load ``l_`` cycles) after ``state``: its compute start and the next state."""
    if len(state) == 3:
        le, ce, ce_prev = state
        le2 = max(le, ce_prev) + l_
        cs = max(ce, le2)
        return cs, [le2, cs + f, ce]
    cs = state[0] + l_
    return cs, [cs + f]


@dataclass(frozen=True, eq=False)
class Schedule:
    """Compute start cycle of every fold (``None`` unless asked for) and the layer's end."""

    compute_start: np.ndarray | None
    compute_end: int
    write_end: int

    @property
    def cycles(self) -> int:
        return max(self.compute_end, self.write_end)


class _Evaluator:
    """Walks nested Loops over fold classes (compute ``F``, load ``L``, write ``W`` cycles each)."""

    def __init__(self, F: Sequence[int], L: Sequence[int], W: Sequence[int], double_buffer: bool,
                 record: np.ndarray | None):
        self.F, self.L, self.W = F, L, W
        self.state = start_state(double_buffer)
        self.P = 0          # writes so far (cycles)
        self.best = _NONE   # max over folds so far of ce_j - P_{j-1}
        self.record, self.pos = record, 0
        self._sizes: dict[int, int] = {}

    def folds(self, nodes: tuple[Loop, ...]) -> int:
        """Folds in one pass over ``nodes``."""
        key = id(nodes)
        if key not in self._sizes:
            self._sizes[key] = sum(n.count * (1 if isinstance(n.body, int) else self.folds(n.body)) for n in nodes)
        return self._sizes[key]

    def run(self, nodes: tuple[Loop, ...]) -> None:
        for node in nodes:
            self.loop(node)

    def fold(self, c: int) -> None:
        f = self.F[c]
        cs, self.state = step(self.state, f, self.L[c])
        self.best = max(self.best, cs + f - self.P)
        self.P += self.W[c]
        if self.record is not None:
            self.record[self.pos] = cs
            self.pos += 1

    def loop(self, node: Loop) -> None:
        body, count = node.body, node.count
        per_iter = 0 if self.record is None else 1 if isinstance(body, int) else self.folds(body)
        outer_best, top = self.best, _NONE
        for i in range(1, count + 1):
            before, P = self.state, self.P
            self.best = _NONE
            if isinstance(body, int):
                self.fold(body)
            else:
                self.run(body)
            top = max(top, self.best)
            d = self.state[0] - before[0]
            if i < count and all(a - b == d for a, b in zip(self.state, before, strict=True)):
                top = max(top, self._extrapolate(count - i, d, self.P - P, per_iter))
                break
        self.best = max(outer_best, top)

    def _extrapolate(self, rest: int, d: int, w: int, per_iter: int) -> float:
        """The ``rest`` remaining iterations of a loop whose last iteration moved every state component by
        ``d`` (and P by ``w``): each repeats it shifted by d. Sets the state, P and the record; returns the
        best of those iterations (the last one's, shifted by d - w per iteration: at the first or last)."""
        self.state = [v + rest * d for v in self.state]
        self.P += rest * w
        slope = d - w
        top = self.best + (rest if slope > 0 else 1) * slope
        if self.record is not None:
            ref = self.record[self.pos - per_iter:self.pos]
            idx = np.arange(rest * per_iter, dtype=np.int64)
            self.record[self.pos:self.pos + len(idx)] = ref[idx % per_iter] + (idx // per_iter + 1) * d
            self.pos += len(idx)
        return top


def schedule_loops(loops: tuple[Loop, ...], F: ArrayLike, L: ArrayLike, W: ArrayLike, double_buffer: bool,
                   folds: int | None = None) -> Schedule:
    """Evaluate the recurrence for the fold sequence ``loops`` over fold classes with compute ``F``, load
    ``L`` and write ``W`` cycles (int arrays indexed by class). ``folds``: the sequence's length, to also
    record every fold's compute start (memory proportional to it); ``None`` records nothing."""
    record = None if folds is None else np.empty(folds, dtype=np.int64)
    f, l_, w = (np.asarray(x, dtype=np.int64).tolist() for x in (F, L, W))
    ev = _Evaluator(f, l_, w, double_buffer, record)
    ev.run(loops)
    if record is not None and ev.pos != folds:
        raise ValueError(f"schedule_loops: the loops hold {ev.pos} folds, not {folds}")
    if ev.best == _NONE:
        return Schedule(record, 0, 0)
    return Schedule(record, ev.state[1 if double_buffer else 0], ev.P + max(0, int(ev.best)))


def schedule(F: ArrayLike, L: ArrayLike, W: ArrayLike, double_buffer: bool) -> Schedule:
    """Evaluate the recurrence for folds with compute ``F``, load ``L``, write ``W`` cycles (per-fold int
    arrays), recording every fold's compute start: runs of consecutive identical folds are the Loops."""
    L = np.asarray(L, dtype=np.int64)
    n = len(L)
    F = np.broadcast_to(np.asarray(F, dtype=np.int64), (n,))
    W = np.asarray(W, dtype=np.int64)
    change = np.ones(n, dtype=bool)
    change[1:] = (F[1:] != F[:-1]) | (L[1:] != L[:-1]) | (W[1:] != W[:-1])
    starts = np.flatnonzero(change)
    counts = np.diff(np.append(starts, n))
    loops = tuple(Loop(int(c), i) for i, c in enumerate(counts.tolist()))
    return schedule_loops(loops, F[starts], L[starts], W[starts], double_buffer, folds=n)
