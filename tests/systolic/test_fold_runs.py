"""Folds as runs: ``FoldRuns`` is ``enumerate_folds`` compressed, and the run-based fast model equals the
per-fold evaluation (``per_fold_layer``: every fold enumerated, priced and scheduled as arrays) on every
number it reports, on random shapes, arrays, SRAMs, bandwidths and buffering, serial and pipelined."""

import time

import numpy as np
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from accelsim.hardware.config import ArrayConfig
from accelsim.mapping.folds import Loop, enumerate_folds, fold_runs, runs_for, spans, stream_chunk
from accelsim.mapping.space import Mapping, orders
from accelsim.memory.traffic import first_use, fold_traffic
from accelsim.systolic.fast import fast_layer, per_fold_layer
from accelsim.systolic.simulate import simulate
from accelsim.workload import resolve


def flatten(loops: tuple[Loop, ...]) -> list[int]:
    """The class of every fold of a Loop sequence, by direct expansion."""
    out: list[int] = []
    for node in loops:
        for _ in range(node.count):
            out += [node.body] if isinstance(node.body, int) else flatten(node.body)
    return out


@pytest.mark.parametrize("length, size, want", [
    (7, 3, [(0, 1, 3, True, False), (1, 1, 3, False, False), (2, 1, 1, False, True)]),
    (6, 3, [(0, 1, 3, True, False), (1, 1, 3, False, True)]),
    (2, 3, [(0, 1, 2, True, True)]),
    (100, 7, [(0, 1, 7, True, False), (1, 13, 7, False, False), (14, 1, 2, False, True)]),
])
def test_spans_by_hand(length, size, want):
    assert [(s.index, s.count, s.size, s.first, s.last) for s in spans(length, size)] == want


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["os", "ws", "is"]), st.integers(1, 40), st.integers(1, 40), st.integers(1, 40),
       st.integers(1, 7), st.integers(1, 7), st.none() | st.integers(1, 9), st.integers(1, 3), st.booleans())
def test_fold_runs_compress_enumerate_folds(df, m, k, n, R, C, chunk, groups, swapped):
    """Every fold's class representative has its tile lengths, k-tile flags and first uses of its A and B tiles,
    and the Loops list the folds' classes in fold order; under either fold order of the mapping."""
    mapping = Mapping(df, orders(df)[int(swapped)])
    runs = fold_runs(mapping, m, k, n, R, C, chunk)
    folds = enumerate_folds(mapping, m, k, n, R, C, chunk)
    assert runs.order == folds.order == mapping.order and runs.expand().order == mapping.order
    expanded = runs.expand()
    assert len(runs) == len(folds) == int(runs.counts.sum()) and runs.chunk == folds.chunk
    for ax in ("m0", "mt", "k0", "kt", "n0", "nt"):
        assert getattr(expanded, ax).tolist() == getattr(folds, ax).tolist()
    cls = np.array(flatten(runs.loops(groups)))
    assert len(cls) == len(folds) * groups and (cls.reshape(groups, -1) == cls[:len(folds)]).all()  # GEMM by GEMM
    cls = cls[:len(folds)]
    assert np.bincount(cls, minlength=len(runs.counts)).tolist() == runs.counts.tolist()
    reps = runs.classes
    for name in ("mt", "kt", "nt", "st", "first_k", "last_k"):
        assert (getattr(reps, name)[cls] == getattr(folds, name)).all(), name
    # the reuse rule's "first use in fold order", by keys over all folds and over the representatives
    assert (first_use(reps.m0, reps.k0)[cls] == first_use(folds.m0, folds.k0)).all()
    assert (first_use(reps.k0, reps.n0)[cls] == first_use(folds.k0, folds.n0)).all()
    for c in range(len(reps)):  # the representative is the class's first fold
        i = int(np.flatnonzero(cls == c)[0])
        assert (reps.m0[c], reps.k0[c], reps.n0[c]) == (folds.m0[i], folds.k0[i], folds.n0[i])


