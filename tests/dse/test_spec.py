"""Sweep specs: the examples load; malformed specs and flags are one line naming the key, exit 2."""

from pathlib import Path

import pytest
from click.testing import CliRunner

from accelsim.cli import main
from accelsim.dse import SpecError, load_spec, plan, spec_from_mapping
from accelsim.dse.spec import digest, point_key
from accelsim.energy import EnergyTable

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize("name, size", [("vgg16", 3240), ("resnet50", 2250), ("cnn", 504), ("lenet5", 30)])
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
    nid = q.network_id
    assert nid == digest(p.networks[nid][1])  # the network's layer list, hashed
    assert point_key(nid, 1, q.config, EnergyTable(), "fast") == q.key
    assert point_key(nid, 2, q.config, EnergyTable(), "fast") != q.key
    assert point_key(nid, 1, q.config, EnergyTable(dram_pJ_per_byte=1), "fast") != q.key
    assert point_key(nid, 1, q.config, EnergyTable(), "stepping") != q.key
    assert point_key(nid, 1, {**q.config, "clock_mhz": 500.0}, EnergyTable(), "fast") != q.key
    assert point_key(nid, 1, q.config, EnergyTable(), "fast", "search", "edp") != q.key
    assert point_key(nid, 1, q.config, EnergyTable(), "fast", "search", "edp") != point_key(
        nid, 1, q.config, EnergyTable(), "fast", "search", "cycles")


def test_mapper_and_objective_are_axes_of_the_point_key():
    s = spec_from_mapping({"model": "lenet5", "mapper": ["fixed", "search"], "objective": ["edp", "cycles"]})
    # a fixed mapping searches nothing: one point for every objective, its objective empty
    assert s.searches() == (("fixed", ""), ("search", "edp"), ("search", "cycles"))
    p = plan(s)
    assert s.size == len(p.points) == 3 and len({q.key for q in p.points}) == 3
    assert [(q.mapper, q.objective) for q in p.points] == list(s.searches())
    assert [q.row[-3:-1] for q in p.points] == list(s.searches())  # the store's mapper and objective columns
    assert len({q.design for q in p.points}) == 3
    default = spec_from_mapping({"model": "lenet5"})
    assert (default.mapper, default.objective, default.searches()) == (("fixed",), ("edp",), (("fixed", ""),))
    assert spec_from_mapping({"model": "lenet5", "mapper": "SEARCH"}).searches() == (("search", "edp"),)


def test_the_technology_node_is_an_axis_priced_per_variant():
    s = spec_from_mapping({"model": "lenet5", "array": ["8x8", "16x16"], "bandwidth": [4, 8], "tech_node_nm": [45, 7]})
    p = plan(s)
    assert s.size == len(p.points) == 8 and len(p.costs) == 4 and len({q.key for q in p.points}) == 8
    by = {(q.config["rows"], q.config["bandwidth"], q.tech_node_nm): p.cost(q) for q in p.points}
    for rows in (8, 16):
        old, new = by[(rows, 4.0, 45)], by[(rows, 4.0, 7)]
        assert new.area_mm2 < old.area_mm2 and new.leakage_mW < old.leakage_mW
        assert by[(rows, 8.0, 7)] is new  # one lookup per variant and node
    with pytest.raises(SpecError, match="key 'tech_node_nm': expected a node in nm, one of 45, 32"):
        spec_from_mapping({"model": "lenet5", "tech_node_nm": 28})


def test_each_hardware_variant_is_priced_once():
    s = spec_from_mapping({"model": ["lenet5", "alexnet"], "array": ["4x4", "8x8"], "dataflow": ["os", "ws", "is"],
                           "bandwidth": [4, 8], "clock_mhz": [500, 1000]})
    p = plan(s)
    assert len(p.points) == 48 and len(p.costs) == 2  # the area depends on the array, not dataflow or clock
    for q in p.points:
        assert p.cost(q).area_mm2 > 0 and p.cost(q).leakage_mW > 0


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
    ("model: lenet5\nengine: slow\n", "key 'engine': expected one of fast, stepping"),
    ("model: lenet5\nmapper: greedy\n", "s.yaml:2: key 'mapper': expected one of fixed, search, got 'greedy'"),
    ("model: lenet5\nobjective: [edp, power]\n",
     "s.yaml:2: key 'objective': expected one of cycles, energy, edp, got 'power'"),
    ("model: lenet5\nsimulator: fast\n", "s.yaml:2: key 'simulator': renamed: use 'engine' (engine: fast or stepping)"),
    ("model: lenet5\nsram_kib: '256,256'\n",
     "key 'sram_kib': expected IFMAP,FILTER,OFMAP sizes in KiB such as 256,256,128"),
    ("model: lenet5\nsram_kib: '256,0,128'\n", "key 'sram_kib.filter': must be > 0, got 0.0"),
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
    (["--model", "lenet5", "--sram-kib", "64"],
     "sweep: --sram-kib is gone: give --sram IFMAP,FILTER,OFMAP (KiB per buffer), once per design point"),
    (["--model", "lenet5", "--sram", "256,256,128,64"], "command line: key 'sram_kib': expected IFMAP,FILTER,OFMAP"),
    (["--model", "lenet5", "--sram", "64"], "command line: key 'sram_kib': expected IFMAP,FILTER,OFMAP"),
    (["--model", "lenet5", "--engine", "slow"], "'slow' is not one of 'fast', 'stepping'"),
    (["--model", "lenet5", "--mapper", "fixed,best"], "command line: key 'mapper': expected one of fixed, search"),
    (["--model", "lenet5", "--objective", "area"], "command line: key 'objective': expected one of cycles, energy"),
    (["--model", "lenet5", "--simulator", "stepping"], "No such option '--simulator'"),
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
    flags = build_spec(None, {"model": "lenet5", "sram": ("16,32,8", "64,64,64"), "double_buffer": "true,false",
                              "engine": "stepping"}, "x")
    assert flags.sram_kib == ((16.0, 32.0, 8.0), (64.0, 64.0, 64.0)) and flags.double_buffer == (True, False)
    assert flags.name == "x" and flags.engine == "stepping"
    # --sram is one triple per design point: 256,256,128 is one point, never two uniform sizes
    assert build_spec(None, {"model": "lenet5", "sram": ("256,256,128",)}, None).sram_kib == ((256.0, 256.0, 128.0),)


