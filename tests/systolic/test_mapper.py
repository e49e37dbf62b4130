"""The per-layer mapping search (accelsim.systolic.mapper) and simulate's --mapper/--objective.

Goldens independent of the search: hand-computed DRAM traffic of every mapping of a small layer; the
stepping model pricing every candidate (the search prices with the fast model, prunes with bounds);
the per-layer fast model under the fixed mapping (``--mapper fixed`` is today's simulation).
"""

import itertools
import json
import math

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from accelsim.cli import main
from accelsim.energy.model import energy_arrays
from accelsim.energy.table import DEFAULT_TABLE
from accelsim.hardware.config import OBJECTIVES, ArrayConfig
from accelsim.mapping.folds import mapping_for, stream_chunk, used_chunk
from accelsim.mapping.space import Mapping
from accelsim.systolic.fast import fast_layer
from accelsim.systolic.mapper import (
    LayerKey,
    LayerSearch,
    LayerTask,
    candidates,
    chunk_set,
    compute_cycles,
    dram_reads,
    lower_bounds,
    run_counts,
    search,
)
from accelsim.systolic.simulate import simulate
from accelsim.systolic.stepping import random_operands, step_layer
from accelsim.workload.layers import Conv2d, Flatten, Linear, MaxPool2d, ReLU
from accelsim.workload.network import Network

# 4x4 array, 8-bit operands; usable (half, double buffered) ifmap 256 B, filter 1 KiB, ofmap 512 B (S_max = 32).
SMALL = ArrayConfig(rows=4, cols=4, dataflow="ws", ifmap_sram_kib=0.5, filter_sram_kib=2, ofmap_sram_kib=1,
                    bandwidth=4.0)


def test_hand_computed_dram_traffic_and_optimum():
    """C[8, 64] = A[8, 64] @ B[64, 64] on SMALL: A is 512 B (does not fit 256 B), B 4 KiB (does not fit 1 KiB).

    OS m>n: A by 4-row blocks (256 B, fit: once) 512 + B whole, once per m-tile (2) 8192 = 8704.
    OS n>m: B by 4-column blocks (256 B, fit: once) 4096 + A whole, once per n-tile (16) 8192 = 12288.
    WS m>n>k S: A blocks S x 64 fit iff S <= 4; B whole once per chunk: S=4 -> 512 + 2 x 4096 = 8704;
    S=8 (one chunk) -> 16 x 512 + 4096 = 12288. WS n>m>k: B blocks 64 x 4 fit: 4096 + A whole x 16 = 12288.
    IS m>n>k: A by 4-column tiles (256 B, fit) 512 + B whole once per m-tile (2) 8192 = 8704.
    IS n>m>k S: B blocks 64 x S fit 1 KiB iff S <= 16: 4096 + A whole once per chunk 512 x 64/S;
    S=16 -> 4096 + 2048 = 6144, the fewest bytes (S=32: B blocks do not fit: 2 x 4096 + 2 x 512 = 9216).
    """
    key = LayerKey(8, 64, 64)
    want = {("os", ("m", "n"), None): 8704, ("os", ("n", "m"), None): 12288,
            ("ws", ("m", "n", "k"), 4): 8704, ("ws", ("m", "n", "k"), 8): 12288,
            ("ws", ("n", "m", "k"), 8): 12288, ("is", ("m", "n", "k"), 4): 8704,
            ("is", ("n", "m", "k"), 16): 6144, ("is", ("n", "m", "k"), 32): 9216}
    for (df, order, s), nbytes in want.items():
        mp = Mapping(df, order, s)
        run = fast_layer(SMALL, 8, 64, 64, mapping=mp)
        assert run.dram_read_bytes == nbytes, mp
        assert sum(dram_reads(SMALL, mp, key)) == nbytes, mp
    assert stream_chunk(SMALL) == 32 and chunk_set(SMALL, "is", 8, 64, 64) == (32, 16, 8, 4)
    for objective in ("energy", "edp"):
        (chosen, fixed), = search(SMALL, [LayerTask("l", key)], objective).values()
        assert chosen.mapping == Mapping("is", ("n", "m", "k"), 16), objective
        assert chosen.run.dram_read_bytes == 6144 and fixed.run.dram_read_bytes == 12288


