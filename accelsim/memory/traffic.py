"""SRAM and DRAM traffic of every fold, vectorized over a GEMM's folds (docs/microarchitecture.md).

Buffers: ifmap holds A (``DATA_W/8`` bytes an element), filter holds B (same), ofmap holds C's
partial sums (``ACC_W/8`` bytes); final outputs go to DRAM at ``out_bits/8`` bytes. A fold
reads the A tile ``mt x kt`` and the B tile ``kt x nt`` and produces the C block ``mt x nt``.

SRAM counts (elements, real ones only, padding excluded):

- ``ifmap_sram_reads`` / ``filter_sram_reads``: the A / B tile as delivered to the array;
- ``ofmap_sram_writes``: every output row's real elements; ``ofmap_sram_reads``: the
  read-modify-write of every k-tile after the first;
- ``ifmap_sram_writes`` / ``filter_sram_writes``: elements filled from DRAM.

DRAM reads, per operand and per GEMM, judged on what the fold order (the mapping's, ``Folds.order``)
reuses. The outermost fold loop splits one operand into blocks, all of K each:

- the *outer operand* is reused block by block: outermost loop over m (OS ``m>n``, WS ``m>n>k``,
  IS ``m>n>k``): A, the fold's block the A rows ``[m0, m0+mt)`` x all of K; over n (OS ``n>m``,
  WS ``n>m>k``, IS ``n>m>k``): B, the fold's block all of K x the B columns ``[n0, n0+nt)``. The
  block is used by every fold of that outer iteration and by no later one;
- the *other operand* (B after an m loop, A after an n loop) is reused whole (K x N, M x K) by
  every outer iteration.

Rule for each fold's tile of each operand: if the operand's reuse footprint for that fold (its
block, or the whole operand; ``DATA_W/8`` bytes an element) fits the usable part of its SRAM
(``fits``: half of it with double buffering, all without), the tile is read from DRAM once, on
the first fold that uses it; otherwise every fold that uses it reads it again.

DRAM writes: partial sums never leave the chip: WS/IS folds are chunked (``mapping.stream_chunk``)
so a C block's partial sums fit the usable ofmap SRAM, and OS accumulates in the PEs. Each C
block's final values are written once, by its last k-tile, at ``out_bits/8`` bytes an element.
``fold_traffic`` rejects folds whose multi-k-tile block would not fit the ofmap SRAM (folds
enumerated without the config's chunk).

Layers that stay on chip (``memory.onchip``): with ``ifmap_on_chip`` the layer's A operand is
already in the ifmap SRAM (no A bytes from DRAM, no fills); with ``output_on_chip`` its final
values go into the ifmap SRAM (counted in ``ifmap_sram_writes``) instead of DRAM.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
from numpy.typing import ArrayLike

from accelsim.hardware.config import ArrayConfig
from accelsim.mapping.folds import Folds


def first_use(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """True where the pair (a, b) of non-negative ints occurs for the first time in fold order."""
    key = a * (int(b.max(initial=0)) + 1) + b
    _, idx = np.unique(key, return_index=True)
    mask = np.zeros(len(key), dtype=bool)
    mask[idx] = True
    return mask


def fits(cfg: ArrayConfig, which: str, nbytes: ArrayLike) -> np.ndarray | bool:
    """Whether ``nbytes`` fit the usable part of SRAM ``which`` (half of it with double buffering)."""
    return np.asarray(nbytes) * (2 if cfg.double_buffer else 1) <= cfg.sram_bytes(which)


def reuse_footprints(folds: Folds) -> tuple[np.ndarray, np.ndarray]:
    """Per fold, the elements of A and of B whose reuse the fold order exploits (module docstring)."""
    m, k, n = folds.m, folds.k, folds.n
    whole_a = np.full(len(folds), m * k, dtype=np.int64)
    whole_b = np.full(len(folds), k * n, dtype=np.int64)
    if outer_axis(folds.order) == "m":  # A by m-tile / m-chunk, B whole
        return folds.mt * k, whole_b
    return whole_a, k * folds.nt        # B by n-tile / n-chunk, A whole


def outer_axis(order: tuple[str, ...] | None) -> str:
    """The outermost fold loop's axis, ``"m"`` or ``"n"`` (the k-tile loop is never outermost)."""
    if not order or order[0] not in ("m", "n"):
        raise ValueError(f"outer_axis: a fold order starts with m or n, got {order!r}")
    return order[0]


