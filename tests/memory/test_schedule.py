"""The load/compute/write recurrence: by hand, and the run-extrapolating solver against a plain loop."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from accelsim.mapping.folds import Loop
from accelsim.memory.schedule import schedule, schedule_loops


def naive(F, L, W, double):
    """The contract's recurrence, one fold at a time, written straight from the doc."""
    le = ce1 = ce2 = we = 0
    cs_all = []
    for f, l_, w in zip(F, L, W, strict=True):
        if double:
            ls = max(le, ce2)
            le = ls + l_
            cs = max(ce1, le)
        else:
            ls = ce1
            le = ls + l_
            cs = le
        ce2, ce1 = ce1, cs + f
        we = max(ce1, we) + w
        cs_all.append(cs)
    return cs_all, ce1, we


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
