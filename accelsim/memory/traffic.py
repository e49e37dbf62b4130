"""SRAM and DRAM traffic of every fold, vectorized over a GEMM's folds (docs/microarchitecture.md).

Buffers: ifmap holds A (``DATA_W/8`` bytes an element), filter holds B (same), ofmap holds C's
partial sums (``ACC_W/8`` bytes); final outputs go to DRAM at ``out_bits/8`` bytes. A fold
reads the A tile ``mt x kt`` and the B tile ``kt x nt`` and produces the C block ``mt x nt``.

SRAM counts (elements, real ones only, padding excluded):

- ``ifmap_sram_reads`` / ``filter_sram_reads``: the A / B tile as delivered to the array;
- ``ofmap_sram_writes``: every output row's real elements; ``ofmap_sram_reads``: the
  read-modify-write of every k-tile after the first;
- ``ifmap_sram_writes`` / ``filter_sram_writes``: elements filled from DRAM.

DRAM policy, per operand and per GEMM: an operand whose footprint fits the usable part of its
SRAM (half with double buffering, all without) is read once, each tile on the first fold that
uses it; otherwise every fold re-reads its tile. A C block whose partial sums (``ACC_W/8`` bytes)
fit the usable ofmap SRAM accumulates there and its final outputs are written once (by the
block's last k-tile); a block that does not fit spills: each fold but the last k-tile writes its
partial sums to DRAM and each fold but the first reads them back (``readback``, which orders the
read after the previous fold's write).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from accelsim.systolic.config import ArrayConfig
from accelsim.systolic.mapping import Folds


def first_use(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """True where the pair (a, b) of non-negative ints occurs for the first time in fold order."""
    key = a * (int(b.max(initial=0)) + 1) + b
    _, idx = np.unique(key, return_index=True)
    mask = np.zeros(len(key), dtype=bool)
    mask[idx] = True
    return mask


def fits(cfg: ArrayConfig, which: str, nbytes) -> np.ndarray | bool:
    """Whether ``nbytes`` fit the usable part of SRAM ``which`` (half of it with double buffering)."""
    return np.asarray(nbytes) * (2 if cfg.double_buffer else 1) <= cfg.sram_bytes(which)


@dataclass(frozen=True, eq=False)
class FoldTraffic:
    """Per-fold int64 arrays: DRAM bytes, SRAM element counts, and the partial-sum read-back flag."""

    ifmap_dram_bytes: np.ndarray
    filter_dram_bytes: np.ndarray
    psum_dram_bytes: np.ndarray
    write_bytes: np.ndarray
    readback: np.ndarray
    ifmap_sram_reads: np.ndarray
    filter_sram_reads: np.ndarray
    ofmap_sram_reads: np.ndarray
    ofmap_sram_writes: np.ndarray
    ifmap_sram_writes: np.ndarray
    filter_sram_writes: np.ndarray

    @property
    def read_bytes(self) -> np.ndarray:
        return self.ifmap_dram_bytes + self.filter_dram_bytes + self.psum_dram_bytes

    def tile(self, reps: int) -> FoldTraffic:
        """The traffic of ``reps`` identical GEMMs run one after another (a layer's groups)."""
        return FoldTraffic(**{f.name: np.tile(getattr(self, f.name), reps) for f in fields(self)})

    def totals(self) -> dict[str, int]:
        return {f.name: int(getattr(self, f.name).sum()) for f in fields(self) if f.name != "readback"}


def fold_traffic(cfg: ArrayConfig, folds: Folds) -> FoldTraffic:
    """The contract's traffic for every fold of one GEMM."""
    db, ab, ob = cfg.data_bytes, cfg.acc_bytes, cfg.out_bytes
    a_elems, b_elems, c_elems = folds.mt * folds.kt, folds.kt * folds.nt, folds.mt * folds.nt
    a_dram = a_elems if not fits(cfg, "ifmap", folds.m * folds.k * db) else np.where(
        first_use(folds.m0, folds.k0), a_elems, 0)
    b_dram = b_elems if not fits(cfg, "filter", folds.k * folds.n * db) else np.where(
        first_use(folds.k0, folds.n0), b_elems, 0)
    first, last = folds.first_k, folds.last_k
    spill = ~fits(cfg, "ofmap", c_elems * ab) & ~(first & last)
    readback = spill & ~first
    write = np.where(last, c_elems * ob, np.where(spill, c_elems * ab, 0))
    return FoldTraffic(
        ifmap_dram_bytes=a_dram * db,
        filter_dram_bytes=b_dram * db,
        psum_dram_bytes=np.where(readback, c_elems * ab, 0),
        write_bytes=write,
        readback=readback,
        ifmap_sram_reads=a_elems,
        filter_sram_reads=b_elems,
        ofmap_sram_reads=np.where(first, 0, c_elems),
        ofmap_sram_writes=c_elems,
        ifmap_sram_writes=np.asarray(a_dram, dtype=np.int64),
        filter_sram_writes=np.asarray(b_dram, dtype=np.int64),
    )
