"""The fast co-simulation harness (``rtl/tb/harness_top.v``, ``accelsim.rtlsim.harness``).

Its schedule (fold starts from the fast model's timing) equals where the stepping model's driver issues
the folds, and the stimulus it plays is exactly the driver's per-cycle inputs; its checker rejects a wrong
value, a wrong cycle and a missing row; and the RTL on 4x4 (one Verilator build) passes every dataflow,
serial and pipelined, bit- and cycle-exact against the fast model.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import numpy as np
import pytest

from accelsim.hardware.config import ArrayConfig
from accelsim.mapping.folds import folds_for
from accelsim.rtlsim.env import setup_env, simulator_missing
from accelsim.rtlsim.gemm import network_gemms, random_gemm
from accelsim.rtlsim.harness import check, harness_sources, run_harness, stimulus
from accelsim.systolic.beats import fold_beats
from accelsim.systolic.core import ArrayCore
from accelsim.systolic.issue import run_folds

IN_CI = os.environ.get("CI") == "true"
IN_CI_SKIP = "one mutant's Verilator build is enough in CI"
SHAPES = [(9, 10, 7), (5, 3, 6), (1, 1, 1), (13, 4, 9)]
CASES = [(df, pipe) for df in ("os", "ws", "is") for pipe in (False, True)]


def _cfg(dataflow: str, pipeline: bool, rows: int = 4, cols: int = 4) -> ArrayConfig:
    return ArrayConfig(rows=rows, cols=cols, dataflow=dataflow, pipeline=pipeline)


def _decode(st, cfg: ArrayConfig):
    """The stimulus file back as (control byte, a_in, b_in) per cycle (independent of the packing code)."""
    w, n_op = cfg.data_bits, (cfg.rows + cfg.cols) * cfg.data_bits
    data, size = st.file_bytes(), 4 * -(-(8 + n_op) // 32)  # whole 32-bit units a word
    assert len(data) == st.cycles * size
    words = [int.from_bytes(data[i:i + size], "little") for i in range(0, len(data), size)]

    def lane(x, i):
        v = (x >> (i * w)) & ((1 << w) - 1)
        return v - (1 << w) if v >> (w - 1) else v

    assert [x >> (n_op + 4) for x in words] == [0] * (st.cycles - 1) + [1]  # the stop word ends the batch
    ctrl = [(x >> n_op) & 15 for x in words[:-1]]
    a = [[lane(x, i) for i in range(cfg.rows)] for x in words[:-1]]
    b = [[lane(x >> (cfg.rows * w), j) for j in range(cfg.cols)] for x in words[:-1]]
    return ctrl, np.array(a), np.array(b)


@pytest.mark.parametrize(("dataflow", "pipeline"), CASES)
@pytest.mark.parametrize("shape", SHAPES)
def test_stimulus_is_the_drivers_stream(dataflow, pipeline, shape):
    """Fold starts equal the stepping model's issue cycles, and every word equals the driver's merged inputs
    (``FoldDriver.inputs``, restated here) in that cycle."""
    cfg = _cfg(dataflow, pipeline)
    g = random_gemm(cfg, *shape, seed=3)
    st = stimulus(cfg, g, pipeline)
    folds = folds_for(cfg, *shape)
    beats = [fold_beats(cfg, folds.dataflow, g.a, g.b, f) for f in folds]
    traces = run_folds(ArrayCore(cfg.rows, cfg.cols), beats, pipeline)
    assert st.starts.tolist() == [t.start for t in traces]
    assert st.cycles == traces[-1].start + traces[-1].done_cycle + 2  # the stop word follows the last done
    ctrl, a, b = _decode(st, cfg)
    for t in range(st.cycles - 1):
        load = valid = last = False
        a_want, b_want = np.zeros(cfg.rows, np.int64), np.zeros(cfg.cols, np.int64)
        for bt, s in zip(beats, st.starts.tolist(), strict=True):
            i = t - s
            if 0 <= i < bt.cycles:
                if bt.load[i]:
                    load, b_want = True, bt.b_in[i]
                if bt.valid[i]:
                    valid, last, a_want = True, bool(bt.last[i]), bt.a_in[i]
                    if not bt.dataflow.preloads:
                        b_want = bt.b_in[i]
        assert ctrl[t] == (folds.dataflow.port << 3 | load << 2 | valid << 1 | last), t
        assert a[t].tolist() == a_want.tolist() and b[t].tolist() == b_want.tolist(), t


@pytest.mark.parametrize(("dataflow", "pipeline"), CASES)
def test_a_gemm_too_long_for_one_file_is_split_at_drained_fold_boundaries(dataflow, pipeline):
    """Segments of at most ``depth`` words; a segment's first fold starts the cycle after the previous fold's done,
    which is where the stepping model's driver issues it given that many idle cycles."""
    cfg = _cfg(dataflow, pipeline)
    g = random_gemm(cfg, 13, 10, 9, seed=4)
    st = stimulus(cfg, g, pipeline, depth=45)
    assert len(st.segments) > 2
    assert all(end - first + 1 <= 45 for _, _, first, end in st.segments)
    assert [lo for lo, *_ in st.segments[1:]] == [hi for _, hi, *_ in st.segments[:-1]]
    beats = [fold_beats(cfg, st.folds.dataflow, g.a, g.b, f) for f in st.folds]
    F = st.folds.cycles
    occ = F if not pipeline else st.folds.dataflow.occupancy(cfg.rows, st.folds.st)
    gaps = [0] * len(beats)
    for lo, *_ in st.segments[1:]:
        gaps[lo] = int(F[lo - 1] - occ[lo - 1])
    traces = run_folds(ArrayCore(cfg.rows, cfg.cols), beats, pipeline, gaps)
    assert st.starts.tolist() == [t.start for t in traces]
    for lo, hi, first, end in st.segments:
        assert first == st.starts[lo] and end == traces[hi - 1].start + traces[hi - 1].done_cycle + 1
        assert len(st.file_bytes(st.segments.index((lo, hi, first, end)))) == (end - first + 1) * 4 * 3


