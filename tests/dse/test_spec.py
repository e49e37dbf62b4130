"""Sweep specs: the examples load; malformed specs and flags are one line naming the key, exit 2."""

from pathlib import Path

import pytest
from click.testing import CliRunner

from accelsim.cli import main
from accelsim.dse import load_spec, plan, spec_from_mapping
from accelsim.dse.spec import point_key
from accelsim.energy import EnergyTable

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize("name, size", [("vgg16", 324), ("cnn", 504), ("lenet5", 30)])
def test_examples_load(name, size):
    spec = load_spec(EXAMPLES / f"{name}-sweep.yaml")
    assert spec.size == size == len(plan(spec).points)


def test_rows_cols_cross_product_and_scalars():
    s = spec_from_mapping({"model": "lenet5", "rows": [4, 8], "cols": [8, 16], "bandwidth": 8,
                           "sram_kib": [64, {"ifmap": 8, "filter": 16, "ofmap": 4}]})
    assert s.arrays == ((4, 8), (4, 16), (8, 8), (8, 16))
    assert s.bandwidth == (8.0,) and s.sram_kib == ((64.0, 64.0, 64.0), (8.0, 16.0, 4.0))
    assert s.size == 8


def test_duplicates_in_the_grid_are_one_point():
    s = spec_from_mapping({"model": ["lenet5", "lenet5"], "array": ["8x8", "8X8"], "bandwidth": [8, 8.0]})
    assert len(plan(s).points) == 1


def test_key_covers_the_whole_config():
    p = plan(spec_from_mapping({"model": "lenet5", "bandwidth": [8, 16], "dataflow": ["os", "ws"]}))
    assert len({q.key for q in p.points}) == 4
    q = p.points[0]
    nspec = p.networks[q.network_id][1]
    assert point_key(nspec, 1, q.config, EnergyTable(), "fast") == q.key
    assert point_key(nspec, 2, q.config, EnergyTable(), "fast") != q.key
    assert point_key(nspec, 1, q.config, EnergyTable(dram_pJ_per_byte=1), "fast") != q.key
    assert point_key(nspec, 1, q.config, EnergyTable(), "stepping") != q.key
    assert point_key(nspec, 1, {**q.config, "clock_mhz": 500.0}, EnergyTable(), "fast") != q.key


def _run(tmp_path, *args):
    r = CliRunner().invoke(main, ["sweep", *args, "--output", str(tmp_path / "r.db"), "--workers", "0"])
    return r


def _spec(tmp_path, text):
    f = tmp_path / "s.yaml"
    f.write_text(text)
    return str(f)


BAD_SPECS = [
    ("model: lenet5\nbandwith: 8\n", "s.yaml:2: key 'bandwith': unknown key"),
    ("model: lenet5\nbandwidth: fast\n", "s.yaml:2: key 'bandwidth': expected a positive number, got 'fast'"),
    ("model: lenet5\nbandwidth: [8, true]\n", "key 'bandwidth': expected a positive number, got True"),
    ("model: lenet5\ndataflow: []\n", "s.yaml:2: key 'dataflow': must not be empty"),
    ("model: []\n", "key 'model': must not be empty"),
    ("model: lenet5\nrows: [4]\n", "key 'cols': is required with 'rows'"),
    ("model: lenet5\narray: 8x8\nrows: [4]\ncols: [4]\n", "key 'rows': give either 'array' or 'rows' and 'cols'"),
    ("model: lenet5\narray: [8x8, eight]\n", "key 'array': expected ROWSxCOLS"),
    ("model: lenet5\nbatch: 1.5\n", "key 'batch': expected a positive integer, got 1.5"),
    ("model: lenet5\ndouble_buffer: yes please\n", "key 'double_buffer': expected true or false"),
    ("model: lenet5\ndata_bits: 12\n", "key 'data_bits': must be a multiple of 8"),
    ("model: lenet5\nsram_kib: {ifmap: 64, filter: 64}\n", "key 'sram_kib.ofmap': is required"),
    ("model: lenet5\nsram_kib: {ifmap: 64, filter: 64, ofmap: 8, psum: 1}\n", "key 'sram_kib.psum': unknown buffer"),
    ("model: lenet5\nenergy: {dram_pJ: 1}\n", "key 'energy.dram_pJ': unknown key"),
    ("model: lenet5\nenergy: {mac_pJ: -1}\n", "key 'energy.mac_pJ': must be > 0"),
    ("model: lenet5\nsimulator: slow\n", "key 'simulator': expected one of fast, stepping"),
    ("model: lenet5\nbandwidth: 8\nbandwidth: 16\n", "s.yaml:3: key 'bandwidth': appears twice"),
    ("bandwidth: 8\n", "key 'model': is required"),
    ("", "key 'model': the spec is empty"),
    ("- model: lenet5\n", "key '<root>': expected a mapping"),
]


@pytest.mark.parametrize("text, message", BAD_SPECS)
def test_malformed_spec_is_one_line_exit_2(tmp_path, text, message):
    r = _run(tmp_path, _spec(tmp_path, text))
    assert r.exit_code == 2, r.output
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("accelsim: error: ")
    assert message in lines[0]
    assert not (tmp_path / "r.db").exists()


@pytest.mark.parametrize("args, message", [
    (["--model", "lenet5", "--bandwidth", "8,fast"], "command line: key 'bandwidth': expected a positive number"),
    (["--model", "lenet5", "--dataflow", "os,rs"], "key 'dataflow': expected one of os, ws, is, got 'rs'"),
    (["--model", "lenet5", "--array", "8x8,"], "key 'array': expected ROWSxCOLS"),
    (["--model", "nosuchnet"], "model: 'nosuchnet' is neither a zoo model"),
    (["--bandwidth", "8"], "give a SPEC file or at least --model"),
    (["--model", "lenet5", "--scheduler", "127.0.0.1:1"], "scheduler: expected an address such as tcp://HOST:PORT"),
    (["--model", "lenet5", "--export", "x.xlsx"], "export: x.xlsx: unknown format"),
])
def test_malformed_flags_are_one_line_exit_2(tmp_path, args, message):
    r = _run(tmp_path, *args)
    assert r.exit_code == 2, r.output
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], lines


def test_flags_replace_the_spec_axes(tmp_path):
    from accelsim.cli.sweep import build_spec

    spec = build_spec(str(EXAMPLES / "lenet5-sweep.yaml"), {"bandwidth": "4,16", "array": "8x8"}, None)
    assert spec.bandwidth == (4.0, 16.0) and spec.arrays == ((8, 8),) and spec.dataflow == ("os", "ws", "is")
    flags = build_spec(None, {"model": "lenet5", "sram_kib": "16/32/8,64", "double_buffer": "true,false"}, "x")
    assert flags.sram_kib == ((16.0, 32.0, 8.0), (64.0, 64.0, 64.0)) and flags.double_buffer == (True, False)
    assert flags.name == "x"


def test_model_files_resolve_relative_to_the_spec(tmp_path):
    sub = tmp_path / "specs"
    sub.mkdir()
    (sub / "tiny.yaml").write_text((EXAMPLES / "tiny.yaml").read_text())
    spec = load_spec(_spec(sub, "model: tiny.yaml\n"))
    (net, _), = plan(spec).networks.values()
    assert net.name == "tiny"
