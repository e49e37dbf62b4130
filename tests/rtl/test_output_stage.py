"""``rtl/output_stage.v`` alone under cocotb (``accelsim.rtlsim.stage_tb``): random rows with idle gaps,
int32 extremes, every activation, M0 and shift over their whole range, bit for bit against
``requant.py`` and exactly ``OUT_STAGE_CYCLES`` after each row enters. One small build (4 lanes)."""

from __future__ import annotations

import contextlib
import xml.etree.ElementTree as ET

import pytest

from accelsim.rtlsim import cache
from accelsim.rtlsim.build import TIMESCALE
from accelsim.rtlsim.env import RTL_DIR, setup_env, simulator_missing
from accelsim.rtlsim.proc import guard_runner
from accelsim.rtlsim.stage_tb import CYCLES_ENV, SEED_ENV

pytestmark = [
    pytest.mark.rtl,
    pytest.mark.skipif(simulator_missing("verilator") is not None, reason=f"{simulator_missing('verilator')}"),
]
PARAMETERS = {"COLS": 4, "ACC_W": 32, "OUT_W": 8}


def build_stage():
    """Build ``output_stage`` with ``PARAMETERS`` in the build cache (keyed on its source): (runner, folder)."""
    setup_env()
    from cocotb_tools.runner import get_runner

    source = RTL_DIR / "output_stage.v"
    key = cache.build_key("verilator", [source])
    out = cache.ensure_root(cache.sim_build_root()) / f"verilator-output_stage-c{PARAMETERS['COLS']}-o8-{key}"
    runner = guard_runner(get_runner("verilator"))
    runner.build(sources=[str(source)], hdl_toplevel="output_stage", build_dir=str(out), parameters=PARAMETERS,
                 timescale=TIMESCALE, log_file=str(out.parent / f"{out.name}.build.log"))
    return runner, out


@pytest.mark.parametrize("seed", [0])
def test_output_stage_matches_requant_bit_for_bit_three_cycles_later(seed, tmp_path):
    runner, out = build_stage()
    results = tmp_path / "results.xml"
    with contextlib.suppress(SystemExit, RuntimeError):  # the verdict is in the results file
        runner.test(test_module="accelsim.rtlsim.stage_tb", hdl_toplevel="output_stage", hdl_toplevel_lang="verilog",
                    build_dir=str(out), test_dir=str(tmp_path), results_xml=str(results),
                    extra_env={SEED_ENV: str(seed), CYCLES_ENV: "4000"}, log_file=str(tmp_path / "sim.log"))
    log = (tmp_path / "sim.log").read_text(errors="replace") if (tmp_path / "sim.log").exists() else ""
    assert results.exists(), log[-3000:]
    cases = ET.parse(results).getroot().iter("testcase")
    verdicts = [(c.get("name"), [f.get("message") for f in c.iter("failure")]) for c in cases]
    assert verdicts and all(not failed for _, failed in verdicts), (verdicts, log[-3000:])
    assert "rows checked over 4000 cycles" in log
