"""The modern zoo (ResNet-18/50, MobileNet-v2, SqueezeNet 1.1, GoogLeNet, a BERT-base encoder layer)
against torchvision's published counts and the table-driven second route in zoo_modern_reference."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from accelsim.cli import main
from accelsim.workload import ZOO
from accelsim.workload.layers import BatchNorm2d, LayerNorm
from tests.workload.zoo_modern_reference import PUBLISHED, REFERENCES

MODELS = list(REFERENCES)


def _profile_json(name: str) -> dict:
    r = subprocess.run([sys.executable, "-m", "accelsim", "profile", name, "--format", "json"],
                       capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@pytest.fixture(scope="module", params=MODELS)
def profiled(request):
    return request.param, _profile_json(request.param), REFERENCES[request.param]()


def test_every_layer_with_params_or_a_gemm_equals_the_reference(profiled):
    name, doc, ref = profiled
    assert doc["network"] == name
    rows = {row["layer"]: row for row in doc["layers"]}
    assert len(rows) == len(doc["layers"]), "layer names are unique"
    with_params = {k for k, row in rows.items() if row["params"]}
    assert with_params == {k for k, r in ref.rows.items() if r.params}
    with_gemm = {k for k, row in rows.items() if row["gemm_m"]}
    assert with_gemm == {k for k, r in ref.rows.items() if r.gemm is not None}
    for layer, r in ref.rows.items():
        row = rows[layer]
        assert row["params"] == r.params, layer
        if r.gemm is None:
            assert row["gemm_m"] == 0 and row["macs"] == 0, layer
            continue
        m, k, n = r.gemm
        groups = row["gemm_groups"]
        assert (row["gemm_m"], row["gemm_k"], row["gemm_n"]) == (m, k, n), layer
        assert row["macs"] == r.macs == groups * m * k * n, layer
        assert row["flops"] == 2 * r.macs, layer


def test_totals_equal_torchvision_and_published_macs(profiled):
    name, doc, ref = profiled
    params, published_macs = PUBLISHED[name]
    assert doc["totals"]["params"] == ref.params == params
    gemm_macs = sum(row["macs"] for row in doc["layers"] if row["gemm_m"])
    assert gemm_macs == ref.gemm_macs
    assert doc["totals"]["macs"] == gemm_macs  # batch norm, pools, activations are vector ops, not MACs
    if published_macs is not None:  # torchvision's docs, to two decimals of a G
        assert round(gemm_macs / 1e9, 2) == round(published_macs / 1e9, 2)


def test_googlenet_uses_torchvisions_3x3_in_branch3_and_ceil_mode_pools():
    doc = _profile_json("googlenet")
    rows = {row["layer"]: row for row in doc["layers"]}
    assert rows["inception3a.branch3.1.conv"]["gemm_k"] == 16 * 3 * 3
    assert rows["inception5b.branch1.conv"]["input_shape"] == [832, 7, 7]  # 14 -> 7 by the 2x2/2 ceil pool
    assert rows["conv2.conv"]["input_shape"] == [64, 56, 56]  # 112 -> 56 (floor mode: 55)
    assert rows["inception3a.branch1.conv"]["input_shape"] == [192, 28, 28]  # floor mode: 27


def test_squeezenet_pools_shapes():
    """At 224 every SqueezeNet pool sees an odd size (111, 55, 27): ceil and floor agree there."""
    rows = {row["layer"]: row for row in _profile_json("squeezenet1_1")["layers"]}
    assert rows["features.3.squeeze"]["input_shape"] == [64, 55, 55]
    assert rows["features.6.squeeze"]["input_shape"] == [128, 27, 27]
    assert rows["features.9.squeeze"]["input_shape"] == [256, 13, 13]
    assert rows["classifier.1"]["input_shape"] == [512, 13, 13]


def test_resnet50_is_v1_5_stride_in_the_3x3():
    rows = {row["layer"]: row for row in _profile_json("resnet50")["layers"]}
    assert rows["layer2.0.conv1"]["output_shape"] == [128, 56, 56]
    assert rows["layer2.0.conv2"]["output_shape"] == [128, 28, 28]
    assert rows["layer2.0.downsample.0"]["output_shape"] == [512, 28, 28]


def test_mobilenet_v2_depthwise_is_one_gemm_per_channel():
    rows = {row["layer"]: row for row in _profile_json("mobilenet_v2")["layers"]}
    dw = rows["features.2.conv.1.0"]
    assert (dw["gemm_m"], dw["gemm_k"], dw["gemm_n"], dw["gemm_groups"]) == (56 * 56, 9, 1, 96)
    assert rows["features.18.0"]["output_shape"] == [1280, 7, 7]


@pytest.mark.parametrize("name", MODELS)
def test_models_lists_every_new_network(name):
    r = CliRunner().invoke(main, ["models"])
    assert r.exit_code == 0, r.output
    line = next(line for line in r.stdout.splitlines() if line.split() and line.split()[0] == name)
    assert f"{PUBLISHED[name][0]:,} params" in line
    assert ZOO[name].__doc__


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("array", ["32x32", "128x128"])
@pytest.mark.parametrize("dataflow", ["os", "ws", "is"])
def test_simulate_runs_every_array_and_dataflow(name, array, dataflow):
    r = CliRunner().invoke(main, ["simulate", name, "--array", array, "--dataflow", dataflow, "--format", "json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    ref = REFERENCES[name]()
    on_array = [row for row in doc["layers"] if row["gemm_m"]]
    assert sum(row["macs"] for row in on_array) == ref.gemm_macs
    assert doc["totals"]["cycles"] > 0 and 0 < doc["totals"]["utilization"] <= 1


def test_readme_zoo_table_states_the_reference_numbers():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    for name, build in REFERENCES.items():
        ref = build()
        row = next(line for line in readme.splitlines() if line.startswith(f"| `{name}` |"))
        cells = [c.strip() for c in row.split("|")[1:-1]]
        assert cells[1:3] == [f"{ref.params:,}", f"{ref.gemm_macs:,}"], name


@pytest.mark.parametrize("name, adds, concats, eps", [
    ("resnet18", 8, 0, 1e-5), ("resnet50", 16, 0, 1e-5), ("mobilenet_v2", 10, 0, 1e-5),
    ("squeezenet1_1", 0, 8, None), ("googlenet", 0, 9, 1e-3), ("bert-base-encoder", 2, 0, 1e-12),
])
def test_graph_structure_and_norm_eps_as_torchvision(name, adds, concats, eps):
    """Residual sums (ResNet: one a block; MobileNet-v2: stride-1 blocks keeping their width), Fire and
    Inception concatenations, and the norms' eps (GoogLeNet's BasicConv2d 0.001, BERT's 1e-12)."""
    net = ZOO[name]()
    kinds = [n.layer.kind for n in net.nodes]
    assert (kinds.count("add"), kinds.count("concat")) == (adds, concats)
    norms = {n.layer.eps for n in net.nodes if isinstance(n.layer, (BatchNorm2d, LayerNorm))}
    assert norms == ({eps} if eps is not None else set())
    assert all(len(n.input_shapes) == (4 if name == "googlenet" else 2) for n in net.nodes if n.layer.kind == "concat")
    assert net.nodes[-1].layer.name == {"mobilenet_v2": "classifier.1", "squeezenet1_1": "flatten",
                                        "bert-base-encoder": "output.LayerNorm"}.get(name, "fc")
