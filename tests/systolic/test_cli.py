"""`accelsim simulate` end to end in a subprocess: formats, options, --check, one-line errors (exit 2)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

LAYER_KEYS = {"layer", "type", "cycles", "compute_cycles", "stall_cycles", "ideal_cycles", "utilization",
              "dram_read_bytes", "dram_write_bytes", "mapping_efficiency", "latency_ms", "ifmap_sram_reads",
              "filter_sram_reads", "ofmap_sram_writes", "folds"}


def run(*args):
    return subprocess.run([sys.executable, "-m", "accelsim.cli", "simulate", *args], capture_output=True, text=True,
                          check=False)


def test_json_document():
    r = run("alexnet", "--array", "16x8", "--dataflow", "os", "--sram", "64,64,32", "--bandwidth", "8.5",
            "--clock-mhz", "500", "--batch", "2", "--format", "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert list(doc) == ["network", "config", "layers", "totals"] and doc["network"] == "alexnet"
    cfg = doc["config"]
    got = (cfg["rows"], cfg["cols"], cfg["dataflow"], cfg["bandwidth_bytes_per_cycle"], cfg["clock_mhz"], cfg["batch"])
    assert got == (16, 8, "os", 8.5, 500.0, 2)
    assert cfg["ifmap_sram_kib"] == 64 and cfg["ofmap_sram_kib"] == 32 and cfg["double_buffer"] is True
    assert all(set(layer) >= LAYER_KEYS for layer in doc["layers"])
    conv1 = doc["layers"][0]
    assert (conv1["gemm_m"], conv1["gemm_k"], conv1["gemm_n"]) == (2 * 3025, 363, 96)
    assert conv1["cycles"] >= conv1["ideal_cycles"] == -(-2 * 3025 * 363 * 96 // 128)
    assert conv1["latency_ms"] == pytest.approx(conv1["cycles"] / 500e3)
    assert doc["totals"]["cycles"] == sum(layer["cycles"] for layer in doc["layers"])


def test_table_fits_100_columns():
    r = run("vgg16")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert max(len(line) for line in lines) <= 100
    assert "Total" in r.stdout and "158,468" in r.stdout and "50176x27x64" in r.stdout
    assert "relu (fused)" in r.stdout and "maxpool2d (vector)" in r.stdout and "MB = 10^6 bytes" in r.stdout


@pytest.mark.parametrize("ext, marker", [("csv", "layer,type,unit,gemm_m"), ("md", "| Layer | GEMM MxKxN/op |")])
def test_formats_to_file(tmp_path, ext, marker):
    out = tmp_path / "sub" / f"lenet.{ext}"
    r = run("examples/tiny.yaml", "--array", "4x4", "--sram", "4,4,4", "--output", str(out))
    assert r.returncode == 0, r.stderr
    assert marker in out.read_text()


def test_no_double_buffer_and_check_with_the_stepping_model():
    single = run("lenet5", "--no-double-buffer", "--engine", "stepping", "--check", "--format", "json")
    double = run("lenet5", "--format", "json")
    assert single.returncode == 0, single.stderr
    s, d = json.loads(single.stdout), json.loads(double.stdout)
    assert s["config"]["double_buffer"] is False and s["config"]["engine"] == "stepping"
    assert s["totals"]["cycles"] > d["totals"]["cycles"] and s["totals"]["check_mismatches"] == 0
    assert {layer["check"] for layer in s["layers"] if layer["unit"] == "array"} == {"ok"}


@pytest.mark.parametrize("args, message", [
    (["--array", "0x32"], "array: rows and cols must be > 0"),
    (["--array", "32by32"], "array: expected ROWSxCOLS"),
    (["--sram", "256,256"], "sram: expected IFMAP,FILTER,OFMAP"),
    (["--sram", "1,256,128"], "ifmap_sram_kib: 1.0 KiB cannot hold one 32x32 tile"),
    (["--bandwidth", "0"], "bandwidth: must be > 0"),
    (["--bandwidth", "fast"], "bandwidth: expected a number"),
])
def test_bad_config_is_one_line_and_exit_2(args, message):
    r = run("lenet5", *args)
    assert r.returncode == 2
    assert r.stderr.startswith("accelsim: error: ") and message in r.stderr and len(r.stderr.splitlines()) == 1
    assert r.stdout == ""


@pytest.mark.parametrize("args, message", [
    (["--model", "stepping"], ("simulate: --model is not an option here: the network is the positional MODEL; "
                               "the timing engine is --engine fast|stepping")),
    (["--clock", "500"], "No such option '--clock'"),
    (["--engine", "slow"], "'slow' is not one of 'fast', 'stepping'"),
    (["--clock-mhz", "0"], "clock_mhz: must be > 0"),
    (["-o", "out.xlsx"], "output: out.xlsx: cannot write .xlsx files"),
    (["-o", "out.yaml"], "output: out.yaml: cannot write .yaml files"),
    (["--format", "json", "-o", "out.csv"], "output: out.csv: --format json writes .json files, not .csv"),
    (["--format", "md", "-o", "out.txt"], "--format md writes .md files, not .txt"),
])
def test_renamed_flags_and_wrong_extensions_are_one_line_exit_2(tmp_path, args, message):
    r = subprocess.run([sys.executable, "-m", "accelsim.cli", "simulate", "lenet5", *args], capture_output=True,
                       text=True, check=False, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert r.returncode == 2
    assert r.stderr.startswith("accelsim: error: ") and message in r.stderr and len(r.stderr.splitlines()) == 1
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_table_writes_txt(tmp_path):
    out = tmp_path / "lenet.txt"
    r = run("lenet5", "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert "Cycles" in out.read_text() and "MB = 10^6 bytes" in out.read_text()
