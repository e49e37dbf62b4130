"""End to end: every conv and FC layer of LeNet-5 in int8 on the 8x8 RTL, one simulation per dataflow.

The RTL's output rows, reassembled like the ofmap buffer (k-tile partial sums added with wrap),
must equal the int8 forward pass's own int32 accumulators, its int8 rows after the output stage
(the last k-tile's rows with the earlier k-tiles' partial sums on ``psum_in``, the layer's bias,
multiplier and fused ReLU) the forward pass's int8 outputs, and the RTL's compute cycles (sum over
folds of done cycle + 1; the RTL has no DRAM, so no stalls) must equal the model's and, per
layer, the stepping model's ``step_layer`` compute cycles.
"""

from __future__ import annotations

from itertools import pairwise

import pytest

from accelsim.rtlsim import check_gemms, gemm_folds, network_gemms, run_job
from accelsim.rtlsim.gemm import job_stages
from accelsim.systolic.stepping import step_layer
from tests.rtl.common import config

pytestmark = [pytest.mark.rtl, pytest.mark.slow]


@pytest.mark.parametrize("dataflow", ["os", "ws", "is"])
def test_lenet5_layers_on_8x8_rtl_equal_the_int32_accumulators(dataflow, tmp_path):
    cfg = config((8, 8, 32), dataflow)
    gemms = network_gemms(cfg, "lenet5")
    assert [g.name for g in gemms] == ["conv1", "conv2", "conv3", "fc1", "fc2"]
    beats = [gemm_folds(cfg, dataflow, g) for g in gemms]
    stages = job_stages(cfg, [g for g, bl in zip(gemms, beats, strict=True) for _ in bl])
    assert stages is not None
    result = run_job(cfg, [b for bl in beats for b in bl], run_dir=tmp_path / "run", stages=stages)
    assert result.ok, result.all_errors()[:10]
    checks = check_gemms(cfg, gemms, beats, result)
    for g, c in zip(gemms, checks, strict=True):
        assert c.ok, c
        assert (c.rtl_c == g.reference).all()
        assert c.int8_outputs == g.out.size and (c.rtl_q == g.out).all()
        layer = step_layer(cfg, [(g.a, g.b)], dataflow=dataflow)
        assert c.rtl_cycles == layer.compute_cycles
        assert (layer.outputs[0] == c.rtl_c).all()
    # pipelined folds (the default): each GEMM's first beat comes its predecessor's last fold's occupancy
    # after that fold's first beat, F - O before its done (contract, "Issue")
    assert cfg.pipeline
    df = beats[0][0].dataflow
    overlap = sum(df.fold_cycles(cfg.rows, cfg.cols, a[-1].stream) - df.occupancy(cfg.rows, a[-1].stream, b[0].stream)
                  for a, b in pairwise(beats))
    assert overlap > 0
    assert result.rtl_cycles == result.model_cycles == sum(c.rtl_cycles for c in checks) - overlap


def test_lenet5_with_a_mapping_per_layer(tmp_path):
    """``accelsim.cosim(model=..., mappings=...)``: each named layer runs its own mapping (another dataflow, the
    swapped order, a small chunk) in one run; the others the configuration's fixed one. Every GEMM bit- and
    cycle-exact, and its RTL cycles equal the stepping model's compute cycles under that mapping."""
    import accelsim
    from accelsim.mapping.space import Mapping
    from accelsim.rtlsim.gemm import network_gemms as gemms_of

    chosen = {"conv1": Mapping("is", ("m", "n", "k"), 5), "conv2": Mapping("os", ("n", "m")),
              "fc1": Mapping("ws", ("n", "m", "k"), 1)}
    r = accelsim.cosim(model="lenet5", array="8x8", dataflow="ws", mappings=chosen)
    assert r.ok, r.errors[:10]
    # named by the S the folds use: the fixed chunk capped at M (1 for conv3 and fc2 at batch 1)
    assert list(r.layers["mapping"]) == ["IS m>n>k S=5", "OS n>m", "WS m>n>k S=1", "WS n>m>k S=1",
                                         "WS m>n>k S=1"]
    cfg = config((8, 8, 32), "ws")
    for g, row in zip(gemms_of(cfg, "lenet5", mappings=chosen), r.layers.itertuples(), strict=True):
        layer = step_layer(cfg, [(g.a, g.b)], mapping=g.mapping)
        assert row.rtl_cycles == row.model_cycles == layer.compute_cycles, g.name
    with pytest.raises(accelsim.AccelsimError, match="'conv9' is not a conv/linear layer of lenet5"):
        accelsim.cosim(model="lenet5", array="8x8", mappings={"conv9": Mapping("os")})
