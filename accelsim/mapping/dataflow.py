"""The three dataflows, one object each: where a reader finds each one's mapping and timing rule.

Every rule here is docs/microarchitecture.md's, for ``C[M, N] = A[M, K] @ B[K, N]`` on an
R x C array (R = ROWS, C = COLS):

====  ======  =======  =======  ==========  ==========================  ========================
flow  pinned  rows <-  cols <-  streamed    fold cycles (S_f beats)     fold order (out -> in)
====  ======  =======  =======  ==========  ==========================  ========================
OS    C       M        N        K, whole    S_f + 2R + C - 2            m-tile, n-tile
WS    B       K        N        M, chunked  R (preload) + S_f + R+C-1   m-chunk, n-tile, k-tile
IS    A       K        M        N, chunked  R (preload) + S_f + R+C-1   n-chunk, m-tile, k-tile
====  ======  =======  =======  ==========  ==========================  ========================

The fold order is the fixed mapping's; a ``Mapping`` (``mapping.space``) may swap the two tile loops
and pick a smaller chunk (docs/microarchitecture.md, "Mappings").

S_f is fold f's number of streaming beats: all of K in OS; in WS/IS the length of the fold's
chunk of the streamed axis, cut at multiples of the chunk S (``mapping.stream_chunk``: the most
beats whose S x COLS block of ACC_W partial sums fits the usable ofmap SRAM), the last chunk
possibly partial. A fold's beats are its preload beats (WS/IS: R) then its S_f streaming
beats. Each streaming beat leaves the array R + C - 1 cycles later (skew, array, deskew): as an
output row in WS/IS, and in OS the last one starts the R-cycle drain of the accumulators (bottom
row first).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import overload

import numpy as np

from accelsim.hardware.config import DATAFLOW_PORT, DATAFLOWS, ConfigError


@dataclass(frozen=True)
class Dataflow:
    """How one dataflow maps a GEMM onto the array and what one fold costs.

    ``rows``/``cols``: the GEMM axis (``"m"``, ``"k"``, ``"n"``) cut into ROWS/COLS-sized tiles;
    ``streamed``: the axis presented one beat per cycle (whole in OS, cut into chunks in WS/IS);
    ``order``: the fixed mapping's fold loops, outermost first (WS/IS: the streamed axis's chunks, then
    the two tile loops); ``port``: the RTL ``dataflow`` input (IS runs on the WS datapath).
    """

    name: str
    port: int
    pinned: str
    rows: str
    cols: str
    streamed: str
    order: tuple[str, ...]
    formula: str

    @property
    def preloads(self) -> bool:
        """WS and IS load a stationary tile (R ``load`` beats) before streaming."""
        return self.port == 1

    @property
    def chunked(self) -> bool:
        """WS and IS cut the streamed axis into chunks (their partial sums live in the ofmap SRAM);
        OS streams all of K (its partial sums live in the PEs)."""
        return self.preloads

    def stream_length(self, m: int, k: int, n: int) -> int:
        """Length of the whole streamed axis."""
        return {"m": m, "k": k, "n": n}[self.streamed]

    def beats(self, rows: int, stream: int) -> int:
        """Beat cycles T of a fold: preload beats plus streaming beats."""
        return (rows if self.preloads else 0) + stream

    @overload
    def fold_cycles(self, rows: int, cols: int, stream: int) -> int: ...
    @overload
    def fold_cycles(self, rows: int, cols: int, stream: np.ndarray) -> np.ndarray: ...

    def fold_cycles(self, rows: int, cols: int, stream: int | np.ndarray) -> int | np.ndarray:
        """Cycles from a fold's first beat to the cycle after its ``done`` (``stream``: the fold's
        streaming beats S_f, an int or an array of them)."""
        if self.preloads:
            return 2 * rows + cols + stream - 1
        return stream + 2 * rows + cols - 2

    @overload
    def occupancy(self, rows: int, stream: int, next_stream: int | None = None) -> int: ...
    @overload
    def occupancy(self, rows: int, stream: np.ndarray, next_stream: np.ndarray | None = None) -> np.ndarray: ...

    def occupancy(self, rows: int, stream: int | np.ndarray,
                  next_stream: int | np.ndarray | None = None) -> int | np.ndarray:
        """Pipelined issue: cycles from a fold's first beat to the earliest first beat of the next fold of
        the same ``dataflow`` port (``stream``: this fold's S_f; ``next_stream``: the next fold's, default
        the same). WS/IS: ``max(R, S_f)`` (shadow registers, then the stream); OS:
        ``max(K_f, K_f + R - K_{f+1})`` (streams in turn, last beats R apart)."""
        if self.preloads:
            occ = np.maximum(rows, stream)
        else:
            nxt = stream if next_stream is None else next_stream
            occ = np.maximum(stream, np.add(stream, rows) - nxt)
        return int(occ) if np.ndim(occ) == 0 else occ

    def output_rows(self, rows: int, stream: int) -> int:
        """Output rows per fold: OS drains all R accumulator rows, WS/IS emit one per streaming beat."""
        return stream if self.preloads else rows

    def output_cycles(self, rows: int, cols: int, stream: int) -> np.ndarray:
        """Cycle (from the fold's first beat) of each output row, in the order they appear."""
        first = (2 * rows + cols - 1) if self.preloads else (stream + rows + cols - 2)
        return first + np.arange(self.output_rows(rows, stream), dtype=np.int64)


OS = Dataflow("os", DATAFLOW_PORT["os"], pinned="C", rows="m", cols="n", streamed="k", order=("m", "n"),
              formula="K + 2R + C - 2")
WS = Dataflow("ws", DATAFLOW_PORT["ws"], pinned="B", rows="k", cols="n", streamed="m", order=("m", "n", "k"),
              formula="2R + C + S_f - 1 (S_f: the fold's chunk of M)")
IS = Dataflow("is", DATAFLOW_PORT["is"], pinned="A", rows="k", cols="m", streamed="n", order=("n", "m", "k"),
              formula="2R + C + S_f - 1 (S_f: the fold's chunk of N)")
DATAFLOW = {d.name: d for d in (OS, WS, IS)}
assert tuple(DATAFLOW) == DATAFLOWS


def get(dataflow: str | Dataflow) -> Dataflow:
    """A Dataflow from its name (``os``, ``ws``, ``is``) or itself."""
    if isinstance(dataflow, Dataflow):
        return dataflow
    try:
        return DATAFLOW[dataflow]
    except (KeyError, TypeError):
        raise ConfigError("dataflow", f"must be one of {', '.join(DATAFLOWS)}, got {dataflow!r}") from None
