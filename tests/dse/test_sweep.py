"""Sweeps end to end: resume after a kill, failed points, exports, and local vs remote Dask."""

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pandas as pd
import pytest
from click.testing import CliRunner

from accelsim.cli import main
from accelsim.columns import SIMULATE_SEARCH
from accelsim.dse import load_layers, load_results, plan, run_sweep, spec_from_mapping
from accelsim.dse.store import load_meta
from accelsim.energy import ENERGY_COLUMNS
from accelsim.energy.model import energy_arrays
from accelsim.energy.table import Technology
from accelsim.hardware.config import ArrayConfig
from accelsim.synth.area import area_breakdown
from accelsim.systolic.simulate import simulate
from accelsim.workload import resolve

SMALL = {"model": "lenet5", "array": ["4x4", "8x8", "8x16"], "dataflow": ["os", "ws", "is"], "bandwidth": [2, 8]}


def _count(db) -> int:
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT COUNT(*) FROM points").fetchone()[0]
    except sqlite3.OperationalError:  # the sweep has not created its tables yet
        return 0
    finally:
        con.close()


def _keys(db) -> list[str]:
    with sqlite3.connect(db) as con:
        return [k for (k,) in con.execute("SELECT key FROM points")]


def test_serial_sweep_stores_every_point_once_and_skips_on_rerun(tmp_path):
    db = tmp_path / "r.db"
    spec = spec_from_mapping(SMALL)
    first = run_sweep(spec, db, workers=0, progress=False)
    assert (first.points, first.evaluated, first.already_done, first.failed) == (18, 18, 0, 0)
    df = load_results(db)
    assert len(df) == 18 and df["key"].is_unique
    again = run_sweep(spec, db, workers=0, progress=False)
    assert (again.evaluated, again.already_done) == (0, 18)
    assert _count(db) == 18
    pd.testing.assert_frame_equal(load_results(db), df)
    assert load_meta(db)["last_sweep"] == "sweep"


def test_points_and_layers_are_consistent(tmp_path):
    db = tmp_path / "r.db"
    spec = spec_from_mapping({**SMALL, "array": "8x8", "dataflow": "ws", "bandwidth": 8})
    run_sweep(spec, db, workers=0, progress=False)
    (row,) = load_results(db).to_dict("records")
    layers = load_layers(db, row["key"])
    assert len(layers) == 13 and list(layers.index) == list(range(13)) and layers.columns[0] == "layer"
    gemm = layers[layers["unit"] == "array"]
    assert list(gemm["layer"]) == ["conv1", "conv2", "conv3", "fc1", "fc2"]
    assert gemm["macs"].sum() == row["macs"] == 416_520  # LeNet-5's conv + FC MACs
    assert layers["cycles"].sum() == row["cycles"]  # array and vector-unit layers
    assert layers[layers["unit"] != "array"]["cycles"].sum() == row["vector_cycles"] > 0
    assert (gemm["intensity_macs_per_dram_byte"] > 0).all()
    assert layers[layers["unit"] != "array"]["intensity_macs_per_dram_byte"].isna().all()
    assert layers["total_pJ"].sum() == pytest.approx(row["total_pJ"])
    assert row["pe_count"] == 64 and row["peak_tops"] == pytest.approx(2 * 64 * 1e9 / 1e12)
    assert row["latency_ms"] == pytest.approx(row["cycles"] / 1e6)  # 1000 MHz
    assert row["effective_tops"] == pytest.approx(2 * row["macs"] / (row["latency_ms"] / 1e3) / 1e12)
    assert row["inferences_per_second"] == pytest.approx(1e3 / row["latency_ms"])
    assert row["utilization"] == pytest.approx(row["macs"] / (64 * row["cycles"]))
    assert row["dram_bytes"] == row["dram_read_bytes"] + row["dram_write_bytes"] > 0
    assert row["total_pJ"] == pytest.approx(row["mac_pJ"] + row["vector_pJ"] + row["rf_pJ"] + row["sram_pJ"]
                                           + row["dram_pJ"] + row["leakage_pJ"])
    assert row["mac_pJ"] == pytest.approx(416_520 * 0.3)
    cfg = ArrayConfig(rows=8, cols=8, dataflow="ws", bandwidth=8.0)
    area = area_breakdown(cfg)
    assert row["area_mm2"] == pytest.approx(area.area_mm2, rel=1e-12)
    # leakage: the variant's static power for the network's time (mW x ms = uJ)
    assert row["leakage_pJ"] > 0 and row["leakage_pJ"] == pytest.approx(area.leakage_mW * row["latency_ms"] * 1e6)
    assert row["energy_per_inference_uJ"] == pytest.approx(row["total_pJ"] / 1e6)
    assert row["edp_uJ_ms"] == pytest.approx(row["energy_per_inference_uJ"] * row["latency_ms"])
    assert row["pJ_per_mac"] == pytest.approx(row["total_pJ"] / 416_520)
    assert (row["mapper"], row["objective"]) == ("fixed", "")
    sim = simulate(resolve("lenet5"), cfg, 1, "fast", leakage_mW=area.leakage_mW)
    assert (row["cycles"], row["stall_cycles"], row["dram_bytes"]) == (
        sim.totals["cycles"], sim.totals["stall_cycles"],
        sim.totals["dram_read_bytes"] + sim.totals["dram_write_bytes"])
    assert list(layers["cycles"]) == list(sim.layers["cycles"])
    # the simulation's own columns (its mapping and energy among them), then the fixed mapping's cost (search only)
    assert list(layers.columns) == [*sim.layers.columns, *SIMULATE_SEARCH]
    assert layers[list(SIMULATE_SEARCH)].isna().all().all() and pd.isna(row["fixed_cycles"])
    pd.testing.assert_frame_equal(layers[list(sim.layers.columns)], sim.layers, check_dtype=False, check_exact=False)
    for c in (*ENERGY_COLUMNS, "energy_per_inference_uJ", "edp_uJ_ms", "pJ_per_mac"):
        assert row[c] == pytest.approx(sim.totals[c]), c


