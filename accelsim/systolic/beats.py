"""The port-level interface of ``systolic_top``: the beats a driver presents for one fold.

This is what the RTL testbench drives and what ``ArrayCore`` consumes, cycle t = row t of every
array (docs/microarchitecture.md, "Beats"):

- OS: K streaming beats; beat k: ``a_in[i] = A[m0+i, k]``, ``b_in[j] = B[k, n0+j]``.
- WS: R ``load`` beats, beat p carrying row R-1-p of the zero-padded B tile on ``b_in``, then
  ``mt`` streaming beats (the fold's chunk of M rows, S_f = mt); beat s: ``a_in[i] = A[m0+s, k0+i]``.
- IS: the WS beats of the transposed problem C^T = B^T A^T: the pinned tile is
  ``A[m0+j, k0+i]`` at PE(i, j) (loaded like WS's B tile) and streaming beat s (of the fold's
  chunk of N columns, S_f = nt) carries ``a_in[i] = B[k0+i, n0+s]``.

Lanes beyond the tile are 0. The output rows map back to C through ``Beats.scatter``: OS rows
come out bottom array row first, WS row s is ``C[m0+s, n0:n0+nt]``, IS row s is
``C[m0:m0+mt, n0+s]`` (k-tile partial sums in WS/IS).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from accelsim.mapping.dataflow import Dataflow, get
from accelsim.mapping.folds import Fold


@dataclass(frozen=True, eq=False)
class Beats:
    """Per-cycle port values of one fold (T beat cycles) and how its output rows map into C."""

    load: np.ndarray
    valid: np.ndarray
    last: np.ndarray
    a_in: np.ndarray
    b_in: np.ndarray
    dataflow: Dataflow
    fold: Fold
    rows: int
    cols: int

    @property
    def dataflow_port(self) -> int:
        return self.dataflow.port

    @property
    def cycles(self) -> int:
        """T: the number of beat cycles."""
        return len(self.valid)

    @property
    def stream(self) -> int:
        return int(self.valid.sum())

    @property
    def out_rows(self) -> int:
        """How many output rows (``c_valid`` cycles) the fold produces."""
        return self.dataflow.output_rows(self.rows, self.stream)

    @property
    def block(self) -> tuple[slice, slice]:
        """The C block this fold's outputs land in: ``C[block]`` has shape (mt, nt)."""
        f = self.fold
        return slice(f.m0, f.m0 + f.mt), slice(f.n0, f.n0 + f.nt)

    def scatter(self, out: np.ndarray) -> np.ndarray:
        """Output rows ``(out_rows, COLS)`` (in the order they appeared) as the (mt, nt) C tile."""
        out = np.asarray(out)
        if out.shape != (self.out_rows, self.cols):
            raise ValueError(f"scatter: expected output rows of shape {(self.out_rows, self.cols)}, got {out.shape}")
        return scatter(self.dataflow, self.fold, out)


def scatter(dataflow: str | Dataflow, fold: Fold, out: np.ndarray) -> np.ndarray:
    """A fold's output rows (in order of appearance, one column per array column) as its C tile."""
    name = get(dataflow).name
    if name == "os":
        return out[::-1][: fold.mt, : fold.nt]
    if name == "ws":
        return out[:, : fold.nt]
    return out[:, : fold.mt].T


def fold_beats(cfg, dataflow: str | Dataflow, A: np.ndarray, B: np.ndarray, fold: Fold) -> Beats:
    """The beats of ``fold`` of ``A @ B`` on the ``cfg.rows`` x ``cfg.cols`` array (int64 lanes)."""
    df = get(dataflow)
    R, C = cfg.rows, cfg.cols
    f = fold
    a_tile = np.asarray(A[f.m0:f.m0 + f.mt, f.k0:f.k0 + f.kt], dtype=np.int64)
    b_tile = np.asarray(B[f.k0:f.k0 + f.kt, f.n0:f.n0 + f.nt], dtype=np.int64)
    if df.name == "os":
        stream, pre = f.kt, 0
    elif df.name == "ws":
        stream, pre = f.mt, R
    else:
        stream, pre = f.nt, R
    T = pre + stream
    load = np.zeros(T, dtype=bool)
    valid = np.zeros(T, dtype=bool)
    last = np.zeros(T, dtype=bool)
    a_in = np.zeros((T, R), dtype=np.int64)
    b_in = np.zeros((T, C), dtype=np.int64)
    load[:pre] = True
    valid[pre:] = True
    last[T - 1] = True
    if df.name == "os":
        a_in[:, : f.mt] = a_tile.T
        b_in[:, : f.nt] = b_tile
    else:
        pinned, streamed = (b_tile, a_tile) if df.name == "ws" else (a_tile.T, b_tile.T)
        tile = np.zeros((R, C), dtype=np.int64)
        tile[: pinned.shape[0], : pinned.shape[1]] = pinned
        b_in[:pre] = tile[::-1]
        a_in[pre:, : streamed.shape[1]] = streamed
    return Beats(load, valid, last, a_in, b_in, df, f, R, C)
