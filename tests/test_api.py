"""The Python API (accelsim.api through `import accelsim`): lazy import, results, energy, figures, errors."""

import json
import subprocess
import sys

import pandas as pd
import pytest

import accelsim
from accelsim.columns import ENERGY
from accelsim.energy import DEFAULT_TABLE
from accelsim.errors import AccelsimError
from accelsim.report import figures
from accelsim.synth.area import area_breakdown
from accelsim.systolic.simulate import Simulation
from accelsim.systolic.simulate import simulate as core_simulate


def test_import_is_lazy():
    code = ("import sys, accelsim; heavy = [m for m in ('pandas', 'numpy', 'matplotlib', 'dask', 'pyarrow') "
            "if m in sys.modules]; assert not heavy, heavy; accelsim.ArrayConfig; "
            "assert 'pandas' not in sys.modules; print(accelsim.__version__)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == accelsim.__version__


def test_names():
    for name in ("load", "profile", "simulate", "cosim", "sweep", "ArrayConfig", "AccelsimError"):
        assert callable(getattr(accelsim, name)), name
    assert set(accelsim.__all__) >= {"load", "profile", "simulate", "cosim", "sweep", "ArrayConfig"}
    with pytest.raises(AttributeError):
        accelsim.no_such_thing  # noqa: B018


def test_load_accepts_names_files_and_networks(tmp_path):
    net = accelsim.load("lenet5")
    assert accelsim.load(net) is net
    path = tmp_path / "tiny.yaml"
    path.write_text("input_shape: [3, 8, 8]\nlayers:\n  - {type: conv2d, in_channels: 3, out_channels: 4, "
                    "kernel_size: 3}\n")
    assert len(accelsim.load(path)) == 1 and len(accelsim.load(str(path))) == 1


def test_simulate_wraps_the_core_model():
    sim = accelsim.simulate("lenet5", array="8x16", dataflow="is", sram="32,32,16", bandwidth=4, clock_mhz=500,
                            batch=2)
    cfg = accelsim.ArrayConfig(rows=8, cols=16, dataflow="is", ifmap_sram_kib=32, filter_sram_kib=32,
                               ofmap_sram_kib=16, bandwidth=4, clock_mhz=500)
    area = area_breakdown(cfg)  # the design's static power prices the rows' leakage
    core = core_simulate(accelsim.load("lenet5"), cfg, batch=2, leakage_mW=area.leakage_mW)
    assert isinstance(sim, Simulation) and sim.config == cfg and sim.engine == "fast" and sim.area == area
    pd.testing.assert_frame_equal(sim.layers, core.layers)
    assert sim.totals == core.totals
    same = accelsim.simulate("lenet5", config=cfg, batch=2, sram=(256, 256, 128))  # defaults are not "given"
    pd.testing.assert_frame_equal(same.layers, sim.layers)
    assert sim.layers.columns[0] == "layer"


def test_to_json_is_the_cli_document():
    from click.testing import CliRunner

    from accelsim.cli import main

    r = CliRunner().invoke(main, ["simulate", "lenet5", "--array", "8x8", "--dataflow", "os", "--format", "json"])
    assert r.exit_code == 0, r.output
    assert accelsim.simulate("lenet5", array="8x8", dataflow="os").to_json() == r.stdout
    r = CliRunner().invoke(main, ["profile", "lenet5", "--dtype", "fp16", "--format", "json"])
    assert accelsim.profile("lenet5", dtype="fp16").to_json() == r.stdout


def test_energy_is_one_call_and_matches_the_sweep(tmp_path):
    sim = accelsim.simulate("lenet5", array="8x8", dataflow="ws", bandwidth=8)
    e = sim.energy()
    assert e.table is DEFAULT_TABLE and list(e.layers["layer"]) == list(sim.layers["layer"])
    assert e.totals["total_pJ"] == pytest.approx(e.layers["total_pJ"].sum())
    assert e.totals["mac_pJ"] == pytest.approx(sim.totals["macs"] * DEFAULT_TABLE.mac_pJ)
    res = accelsim.sweep({"model": "lenet5", "array": "8x8", "dataflow": "ws", "bandwidth": 8}, tmp_path / "r.db",
                         workers=0)
    point = res.points.iloc[0]
    # the sweep prices the same accesses and the same static power (the variant's area model at its node)
    for c in (*ENERGY, "energy_per_inference_uJ"):
        assert point[c] == pytest.approx(e.totals[c]), c
    cheaper = sim.energy({"dram_pJ_per_byte": 80})
    assert cheaper.totals["dram_pJ"] == pytest.approx(e.totals["dram_pJ"] / 2)
    assert json.loads(e.to_json())["layers"][0]["layer"] == "conv1"


def test_figures_take_results_and_their_frames(tmp_path):
    sim = accelsim.simulate("alexnet", array="16x16")
    prof = accelsim.profile("alexnet")
    # issue 9: layer_cycles(sim.layers) raised KeyError 'layer', roofline() KeyError 'intensity_macs_per_dram_byte'
    figures.save(figures.layer_cycles(sim.layers, "x"), tmp_path / "a.png")
    figures.save(figures.roofline(sim.layers, 256, 16.0, "x"), tmp_path / "b.png")
    figures.save(figures.layer_cycles(sim), tmp_path / "c.png")
    figures.save(figures.roofline(sim), tmp_path / "d.png")
    figures.save(figures.memory_and_params(prof), tmp_path / "e.png")
    res = accelsim.sweep({"model": "lenet5", "array": ["4x4", "8x8"], "dataflow": ["os", "ws"]}, tmp_path / "r.db",
                         workers=0)
    figures.save(figures.pareto(res), tmp_path / "f.png")
    with pytest.raises(AccelsimError, match="heatmap: 2 points share an array shape"):
        figures.heatmap(res)
    ws = res.points[res.points["dataflow"] == "ws"]
    figures.save(figures.heatmap(ws), tmp_path / "g.png")
    assert all((tmp_path / f"{c}.png").stat().st_size > 10_000 for c in "abcdefg")
    with pytest.raises(AccelsimError, match="roofline: give pe_count"):
        figures.roofline(sim.layers)
    with pytest.raises(AccelsimError, match="expected a DataFrame"):
        figures.layer_cycles(accelsim.load("lenet5"))


def test_sweep_from_a_spec_file(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text("name: s\nmodel: lenet5\narray: [4x4, 8x8]\n")
    res = accelsim.sweep(spec, tmp_path / "r.db", workers=0)
    assert res.totals["point_count"] == res.totals["evaluated"] == 2 and len(res.points) == 2
    again = accelsim.sweep(str(spec), tmp_path / "r.db", workers=0)
    assert again.totals["already_done"] == 2 and again.totals["evaluated"] == 0
    assert res.layers.columns[0] == "layer" and res.layers.columns[-1] == "key"


@pytest.mark.parametrize("call, where", [
    (lambda: accelsim.load(42), "model: expected"),
    (lambda: accelsim.load("lenet6"), "model: 'lenet6'"),
    (lambda: accelsim.profile("lenet5", batch=0), "batch"),
    (lambda: accelsim.profile("lenet5", dtype="fp64"), "dtype"),
    (lambda: accelsim.profile("lenet5", training="yes"), "training"),
    (lambda: accelsim.simulate("lenet5", array="8"), "array"),
    (lambda: accelsim.simulate("lenet5", array=(8, "8")), "array"),
    (lambda: accelsim.simulate("lenet5", dataflow="rs"), "dataflow"),
    (lambda: accelsim.simulate("lenet5", sram="1,2"), "sram"),
    (lambda: accelsim.simulate("lenet5", sram=(1, 2, -3)), "sram"),
    (lambda: accelsim.simulate("lenet5", bandwidth=0), "bandwidth"),
    (lambda: accelsim.simulate("lenet5", clock_mhz=-1), "clock_mhz"),
    (lambda: accelsim.simulate("lenet5", batch=1.5), "batch"),
    (lambda: accelsim.simulate("lenet5", engine="slow"), "engine"),
    (lambda: accelsim.simulate("lenet5", check=1), "check"),
    (lambda: accelsim.simulate("lenet5", double_buffer="no"), "double_buffer"),
    (lambda: accelsim.simulate("lenet5", config="32x32"), "config"),
    (lambda: accelsim.simulate("lenet5", config=accelsim.ArrayConfig(), array="8x8"), "config"),
    (lambda: accelsim.simulate("lenet5").energy(table=3), "energy"),
    (lambda: accelsim.simulate("lenet5").energy(table={"dram_pj": 1}), "dram_pj"),
    (lambda: accelsim.simulate("lenet5").table("xlsx"), "format"),
    (lambda: accelsim.cosim(), "exactly one of"),
    (lambda: accelsim.cosim(gemm="5x7", array="2x2"), "gemm"),
    (lambda: accelsim.cosim(gemm=(5, 0, 3), array="2x2"), "gemm"),
    (lambda: accelsim.cosim(gemm="5x7x3", array="2x2", seed=-1), "seed"),
    (lambda: accelsim.cosim(gemm="5x7x3", simulator="modelsim"), "simulator"),
    (lambda: accelsim.cosim(model="lenet6"), "lenet6"),
    (lambda: accelsim.sweep(42, "r.db"), "spec"),
    (lambda: accelsim.sweep({"model": "lenet5", "arrray": "8x8"}, "r.db"), "arrray"),
    (lambda: accelsim.sweep({"model": "lenet5"}, "r.db", workers=-1), "workers"),
    (lambda: accelsim.sweep("no-such-spec.yaml", "r.db"), "no-such-spec.yaml"),
])
def test_bad_arguments_are_one_line(call, where, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(AccelsimError) as e:
        call()
    msg = str(e.value)
    assert where in msg and "\n" not in msg, msg
    assert not (tmp_path / "r.db").exists()
