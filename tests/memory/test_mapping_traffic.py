"""DRAM reads under every fold order (docs/microarchitecture.md, "Mappings"): the outermost loop's operand is
reused block by block, the other whole. Hand-computed cases where the swapped order wins (and one where it
loses), and an independent direct-loop count over random shapes and mappings."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accelsim.hardware.config import ArrayConfig, ConfigError
from accelsim.mapping.folds import enumerate_folds, folds_for, mapping_for, stream_chunk
from accelsim.mapping.space import Mapping, orders
from accelsim.memory.traffic import fold_traffic
from accelsim.systolic.fast import fast_layer
from accelsim.systolic.stepping import random_operands, step_layer


def cfg(dataflow: str, ifmap_bytes: int, filter_bytes: int, ofmap_kib: float = 1.0) -> ArrayConfig:
    """A 2x2 int8 array, single-buffered (the whole SRAM is usable), with SRAMs of the given bytes."""
    return ArrayConfig(rows=2, cols=2, dataflow=dataflow, double_buffer=False, ifmap_sram_kib=ifmap_bytes / 1024,
                       filter_sram_kib=filter_bytes / 1024, ofmap_sram_kib=ofmap_kib)


def reads(c: ArrayConfig, m: int, k: int, n: int, mapping: Mapping) -> tuple[int, int]:
    """(A, B) DRAM bytes of the fast model, checked against the stepping model's."""
    fast = fast_layer(c, m, k, n, mapping=mapping).traffic
    step = step_layer(c, random_operands(c, m, k, n), mapping=mapping).traffic
    assert fast == step
    return fast["ifmap_dram_bytes"], fast["filter_dram_bytes"]


# (dataflow, M, K, N, ifmap bytes, filter bytes, chunk, {order: (A bytes, B bytes)}), every operand int8
HAND = [
    # OS 4x4 @ 4x8, A = 16 bytes, B = 32 bytes, 16 bytes per SRAM. m>n: A's 2x4 m-tile block (8) fits -> A once
    # (16); B whole (32) does not -> B once per m-tile (2 x 32). n>m: B's 4x2 n-tile block (8) fits -> B once
    # (32); A whole (16) fits -> A once (16). The swapped order reads 48 bytes instead of 80.
    ("os", 4, 4, 8, 16, 16, None, {("m", "n"): (16, 64), ("n", "m"): (16, 32)}),
    # the same with an 8-byte ifmap SRAM: n>m's whole A no longer fits -> A once per n-tile (4 x 16): 96 > 80
    ("os", 4, 4, 8, 8, 16, None, {("m", "n"): (16, 64), ("n", "m"): (64, 32)}),
    # WS 4x4 @ 4x8 with S = 2. m>n>k: A's 2x4 chunk block fits -> 16; B whole does not -> once per m-chunk
    # (2 x 32). n>m>k: B's 4x2 block fits -> 32; A whole (16) fits -> 16. 48 instead of 80.
    ("ws", 4, 4, 8, 16, 16, 2, {("m", "n", "k"): (16, 64), ("n", "m", "k"): (16, 32)}),
    # IS 8x4 @ 4x4 (A = 32 bytes, B = 16) with S = 2. n>m>k: B's 4x2 chunk block fits -> 16; A whole (32) does
    # not -> once per n-chunk (2 x 32). m>n>k: A's 2x4 m-tile block fits -> 32; B whole (16) fits -> 16.
    ("is", 8, 4, 4, 16, 16, 2, {("n", "m", "k"): (64, 16), ("m", "n", "k"): (32, 16)}),
]


@pytest.mark.parametrize("df, m, k, n, ifmap, filt, chunk, want", HAND)
def test_swapped_order_dram_reads_by_hand(df, m, k, n, ifmap, filt, chunk, want):
    c = cfg(df, ifmap, filt)
    for order, (a, b) in want.items():
        assert reads(c, m, k, n, Mapping(df, order, chunk)) == (a, b), order


