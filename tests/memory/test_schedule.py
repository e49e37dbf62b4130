"""The load/compute/write recurrence: by hand, and the run-extrapolating solver against a plain loop, for
serial folds (O = B = F) and pipelined ones (occupancy O and release B shorter than the fold's F)."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from accelsim.mapping.folds import Loop
from accelsim.memory.schedule import schedule, schedule_loops


def naive(F, L, W, double, occ=None, B=None):
    """The contract's recurrence, one fold at a time, written straight from the doc (O, B default F: serial)."""
    occ, B = occ or F, B or F
    le = nxt = be1 = be2 = we = ce = 0
    cs_all = []
    for f, o, b, l_, w in zip(F, occ, B, L, W, strict=True):
        ls = max(le, be2) if double else be1
        le = ls + l_
        cs = max(nxt, le)
        nxt, ce = cs + o, cs + f
        be2, be1 = be1, cs + b
        we = max(ce, we) + w
        cs_all.append(cs)
    return cs_all, ce, we


def test_double_vs_single_buffering_by_hand():
    F, L, W = [3, 3, 3], [4, 4, 4], [0, 0, 0]
    db = schedule(F, L, W, True)
    assert db.compute_start.tolist() == [4, 8, 12] and db.cycles == 15
    sb = schedule(F, L, W, False)
    assert sb.compute_start.tolist() == [4, 11, 18] and sb.cycles == 21


def test_writes_end_the_layer():
    s = schedule([2, 2], [0, 0], [1, 10], True)
    assert s.compute_start.tolist() == [0, 2] and s.compute_end == 4 and s.write_end == 14 and s.cycles == 14


def test_compute_bound_folds_hide_their_loads():
    # double buffering: load 1 (2 cycles) overlaps compute 0 (5 cycles); load 2 waits for compute 0's half
    s = schedule([5, 5, 5], [2, 2, 2], [0, 0, 3], True)
    assert s.compute_start.tolist() == [2, 7, 12] and s.compute_end == 17 and s.cycles == 20


segment = st.tuples(st.integers(1, 400), st.integers(1, 9), st.integers(0, 12), st.lists(st.integers(0, 12), min_size=1,
                                                                                         max_size=3))


@settings(max_examples=150, deadline=None)
@given(st.lists(segment, min_size=1, max_size=8), st.booleans())
def test_run_extrapolation_is_exact(segments, double):
    """Long runs of identical folds (any mix of load-, compute- and write-bound) match a plain loop; the writes
    within a run may differ (a C block's last k-tile writes, the others do not)."""
    F, L, W = [], [], []
    for count, f, l_, ws in segments:
        F += [f] * count
        L += [l_] * count
        W += [ws[i % len(ws)] for i in range(count)]
    s = schedule(np.array(F), np.array(L), np.array(W), double)
    cs, ce, we = naive(F, L, W, double)
    assert s.compute_start.tolist() == cs
    assert s.compute_end == ce and s.cycles == max(ce, we)


@settings(max_examples=150, deadline=None)
@given(st.lists(segment, min_size=1, max_size=8), st.booleans(), st.integers(0, 2**32 - 1))
def test_pipelined_run_extrapolation_is_exact(segments, double, seed):
    """Pipelined folds: occupancy O <= F and release B <= F per run, long runs match a plain loop."""
    rng = np.random.default_rng(seed)
    F, occ, B, L, W = [], [], [], [], []
    for count, f, l_, ws in segments:
        o, b = int(rng.integers(1, f + 1)), int(rng.integers(1, f + 1))
        F, occ, B, L = F + [f] * count, occ + [o] * count, B + [b] * count, L + [l_] * count
        W += [ws[i % len(ws)] for i in range(count)]
    s = schedule(np.array(F), np.array(L), np.array(W), double, np.array(occ), np.array(B))
    cs, ce, we = naive(F, L, W, double, occ, B)
    assert s.compute_start.tolist() == cs
    assert s.compute_end == ce and s.cycles == max(ce, we)


def test_pipelined_run_by_hand():
    """n identical compute-bound folds: n * O + (F - O) cycles (one fill and drain); loads hide behind O."""
    s = schedule([10] * 5, [1] * 5, [0] * 5, True, [4] * 5, [6] * 5)
    assert s.compute_start.tolist() == [1, 5, 9, 13, 17] and s.compute_end == 27
    # load-bound: the buffer is released B after the first beat, so a load of 7 sets the pace
    s = schedule([10] * 4, [7] * 4, [0] * 4, True, [4] * 4, [6] * 4)
    assert s.compute_start.tolist() == [7, 14, 21, 28]


