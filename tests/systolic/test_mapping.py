"""Dataflow rules, fold enumeration and hand-checked fold cycle counts from the contract."""

import numpy as np
import pytest

from accelsim.errors import AccelsimError
from accelsim.hardware.config import ArrayConfig
from accelsim.mapping.dataflow import DATAFLOW, IS, OS, WS, get
from accelsim.mapping.folds import enumerate_folds, folds_for, stream_chunk


def test_dataflow_table():
    assert (OS.pinned, OS.rows, OS.cols, OS.streamed, OS.order, OS.port) == ("C", "m", "n", "k", ("m", "n"), 0)
    assert (WS.pinned, WS.rows, WS.cols, WS.streamed, WS.order, WS.port) == ("B", "k", "n", "m", ("m", "n", "k"), 1)
    assert (IS.pinned, IS.rows, IS.cols, IS.streamed, IS.order, IS.port) == ("A", "k", "m", "n", ("n", "m", "k"), 1)
    assert not OS.chunked and WS.chunked and IS.chunked
    assert get("os") is OS and get(WS) is WS
    with pytest.raises(AccelsimError, match="dataflow"):
        get("rs")


@pytest.mark.parametrize("df, R, C, stream, cycles", [
    ("os", 2, 2, 3, 3 + 4 + 2 - 2),      # K + 2R + C - 2 = 7
    ("os", 1, 1, 1, 1 + 2 + 1 - 2),      # a single MAC: 2 cycles (MAC, then the drain row)
    ("os", 4, 3, 5, 5 + 8 + 3 - 2),
    ("ws", 2, 2, 3, 4 + 2 + 3 - 1),      # 2R + C + M - 1 = 8
    ("ws", 1, 1, 1, 2 + 1 + 1 - 1),      # load, stream, out: 3
    ("is", 3, 2, 4, 6 + 2 + 4 - 1),      # 2R + C + N - 1
])
def test_fold_cycles_by_hand(df, R, C, stream, cycles):
    d = DATAFLOW[df]
    assert d.fold_cycles(R, C, stream) == cycles
    out = d.output_cycles(R, C, stream)
    assert out[-1] == cycles - 1  # done is the final output row's cycle
    assert len(out) == (R if df == "os" else stream)


def test_os_2x2_k3_output_cycles():
    # drain starts at D = K + R + C - 2 = 5; rows 1 then 0 of the array
    assert OS.output_cycles(2, 2, 3).tolist() == [5, 6]
    # WS row m at R + m + R + C - 1
    assert WS.output_cycles(2, 2, 3).tolist() == [5, 6, 7]


def test_fold_order_and_tiles():
    f = enumerate_folds("os", 5, 7, 3, 2, 2)  # m tiles 0,2,4 (last partial), n tiles 0,2
    assert list(zip(f.m0.tolist(), f.n0.tolist(), strict=True)) == [(0, 0), (0, 2), (2, 0), (2, 2), (4, 0), (4, 2)]
    assert f.mt.tolist() == [2, 2, 2, 2, 1, 1] and f.nt.tolist() == [2, 1] * 3
    assert (f.k0 == 0).all() and (f.kt == 7).all() and f.stream == 7
    w = enumerate_folds("ws", 5, 7, 3, 2, 2)  # n outer, k inner
    assert list(zip(w.n0.tolist(), w.k0.tolist(), strict=True)) == [(n, k) for n in (0, 2) for k in (0, 2, 4, 6)]
    assert (w.mt == 5).all() and w.kt.tolist()[:4] == [2, 2, 2, 1] and w.stream == 5
    assert w.first_k.tolist() == [True, False, False, False] * 2
    assert w.last_k.tolist() == [False, False, False, True] * 2
    i = enumerate_folds("is", 5, 7, 3, 2, 4)  # m (by COLS=4) outer, k (by ROWS=2) inner
    assert list(zip(i.m0.tolist(), i.k0.tolist(), strict=True))[:5] == [(0, 0), (0, 2), (0, 4), (0, 6), (4, 0)]
    assert i.mt.tolist()[4] == 1 and (i.nt == 3).all() and i.stream == 3
    fold = i[5]
    got = (fold.m0, fold.mt, fold.k0, fold.kt, fold.n0, fold.nt, fold.first_k, fold.last_k)
    assert got == (4, 1, 2, 2, 0, 3, False, False)


