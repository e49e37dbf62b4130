"""BatchNorm folding at the shape level: which BN layers fold, how the parameter count changes, and
--fold-bn through profile and simulate."""

import json
import subprocess
import sys

import pytest

import accelsim
from accelsim.errors import AccelsimError
from accelsim.workload import Network, bn_fold, fold_bn
from accelsim.workload.fold import is_onnx
from accelsim.workload.layers import Add, BatchNorm2d, Conv2d, ReLU
from tests.workload.test_graph import GRAPH_YAML, basic_block


def run(*args):
    return subprocess.run([sys.executable, "-m", "accelsim.cli", *args], capture_output=True, text=True, check=False)


def test_basic_block_folds_both_bns():
    net = basic_block(c=8)
    f = bn_fold(net)
    assert f.folded == (("bn1", "c1"), ("bn2", "c2")) and f.kept == ()
    folded = f.network
    assert [n.name for n in folded] == ["c1", "r1", "c2", "res", "r2"]
    assert folded.node("c1").layer.bias and folded.node("c2").layer.bias
    assert folded.node("res").inputs == ("c2", "input") and folded.node("r1").inputs == ("c1",)
    # by hand: each BN loses 2 x 8, each bias-free conv gains 8
    assert f.params_before == net.params and f.params_after == net.params - 2 * 16 + 2 * 8
    assert folded.output_shape == net.output_shape
    assert "-32 BN weights and biases, +16 new conv biases" in f.note


def test_conv_with_bias_gains_nothing_and_bn_last_keeps_the_output():
    net = Network.sequential("n", (3, 8, 8), [Conv2d("c", 3, 4, 3), BatchNorm2d("bn", 4)])
    folded = fold_bn(net)
    assert [n.name for n in folded] == ["c"] and folded.output_shape == (4, 6, 6)
    assert folded.params == 4 * 3 * 9 + 4 == net.params - 8


def test_bn_that_cannot_fold_is_kept():
    net = Network.graph("n", (4, 8, 8), [
        (Conv2d("c", 4, 4, 1), None),
        (BatchNorm2d("bn_shared", 4), None),      # the conv's output is also read by the add: kept
        (Add("s"), ["bn_shared", "c"]),
        (BatchNorm2d("bn_after_add", 4), None),  # not after a conv: kept
        (ReLU("r"), None),
    ])
    f = bn_fold(net)
    assert f.folded == () and f.kept == ("bn_shared", "bn_after_add") and f.network == net
    assert f.note == ("BN folding: nothing to fold; 2 batchnorm2d layer(s) kept (not the only reader of a conv's "
                      "output): bn_shared, bn_after_add.")
    assert bn_fold(Network.sequential("n", (1, 4, 4), [ReLU("r")])).note.endswith("(no batchnorm2d layers).")


def test_onnx_files_are_recognized():
    assert is_onnx("model.onnx") and is_onnx("M.ONNX")
    assert not is_onnx("model.yaml") and not is_onnx("resnet18")


def test_profile_and_simulate_with_fold_bn(tmp_path):
    path = tmp_path / "g.yaml"
    path.write_text(GRAPH_YAML)
    plain = json.loads(run("profile", str(path), "--format", "json").stdout)
    r = run("profile", str(path), "--fold-bn", "--format", "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert "bn1" not in {row["layer"] for row in doc["layers"]}
    assert doc["totals"]["batchnorm_folded"] == 1
    assert doc["totals"]["params_before_fold"] == plain["totals"]["params"] == 1334
    assert doc["totals"]["params"] == 1334 - 16 + 8
    assert "batchnorm_folded" not in plain["totals"]
    table = " ".join(run("profile", str(path), "--fold-bn").stdout.split())
    assert "params 1,334 -> 1,326 (-16 BN weights and biases, +8 new conv biases)" in table

    r = run("simulate", str(path), "--array", "8x8", "--fold-bn", "--format", "json")
    assert r.returncode == 0, r.stderr
    rows = {row["layer"]: row for row in json.loads(r.stdout)["layers"]}
    assert "bn1" not in rows and rows["c1"]["unit"] == "array"
    assert "bn1" in {row["layer"] for row in json.loads(run("simulate", str(path), "--array", "8x8",
                                                                "--format", "json").stdout)["layers"]}


def test_api_fold_bn():
    net = basic_block()
    p = accelsim.profile(net, fold_bn=True)
    assert p.totals["batchnorm_folded"] == 2 and p.totals["params"] == net.params - 16
    s = accelsim.simulate(net, array="8x8", fold_bn=True)
    assert "bn1" not in set(s.layers["layer"])


def test_real_weights_fold_to_the_same_function():
    import dataclasses

    import numpy as np

    rng = np.random.default_rng(3)
    net = Network.sequential("n", (3, 4, 4), [Conv2d("c", 3, 5, 1), BatchNorm2d("bn", 5, eps=1e-3), ReLU("r")])
    w = {"c": {"weight": rng.normal(size=(5, 3, 1, 1)).astype(np.float32), "bias": rng.normal(size=5)},
         "bn": {"weight": rng.normal(size=5), "bias": rng.normal(size=5), "running_mean": rng.normal(size=5),
                "running_var": rng.uniform(0.5, 2, size=5)}}
    folded = fold_bn(dataclasses.replace(net, weights=w))
    x = rng.normal(size=(3, 16))  # a 1x1 conv is W @ x per pixel
    conv = w["c"]["weight"][:, :, 0, 0].astype(np.float64) @ x + w["c"]["bias"][:, None]
    bn = w["bn"]
    want = (conv - bn["running_mean"][:, None]) / np.sqrt(bn["running_var"][:, None] + 1e-3) * bn["weight"][:, None] \
        + bn["bias"][:, None]
    fw = folded.weights["c"]
    got = fw["weight"][:, :, 0, 0].astype(np.float64) @ x + fw["bias"][:, None]
    assert np.allclose(got, want, rtol=1e-5, atol=1e-5) and set(folded.weights) == {"c"}
    broken = dataclasses.replace(net, weights={"c": w["c"], "bn": {"weight": bn["weight"]}})
    with pytest.raises(AccelsimError, match="layer 'bn': weights: no bias, running_mean, running_var"):
        fold_bn(broken)


def test_conv_after_a_folded_bn_reads_the_folded_conv():
    # conv -> bn -> conv -> bn: the second conv's input was the first BN (mobilenet_v2's blocks)
    net = Network.sequential("n", (3, 8, 8), [Conv2d("c1", 3, 4, 1), BatchNorm2d("b1", 4),
                                              Conv2d("c2", 4, 4, 1), BatchNorm2d("b2", 4)])
    folded = fold_bn(net)
    assert [(n.name, n.inputs) for n in folded] == [("c1", ("input",)), ("c2", ("c1",))]


@pytest.mark.parametrize("model", ["resnet18", "resnet50", "mobilenet_v2", "googlenet"])
def test_zoo_folds_every_bn(model):
    from accelsim.workload import zoo
    from accelsim.workload.layers import BatchNorm2d as BN

    net = zoo.get(model)
    f = bn_fold(net)
    channels = sum(n.layer.num_features for n in net if isinstance(n.layer, BN))
    assert f.kept == () and len(f.folded) == sum(isinstance(n.layer, BN) for n in net)
    # torchvision's convs before BN have no bias: each BN's 2C leave, C conv biases come in
    assert f.params_after == net.params - channels and f.network.output_shape == net.output_shape