def expand(loops, F, L, W):
    """Per-fold F, L, W of nested Loops, by direct expansion."""
    out = ([], [], [])
    for node in loops:
        for _ in range(node.count):
            if isinstance(node.body, int):
                for seq, vals in zip(out, (F, L, W), strict=True):
                    seq.append(vals[node.body])
            else:
                for seq, more in zip(out, expand(node.body, F, L, W), strict=True):
                    seq += more
    return out


@st.composite
def nests(draw, depth=0):
    """Random nested Loops over up to 6 fold classes: long loops, short ones, and single folds."""
    count = draw(st.sampled_from([1, 2, 3, 5, 19]) if depth else st.integers(1, 3))
    if depth == 3 or draw(st.integers(0, 3)) == 0:
        return Loop(count, draw(st.integers(0, 5)))
    return Loop(count, tuple(draw(st.lists(nests(depth + 1), min_size=1, max_size=3))))


classes = st.lists(st.integers(0, 40), min_size=6, max_size=6)


@settings(max_examples=200, deadline=None)
@given(st.lists(nests(), min_size=1, max_size=3), classes.map(lambda v: [x + 1 for x in v]), classes, classes,
       st.booleans(), st.integers(0, 2**32 - 1))
def test_nested_loop_extrapolation_is_exact_pipelined(loops, F, L, W, double, seed):
    """As below with per-class occupancy and release shorter than the fold."""
    rng = np.random.default_rng(seed)
    occ = [int(rng.integers(1, f + 1)) for f in F]
    B = [int(rng.integers(1, f + 1)) for f in F]
    loops = tuple(loops)
    f, l_, w = expand(loops, F, L, W)
    o, b, _ = expand(loops, occ, B, W)
    cs, ce, we = naive(f, l_, w, double, o, b)
    s = schedule_loops(loops, F, L, W, double, occupancy=occ, release=B)
    assert s.compute_start is None and s.compute_end == ce and s.cycles == max(ce, we)
    r = schedule_loops(loops, F, L, W, double, folds=len(f), occupancy=occ, release=B)
    assert r.compute_start.tolist() == cs and r.compute_end == ce and r.write_end == s.write_end


@settings(max_examples=200, deadline=None)
@given(st.lists(nests(), min_size=1, max_size=3), classes.map(lambda v: [x + 1 for x in v]), classes, classes,
       st.booleans())
def test_nested_loop_extrapolation_is_exact(loops, F, L, W, double):
    """The nested evaluation (periods at every level, writes carried as prefix sums) equals a plain loop over
    the expanded folds, with and without recording every compute start."""
    loops = tuple(loops)
    f, l_, w = expand(loops, F, L, W)
    cs, ce, we = naive(f, l_, w, double)
    s = schedule_loops(loops, F, L, W, double)
    assert s.compute_start is None and s.compute_end == ce and s.cycles == max(ce, we)
    r = schedule_loops(loops, F, L, W, double, folds=len(f))
    assert r.compute_start.tolist() == cs and r.compute_end == ce and r.write_end == s.write_end


def test_a_period_of_two_iterations_is_extrapolated_exactly():
    """Pipelined folds whose double-buffered loads wait for the release of the fold two back settle to a
    pattern of two (here 1 and 2 cycles between first beats): a loop of 10^6 such folds, and a loop over an
    odd body of them, are extrapolated in blocks of two, exactly and at once."""
    F, occ, B, L, W = [3], [1], [2], [1], [1]
    n = 10 ** 5
    s = schedule_loops((Loop(n, 0),), F, L, W, True, folds=n, occupancy=occ, release=B)
    cs, ce, we = naive(F * n, L * n, W * n, True, occ * n, B * n)
    assert s.compute_start.tolist() == cs and s.compute_end == ce and s.cycles == max(ce, we)
    assert cs[:6] == [1, 2, 4, 5, 7, 8]  # fold f starts at 1 + 3f/2 (f even), 2 + 3(f-1)/2 (f odd)
    huge = 10 ** 12  # only extrapolation gets through this many
    h = schedule_loops((Loop(huge, 0),), F, L, W, True, occupancy=occ, release=B)
    assert h.compute_end == 2 + 3 * (huge - 2) // 2 + 3 and h.write_end == h.compute_end + 1
    nested = (Loop(n // 9, (Loop(9, 0),)),)
    m = n // 9 * 9
    cs, ce, we = naive(F * m, L * m, W * m, True, occ * m, B * m)
    r = schedule_loops(nested, F, L, W, True, occupancy=occ, release=B)
    assert r.compute_end == ce and r.cycles == max(ce, we)
