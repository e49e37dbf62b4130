"""The checker must fail when the model is wrong or the DUT is not the configuration's."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, replace

import pytest

from accelsim.mapping.folds import folds_for
from accelsim.rtlsim import random_gemm, simulator_missing
from accelsim.rtlsim.harness import HarnessResult, run_harness
from tests.rtl.common import config, run_gemms

pytestmark = pytest.mark.rtl


def test_off_by_one_skew_in_the_model_is_caught(tmp_path):
    cfg = config((4, 8, 32))
    g = random_gemm(cfg, 6, 9, 10, seed=3)
    result, checks, _ = run_gemms(cfg, [(g, "os"), (g, "ws")], tmp_path, model="tests.rtl.mutants:SkewOffByOneCore")
    assert not result.ok
    assert not result.folds[0].ok, "the first OS fold uses every row"
    assert any("output row" in e and "model" in e for e in result.all_errors())
    # The RTL itself is right: its assembled C still equals the exact product.
    assert all(c.wrong_elements == 0 for c in checks)


def test_late_drain_in_the_model_is_caught_on_cycles_alone(tmp_path):
    cfg = config((4, 8, 32))
    g = random_gemm(cfg, 8, 5, 8, seed=4)
    result, _, _ = run_gemms(cfg, [(g, "os")], tmp_path, model="tests.rtl.mutants:LatePipeCore")
    assert not result.ok
    for f in result.folds:
        assert (f.rtl_out == f.model_out).all(), "same values, only the timing differs"
        assert f.rtl_done + 1 == f.model_done
        assert any(e.startswith("done in cycle") for e in f.errors)
        assert any(e.startswith("output rows in cycles") for e in f.errors)


@pytest.mark.parametrize("claimed, built", [
    ((8, 4, 32), (8, 4, 16)),  # ACC_W 16 built, 32 claimed
    ((4, 8, 16), (8, 4, 16)),  # ROWS and COLS swapped
], ids=["acc_w", "rows_cols"])
def test_dut_with_other_parameters_than_the_config_is_refused(claimed, built, tmp_path):
    cfg, dut = config(claimed), config(built)
    g = random_gemm(cfg, 5, 5, 5, seed=5)
    result, _, _ = run_gemms(cfg, [(g, "os")], tmp_path, dut_parameters=dut.rtl_parameters())
    assert not result.ok
    assert result.dut_parameters == dut.rtl_parameters() != cfg.rtl_parameters()
    assert result.folds == []
    assert "differ from the configuration's" in result.errors[0]


RTL_MUTANTS = {
    # every 16 cycles from cycle 10: the first OS drain row in the cycle harness, a row in the fast one too
    "output_bit_flip": ("systolic_top.v", "assign c_out       = deskewed;",
                        "assign c_out       = deskewed ^ {{(COLS*ACC_W-1){1'b0}}, (cycle_count_q[3:0] == 4'd10)};"),
    "extra_drain_row": ("systolic_top.v", "drain_left <= DRAIN_REST;", "drain_left <= DRAIN_REST + CNT_ONE;"),
    "skew_off_by_one": ("skew_buffer.v", ".DEPTH(DESKEW != 0 ? LANES - 1 - l : l)",
                        ".DEPTH(DESKEW != 0 ? LANES - 1 - l : (l == 1 ? 2 : l))"),
    # the product zero-extended into the accumulator: every negative product turns large and positive
    "sign_extension_dropped": ("systolic_pe.v", "assign prod_acc = {{(ACC_W - PROD_W){prod[PROD_W-1]}}, prod};",
                               "assign prod_acc = {{(ACC_W - PROD_W){1'b0}}, prod};"),
    # the output stage: the earlier k-tiles' partial sums lost (WS/IS int8 wrong), every row staged
    "stage_psum_dropped": ("systolic_top.v", ".psum_in  (psum_in),", ".psum_in  ({COLS*ACC_W{1'b0}}),"),
    "stage_takes_every_row": ("systolic_top.v", ".in_valid (c_valid && c_final),", ".in_valid (c_valid),"),
}
# The three (an off-by-one skew, a wrong drain, a dropped sign extension) also run on Verilator in CI:
# each mutant is its own Verilator build (~10-20 CPU s for this 2x3 array); the others build on Verilator
# only outside CI. Icarus (instant builds) runs all of them wherever it is installed.
CI_MUTANTS = ("skew_off_by_one", "extra_drain_row", "sign_extension_dropped")
IN_CI = os.environ.get("CI") == "true"


def _run_cycle_harness(cfg, jobs, tmp_path, simulator):
    """The per-cycle harness (cocotb drives every port each cycle, the stepping model in lock step)."""
    result, _, _ = run_gemms(cfg, jobs, tmp_path, simulator=simulator)
    return result


@dataclass
class FastResult:
    """The fast harness's result in the cycle harness's terms: one "fold" a GEMM (its verdict)."""

    result: HarnessResult

    @property
    def ok(self) -> bool:
        return self.result.ok

    @property
    def folds(self) -> list:
        return self.result.verdicts

    def all_errors(self) -> list[str]:
        return self.result.errors + [e for v in self.result.verdicts for e in v.errors]


def _run_fast_harness(cfg, jobs, tmp_path, simulator):
    """The fast harness (``rtl/tb/harness_top.v``: beats played from a file, rows and int8 rows captured, checked
    against the fast model): one GEMM per (gemm, dataflow), back to back in one run. Verilator only."""
    assert simulator == "verilator"
    gemms = [replace(g, mapping=folds_for(cfg.with_(dataflow=df), *g.shape).mapping) for g, df in jobs]
    return FastResult(run_harness(cfg, gemms, pipeline=cfg.pipeline))


# Every harness a mutant must fail (and the unmutated copy pass): name -> (run(cfg, [(gemm, dataflow)], tmp_path,
# simulator) returning a result with ``ok``, ``folds`` (each with ``ok``) and ``all_errors()``, the simulators it
# runs on). The fast harness builds its own top around each mutated copy.
HARNESSES = {"cycle": (_run_cycle_harness, ("icarus", "verilator")), "fast": (_run_fast_harness, ("verilator",))}


def _mutant_params():
    for simulator in ("icarus", "verilator"):
        missing = simulator_missing(simulator)
        for mutant in sorted(RTL_MUTANTS):
            marks = [pytest.mark.skipif(missing is not None, reason=f"{missing}")]
            if simulator == "verilator" and mutant not in CI_MUTANTS:
                reason = "one Verilator build per mutant; CI builds the issue's three"
                marks += [pytest.mark.slow, pytest.mark.skipif(IN_CI, reason=reason)]
            for harness in sorted(h for h, (_, sims) in HARNESSES.items() if simulator in sims):
                yield pytest.param(simulator, mutant, harness, id=f"{simulator}-{mutant}-{harness}", marks=marks)


def _run_rtl_copy(simulator, harness, tmp_path, monkeypatch, mutant=None):
    """Run OS then WS folds of one 2x3 GEMM through ``harness`` on a copy of the RTL with ``mutant``'s bug (or
    none). Icarus builds in a scratch root; Verilator in the shared cache (the build is keyed on the copied
    sources: a mutant never collides with the real RTL's build, and a rerun or another harness reuses it)."""
    from accelsim.rtlsim import env

    rtl = tmp_path / "rtl"
    shutil.copytree(env.RTL_DIR, rtl)
    if mutant is not None:
        name, old, new = RTL_MUTANTS[mutant]
        text = (rtl / name).read_text()
        assert text.count(old) == 1
        (rtl / name).write_text(text.replace(old, new))
    monkeypatch.setattr(env, "RTL_DIR", rtl)
    if simulator == "icarus":
        monkeypatch.setenv("ACCELSIM_SIM_BUILD", str(tmp_path / "sim_build"))
    cfg = config((2, 3, 32))
    g = random_gemm(cfg, 4, 7, 5, seed=8)
    return HARNESSES[harness][0](cfg, [(g, "os"), (g, "ws")], tmp_path, simulator)


@pytest.mark.parametrize("simulator, mutant, harness", list(_mutant_params()))
def test_mutated_rtl_is_caught(simulator, mutant, harness, tmp_path, monkeypatch):
    """A copy of the RTL with one small bug fails (the bit flip hits the first OS drain row, cycle 10). WS has
    k-tiles of 2 (partial sums on the output stage's psum_in); the array's mutants fail the first OS fold (the
    fast harness: the OS GEMM)."""
    result = _run_rtl_copy(simulator, harness, tmp_path, monkeypatch, mutant)
    assert not result.ok
    assert not result.folds[0].ok or mutant.startswith("stage_")
    assert any(not f.ok for f in result.folds)


@pytest.mark.skipif(simulator_missing("verilator") is not None, reason=f"{simulator_missing('verilator')}")
@pytest.mark.parametrize("harness", sorted(HARNESSES))
def test_unmutated_rtl_copy_passes(harness, tmp_path, monkeypatch):
    """The control: the same copy, build path, shape and GEMMs without a bug pass on Verilator, so each mutant
    fails for its bug and not for the copy or the setup."""
    result = _run_rtl_copy("verilator", harness, tmp_path, monkeypatch)
    assert result.ok, result.all_errors()
    assert len(result.folds) > 1
