"""ArrayCore, the register-level golden of systolic_top: hand-checked folds and contract timing."""

import numpy as np
import pytest

from accelsim.hardware.arith import wrap
from accelsim.hardware.config import ArrayConfig
from accelsim.mapping.folds import enumerate_folds
from accelsim.systolic.beats import fold_beats
from accelsim.systolic.core import SIGNALS, ArrayCore


def cfg_for(R, C, **kw):
    return ArrayConfig(rows=R, cols=C, ifmap_sram_kib=64, filter_sram_kib=64, ofmap_sram_kib=64, **kw)


def run_gemm(core, cfg, df, A, B, chunk=None):
    folds = enumerate_folds(df, A.shape[0], A.shape[1], B.shape[1], cfg.rows, cfg.cols, stream_chunk=chunk)
    c = np.zeros((A.shape[0], B.shape[1]), dtype=np.int64)
    for f in folds:
        beats = fold_beats(cfg, df, A, B, f)
        tr = core.run(beats)
        assert beats.stream == f.st and tr.cycles == folds.cycles[f.index]
        assert tr.out_cycle.tolist() == folds.dataflow.output_cycles(cfg.rows, cfg.cols, f.st).tolist()
        tile = beats.scatter(tr.out)
        c[beats.block] = tile if f.first_k else wrap(c[beats.block] + tile, core.acc_bits)
    return c


def test_os_2x2_k3_by_hand():
    cfg = cfg_for(2, 2)
    A = np.array([[1, 2, 3], [4, 5, 6]])
    B = np.array([[1, 0], [0, 1], [1, 1]])
    f = enumerate_folds("os", 2, 3, 2, 2, 2)[0]
    tr = ArrayCore(2, 2).run(fold_beats(cfg, "os", A, B, f), record=True)
    assert tr.cycles == 7 and tr.done_cycle == 6
    assert tr.out_cycle.tolist() == [5, 6]
    assert tr.out.tolist() == [[10, 11], [4, 5]]  # bottom array row first
    s = tr.signals
    assert s["c_valid"].tolist() == [0, 0, 0, 0, 0, 1, 1] and s["done"].tolist() == [0] * 6 + [1]
    assert s["c_last"].tolist() == [0] * 6 + [1]
    # column j's drain chain holds its C column when its drain starts (cycle E_j = K + R - 1 + j),
    # the accumulators are 0 again (they start the next fold), and dn_q is set in every row of it
    for j in range(2):
        assert s["acc"][4 + j][:, j].tolist() == (A @ B)[:, j].tolist()
        assert s["dn_reg"][4 + j][:, j].all() and not s["s_reg"][4 + j][:, j].any()


def test_ws_2x2_by_hand():
    cfg = cfg_for(2, 2)
    A = np.array([[1, 2], [3, 4], [5, 6]])  # M=3, K=2
    B = np.array([[1, 2], [3, 4]])          # K=2, N=2
    f = enumerate_folds("ws", 3, 2, 2, 2, 2)[0]
    beats = fold_beats(cfg, "ws", A, B, f)
    assert beats.load.tolist() == [1, 1, 0, 0, 0] and beats.valid.tolist() == [0, 0, 1, 1, 1]
    assert beats.b_in[:2].tolist() == [[3, 4], [1, 2]]  # beat p carries row R-1-p
    tr = ArrayCore(2, 2).run(beats, record=True)
    assert tr.cycles == 2 * 2 + 2 + 3 - 1
    assert tr.out_cycle.tolist() == [5, 6, 7]
    assert tr.out.tolist() == (A @ B).tolist()
    s = tr.signals
    for j in range(2):  # column j's shadow is committed in cycle R-1+j, from the b chain
        assert s["s_reg"][2 + j][:, j].tolist() == B[:, j].tolist()
        for i in range(2):  # the first streaming beat switches PE(i, j) to it in cycle R+i+j
            assert s["w_reg"][2 + i + j + 1][i, j] == B[i, j]


def test_is_runs_transposed_on_ws_datapath():
    cfg = cfg_for(3, 2)
    A = np.arange(6).reshape(2, 3) - 2      # M=2, K=3
    B = np.arange(12).reshape(3, 4) - 5     # K=3, N=4
    f = enumerate_folds("is", 2, 3, 4, 3, 2)[0]
    beats = fold_beats(cfg, "is", A, B, f)
    assert beats.dataflow_port == 1 and beats.cycles == 3 + 4
    tr = ArrayCore(3, 2).run(beats, record=True)
    assert tr.signals["w_reg"][3 + 2 + 2].tolist() == A.T.tolist()  # PE(i, j) holds A[m0+j, k0+i] once switched
    assert tr.out.tolist() == (A @ B).T.tolist()            # output row n = C[:, n]
    assert beats.scatter(tr.out).tolist() == (A @ B).tolist()


