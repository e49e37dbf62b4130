"""Folds: the tiles of one GEMM in the order the array runs them (docs/microarchitecture.md).

A fold covers ``A[m0:m0+mt, k0:k0+kt]``, ``B[k0:k0+kt, n0:n0+nt]`` and contributes to the C block
``C[m0:m0+mt, n0:n0+nt]``. The dataflow decides which two axes are tiled (``rows`` by ROWS,
``cols`` by COLS; tiles cut at multiples from 0, the last one possibly partial) and which one is
streamed, one beat per cycle:

- OS: m by ROWS, n by COLS, all of K streamed; order m-tile (outer), n-tile (inner).
- WS: k by ROWS, n by COLS, M streamed in chunks of S rows; order m-chunk, n-tile, k-tile.
- IS: k by ROWS, m by COLS, N streamed in chunks of S columns; order n-chunk, m-tile, k-tile.

Those are the fixed mapping's orders; a ``Mapping`` (``mapping.space``) may swap the two outer loops
(the k-tile loop stays innermost) and pick a chunk S from 1 to ``stream_chunk(cfg)``. Every function
here takes a ``Mapping``, a dataflow name (its fixed order) or, with a config, None (the config's).

The chunk S (``stream_chunk``) is the most beats whose S x COLS block of ACC_W partial sums fits
the usable ofmap SRAM, so the partial sums of the k-tiles of a C block never leave the chip;
chunks are cut at multiples of S from 0, the last one possibly partial. With ``stream_chunk=None``
(or S >= the streamed length) the streamed axis is one chunk and the folds are the unchunked ones.
In WS ``m0``/``mt`` are the fold's chunk of M rows, in IS ``n0``/``nt`` its chunk of N columns, in
OS ``k0``/``kt`` are all of K; ``s0``/``st`` name that streamed range whatever the dataflow.

So the k-tiles of one C block are always consecutive folds, and every fold's A tile is mt x kt,
its B tile kt x nt. ``Folds`` holds a whole GEMM as parallel int64 arrays (VGG-16 on 32x32 WS
is ~160k folds); ``Folds[i]`` is one ``Fold``.

``FoldRuns`` holds the same sequence compressed, in memory independent of the fold count (VGG-19
on a 1x1 array is ~1.5e8 folds): the three fold loops, each axis's tiles grouped into ``Span``s
of tiles that behave alike (the first tile, the full middle ones, the possibly partial last one).
Every fold of one combination of spans (a *fold class*, at most 27) has the same tile lengths
and the same first/last flags, so the same cycles and traffic; the fold sequence is the nested
``Loop``s over the spans (``FoldRuns.loops``). ``FoldRuns.classes`` is a ``Folds`` of one
representative per class (its first fold, in fold order), so every per-fold rule applies to it
unchanged; ``FoldRuns.expand()`` is the full ``Folds``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property, lru_cache
from itertools import product

import numpy as np

from accelsim.hardware.config import ArrayConfig, ConfigError
from accelsim.mapping.dataflow import Dataflow
from accelsim.mapping.space import Mapping, as_mapping


@dataclass(frozen=True)
class Fold:
    """One fold: its index in the GEMM's order and its tile bounds.

    ``s0``/``st``: start and length of the fold's range of the streamed axis (= ``m0``/``mt`` in
    WS, ``n0``/``nt`` in IS, ``k0``/``kt`` in OS); ``st`` is the fold's number of streaming beats.
    ``Folds`` fills them; a ``Fold`` built by hand without them leaves them 0.
    """

    index: int
    m0: int
    mt: int
    k0: int
    kt: int
    n0: int
    nt: int
    first_k: bool
    last_k: bool
    s0: int = 0
    st: int = 0


def tiles(length: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Starts and lengths of the tiles cutting ``length`` at multiples of ``size``."""
    starts = np.arange(0, length, size, dtype=np.int64)
    return starts, np.minimum(size, length - starts)


