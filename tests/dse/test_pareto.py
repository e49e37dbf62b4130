"""Pareto fronts: a hand-checked grid, ties, groups, and the definition on random point sets."""

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from accelsim.dse import pareto_front, pareto_mask

# name, latency_ms, pe_count, energy_uJ
GRID = pd.DataFrame(
    [("A", 10, 64, 5), ("B", 6, 256, 7), ("C", 6, 1024, 4), ("D", 3, 1024, 9), ("E", 12, 64, 6),
     ("F", 3, 4096, 9), ("G", 10, 64, 5)],
    columns=["name", "latency_ms", "pe_count", "energy_per_inference_uJ"],
)


def test_latency_vs_pes_by_hand():
    # E loses to A (slower, same PEs); C loses to B (same latency, more PEs); F loses to D.
    # A and G are the same point: neither beats the other, both stay.
    front = pareto_front(GRID, ["latency_ms", "pe_count"])
    assert list(front["name"]) == ["D", "B", "A", "G"]


def test_latency_vs_energy_by_hand():
    # C (6 ms, 4 uJ) beats A, G (10, 5), B (6, 7) and E (12, 6); D and F tie at (3, 9).
    front = pareto_front(GRID, ["latency_ms", "energy_per_inference_uJ"])
    assert sorted(front["name"]) == ["C", "D", "F"]


def test_fronts_per_group():
    df = pd.concat([GRID.assign(network="a"), GRID.assign(network="b", latency_ms=GRID["pe_count"])])
    front = pareto_front(df, ["latency_ms", "pe_count"], by=["network"])
    assert list(front[front["network"] == "a"]["name"]) == ["D", "B", "A", "G"]
    # in group b latency == PEs, so only the 64-PE points survive
    assert sorted(front[front["network"] == "b"]["name"]) == ["A", "E", "G"]


def test_empty_and_single():
    assert pareto_front(GRID.iloc[:0], ["latency_ms", "pe_count"]).empty
    assert list(pareto_mask([[1.0, 2.0]])) == [True]


def _brute(v):
    n = len(v)
    return np.array([
        not any(all(v[j] <= v[i]) and any(v[j] < v[i]) for j in range(n) if j != i) for i in range(n)
    ], dtype=bool)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6), st.integers(0, 6)), min_size=1, max_size=25),
       st.integers(2, 3))
def test_mask_matches_the_definition(points, k):
    v = np.array(points, dtype=float)[:, :k]
    mask = pareto_mask(v)
    assert (mask == _brute(v)).all()
    assert mask.any()
    # every dominated point is dominated by some front point
    for i in np.flatnonzero(~mask):
        assert any(all(v[j] <= v[i]) and any(v[j] < v[i]) for j in np.flatnonzero(mask))


def test_front_of_a_real_sweep(tmp_path):
    from accelsim.dse import load_results, run_sweep, spec_from_mapping

    db = tmp_path / "r.db"
    run_sweep(spec_from_mapping({"model": "lenet5", "array": ["4x4", "4x8", "8x4", "8x8", "16x16"],
                                 "dataflow": ["os", "ws"], "bandwidth": [2, 8]}), db, workers=0, progress=False)
    df = load_results(db)
    front = pareto_front(df, ["latency_ms", "pe_count"])
    v = df[["latency_ms", "pe_count"]].to_numpy(dtype=float)
    assert set(front["key"]) == set(df["key"][_brute(v)])
    # the fastest point and the fastest of the smallest arrays are always on it
    assert df.loc[df["latency_ms"].idxmin(), "key"] in set(front["key"])
    smallest = df[df["pe_count"] == df["pe_count"].min()]
    assert smallest.loc[smallest["latency_ms"].idxmin(), "key"] in set(front["key"])
    # along the front, more PEs always buy lower latency
    f = front.drop_duplicates(["latency_ms", "pe_count"]).sort_values("pe_count")
    assert f["latency_ms"].is_monotonic_decreasing and f["pe_count"].is_unique
