"""Whole networks: cycles never below ideal, sane ratios, fast == stepping, bit-exact against the lowering."""

import numpy as np
import pytest

import accelsim.systolic.simulate as simulate_mod
from accelsim.errors import AccelsimError
from accelsim.hardware.config import ArrayConfig
from accelsim.systolic.reference import RefGemm
from accelsim.systolic.simulate import simulate
from accelsim.workload import ZOO, resolve
from tests.systolic.corrupt import corrupt_reference


@pytest.mark.parametrize("name", list(ZOO))
def test_every_zoo_layer_is_at_least_ideal(name):
    net = resolve(name)
    for rows, cols in [(32, 32), (8, 16), (128, 4)]:
        for df in ("os", "ws", "is"):
            cfg = ArrayConfig(rows=rows, cols=cols, dataflow=df, ifmap_sram_kib=512, filter_sram_kib=512,
                              ofmap_sram_kib=256)
            sim = simulate(net, cfg)
            d, gemm = sim.layers, sim.layers[sim.layers["unit"] == "array"]
            assert (d["cycles"] >= d["ideal_cycles"]).all()
            assert (d["cycles"] == d["compute_cycles"] + d["stall_cycles"]).all() and (d["stall_cycles"] >= 0).all()
            for col in ("utilization", "compute_utilization", "mapping_efficiency"):
                assert ((gemm[col] > 0) & (gemm[col] <= 1)).all(), col
            assert (gemm["utilization"] <= gemm["compute_utilization"]).all()
            assert (gemm["compute_utilization"] <= gemm["mapping_efficiency"]).all()
            t = sim.totals
            assert t["cycles"] == d["cycles"].sum() >= t["ideal_cycles"] and 0 < t["utilization"] <= 1
            assert t["macs"] == d["macs"].sum() > 0


@pytest.mark.parametrize("df", ["os", "ws", "is"])
@pytest.mark.parametrize("shape", [(1, 1), (1, 8), (8, 1), (64, 64)])
def test_lenet_on_thin_and_oversized_arrays(df, shape):
    rows, cols = shape
    cfg = ArrayConfig(rows=rows, cols=cols, dataflow=df, ifmap_sram_kib=64, filter_sram_kib=64, ofmap_sram_kib=64)
    d = simulate(resolve("lenet5"), cfg).layers
    g = d[d["unit"] == "array"]
    assert (d["cycles"] >= d["ideal_cycles"]).all() and ((g["utilization"] > 0) & (g["utilization"] <= 1)).all()
    if shape == (1, 1):
        assert (g["mapping_efficiency"] == 1).all()  # every streaming beat uses the one PE


@pytest.mark.parametrize("df", ["os", "ws", "is"])
def test_stepping_equals_fast_on_lenet_with_checked_numbers(df):
    cfg = ArrayConfig(rows=16, cols=8, dataflow=df, ofmap_sram_kib=1, bandwidth=12.5)
    fast = simulate(resolve("lenet5"), cfg, check=True)
    step = simulate(resolve("lenet5"), cfg, engine="stepping", check=True)
    assert fast.mismatches == () and step.mismatches == ()
    assert fast.layers.drop(columns=["check"]).equals(step.layers.drop(columns=["check"]))
    assert fast.totals == step.totals and fast.totals["check_mismatches"] == 0
    assert fast.totals["stall_cycles"] > 0
    # conv1 is 784x25x6. 1 KiB ofmap, double buffered: S = 512 // (8 * 4) = 16 beats, so WS cuts M into 49
    # chunks (x 1 n-tile x 2 k-tiles); IS streams N = 6 in one chunk (98 m-tiles x 2 k-tiles); OS 49 x 1 tiles
    conv1 = fast.layers.set_index("layer").loc["conv1"]
    assert conv1["folds"] == {"os": 49 * 1, "ws": 49 * 1 * 2, "is": 98 * 2}[df]
    for name, run in fast.runs.items():
        for a, b in zip(run.outputs, step.runs[name].outputs, strict=True):
            assert np.array_equal(a, b)


def test_check_reports_a_mismatch(monkeypatch):
    def bump(g: RefGemm) -> RefGemm:
        acc = g.acc.copy()
        acc[3, 5] += 1
        return RefGemm(g.a, g.b, acc, g.stage, g.out)

    corrupt_reference(monkeypatch, "conv2", bump)
    sim = simulate(resolve("lenet5"), ArrayConfig(), check=True)
    assert len(sim.mismatches) == 1 and "conv2 group 0: 1 of" in sim.mismatches[0] and "C[3, 5]" in sim.mismatches[0]
    assert sim.layers.set_index("layer").loc["conv2", "check"] == "1 bad"
    assert sim.totals["check_mismatches"] == 1


def test_numbers_equal_numpy_at_narrow_accumulators():
    cfg = ArrayConfig(rows=8, cols=8, acc_bits=16, out_bits=16, ifmap_sram_kib=16, filter_sram_kib=16,
                      ofmap_sram_kib=16)
    sim = simulate(resolve("lenet5"), cfg, numbers=True)
    refs = simulate_mod.reference_gemms(resolve("lenet5"))
    for name, run in sim.runs.items():
        g = refs[name][0]
        full = g.a.astype(np.int64) @ g.b.astype(np.int64)
        assert np.array_equal(run.outputs[0], ((full + 2**15) % 2**16) - 2**15)


def test_vector_unit_model():
    cfg = ArrayConfig(rows=4, cols=16, bandwidth=1000, on_chip=False)  # the DRAM-only vector model
    d = simulate(resolve("lenet5"), cfg).layers.set_index("layer")
    pool = d.loc["pool1"]  # 6x14x14 outputs, 2x2 average: 4 ops each
    assert pool["vector_ops"] == 6 * 14 * 14 * 4 and pool["cycles"] == -(-pool["vector_ops"] // 16)
    assert pool["dram_read_bytes"] == 6 * 28 * 28 and pool["dram_write_bytes"] == 6 * 14 * 14
    assert pool["utilization"] == 0 and pool["unit"] == "vector"
    flat = d.loc["flatten"]
    assert flat["cycles"] == 0 and flat["dram_read_bytes"] == 0 and flat["unit"] == "none"
    slow = simulate(resolve("lenet5"), cfg.with_(bandwidth=0.5)).layers.set_index("layer").loc["pool1"]
    assert slow["cycles"] == 2 * 6 * 28 * 28 and slow["stall_cycles"] == slow["cycles"] - pool["cycles"]


def test_independent_scalesim_topology():
    sim = simulate(resolve("examples/alexnet_scalesim.csv"), ArrayConfig(dataflow="os"))
    assert (sim.layers["unit"] == "array").all() and sim.totals["cycles"] > sim.totals["ideal_cycles"]


def test_bad_arguments():
    with pytest.raises(AccelsimError, match="engine: must be one of fast, stepping"):
        simulate(resolve("lenet5"), ArrayConfig(), engine="exact")
    with pytest.raises(AccelsimError, match="batch"):
        simulate(resolve("lenet5"), ArrayConfig(), batch=0)
