"""One vocabulary: every table and document accelsim produces uses only the names of accelsim.columns,
docs/columns.md lists exactly them, and the layer is `layer`, first, everywhere."""

import json
import re
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

import accelsim
from accelsim import columns
from accelsim.cli import main
from accelsim.compat.scalesim import scalesim_simulation
from accelsim.dse.store import load_layers, load_results
from accelsim.energy.model import energy_arrays
from accelsim.synth.area import area_breakdown
from accelsim.systolic.simulate import simulate

ROOT = Path(__file__).resolve().parents[1]
# Values that are data, not names: RTL parameter names (ROWS, COLS, ...) are the Verilog's.
DATA_KEYS = {"parameters", "dut_parameters"}


def unknown_keys(doc, where="") -> list[str]:
    """Every dict key in a JSON document (recursively, through lists) that is not in the vocabulary."""
    bad = []
    if isinstance(doc, dict):
        for k, v in doc.items():
            if k not in columns.VOCABULARY:
                bad.append(f"{where}/{k}")
            if k not in DATA_KEYS:
                bad += unknown_keys(v, f"{where}/{k}")
    elif isinstance(doc, list):
        for item in doc:
            bad += unknown_keys(item, where + "[]")
    return sorted(set(bad))


def cli(*args) -> str:
    r = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return r.stdout


def test_the_page_lists_exactly_the_vocabulary():
    page = (ROOT / "docs" / "columns.md").read_text()
    assert page == columns.markdown(), "regenerate: python -m accelsim.columns > docs/columns.md"
    listed = re.findall(r"^\| `([^`]+)` \|", page, flags=re.MULTILINE)
    assert listed == list(columns.VOCABULARY) and len(set(listed)) == len(listed)
    assert all(c.meaning and "\n" not in c.meaning for c in columns.VOCABULARY.values())


def test_units_are_in_the_names():
    for c in columns.VOCABULARY.values():
        suffix = {"bytes": "_bytes", "pJ": "_pJ", "uJ": "_uJ", "ms": "_ms", "KiB": "_kib", "MHz": "_mhz",
                  "bits": "_bits"}.get(c.unit)
        if suffix:
            assert c.name.endswith(suffix), c
        if c.name.endswith("_cycles"):
            assert c.unit == "cycles", c
    assert "total_cycles" not in columns.VOCABULARY and "name" not in columns.VOCABULARY


def test_every_table_starts_with_layer():
    for title, names in columns.TABLES.items():
        if "per layer" in title and "added" not in title:
            assert names[0] == "layer", title
    assert columns.STORE_LAYERS[2] == "layer"  # after the store's own key and layer_index


def test_profile_tables():
    p = accelsim.profile("alexnet", training=True)
    assert list(p.layers.columns) == [*columns.PROFILE_LAYERS, *columns.PROFILE_TRAINING]
    assert list(p.totals) == list(columns.PROFILE_TOTALS)
    doc = json.loads(cli("profile", "alexnet", "--training", "--format", "json"))
    assert not unknown_keys(doc)
    header = cli("profile", "lenet5", "--format", "csv").splitlines()[0].split(",")
    assert header[0] == "layer" and not columns.unknown(header)


def test_simulate_tables():
    sim = accelsim.simulate("lenet5", array="8x8", check=True)
    assert list(sim.layers.columns) == [*columns.SIMULATE_LAYERS, *columns.SIMULATE_MAPPING, *columns.SIMULATE_CHECK]
    assert list(sim.totals) == list(columns.SIMULATE_TOTALS)
    found = simulate(accelsim.load("lenet5"), accelsim.ArrayConfig(rows=8, cols=8), check=True, mapper="search")
    assert list(found.columns) == [*columns.SIMULATE_LAYERS, *columns.SIMULATE_MAPPING, *columns.SIMULATE_SEARCH,
                                   *columns.SIMULATE_CHECK]
    assert list(found.totals) == [*columns.SIMULATE_TOTALS[:-1], *columns.SIMULATE_SEARCH, "check_mismatches"]
    for args in (("lenet5", "--array", "8x8"), ("lenet5", "--array", "8x8", "--check"),
                 ("lenet5", "--array", "8x8", "--mapper", "search")):
        assert not unknown_keys(json.loads(cli("simulate", *args, "--format", "json")))
        header = cli("simulate", *args, "--format", "csv").splitlines()[0].split(",")
        assert header[0] == "layer" and not columns.unknown(header)


