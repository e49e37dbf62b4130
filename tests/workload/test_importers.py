"""Model files: SCALE-Sim topology CSVs and our YAML/JSON schema, good and malformed."""

import json

import pytest

from accelsim.errors import ModelFileError
from accelsim.workload import importers, resolve

HEADER = "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"
# Rows as SCALE-Sim ships them (its alexnet.csv): padded cells, trailing comma, not chained.
ALEXNET_CSV = HEADER + """Conv1,     227,    227,    11,    11,    3,    96,    4,
Conv2,     31,    31,    5,    5,    96,    256,    1,
Conv3,     15,    15,    3,    3,    256,    384,    1,
Conv4,     15,    15,    3,    3,    384,    384,    1,
Conv5,     15,    15,    3,    3,    384,    256,    1,
FC1,    1,    1,    1,    1,    9216,    4096,    1,
"""


def test_scalesim_csv_rows_are_independent(tmp_path):
    f = tmp_path / "alexnet.csv"
    f.write_text(ALEXNET_CSV)
    net = importers.load(f)
    assert not net.chained
    assert [n.output_shape for n in net] == [
        (96, 55, 55), (256, 27, 27), (384, 13, 13), (384, 13, 13), (256, 13, 13), (4096, 1, 1)
    ]
    assert net.nodes[1].input_shape == (96, 31, 31)
    assert net.nodes[-1].layer.weights == 9216 * 4096


def test_yaml_schema_chained(tmp_path):
    f = tmp_path / "tiny.yaml"
    f.write_text(
        "name: tiny\ninput_shape: [3, 32, 32]\nlayers:\n"
        "  - {type: conv2d, name: conv1, in_channels: 3, out_channels: 10, kernel_size: 5, padding: 2}\n"
        "  - {type: relu}\n  - {type: maxpool2d, kernel_size: 2}\n  - {type: flatten}\n"
        "  - {type: linear, in_features: 2560, out_features: 10}\n"
    )
    net = importers.load(f)
    assert net.name == "tiny" and net.chained
    assert [n.output_shape for n in net] == [(10, 32, 32), (10, 32, 32), (10, 16, 16), (2560, 1, 1), (10, 1, 1)]
    assert net.params == 760 + 25_610


def test_json_schema_round_trip_of_a_zoo_network(tmp_path):
    src = resolve("alexnet")
    doc = {"name": "alexnet-copy", "input_shape": list(src.input_shape), "layers": [n.layer.spec() for n in src]}
    f = tmp_path / "a.json"
    f.write_text(json.dumps(doc, indent=1))
    net = importers.load(f)
    assert [n.output_shape for n in net] == [n.output_shape for n in src]
    assert net.params == src.params


CSV_CASES = [
    (HEADER.replace(" Strides,", ""), 1, "Strides", "missing column"),
    (HEADER + "C1, 8, 8, 3, 3, 3, x4, 1,\n", 2, "Num Filter", "expected an integer"),
    (HEADER + "C1, 8, 8, 3, 3, 3, 4, 1,\nC2, 8, -8, 3, 3, 3, 4, 1,\n", 3, "IFMAP Width", "must be > 0"),
    (HEADER + "C1, 8, 8, 3, 3, 3, 4, 0,\n", 2, "Strides", "must be > 0"),
    (HEADER + "C1, 8, 8, 3, 9, 3, 4, 1,\n", 2, "Filter Width", "larger than IFMAP Width"),
    (HEADER + "C1, 8, 8, 3, 3, 3, 4,\n", 2, "Strides", "is empty"),
    (HEADER + "C1, 8, 8, 3, 3, 3, 4, 1,\nC1, 8, 8, 3, 3, 3, 4, 1,\n", 3, "Layer name", "appears twice"),
]


@pytest.mark.parametrize("text, line, field, problem", CSV_CASES)
def test_malformed_csv(tmp_path, text, line, field, problem):
    f = tmp_path / "bad.csv"
    f.write_text(text)
    with pytest.raises(ModelFileError) as e:
        importers.load(f)
    assert str(e.value).startswith(f"{f}:{line}: field '{field}':")
    assert problem in str(e.value)


YAML_CASES = [
    ("input_shape: [3, 8, 8]\nlayers:\n  - {type: conv2d, in_channels: 3, out_channels: 4, kernel_size: 3}\n"
     "  - {type: conv2d, in_channels: 5, out_channels: 4, kernel_size: 3}\n", 4, "in_channels", "input has 4 channels"),
    ("input_shape: [3, 8, 8]\nlayers:\n  - {type: conv2d, in_channels: 3, out_channels: 4, kernel_size: 9}\n",
     3, "kernel_size", "larger than the padded input"),
    ("input_shape: [3, 8, 8]\nlayers:\n  - type: conv2d\n    in_channels: 3\n    out_channels: 4\n    kernel_size: 3\n"
     "    stride: 0\n", 7, "stride", "must be >= 1"),
    ("input_shape: [3, 8, 8]\nlayers:\n  - {type: conv3d}\n", 3, "type", "unknown layer type"),
    ("input_shape: [3, 8, 8]\nlayers:\n  - {type: relu, colour: red}\n", 3, "colour", "unknown field"),
    ("input_shape: [3, 8, 8]\nlayers: []\n", 2, "layers", "non-empty"),
    ("input_shape: [3, 0, 8]\nlayers:\n  - {type: relu}\n", 1, "input_shape", "positive integers"),
    ("layers:\n  - {type: relu}\n", 1, "input_shape", "is required"),
    ("input_shape: [3, 8, 8]\ncolour: red\nlayers:\n  - {type: relu}\n", 2, "colour", "unknown key"),
    ("input_shape: [3, 8, 8]\nlayers:\n  - {type: flatten}\n  - {type: linear, in_features: 100, out_features: 3}\n",
     4, "in_features", "flattened input has 192"),
]


@pytest.mark.parametrize("text, line, field, problem", YAML_CASES)
def test_malformed_yaml(tmp_path, text, line, field, problem):
    f = tmp_path / "bad.yaml"
    f.write_text(text)
    with pytest.raises(ModelFileError) as e:
        importers.load(f)
    assert str(e.value).startswith(f"{f}:{line}: field '{field}':"), str(e.value)
    assert problem in str(e.value)


@pytest.mark.parametrize(
    "name, text, line, problem",
    [
        ("dup.yaml", "input_shape: [3, 8, 8]\ninput_shape: [3, 8, 8]\nlayers: []\n", 2, "duplicate key"),
        ("syntax.yaml", "input_shape: [3, 8, 8\nlayers: x\n", 2, ""),
        ("bad.json", '{"input_shape": [3, 8, 8],\n "layers": [{"type": "relu"},]}\n', 2, ""),
    ],
)
def test_unparseable_files_name_the_line(tmp_path, name, text, line, problem):
    f = tmp_path / name
    f.write_text(text)
    with pytest.raises(ModelFileError) as e:
        importers.load(f)
    assert str(e.value).startswith(f"{f}:{line}:")
    assert problem in str(e.value)
