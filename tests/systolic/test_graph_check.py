"""``simulate --check`` on layer graphs: the int8 numbers of every conv/linear/matmul through the array,
bit-exact with the int8 forward's recorded GEMMs (``reference.reference_gemms``)."""

import json

import numpy as np
import pytest

from accelsim.hardware.config import ArrayConfig
from accelsim.lowering import forward_int, quantize_network
from accelsim.systolic.reference import reference_gemms
from accelsim.systolic.simulate import simulate
from accelsim.workload.zoo_modern import bert_base_encoder
from tests.lowering.test_graph_forward import encoder, residual_graph


@pytest.mark.parametrize("df", ["os", "ws", "is"])
def test_check_passes_on_a_graph_with_add_and_concat(df):
    net = residual_graph()
    cfg = ArrayConfig(rows=8, cols=4, dataflow=df)
    fast = simulate(net, cfg, batch=2, check=True)
    step = simulate(net, cfg, batch=2, engine="stepping", check=True)
    assert fast.mismatches == () and step.mismatches == ()
    checked = fast.layers.set_index("layer")["check"]
    assert set(checked[checked == "ok"].index) == {"stem", "c1", "b1", "b2", "fc"}
    assert fast.totals["check_mismatches"] == 0
    # the references are the int8 forward's own GEMMs (the batch norms folded into stem and c1)
    run = forward_int(quantize_network(net, batch=2), batch=2, record=True)
    refs = reference_gemms(net, batch=2)
    for name in ("stem", "c1", "b2"):
        assert all(np.array_equal(r.a, g.a) and np.array_equal(r.acc, a)
                   for r, g, a in zip(refs[name], run[name].gemms, run[name].acc, strict=True))


@pytest.mark.parametrize("batch", [1, 2, 3])
def test_check_passes_on_attention_at_any_batch(batch):
    net = encoder()
    fast = simulate(net, ArrayConfig(rows=4, cols=4), batch=batch, check=True)
    step = simulate(net, ArrayConfig(rows=4, cols=4, dataflow="ws"), batch=batch, engine="stepping", check=True)
    assert fast.mismatches == () and step.mismatches == ()
    checked = fast.layers.set_index("layer")
    assert checked.loc["qk", "check"] == checked.loc["av", "check"] == checked.loc["q", "check"] == "ok"
    # one GEMM per image and head (each image has its own B operand), M = the tokens of one image
    assert checked.loc["qk", ["gemm_m", "gemm_k", "gemm_n", "gemm_groups"]].tolist() == [6, 4, 6, 2 * batch]
    assert checked.loc["av", ["gemm_m", "gemm_k", "gemm_n", "gemm_groups"]].tolist() == [6, 6, 4, 2 * batch]
    assert checked.loc["q", "gemm_m"] == 6 * batch  # a linear stacks the images' tokens: one shared weight
    refs = reference_gemms(net, batch=batch)
    assert len(refs["qk"]) == 2 * batch
    # image-major: group i is image i // heads, head i % heads (the forward's Q K^T of that image and head)
    run = forward_int(quantize_network(net, batch=batch), batch=batch, record=True)
    q, k = run["q"].output, run["k"].output
    for i, r in enumerate(refs["qk"]):
        img, h = divmod(i, 2)
        assert np.array_equal(r.a, q[img, :, 4 * h:4 * h + 4]) and np.array_equal(r.b, k[img, :, 4 * h:4 * h + 4].T)


@pytest.mark.parametrize("df", ["os", "ws", "is"])
def test_check_passes_on_bert_base_encoder_at_batch_2(df):
    net = bert_base_encoder(tokens=8)  # the zoo layer at a short sequence, for speed
    sim = simulate(net, ArrayConfig(rows=32, cols=32, dataflow=df), batch=2, check=True)
    assert sim.mismatches == () and sim.totals["check_mismatches"] == 0
    rows = sim.layers.set_index("layer")
    assert (rows.loc[["attention.scores", "attention.context"], "check"] == "ok").all()
    assert rows.loc["attention.scores", "gemm_groups"] == 2 * 12
    macs = rows.loc[["attention.scores", "attention.context"], "macs"].sum()
    assert macs == 2 * (2 * 12 * 8 * 8 * 64)  # batch x (QK^T + AV) x heads x T x T x d


def test_cli_check_passes_on_the_bert_base_encoder_zoo_model_at_batch_2():
    from click.testing import CliRunner

    from accelsim.cli import main

    res = CliRunner().invoke(main, ["simulate", "bert-base-encoder", "--array", "32x32", "--batch", "2", "--check",
                                    "--format", "json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["totals"]["check_mismatches"] == 0 and out["config"]["batch"] == 2
    rows = {r["layer"]: r for r in out["layers"]}
    assert rows["attention.scores"]["check"] == rows["attention.context"]["check"] == "ok"
    assert rows["attention.scores"]["gemm_groups"] == 24 and rows["attention.scores"]["gemm_m"] == 128
