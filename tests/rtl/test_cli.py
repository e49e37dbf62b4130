"""`accelsim cosim`: JSON and table output, waves, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from accelsim.cli import main
from accelsim.rtlsim import simulator_missing
from tests.rtl.common import contract_fold_cycles, contract_occupancy

pytestmark = pytest.mark.rtl


def _run(*args):
    return CliRunner().invoke(main, ["cosim", *args], catch_exceptions=False)


def test_gemm_json_with_waves():
    r = _run("--gemm", "9x7x10", "--array", "4x8", "--dataflow", "is", "--seed", "3", "--waves", "--format", "json")
    assert r.exit_code == 0, r.output
    s = json.loads(r.stdout)
    assert s["ok"] and s["errors"] == []
    assert s["parameters"] == s["dut_parameters"] == {"ROWS": 4, "COLS": 8, "DATA_W": 8, "ACC_W": 32, "OUT_W": 8}
    t = s["totals"]
    # IS on 4x8: k-tiles of 4 (7 -> 2), m-tiles of 8 (9 -> 2), N = 10 streamed.
    assert t["folds"] == t["folds_run"] == 4 and t["mismatched_folds"] == 0 and t["wrong_elements"] == 0
    # every element of C also as int8 after the output stage (psum_in: the first k-tile's partial sums)
    assert t["int8_outputs"] == s["gemms"][0]["int8_outputs"] == 9 * 10 and t["wrong_int8"] == 0
    # pipelined (the default): three occupancies max(R, N) and the last fold's full length
    assert s["pipeline"] is True
    assert t["model_cycles"] == t["rtl_cycles"] == 3 * contract_occupancy("is", 4, 10, 10) + contract_fold_cycles(
        "is", 4, 8, 10)
    for path in s["waves"].values():
        assert Path(path).is_file() and Path(path).parent == Path(s["run_dir"])
    assert "verilator-r4c8-d8-a32" in s["run_dir"]


def test_gemm_under_a_given_order_and_chunk():
    """--order/--chunk: IS with its swapped order m>n>k and S = 3 (N = 10: chunks 3, 3, 3, 1)."""
    r = _run("--gemm", "9x7x10", "--array", "4x8", "--dataflow", "is", "--order", "m>n>k", "--chunk", "3",
             "--format", "json")
    assert r.exit_code == 0, r.output
    s = json.loads(r.stdout)
    assert s["ok"] and s["gemms"][0]["mapping"] == "IS m>n>k S=3"
    t = s["totals"]
    assert t["folds"] == 2 * 4 * 2 and t["wrong_elements"] == t["wrong_int8"] == 0 and t["int8_outputs"] == 90
    # pipelined: per m-tile, chunks 3, 3, 3, 1 each of two k-tiles: occupancy max(R, S_f) = 4, the last fold's F
    assert t["rtl_cycles"] == t["model_cycles"] == 15 * 4 + contract_fold_cycles("is", 4, 8, 1)


def test_mismatch_exits_1_and_points_into_the_waves():
    r = _run("--gemm", "6x9x10", "--array", "4x8", "--dataflow", "os", "--waves", "--format", "json",
             "--golden", "tests.rtl.mutants:SkewOffByOneCore")
    assert r.exit_code == 1, r.output
    s = json.loads(r.stdout)
    assert not s["ok"] and s["totals"]["mismatched_folds"] > 0 and s["errors"]
    assert s["totals"]["wrong_elements"] == 0, "the RTL's C is still the exact product"
    assert ".u_pe." in s["first_divergence"]["signal"]


def test_narrow_accumulator_table():
    r = _run("--gemm", "5x300x3", "--array", "8x4", "--acc-bits", "16", "--dataflow", "os", "--no-pipeline")
    assert r.exit_code == 0, r.output
    assert "PASS" in r.stdout and "gemm5x300x3" in r.stdout and "serial folds" in r.stdout
    assert "int8 outputs" not in r.stdout, "a 16-bit accumulator has no output stage"


@pytest.mark.parametrize("args, message", [
    (["--gemm", "4x4x4", "--model", "lenet5"], "exactly one"),
    ([], "exactly one"),
    (["--gemm", "3x0x2"], "--gemm"),
    (["--gemm", "3x2"], "--gemm"),
    (["--model", "lenet5", "--acc-bits", "16"], "--acc-bits"),
    (["--gemm", "2x2x2", "--array", "8by8"], "array"),
    (["--gemm", "2x2x2", "--golden", "ArrayCore"], "--golden"),
    (["--gemm", "2x2x2", "--order", "k>m>n"], "mapping.order: WS allows m>n>k or n>m>k, got k>m>n"),
    (["--gemm", "2x2x2", "--dataflow", "os", "--chunk", "4"], "mapping.chunk: OS streams all of K"),
    (["--gemm", "2x2x2", "--chunk", "100000"], "mapping.chunk: S=100000 exceeds"),
    (["--gemm", "2x2x2", "--chunk", "0"], "mapping.chunk: must be a positive integer"),
])
def test_bad_arguments_exit_2_without_simulating(args, message):
    r = _run(*args)
    assert r.exit_code == 2
    assert message in r.stderr


@pytest.mark.skipif(simulator_missing("icarus") is not None, reason=f"{simulator_missing('icarus')}")
def test_icarus_json():
    r = _run("--gemm", "6x5x7", "--array", "2x3", "--dataflow", "ws", "--simulator", "icarus", "--format", "json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["ok"]
