"""Folds: the tiles of one GEMM in the order the array runs them (docs/microarchitecture.md).

A fold covers ``A[m0:m0+mt, k0:k0+kt]``, ``B[k0:k0+kt, n0:n0+nt]`` and contributes to the C block
``C[m0:m0+mt, n0:n0+nt]``. The dataflow decides which two axes are tiled (``rows`` by ROWS,
``cols`` by COLS; tiles cut at multiples from 0, the last one possibly partial) and which is
streamed whole:

- OS: m by ROWS, n by COLS, all of K streamed; order m-tile (outer), n-tile (inner).
- WS: k by ROWS, n by COLS, all of M streamed; order n-tile, k-tile.
- IS: k by ROWS, m by COLS, all of N streamed; order m-tile, k-tile.

So the k-tiles of one C block are always consecutive folds, and every fold's A tile is mt x kt,
its B tile kt x nt. ``Folds`` holds a whole GEMM as parallel int64 arrays (VGG-16 on 32x32 WS
is ~135k folds); ``Folds[i]`` is one ``Fold``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from accelsim.systolic.dataflow import Dataflow, get


@dataclass(frozen=True)
class Fold:
    """One fold: its index in the GEMM's order and its tile bounds."""

    index: int
    m0: int
    mt: int
    k0: int
    kt: int
    n0: int
    nt: int
    first_k: bool
    last_k: bool


def tiles(length: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Starts and lengths of the tiles cutting ``length`` at multiples of ``size``."""
    starts = np.arange(0, length, size, dtype=np.int64)
    return starts, np.minimum(size, length - starts)


@dataclass(frozen=True, eq=False)
class Folds:
    """Every fold of ``C[m, n] = A[m, k] @ B[k, n]`` on a rows x cols array, in execution order."""

    dataflow: Dataflow
    m: int
    k: int
    n: int
    rows: int
    cols: int
    m0: np.ndarray
    mt: np.ndarray
    k0: np.ndarray
    kt: np.ndarray
    n0: np.ndarray
    nt: np.ndarray

    def __len__(self) -> int:
        return len(self.m0)

    def __getitem__(self, i: int) -> Fold:
        i = range(len(self))[i]
        k0, kt = int(self.k0[i]), int(self.kt[i])
        return Fold(i, int(self.m0[i]), int(self.mt[i]), k0, kt, int(self.n0[i]), int(self.nt[i]),
                    k0 == 0, k0 + kt == self.k)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    @property
    def stream(self) -> int:
        """Streaming beats of every fold (the streamed axis is never tiled)."""
        return self.dataflow.stream_length(self.m, self.k, self.n)

    @property
    def fold_cycles(self) -> int:
        """Cycles of every fold: the same for all folds of a GEMM (partial tiles are zero-padded)."""
        return self.dataflow.fold_cycles(self.rows, self.cols, self.stream)

    @property
    def first_k(self) -> np.ndarray:
        return self.k0 == 0

    @property
    def last_k(self) -> np.ndarray:
        return self.k0 + self.kt == self.k

    @property
    def macs(self) -> int:
        return self.m * self.k * self.n


def enumerate_folds(dataflow: str | Dataflow, m: int, k: int, n: int, rows: int, cols: int) -> Folds:
    """All folds of an (m, k, n) GEMM under ``dataflow`` in the contract's order."""
    df = get(dataflow)
    length = {"m": m, "k": k, "n": n}
    size = {df.rows: rows, df.cols: cols, df.streamed: length[df.streamed]}
    cut = {ax: tiles(length[ax], size[ax]) for ax in "mkn"}
    outer, inner = df.order
    n_inner = len(cut[inner][0])
    o, i = np.divmod(np.arange(len(cut[outer][0]) * n_inner, dtype=np.int64), n_inner)
    pick = {outer: o, inner: i, df.streamed: np.zeros_like(o)}
    arrays = {}
    for ax in "mkn":
        starts, lens = cut[ax]
        arrays[f"{ax}0"], arrays[f"{ax}t"] = starts[pick[ax]], lens[pick[ax]]
    return Folds(df, m, k, n, rows, cols, **arrays)
