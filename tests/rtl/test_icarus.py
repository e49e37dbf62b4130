"""The same checks on Icarus Verilog, the second simulator (skipped where it is not installed)."""

from __future__ import annotations

import numpy as np
import pytest

from accelsim.rtlsim import make_gemm, random_gemm, simulator_missing
from tests.rtl.common import DATAFLOWS, config, run_gemms

pytestmark = [
    pytest.mark.rtl,
    pytest.mark.skipif(simulator_missing("icarus") is not None, reason=f"{simulator_missing('icarus')}"),
]


@pytest.mark.parametrize("shape", [(3, 5, 32), (5, 2, 16), (1, 1, 32)], ids=["3x5", "5x2-acc16", "1x1"])
def test_icarus_random_and_extreme_tiles(shape, tmp_path):
    cfg = config(shape)
    R, C = cfg.rows, cfg.cols
    g = random_gemm(cfg, 2 * R + 1, R + 2, 2 * C + 1, seed=7)
    k = 3 * R + 11
    low = make_gemm(cfg, np.full((R, k), -128), np.full((k, C), -128), "min*min")
    result, checks, _ = run_gemms(cfg, [(x, df) for x in (g, low) for df in DATAFLOWS], tmp_path,
                                  simulator="icarus")
    assert result.ok, result.all_errors()[:10]
    assert all(c.ok for c in checks)