def test_scalesim_convention_tables():
    net, cfg = accelsim.load("alexnet"), accelsim.ArrayConfig(rows=16, cols=16, dataflow="os")
    layers, totals = scalesim_simulation(net, cfg)
    assert list(layers.columns) == list(columns.SCALESIM_LAYERS)
    assert not columns.unknown(totals)
    doc = json.loads(cli("simulate", "alexnet", "--array", "16x16", "--dataflow", "os", "--convention", "scalesim",
                         "--format", "json"))
    assert not unknown_keys(doc)
    header = cli("simulate", "alexnet", "--convention", "scalesim", "--format", "csv").splitlines()[0].split(",")
    assert header[0] == "layer" and not columns.unknown(header)


def test_energy_tables():
    e = accelsim.simulate("lenet5", array="8x8").energy()
    assert list(e.layers.columns) == list(columns.ENERGY_LAYERS)
    assert list(e.totals) == list(columns.ENERGY_TOTALS)
    assert not unknown_keys(json.loads(e.to_json()))


def test_sweep_store_exports_and_results(tmp_path):
    db = tmp_path / "r.db"
    res = accelsim.sweep({"model": "lenet5", "array": ["8x8", "16x16"], "dataflow": ["os", "ws"]}, db, workers=0)
    with sqlite3.connect(db) as con:
        for table, want in (("points", columns.STORE_POINTS), ("layers", columns.STORE_LAYERS)):
            got = [r[1] for r in con.execute(f"PRAGMA table_info({table})")]
            assert got == list(want), table
    assert not columns.unknown(load_results(db, errors=True).columns)
    assert list(load_layers(db).columns) == [*columns.STORE_LAYERS[2:], "key"]
    assert not unknown_keys(json.loads(res.to_json()))
    assert list(res.totals) == list(columns.SWEEP_TOTALS)
    csv, parquet = tmp_path / "p.csv", tmp_path / "p.parquet"
    cli("export", str(db), str(csv), str(parquet))
    assert list(pd.read_csv(csv).columns) == list(pd.read_parquet(parquet).columns)
    assert not columns.unknown(pd.read_csv(csv).columns)


def test_api_cli_and_store_agree_on_the_layer_columns(tmp_path):
    """The acceptance check of issue 9: one point, three ways, the same per-layer columns in the same order."""
    sim = accelsim.simulate("vgg16", array="32x32", dataflow="ws")
    doc = json.loads(cli("simulate", "vgg16", "--array", "32x32", "--dataflow", "ws", "--format", "json"))
    assert [list(layer) for layer in doc["layers"]] == [list(sim.layers.columns)] * len(sim.layers)
    assert list(sim.layers.columns) == [*columns.SIMULATE_LAYERS, *columns.SIMULATE_MAPPING]
    assert sim.layers.columns[0] == "layer"
    res = accelsim.sweep({"model": "vgg16", "array": "32x32", "dataflow": "ws"}, tmp_path / "v.db", workers=0)
    (key,) = res.points["key"]
    store = res.point_layers(key)
    # The store keeps the simulation's own columns (mapping and energy among them), then the fixed mapping's
    # cost (empty here: mapper fixed).
    assert list(store.columns) == [*sim.layers.columns, *columns.SIMULATE_SEARCH]
    pd.testing.assert_frame_equal(store[list(columns.SIMULATE_LAYERS)], sim.layers[list(columns.SIMULATE_LAYERS)],
                                  check_dtype=False)
    # energy with the chip's static power from its area model (the sweep prices each variant once)
    leakage_mW = area_breakdown(sim.config).leakage_mW
    want = pd.DataFrame(energy_arrays(sim.layers, len(sim.layers), sim.config, leakage_mW=leakage_mW))
    pd.testing.assert_frame_equal(store[list(columns.ENERGY)], want[list(columns.ENERGY)], check_dtype=False)
    plain = [c for c in columns.ENERGY if c not in ("leakage_pJ", "total_pJ")]  # the dynamic energy as the api's
    pd.testing.assert_frame_equal(store[plain], sim.energy().layers[plain], check_dtype=False)
    pd.testing.assert_frame_equal(store[plain], sim.layers[plain], check_dtype=False)  # the simulation's rows


@pytest.mark.rtl
def test_cosim_document():
    r = accelsim.cosim(gemm="5x7x3", array="2x2")
    assert r.ok and list(r.layers.columns) == list(columns.COSIM_GEMMS)
    assert list(r.totals) == list(columns.COSIM_TOTALS)
    assert not unknown_keys(json.loads(r.to_json()))
