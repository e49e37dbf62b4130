"""The DRAM/SRAM policy on hand-checked cases: resident operands are read once, others refetched."""

import numpy as np

from accelsim.memory.traffic import fold_traffic
from accelsim.systolic.config import ArrayConfig
from accelsim.systolic.mapping import enumerate_folds

TINY = 8 / 1024  # KiB: exactly two 2x2 int8 tiles, the least a double-buffered 2x2 array accepts


def cfg(**kw):
    base = {"rows": 2, "cols": 2, "ifmap_sram_kib": 1, "filter_sram_kib": 1, "ofmap_sram_kib": 1}
    return ArrayConfig(**{**base, **kw})


def test_os_operands_that_fit_are_read_once():
    folds = enumerate_folds("os", 4, 3, 4, 2, 2)  # folds (m0, n0): (0,0) (0,2) (2,0) (2,2)
    t = fold_traffic(cfg(dataflow="os"), folds)
    assert t.ifmap_dram_bytes.tolist() == [6, 0, 6, 0]   # A tile 2x3, first use per m-tile
    assert t.filter_dram_bytes.tolist() == [6, 6, 0, 0]  # B tile 3x2, first use per n-tile
    assert t.write_bytes.tolist() == [16] * 4            # 2x2 int32 outputs, written once each
    assert t.ifmap_sram_reads.tolist() == [6] * 4 and t.filter_sram_reads.tolist() == [6] * 4
    assert t.ofmap_sram_writes.tolist() == [4] * 4 and not t.ofmap_sram_reads.any()
    assert t.ifmap_sram_writes.tolist() == [6, 0, 6, 0] and not t.readback.any()


def test_os_operands_that_do_not_fit_are_refetched():
    folds = enumerate_folds("os", 4, 3, 4, 2, 2)
    t = fold_traffic(cfg(dataflow="os", ifmap_sram_kib=TINY), folds)  # A is 12 bytes, 4 usable
    assert t.ifmap_dram_bytes.tolist() == [6, 6, 6, 6]
    assert t.filter_dram_bytes.tolist() == [6, 6, 0, 0]
    single = fold_traffic(cfg(dataflow="os", ifmap_sram_kib=12 / 1024, filter_sram_kib=12 / 1024,
                              double_buffer=False), folds)  # all 12 bytes usable without double buffering
    assert single.ifmap_dram_bytes.tolist() == [6, 0, 6, 0]


def test_ws_partial_sums_stay_in_the_ofmap_sram_when_they_fit():
    folds = enumerate_folds("ws", 5, 4, 2, 2, 2)  # one n-tile, k-tiles 0 and 2
    t = fold_traffic(cfg(out_bits=8), folds)
    assert t.write_bytes.tolist() == [0, 10]              # final 5x2 outputs once, 1 byte each
    assert not t.psum_dram_bytes.any() and not t.readback.any()
    assert t.ofmap_sram_writes.tolist() == [10, 10] and t.ofmap_sram_reads.tolist() == [0, 10]
    assert t.ifmap_dram_bytes.tolist() == [10, 10] and t.filter_dram_bytes.tolist() == [4, 4]


def test_ws_partial_sums_spill_when_they_do_not_fit():
    folds = enumerate_folds("ws", 5, 4, 2, 2, 2)
    t = fold_traffic(cfg(out_bits=8, ofmap_sram_kib=16 / 1024), folds)  # block 40 bytes, 8 usable
    assert t.write_bytes.tolist() == [40, 10]             # partial sums out at 4 bytes, then final
    assert t.psum_dram_bytes.tolist() == [0, 40]          # read back by the second k-tile
    assert t.readback.tolist() == [False, True]
    assert t.read_bytes.tolist() == [14, 54]


def test_is_streamed_filters_fit_and_are_read_per_k_tile_once():
    folds = enumerate_folds("is", 4, 4, 3, 2, 2)  # (m0, k0): (0,0) (0,2) (2,0) (2,2)
    t = fold_traffic(cfg(dataflow="is"), folds)
    assert t.filter_dram_bytes.tolist() == [6, 6, 0, 0]   # B tile 2x3 per k-tile, first use
    assert t.ifmap_dram_bytes.tolist() == [4, 4, 4, 4]    # every pinned A tile is used once


def test_groups_repeat_the_policy_per_gemm():
    folds = enumerate_folds("os", 4, 3, 4, 2, 2)
    t = fold_traffic(cfg(dataflow="os"), folds).tile(3)
    assert t.ifmap_dram_bytes.tolist() == [6, 0, 6, 0] * 3
    assert t.totals()["ifmap_dram_bytes"] == 36 and "readback" not in t.totals()
    assert isinstance(t.readback, np.ndarray)