def test_model_files_resolve_relative_to_the_spec(tmp_path):
    sub = tmp_path / "specs"
    sub.mkdir()
    (sub / "tiny.yaml").write_text((EXAMPLES / "tiny.yaml").read_text())
    spec = load_spec(_spec(sub, "model: tiny.yaml\n"))
    (net, _), = plan(spec).networks.values()
    assert net.name == "tiny"


def test_a_malformed_spec_reports_every_error(tmp_path):
    text = ("model: [lenet5, nosuch.yaml]\nbandwith: 8\nbandwidth: [8, fast, -1]\nsimulator: stepping\n"
            "dataflow: rs\nsram_kib: '64,64'\nenergy: {mac_pJ: -1}\nrows: [4]\n")
    r = _run(tmp_path, _spec(tmp_path, text))
    assert r.exit_code == 2, r.output
    lines = r.stderr.strip().splitlines()
    assert all(line.startswith("accelsim: error: ") for line in lines)
    expected = ["s.yaml:2: key 'bandwith': unknown key",
                "s.yaml:3: key 'bandwidth': expected a positive number, got 'fast'",
                "s.yaml:3: key 'bandwidth': must be > 0, got -1", "s.yaml:4: key 'simulator': renamed: use 'engine'",
                "s.yaml:5: key 'dataflow': expected one of os, ws, is, got 'rs'", "s.yaml:6: key 'sram_kib': expected",
                "s.yaml:7: key 'energy.mac_pJ': must be > 0", "key 'cols': is required with 'rows'"]
    assert len(lines) == len(expected)
    for line, want in zip(lines, expected, strict=True):
        assert want in line, (line, want)
    assert not (tmp_path / "r.db").exists()


def test_spec_errors_carry_each_error():
    from accelsim.dse.spec import SpecError, SpecErrors

    with pytest.raises(SpecErrors) as e:
        spec_from_mapping({"model": "lenet5", "batch": [0, 1.5], "cols": [4]}, "cli")
    assert [x.key for x in e.value.errors] == ["batch", "batch", "rows"]
    assert isinstance(e.value, SpecError) and str(e.value).count("\n") == 2
    with pytest.raises(SpecError) as one:  # a single problem stays a plain SpecError
        spec_from_mapping({"model": "lenet5", "batch": 0}, "cli")
    assert type(one.value) is SpecError and str(one.value) == "cli: key 'batch': must be > 0, got 0"


def test_repeated_sram_flags_are_design_points(tmp_path):
    r = CliRunner().invoke(main, ["sweep", "--model", "lenet5", "--array", "4x4", "--sram", "16,32,8", "--sram",
                                  "64,64,64", "--engine", "fast", "--workers", "0", "--no-progress",
                                  "-o", str(tmp_path / "r.db"), "--export", str(tmp_path / "r.csv")])
    assert r.exit_code == 0, r.output
    import csv

    rows = list(csv.DictReader((tmp_path / "r.csv").open()))
    srams = sorted((float(x["ifmap_sram_kib"]), float(x["filter_sram_kib"]), float(x["ofmap_sram_kib"])) for x in rows)
    assert srams == [(16.0, 32.0, 8.0), (64.0, 64.0, 64.0)]
    assert {x["engine"] for x in rows} == {"fast"}


def test_a_store_name_that_is_not_sqlite_is_refused(tmp_path):
    for name in ("r.csv", "r.parquet", "r.yaml"):
        r = CliRunner().invoke(main, ["sweep", "--model", "lenet5", "-o", str(tmp_path / name), "--workers", "0"])
        line = (f"accelsim: error: output: {tmp_path / name}: the results store is an SQLite file "
                "(.db, .sqlite, .sqlite3); for CSV or Parquet add --export FILE")
        assert r.exit_code == 2 and r.stderr.strip().splitlines() == [line]
        assert not (tmp_path / name).exists()


def test_every_network_that_cannot_load_is_reported(tmp_path):
    r = _run(tmp_path, "--model", "vgg61,lenet5,missing.yaml")
    assert r.exit_code == 2, r.output
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 2 and all(line.startswith("accelsim: error: ") for line in lines)
    assert "'vgg61' is neither a zoo model" in lines[0] and "did you mean 'vgg16'?" in lines[0]
    assert "missing.yaml: cannot read" in lines[1]
    assert not (tmp_path / "r.db").exists()
