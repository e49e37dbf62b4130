"""``OutputStagePipe`` (the RTL stage's golden at its ports) and ``stage_lanes`` (lanes vs channels)."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from accelsim.hardware.config import ArrayConfig
from accelsim.lowering.requant import OUT_STAGE_CYCLES, OutputStage, output_stage
from accelsim.mapping.folds import folds_for
from accelsim.systolic.beats import scatter
from accelsim.systolic.stage import OutputStagePipe, StageRow, stage_lanes


def test_a_row_leaves_exactly_out_stage_cycles_later_with_its_own_inputs():
    rng = np.random.default_rng(1)
    pipe = OutputStagePipe(3)
    taken, seen = [], []
    for _ in range(40):
        valid, last = bool(rng.random() < 0.6), bool(rng.random() < 0.5)
        acc, psum = rng.integers(-2**31, 2**31, 3), rng.integers(-2**31, 2**31, 3)
        row = StageRow(rng.integers(-2**31, 2**31, 3), rng.integers(2**30, 2**31, 3), rng.integers(-31, 31, 3),
                       int(rng.integers(-127, 0)), int(rng.integers(0, 128)))
        out = pipe.step(valid, last, acc, psum, row)
        taken.append((valid, last, output_stage(acc, row.bias, row.m0, row.shift, row.act_min, row.act_max, psum)))
        seen.append(out)
    assert not any(o.valid for o in seen[:OUT_STAGE_CYCLES])
    for t in range(OUT_STAGE_CYCLES, 40):
        valid, last, q = taken[t - OUT_STAGE_CYCLES]
        assert seen[t].valid == valid and seen[t].last == (valid and last)
        if valid:
            assert np.array_equal(seen[t].q, q)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 6), st.integers(1, 6), st.integers(1, 14), st.integers(1, 14), st.integers(1, 14),
       st.sampled_from(["os", "ws", "is"]))
def test_lanes_carry_their_channels_bias(rows, cols, m, k, n, dataflow):
    """Each fold's per-lane biases, scattered like its output rows, are the bias of the C block's columns."""
    cfg = ArrayConfig(rows=rows, cols=cols, dataflow=dataflow, ofmap_sram_kib=1)
    bias = np.arange(1, n + 1) * 10
    stage = OutputStage(1 << 30, -2, -127, 127, bias)
    for f in folds_for(cfg, m, k, n, dataflow):
        out_rows = rows if dataflow == "os" else f.st
        lanes = [stage_lanes(stage, dataflow, f, r, cols) for r in range(out_rows)]
        tile = scatter(dataflow, f, np.array([ln.bias for ln in lanes]))
        assert np.array_equal(tile, np.broadcast_to(bias[f.n0:f.n0 + f.nt], (f.mt, f.nt)))
        assert all((ln.m0 == 1 << 30).all() and (ln.shift == -2).all() for ln in lanes)