@pytest.mark.parametrize("objective", ["cycles", "energy", "edp"])
def test_a_searched_point_is_never_worse_than_the_fixed_one(tmp_path, objective):
    db = tmp_path / "r.db"
    spec = spec_from_mapping({"model": "alexnet", "array": ["16x16", "32x8"], "dataflow": ["os", "ws"],
                              "bandwidth": 8, "mapper": ["fixed", "search"], "objective": objective})
    s = run_sweep(spec, db, workers=0, progress=False)
    assert (s.points, s.failed) == (8, 0)
    df = load_results(db)
    hw = ["rows", "cols", "dataflow"]
    fixed = df[df["mapper"] == "fixed"].set_index(hw)
    found = df[df["mapper"] == "search"].set_index(hw).loc[fixed.index]
    assert (found["objective"] == objective).all() and (fixed["objective"] == "").all()
    # the search point carries its fixed mapping's totals: the fixed point's own numbers
    assert (found["fixed_cycles"] == fixed["cycles"]).all() and (found["fixed_dram_bytes"] == fixed["dram_bytes"]).all()
    assert found["fixed_total_pJ"].to_numpy() == pytest.approx(fixed["total_pJ"].to_numpy())
    metric = {"cycles": "cycles", "energy": "total_pJ", "edp": "edp_uJ_ms"}[objective]
    assert (found[metric] <= fixed[metric] * (1 + 1e-9)).all()
    key = df[df["mapper"] == "search"]["key"].iloc[0]
    layers = load_layers(db, key)
    on_array = layers["unit"] == "array"
    assert layers.loc[on_array, "mapping"].str.match(r"(OS|WS|IS) ").all()
    assert (layers.loc[~on_array, "mapping"] == "").all()
    assert layers["fixed_cycles"].notna().all()


