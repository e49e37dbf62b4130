"""The CLI end to end in a subprocess: formats, files, and one-line errors with exit code 2."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.workload.test_importers import ALEXNET_CSV, CSV_CASES, HEADER, YAML_CASES

ROOT = Path(__file__).resolve().parents[2]


def run(*args):
    return subprocess.run([sys.executable, "-m", "accelsim.cli", *args], capture_output=True, text=True, check=False)


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
        (["FILE"], ("input_shape: [3, 8, 8]\nlayers:\n  - {type: conv2d, in_channels: 3, out_channels: 4, "
                    "kernel_size: 3, stride: 0}\n"), ":3: field 'stride':"),
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


# torchinfo's summary, worked out by hand from the networks (fp32: 4 bytes; MB = 10^6 bytes).
# alexnet-tv: conv outputs 64x55x55, 192x27x27, 384x13x13, 256x13x13, 256x13x13; fc 4096, 4096, 1000.
ALEXNET_TV_OUTPUTS = 64 * 55 * 55 + 192 * 27 * 27 + 384 * 13 * 13 + 2 * 256 * 13 * 13 + 4096 + 4096 + 1000
# vgg16: 2 convs at 64x224x224, 2 at 128x112x112, 3 at 256x56x56, 3 at 512x28x28, 3 at 512x14x14; fc.
VGG16_OUTPUTS = (2 * 64 * 224 * 224 + 2 * 128 * 112 * 112 + 3 * 256 * 56 * 56 + 3 * 512 * 28 * 28
                 + 3 * 512 * 14 * 14 + 4096 + 4096 + 1000)


@pytest.mark.parametrize("model, params, macs, outputs, mult_adds_line", [
    # Mult-adds = MACs + one bias add per output element of every conv/linear layer (torchinfo: 714.68 M).
    ("alexnet-tv", 61_100_840, 714_188_480, ALEXNET_TV_OUTPUTS, "Total mult-adds (M): 714.68"),
    ("vgg16", 138_357_544, 15_470_264_320, VGG16_OUTPUTS, "Total mult-adds (G): 15.48"),
])
def test_profile_shows_torchinfo_summary(model, params, macs, outputs, mult_adds_line):
    doc = json.loads(run("profile", model, "--format", "json").stdout)
    t = doc["totals"]
    assert doc["dtype"] == "fp32"  # the default, as torchinfo
    assert (t["params"], t["macs"], t["mult_adds"]) == (params, macs, macs + outputs)
    assert t["input_bytes"] == 3 * 224 * 224 * 4
    assert t["forward_backward_bytes"] == 2 * outputs * 4
    assert t["weight_bytes"] == params * 4
    assert t["estimated_total_bytes"] == 3 * 224 * 224 * 4 + 2 * outputs * 4 + params * 4
    r = run("profile", model)
    assert r.returncode == 0, r.stderr
    assert max(len(line) for line in r.stdout.splitlines()) <= 100
    lines = r.stdout.splitlines()
    assert f"Total params: {params:,}" in lines
    assert any(line.startswith(mult_adds_line + " (torchinfo's count: MACs + ") for line in lines)
    mb = {"Input size (MB)": 3 * 224 * 224 * 4, "Params size (MB)": params * 4,
          "Estimated Total Size (MB)": 3 * 224 * 224 * 4 + 2 * outputs * 4 + params * 4}
    for label, nbytes in mb.items():
        assert f"{label}: {nbytes / 1e6:,.2f}" in lines
    assert any(line.startswith(f"Forward/backward pass size (MB): {2 * outputs * 4 / 1e6:,.2f} ") for line in lines)
    assert "MB = 10^6 bytes." in r.stdout


def test_profile_torchinfo_figures_as_torchinfo_prints_them():
    """The figures torchinfo 1.8 prints for torchvision's AlexNet and VGG-16 (fp32, 1x3x224x224)."""
    alexnet, vgg16 = run("profile", "alexnet-tv").stdout, run("profile", "vgg16").stdout
    for text in ("Total params: 61,100,840", "Total mult-adds (M): 714.68", "Input size (MB): 0.60",
                 "Forward/backward pass size (MB): 3.95", "Params size (MB): 244.40",
                 "Estimated Total Size (MB): 248.96"):
        assert text in alexnet
    for text in ("Total params: 138,357,544", "Total mult-adds (G): 15.48", "Forward/backward pass size (MB): 108.45",
                 "Params size (MB): 553.43", "Estimated Total Size (MB): 662.49"):
        assert text in vgg16


