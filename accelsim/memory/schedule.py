"""The contract's load/compute/write recurrence, evaluated exactly and fast (docs/microarchitecture.md).

Per fold f (fold cycles F_f, occupancy O_f, release B_f, load L_f, write W_f cycles; serial folds
have O = B = F, pipelined ones O_f = ``Dataflow.occupancy`` and B_f = their beats T_f):

- double buffering: ``ls_f = max(le_{f-1}, be_{f-2})``, ``le_f = ls_f + L_f``,
  ``cs_f = max(cs_{f-1} + O_{f-1}, le_f)``;
- single buffering: ``ls_f = be_{f-1}``, ``le_f = ls_f + L_f``, ``cs_f = max(cs_{f-1} + O_{f-1}, le_f)``;
- ``be_f = cs_f + B_f`` (its buffer is released), ``ce_f = cs_f + F_f`` (the cycle after its ``done``);
- writes: ``we_f = max(ce_f, we_{f-1}) + W_f``; the layer ends at ``max(ce_last, we_last)``.

``step`` is the one place the load/compute rule is written. It is a max-plus map of the state
(``(le, cs + O, be, be_prev)``, or ``(cs + O, be)`` without double buffering), so it commutes with
adding a constant to the whole state; so does any sequence of steps. The folds come as nested ``Loop``s
(``mapping.FoldRuns.loops``: runs of identical folds inside loops over tile spans). A loop's body
is one and the same map every iteration, so once an iteration moves every state component by the
same delta, every later iteration does too, and the rest of the loop is extrapolated exactly, at
every level of the nesting; likewise when the state after an iteration is the state p iterations
earlier (p <= 4) shifted by one delta, the loop repeats in blocks of p. The work grows with the
distinct fold classes and the iterations before the state settles (two or three on every zoo
network, array and memory tried), not with the fold count. A loop that never settles is stepped
through, still exactly. A pipelined run of identical folds is thereby one fill, a steady state of
max(O, L) cycles per fold (or what the buffers allow) and one drain (the last fold's F): the
contract's closed form for a run.

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
# Longest period (in loop iterations) the evaluator looks for: pipelined folds with double buffering
# settle to a pattern of two (fold f+2's load waits for fold f's release), so a loop whose body has an
# odd number of such folds repeats every second iteration.
_MAX_PERIOD = 4


def start_state(double_buffer: bool) -> list[int]:
    """The recurrence's state before the first fold: (le, cs + O, be, be_prev) of the fold before, or
    (cs + O, be) without double buffering."""
    return [0, 0, 0, 0] if double_buffer else [0, 0]


def step(state: list[int], o: int, b: int, l_: int) -> tuple[int, list[int]]:
    """One fold (occupancy ``o``, release ``b``, load ``l_`` cycles) after ``state``: its compute start and
    the next state."""
    if len(state) == 4:
        le, nxt, be, be_prev = state
        le2 = max(le, be_prev) + l_
        cs = max(nxt, le2)
        return cs, [le2, cs + o, cs + b, be]
    nxt, be = state
    cs = max(nxt, be + l_)
    return cs, [cs + o, cs + b]


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
    """Walks nested Loops over fold classes (fold ``F``, occupancy ``O``, release ``B``, load ``L``, write
    ``W`` cycles each)."""

    def __init__(self, F: Sequence[int], occ: Sequence[int], B: Sequence[int], L: Sequence[int], W: Sequence[int],
                 double_buffer: bool, record: np.ndarray | None):
        self.F, self.occ, self.B, self.L, self.W = F, occ, B, L, W
        self.state = start_state(double_buffer)
        self.ce = 0         # the last fold's compute end
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
        cs, self.state = step(self.state, self.occ[c], self.B[c], self.L[c])
        self.ce = cs + f
        self.best = max(self.best, cs + f - self.P)
        self.P += self.W[c]
        if self.record is not None:
            self.record[self.pos] = cs
            self.pos += 1

    def loop(self, node: Loop) -> None:
        body, count = node.body, node.count
        per_iter = 0 if self.record is None else 1 if isinstance(body, int) else self.folds(body)
        outer_best, top = self.best, _NONE
        starts: list[tuple[list[int], int]] = []  # (state, P) before each of the last iterations
        bests: list[float] = []                    # the best of each of those iterations
        i = 0
        while i < count:
            starts.append((self.state, self.P))
            self.best = _NONE
            if isinstance(body, int):
                self.fold(body)
            else:
                self.run(body)
            bests.append(self.best)
            top = max(top, self.best)
            i += 1
            for p in range(1, min(_MAX_PERIOD, len(starts)) + 1):
                ref, ref_P = starts[-p]
                d = self.state[0] - ref[0]
                if (count - i) // p and all(a - b == d for a, b in zip(self.state, ref, strict=True)):
                    blocks = (count - i) // p
                    top = max(top, self._extrapolate(blocks, p, d, self.P - ref_P, per_iter, max(bests[-p:])))
                    i += blocks * p
                    starts.clear()
                    bests.clear()
                    break
            del starts[:-_MAX_PERIOD], bests[:-_MAX_PERIOD]
        self.best = max(outer_best, top)

    def _extrapolate(self, blocks: int, p: int, d: int, w: int, per_iter: int, best: float) -> float:
        """``blocks`` more blocks of ``p`` iterations of a loop whose last p iterations moved every state
        component by ``d`` (and P by ``w``): each block repeats them shifted by d. Sets the state, P and the
        record; returns the best of those blocks (the last block's ``best``, shifted by d - w a block: at the
        first or last block)."""
        self.state = [v + blocks * d for v in self.state]
        self.ce += blocks * d
        self.P += blocks * w
        slope = d - w
        top = best + (blocks if slope > 0 else 1) * slope
        if self.record is not None:
            span = p * per_iter
            ref = self.record[self.pos - span:self.pos]
            idx = np.arange(blocks * span, dtype=np.int64)
            self.record[self.pos:self.pos + len(idx)] = ref[idx % span] + (idx // span + 1) * d
            self.pos += len(idx)
        return top


def schedule_loops(loops: tuple[Loop, ...], F: ArrayLike, L: ArrayLike, W: ArrayLike, double_buffer: bool,
                   folds: int | None = None, occupancy: ArrayLike | None = None,
                   release: ArrayLike | None = None) -> Schedule:
    """Evaluate the recurrence for the fold sequence ``loops`` over fold classes with fold ``F``, load
    ``L`` and write ``W`` cycles (int arrays indexed by class), ``occupancy`` and ``release`` (default
    ``F``: serial folds). ``folds``: the sequence's length, to also record every fold's compute start
    (memory proportional to it); ``None`` records nothing."""
    record = None if folds is None else np.empty(folds, dtype=np.int64)
    f, l_, w = (np.asarray(x, dtype=np.int64).tolist() for x in (F, L, W))
    o, b = (f if x is None else np.asarray(x, dtype=np.int64).tolist() for x in (occupancy, release))
    ev = _Evaluator(f, o, b, l_, w, double_buffer, record)
    ev.run(loops)
    if record is not None and ev.pos != folds:
        raise ValueError(f"schedule_loops: the loops hold {ev.pos} folds, not {folds}")
    if ev.best == _NONE:
        return Schedule(record, 0, 0)
    return Schedule(record, ev.ce, ev.P + max(0, int(ev.best)))


def schedule(F: ArrayLike, L: ArrayLike, W: ArrayLike, double_buffer: bool, occupancy: ArrayLike | None = None,
             release: ArrayLike | None = None) -> Schedule:
    """Evaluate the recurrence for folds with fold ``F``, load ``L``, write ``W`` cycles, ``occupancy`` and
    ``release`` (per-fold int arrays; default ``F``: serial), recording every fold's compute
    start: runs of consecutive identical folds are the Loops."""
    L = np.asarray(L, dtype=np.int64)
    n = len(L)
    F, occ, B = (np.broadcast_to(np.asarray(F if x is None else x, dtype=np.int64), (n,))
                 for x in (F, occupancy, release))
    W = np.asarray(W, dtype=np.int64)
    change = np.ones(n, dtype=bool)
    change[1:] = ((F[1:] != F[:-1]) | (occ[1:] != occ[:-1]) | (B[1:] != B[:-1]) | (L[1:] != L[:-1])
                  | (W[1:] != W[:-1]))
    starts = np.flatnonzero(change)
    counts = np.diff(np.append(starts, n))
    loops = tuple(Loop(int(c), i) for i, c in enumerate(counts.tolist()))
    return schedule_loops(loops, F[starts], L[starts], W[starts], double_buffer, folds=n, occupancy=occ[starts],
                          release=B[starts])
