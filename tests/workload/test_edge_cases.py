"""Regressions found by feeding the model-file readers and the report views what users really have."""

import json

import pytest
from click.testing import CliRunner

from accelsim.cli import main
from accelsim.errors import ModelFileError
from accelsim.report.profile_view import render_profile
from accelsim.workload import importers
from accelsim.workload.layers import LayerError, ReLU
from accelsim.workload.profile import profile, totals

TINY_CSV = ("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"
            "Conv1, 10, 10, 3, 3, 2, 4, 1,\n")
TINY_JSON = '{"input_shape": [3, 4, 4], "layers": [{"type": "relu"}]}'


def one_line_error(r, *words):
    assert r.exit_code == 2, (r.exit_code, r.stdout, r.stderr)
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.startswith("accelsim: error: ") and all(w in r.stderr for w in words), r.stderr


@pytest.mark.parametrize("name, data", [
    ("bin.yaml", b"\x00\xa4\xff\x10garbage"),
    ("bin.csv", b"\xd0\x00\x01"),
    ("latin1.json", "{\"name\": \"caf\xe9\"}".encode("latin-1")),
])
def test_binary_or_non_utf8_file_is_one_line(tmp_path, name, data):
    # UnicodeDecodeError escaped as a traceback (exit 1) for profile, simulate and sweep.
    path = tmp_path / name
    path.write_bytes(data)
    for command in ("profile", "simulate"):
        one_line_error(CliRunner().invoke(main, [command, str(path)]), name, "not UTF-8")
    with pytest.raises(ModelFileError, match="not UTF-8"):
        importers.load(path)


@pytest.mark.parametrize("name, text", [("bom.csv", TINY_CSV), ("bom.json", TINY_JSON)])
def test_byte_order_mark_is_accepted(tmp_path, name, text):
    # Excel writes CSV with a BOM: "missing column 'Layer name'"; JSON: "Unexpected UTF-8 BOM".
    path = tmp_path / name
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    assert len(importers.load(path)) == 1


@pytest.mark.parametrize("name", ["r\n2", "a\tb", "  ", " lead", "trail ", "zero\u200bwidth"])
def test_layer_names_that_break_tables_are_rejected(tmp_path, name):
    # A newline in a name split the table row and the Markdown row in two.
    with pytest.raises(LayerError, match="name"):
        ReLU(name)
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"input_shape": [3, 4, 4], "layers": [{"type": "relu", "name": name}]}))
    one_line_error(CliRunner().invoke(main, ["profile", str(path)]), "m.json:1", "'name'")


def test_network_and_csv_names_are_checked_too(tmp_path):
    path = tmp_path / "n.yaml"
    path.write_text('name: " padded"\ninput_shape: [3, 4, 4]\nlayers:\n  - {type: relu}\n')
    with pytest.raises(ModelFileError, match=r"n\.yaml:1: field 'name'"):
        importers.load(path)
    path = tmp_path / "n.csv"
    path.write_text(TINY_CSV.replace("Conv1", '"Co\nnv1"'))
    with pytest.raises(ModelFileError, match="field 'Layer name'"):
        importers.load(path)


def test_duplicate_layer_name_points_at_the_second_layer(tmp_path):
    path = tmp_path / "dup.yaml"
    path.write_text("input_shape: [3, 8, 8]\nlayers:\n  - {type: relu, name: a}\n  - {type: relu, name: a}\n")
    with pytest.raises(ModelFileError, match=r"dup.yaml:4: field 'name'"):
        importers.load(path)


def test_markdown_escapes_pipes_in_names(tmp_path):
    path = tmp_path / "pipe.yaml"
    path.write_text('input_shape: [3, 8, 8]\nlayers:\n  - {type: conv2d, name: "c|1", in_channels: 3, '
                    'out_channels: 4, kernel_size: 3}\n')
    df = profile(importers.load(path))
    md = render_profile(df, totals(df), "md")
    row = next(line for line in md.splitlines() if "(conv2d)" in line)
    assert "c\\|1 (conv2d)" in row and row.replace("\\|", "").count("|") == 9  # 8 columns


