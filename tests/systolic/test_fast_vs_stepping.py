"""The fast model equals the stepping model exactly, and both equal A @ B (wrapped), on random problems.

Random GEMM shapes (smaller and larger than the array), array sizes down to 1x1, 1xN, Nx1, all
three dataflows, groups, single and double buffering, bandwidths from a third of a byte up, and
SRAMs from the minimum the config accepts to roomy: tiny ofmap SRAMs cut the WS/IS streamed axis
into chunks of a few beats with a partial last chunk, tiny ifmap/filter SRAMs force refetches; folds
issued serially and pipelined (docs/microarchitecture.md, "Issue"). Pipelined never takes more cycles
than serial, layer by layer. The same over random mappings (docs/microarchitecture.md, "Mappings"): any
dataflow, either fold order, any chunk S from 1 to ``stream_chunk``.
"""

import numpy as np
from hypothesis import event, given, settings
from hypothesis import strategies as st

from accelsim.hardware.arith import wrap
from accelsim.hardware.config import ArrayConfig
from accelsim.mapping.folds import folds_for, stream_chunk
from accelsim.mapping.space import Mapping, orders
from accelsim.systolic.fast import fast_layer
from accelsim.systolic.stepping import random_operands, step_layer


@st.composite
def problems(draw, chunked: bool = False):
    """A random problem; ``chunked``: WS/IS with a tiny ofmap SRAM and a streamed axis of several chunks, the
    last one partial whenever the chunk is longer than one beat."""
    R, C = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    double = draw(st.booleans())
    halves = 2 if double else 1
    data_bits = draw(st.sampled_from([8, 16]))
    acc_bits = draw(st.sampled_from([b for b in (8, 16, 32) if b >= data_bits]))
    db, ab = data_bits // 8, acc_bits // 8
    tile_kib = halves * R * C * db / 1024
    psum_kib = [halves * c * max(R, C) * ab / 1024 for c in (1, 2, 3)]

    def sram(minimum, *more, roomy=True):
        return draw(st.sampled_from([minimum, 2 * minimum, *more, *([64.0] if roomy else [])]))

    cfg = ArrayConfig(
        rows=R, cols=C, dataflow=draw(st.sampled_from(["ws", "is"] if chunked else ["os", "ws", "is"])),
        data_bits=data_bits, acc_bits=acc_bits, out_bits=draw(st.sampled_from([8, acc_bits])), double_buffer=double,
        ifmap_sram_kib=sram(tile_kib, 4 * tile_kib), filter_sram_kib=sram(tile_kib, 4 * tile_kib),
        ofmap_sram_kib=sram(*psum_kib, roomy=not chunked),
        bandwidth=draw(st.sampled_from([1 / 3, 0.5, 1.0, 2.5, 7.0, 64.0])), pipeline=draw(st.booleans()),
    )
    m, k, n = (draw(st.integers(1, 13)) for _ in range(3))
    if chunked:
        S = stream_chunk(cfg)
        streamed = S * draw(st.integers(1, 2) if S > 1 else st.integers(2, 6))
        streamed += draw(st.integers(1, S - 1)) if S > 1 else 0
        m, n = (streamed, n) if cfg.dataflow == "ws" else (m, streamed)
    return cfg, m, k, n, draw(st.integers(1, 2)), draw(st.integers(0, 2**32 - 1))


@st.composite
def mappings(draw, cfg: ArrayConfig):
    """A random legal mapping on ``cfg``: any dataflow, either order, a chunk from 1 to ``stream_chunk(cfg)``
    (or unset: the most)."""
    df = draw(st.sampled_from(["os", "ws", "is"]))
    order = draw(st.sampled_from(orders(df)))
    chunk = None if df == "os" else draw(st.none() | st.integers(1, stream_chunk(cfg)))
    return Mapping(df, order, chunk)