def direct_reads(c: ArrayConfig, m: int, k: int, n: int, mapping: Mapping) -> tuple[int, int]:
    """DRAM bytes of A and B by walking the folds in plain nested loops (not ``enumerate_folds``): a tile is
    fetched unless resident; it stays once fetched if its operand's reuse footprint fits the usable SRAM."""
    df = mapping.flow
    chunk = mapping_for(c, mapping).chunk if df.chunked else k
    size = {df.rows: c.rows, df.cols: c.cols, df.streamed: chunk}
    length = {"m": m, "k": k, "n": n}
    usable = {w: c.sram_bytes(w) // (2 if c.double_buffer else 1) for w in ("ifmap", "filter")}
    order = list(mapping.order or ())
    loops = order if len(order) == 3 else ["k", *order]
    resident: set[tuple] = set()
    got = {"A": 0, "B": 0}

    def walk(depth: int, at: dict[str, int]) -> None:
        if depth == 3:
            t = {ax: (at[ax], min(size[ax], length[ax] - at[ax])) for ax in "mkn"}
            (m0, mt), (k0, kt), (n0, nt) = t["m"], t["k"], t["n"]
            a_foot = mt * k if order[0] == "m" else m * k
            b_foot = k * n if order[0] == "m" else k * nt
            for name, key, elems, foot, which in (("A", (m0, k0), mt * kt, a_foot, "ifmap"),
                                                  ("B", (k0, n0), kt * nt, b_foot, "filter")):
                if (name, key) in resident:
                    continue
                got[name] += elems * c.data_bytes
                if foot * c.data_bytes <= usable[which]:
                    resident.add((name, key))
            return
        ax = loops[depth]
        for start in range(0, length[ax], size[ax]):
            walk(depth + 1, {**at, ax: start})

    walk(0, {})
    return got["A"], got["B"]


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(["os", "ws", "is"]), st.integers(1, 3), st.integers(1, 3), st.booleans(),
       st.integers(1, 12), st.integers(1, 12), st.integers(1, 12), st.integers(1, 40), st.integers(1, 40),
       st.booleans(), st.data())
def test_fold_traffic_equals_a_direct_loop_count(df, R, C, double, m, k, n, ifmap_tiles, filter_tiles, swapped,
                                                 data):
    halves = 2 if double else 1
    c = ArrayConfig(rows=R, cols=C, dataflow=df, double_buffer=double, ifmap_sram_kib=halves * R * C * ifmap_tiles
                    / 1024, filter_sram_kib=halves * R * C * filter_tiles / 1024,
                    ofmap_sram_kib=halves * C * max(R, C) * 4 * data.draw(st.integers(1, 4)) / 1024)
    chunk = None if df == "os" else data.draw(st.none() | st.integers(1, stream_chunk(c)))
    mapping = Mapping(df, orders(df)[int(swapped)], chunk)
    t = fold_traffic(c, folds_for(c, m, k, n, mapping)).totals()
    assert (t["ifmap_dram_bytes"], t["filter_dram_bytes"]) == direct_reads(c, m, k, n, mapping)


def test_chunks_above_the_ofmap_sram_are_refused():
    c = cfg("ws", 64, 64, ofmap_kib=16 / 1024)  # 16 bytes: S = 16 // (2 * 4) = 2
    assert stream_chunk(c) == 2 and folds_for(c, 5, 4, 2, Mapping("ws", chunk=2)).chunk == 2
    with pytest.raises(ConfigError, match=r"mapping\.chunk: S=3 exceeds the 2 beats"):
        folds_for(c, 5, 4, 2, Mapping("ws", chunk=3))
    with pytest.raises(ConfigError, match=r"mapping\.chunk"):
        fast_layer(c, 5, 4, 2, mapping=Mapping("is", ("m", "n", "k"), 3))


def test_mapping_and_the_older_dataflow_keyword():
    c = cfg("os", 64, 64)
    ws = fast_layer(c, 5, 4, 6, dataflow="ws")
    assert ws.mapping == Mapping("ws", chunk=stream_chunk(c)) and ws.dataflow == "ws"
    assert fast_layer(c, 5, 4, 6, mapping="ws").cycles == ws.cycles == fast_layer(c, 5, 4, 6, mapping=ws.mapping).cycles
    assert fast_layer(c, 5, 4, 6).mapping == Mapping("os")
    with pytest.raises(ValueError, match="not both"):
        fast_layer(c, 5, 4, 6, mapping="ws", dataflow="ws")
    folds = enumerate_folds(Mapping("ws", ("n", "m", "k"), 2), 5, 4, 6, 2, 2)
    assert folds.mapping == Mapping("ws", ("n", "m", "k"), 2) and folds.n0.tolist()[:6] == [0] * 6