def test_profile_table_never_cuts_numbers(tmp_path):
    path = tmp_path / "long.yaml"
    path.write_text("input_shape: [3, 64, 64]\nlayers:\n"
                    "  - {type: conv2d, name: features_block1_convolution_number_one_with_a_long_name,"
                    " in_channels: 3, out_channels: 64, kernel_size: 3, padding: 1}\n"
                    "  - {type: flatten}\n  - {type: linear, in_features: 262144, out_features: 10}\n")
    r = CliRunner().invoke(main, ["profile", str(path), "--batch", "1000", "--training"])
    assert r.exit_code == 0, r.stderr
    assert "…" not in r.stdout and max(len(line) for line in r.stdout.splitlines()) <= 100
    for number in ("7,077,888,000", "9,699,328,000", "4096000x27x64", "64x4096000x27", "262144x10x1000"):
        assert number in r.stdout


def test_report_to_an_unwritable_folder_is_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    db = tmp_path / "r.db"
    r = CliRunner().invoke(main, ["sweep", "--model", "lenet5", "--array", "4x4", "--output", str(db),
                                  "--workers", "0", "--no-progress"])
    assert r.exit_code == 0, r.stderr
    one_line_error(CliRunner().invoke(main, ["report", "--from", str(db), "-o", str(blocker / "sub")]),
                   "report: cannot write", "Not a directory")


def test_megabytes_are_exact_for_any_count():
    # nbytes / 1e6 printed 2,866,887,999,999,999,737,856.00 MB for vgg16 at batch 10^20.
    from accelsim.report.tables import mb

    assert mb(2_866_888 * 10 ** 21) == "2,866,888,000,000,000,000,000.00 MB"
    assert [mb(v) for v in (0, 4_999, 5_000, 1_234_567)] == ["0.00 MB", "0.00 MB", "0.01 MB", "1.23 MB"]
    r = CliRunner().invoke(main, ["profile", "vgg16", "--batch", str(10 ** 20), "--dtype", "int8"])
    assert r.exit_code == 0 and "Input: 15,052,800,000,000,000,000.00 MB" in r.stdout
    assert "Input size (MB): 15,052,800,000,000,000,000.00" in r.stdout  # torchinfo's lines exact too
    assert "Total mult-adds (T): 1,548,382,103,200,000,000.00" in r.stdout


def test_models_fits_100_columns():
    r = CliRunner().invoke(main, ["models"])
    assert r.exit_code == 0 and max(len(line) for line in r.stdout.splitlines()) <= 100
    assert r.stdout.startswith("lenet5 ") and "\nvgg19 " in r.stdout


@pytest.mark.parametrize("args, words", [
    (["simulate", "lenet5", "--batch", "0"], ["--batch", "0 is not in the range"]),
    (["profile", "lenet5", "--dtype", "int4"], ["--dtype", "int4"]),
    (["simulate", "lenet5", "--bogus"], ["--bogus"]),
    (["simulate"], ["MODEL"]),
])
def test_usage_errors_are_one_line(args, words):
    # click printed Usage:/Try .../blank/Error: on four lines.
    one_line_error(CliRunner().invoke(main, args, prog_name="accelsim"), *words, f"'accelsim {args[0]} --help'")


def test_names_are_not_rich_markup(tmp_path):
    # "a[/]" raised rich.errors.MarkupError (traceback); "[bold]x" vanished into a style.
    path = tmp_path / "markup.yaml"
    path.write_text('name: "n[/]"\ninput_shape: [3, 8, 8]\nlayers:\n  - {type: relu, name: "[bold]x"}\n'
                    '  - {type: relu, name: "a[/]"}\n')
    for command in ("profile", "simulate"):
        r = CliRunner().invoke(main, [command, str(path)])
        assert r.exit_code == 0, r.stderr
        assert "n[/]:" in r.stdout and "[bold]x" in r.stdout and "a[/]" in r.stdout


def test_strict_flag_is_not_overruled_by_the_file(tmp_path):
    # `strict: false` in the file silently won over --strict: the illegal stride was floored.
    path = tmp_path / "st.yaml"
    path.write_text("input_shape: [3, 8, 8]\nstrict: false\nlayers:\n"
                    "  - {type: conv2d, in_channels: 3, out_channels: 4, kernel_size: 3, stride: 2}\n")
    assert importers.load(path).nodes[0].stride_remainder
    with pytest.raises(ModelFileError, match="illegal stride"):
        importers.load(path, strict=True)
    one_line_error(CliRunner().invoke(main, ["simulate", str(path), "--strict"]), "st.yaml:4", "illegal stride")