@st.composite
def layers(draw):
    """A random layer on a random array and memory: tiny SRAMs (refetches, short chunks) to roomy ones."""
    R, C = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    double = draw(st.booleans())
    halves = 2 if double else 1
    data_bits = draw(st.sampled_from([8, 16]))
    acc_bits = draw(st.sampled_from([b for b in (16, 32) if b >= data_bits]))
    tile_kib = halves * R * C * (data_bits // 8) / 1024
    psum_kib = halves * C * max(R, C) * (acc_bits // 8) / 1024
    cfg = ArrayConfig(
        rows=R, cols=C, dataflow=draw(st.sampled_from(["os", "ws", "is"])), data_bits=data_bits, acc_bits=acc_bits,
        out_bits=draw(st.sampled_from([8, acc_bits])), double_buffer=double,
        ifmap_sram_kib=tile_kib * draw(st.sampled_from([1, 2, 5, 40, 4000])),
        filter_sram_kib=tile_kib * draw(st.sampled_from([1, 2, 5, 40, 4000])),
        ofmap_sram_kib=psum_kib * draw(st.sampled_from([1, 2, 3, 7, 1000])),
        bandwidth=draw(st.sampled_from([0.01, 1 / 3, 0.5, 1.0, 2.5, 7.0, 64.0, 1e4])), pipeline=draw(st.booleans()),
    )
    m, k, n = (draw(st.integers(1, 90)) for _ in range(3))
    df = draw(st.sampled_from(["os", "ws", "is"]))
    chunk = None if df == "os" else draw(st.none() | st.integers(1, stream_chunk(cfg)))
    mapping = draw(st.none() | st.just(Mapping(df, draw(st.sampled_from(orders(df))), chunk)))
    return cfg, m, k, n, draw(st.integers(1, 3)), mapping


@settings(max_examples=250, deadline=None)
@given(layers())
def test_runs_equal_the_per_fold_evaluation(layer):
    """The config's fixed mapping or a random one (any dataflow, either order, any chunk)."""
    cfg, m, k, n, groups, mapping = layer
    runs = fast_layer(cfg, m, k, n, groups, mapping=mapping)
    folds = per_fold_layer(cfg, m, k, n, groups, mapping=mapping)
    assert runs.mapping == folds.mapping
    assert runs.cycles == folds.cycles and runs.compute_cycles == folds.compute_cycles
    assert runs.stall_cycles == folds.stall_cycles and runs.folds == folds.folds
    assert runs.traffic == folds.traffic and runs.stream_beats == folds.stream_beats
    assert runs.peak_dram_bytes_per_cycle == folds.peak_dram_bytes_per_cycle
    assert "fold_cycles" not in vars(runs) and "_expanded" not in vars(runs)  # nothing per fold until asked
    assert runs.fold_cycles.tolist() == folds.fold_cycles.tolist()
    assert runs.compute_start.tolist() == folds.compute_start.tolist()
    event(f"stalls: {folds.stall_cycles > 0}, folds > 100: {folds.folds > 100}, pipelined: {cfg.pipeline}")
    event(f"refetch: {folds.traffic['ifmap_dram_bytes'] > m * k * groups * cfg.data_bytes}")


def test_traffic_of_the_classes_sums_to_the_folds():
    cfg = ArrayConfig(rows=3, cols=2, dataflow="ws", ofmap_sram_kib=0.1, ifmap_sram_kib=0.05)
    runs = runs_for(cfg, 50, 7, 5)
    per_class = fold_traffic(cfg, runs.classes).totals(runs.counts, 2)
    assert per_class == fold_traffic(cfg, runs.expand()).tile(2).totals()
    assert stream_chunk(cfg) == 6 and len(runs.classes) == 3 * 3 * 3  # first/middle/last of m-chunks, n, k


def test_vgg19_on_a_1x1_array_is_runs_not_folds():
    """The largest zoo mapping (fc6 alone is 102,760,448 WS folds) simulates in well under a second a
    dataflow; the per-fold arrays were ~19 GB."""
    net = resolve("vgg19")
    for df in ("ws", "os", "is"):
        start = time.perf_counter()
        sim = simulate(net, ArrayConfig(rows=1, cols=1, dataflow=df))
        took = time.perf_counter() - start
        assert sim.totals["folds"] > 10 ** 7 and took < 5, took
        fc6 = sim.runs["fc6"]
        assert isinstance(fc6.compute_cycles, int) and "_expanded" not in vars(fc6)  # no per-fold arrays
    ws = simulate(net, ArrayConfig(rows=1, cols=1, dataflow="ws", pipeline=False)).runs["fc6"]
    assert ws.folds == 25088 * 4096 and ws.compute_cycles == ws.folds * 3  # 2R + C + S_f - 1 = 3, S_f = 1
    ws = simulate(net, ArrayConfig(rows=1, cols=1, dataflow="ws")).runs["fc6"]
    assert ws.compute_cycles == ws.folds * 1 + 3 - 1  # pipelined: max(R, S_f) = 1 a fold, one fill and drain