def test_chunked_ws_fold_order_by_hand():
    # M = 7 in chunks of 3 (3, 3, 1), N = 3 by COLS=2 (2, 1), K = 5 by ROWS=2 (2, 2, 1)
    w = enumerate_folds("ws", 7, 5, 3, 2, 2, stream_chunk=3)
    assert len(w) == 3 * 2 * 3 and w.chunk == 3
    order = list(zip(w.m0.tolist(), w.n0.tolist(), w.k0.tolist(), strict=True))
    assert order[:7] == [(0, 0, 0), (0, 0, 2), (0, 0, 4), (0, 2, 0), (0, 2, 2), (0, 2, 4), (3, 0, 0)]
    assert order[-1] == (6, 2, 4)
    assert w.mt.tolist() == [3] * 6 + [3] * 6 + [1] * 6          # chunk lengths, the last partial
    assert w.s0.tolist() == w.m0.tolist() and w.st.tolist() == w.mt.tolist()
    assert w.nt.tolist() == ([2] * 3 + [1] * 3) * 3 and w.kt.tolist() == [2, 2, 1] * 6
    assert w.cycles.tolist() == [2 * 2 + 2 + 3 - 1] * 12 + [2 * 2 + 2 + 1 - 1] * 6  # 2R + C + S_f - 1
    assert w.stream_beats == 7 * 2 * 3                             # every row of A once per (n, k) tile
    assert w.first_k.tolist() == [True, False, False] * 6 and w.last_k.tolist() == [False, False, True] * 6
    fold = w[16]
    assert (fold.m0, fold.mt, fold.k0, fold.kt, fold.n0, fold.nt, fold.s0, fold.st) == (6, 1, 2, 2, 2, 1, 6, 1)
    with pytest.raises(ValueError, match="per-fold"):
        w.stream  # noqa: B018  (the folds differ)
    with pytest.raises(ValueError, match="per-fold"):
        w.fold_cycles  # noqa: B018


def test_chunked_is_fold_order_by_hand():
    # N = 5 in chunks of 2 (2, 2, 1), M = 3 by COLS=2 (2, 1), K = 3 by ROWS=2 (2, 1)
    i = enumerate_folds("is", 3, 3, 5, 2, 2, stream_chunk=2)
    order = list(zip(i.n0.tolist(), i.m0.tolist(), i.k0.tolist(), strict=True))
    assert order == [(n0, m0, k0) for n0 in (0, 2, 4) for m0 in (0, 2) for k0 in (0, 2)]
    assert i.nt.tolist() == [2] * 8 + [1] * 4 and i.st.tolist() == i.nt.tolist() and i.s0.tolist() == i.n0.tolist()
    assert i.mt.tolist() == [2, 2, 1, 1] * 3 and i.kt.tolist() == [2, 1] * 6
    assert i.cycles.tolist() == [4 + 2 + 2 - 1] * 8 + [4 + 2 + 1 - 1] * 4


def test_chunk_at_least_the_stream_is_unchunked_and_os_ignores_it():
    for df, chunk in [("ws", 5), ("ws", 99), ("is", 3), ("os", 1)]:
        plain, chunked = enumerate_folds(df, 5, 7, 3, 2, 2), enumerate_folds(df, 5, 7, 3, 2, 2, stream_chunk=chunk)
        for ax in ("m0", "mt", "k0", "kt", "n0", "nt"):
            assert getattr(plain, ax).tolist() == getattr(chunked, ax).tolist(), (df, ax)
        assert chunked.stream == plain.stream == {"ws": 5, "is": 3, "os": 7}[df]
    with pytest.raises(ValueError, match="stream_chunk"):
        enumerate_folds("ws", 5, 7, 3, 2, 2, stream_chunk=0)


def test_stream_chunk_from_the_ofmap_sram():
    assert stream_chunk(ArrayConfig()) == 64 * 1024 // (32 * 4)                        # 512: half of 128 KiB
    assert stream_chunk(ArrayConfig(double_buffer=False)) == 1024
    assert stream_chunk(ArrayConfig(rows=8, cols=16, acc_bits=16, out_bits=16, ofmap_sram_kib=1)) == 16
    tiny = ArrayConfig(rows=5, cols=2, ofmap_sram_kib=2 * 5 * 4 / 1024)                # the least accepted
    assert stream_chunk(tiny) == 2                                                     # 20 usable bytes / 8
    f = folds_for(tiny, 7, 3, 3, "is")
    assert f.chunk == 2 and f.st.tolist()[-1] == 1 and folds_for(tiny, 7, 3, 3, "os").chunk == 3


@pytest.mark.parametrize("df", ["os", "ws", "is"])
@pytest.mark.parametrize("chunk", [None, 1, 2, 4])
def test_folds_cover_every_mac_once(df, chunk):
    m, k, n = 9, 11, 7
    f = enumerate_folds(df, m, k, n, 4, 3, stream_chunk=chunk)
    cover = np.zeros((m, k, n), dtype=int)
    for x in f:
        cover[x.m0:x.m0 + x.mt, x.k0:x.k0 + x.kt, x.n0:x.n0 + x.nt] += 1
        assert x.st <= (chunk or 99) or df == "os"
    assert (cover == 1).all()
    # the k-tiles of one C block are consecutive folds
    blocks = list(zip(f.m0.tolist(), f.n0.tolist(), strict=True))
    seen = []
    for b in blocks:
        if not seen or seen[-1] != b:
            assert b not in seen
            seen.append(b)


def test_vgg16_ws_fold_count_is_compact():
    from accelsim.workload import resolve
    from accelsim.workload.gemm import gemm_shape

    net, cfg = resolve("vgg16"), ArrayConfig()
    shapes = [gemm_shape(n) for n in net if gemm_shape(n)]
    unchunked = sum(len(enumerate_folds("ws", m, k, n, 32, 32)) * g for m, k, n, g in shapes)
    chunked = sum(len(folds_for(cfg, m, k, n)) * g for m, k, n, g in shapes)
    assert unchunked == 135_198 and chunked == 158_468  # conv1_2: 98 chunks of 512 rows x 2 n x 18 k tiles