@st.composite
def layers(draw, max_dim: int = 24):
    """A small layer on a small config: shapes around the array size, SRAMs from the minimum up."""
    R, C = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    double = draw(st.booleans())
    halves = 2 if double else 1
    tile = halves * R * C / 1024
    cfg = ArrayConfig(
        rows=R, cols=C, dataflow=draw(st.sampled_from(["os", "ws", "is"])), double_buffer=double,
        ifmap_sram_kib=draw(st.sampled_from([tile, 4 * tile, 16 * tile, 64.0])),
        filter_sram_kib=draw(st.sampled_from([tile, 4 * tile, 16 * tile, 64.0])),
        ofmap_sram_kib=draw(st.sampled_from([halves * c * max(R, C) * 4 / 1024 for c in (1, 3, 8)])),
        bandwidth=draw(st.sampled_from([0.5, 2.0, 8.0, 64.0])), pipeline=draw(st.booleans()))
    key = LayerKey(*(draw(st.integers(1, max_dim)) for _ in range(3)), draw(st.integers(1, 2)),
                   draw(st.booleans()), draw(st.booleans()))
    return cfg, key, draw(st.sampled_from([0.0, 5.0, 500.0]))


def _stepping_cost(cfg, key, mp, leakage_mW):
    ops = random_operands(cfg, key.m, key.k, key.n, key.groups)
    run = step_layer(cfg, ops, mapping=mp, ifmap_on_chip=key.ifmap_on_chip, output_on_chip=key.output_on_chip)
    return run, float(energy_arrays(run_counts(run), 1, cfg, DEFAULT_TABLE, leakage_mW)["total_pJ"][0])


@settings(max_examples=40, deadline=None)
@given(layers(max_dim=14), st.sampled_from(OBJECTIVES))
def test_search_picks_the_optimum_of_every_candidate_priced_by_the_stepping_model(layer, objective):
    """Brute force: every candidate run through the stepping model; the search (fast model, bounds, pruning)
    reaches the same optimum value."""
    cfg, key, leakage = layer
    costs = {mp: _stepping_cost(cfg, key, mp, leakage) for mp in candidates(cfg, key.m, key.k, key.n)}

    def value(run, pJ):
        return {"cycles": (run.cycles, pJ), "energy": (pJ, run.cycles), "edp": (pJ * run.cycles, 0)}[objective]

    best = min(value(*c) for c in costs.values())
    (chosen, fixed), = search(cfg, [LayerTask("l", key)], objective, DEFAULT_TABLE, leakage).values()  # one layer:
    # the EDP's polish reaches the optimum
    run, pJ = costs[chosen.mapping]
    assert (chosen.cycles, chosen.run.traffic) == (run.cycles, run.traffic)
    assert math.isclose(chosen.total_pJ, pJ, rel_tol=1e-12)
    got = value(chosen.run, chosen.total_pJ)
    assert got[0] <= best[0] * (1 + 1e-12)
    assert fixed.mapping == Mapping.fixed(cfg.dataflow)


@settings(max_examples=60, deadline=None)
@given(layers())
def test_bounds_are_lower_bounds_and_the_closed_forms_are_exact(layer):
    """compute_cycles and dram_reads equal the fast model's; the bounds never exceed the exact costs."""
    cfg, key, leakage = layer
    s = LayerSearch(cfg, key, DEFAULT_TABLE, leakage)
    d_lb, e_lb = lower_bounds(cfg, key, s.mappings, DEFAULT_TABLE, leakage)
    for i, mp in enumerate(s.mappings):
        p = s.price(mp)
        assert compute_cycles(cfg, mp, key.m, key.k, key.n, key.groups) == p.run.compute_cycles
        a, b = dram_reads(cfg, mp, key)
        assert (a * cfg.data_bytes, b * cfg.data_bytes) == (p.run.traffic["ifmap_dram_bytes"],
                                                            p.run.traffic["filter_dram_bytes"])
        assert d_lb[i] <= p.cycles and e_lb[i] <= p.total_pJ * (1 + 1e-12)
    assert s.mappings[0] == Mapping.fixed(cfg.dataflow) and len(set(s.mappings)) == len(s.mappings)


