"""The CLI end to end in a subprocess: formats, files, and one-line errors with exit code 2."""

import json
import subprocess
import sys

import pytest

from tests.workload.test_importers import ALEXNET_CSV, CSV_CASES, HEADER, YAML_CASES


def run(*args):
    return subprocess.run([sys.executable, "-m", "accelsim.cli", *args], capture_output=True, text=True)


def test_profile_json_is_stable():
    r = run("profile", "alexnet", "--format", "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert set(doc) >= {"network", "layers", "totals"} and doc["network"] == "alexnet"
    keys = {"layer", "type", "input_shape", "output_shape", "params", "macs", "flops", "gemm_m", "gemm_k",
            "gemm_n", "weight_bytes", "input_bytes", "output_bytes"}
    assert all(keys <= set(layer) for layer in doc["layers"])
    conv1 = doc["layers"][0]
    assert conv1["input_shape"] == [3, 227, 227] and conv1["output_shape"] == [96, 55, 55]
    assert (conv1["gemm_m"], conv1["gemm_k"], conv1["gemm_n"]) == (3025, 363, 96)
    assert doc["totals"]["params"] == 62_378_344


def test_profile_table_fits_100_columns_and_has_totals():
    r = run("profile", "vgg16", "--batch", "2", "--dtype", "fp32")
    assert r.returncode == 0, r.stderr
    assert max(len(line) for line in r.stdout.splitlines()) <= 100
    assert "138,357,544" in r.stdout and "Total" in r.stdout and "MB = 10^6 bytes" in r.stdout
    assert "100352x27x64" in r.stdout  # M = output pixels x batch


@pytest.mark.parametrize("fmt, marker", [("csv", "layer,type,input_shape"), ("md", "| Layer (type) |")])
def test_profile_formats_to_file(tmp_path, fmt, marker):
    out = tmp_path / "sub" / f"lenet.{fmt}"
    r = run("profile", "lenet5", "--output", str(out))
    assert r.returncode == 0, r.stderr
    assert marker in out.read_text()


def test_strict_flag_marks_and_rejects(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text("input_shape: [1, 7, 7]\nlayers:\n  - {type: conv2d, name: c, in_channels: 1, out_channels: 1, "
                 "kernel_size: 3, stride: 3}\n")
    ok = run("profile", str(f))
    assert ok.returncode == 0 and "c (conv2d) *" in ok.stdout
    bad = run("profile", str(f), "--strict")
    assert bad.returncode == 2 and "illegal stride 3" in bad.stderr


def test_scalesim_csv_profiles(tmp_path):
    f = tmp_path / "alexnet.csv"
    f.write_text(ALEXNET_CSV)
    r = run("profile", str(f), "--format", "json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["layers"][5]["gemm_k"] == 9216


@pytest.mark.parametrize(
    "args, text, message",
    [
        (["nosuchnet"], None, "model: 'nosuchnet' is neither a zoo model"),
        (["FILE"], HEADER + "C1, 8, 8, 9, 3, 3, 4, 1,\n", ":2: field 'Filter Height': 9 is larger than IFMAP Height 8"),
        (["FILE"], "input_shape: [3, 8, 8]\nlayers:\n  - {type: conv2d, in_channels: 3, out_channels: 4, "
                   "kernel_size: 3, stride: 0}\n", ":3: field 'stride':"),
        (["missing.yaml"], None, "missing.yaml: cannot read"),
        (["lenet5", "--batch", "0"], None, "--batch"),
        (["lenet5", "--dtype", "int4"], None, "--dtype"),
    ],
)
def test_bad_input_is_one_line_exit_2(tmp_path, args, text, message):
    if text is not None:
        f = tmp_path / ("bad.csv" if text.startswith("Layer") else "bad.yaml")
        f.write_text(text)
        args = [str(f) if a == "FILE" else a for a in args]
    r = run("profile", *args)
    assert r.returncode == 2
    assert message in r.stderr
    assert "Traceback" not in r.stderr
    if text is not None or args[0] == "nosuchnet":
        assert len(r.stderr.strip().splitlines()) == 1


def test_models_lists_the_zoo():
    r = run("models")
    assert r.returncode == 0
    for name in ("lenet5", "lenet5-28", "alexnet", "alexnet-tv", "vgg11", "vgg13", "vgg16", "vgg19"):
        assert f"\n{name} " in "\n" + r.stdout


def test_profile_training_adds_backward_gemms():
    r = run("profile", "lenet5", "--training", "--format", "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    conv2 = next(layer for layer in doc["layers"] if layer["layer"] == "conv2")
    # forward 100x150x16: dW = delta (16 x 100) @ im2col^T (100 x 150); dX = W^T (150 x 16) @ delta (16 x 100)
    assert conv2["wgrad_gemm"] == "16x100x150" and conv2["igrad_gemm"] == "150x16x100"
    assert conv2["wgrad_macs"] == conv2["igrad_macs"] == conv2["macs"] == 240_000
    assert doc["totals"]["wgrad_macs"] == doc["totals"]["macs"] == 416_520
    table = run("profile", "lenet5", "--training")
    assert "training GEMMs" in table.stdout and "dW GEMM MxKxN" in table.stdout


@pytest.mark.parametrize(
    "suffix, text, line, field",
    [(".csv", t, ln, f) for t, ln, f, _ in CSV_CASES] + [(".yaml", t, ln, f) for t, ln, f, _ in YAML_CASES],
)
def test_every_malformed_file_is_one_line_exit_2(tmp_path, suffix, text, line, field):
    """Each malformed model file of the importer tests, through the CLI (in process: click's runner)."""
    from click.testing import CliRunner

    from accelsim.cli import main

    f = tmp_path / f"bad{suffix}"
    f.write_text(text)
    result = CliRunner().invoke(main, ["profile", str(f)])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith(f"accelsim: error: {f}:{line}: field '{field}':")
    assert result.stdout == ""
