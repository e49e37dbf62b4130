"""Zoo models on another input size (``--input-size CxHxW``, ``input_size=``): budgets against the
second route of ``zoo_modern_reference`` (plain arithmetic at that size), and one-line refusals."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import accelsim
from accelsim.cli import main
from accelsim.errors import AccelsimError
from accelsim.workload import resolve
from accelsim.workload.network import MAX_INPUT_SIZE, parse_input_shape
from tests.workload.zoo_modern_reference import REFERENCES


def _assert_equals_reference(layers, ref) -> None:
    """Every layer with params or a GEMM equals the reference's row; the GEMM MACs total equals its total."""
    rows = {row["layer"]: row for row in layers}
    assert {k for k, row in rows.items() if row["gemm_m"]} == {k for k, r in ref.rows.items() if r.gemm is not None}
    for layer, r in ref.rows.items():
        row = rows[layer]
        assert row["params"] == r.params, layer
        if r.gemm is not None:
            assert (row["gemm_m"], row["gemm_k"], row["gemm_n"]) == r.gemm, layer
            assert row["macs"] == r.macs, layer
    assert sum(row["macs"] for row in layers if row["gemm_m"]) == ref.gemm_macs


@pytest.mark.parametrize("name, size, ref_size", [
    ("mobilenet_v2", "3x32x32", 32), ("mobilenet_v2", "3x64x64", 64), ("resnet18", "3x64x64", 64),
    ("resnet50", "3x32x32", 32), ("squeezenet1_1", "3x64x64", 64), ("googlenet", "3x96x96", 96),
    ("bert-base-encoder", "32x768", 32),
])
def test_reduced_size_budgets_equal_the_reference_at_that_size(name, size, ref_size):
    prof = accelsim.profile(name, input_size=size)
    assert tuple(prof.network.input_shape) == parse_input_shape(size)
    ref = REFERENCES[name](ref_size)
    _assert_equals_reference(prof.layers.to_dict("records"), ref)
    assert prof.totals["params"] == ref.params == accelsim.profile(name).totals["params"]  # weights do not resize


@settings(max_examples=15, deadline=None)
@given(hw=st.integers(1, 260))
def test_mobilenet_v2_macs_at_any_size_equal_the_reference(hw):
    prof = accelsim.profile("mobilenet_v2", input_size=(3, hw, hw))
    _assert_equals_reference(prof.layers.to_dict("records"), REFERENCES["mobilenet_v2"](hw))


def test_profile_cli_input_size_json_equals_the_reference():
    r = CliRunner().invoke(main, ["profile", "mobilenet_v2", "--input-size", "3x32x32", "--format", "json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["layers"][0]["input_shape"] == [3, 32, 32]
    _assert_equals_reference(doc["layers"], REFERENCES["mobilenet_v2"](32))
    assert doc["totals"]["macs"] == REFERENCES["mobilenet_v2"](32).gemm_macs == 7_392_128


def test_own_size_is_the_same_network():
    assert resolve("resnet18", input_shape="3x224x224") == resolve("resnet18")
    assert resolve("lenet5", input_shape=(1, 32, 32)) == resolve("lenet5")


def test_simulate_check_runs_the_reduced_network_bit_exact():
    r = CliRunner().invoke(main, ["simulate", "mobilenet_v2", "--input-size", "3x32x32", "--array", "16x16",
                                  "--check", "--no-progress", "--format", "json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["totals"]["macs"] == REFERENCES["mobilenet_v2"](32).gemm_macs
    sim = accelsim.simulate("mobilenet_v2", array="16x16", input_size="3x32x32")
    assert sim.totals["cycles"] == doc["totals"]["cycles"]


@pytest.mark.parametrize("text", ["3x0x32", "32", "abc", "3x32x32x1", "3x-4x4", f"3x{MAX_INPUT_SIZE + 1}x8",
                                  "3x32.5x32", ""])
def test_parse_refuses_malformed_sizes(text):
    with pytest.raises(AccelsimError, match="--input-size: expected CxHxW"):
        parse_input_shape(text, "--input-size")


ONE_LINE_CASES = [
    (["profile", "mobilenet_v2", "--input-size", "3x0x32"], "--input-size: expected CxHxW"),
    (["profile", "mobilenet_v2", "--input-size", "3by32by32"], "--input-size: expected CxHxW"),
    (["profile", "mobilenet_v2", "--input-size", "32x32"], "takes CxHxW inputs"),
    (["profile", "mobilenet_v2", "--input-size", "1x32x32"], "layer 'features.0.0': in_channels"),
    (["profile", "vgg16", "--input-size", "3x32x32"], "layer 'fc6': in_features"),
    (["profile", "lenet5", "--input-size", "1x28x28"], "cannot take input size 1x28x28 (built for 1x32x32)"),
    (["profile", "alexnet-tv", "--input-size", "3x256x256"], "layer 'fc1'"),
    (["profile", "squeezenet1_1", "--input-size", "3x8x8"], "layer 'features.5'"),
    (["profile", "bert-base-encoder", "--input-size", "32x512"], "layer 'attention.self.query'"),
    (["simulate", "mobilenet_v2", "--input-size", "3x32x"], "--input-size: expected CxHxW"),
    (["simulate", "vgg11", "--input-size", "3x64x64"], "fc6"),
    (["cosim", "--model", "mobilenet_v2", "--input-size", "3x32x0"], "--input-size"),
    (["cosim", "--model", "vgg11", "--input-size", "3x64x64"], "fc6"),
    (["cosim", "--gemm", "4x4x4", "--input-size", "3x32x32"], "--input-size applies to --model"),
]


@pytest.mark.parametrize("args, needle", ONE_LINE_CASES, ids=[" ".join(a[:1] + a[-2:]) for a, _ in ONE_LINE_CASES])
def test_bad_input_size_is_one_line_exit_2(args, needle):
    r = CliRunner().invoke(main, args, catch_exceptions=False)
    assert r.exit_code == 2, r.output
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("accelsim: error: "), r.stderr
    assert needle in lines[0]


def test_model_file_refuses_an_input_size(tmp_path):
    model = tmp_path / "net.yaml"
    model.write_text("name: net\ninput_shape: [1, 8, 8]\nlayers:\n  - {type: conv2d, name: c, in_channels: 1, "
                     "out_channels: 2, kernel_size: 3}\n")
    assert resolve(str(model)).input_shape == (1, 8, 8)
    r = CliRunner().invoke(main, ["profile", str(model), "--input-size", "1x16x16"], catch_exceptions=False)
    assert r.exit_code == 2 and "zoo models only" in r.stderr and len(r.stderr.splitlines()) == 1


def test_api_input_size_errors():
    with pytest.raises(AccelsimError, match="input_size: expected CxHxW"):
        accelsim.profile("mobilenet_v2", input_size="3xx32")
    with pytest.raises(AccelsimError, match="input_size"):
        accelsim.load(resolve("lenet5"), input_size="1x32x32")
    with pytest.raises(AccelsimError, match="fc6"):
        accelsim.simulate("vgg16", input_size=(3, 32, 32))