@st.composite
def networks(draw):
    """A small random CNN: one to three convs (some followed by ReLU / max pool), then one or two linears."""
    c0, hw0 = draw(st.integers(1, 4)), draw(st.integers(4, 12))
    c, hw, layers_ = c0, hw0, []
    for i in range(draw(st.integers(1, 3))):
        out, k = draw(st.integers(1, 12)), draw(st.integers(1, min(3, hw)))
        pad = draw(st.integers(0, k // 2))
        layers_.append(Conv2d(f"conv{i}", c, out, k, padding=pad))
        c, hw = out, hw - k + 1 + 2 * pad
        if draw(st.booleans()):
            layers_.append(ReLU(f"relu{i}"))
        if hw >= 2 and draw(st.booleans()):
            layers_.append(MaxPool2d(f"pool{i}", 2, 2))
            hw //= 2
    layers_.append(Flatten("flatten"))
    features = c * hw * hw
    for i in range(draw(st.integers(1, 2))):
        out = draw(st.integers(1, 20))
        layers_.append(Linear(f"fc{i}", features, out))
        features = out
    return Network.sequential("random", (c0, hw0, hw0), layers_)


@settings(max_examples=40, deadline=None)
@given(networks(), layers(), st.sampled_from(OBJECTIVES), st.integers(1, 3))
def test_search_is_never_worse_than_fixed(net, layer, objective, batch):
    """On its objective, over the whole network (vector-unit layers included); the fixed costs it reports
    are the fixed mapper's simulation, layer by layer."""
    cfg, _, leakage = layer
    fixed = simulate(net, cfg, batch, leakage_mW=leakage)
    found = simulate(net, cfg, batch, mapper="search", objective=objective, leakage_mW=leakage)
    t, f = found.totals, fixed.totals
    assert (t["fixed_cycles"], t["fixed_dram_bytes"]) == (f["cycles"], f["dram_read_bytes"] + f["dram_write_bytes"])
    assert math.isclose(t["fixed_total_pJ"], f["total_pJ"], rel_tol=1e-12)
    for row, base in zip(found.rows, fixed.rows, strict=True):
        assert row["fixed_cycles"] == base["cycles"] and math.isclose(row["fixed_total_pJ"], base["total_pJ"],
                                                                      rel_tol=1e-12)
    tol = 1 + 1e-9
    if objective == "cycles":
        assert t["cycles"] <= f["cycles"]
    elif objective == "energy":
        assert t["total_pJ"] <= f["total_pJ"] * tol
    else:
        assert t["edp_uJ_ms"] <= f["edp_uJ_ms"] * tol
        assert t["total_pJ"] * t["cycles"] <= f["total_pJ"] * f["cycles"] * tol


def _rows(sim) -> list[dict]:
    """The rows with NaN (the roofline columns off the array) as None, so equal rows compare equal."""
    return [{c: None if isinstance(v, float) and math.isnan(v) else v for c, v in row.items()} for row in sim.rows]


def test_fixed_mapper_reproduces_the_per_layer_fast_model():
    """--mapper fixed is today's simulation: every array layer is fast_layer under the config's dataflow,
    with no mapper involved, and forcing every layer's fixed mapping changes nothing."""
    from accelsim.workload import resolve
    from accelsim.workload.gemm import gemm_shape

    net = resolve("alexnet", False, None, None)
    for cfg in (ArrayConfig(), ArrayConfig(rows=16, cols=8, dataflow="os", on_chip=False),
                ArrayConfig(dataflow="is", pipeline=False)):
        sim = simulate(net, cfg)
        assert "fixed_cycles" not in sim.columns and sim.mapper == "fixed"
        forced = simulate(net, cfg, mappings={name: Mapping.fixed(cfg.dataflow) for name in sim.mappings})
        assert _rows(forced) == _rows(sim)
        for node, row in zip(net, sim.rows, strict=True):
            shape = gemm_shape(node, 1)
            if shape is None:
                assert row["mapping"] == ""
                continue
            run = fast_layer(cfg, *shape, dataflow=cfg.dataflow, ifmap_on_chip=row["input_from"] == "sram",
                             output_on_chip=row["output_to"] == "sram")
            assert (row["cycles"], row["dram_read_bytes"], row["folds"]) == (run.cycles, run.dram_read_bytes,
                                                                             run.folds)
            assert row["mapping"].startswith(cfg.dataflow.upper() + " ")


def test_edp_iteration_never_raises_the_network_edp():
    """The lam iteration from the fixed mapping: network EDP non-increasing at every step (module docstring's
    AM-GM argument), and it ends at a solution no worse than the fixed one."""
    from accelsim.workload import resolve
    from accelsim.workload.gemm import gemm_shape

    for name, cfg, leakage in (("vgg16", ArrayConfig(), 0.0), ("alexnet", ArrayConfig(rows=128, cols=128), 300.0),
                               ("alexnet", ArrayConfig(dataflow="os", bandwidth=4.0), 50.0)):
        net = resolve(name, False, None, None)
        tasks = [LayerTask(node.layer.name, LayerKey(s.m, s.k, s.n, s.count)) for node in net
                 if (s := gemm_shape(node, 1)) is not None]
        trace: list[tuple[float, int]] = []
        search(cfg, tasks, "edp", DEFAULT_TABLE, leakage, 1e6, 10_000, trace=trace)
        edp = [pJ * cycles for pJ, cycles in trace]
        assert len(edp) >= 2 and all(b <= a * (1 + 1e-12) for a, b in itertools.pairwise(edp)), edp
        assert edp[-1] < edp[0]  # these cases improve on the fixed mapping


def test_simulate_options_and_the_stepping_engine_run_the_chosen_mappings():
    net = Network.sequential("tiny", (2, 6, 6), [Conv2d("c1", 2, 5, 3), ReLU("r1"), Flatten("f"),
                                                 Linear("fc", 80, 7)])
    cfg = ArrayConfig(rows=3, cols=2, ifmap_sram_kib=0.25, filter_sram_kib=0.25, ofmap_sram_kib=0.25, bandwidth=2)
    fast = simulate(net, cfg, mapper="search", objective="cycles")
    step = simulate(net, cfg, engine="stepping", mapper="search", objective="cycles", check=True)
    assert fast.mappings == step.mappings and set(fast.mappings) == {"c1", "fc"}
    for a, b in zip(_rows(fast), _rows(step), strict=True):
        assert {c: a[c] for c in fast.columns} == {c: b[c] for c in fast.columns}
    assert step.totals["check_mismatches"] == 0
    with pytest.raises(Exception, match="mapper: must be one of fixed, search"):
        simulate(net, cfg, mapper="best")
    with pytest.raises(Exception, match="objective: must be one of cycles, energy, edp"):
        simulate(net, cfg, mapper="search", objective="speed")
    with pytest.raises(Exception, match="no layer named 'nope'"):
        simulate(net, cfg, mappings={"nope": Mapping("ws")})
    with pytest.raises(Exception, match=r"mapping\.chunk"):
        simulate(net, cfg, mappings={"c1": Mapping("ws", chunk=stream_chunk(cfg) + 1)})


def test_totals_carry_energy_edp_and_pj_per_mac():
    sim = simulate(Network.sequential("t", (1, 5, 5), [Conv2d("c", 1, 3, 3), Flatten("f"), Linear("l", 27, 4)]),
                   ArrayConfig(rows=4, cols=4), 2, leakage_mW=10.0)
    t = sim.totals
    assert math.isclose(t["total_pJ"], sum(r["total_pJ"] for r in sim.rows))
    assert t["leakage_pJ"] > 0 and math.isclose(t["energy_per_inference_uJ"], t["total_pJ"] / 1e6 / 2)
    assert math.isclose(t["edp_uJ_ms"], t["energy_per_inference_uJ"] * t["latency_ms"])
    assert math.isclose(t["pJ_per_mac"], t["total_pJ"] / t["macs"])


def test_cli_simulate_mapper_search():
    r = CliRunner().invoke(main, ["simulate", "lenet5", "--array", "8x8", "--mapper", "search", "--objective",
                                  "energy", "--format", "json"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["config"]["mapper"] == "search" and doc["config"]["objective"] == "energy"
    conv = next(row for row in doc["layers"] if row["layer"] == "conv1")
    assert conv["mapping"] and conv["fixed_cycles"] > 0 and conv["fixed_total_pJ"] > 0
    t = doc["totals"]
    assert t["total_pJ"] <= t["fixed_total_pJ"] * (1 + 1e-9)
    for key in ("latency_ms", "energy_per_inference_uJ", "edp_uJ_ms", "pJ_per_mac"):
        assert key in t
    table = CliRunner().invoke(main, ["simulate", "lenet5", "--array", "8x8", "--mapper", "search"])
    assert table.exit_code == 0 and "Mapper: search by edp" in table.stdout
    assert "Fixed cyc" in table.stdout and "Energy" in table.stdout
    for bad in (["--mapper", "best"], ["--objective", "speed"]):
        r = CliRunner().invoke(main, ["simulate", "lenet5", *bad])
        assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1, r.output
    r = CliRunner().invoke(main, ["cosim", "--gemm", "4x4x4", "--mapper", "search", "--order", "m>n>k"])
    assert r.exit_code == 2 and "drop --order/--chunk" in r.output and len(r.output.strip().splitlines()) == 1


def test_a_mapping_is_named_by_the_chunk_its_folds_use():
    """simulate and cosim name a layer's mapping alike: the chunk capped at the streamed axis (M = 100 < S)."""
    cfg = ArrayConfig(rows=8, cols=8, dataflow="ws")
    resolved = mapping_for(cfg, "ws")  # the chunk resolved to stream_chunk(cfg)
    assert resolved.chunk > 100
    assert resolved.describe(used_chunk(cfg, resolved, 100, 64, 32)) == "WS m>n>k S=100"
    assert Mapping("is", ("m", "n", "k"), 3).describe() == "IS m>n>k S=3"
    assert Mapping("os").describe(used_chunk(cfg, Mapping("os"), 100, 64, 32)) == "OS m>n"
