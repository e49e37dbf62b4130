"""The output stage in both array models and in ``simulate --check``: int8 after the stage, bit-exact with
TFLite's arithmetic (scalar transcription) and with the int8 forward pass."""

import json

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from accelsim.cli import main
from accelsim.hardware.config import ArrayConfig
from accelsim.lowering.requant import OUT_STAGE_CYCLES, OutputStage
from accelsim.systolic import simulate as simulate_mod
from accelsim.systolic.fast import fast_layer
from accelsim.systolic.reference import RefGemm
from accelsim.systolic.stepping import step_layer
from accelsim.workload import resolve
from tests.lowering import tflite_ref as ref
from tests.systolic.corrupt import corrupt_reference


def _golden(a, b, stage: OutputStage, g: int) -> np.ndarray:
    """(A @ B + bias) mod 2^32 through TFLite's MultiplyByQuantizedMultiplier, clamped, element by element."""
    acc = a.astype(object) @ b.astype(object)
    n = b.shape[1]
    out = np.empty(acc.shape, dtype=np.int64)
    for (i, j), v in np.ndenumerate(acc):
        bias = 0 if stage.bias is None else int(stage.bias[g * n + j])
        x = (int(v) + bias + 2**31) % 2**32 - 2**31
        out[i, j] = min(max(ref.multiply_by_quantized_multiplier(x, stage.m0, stage.shift), stage.act_min),
                        stage.act_max)
    return out


@st.composite
def problems(draw):
    r, c = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    m, k, n, groups = draw(st.integers(1, 9)), draw(st.integers(1, 12)), draw(st.integers(1, 7)), draw(
        st.integers(1, 2))
    df = draw(st.sampled_from(["os", "ws", "is"]))
    seed = draw(st.integers(0, 2**32 - 1))
    act = draw(st.sampled_from(["none", "relu", "relu6"]))
    multiplier = draw(st.sampled_from([2.0 ** -20, 1e-4, 0.003, 0.5, 1.0, 3.7]))
    with_bias = draw(st.booleans())
    return r, c, m, k, n, groups, df, seed, act, multiplier, with_bias


@settings(max_examples=30, deadline=None)
@given(problems())
def test_both_models_apply_the_stage_bit_exactly(p):
    r, c, m, k, n, groups, df, seed, act, multiplier, with_bias = p
    rng = np.random.default_rng(seed)
    cfg = ArrayConfig(rows=r, cols=c, dataflow=df, ifmap_sram_kib=1, filter_sram_kib=1, ofmap_sram_kib=1)
    ops = [(rng.integers(-128, 128, (m, k)), rng.integers(-128, 128, (k, n))) for _ in range(groups)]
    bias = rng.integers(-(2**31), 2**31, groups * n) if with_bias else None
    stage = OutputStage.from_scales(multiplier, 0.05, bias, act)
    stages = [stage.group(g, n) for g in range(groups)]
    fast = fast_layer(cfg, m, k, n, groups, operands=ops, stages=stages)
    step = step_layer(cfg, ops, stages=stages)
    assert fast.stage_outputs is not None and step.stage_outputs is not None
    for g, (a, b) in enumerate(ops):
        want = _golden(a, b, stage, g)
        assert np.array_equal(fast.stage_outputs[g], want)
        assert np.array_equal(step.stage_outputs[g], want)
        assert fast.stage_outputs[g].dtype == np.int8
    assert fast.stage_output_cycles is not None and step.stage_output_cycles is not None
    for f, s, oc in zip(fast.stage_output_cycles, step.stage_output_cycles, step.output_cycles, strict=True):
        assert np.array_equal(f, s) and np.array_equal(s, oc + OUT_STAGE_CYCLES)


def test_without_stages_there_are_no_stage_outputs():
    cfg = ArrayConfig(rows=2, cols=2)
    ops = [(np.ones((3, 2), dtype=np.int64), np.ones((2, 3), dtype=np.int64))]
    assert fast_layer(cfg, 3, 2, 3, operands=ops).stage_outputs is None
    assert step_layer(cfg, ops).stage_output_cycles is None
    with pytest.raises(ValueError, match="one a group"):
        fast_layer(cfg, 3, 2, 3, operands=ops, stages=[])


def _check(model: str, df: str) -> dict:
    res = CliRunner().invoke(main, ["simulate", model, "--array", "32x32", "--dataflow", df, "--check",
                                    "--format", "json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


@pytest.mark.parametrize("model", ["resnet18", "mobilenet_v2"])
def test_cli_check_compares_int8_after_the_stage(model, monkeypatch):
    """Every conv/linear of the network: the array's int32 and its int8 after the stage equal the forward's;
    corrupting one int8 reference value is reported as an output-stage mismatch."""
    calls = []
    real = simulate_mod._compare

    def spy(name, run, refs, acc_bits):
        calls.append((run.stage_outputs is not None, all(r.out.dtype == np.int8 for r in refs)))
        return real(name, run, refs, acc_bits)

    monkeypatch.setattr(simulate_mod, "_compare", spy)
    out = _check(model, "ws")
    assert out["totals"]["check_mismatches"] == 0
    arrays = [r for r in out["layers"] if r["unit"] == "array"]
    assert arrays and all(r["check"] == "ok" for r in arrays)
    assert calls and all(staged and int8 for staged, int8 in calls)


def test_check_reports_an_int8_mismatch_after_the_stage(monkeypatch):
    def flip(g: RefGemm) -> RefGemm:
        out = g.out.copy()
        out[2, 1] = 1 - out[2, 1]
        return RefGemm(g.a, g.b, g.acc, g.stage, out)

    corrupt_reference(monkeypatch, "conv2", flip)
    sim = simulate_mod.simulate(resolve("lenet5"), ArrayConfig(rows=8, cols=8), check=True)
    assert len(sim.mismatches) == 1 and "int8 outputs differ after the output stage" in sim.mismatches[0]
    assert "Q[2, 1]" in sim.mismatches[0]
    # raw accumulators (out_bits = acc_bits): no stage, only the int32 comparison
    raw = simulate_mod.simulate(resolve("lenet5"), ArrayConfig(rows=8, cols=8, out_bits=32), check=True)
    assert raw.mismatches == () and all(r.stage_outputs is None for r in raw.runs.values())


@pytest.mark.parametrize("df", ["os", "is"])
def test_stepping_check_on_a_fused_relu6_network(df):
    """mobilenet-like blocks (conv, folded BN, fused ReLU6; depthwise groups) through the stepping model."""
    from tests.lowering.test_graph_forward import residual_graph

    net = residual_graph()
    sim = simulate_mod.simulate(net, ArrayConfig(rows=4, cols=8, dataflow=df), batch=2, engine="stepping",
                                check=True)
    assert sim.mismatches == ()
    assert sim.runs["c1"].stage_outputs is not None