def stream_chunk(cfg: ArrayConfig) -> int:
    """S for ``cfg``: ``max(1, usable ofmap bytes // (COLS * ACC_W/8))`` beats.

    Usable: half the ofmap SRAM with double buffering, all of it without (the rule
    ``memory.traffic.fits`` applies), so one chunk's S x COLS block of partial sums always fits.
    """
    usable = cfg.sram_bytes("ofmap") // (2 if cfg.double_buffer else 1)
    return max(1, usable // (cfg.cols * cfg.acc_bytes))


@dataclass(frozen=True, eq=False)
class Folds:
    """Every fold of ``C[m, n] = A[m, k] @ B[k, n]`` on a rows x cols array, in execution order.

    ``chunk``: the S the streamed axis was cut by (its whole length when unchunked, always in OS);
    ``order``: the fold loops, outermost first (default: the dataflow's fixed order).
    """

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
    chunk: int | None = None
    order: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.chunk is None:
            object.__setattr__(self, "chunk", max(1, self.dataflow.stream_length(self.m, self.k, self.n)))
        if self.order is None:
            object.__setattr__(self, "order", self.dataflow.order)

    @property
    def mapping(self) -> Mapping:
        """The mapping these folds run (the chunk actually used; None in OS)."""
        return _mapping_of(self.dataflow, self.order, self.chunk)

    def __len__(self) -> int:
        return len(self.m0)

    def __getitem__(self, i: int) -> Fold:
        i = range(len(self))[i]
        k0, kt = int(self.k0[i]), int(self.kt[i])
        ax = self.dataflow.streamed
        return Fold(i, int(self.m0[i]), int(self.mt[i]), k0, kt, int(self.n0[i]), int(self.nt[i]),
                    k0 == 0, k0 + kt == self.k, int(getattr(self, f"{ax}0")[i]), int(getattr(self, f"{ax}t")[i]))

    def __iter__(self) -> Iterator[Fold]:
        return (self[i] for i in range(len(self)))

    @property
    def s0(self) -> np.ndarray:
        """Each fold's start on the streamed axis (its chunk's first row of A in WS, column of B in IS)."""
        return getattr(self, f"{self.dataflow.streamed}0")

    @property
    def st(self) -> np.ndarray:
        """Each fold's streaming beats S_f (its chunk's length; all of K in OS)."""
        return getattr(self, f"{self.dataflow.streamed}t")

    @property
    def cycles(self) -> np.ndarray:
        """Each fold's cycles from the contract (``Dataflow.fold_cycles`` of its S_f)."""
        return self.dataflow.fold_cycles(self.rows, self.cols, self.st)

    @property
    def stream_beats(self) -> int:
        """Streaming beats of all folds."""
        return int(self.st.sum())

    def _same(self, values: np.ndarray, what: str) -> int:
        if len(values) and (values != values[0]).any():
            raise ValueError(f"Folds.{what}: the folds differ (chunked streamed axis with a partial chunk); "
                             f"use the per-fold arrays st / cycles")
        return int(values[0]) if len(values) else 0

    @property
    def stream(self) -> int:
        """Streaming beats of every fold, when all folds have the same (always without chunking)."""
        return self._same(self.st, "stream")

    @property
    def fold_cycles(self) -> int:
        """Cycles of every fold, when all folds have the same (always without chunking)."""
        return self._same(self.cycles, "fold_cycles")

    @property
    def first_k(self) -> np.ndarray:
        return self.k0 == 0

    @property
    def last_k(self) -> np.ndarray:
        return self.k0 + self.kt == self.k

    @property
    def macs(self) -> int:
        return self.m * self.k * self.n


def _mapping_of(df: Dataflow, order: tuple[str, ...] | None, chunk: int | None) -> Mapping:
    return Mapping(df.name, order, chunk if df.chunked else None)


def _chunk(df: Dataflow, streamed: int, stream_chunk: int | None) -> int:
    """The streamed axis's chunk: ``stream_chunk`` (WS/IS) capped at the axis, else the whole axis (at least 1)."""
    chunk = streamed
    if stream_chunk is not None and df.chunked:
        if isinstance(stream_chunk, bool) or not isinstance(stream_chunk, (int, np.integer)) or stream_chunk < 1:
            raise ValueError(f"enumerate_folds: stream_chunk must be a positive integer or None, got {stream_chunk!r}")
        chunk = min(int(stream_chunk), chunk)
    return max(int(chunk), 1)


def _loops(mapping: Mapping) -> tuple[str, str, str]:
    """The three fold loops, outermost first (OS: the single streamed k-tile, then the mapping's order)."""
    order = tuple(mapping.order or ())
    loops = order if len(order) == 3 else (mapping.flow.streamed, *order)
    return loops[0], loops[1], loops[2]


def enumerate_folds(mapping: Mapping | str | Dataflow, m: int, k: int, n: int, rows: int, cols: int,
                    stream_chunk: int | None = None) -> Folds:
    """All folds of an (m, k, n) GEMM under ``mapping`` (or a dataflow's fixed mapping) in its order.

    ``stream_chunk``: S, the WS/IS streamed axis is cut into chunks of S beats (``None``: one chunk,
    the whole axis); a Mapping's own ``chunk`` wins over it. OS ignores it: its partial sums live in
    the PEs, so it always streams all of K.
    """
    mp = as_mapping(mapping)
    df = mp.flow
    length = {"m": m, "k": k, "n": n}
    chunk = _chunk(df, length[df.streamed], mp.chunk if mp.chunk is not None else stream_chunk)
    size = {df.rows: rows, df.cols: cols, df.streamed: chunk}
    cut = {ax: tiles(length[ax], size[ax]) for ax in "mkn"}
    loops = _loops(mp)
    counts = [len(cut[ax][0]) for ax in loops]
    idx = np.unravel_index(np.arange(int(np.prod(counts)), dtype=np.int64), counts)
    pick = dict(zip(loops, idx, strict=True))
    arrays = {}
    for ax in "mkn":
        starts, lens = cut[ax]
        arrays[f"{ax}0"], arrays[f"{ax}t"] = starts[pick[ax]], lens[pick[ax]]
    return Folds(df, m, k, n, rows, cols, **arrays, chunk=chunk, order=mp.order)


def used_chunk(cfg: ArrayConfig, mapping: Mapping, m: int, k: int, n: int) -> int:
    """The S a mapping's folds stream per chunk: its chunk (default ````stream_chunk(cfg)``) capped at the
    streamed axis (at least 1); all of K in OS."""
    df = mapping.flow
    length = df.stream_length(m, k, n)
    if not df.chunked:
        return max(length, 1)
    s = mapping.chunk if mapping.chunk is not None else stream_chunk(cfg)
    return max(min(s, length), 1)


def mapping_for(cfg: ArrayConfig, mapping: Mapping | str | Dataflow | None = None, *,
                dataflow: str | Dataflow | None = None) -> Mapping:
    """``mapping`` on ``cfg`` with its chunk resolved: None is the config's dataflow's fixed mapping, a
    dataflow name its fixed mapping (``dataflow=``: the older keyword of the layer APIs, the same; not
    both); an unset chunk is ``stream_chunk(cfg)`` (WS/IS). A chunk above ``stream_chunk(cfg)`` is a
    ConfigError naming ``mapping.chunk``: its S x COLS block of partial sums would not fit the usable
    ofmap SRAM."""
    if mapping is not None and dataflow is not None:
        raise ValueError("give mapping= or dataflow=, not both")
    mp = as_mapping(mapping if mapping is not None else dataflow, cfg.dataflow)
    if not mp.flow.chunked:
        return mp
    cap = stream_chunk(cfg)
    if mp.chunk is None:
        return Mapping(mp.dataflow, mp.order, cap)
    if mp.chunk > cap:
        raise ConfigError("mapping.chunk", f"S={mp.chunk} exceeds the {cap} beats whose {cap} x {cfg.cols} partial "
                                           f"sums fit the usable ofmap SRAM (stream_chunk)")
    return mp


def folds_for(cfg: ArrayConfig, m: int, k: int, n: int, mapping: Mapping | str | Dataflow | None = None) -> Folds:
    """The folds the simulators run for an (m, k, n) GEMM on ``cfg`` under ``mapping`` (``mapping_for``:
    None is the config's fixed mapping; WS/IS chunked by the mapping's S, default ``stream_chunk(cfg)``)."""
    return enumerate_folds(mapping_for(cfg, mapping), m, k, n, cfg.rows, cfg.cols)


@dataclass(frozen=True)
class Span:
    """``count`` consecutive tiles of one axis from tile ``index``, all ``size`` long, that behave alike.

    ``first``/``last``: the span is the axis's first / last tile (tile 0 / the one ending at the
    axis's length); a middle span holds the full tiles in between.
    """

    index: int
    count: int
    size: int
    first: bool
    last: bool


def spans(length: int, size: int) -> tuple[Span, ...]:
    """The tiles cutting ``length`` at multiples of ``size`` (``tiles``) as at most three spans."""
    count = -(-length // size)
    if count <= 1:
        return (Span(0, 1, length, True, True),) if count else ()
    middle = (Span(1, count - 2, size, False, False),) if count > 2 else ()
    return (Span(0, 1, size, True, False), *middle, Span(count - 1, 1, length - (count - 1) * size, False, True))


@dataclass(frozen=True)
class Loop:
    """``count`` repetitions of ``body``: a fold class (an int: a run of ``count`` identical folds) or a
    sequence of Loops run in order. A fold sequence is a tuple of Loops."""

    count: int
    body: int | tuple[Loop, ...]


@dataclass(frozen=True, eq=False)
class FoldRuns:
    """The folds of ``enumerate_folds`` for the same arguments, compressed (module docstring).

    ``axes``: the loops' axes, outermost first (OS: the single streamed k-tile, then the order's two);
    ``spans``: each loop's spans. Fold class ``c`` is the spans ``(i0, i1, i2)`` with
    ``c = (i0 * len(spans[1]) + i1) * len(spans[2]) + i2``.
    """

    dataflow: Dataflow
    m: int
    k: int
    n: int
    rows: int
    cols: int
    chunk: int
    axes: tuple[str, str, str]
    spans: tuple[tuple[Span, ...], tuple[Span, ...], tuple[Span, ...]]

    @property
    def count(self) -> int:
        """Folds in the sequence (a Python int: may exceed what ``len`` can return)."""
        count = 1
        for level in self.spans:
            count *= sum(s.count for s in level)
        return count

    def __len__(self) -> int:
        return self.count

    def _combinations(self) -> list[tuple[Span, Span, Span]]:
        return list(product(*self.spans))

    @cached_property
    def classes(self) -> Folds:
        """One representative fold per class (the class's first fold), classes in index order."""
        arrays: dict[str, list[int]] = {f"{ax}{p}": [] for ax in "mkn" for p in "0t"}
        for combo in self._combinations():
            for ax, sp in zip(self.axes, combo, strict=True):
                size = self.chunk if ax == self.dataflow.streamed else (self.rows if ax == self.dataflow.rows
                                                                        else self.cols)
                arrays[f"{ax}0"].append(sp.index * size)
                arrays[f"{ax}t"].append(sp.size)
        return Folds(self.dataflow, self.m, self.k, self.n, self.rows, self.cols,
                     **{key: np.array(v, dtype=np.int64) for key, v in arrays.items()}, chunk=self.chunk,
                     order=self.order)

    @property
    def order(self) -> tuple[str, ...]:
        """The mapping's fold order, outermost first (OS: two loops, WS/IS: three)."""
        return self.axes if self.dataflow.chunked else self.axes[1:]

    @property
    def mapping(self) -> Mapping:
        """The mapping these folds run (the chunk actually used; None in OS)."""
        return _mapping_of(self.dataflow, self.order, self.chunk)

    @cached_property
    def counts(self) -> np.ndarray:
        """Folds of each class in one GEMM (int64)."""
        return np.array([a.count * b.count * c.count for a, b, c in self._combinations()], dtype=np.int64)

    def total(self, values: np.ndarray) -> int:
        """``values`` (one per class) summed over every fold of one GEMM, exactly."""
        return sum(int(v) * int(c) for v, c in zip(values.tolist(), self.counts.tolist(), strict=True))

    @property
    def cycles(self) -> int:
        """Cycles of all folds (``Dataflow.fold_cycles`` of each fold's S_f), summed exactly."""
        return self.total(self.classes.cycles)

    @property
    def stream_beats(self) -> int:
        """Streaming beats of all folds."""
        return self.total(self.classes.st)

    def loops(self, groups: int = 1) -> tuple[Loop, ...]:
        """The fold sequence of ``groups`` such GEMMs run back to back, as nested Loops over the classes."""
        widths = [len(level) for level in self.spans]

        def level(depth: int, cls: int) -> tuple[Loop, ...]:
            if depth == 2:
                return tuple(Loop(s.count, cls * widths[2] + i) for i, s in enumerate(self.spans[2]))
            return tuple(Loop(s.count, level(depth + 1, cls * widths[depth] + i))
                         for i, s in enumerate(self.spans[depth]))

        body = level(0, 0)
        return (Loop(groups, body),) if groups > 1 else body

    def expand(self) -> Folds:
        """Every fold, as arrays (memory proportional to ``len(self)``)."""
        return enumerate_folds(self.mapping, self.m, self.k, self.n, self.rows, self.cols)


@lru_cache(maxsize=4096)  # a sweep's points repeat the same layer's folds on configs that differ elsewhere
def fold_runs(mapping: Mapping | str | Dataflow, m: int, k: int, n: int, rows: int, cols: int,
              stream_chunk: int | None = None) -> FoldRuns:
    """``enumerate_folds``'s sequence as ``FoldRuns``, in O(1) time and memory (same arguments; immutable,
    one object per arguments, shared)."""
    mp = as_mapping(mapping)
    df = mp.flow
    length = {"m": m, "k": k, "n": n}
    chunk = _chunk(df, length[df.streamed], mp.chunk if mp.chunk is not None else stream_chunk)
    size = {df.rows: rows, df.cols: cols, df.streamed: chunk}
    axes = _loops(mp)
    a, b, c = (spans(length[ax], size[ax]) for ax in axes)
    return FoldRuns(df, m, k, n, rows, cols, chunk, axes, (a, b, c))


@lru_cache(maxsize=4096)  # callers ask again for the same layer (a network's size check, then its run; sweeps)
def runs_for(cfg: ArrayConfig, m: int, k: int, n: int, mapping: Mapping | str | Dataflow | None = None) -> FoldRuns:
    """``folds_for``'s sequence as ``FoldRuns`` (immutable: one object per arguments, shared)."""
    return fold_runs(mapping_for(cfg, mapping), m, k, n, cfg.rows, cfg.cols)