def check_fast_equals_stepping(problem, mapping: Mapping | None = None):
    cfg, m, k, n, groups, seed = problem
    ops = random_operands(cfg, m, k, n, groups, seed)
    fast = fast_layer(cfg, m, k, n, groups, operands=ops, mapping=mapping)
    step = step_layer(cfg, ops, mapping=mapping)
    assert fast.cycles == step.cycles
    assert fast.compute_cycles == step.compute_cycles and fast.stall_cycles == step.stall_cycles
    assert fast.compute_start.tolist() == step.compute_start.tolist()
    assert fast.fold_cycles.tolist() == step.fold_cycles.tolist()
    assert fast.traffic == step.traffic and fast.stream_beats == step.stream_beats
    assert fast.peak_dram_bytes_per_cycle == step.peak_dram_bytes_per_cycle
    folds = folds_for(cfg, m, k, n, mapping)
    assert fast.mapping is not None and fast.mapping == step.mapping
    assert (fast.mapping.dataflow, fast.mapping.order) == (folds.dataflow.name, folds.order)
    if mapping is not None:
        assert fast.mapping.order == mapping.order and mapping.chunk in (None, fast.mapping.chunk)
    assert fast.folds == step.folds == len(folds) * groups
    # the contract's column: fold cycles (2R + C + S_f - 1 etc.) serial; pipelined O_f, the last fold's F
    F = folds.cycles.tolist() * groups
    occ = folds.dataflow.occupancy(cfg.rows, folds.st).tolist() * groups if cfg.pipeline else F
    assert fast.fold_cycles.tolist() == occ[:-1] + F[-1:]
    assert fast.compute_cycles == sum(occ[:-1]) + F[-1]
    for (A, B), f_out, s_out, f_cyc, s_cyc in zip(ops, fast.outputs, step.outputs, fast.output_cycles,
                                                  step.output_cycles, strict=True):
        want = wrap(np.asarray(A, dtype=np.int64) @ np.asarray(B, dtype=np.int64), cfg.acc_bits)
        assert np.array_equal(f_out, want) and np.array_equal(s_out, want)
        assert np.array_equal(f_cyc, s_cyc) and (s_cyc >= 0).all() and (s_cyc < step.cycles).all()
    assert step.cycles >= -(-step.macs // cfg.pes)
    gaps = step.compute_start[1:] - (step.compute_start[:-1] + step.fold_cycles[:-1])
    event(f"array waits for DRAM between folds: {bool((gaps > 0).any())}, pipelined: {cfg.pipeline}")
    streamed = folds.dataflow.stream_length(m, k, n)
    chunked = folds.dataflow.chunked and folds.chunk < streamed
    event(f"chunked: {chunked}, partial chunk: {chunked and streamed % folds.chunk != 0}")
    refetch = (step.traffic["ifmap_dram_bytes"] > m * k * groups * cfg.data_bytes
               or step.traffic["filter_dram_bytes"] > k * n * groups * cfg.data_bytes)
    event(f"refetch: {refetch}")


@settings(max_examples=120, deadline=None)
@given(problems())
def test_fast_equals_stepping_and_numpy(problem):
    check_fast_equals_stepping(problem)


@settings(max_examples=80, deadline=None)
@given(problems(chunked=True))
def test_fast_equals_stepping_with_small_partial_chunks(problem):
    check_fast_equals_stepping(problem)


@settings(max_examples=150, deadline=None)
@given(problems(), st.data())
def test_fast_equals_stepping_under_random_mappings(problem, data):
    """Any dataflow (whatever the config's), either fold order, any chunk: cycles, compute cycles, every fold's
    start and cycles, every output and its cycle, every traffic column."""
    mapping = data.draw(mappings(problem[0]))
    event(f"mapping: {mapping.dataflow} {'fixed' if mapping.default_order else 'swapped'} order")
    check_fast_equals_stepping(problem, mapping)


@settings(max_examples=60, deadline=None)
@given(problems(chunked=True), st.data())
def test_fast_equals_stepping_with_swapped_orders_and_small_chunks(problem, data):
    """The swapped order of the config's WS/IS with a chunk below the most: several chunks, a partial last one."""
    cfg = problem[0]
    chunk = data.draw(st.integers(1, stream_chunk(cfg)))
    check_fast_equals_stepping(problem, Mapping(cfg.dataflow, orders(cfg.dataflow)[1], chunk))


def test_timing_without_numbers_matches():
    cfg = ArrayConfig(rows=4, cols=3, dataflow="ws", ofmap_sram_kib=0.05, bandwidth=3)  # S = 25 // 12 = 2 rows
    fast = fast_layer(cfg, 30, 10, 7, 2)
    step = step_layer(cfg, random_operands(cfg, 30, 10, 7, 2))
    assert fast.outputs is None and fast.cycles == step.cycles and fast.traffic == step.traffic
    assert fast.folds == 2 * 15 * 3 * 3  # groups x m-chunks x n-tiles x k-tiles
    assert fast.stream_beats == 2 * 30 * 3 * 3 and "psum_dram_bytes" not in fast.traffic


@settings(max_examples=60, deadline=None)
@given(problems(), st.data())
def test_pipelined_never_slower_than_serial(problem, data):
    """Per layer (the stepping model on small shapes, the fast model on larger ones): pipelined cycles <=
    serial cycles, the same traffic, and the same compute cycles when the array has a single fold."""
    cfg, m, k, n, groups, seed = problem
    ops = random_operands(cfg, m, k, n, groups, seed)
    serial, pipe = (step_layer(cfg, ops, pipeline=p) for p in (False, True))
    assert pipe.cycles <= serial.cycles and pipe.traffic == serial.traffic
    assert pipe.compute_cycles <= serial.compute_cycles
    if pipe.folds == 1:
        assert pipe.cycles == serial.cycles
    big = [data.draw(st.integers(1, 600)) for _ in range(3)]
    fs, fp = (fast_layer(cfg, *big, groups, pipeline=p) for p in (False, True))
    assert fp.cycles <= fs.cycles and fp.compute_cycles <= fs.compute_cycles and fp.traffic == fs.traffic
