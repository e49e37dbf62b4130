"""End to end: every conv and FC layer of LeNet-5 in int8 on the 8x8 RTL, one simulation per dataflow.

The RTL's output rows, reassembled like the ofmap buffer (k-tile partial sums added with wrap),
must equal the int8 forward pass's own int32 accumulators, and the RTL's compute cycles (sum over
folds of done cycle + 1; the RTL has no DRAM, so no stalls) must equal the model's and, per
layer, the stepping model's ``step_layer`` compute cycles.
"""

from __future__ import annotations

import pytest

from accelsim.rtlsim import check_gemms, gemm_folds, network_gemms, run_job
from accelsim.systolic.stepping import step_layer
from tests.rtl.common import config

pytestmark = [pytest.mark.rtl, pytest.mark.slow]


@pytest.mark.parametrize("dataflow", ["os", "ws", "is"])
def test_lenet5_layers_on_8x8_rtl_equal_the_int32_accumulators(dataflow, tmp_path):
    cfg = config((8, 8, 32), dataflow)
    gemms = network_gemms(cfg, "lenet5")
    assert [g.name for g in gemms] == ["conv1", "conv2", "conv3", "fc1", "fc2"]
    beats = [gemm_folds(cfg, dataflow, g) for g in gemms]
    result = run_job(cfg, [b for bl in beats for b in bl], run_dir=tmp_path / "run")
    assert result.ok, result.all_errors()[:10]
    checks = check_gemms(cfg, gemms, beats, result)
    for g, c in zip(gemms, checks, strict=True):
        assert c.ok, c
        assert (c.rtl_c == g.reference).all()
        layer = step_layer(cfg, [(g.a, g.b)], dataflow=dataflow)
        assert c.rtl_cycles == layer.compute_cycles
        assert (layer.outputs[0] == c.rtl_c).all()
    assert result.rtl_cycles == result.model_cycles == sum(c.rtl_cycles for c in checks)
