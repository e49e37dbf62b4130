"""The model's VCD carries the RTL's signal names and, for a correct model, the RTL's values."""

from __future__ import annotations

from pathlib import Path

import pytest

from accelsim.rtlsim import random_gemm
from accelsim.rtlsim.waves import first_divergence, read_vcd
from tests.rtl.common import config, run_gemms

pytestmark = pytest.mark.rtl


def _job(tmp_path, model=None):
    cfg = config((4, 8, 32))
    g = random_gemm(cfg, 5, 6, 9, seed=6)
    jobs = [(g, "os"), (g, "ws"), (g, "is")]
    kw = {"model": model} if model else {}
    result, _, _ = run_gemms(cfg, [(g, df) for g, df in jobs], tmp_path, waves=True, **kw)
    return result


def test_model_waves_match_rtl_waves_register_by_register(tmp_path):
    result = _job(tmp_path)
    assert result.ok
    rtl, model = Path(result.rtl_waves), Path(result.model_waves)
    assert rtl.parent == model.parent == tmp_path / "run"
    names = read_vcd(model)
    assert "systolic_top.u_array.g_row[3].g_col[7].u_pe.acc_q" in names
    assert "systolic_top.u_c_deskew.g_lane[0].u_delay.g_regs.stage[6]" in names
    assert len(names) > 4 * 4 * 8
    assert first_divergence(rtl, model, since_ns=result.folds[0].start_ns) is None


def test_a_wrong_model_diverges_in_the_waves_where_it_is_wrong(tmp_path):
    result = _job(tmp_path, model="tests.rtl.mutants:SkewOffByOneCore")
    assert not result.ok
    _, name, rtl_value, model_value = first_divergence(result.rtl_waves, result.model_waves,
                                                       since_ns=result.folds[0].start_ns)
    assert ".g_col[0].u_pe." in name, name
    assert rtl_value != model_value
