"""``simulate --check`` on layer graphs: the int8 numbers of every conv/linear/matmul through the array,
bit-exact with the int8 forward's recorded GEMMs (``reference.reference_gemms``)."""

import numpy as np
import pytest

from accelsim.errors import AccelsimError
from accelsim.hardware.config import ArrayConfig
from accelsim.lowering import forward_int, quantize_network
from accelsim.systolic.reference import reference_gemms
from accelsim.systolic.simulate import simulate
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


def test_check_passes_on_attention_at_batch_1_and_refuses_a_larger_batch():
    net = encoder()
    sim = simulate(net, ArrayConfig(rows=4, cols=4), check=True)
    assert sim.mismatches == ()
    checked = sim.layers.set_index("layer")["check"]
    assert checked["qk"] == checked["av"] == checked["q"] == "ok"
    assert sim.layers.set_index("layer").loc["qk", "gemm_groups"] == 2  # one GEMM per head
    with pytest.raises(AccelsimError, match=r"check: layer 'qk' \(matmul\) multiplies two activations.*batch 1"):
        simulate(net, ArrayConfig(rows=4, cols=4), batch=2, check=True)
