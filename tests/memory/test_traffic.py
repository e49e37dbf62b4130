"""The DRAM/SRAM policy on hand-checked cases: tiles whose reuse footprint fits are read once, others refetched."""

import numpy as np
import pytest

from accelsim.hardware.config import ArrayConfig
from accelsim.mapping.folds import enumerate_folds, folds_for
from accelsim.memory.traffic import fold_traffic

TINY = 8 / 1024  # KiB: exactly two 2x2 int8 tiles, the least a double-buffered 2x2 array accepts


def cfg(**kw):
    base = {"rows": 2, "cols": 2, "ifmap_sram_kib": 1, "filter_sram_kib": 1, "ofmap_sram_kib": 1}
    return ArrayConfig(**{**base, **kw})


def test_os_operands_that_fit_are_read_once():
    folds = enumerate_folds("os", 4, 3, 4, 2, 2)  # folds (m0, n0): (0,0) (0,2) (2,0) (2,2)
    t = fold_traffic(cfg(dataflow="os"), folds)
    assert t.ifmap_dram_bytes.tolist() == [6, 0, 6, 0]   # A tile 2x3, first use per m-tile
    assert t.filter_dram_bytes.tolist() == [6, 6, 0, 0]  # B tile 3x2, first use per n-tile
    assert t.write_bytes.tolist() == [4] * 4             # 2x2 int8 outputs (the output stage's), written once each
    assert t.ifmap_sram_reads.tolist() == [6] * 4 and t.filter_sram_reads.tolist() == [6] * 4
    assert t.ofmap_sram_writes.tolist() == [4] * 4 and not t.ofmap_sram_reads.any()
    assert t.ifmap_sram_writes.tolist() == [6, 0, 6, 0] and t.read_bytes.tolist() == [12, 6, 6, 0]


def test_os_operands_that_do_not_fit_are_refetched():
    folds = enumerate_folds("os", 4, 3, 4, 2, 2)
    t = fold_traffic(cfg(dataflow="os", ifmap_sram_kib=TINY), folds)  # A's m-tile block 2x3: 6 bytes, 4 usable
    assert t.ifmap_dram_bytes.tolist() == [6, 6, 6, 6]
    assert t.filter_dram_bytes.tolist() == [6, 6, 0, 0]
    single = fold_traffic(cfg(dataflow="os", ifmap_sram_kib=12 / 1024, filter_sram_kib=12 / 1024,
                              double_buffer=False), folds)  # all 12 bytes usable without double buffering
    assert single.ifmap_dram_bytes.tolist() == [6, 0, 6, 0]


def test_os_judges_a_by_its_m_tile_block():
    # A is 12 bytes, more than the 8 usable, but the loop reuses one 2x3 m-tile block (6 bytes) across n-tiles
    folds = enumerate_folds("os", 4, 3, 4, 2, 2)
    t = fold_traffic(cfg(dataflow="os", ifmap_sram_kib=16 / 1024, filter_sram_kib=16 / 1024), folds)
    assert t.ifmap_dram_bytes.tolist() == [6, 0, 6, 0]
    assert t.filter_dram_bytes.tolist() == [6, 6, 6, 6]  # B is reused whole across m-tiles: 12 bytes > 8


def test_ws_partial_sums_stay_in_the_ofmap_sram_when_they_fit():
    folds = enumerate_folds("ws", 5, 4, 2, 2, 2)  # one n-tile, k-tiles 0 and 2
    t = fold_traffic(cfg(out_bits=8), folds)
    assert t.write_bytes.tolist() == [0, 10]              # final 5x2 outputs once, 1 byte each
    assert t.read_bytes.tolist() == [14, 14]             # A tile 5x2 + B tile 2x2, no partial sums
    assert t.ofmap_sram_writes.tolist() == [10, 10] and t.ofmap_sram_reads.tolist() == [0, 10]
    assert t.ifmap_dram_bytes.tolist() == [10, 10] and t.filter_dram_bytes.tolist() == [4, 4]


def test_ws_chunks_keep_partial_sums_on_chip():
    c = cfg(out_bits=8, ofmap_sram_kib=16 / 1024)  # 8 usable bytes: S = 8 // (2 * 4) = 1 row of partial sums
    with pytest.raises(ValueError, match="partial sums do not fit"):
        fold_traffic(c, enumerate_folds("ws", 5, 4, 2, 2, 2))  # a 5x2 int32 block is 40 bytes
    folds = folds_for(c, 5, 4, 2)
    assert folds.mt.tolist() == [1] * 10 and folds.k0.tolist() == [0, 2] * 5
    t = fold_traffic(c, folds)
    assert t.write_bytes.tolist() == [0, 2] * 5           # each chunk's 1x2 outputs, once, 1 byte each
    assert t.ofmap_sram_reads.tolist() == [0, 2] * 5 and t.ofmap_sram_writes.tolist() == [2] * 10
    assert t.ifmap_dram_bytes.tolist() == [2] * 10        # every 1x2 A tile used once
    assert t.filter_dram_bytes.tolist() == [4, 4] + [0] * 8  # B (8 bytes) fits: read by the first chunk only


