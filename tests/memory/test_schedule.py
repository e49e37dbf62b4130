"""The load/compute/write recurrence: by hand, and the run-extrapolating solver against a plain loop."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from accelsim.memory.schedule import schedule


def naive(F, L, W, rb, double):
    """The contract's recurrence, one fold at a time, written straight from the doc."""
    le = ce1 = ce2 = we = 0
    cs_all = []
    for f, l_, w, h in zip(F, L, W, rb):
        if double:
            ls = max(le, ce2, we if h else 0)
            le = ls + l_
            cs = max(ce1, le)
        else:
            ls = max(ce1, we if h else 0)
            le = ls + l_
            cs = le
        ce2, ce1 = ce1, cs + f
        we = max(ce1, we) + w
        cs_all.append(cs)
    return cs_all, ce1, we


def test_double_vs_single_buffering_by_hand():
    F, L, W = [3, 3, 3], [4, 4, 4], [0, 0, 0]
    db = schedule(F, L, W, [False] * 3, True)
    assert db.compute_start.tolist() == [4, 8, 12] and db.cycles == 15
    sb = schedule(F, L, W, [False] * 3, False)
    assert sb.compute_start.tolist() == [4, 11, 18] and sb.cycles == 21


def test_writes_end_the_layer():
    s = schedule([2, 2], [0, 0], [1, 10], [False, False], True)
    assert s.compute_start.tolist() == [0, 2] and s.compute_end == 4 and s.write_end == 14 and s.cycles == 14


def test_readback_waits_for_the_previous_write():
    s = schedule([5, 5], [1, 1], [20, 3], [False, True], True)
    # fold 0: load 0-1, compute 1-6, write 6-26; fold 1's load waits for it: 26-27, compute 27-32
    assert s.compute_start.tolist() == [1, 27] and s.cycles == 35


segment = st.tuples(st.integers(1, 400), st.integers(1, 9), st.integers(0, 12), st.integers(0, 12), st.booleans())


@settings(max_examples=150, deadline=None)
@given(st.lists(segment, min_size=1, max_size=8), st.booleans(), st.booleans())
def test_run_extrapolation_is_exact(segments, double, readbacks):
    """Long runs of identical folds (any mix of load-, compute- and write-bound) match a plain loop."""
    F, L, W, rb = [], [], [], []
    for count, f, l_, w, h in segments:
        F += [f] * count
        L += [l_] * count
        W += [w] * count
        rb += [h and readbacks] * count
    s = schedule(np.array(F), np.array(L), np.array(W), np.array(rb), double)
    cs, ce, we = naive(F, L, W, rb, double)
    assert s.compute_start.tolist() == cs
    assert s.compute_end == ce and s.cycles == max(ce, we)
