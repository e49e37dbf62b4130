"""The RTL's source rules: Verilator -Wall lint clean without waivers, one module per file, Icarus-compilable."""

from __future__ import annotations

import re
import subprocess

import pytest

from accelsim.rtlsim.env import RTL_DIR, SOURCES, TOPLEVEL, rtl_sources, setup_env, simulator_missing

PARAMETER_SETS = [
    {"ROWS": 1, "COLS": 1, "DATA_W": 8, "ACC_W": 32, "OUT_W": 8},  # OUT_W < ACC_W: with the output stage
    {"ROWS": 1, "COLS": 8, "DATA_W": 8, "ACC_W": 32},
    {"ROWS": 8, "COLS": 1, "DATA_W": 8, "ACC_W": 32, "OUT_W": 8},
    {"ROWS": 4, "COLS": 8, "DATA_W": 8, "ACC_W": 16},
    {"ROWS": 16, "COLS": 16, "DATA_W": 8, "ACC_W": 32, "OUT_W": 8},
    {"ROWS": 3, "COLS": 5, "DATA_W": 16, "ACC_W": 24},  # ACC_W < 2*DATA_W: the product itself wraps
    {"ROWS": 2, "COLS": 2, "DATA_W": 8, "ACC_W": 8},
]
IDS = ["r{ROWS}c{COLS}d{DATA_W}a{ACC_W}".format(**p) + (f"o{p['OUT_W']}" if "OUT_W" in p else "")
       for p in PARAMETER_SETS]


@pytest.mark.parametrize("params", PARAMETER_SETS, ids=IDS)
def test_verilator_lint_wall(params):
    assert simulator_missing("verilator") is None
    setup_env()
    cmd = ["verilator", "--lint-only", "-Wall", "--top-module", TOPLEVEL,
           *(f"-G{k}={v}" for k, v in params.items()), *map(str, rtl_sources())]
    r = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert r.returncode == 0 and "%Warning" not in r.stderr and "%Error" not in r.stderr, r.stderr


@pytest.mark.parametrize("params", [{"ACC_W": 16, "OUT_W": 8}, {"ACC_W": 32, "OUT_W": 40}, {"ACC_W": 32, "OUT_W": 1}],
                         ids=["acc16-out8", "out-wider", "out1"])
def test_an_output_stage_off_the_contract_does_not_elaborate(params):
    """The stage needs ACC_W = 32 and 2 <= OUT_W < ACC_W (OUT_W = ACC_W: no stage)."""
    setup_env()
    cmd = ["verilator", "--lint-only", "-Wall", "--top-module", TOPLEVEL, "-GROWS=2", "-GCOLS=2",
           *(f"-G{k}={v}" for k, v in params.items()), *map(str, rtl_sources())]
    r = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert r.returncode != 0 and "OUT_W" in r.stderr, r.stderr


def test_no_lint_waivers():
    for path in rtl_sources():
        text = path.read_text()
        assert not re.search(r"lint_off|verilator\s+lint|-Wno-", text), path


def test_one_module_per_file_with_upper_snake_parameters():
    assert sorted(p.name for p in RTL_DIR.glob("*.v")) == sorted(SOURCES)
    for path in rtl_sources():
        text = path.read_text()
        modules = re.findall(r"^\s*module\s+(\w+)", text, re.MULTILINE)
        assert modules == [path.stem], path
        for name in re.findall(r"\b(?:local)?param(?:eter)?\s+(?:\[[^\]]*\]\s*)?(\w+)", text):
            assert re.fullmatch(r"[A-Z][A-Z0-9_]*", name), f"{path.name}: parameter {name}"


@pytest.mark.skipif(simulator_missing("icarus") is not None, reason=f"{simulator_missing('icarus')}")
@pytest.mark.parametrize("generation", ["2005", "2012"])
@pytest.mark.parametrize("params", PARAMETER_SETS[:4], ids=IDS[:4])
def test_icarus_compiles_without_warnings(params, generation, tmp_path):
    cmd = ["iverilog", f"-g{generation}", "-Wall", "-s", TOPLEVEL, "-o", str(tmp_path / "a.vvp"),
           *(f"-P{TOPLEVEL}.{k}={v}" for k, v in params.items()), *map(str, rtl_sources())]
    r = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert r.returncode == 0 and not r.stderr.strip(), r.stderr
