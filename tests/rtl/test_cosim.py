"""The RTL against the stepping model (ArrayCore) and the integer reference, per array shape.

Every test runs its folds back to back in one simulation; the testbench fails a fold on any
difference in output values, output-row cycles, ``done`` cycle or ``cycle_count``. On top of
that the tests check the assembled C against exact integer products and the RTL's cycles
against the contract's formulas, neither of which goes through the model's code.
"""

from __future__ import annotations

import numpy as np
import pytest

from accelsim.lowering.requant import INT32_MAX, INT32_MIN, OutputStage
from accelsim.mapping.folds import enumerate_folds, stream_chunk
from accelsim.mapping.space import Mapping, orders
from accelsim.rtlsim import gemm_folds, make_gemm, random_gemm, run_job
from accelsim.systolic.beats import fold_beats
from accelsim.systolic.core import ArrayCore
from accelsim.systolic.fast import fast_layer
from tests.rtl.common import (
    DATAFLOWS,
    QUICK_SHAPES,
    config,
    contract_fold_cycles,
    contract_occupancy,
    contract_output_cycles,
    run_gemms,
    shape_id,
    shapes,
)

pytestmark = pytest.mark.rtl


def _assert_clean(result, checks, cfg=None):
    assert result.dut_parameters == result.parameters
    assert result.ok, result.all_errors()[:10]
    for c in checks:
        assert c.ok, c
        if cfg is not None and cfg.output_stage:  # every element of C also checked as int8 after the stage
            assert c.int8_outputs == c.shape[0] * c.shape[2] and c.wrong_int8 == 0, c
    assert result.rtl_cycles == result.model_cycles


MODES = [("whole", "serial"), ("chunked", "serial"), ("whole", "pipelined"), ("chunked", "pipelined"),
         ("chunked", "gaps")]