def test_ws_reuse_rule_by_hand():
    # 4x4x4 on 2x2, S = 2 (16 usable ofmap bytes): folds (m0, n0, k0) in order
    # (0,0,0) (0,0,2) (0,2,0) (0,2,2) (2,0,0) (2,0,2) (2,2,0) (2,2,2); A and B tiles are 2x2 = 4 bytes
    base = {"ofmap_sram_kib": 32 / 1024}
    folds = folds_for(cfg(**base), 4, 4, 4)
    assert list(zip(folds.m0.tolist(), folds.n0.tolist(), folds.k0.tolist(), strict=True)) == [
        (m0, n0, k0) for m0 in (0, 2) for n0 in (0, 2) for k0 in (0, 2)]
    # ifmap 8 usable bytes: the A chunk (2x4 = 8 bytes) fits, though all of A (16) does not -> each A tile once,
    # when the chunk's first n-tile uses it; filter 16 usable bytes: B (16 bytes) fits -> each tile once
    t = fold_traffic(cfg(**base, ifmap_sram_kib=16 / 1024, filter_sram_kib=32 / 1024), folds)
    assert t.ifmap_dram_bytes.tolist() == [4, 4, 0, 0, 4, 4, 0, 0]
    assert t.filter_dram_bytes.tolist() == [4, 4, 4, 4, 0, 0, 0, 0]
    assert t.write_bytes.tolist() == [0, 4] * 4           # each 2x2 block's int8 outputs, once
    # filter 8 usable bytes: B does not fit -> every chunk re-reads it; A chunk still fits
    t = fold_traffic(cfg(**base, ifmap_sram_kib=16 / 1024, filter_sram_kib=16 / 1024), folds)
    assert t.filter_dram_bytes.tolist() == [4] * 8 and t.ifmap_dram_bytes.tolist() == [4, 4, 0, 0] * 2
    # ifmap 4 usable bytes: the A chunk does not fit -> every n-tile re-reads it
    t = fold_traffic(cfg(**base, ifmap_sram_kib=8 / 1024), folds)
    assert t.ifmap_dram_bytes.tolist() == [4] * 8


def test_is_reuse_rule_by_hand():
    # IS 4x4x4 on 2x2, S = 2: folds (n0, m0, k0) = n-chunk, m-tile, k-tile; the B chunk (4x2 = 8 bytes) is
    # reused by both m-tiles of the chunk, A (16 bytes) by both chunks
    c = cfg(dataflow="is", ofmap_sram_kib=32 / 1024, ifmap_sram_kib=32 / 1024, filter_sram_kib=16 / 1024)
    folds = folds_for(c, 4, 4, 4)
    assert list(zip(folds.n0.tolist(), folds.m0.tolist(), folds.k0.tolist(), strict=True)) == [
        (n0, m0, k0) for n0 in (0, 2) for m0 in (0, 2) for k0 in (0, 2)]
    t = fold_traffic(c, folds)
    assert t.filter_dram_bytes.tolist() == [4, 4, 0, 0] * 2  # B chunk fits (8 usable): once per tile
    assert t.ifmap_dram_bytes.tolist() == [4] * 4 + [0] * 4  # A fits (16 usable): read by the first chunk
    t = fold_traffic(c.with_(ifmap_sram_kib=16 / 1024, filter_sram_kib=8 / 1024), folds)
    assert t.filter_dram_bytes.tolist() == [4] * 8 and t.ifmap_dram_bytes.tolist() == [4] * 8


def test_is_streamed_filters_fit_and_are_read_per_k_tile_once():
    folds = enumerate_folds("is", 4, 4, 3, 2, 2)  # (m0, k0): (0,0) (0,2) (2,0) (2,2)
    t = fold_traffic(cfg(dataflow="is"), folds)
    assert t.filter_dram_bytes.tolist() == [6, 6, 0, 0]   # B tile 2x3 per k-tile, first use
    assert t.ifmap_dram_bytes.tolist() == [4, 4, 4, 4]    # every pinned A tile is used once


def test_groups_repeat_the_policy_per_gemm():
    folds = enumerate_folds("os", 4, 3, 4, 2, 2)
    t = fold_traffic(cfg(dataflow="os"), folds).tile(3)
    assert t.ifmap_dram_bytes.tolist() == [6, 0, 6, 0] * 3
    assert t.totals()["ifmap_dram_bytes"] == 36 and isinstance(t.write_bytes, np.ndarray)


def test_stepper_rejects_folds_whose_partial_sums_would_spill():
    from accelsim.memory.stepper import FoldRequest, MemorySystem

    c = cfg(ofmap_sram_kib=16 / 1024)
    with pytest.raises(ValueError, match="partial sums do not fit"):
        MemorySystem(c, [FoldRequest(0, f, 5, 4, 2) for f in enumerate_folds("ws", 5, 4, 2, 2, 2)], "ws")
    MemorySystem(c, [FoldRequest(0, f, 5, 4, 2) for f in folds_for(c, 5, 4, 2)], "ws")
