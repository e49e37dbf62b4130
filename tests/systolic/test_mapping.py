"""Dataflow rules, fold enumeration and hand-checked fold cycle counts from the contract."""

import numpy as np
import pytest

from accelsim.errors import AccelsimError
from accelsim.systolic.dataflow import DATAFLOW, IS, OS, WS, get
from accelsim.systolic.mapping import enumerate_folds


def test_dataflow_table():
    assert (OS.pinned, OS.rows, OS.cols, OS.streamed, OS.order, OS.port) == ("C", "m", "n", "k", ("m", "n"), 0)
    assert (WS.pinned, WS.rows, WS.cols, WS.streamed, WS.order, WS.port) == ("B", "k", "n", "m", ("n", "k"), 1)
    assert (IS.pinned, IS.rows, IS.cols, IS.streamed, IS.order, IS.port) == ("A", "k", "m", "n", ("m", "k"), 1)
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
    assert list(zip(f.m0.tolist(), f.n0.tolist())) == [(0, 0), (0, 2), (2, 0), (2, 2), (4, 0), (4, 2)]
    assert f.mt.tolist() == [2, 2, 2, 2, 1, 1] and f.nt.tolist() == [2, 1] * 3
    assert (f.k0 == 0).all() and (f.kt == 7).all() and f.stream == 7
    w = enumerate_folds("ws", 5, 7, 3, 2, 2)  # n outer, k inner
    assert list(zip(w.n0.tolist(), w.k0.tolist())) == [(0, 0), (0, 2), (0, 4), (0, 6), (2, 0), (2, 2), (2, 4), (2, 6)]
    assert (w.mt == 5).all() and w.kt.tolist()[:4] == [2, 2, 2, 1] and w.stream == 5
    assert w.first_k.tolist() == [True, False, False, False] * 2
    assert w.last_k.tolist() == [False, False, False, True] * 2
    i = enumerate_folds("is", 5, 7, 3, 2, 4)  # m (by COLS=4) outer, k (by ROWS=2) inner
    assert list(zip(i.m0.tolist(), i.k0.tolist()))[:5] == [(0, 0), (0, 2), (0, 4), (0, 6), (4, 0)]
    assert i.mt.tolist()[4] == 1 and (i.nt == 3).all() and i.stream == 3
    fold = i[5]
    assert (fold.m0, fold.mt, fold.k0, fold.kt, fold.n0, fold.nt, fold.first_k, fold.last_k) == (4, 1, 2, 2, 0, 3, False, False)


@pytest.mark.parametrize("df", ["os", "ws", "is"])
def test_folds_cover_every_mac_once(df):
    m, k, n = 9, 11, 7
    f = enumerate_folds(df, m, k, n, 4, 3)
    cover = np.zeros((m, k, n), dtype=int)
    for x in f:
        cover[x.m0:x.m0 + x.mt, x.k0:x.k0 + x.kt, x.n0:x.n0 + x.nt] += 1
    assert (cover == 1).all()
    # the k-tiles of one C block are consecutive folds
    blocks = list(zip(f.m0.tolist(), f.n0.tolist()))
    seen = []
    for b in blocks:
        if not seen or seen[-1] != b:
            assert b not in seen
            seen.append(b)


def test_vgg16_ws_fold_count_is_compact():
    from accelsim.workload import resolve
    from accelsim.workload.profile import gemm_shape

    net = resolve("vgg16")
    total = sum(len(enumerate_folds("ws", *gemm_shape(n)[:3], 32, 32)) * gemm_shape(n)[3] for n in net if gemm_shape(n))
    assert total > 130_000