def test_a_failing_point_is_recorded_and_the_rest_go_on(tmp_path):
    db = tmp_path / "r.db"
    # 1 KiB cannot hold two 32x32 int8 tiles: that point fails, the 8x8 one runs.
    spec = spec_from_mapping({"model": "lenet5", "array": ["8x8", "32x32"], "sram_kib": 1})
    s = run_sweep(spec, db, workers=0, progress=False)
    assert (s.evaluated, s.failed) == (2, 1)
    everything = load_results(db, errors=True)
    bad = everything[everything["status"] == "error"].iloc[0]
    assert (bad["rows"] == 32 and "filter_sram_kib" in bad["error"]) or "ifmap_sram_kib" in bad["error"]
    assert pd.isna(bad["cycles"])
    assert len(load_results(db)) == 1
    assert run_sweep(spec, db, workers=0, progress=False).evaluated == 0
    retry = run_sweep(spec, db, workers=0, progress=False, retry_errors=True)
    assert (retry.evaluated, retry.failed) == (1, 1) and _count(db) == 2


@pytest.mark.parametrize("node", [45, 7])
def test_a_points_area_is_accelsim_areas_and_its_energy_follows_the_node(tmp_path, node):
    """The sweep prices a variant as `accelsim area` does; at another node with the scaled energy table."""
    import json

    db = tmp_path / "r.db"
    r = CliRunner().invoke(main, ["sweep", "--model", "lenet5", "--array", "16x8", "--sram", "32,64,16",
                                  "--out-bits", "8", "--tech-node-nm", str(node), "-o", str(db), "--workers", "0",
                                  "--no-progress"])
    assert r.exit_code == 0, r.output
    (row,) = load_results(db).to_dict("records")
    a = CliRunner().invoke(main, ["area", "--array", "16x8", "--sram", "32,64,16", "--tech-node", str(node),
                                  "--format", "json"])
    assert a.exit_code == 0, a.output
    doc = json.loads(a.stdout)
    assert row["tech_node_nm"] == node and row["area_mm2"] == pytest.approx(doc["area_mm2"], rel=1e-12)
    cfg = ArrayConfig(rows=16, cols=8, ifmap_sram_kib=32, filter_sram_kib=64, ofmap_sram_kib=16, out_bits=8)
    sim = simulate(resolve("lenet5"), cfg)
    table = Technology(node).energy_table()
    want = energy_arrays(sim.layers, len(sim.layers), cfg, table, leakage_mW=area_breakdown(cfg, tech=node).leakage_mW)
    for c in ENERGY_COLUMNS:
        assert row[c] == pytest.approx(want[c].sum(), rel=1e-12), c
    assert row["mac_pJ"] == pytest.approx(row["macs"] * 0.3 * Technology(node).energy_factor)


def test_export_csv_and_parquet(tmp_path):
    db = tmp_path / "r.db"
    r = CliRunner().invoke(main, ["sweep", "--model", "lenet5", "--array", "4x4,8x8", "--workers", "0", "--no-progress",
                                  "-o", str(db), "--export", str(tmp_path / "r.csv"),
                                  "--export", str(tmp_path / "r.parquet")])
    assert r.exit_code == 0, r.output
    df = load_results(db, errors=True)
    csv = pd.read_csv(tmp_path / "r.csv")
    pq = pd.read_parquet(tmp_path / "r.parquet")
    assert len(csv) == len(pq) == len(df) == 2
    pd.testing.assert_frame_equal(pq, df)
    assert list(csv.columns) == list(df.columns)
    r = CliRunner().invoke(main, ["export", str(db), str(tmp_path / "again.csv"), "--ok-only"])
    assert r.exit_code == 0 and len(pd.read_csv(tmp_path / "again.csv")) == 2