@shapes
@pytest.mark.parametrize("chunking, mode", MODES, ids=[f"{c}-{m}" for c, m in MODES])
def test_random_tiles_every_dataflow(shape, chunking, mode, tmp_path):
    """Random int8 GEMMs with partial tiles on every axis, OS then WS then IS in one run. ``chunked``:
    the smallest legal ofmap SRAM makes WS/IS stream in chunks (``mapping.stream_chunk``), the
    last one partial. ``pipelined``: folds issued at the contract's occupancy; ``gaps``: pipelined
    with random idle cycles before some folds. Fold starts are checked against the contract's
    issue rule, output rows against its offsets from each fold's first beat."""
    cfg = config(shape)
    R, C = cfg.rows, cfg.cols
    chunk = None
    if chunking == "chunked":
        chunk = max(3, max(R, C) // C)
        cfg = cfg.with_(ofmap_sram_kib=2 * chunk * C * cfg.acc_bytes / 1024)
        assert stream_chunk(cfg) == chunk
    step = chunk or 3
    m = next(x for x in range(max(2 * R, step) + 1, 40 * R) if (R == 1 or x % R) and x % step)
    n = next(x for x in range(max(C, step) + 1, 40 * C) if (C == 1 or x % C) and x % step)
    g = random_gemm(cfg, m, R + 3, n, seed=R * 100 + C)
    jobs = [(g, df) for df in DATAFLOWS]
    n_folds = sum(len(gemm_folds(cfg, df, g)) for df in DATAFLOWS)
    rng = np.random.default_rng(R * 7 + C)
    gaps = [int(x) for x in rng.integers(1, 6, n_folds) * (rng.random(n_folds) < 0.4)] if mode == "gaps" else None
    result, checks, beats = run_gemms(cfg, jobs, tmp_path, pipeline=mode != "serial", gaps=gaps)
    if chunk:
        assert {b.stream for b in beats[1]} == {chunk, m % chunk}
        assert {b.stream for b in beats[2]} == {chunk, n % chunk}
    _assert_clean(result, checks, cfg)
    flat = [(df, b) for (_, df), bl in zip(jobs, beats, strict=True) for b in bl]
    for (df, b), f in zip(flat, result.folds, strict=True):
        assert f.rtl_fold_cycles == contract_fold_cycles(df, R, C, b.stream)
        np.testing.assert_array_equal(f.rtl_cycles, contract_output_cycles(df, R, C, b.stream))
        if cfg.output_stage and b.fold.last_k:  # the int8 rows: OUT_STAGE_CYCLES after the array's rows
            np.testing.assert_array_equal(f.rtl_q_cycles, contract_output_cycles(df, R, C, b.stream) + 3)
        else:
            assert f.rtl_q is None or len(f.rtl_q) == 0
    starts = [f.cycle_count_start for f in result.folds]
    assert starts[0] == (gaps[0] if gaps else 0)
    for i in range(1, len(flat)):
        (df0, b0), (_, b1) = flat[i - 1], flat[i]
        want = contract_fold_cycles(df0, R, C, b0.stream)
        if mode != "serial" and b0.dataflow_port == b1.dataflow_port:
            want = contract_occupancy(df0, R, b0.stream, b1.stream)
        assert starts[i] - starts[i - 1] == want + (gaps[i] if gaps else 0)
    if mode == "pipelined":
        assert starts[-1] < sum(contract_fold_cycles(df, R, C, b.stream) for df, b in flat[:-1])


@pytest.mark.parametrize("shape", [s for s in QUICK_SHAPES if s[0] * s[1] < 256], ids=shape_id)
@pytest.mark.parametrize("mode", ["pipelined", "serial"])
def test_swapped_orders_and_small_chunks(shape, mode, tmp_path):
    """The swapped fold order of every dataflow (docs/microarchitecture.md, "Mappings"), WS/IS with a chunk
    below the most the ofmap SRAM holds (a partial last chunk), then the fixed order with chunk 1, in one run:
    bit- and cycle-exact against the model, C against the exact product, the int8 rows after the stage, and
    each GEMM's RTL cycles against the fast model's closed form for that mapping."""
    cfg = config(shape).with_(pipeline=mode == "pipelined")
    R, C = cfg.rows, cfg.cols
    g = random_gemm(cfg, 2 * R + 3, R + 2, 2 * C + 1, seed=R * 31 + C)
    m, k, n = g.shape
    small = 2 if stream_chunk(cfg) > 2 else 1
    maps = [Mapping("os", orders("os")[1]), Mapping("ws", orders("ws")[1], small),
            Mapping("is", orders("is")[1], small + 1), Mapping("ws", chunk=1), Mapping("is", chunk=1)]
    result, checks, beats = run_gemms(cfg, [(g, mp) for mp in maps], tmp_path, pipeline=cfg.pipeline)
    _assert_clean(result, checks, cfg)
    for mp, bl, c in zip(maps, beats, checks, strict=True):
        assert c.mapping == mp.describe() and len(bl) == c.folds
        outer = [getattr(b.fold, f"{mp.order[0]}0") for b in bl]
        assert outer == sorted(outer) and len(set(outer)) > 1  # the mapping's outermost loop really is outermost
        if mp.chunk is not None:
            assert {b.stream for b in bl} == {mp.chunk, (m if mp.dataflow == "ws" else n) % mp.chunk or mp.chunk}
        assert c.rtl_cycles == c.model_cycles == fast_layer(cfg, m, k, n, mapping=mp).compute_cycles


@shapes
def test_extreme_values_wrap_like_the_model(shape, tmp_path):
    """-128 x -128 over a long K, all zeros, all +127, and -128 x +127: sums wrap at ACC_W exactly."""
    cfg = config(shape)
    R, C = cfg.rows, cfg.cols
    m, k, n = R + 1, 4 * R + 37, C + 1

    def full(v, shp):
        return np.full(shp, v, dtype=np.int64)

    gemms = [
        make_gemm(cfg, full(-128, (m, k)), full(-128, (k, n)), "min*min"),
        make_gemm(cfg, full(0, (m, k)), full(0, (k, n)), "zero"),
        make_gemm(cfg, full(127, (m, k)), full(127, (k, n)), "max*max"),
        make_gemm(cfg, full(-128, (m, k)), full(127, (k, n)), "min*max"),
    ]
    if cfg.acc_bits < 32:
        assert (gemms[0].reference != k * 128 * 128).all(), "the long-K sums must overflow the narrow accumulator"
    else:  # output stages at their extremes: the bias add wraps, left shifts saturate, the largest multiplier
        extremes = [OutputStage(INT32_MAX, 30, -127, 127, np.full(n, INT32_MAX)),
                    OutputStage(1 << 30, -31, 0, 127, np.full(n, INT32_MIN)),
                    OutputStage(INT32_MAX, -1, -127, 127, np.arange(n) - n // 2),
                    OutputStage(1 << 30, 0, 0, 6, np.full(n, INT32_MIN + 5), "relu6")]
        for g, st in zip(gemms, extremes, strict=True):
            g.stage, g.out = st, st.apply(g.reference)
    result, checks, _ = run_gemms(cfg, [(g, df) for g in gemms for df in DATAFLOWS], tmp_path)
    _assert_clean(result, checks, cfg)


@shapes
def test_back_to_back_folds_leave_no_state(shape, tmp_path):
    """Folds of different GEMMs and dataflows interleaved, issued serially (each the cycle after the previous
    one's done): each equals a run of that fold alone from reset. (Pipelined issue: the tests below.)"""
    cfg = config(shape).with_(pipeline=False)
    R, C = cfg.rows, cfg.cols
    g1 = random_gemm(cfg, R + 2, 2 * R + 1, C + 2, seed=1)
    g2 = random_gemm(cfg, 3 * R, R + 1, C, seed=2)
    order = [(g1, "os", 0), (g2, "ws", 1), (g1, "is", 0), (g2, "os", 0), (g1, "ws", 0), (g2, "is", 1), (g1, "os", -1)]
    beats = []
    for g, df, i in order:
        m, k, n = g.shape
        folds = enumerate_folds(df, m, k, n, R, C)
        beats.append(fold_beats(cfg, df, g.a, g.b, folds[i]))
    result = run_job(cfg, beats, run_dir=tmp_path / "run")
    assert result.ok, result.all_errors()[:10]
    for b, f in zip(beats, result.folds, strict=True):
        alone = ArrayCore(R, C, cfg.data_bits, cfg.acc_bits).run(b)
        np.testing.assert_array_equal(f.rtl_out, alone.out)
        np.testing.assert_array_equal(f.rtl_cycles, alone.out_cycle)
        assert f.rtl_done == alone.done_cycle
    starts = [f.cycle_count_start for f in result.folds]
    assert starts[0] == 0
    assert starts[1:] == [f.cycle_count_done + 1 for f in result.folds[:-1]]
    assert result.folds[-1].cycle_count_done + 1 == result.rtl_cycles == result.model_cycles


def test_os_accumulator_wraps_at_32_bits(tmp_path):
    """One PE, 2^17 + 3 products of -128 x -128: the 32-bit accumulator passes 2^31 and wraps negative."""
    cfg = config((1, 1, 32), "os")
    k = (1 << 17) + 3
    g = make_gemm(cfg, np.full((1, k), -128), np.full((k, 1), -128), "wrap32")
    assert g.reference[0, 0] == 128 * 128 * k - (1 << 32) < 0
    result, checks, _ = run_gemms(cfg, [(g, "os")], tmp_path)
    _assert_clean(result, checks)
    assert result.folds[0].rtl_out[0, 0] == g.reference[0, 0]


def test_checker_reads_cycle_count_modulo_2_to_the_32():
    """``cycle_count`` is a free-running 32-bit counter: a fold across its wrap is judged modulo 2^32."""
    from accelsim.rtlsim.job import FoldResult
    from accelsim.rtlsim.tb import Checker

    out, cycles = np.zeros((1, 1), dtype=np.int64), np.array([2])
    top = (1 << 32) - 1
    ok = FoldResult(0, 0, out, cycles, 2, top, 1, out, cycles, 2, 0.0)
    Checker().compare(ok, top)
    assert ok.errors == []
    late = FoldResult(0, 0, out, cycles, 2, top, 2, out, cycles, 2, 0.0)
    Checker().compare(late, top)
    assert late.errors == ["cycle_count advanced 3 by done, expected 2"]
