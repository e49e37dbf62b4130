"""The fast co-simulation harness (``rtl/tb/harness_top.v``, ``accelsim.rtlsim.harness``).

Its schedule (fold starts from the fast model's timing) equals where the stepping model's driver issues
the folds, and the stimulus it plays is exactly the driver's per-cycle inputs; its checker passes the stepping
model's rows (and their int8 rows through the per-cycle harness's ofmap buffer) and rejects a wrong value, a
wrong cycle and a missing row of C or of the int8 result; and the RTL on 4x4 (one Verilator build, with the
output stage) passes every dataflow, serial and pipelined, bit- and cycle-exact against the fast model. The
RTL's mutants run through the fast harness in tests/rtl/test_mutation.py.
"""

from __future__ import annotations

import re
import subprocess

import numpy as np
import pytest

from accelsim.hardware.config import ArrayConfig
from accelsim.lowering.requant import ACTIVATIONS, OUT_STAGE_CYCLES, output_stage
from accelsim.mapping.folds import folds_for
from accelsim.rtlsim.env import CosimError, setup_env, simulator_missing
from accelsim.rtlsim.gemm import network_gemms, random_gemm
from accelsim.rtlsim.harness import Capture, check, harness_sources, read_capture, run_harness, stimulus
from accelsim.rtlsim.tb import PsumBuffer
from accelsim.systolic.beats import fold_beats
from accelsim.systolic.core import ArrayCore
from accelsim.systolic.issue import run_folds

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


def _model_capture(cfg, st) -> Capture:
    """What a correct RTL captures: the stepping model's rows and cycles, and for a staged GEMM each final row
    requantized (the per-cycle harness's ``PsumBuffer``: partial sums of the model's own earlier k-tiles)
    ``OUT_STAGE_CYCLES`` later."""
    beats = [fold_beats(cfg, st.folds.dataflow, st.gemm.a, st.gemm.b, f) for f in st.folds]
    traces = run_folds(ArrayCore(cfg.rows, cfg.cols), beats, cfg.pipeline)
    cycle = np.concatenate([t.out_cycle + t.start for t in traces])
    last = np.concatenate([np.arange(len(t.out)) == len(t.out) - 1 for t in traces])
    buf = PsumBuffer(cfg.cols, cfg.acc_bits, [st.gemm.stage] * len(beats) if st.staged else None)
    q, q_cycle, q_last = [], [], []
    for i, (bt, t) in enumerate(zip(beats, traces, strict=True)):
        for r, row in enumerate(t.out):
            final = buf.row(i, bt, r, row)
            if final is not None:
                lanes, psum = final
                q.append(output_stage(row, lanes.bias, lanes.m0, lanes.shift, lanes.act_min, lanes.act_max, psum))
                q_cycle.append(t.start + t.out_cycle[r] + OUT_STAGE_CYCLES)
                q_last.append(r == len(t.out) - 1)
    return Capture(cycle, last, np.concatenate([t.out for t in traces]), np.array(q_cycle, np.int64),
                   np.array(q_last, bool), np.array(q, np.int64).reshape(len(q), cfg.cols))


