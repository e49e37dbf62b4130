"""The contract's load/compute/write recurrence, evaluated exactly and fast (docs/microarchitecture.md).

Per fold f (compute F_f, load L_f, write W_f cycles):

- double buffering: ``ls_f = max(le_{f-1}, ce_{f-2})``, ``le_f = ls_f + L_f``,
  ``cs_f = max(ce_{f-1}, le_f)``, ``ce_f = cs_f + F_f``;
- single buffering: ``ls_f = ce_{f-1}``, ``cs_f = ls_f + L_f``, ``ce_f = cs_f + F_f``;
- writes: ``we_f = max(ce_f, we_{f-1}) + W_f``; the layer ends at ``max(ce_last, we_last)``.

Every step is a max-plus map of the state (le, ce, ce_prev), so it commutes with adding a
constant to the whole state. Consecutive identical folds are grouped into runs; once one step of
a run moves every state component by the same delta, every later step of that run does too, and
the rest of the run is extrapolated exactly. The write channel never feeds back into loads or
compute, so it is evaluated afterwards in one vectorized pass
(``we_last = P_last + max_j(ce_j - P_{j-1})`` with P the prefix sums of W).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike


@dataclass(frozen=True, eq=False)
class Schedule:
    """Compute start cycle of every fold and the layer's end."""

    compute_start: np.ndarray
    compute_end: int
    write_end: int

    @property
    def cycles(self) -> int:
        return max(self.compute_end, self.write_end)


def _runs(*arrays: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Starts and lengths of the runs of consecutive folds equal in every array."""
    n = len(arrays[0])
    change = np.zeros(n, dtype=bool)
    change[:1] = True
    for a in arrays:
        change[1:] |= a[1:] != a[:-1]
    starts = np.flatnonzero(change)
    return starts, np.diff(np.append(starts, n))


def schedule(F: ArrayLike, L: ArrayLike, W: ArrayLike, double_buffer: bool) -> Schedule:
    """Evaluate the recurrence for folds with compute ``F``, load ``L``, write ``W`` cycles (int arrays)."""
    L = np.asarray(L, dtype=np.int64)
    n = len(L)
    F = np.broadcast_to(np.asarray(F, dtype=np.int64), (n,))
    W = np.asarray(W, dtype=np.int64)
    cs_out = np.empty(n, dtype=np.int64)
    # state: (le, ce, ce_prev) with double buffering, (ce,) without
    state = [0, 0, 0] if double_buffer else [0]
    starts, lengths = _runs(F, L)
    for s, count, f, l_ in zip(starts.tolist(), lengths.tolist(), F[starts].tolist(), L[starts].tolist(), strict=True):
        j = 0
        while j < count:
            if double_buffer:
                le, ce, ce_prev = state
                le2 = max(le, ce_prev) + l_
                cs = max(ce, le2)
                new = [le2, cs + f, ce]
            else:
                cs = state[0] + l_
                new = [cs + f]
            cs_out[s + j] = cs
            j += 1
            d = new[0] - state[0]
            if j < count and all(a - b == d for a, b in zip(new, state, strict=True)):
                rest = count - j
                cs_out[s + j:s + count] = cs + d * np.arange(1, rest + 1, dtype=np.int64)
                new = [v + rest * d for v in new]
                j = count
            state = new
    ce_all = cs_out + F
    compute_end = int(ce_all[-1]) if n else 0
    P = np.cumsum(W)
    write_end = int(P[-1] + max(0, int(np.max(ce_all - (P - W))))) if n else 0
    return Schedule(cs_out, compute_end, write_end)