def _model_capture(cfg, st):
    """What a correct RTL captures: the stepping model's rows and cycles."""
    beats = [fold_beats(cfg, st.folds.dataflow, st.gemm.a, st.gemm.b, f) for f in st.folds]
    traces = run_folds(ArrayCore(cfg.rows, cfg.cols), beats, cfg.pipeline)
    cycle = np.concatenate([t.out_cycle + t.start for t in traces])
    last = np.concatenate([np.arange(len(t.out)) == len(t.out) - 1 for t in traces])
    return cycle, last, np.concatenate([t.out for t in traces])


@pytest.mark.parametrize(("dataflow", "pipeline"), CASES)
def test_checker_passes_the_stepping_model_and_catches_errors(dataflow, pipeline):
    cfg = _cfg(dataflow, pipeline)
    st = stimulus(cfg, random_gemm(cfg, 9, 10, 7, seed=5), pipeline)
    cycle, last, out = _model_capture(cfg, st)
    assert check(cfg, st, cycle, last, out).ok
    bad = out.copy()
    bad[len(bad) // 2, 0] += 1
    assert "values of C differ" in check(cfg, st, cycle, last, bad).errors[0]
    late = cycle.copy()
    late[-1] += 1
    assert any("wrong cycle" in e for e in check(cfg, st, late, last, out).errors)
    assert "output rows, fast model" in check(cfg, st, cycle[:-1], last[:-1], out[:-1]).errors[0]
    st.gemm.reference[0, 0] += 1
    assert check(cfg, st, cycle, last, out).errors == ["the fast model's C differs from the GEMM's own reference"]


@pytest.mark.rtl
def test_rtl_through_the_fast_harness():
    """4x4 (one build): every dataflow, serial and pipelined, several GEMMs a run, bit- and cycle-exact."""
    for pipeline in (False, True):
        cfg = _cfg("ws", pipeline)
        gemms = [random_gemm(_cfg(df, pipeline), *shape, seed=i) for i, shape in enumerate(SHAPES)
                 for df in ("os", "ws", "is")]
        for g, df in zip(gemms, ["os", "ws", "is"] * len(SHAPES), strict=True):
            g.mapping = folds_for(_cfg(df, pipeline), *g.shape).mapping
        r = run_harness(cfg, gemms, pipeline=pipeline)
        assert r.ok, r.errors + [e for v in r.verdicts for e in v.errors]
        assert len(r.verdicts) == len(gemms)
        assert r.rtl_cycles == sum(stimulus(cfg, g, pipeline).cycles for g in gemms)
    # GEMMs split into segments of at most 40 words (one file each), drained in between
    gemms = []
    for df in ("os", "ws", "is"):
        g = random_gemm(_cfg(df, True), 13, 10, 9, seed=6)
        g.mapping = folds_for(_cfg(df, True), *g.shape).mapping
        gemms.append(g)
        assert len(stimulus(_cfg(df, True), g, True, depth=40).segments) > 2
    r = run_harness(_cfg("ws", True), gemms, pipeline=True, depth=40)
    assert r.ok, r.errors + [e for v in r.verdicts for e in v.errors]


@pytest.mark.rtl
def test_lenet5_through_the_fast_harness():
    """A network's worth of tiles in CI: every GEMM of LeNet-5's int8 forward (its own accumulators the reference)
    on the 4x4 build, pipelined WS, bit- and cycle-exact (~41k cycles, ~1.5 s)."""
    cfg = _cfg("ws", True)
    gemms = network_gemms(cfg, "lenet5")
    r = run_harness(cfg, gemms, pipeline=True)
    assert r.ok, r.errors + [e for v in r.verdicts for e in v.errors]
    assert len(r.verdicts) == len(gemms) == 5 and r.rtl_cycles > 30_000


@pytest.mark.parametrize("params", [{"ROWS": 4, "COLS": 4}, {"ROWS": 1, "COLS": 8, "ACC_W": 16, "OUT_W": 16},
                                    {"ROWS": 16, "COLS": 16, "OUT_W": 8}], ids=["4x4", "1x8-acc16", "16x16"])
def test_harness_top_lint_wall(params):
    """The testbench top follows the RTL's rules: Verilator -Wall clean, one module, UPPER_SNAKE parameters."""
    assert simulator_missing("verilator") is None
    setup_env()
    sources = harness_sources()
    cmd = ["verilator", "--lint-only", "-Wall", "--timing", "--top-module", "harness_top",
           *(f"-G{k}={v}" for k, v in params.items()), *(str(p) for p in sources if p.suffix == ".v")]
    r = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert r.returncode == 0 and "%Warning" not in r.stderr and "%Error" not in r.stderr, r.stderr
    assert sources[-1].name == "harness_io.cpp"
    text = sources[-2].read_text()
    assert re.findall(r"^\s*module\s+(\w+)", text, re.MULTILINE) == ["harness_top"]
    assert "`default_nettype none" in text and not re.search(r"lint_off|-Wno-", text)
    for name in re.findall(r"\b(?:local)?param(?:eter)?\s+(?:\[[^\]]*\]\s*)?(\w+)", text):
        assert re.fullmatch(r"[A-Z][A-Z0-9_]*", name), name


@pytest.mark.rtl
@pytest.mark.parametrize("mutant", [
    pytest.param("output_bit_flip", marks=[pytest.mark.slow, pytest.mark.skipif(IN_CI, reason=IN_CI_SKIP)]),
    pytest.param("extra_drain_row", marks=[pytest.mark.slow, pytest.mark.skipif(IN_CI, reason=IN_CI_SKIP)]),
    "skew_off_by_one",
])
def test_mutated_rtl_is_caught_by_the_fast_harness(mutant, tmp_path, monkeypatch):
    """The array's mutants of ``tests/rtl/test_mutation.py`` (a flipped output bit, a wrong drain, an off-by-one
    skew) fail the fast harness's check too (a scratch Verilator build each, ~8 s: CI builds one)."""
    from accelsim.rtlsim import env
    from tests.rtl.test_mutation import RTL_MUTANTS

    rtl = tmp_path / "rtl"
    shutil.copytree(env.RTL_DIR, rtl)
    name, old, new = RTL_MUTANTS[mutant]
    # the harness's first beat is a few cycles after reset: flip the bit every 16 cycles, not in cycle 10 only
    new = new.replace("(cycle_count_q == 32'd10)", "(cycle_count_q[3:0] == 4'd10)")
    text = (rtl / name).read_text()
    assert text.count(old) == 1
    (rtl / name).write_text(text.replace(old, new))
    monkeypatch.setattr(env, "RTL_DIR", rtl)
    monkeypatch.setenv("ACCELSIM_SIM_BUILD", str(tmp_path / "sim_build"))
    gemms = []
    for df in ("os", "ws"):
        g = random_gemm(_cfg(df, False, 2, 3), 4, 7, 5, seed=8)
        g.mapping = folds_for(_cfg(df, False, 2, 3), *g.shape).mapping
        gemms.append(g)
    r = run_harness(_cfg("os", False, 2, 3), gemms, pipeline=False)
    assert not r.ok and any(not v.ok for v in r.verdicts)
