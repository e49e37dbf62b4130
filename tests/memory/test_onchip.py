"""Layers that stay on chip (docs/microarchitecture.md): the placement against a direct re-implementation of
the contract over random graphs, hand-worked residual and boundary cases, the DRAM bytes that result, the
fast model against the stepping model, and --no-on-chip against the DRAM-only model."""

from __future__ import annotations

import math
from collections import Counter

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from accelsim.hardware.config import ArrayConfig, ConfigError
from accelsim.memory.onchip import place
from accelsim.systolic.fast import fast_layer
from accelsim.systolic.simulate import simulate
from accelsim.systolic.vector import vector_layer
from accelsim.workload import resolve
from accelsim.workload.gemm import gemm_shape
from accelsim.workload.layers import (
    Add,
    BatchNorm2d,
    Clip,
    Conv2d,
    Flatten,
    Hardswish,
    Linear,
    MaxPool2d,
    ReLU,
    ReLU6,
)
from accelsim.workload.network import Network

# ---- the golden: the contract's rule written out directly -----------------------------------------------


def golden(net: Network, cfg: ArrayConfig, batch: int) -> dict[str, tuple[str, str]]:
    """Per layer (input_from, output_to), straight from the contract's text."""
    nodes = list(net)
    by = {n.name: n for n in nodes}
    users = Counter(s for n in nodes for s in n.inputs)
    fused: set[str] = set()
    if cfg.out_bits == 8 and cfg.acc_bits == 32:
        for n in nodes:
            if len(n.inputs) != 1 or n.inputs[0] == "input" or users[n.inputs[0]] != 1:
                continue
            src = by[n.inputs[0]].layer
            if isinstance(n.layer, BatchNorm2d) and isinstance(src, Conv2d):
                fused.add(n.name)
            act = isinstance(n.layer, (ReLU, ReLU6)) or (isinstance(n.layer, Clip) and (n.layer.min, n.layer.max)
                                                          == (0, 6))
            if act and (isinstance(src, (Conv2d, Linear)) or (n.inputs[0] in fused and isinstance(src, BatchNorm2d))):
                fused.add(n.name)

    def owner(name: str) -> str:
        while name != "input" and (name in fused or isinstance(by[name].layer, (Flatten,))):
            name = by[name].inputs[0]
        return name

    pos = {n.name: i for i, n in enumerate(nodes)}
    runs = [n for n in nodes if n.name not in fused and not isinstance(n.layer, Flatten)]
    S = cfg.sram_bytes("ifmap")
    U = S // 2 if cfg.double_buffer else S
    kept: list[str] = []
    end: dict[str, int] = {}
    size: dict[str, int] = {}
    for n in runs:
        t = n.name
        uses = [(m, slot) for m in runs for slot, s in enumerate(m.inputs) if owner(s) == t]
        if not uses or owner(nodes[-1].name) == t:
            continue
        if isinstance(n.layer, (Conv2d, Linear)) and cfg.out_bits != cfg.data_bits:
            continue
        size[t] = math.prod(n.output_shape) * batch * cfg.data_bytes
        end[t] = max(pos[m.name] for m, _ in uses)
        fits = True
        for i in range(pos[t], end[t] + 1):
            live = size[t] + sum(size[u] for u in kept if pos[u] <= i <= end[u])
            m = nodes[i]
            if m.name not in fused and isinstance(m.layer, (Conv2d, Linear)):
                a = owner(m.inputs[0])
                live += 0 if a == t or a in kept else U
            fits &= live <= S
        if fits:
            kept.append(t)
    out = {}
    for n in nodes:
        if n.name in fused:
            out[n.name] = ("fused", "fused")
        else:
            ins = "+".join("sram" if owner(s) in kept else "dram" for s in n.inputs)
            out[n.name] = (ins, "sram" if owner(n.name) in kept else "dram")
    return out