def test_skew_value_reaches_pe_i_j_in_cycle_s_plus_i_plus_j():
    R, C, K = 3, 4, 5
    cfg = cfg_for(R, C)
    A = np.arange(R * K).reshape(R, K) + 1
    B = np.arange(K * C).reshape(K, C) + 1
    beats = fold_beats(cfg, "os", A, B, enumerate_folds("os", R, K, C, R, C)[0])
    s = ArrayCore(R, C).run(beats, record=True).signals
    for k in range(K):
        for i in range(R):
            for j in range(C):
                # PE(i, j) uses a, b in cycle k+i+j and registers them at its end
                assert s["a_reg"][k + i + j + 1][i, j] == A[i, k]
                assert s["b_reg"][k + i + j + 1][i, j] == B[k, j]


def test_record_has_every_signal_per_cycle():
    cfg = cfg_for(2, 3)
    beats = fold_beats(cfg, "ws", np.ones((4, 2), int), np.ones((2, 3), int), enumerate_folds("ws", 4, 2, 3, 2, 3)[0])
    tr = ArrayCore(2, 3).run(beats, record=True)
    assert set(tr.signals) == set(SIGNALS)
    assert all(len(v) == tr.cycles for v in tr.signals.values())
    assert tr.signals["acc"].shape == (tr.cycles, 2, 3) and tr.signals["c_out"].shape == (tr.cycles, 3)
    assert tr.signals["cycle_count"].tolist() == list(range(tr.cycles))
    assert tr.signals["done"].sum() == 1 and tr.signals["c_valid"].sum() == 4


@pytest.mark.parametrize("R, C", [(1, 1), (1, 5), (5, 1), (3, 4), (6, 6)])
def test_back_to_back_folds_of_every_dataflow_without_reset(R, C):
    """One core, folds of all dataflows interleaved: the drain and the pipes leave nothing behind."""
    rng = np.random.default_rng(R * 10 + C)
    cfg = cfg_for(R, C)
    core = ArrayCore(R, C)
    for df in ("ws", "os", "is", "os", "ws", "is"):
        m, k, n, chunk = (int(v) for v in rng.integers(1, 9, 4))
        A, B = rng.integers(-128, 128, (m, k)), rng.integers(-128, 128, (k, n))
        assert run_gemm(core, cfg, df, A, B, chunk).tolist() == (A @ B).tolist(), df


def test_os_drain_leaves_accumulators_zero():
    cfg = cfg_for(3, 3)
    core = ArrayCore(3, 3)
    A, B = np.full((3, 4), 7), np.full((4, 3), -3)
    core.run(fold_beats(cfg, "os", A, B, enumerate_folds("os", 3, 4, 3, 3, 3)[0]))
    assert not core.acc.any()


def test_inputs_outside_their_beats_are_ignored():
    """a_in only on valid beats, b_in only on OS valid beats and on load beats (qualified inputs)."""
    rng = np.random.default_rng(7)
    R, C = 3, 3
    cfg = cfg_for(R, C)
    A, B = rng.integers(-128, 128, (5, 3)), rng.integers(-128, 128, (3, 3))
    for df in ("ws", "os"):
        beats = fold_beats(cfg, df, A, B, enumerate_folds(df, 5, 3, 3, R, C)[0])
        clean = ArrayCore(R, C).run(beats)
        core = ArrayCore(R, C)
        rows = []
        for t in range(beats.cycles + 2 * (R + C)):
            in_beats = t < beats.cycles
            load, valid = (bool(beats.load[t]), bool(beats.valid[t])) if in_beats else (False, False)
            a = beats.a_in[t] if in_beats and valid else rng.integers(-128, 128, R)
            b = beats.b_in[t] if in_beats and (load or (valid and df == "os")) else rng.integers(-128, 128, C)
            p = core.step(load, valid, in_beats and bool(beats.last[t]), a, b, beats.dataflow_port)
            if p.c_valid:
                rows.append(p.c_out)
            if p.done:
                break
        assert np.array_equal(np.array(rows), clean.out)


@pytest.mark.parametrize("acc_bits", [8, 16, 32, 64])
def test_accumulator_wraps_to_acc_w(acc_bits):
    rng = np.random.default_rng(acc_bits)
    cfg = cfg_for(2, 3, acc_bits=acc_bits)
    A, B = rng.integers(-128, 128, (6, 9)), rng.integers(-128, 128, (9, 5))
    for df in ("os", "ws", "is"):
        got = run_gemm(ArrayCore(2, 3, 8, acc_bits), cfg, df, A, B)
        assert np.array_equal(got, wrap(A @ B, acc_bits)), df
    if acc_bits == 8:
        assert not np.array_equal(wrap(A @ B, 8), A @ B)


def test_wide_operands_wrap_modulo_2_64():
    cfg = cfg_for(2, 2, data_bits=32, acc_bits=64, out_bits=64)
    A = np.full((2, 4), -(1 << 31), dtype=np.int64)
    B = np.full((4, 2), -(1 << 31), dtype=np.int64)
    want = wrap(A @ B, 64)  # 4 * 2^62 wraps to 0 modulo 2^64
    assert not want.any()
    assert np.array_equal(run_gemm(ArrayCore(2, 2, 32, 64), cfg, "ws", A, B), want)
