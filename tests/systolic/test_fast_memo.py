"""``fast.memoized()``: a sweep's repeated layers reuse the fast model's results, with the same numbers."""

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from accelsim.hardware.config import ArrayConfig
from accelsim.systolic import fast
from accelsim.systolic.fast import fast_layer, memoized
from accelsim.systolic.simulate import simulate
from accelsim.workload import resolve
from tests.systolic.test_fold_runs import layers

SCALARS = ("dataflow", "m", "k", "n", "groups", "folds", "compute_cycles", "cycles", "stream_beats", "traffic",
           "peak_dram_bytes_per_cycle", "mapping")


def _same(a, b) -> None:
    for name in SCALARS:
        assert getattr(a, name) == getattr(b, name), name
    assert a.fold_cycles.tolist() == b.fold_cycles.tolist()
    assert a.compute_start.tolist() == b.compute_start.tolist()


@settings(max_examples=150, deadline=None)
@given(layers(), st.sampled_from([0.01, 1 / 3, 1.0, 7.0, 1e4]), st.sampled_from([100.0, 1000.0]), st.booleans(),
       st.booleans(), st.booleans())
def test_memoized_layers_equal_fresh_ones(layer, bandwidth, clock, on_chip, ifmap_on_chip, output_on_chip):
    """Warm the cache with the same layer on configs that differ in what the memo shares (bandwidth, clock,
    on_chip), then every answer inside the block equals the one computed without the memo."""
    cfg, m, k, n, groups, mapping = layer
    flags = {"ifmap_on_chip": ifmap_on_chip, "output_on_chip": output_on_chip}
    others = [replace(cfg, bandwidth=bandwidth), replace(cfg, clock_mhz=clock, on_chip=on_chip)]
    with memoized(entries=64):
        for other in others:
            fast_layer(other, m, k, n, groups, mapping=mapping, **flags)
        got = [fast_layer(c, m, k, n, groups, mapping=mapping, **flags) for c in [cfg, *others]]
    for c, run in zip([cfg, *others], got, strict=True):
        _same(run, fast_layer(c, m, k, n, groups, mapping=mapping, **flags))


def test_the_memo_is_used_only_inside_the_block_and_is_bounded():
    cfg = ArrayConfig(rows=8, cols=8, dataflow="ws", bandwidth=4.0)
    outside = fast_layer(cfg, 64, 72, 40)
    assert fast_layer(cfg, 64, 72, 40) is not outside  # no memo outside the block
    with memoized(entries=4):
        first = fast_layer(cfg, 64, 72, 40)
        assert fast_layer(replace(cfg, clock_mhz=250.0, on_chip=False), 64, 72, 40) is first
        other_bw = fast_layer(replace(cfg, bandwidth=8.0), 64, 72, 40)
        assert other_bw is not first and other_bw.cycles <= first.cycles
        for i in range(8):
            fast_layer(cfg, 64 + i, 72, 40)
        assert len(fast._LOCAL.kept.data) == 4
    assert fast._LOCAL.memo is None


def test_threads_keep_their_own_memo():
    """A Dask worker with several threads runs several tasks at once: each thread has its own cache."""
    from concurrent.futures import ThreadPoolExecutor

    cfgs = [ArrayConfig(rows=r, cols=8, dataflow=d, bandwidth=b)
            for r in (4, 8) for d in ("os", "ws") for b in (1.0, 3.0)]

    def work(cfg):
        with memoized(entries=16):
            return [fast_layer(cfg, 60 + i, 50, 30).cycles for i in range(30)]

    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(work, cfgs * 4))
    assert got == [[fast_layer(c, 60 + i, 50, 30).cycles for i in range(30)] for c in cfgs * 4]


def test_a_network_simulates_the_same_with_the_memo():
    net = resolve("alexnet")
    cfgs = [ArrayConfig(rows=r, cols=c, dataflow=d, bandwidth=b, on_chip=oc)
            for r, c in ((8, 16), (32, 32)) for d in ("os", "ws", "is") for b in (2.0, 16.0) for oc in (True, False)]
    def rows(c):  # NaN (the roofline columns off the array) as None, so equal rows compare equal
        return [{k: None if v != v else v for k, v in r.items()} for r in simulate(net, c).rows]

    with memoized():
        warm = [rows(c) for c in cfgs]
        again = [rows(c) for c in cfgs]
    fresh = [rows(c) for c in cfgs]
    assert warm == again == fresh