@pytest.mark.parametrize(("dataflow", "pipeline"), CASES)
def test_checker_passes_the_stepping_model_and_catches_errors(dataflow, pipeline):
    cfg = _cfg(dataflow, pipeline)
    st = stimulus(cfg, random_gemm(cfg, 9, 10, 7, seed=5), pipeline)
    assert st.staged and st.folds.k > cfg.rows  # k-tiles in WS/IS: the int8 rows take partial sums
    cap = _model_capture(cfg, st)
    v = check(cfg, st, cap, keep_outputs=True)
    assert v.ok, v.errors
    assert v.int8_outputs == 63 and v.wrong_int8 == 0
    assert np.array_equal(v.c, st.gemm.reference) and np.array_equal(v.q, st.gemm.out)
    assert check(cfg, st, cap).c is None
    bad = cap.out.copy()
    bad[len(bad) // 2, 0] += 1
    assert "values of C differ" in check(cfg, st, cap._replace(out=bad)).errors[0]
    late = cap.cycle.copy()
    late[-1] += 1
    assert any("wrong cycle" in e for e in check(cfg, st, cap._replace(cycle=late)).errors)
    short = cap._replace(cycle=cap.cycle[:-1], last=cap.last[:-1], out=cap.out[:-1])
    assert "output rows, fast model" in check(cfg, st, short).errors[0]
    # the int8 rows: a wrong value, a late row, a missing row, out_last on the wrong row
    bad_q = cap.q.copy()
    bad_q[1, 0] += 1
    v = check(cfg, st, cap._replace(q=bad_q))
    assert v.wrong_int8 == 1 and v.errors[0].startswith("1 values of q differ")
    late = cap.q_cycle.copy()
    late[0] += 1
    assert check(cfg, st, cap._replace(q_cycle=late)).errors[0].startswith("1 int8 rows in the wrong cycle")
    v = check(cfg, st, cap._replace(q_cycle=cap.q_cycle[1:], q_last=cap.q_last[1:], q=cap.q[1:]))
    assert "int8 rows, fast model" in v.errors[0] and v.wrong_int8 == 63
    assert check(cfg, st, cap._replace(q_last=~cap.q_last)).errors[0].startswith("out_last on int8 rows")
    st.gemm.out[0, 0] += 1
    assert check(cfg, st, cap).errors == ["the requantized fast C differs from the GEMM's own int8 reference"]
    st.gemm.reference[0, 0] += 1
    assert "the fast model's C differs from the GEMM's own reference" in check(cfg, st, cap).errors
    # a GEMM without a stage bypasses it: int8 rows are then an error
    st.gemm.stage = None
    assert check(cfg, st, cap).errors[1:] == [f"{len(cap.q)} int8 rows from the output stage, which this GEMM bypasses"]


@pytest.mark.rtl
def test_rtl_through_the_fast_harness():
    """4x4 (one build, with the int8 output stage): every dataflow, serial and pipelined, several GEMMs a run
    (k-tiled ones: partial sums into the stage; random stages with every activation; one GEMM bypassing the
    stage), C and the int8 result bit- and cycle-exact."""
    for pipeline in (False, True):
        cfg = _cfg("ws", pipeline)
        gemms = [random_gemm(_cfg(df, pipeline), *shape, seed=3 * i + j) for i, shape in enumerate(SHAPES)
                 for j, df in enumerate(("os", "ws", "is"))]
        for g, df in zip(gemms, ["os", "ws", "is"] * len(SHAPES), strict=True):
            g.mapping = folds_for(_cfg(df, pipeline), *g.shape).mapping
        assert {g.stage.activation for g in gemms if g.stage} == set(ACTIVATIONS)
        gemms[3].stage = gemms[3].out = None  # no stage: its rows bypass it (c_final 0), no int8 rows
        r = run_harness(cfg, gemms, pipeline=pipeline, keep_outputs=True)
        assert r.ok, r.errors + [e for v in r.verdicts for e in v.errors]
        assert len(r.verdicts) == len(gemms)
        assert r.rtl_cycles == sum(stimulus(cfg, g, pipeline).cycles for g in gemms)
        for g, v in zip(gemms, r.verdicts, strict=True):
            assert np.array_equal(v.c, g.reference)
            assert (v.int8_outputs, v.wrong_int8) == ((g.out.size, 0) if g.stage else (0, 0))
            assert (v.q is None) if g.stage is None else np.array_equal(v.q, g.out)
    # GEMMs split into segments of at most 40 words (one file each), drained in between
    gemms = []
    for df in ("os", "ws", "is"):
        g = random_gemm(_cfg(df, True), 13, 10, 9, seed=6)
        g.mapping = folds_for(_cfg(df, True), *g.shape).mapping
        gemms.append(g)
        assert len(stimulus(_cfg(df, True), g, True, depth=40).segments) > 2
    r = run_harness(_cfg("ws", True), gemms, pipeline=True, depth=40)
    assert r.ok, r.errors + [e for v in r.verdicts for e in v.errors]
    assert all(v.int8_outputs == 13 * 9 for v in r.verdicts)


@pytest.mark.rtl
def test_lenet5_through_the_fast_harness():
    """A network's worth of tiles in CI: every GEMM of LeNet-5's int8 forward (its own accumulators and int8
    outputs the references) on the 4x4 build with the output stage, pipelined WS, bit- and cycle-exact (~41k
    cycles, ~1.5 s)."""
    cfg = _cfg("ws", True)
    gemms = network_gemms(cfg, "lenet5")
    assert all(g.stage is not None and g.out is not None for g in gemms)
    r = run_harness(cfg, gemms, pipeline=True)
    assert r.ok, r.errors + [e for v in r.verdicts for e in v.errors]
    assert len(r.verdicts) == len(gemms) == 5 and r.rtl_cycles > 30_000
    assert [v.int8_outputs for v in r.verdicts] == [g.out.size for g in gemms]


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


def test_a_capture_file_that_does_not_match_the_harness_counts_is_refused(tmp_path):
    """Rows of 8 + 4 * 4 bytes (4 lanes of 32 bits) and int8 rows of 8 + 4 bytes after an 8-byte header."""
    cfg = _cfg("ws", True)
    path = tmp_path / "cap.bin"
    head = np.array([2, 1], "<u4").tobytes()
    path.write_bytes(head + bytes(2 * 24 + 12))
    cap = read_capture(path, cfg, 2, 1)
    assert cap.out.shape == (2, 4) and cap.q.shape == (1, 4)
    for data, counts in [(head + bytes(2 * 24 + 11), (2, 1)), (head + bytes(2 * 24 + 12), (2, 0)), (b"", (0, 0))]:
        path.write_bytes(data)
        with pytest.raises(CosimError, match="capture file"):
            read_capture(path, cfg, *counts)