def test_spec_and_flags_give_the_same_points(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text("model: lenet5\narray: [4x4, 8x8]\ndataflow: [os, ws]\nbandwidth: 8\n")
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    runner = CliRunner()
    assert runner.invoke(main, ["sweep", str(spec), "-o", str(a), "--workers", "0", "--no-progress"]).exit_code == 0
    r = runner.invoke(main, ["sweep", "-o", str(b), "--workers", "0", "--no-progress", "--model", "lenet5",
                             "--array", "4x4,8x8", "--dataflow", "os,ws", "--bandwidth", "8"])
    assert r.exit_code == 0, r.output
    pd.testing.assert_frame_equal(load_results(a), load_results(b))


KILL_GRID = ["--model", "lenet5", "--rows", "2,4,8,16", "--cols", "2,4,8,16", "--dataflow", "os,ws,is",
             "--bandwidth", "1,2,4"]  # 144 points


def test_killed_sweep_resumes_with_one_row_per_point(tmp_path):
    """The Dask path (--workers 1: a LocalCluster, the client committing each chunk) killed mid-run with its
    worker (benchmarks/bench_dse_speed.py --kill-resume does it with 5,184 VGG-16 points on 2 workers)."""
    db = tmp_path / "r.db"
    cmd = [sys.executable, "-m", "accelsim.cli", "sweep", *KILL_GRID, "-o", str(db), "--workers", "1",
           "--chunk-size", "1", "--no-progress"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if db.exists() and _count(db) >= 20:
                break
            time.sleep(0.02)
        assert proc.poll() is None, f"the sweep ended before it could be killed: {proc.stderr.read().decode()}"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # the sweep and its Dask worker processes
        proc.wait()
        proc.stderr.close()
    partial = _count(db)
    total = len(plan(spec_from_mapping({"model": "lenet5", "rows": [2, 4, 8, 16], "cols": [2, 4, 8, 16],
                                        "dataflow": ["os", "ws", "is"], "bandwidth": [1, 2, 4]})).points)
    assert 20 <= partial < total == 144
    r = CliRunner().invoke(main, ["sweep", *KILL_GRID, "-o", str(db), "--workers", "0", "--no-progress"])
    assert r.exit_code == 0, r.output
    assert f"{total - partial} evaluated" in r.stderr and f"{partial} already in" in r.stderr
    keys = _keys(db)
    assert len(keys) == len(set(keys)) == total
    clean = tmp_path / "clean.db"
    r = CliRunner().invoke(main, ["sweep", *KILL_GRID, "-o", str(clean), "--workers", "0", "--no-progress"])
    assert r.exit_code == 0, r.output
    pd.testing.assert_frame_equal(load_results(db, errors=True), load_results(clean, errors=True))


def test_local_cluster_and_remote_scheduler_give_identical_tables(tmp_path):
    from distributed import LocalCluster

    args = ["--model", "lenet5", "--array", "4x4,8x8,16x8", "--dataflow", "os,ws,is", "--bandwidth", "2,8",
            "--chunk-size", "4", "--no-progress"]
    local, remote = tmp_path / "local.db", tmp_path / "remote.db"
    r = CliRunner().invoke(main, ["sweep", *args, "-o", str(local), "--workers", "1"])
    assert r.exit_code == 0, r.output
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=True, host="127.0.0.1", dashboard_address=None,
                      scheduler_port=0) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tcp://127.0.0.1:")
        r = CliRunner().invoke(main, ["sweep", *args, "-o", str(remote), "--scheduler", address])
        assert r.exit_code == 0, r.output
    a, b = load_results(local, errors=True), load_results(remote, errors=True)
    assert len(a) == 18
    pd.testing.assert_frame_equal(a, b)
    with sqlite3.connect(local) as x, sqlite3.connect(remote) as y:
        q = "SELECT * FROM layers ORDER BY key, layer_index"
        assert x.execute(q).fetchall() == y.execute(q).fetchall()


def test_unreachable_scheduler_is_one_line(tmp_path):
    import socket

    with socket.socket() as s:  # a free port with nothing listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = CliRunner().invoke(main, ["sweep", "--model", "lenet5", "-o", str(tmp_path / "r.db"),
                                  "--scheduler", f"tcp://127.0.0.1:{port}", "--no-progress"])
    assert r.exit_code == 2
    assert r.stderr.strip().startswith(f"accelsim: error: scheduler: cannot connect to tcp://127.0.0.1:{port}")


def test_failed_points_say_why_on_stderr(tmp_path):
    r = CliRunner().invoke(main, ["sweep", "--model", "lenet5", "--array", "4x4",
                                  "--sram", "0.01,0.01,0.01", "--sram", "64,64,64",
                                  "-o", str(tmp_path / "r.db"), "--workers", "0", "--no-progress"])
    assert r.exit_code == 0, r.output
    assert "2 points: 2 evaluated" in r.stderr and "1 failed" in r.stderr
    assert "failed: ConfigError: array config: ifmap_sram_kib: 0.01 KiB cannot hold one 4x4 tile" in r.stderr