@st.composite
def graphs(draw):
    """Random small graphs: convs (some reading an earlier tensor: branches), BN, activations, pools,
    residual adds, hardswish, and sometimes a flatten + linear head."""
    c, h = draw(st.integers(1, 6)), draw(st.integers(2, 9))
    shapes: dict[str, tuple] = {"input": (c, h, h)}
    items, prev = [], "input"
    for i in range(draw(st.integers(1, 9))):
        name, cur = f"n{i}", shapes[prev]
        op = draw(st.sampled_from(["conv", "conv", "branch", "bn", "relu", "relu6", "clip", "pool", "add", "hswish"]))
        src = prev
        if op == "branch":
            src = draw(st.sampled_from(sorted(shapes)))
            op, cur = "conv", shapes[src]
        if op == "conv":
            k, oc = draw(st.sampled_from([1, 3])), draw(st.integers(1, 12))
            layer, out = Conv2d(name, in_channels=cur[0], out_channels=oc, kernel_size=k, padding=k // 2), \
                (oc, cur[1], cur[2])
        elif op == "bn":
            layer, out = BatchNorm2d(name, num_features=cur[0]), cur
        elif op == "pool" and cur[1] >= 2:
            layer, out = MaxPool2d(name, kernel_size=2), (cur[0], cur[1] // 2, cur[2] // 2)
        elif op == "add" and [s for s in shapes if shapes[s] == cur and s != prev]:
            other = draw(st.sampled_from(sorted(s for s in shapes if shapes[s] == cur and s != prev)))
            items.append((Add(name), [prev, other]))
            shapes[name], prev = cur, name
            continue
        elif op == "hswish":
            layer, out = Hardswish(name), cur
        elif op == "relu6":
            layer, out = ReLU6(name), cur
        elif op == "clip":
            layer, out = Clip(name, min=0.0, max=draw(st.sampled_from([6.0, 4.0]))), cur
        else:
            layer, out = ReLU(name), cur
        items.append((layer, [src]))
        shapes[name], prev = out, name
    if draw(st.booleans()):
        f = math.prod(shapes[prev])
        items += [(Flatten("flat"), [prev]), (Linear("fc", in_features=f, out_features=draw(st.integers(1, 8))),
                                              ["flat"])]
    return Network.graph("g", (c, h, h), items)


configs = st.builds(lambda kib, db, bw, df: ArrayConfig(rows=4, cols=4, dataflow=df, ifmap_sram_kib=kib,
                                                        double_buffer=db, bandwidth=bw),
                    st.sampled_from([0.0625, 0.125, 0.25, 0.5, 1.0, 4.0]), st.booleans(), st.sampled_from([1, 4, 64]),
                    st.sampled_from(["ws", "os", "is"]))


def _rows(sim):
    return {r["layer"]: r for r in sim.rows}


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(net=graphs(), cfg=configs, batch=st.integers(1, 2))
def test_placement_and_dram_bytes_match_the_golden(net, cfg, batch):
    want = golden(net, cfg, batch)
    event(f"{sum(o == 'sram' for _, o in want.values())} output(s) on chip, "
          f"{sum(o == 'fused' for _, o in want.values())} fused")
    on, off = _rows(simulate(net, cfg, batch)), _rows(simulate(net, cfg.with_(on_chip=False), batch))
    got = {name: (r["input_from"], r["output_to"]) for name, r in on.items()}
    assert got == want
    p = place(net, cfg, batch)
    assert all(p[n.name].input_from == want[n.name][0] for n in net)
    for n in net:
        r, o = on[n.name], off[n.name]
        ins, out = want[n.name]
        assert o["input_from"] == "+".join(["dram"] * len(n.inputs)) and o["output_to"] == "dram"
        if out == "fused":
            assert r["unit"] == "fused" and r["cycles"] == r["dram_read_bytes"] == r["dram_write_bytes"] == 0
        elif r["unit"] == "array":
            a_chip = ins.split("+")[0] == "sram"
            assert r["ifmap_dram_read_bytes"] == (0 if a_chip else o["ifmap_dram_read_bytes"])
            assert r["filter_dram_read_bytes"] == o["filter_dram_read_bytes"]
            assert r["dram_write_bytes"] == (0 if out == "sram" else o["dram_write_bytes"])
            if not a_chip and out == "dram":
                assert r["cycles"] == o["cycles"]
            assert r["cycles"] <= o["cycles"]
        else:
            from_dram = sum(math.prod(s) for s, w in zip(n.input_shapes, ins.split("+"), strict=True) if w == "dram")
            expect_read = 0 if r["unit"] == "none" else from_dram * batch
            assert r["dram_read_bytes"] == expect_read
            expect_write = 0 if r["unit"] == "none" or out == "sram" else math.prod(n.output_shape) * batch
            assert r["dram_write_bytes"] == expect_write
    last = list(net)[-1].name
    assert on[last]["output_to"] in ("dram", "fused")
    assert sum(r["dram_read_bytes"] + r["dram_write_bytes"] for r in on.values()) <= \
        sum(r["dram_read_bytes"] + r["dram_write_bytes"] for r in off.values())


# ---- hand-worked cases ------------------------------------------------------------------------------------


def residual() -> Network:
    """conv0+relu0 -> X (16x8x8 = 1024 B), conv1+relu1 -> Y (256 B), conv2 -> Z (1024 B), add(Z, X) -> W,
    relu -> W' (1024 B), conv3 -> the output (256 B)."""
    return Network.graph("res", (4, 8, 8), [
        (Conv2d("conv0", in_channels=4, out_channels=16), None), (ReLU("relu0"), None),
        (Conv2d("conv1", in_channels=16, out_channels=4), None), (ReLU("relu1"), None),
        (Conv2d("conv2", in_channels=4, out_channels=16, kernel_size=3, padding=1), None),
        (Add("add"), ["conv2", "relu0"]), (ReLU("relu"), None),
        (Conv2d("conv3", in_channels=16, out_channels=4), None),
    ])


# S = ifmap bytes, U = S/2 (double buffering). Worked by hand from the contract:
RESIDUAL = {
    # 1.5 KiB, U = 768: X at conv0 needs 1024 + 768 (conv0 reads the input from DRAM) > 1536: the skip goes
    # to DRAM; Y, Z fit; W at add needs Z + W = 2048 > 1536: DRAM; W' fits (conv3 reads it: no reserve).
    1.5: {"conv0": "dram>dram", "conv1": "dram>sram", "conv2": "sram>sram", "add": "sram+dram>dram",
          "relu": "dram>sram", "conv3": "sram>dram"},
    # 2 KiB, U = 1024: X fits everywhere (1024 + 1024 at conv0 and conv2), so the skip stays; Y fits;
    # Z at conv2 needs X + Y + Z = 2304 > 2048: DRAM; W and W' fit.
    2.0: {"conv0": "dram>sram", "conv1": "sram>sram", "conv2": "sram>dram", "add": "dram+sram>sram",
          "relu": "sram>sram", "conv3": "sram>dram"},
    # 4 KiB: everything but the network's output stays.
    4.0: {"conv0": "dram>sram", "conv1": "sram>sram", "conv2": "sram>sram", "add": "sram+sram>sram",
          "relu": "sram>sram", "conv3": "sram>dram"},
    # 0.5 KiB, U = 256: only Y fits (256 + 256 at conv1, which reads X from DRAM).
    0.5: {"conv0": "dram>dram", "conv1": "dram>sram", "conv2": "sram>dram", "add": "dram+dram>dram",
          "relu": "dram>dram", "conv3": "dram>dram"},
}


@pytest.mark.parametrize("kib", sorted(RESIDUAL))
def test_residual_block(kib):
    rows = _rows(simulate(residual(), ArrayConfig(rows=4, cols=4, ifmap_sram_kib=kib)))
    assert {k: f"{r['input_from']}>{r['output_to']}" for k, r in rows.items() if r["unit"] != "fused"} == RESIDUAL[kib]
    assert rows["relu0"]["unit"] == rows["relu1"]["unit"] == "fused" and rows["relu"]["unit"] == "vector"
    add = rows["add"]
    assert add["dram_read_bytes"] == 1024 * add["input_from"].count("dram")


def tokens(t: int, f: int) -> Network:
    return Network.graph("lin", (t, 4), [(Linear("a", in_features=4, out_features=f), None),
                                         (Linear("b", in_features=f, out_features=4), None)])


@pytest.mark.parametrize("t, f, where", [(8, 64, "sram"), (8, 65, "dram"), (4, 128, "sram"), (1, 513, "dram")])
def test_fits_exactly_next_to_the_reserve(t, f, where):
    """1 KiB double buffered: 'a' reads the network input from DRAM, so its output must fit in 1024 - 512."""
    cfg = ArrayConfig(rows=4, cols=4, ifmap_sram_kib=1)
    rows = _rows(simulate(tokens(t, f), cfg))
    assert rows["a"]["output_to"] == where and rows["b"]["input_from"] == where
    assert rows["a"]["dram_write_bytes"] == (0 if where == "sram" else t * f)
    assert rows["b"]["ifmap_dram_read_bytes"] == (0 if where == "sram" else t * f)
    # single buffered, the DRAM-fed layer's working set is the whole SRAM: nothing it writes stays
    single = _rows(simulate(tokens(t, f), cfg.with_(double_buffer=False)))
    assert single["a"]["output_to"] == "dram"


def test_vgg16_does_not_fit_early_and_fits_late():
    rows = _rows(simulate(resolve("vgg16"), ArrayConfig()))
    assert rows["conv1_1"]["output_to"] == "dram" and rows["conv1_1"]["input_from"] == "dram"  # 3.2 MB
    assert rows["relu1_1"]["unit"] == "fused"
    assert rows["pool5"]["output_to"] == "sram" and rows["fc6"]["input_from"] == "sram"
    assert rows["softmax"]["output_to"] == "dram"  # the network's output


def test_on_chip_is_validated_and_off_without_the_output_stage():
    with pytest.raises(ConfigError, match="on_chip"):
        ArrayConfig(on_chip=1)
    rows = _rows(simulate(residual(), ArrayConfig(rows=4, cols=4, ifmap_sram_kib=4, out_bits=32)))
    assert rows["relu0"]["unit"] == "vector" and rows["conv0"]["output_to"] == "dram"
    assert rows["relu"]["input_from"] == "sram"  # vector-unit outputs still stay


# ---- the models -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dataflow", ["ws", "os", "is"])
@pytest.mark.parametrize("kib, double", [(1.5, True), (2.0, True), (4.0, False)])
def test_fast_equals_stepping_on_chip(dataflow, kib, double):
    cfg = ArrayConfig(rows=4, cols=4, dataflow=dataflow, ifmap_sram_kib=kib, double_buffer=double, bandwidth=2)
    fast, step = simulate(residual(), cfg), simulate(residual(), cfg, engine="stepping")
    same = [{k: "nan" if v != v else v for k, v in r.items()} for r in fast.rows]  # NaN: off the array
    assert same == [{k: "nan" if v != v else v for k, v in r.items()} for r in step.rows]
    assert any(r["output_to"] == "sram" for r in fast.rows)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(net=graphs(), cfg=configs)
def test_fast_equals_stepping_on_random_graphs(net, cfg):
    cfg = cfg.with_(bandwidth=2)
    fast, step = simulate(net, cfg), simulate(net, cfg, engine="stepping")
    assert [{k: "nan" if v != v else v for k, v in r.items()} for r in fast.rows] == \
        [{k: "nan" if v != v else v for k, v in r.items()} for r in step.rows]


def test_no_on_chip_is_the_dram_only_model():
    """Every layer priced alone, as before layers stayed on chip: the array layers by fast_layer without
    flags, the rest by vector_layer without places."""
    net, cfg = resolve("resnet18"), ArrayConfig(rows=16, cols=16, on_chip=False)
    rows = _rows(simulate(net, cfg, 2))
    for n in net:
        r, shape = rows[n.name], gemm_shape(n, 2)
        if shape is None:
            v = vector_layer(cfg, n, 2)
            assert (r["cycles"], r["dram_read_bytes"], r["dram_write_bytes"]) == \
                (v["cycles"], v["dram_read_bytes"], v["dram_write_bytes"])
        else:
            run = fast_layer(cfg, *shape)
            assert (r["cycles"], r["dram_read_bytes"], r["dram_write_bytes"]) == \
                (run.cycles, run.dram_read_bytes, run.dram_write_bytes)
        assert r["output_to"] == "dram" and set(r["input_from"].split("+")) == {"dram"}


@pytest.mark.parametrize("name, cycles, read, write, on_cycles, on_read, on_write", [
    # serial folds, 32x32 WS, the default memory; the first three are the numbers before on-chip layers
    ("vgg16", 44_900_901, 654_051_496, 28_643_792, 42_075_354, 568_107_712, 14_451_688),
])
def test_vgg16_numbers(name, cycles, read, write, on_cycles, on_read, on_write):
    cfg = ArrayConfig(pipeline=False)
    off = simulate(resolve(name), cfg.with_(on_chip=False)).totals
    assert (off["cycles"], off["dram_read_bytes"], off["dram_write_bytes"]) == (cycles, read, write)
    on = simulate(resolve(name), cfg).totals
    assert on["cycles"] == on_cycles
    assert (on["dram_read_bytes"], on["dram_write_bytes"]) == (on_read, on_write)


# ---- the surfaces: CLI, sweep spec ------------------------------------------------------------------------


def test_cli_on_chip_switch():
    import json

    from click.testing import CliRunner

    from accelsim.cli import main

    runner = CliRunner()
    on = json.loads(runner.invoke(main, ["simulate", "alexnet", "--format", "json"]).output)
    off = json.loads(runner.invoke(main, ["simulate", "alexnet", "--no-on-chip", "--format", "json"]).output)
    assert on["config"]["on_chip"] is True and off["config"]["on_chip"] is False
    assert {r["output_to"] for r in off["layers"]} == {"dram"}
    assert {"sram", "fused"} <= {r["output_to"] for r in on["layers"]}
    assert on["totals"]["dram_write_bytes"] < off["totals"]["dram_write_bytes"]
    assert on["totals"]["cycles"] < off["totals"]["cycles"]
    table = runner.invoke(main, ["simulate", "alexnet"]).output
    assert "In>Out" in table and "dram>sram" in table and "fused into the output stage" in table


def test_sweep_spec_on_chip_axis():
    from accelsim.dse.spec import SpecError, spec_from_mapping

    spec = spec_from_mapping({"model": "lenet5", "on_chip": [True, False]})
    assert [cfg["on_chip"] for _, cfg in spec.configs()] == [True, False] and spec.size == 2
    assert all(cfg["on_chip"] for _, cfg in spec_from_mapping({"model": "lenet5"}).configs())
    with pytest.raises(SpecError, match="on_chip"):
        spec_from_mapping({"model": "lenet5", "on_chip": "yes"})


def test_sweep_stores_on_chip_and_the_layer_places(tmp_path):
    from accelsim.api import sweep
    from accelsim.dse.store import load_layers, load_results

    db = tmp_path / "r.db"
    sweep({"model": "alexnet", "array": "16x16", "on_chip": [True, False]}, db, workers=0)
    points = load_results(db).set_index("on_chip")
    assert sorted(points.index) == [False, True]
    assert points.loc[True, "dram_bytes"] < points.loc[False, "dram_bytes"]
    assert points.loc[True, "cycles"] == simulate(resolve("alexnet"), ArrayConfig(rows=16, cols=16)).totals["cycles"]
    layers = load_layers(db, points.loc[True, "key"]).set_index("layer")
    assert layers.loc["relu1", "output_to"] == "fused" and layers.loc["conv2", "input_from"] in ("dram", "sram")
    off = load_layers(db, points.loc[False, "key"])
    assert set(off["output_to"]) == {"dram"}