@dataclass(frozen=True, eq=False)
class FoldTraffic:
    """Per-fold int64 arrays: DRAM bytes and SRAM element counts."""

    ifmap_dram_bytes: np.ndarray
    filter_dram_bytes: np.ndarray
    write_bytes: np.ndarray
    ifmap_sram_reads: np.ndarray
    filter_sram_reads: np.ndarray
    ofmap_sram_reads: np.ndarray
    ofmap_sram_writes: np.ndarray
    ifmap_sram_writes: np.ndarray
    filter_sram_writes: np.ndarray

    @property
    def read_bytes(self) -> np.ndarray:
        return self.ifmap_dram_bytes + self.filter_dram_bytes

    def tile(self, reps: int) -> FoldTraffic:
        """The traffic of ``reps`` identical GEMMs run one after another (a layer's groups)."""
        return FoldTraffic(**{f.name: np.tile(getattr(self, f.name), reps) for f in fields(self)})

    def totals(self, counts: np.ndarray | None = None, reps: int = 1) -> dict[str, int]:
        """Each count summed over the folds, entry i standing for ``counts[i]`` folds (``FoldRuns.counts``:
        the entries are fold classes), the whole times ``reps`` (a layer's groups); exact integers."""
        if counts is None:
            return {f.name: int(getattr(self, f.name).sum()) * reps for f in fields(self)}
        weights = [int(c) for c in counts]
        return {f.name: sum(int(v) * c for v, c in zip(getattr(self, f.name).tolist(), weights, strict=True)) * reps
                for f in fields(self)}


def fold_traffic(cfg: ArrayConfig, folds: Folds, *, ifmap_on_chip: bool = False,
                 output_on_chip: bool = False) -> FoldTraffic:
    """The contract's traffic for every fold of one GEMM, or for every class of ``FoldRuns.classes``.

    The rule reads only a fold's tile lengths, its first/last k-tile flags and whether its A and B
    tiles occur for the first time in fold order; every fold of a class shares those with the class's
    representative (its first fold), and the representatives keep the fold order, so the same code
    prices both. ``ifmap_on_chip`` / ``output_on_chip``: the layer's A operand is in the ifmap SRAM / its
    output stays there (module docstring).
    """
    db, ab, ob = cfg.data_bytes, cfg.acc_bytes, cfg.out_bytes
    a_elems, b_elems, c_elems = folds.mt * folds.kt, folds.kt * folds.nt, folds.mt * folds.nt
    first, last = folds.first_k, folds.last_k
    bad = np.flatnonzero(~(first & last) & ~fits(cfg, "ofmap", c_elems * ab))
    if len(bad):
        f = folds[int(bad[0])]
        raise ValueError(f"fold_traffic: a fold's {f.mt}x{f.nt} partial sums do not fit the usable ofmap SRAM; "
                         f"enumerate the folds with the config's stream chunk (mapping.folds_for / runs_for)")
    a_foot, b_foot = reuse_footprints(folds)
    a_dram = np.where(fits(cfg, "ifmap", a_foot * db) & ~first_use(folds.m0, folds.k0), 0, a_elems)
    if ifmap_on_chip:
        a_dram = np.zeros_like(a_dram)
    final = np.where(last, c_elems, 0)
    b_dram = np.where(fits(cfg, "filter", b_foot * db) & ~first_use(folds.k0, folds.n0), 0, b_elems)
    return FoldTraffic(
        ifmap_dram_bytes=a_dram * db,
        filter_dram_bytes=b_dram * db,
        write_bytes=np.zeros_like(final) if output_on_chip else final * ob,
        ifmap_sram_reads=a_elems,
        filter_sram_reads=b_elems,
        ofmap_sram_reads=np.where(first, 0, c_elems),
        ofmap_sram_writes=c_elems,
        ifmap_sram_writes=a_dram + final if output_on_chip else a_dram,
        filter_sram_writes=b_dram,
    )