def test_profile_table_shows_input_kernel_flops_and_share():
    r = run("profile", "alexnet-tv")
    head = next(line for line in r.stdout.splitlines() if "Layer (type)" in line)
    assert head.split() == ["Layer", "(type)", "Input", "shape", "Output", "shape", "K/S/P", "Params", "MACs",
                            "%", "MACs", "FLOPs"]
    conv2 = next(line for line in r.stdout.splitlines() if line.lstrip().startswith("conv2 "))
    # conv2: 64x27x27 -> 192x27x27, kernel 5 stride 1 padding 2, 223,948,800 MACs = 31.4% of 714,188,480
    assert conv2.split()[-7:] == ["64x27x27", "192x27x27", "5/1/2", "307,392", "223,948,800", "31.4%", "447,897,600"]
    assert "100.0%" in r.stdout and "K/S/P: kernel / stride / padding" in r.stdout
    int8 = run("profile", "alexnet-tv", "--dtype", "int8").stdout
    assert "Params size (MB): 61.10" in int8 and "Input size (MB): 0.15" in int8


@pytest.mark.parametrize("args, message", [
    (["-o", "out.xlsx"], "output: out.xlsx: cannot write .xlsx files"),
    (["-o", "out.yaml"], "output: out.yaml: cannot write .yaml files"),
    (["--format", "csv", "-o", "out.json"], "--format csv writes .csv files, not .json"),
    (["--format", "table", "-o", "out.md"], "--format table writes .txt files, not .md"),
])
def test_profile_refuses_an_extension_the_format_cannot_write(tmp_path, args, message):
    r = subprocess.run([sys.executable, "-m", "accelsim", "profile", "lenet5", *args], capture_output=True,
                       text=True, check=False, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert r.returncode == 2 and r.stderr.startswith("accelsim: error: output: ") and message in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and r.stdout == ""
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("ext, fmt, marker", [("txt", None, "lenet5: per-layer budget"), ("json", None, '"layers"'),
                                              ("out", "md", "| Layer (type) |")])
def test_profile_writes_the_formats_extensions(tmp_path, ext, fmt, marker):
    out = tmp_path / f"lenet.{ext}"
    r = run("profile", "lenet5", "-o", str(out), *(["--format", fmt] if fmt else []))
    if ext == "out":  # an unknown extension is refused even with --format
        assert r.returncode == 2 and "cannot write .out files" in r.stderr and not out.exists()
        out = tmp_path / "lenet"
        r = run("profile", "lenet5", "-o", str(out), "--format", fmt)
    assert r.returncode == 0, r.stderr
    assert marker in out.read_text()


@pytest.mark.parametrize("typed, suggestion", [("vgg61", "vgg16"), ("VGG16", "vgg16"), ("alexnet_tv", "alexnet-tv"),
                                               ("lenet", "lenet5")])
def test_misspelt_model_gets_did_you_mean(typed, suggestion):
    r = run("profile", typed)
    assert r.returncode == 2 and len(r.stderr.splitlines()) == 1
    assert r.stderr.rstrip().endswith(f"nor a model file; did you mean '{suggestion}'?")


def test_no_suggestion_for_a_name_like_no_model():
    r = run("profile", "transformer")
    assert r.returncode == 2 and "did you mean" not in r.stderr


def test_python_m_accelsim_is_the_command():
    r = subprocess.run([sys.executable, "-m", "accelsim", "--version"], capture_output=True, text=True, check=False)
    assert r.returncode == 0 and r.stdout.startswith("accelsim, version ")
    r = subprocess.run([sys.executable, "-m", "accelsim", "profile", "lenet5", "--format", "json"],
                       capture_output=True, text=True, check=False)
    assert r.returncode == 0 and json.loads(r.stdout)["totals"]["params"] == 61_706
    r = subprocess.run([sys.executable, "-m", "accelsim", "nosuchcommand"], capture_output=True, text=True,
                       check=False)
    assert r.returncode == 2 and "accelsim" in r.stderr
