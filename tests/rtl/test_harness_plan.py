"""The fast harness's run plan without a simulator: GEMMs split over processes by cycles, the words each GEMM
plays, GEMMs handed over as files, the estimate."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accelsim.hardware.config import ArrayConfig
from accelsim.rtlsim import harness
from accelsim.rtlsim.env import CosimError
from accelsim.rtlsim.gemm import random_gemm
from accelsim.rtlsim.harness import GemmFiles, balance, harness_cycles, stimulus
from accelsim.rtlsim.run import estimate_seconds, watch_files


@given(st.lists(st.integers(1, 10**6), max_size=30), st.integers(1, 5))
def test_balance_is_longest_first_to_the_least_loaded(cycles, jobs):
    owner = balance(cycles, jobs)
    used = max(1, min(jobs, len(cycles)))
    assert len(owner) == len(cycles) and set(owner) <= set(range(used))
    assert len(set(owner)) == min(used, len(cycles))  # no job left empty while GEMMs remain
    loads = [sum(c for c, o in zip(cycles, owner, strict=True) if o == j) for j in range(used)]
    if cycles:  # greedy LPT: no job exceeds the mean by more than its longest GEMM
        assert max(loads) <= sum(cycles) / used + max(cycles)


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(["os", "ws", "is"]), st.booleans(), st.integers(1, 4), st.integers(1, 4),
       st.integers(1, 20), st.integers(1, 20), st.integers(1, 20), st.integers(8, 400))
def test_harness_cycles_are_the_stimulus_words(dataflow, pipeline, rows, cols, m, k, n, depth):
    """The plan's words per GEMM (no operands) equal the words its stimulus files hold, segments included."""
    cfg = ArrayConfig(rows=rows, cols=cols, dataflow=dataflow, pipeline=pipeline)
    try:
        st_ = stimulus(cfg, random_gemm(cfg, m, k, n, seed=1), pipeline, depth)
    except CosimError as e:  # a fold longer than the depth: the plan refuses it the same way
        with pytest.raises(type(e)):
            harness_cycles(cfg, (m, k, n), None, pipeline, depth)
        return
    assert harness_cycles(cfg, (m, k, n), None, pipeline, depth) == st_.cycles


def test_gemm_files_hand_over_each_gemm_once_in_order(tmp_path):
    cfg = ArrayConfig(rows=2, cols=2)
    gemms = [random_gemm(cfg, 3, 4, 5, seed=i) for i in range(3)]
    files = GemmFiles(str(tmp_path), 3, 8)
    got = []
    reader = threading.Thread(target=lambda: got.extend(files))
    reader.start()  # waits for files the writer has not written yet
    for i, g in enumerate(gemms):
        files.put(i, g)
    reader.join(timeout=10)
    assert [g.name for g in got] == [g.name for g in gemms] and not list(tmp_path.iterdir())
    for a, b in zip(got, gemms, strict=True):
        assert a.a.dtype == np.int64 and np.array_equal(a.a, b.a) and np.array_equal(a.b, b.b)
        assert np.array_equal(a.reference, b.reference) and np.array_equal(a.stage.apply(a.reference), b.out)
    waiting = GemmFiles(str(tmp_path), 1, 8)
    waiting.abort()
    with pytest.raises(CosimError, match="stopped before"):
        next(iter(waiting))


def test_watch_files_sums_the_processes_progress(tmp_path):
    paths = [tmp_path / "a", tmp_path / "b"]
    paths[0].write_text("5 0\n")
    seen: list[int] = []
    stop = threading.Event()
    t = threading.Thread(target=watch_files, args=(paths, seen.append, stop))
    t.start()
    while not seen:
        stop.wait(0.05)
    paths[1].write_text("7 0\n")
    while seen[-1] != 12:
        stop.wait(0.05)
    stop.set()
    t.join()
    assert seen[0] == 5 and seen[-1] == 12


def test_estimate_takes_the_rate_measured_with_as_many_processes(monkeypatch, tmp_path):
    """The fast harness's estimate: the rate recorded by a long run with the same number of processes, else one
    process's shared by the cores, else the default; short or failing runs record nothing."""
    cfg = ArrayConfig(rows=4, cols=4)
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    monkeypatch.setattr(harness, "harness_dir", lambda cfg: tmp_path)
    default = harness.default_seconds_per_cycle(cfg)
    assert harness.seconds_per_cycle(cfg, 1) == (default, False)
    assert harness.seconds_per_cycle(cfg, 3) == (default / 2, False)
    long_run = harness.HarnessResult(verdicts=[harness.GemmVerdict("g", 1, 200_000, 1)], wall_seconds=2.0)
    harness._record_rate(tmp_path, harness.HarnessResult(verdicts=[harness.GemmVerdict("g", 1, 5_000, 1)],
                                                         wall_seconds=1.0), 1)
    assert harness.seconds_per_cycle(cfg, 1) == (default, False)
    harness._record_rate(tmp_path, long_run, 1)
    assert harness.seconds_per_cycle(cfg, 1) == (1e-5, True)
    assert harness.seconds_per_cycle(cfg, 2) == (5e-6, True)
    harness._record_rate(tmp_path, harness.HarnessResult(verdicts=long_run.verdicts, wall_seconds=1.6), 2)
    assert harness.seconds_per_cycle(cfg, 2) == (8e-6, True) and harness.seconds_per_cycle(cfg, 1) == (1e-5, True)
    assert estimate_seconds(cfg, [(8, 8, 8)], per_cycle=8e-6, cycles=1_000_000) == pytest.approx(2.0 + 8.0)


def test_results_of_several_processes_merge_in_the_gemms_order():
    """Verdicts back in the GEMMs' order; a GEMM a stopped process never checked fails by name; errors say which
    process; times add up."""
    V = harness.GemmVerdict
    owner = [1, 0, 1, 0, 1]
    names = ["a", "b", "c", "d", "e"]
    p0 = harness.HarnessResult(verdicts=[V("b", 2, 20, 4), V("d", 1, 10, 2)], sim_seconds=1.0)
    p1 = harness.HarnessResult(verdicts=[V("a", 3, 30, 6), V("c", 1, 5, 1, ["1 values of C differ"])],
                               errors=["testbench error: boom"], sim_seconds=2.5)
    r = harness.merge_results([p0, p1], owner, names)
    assert [v.name for v in r.verdicts] == names
    assert r.verdicts[4].errors == ["not checked: job 1 stopped before it"] and r.verdicts[4].cycles == 0
    assert r.mismatches == 2 and not r.ok and r.rtl_cycles == 65 and r.sim_seconds == 3.5
    assert r.errors == ["job 1: testbench error: boom"]
    one = harness.merge_results([p0], [0, 0], ["b", "d"])
    assert one.ok and one.errors == [] and [v.name for v in one.verdicts] == ["b", "d"]


def test_simulator_processes_run_one_blas_thread_unless_the_user_says(monkeypatch):
    for name in harness.SINGLE_THREAD_VARS:
        monkeypatch.delenv(name, raising=False)
    assert harness.simulator_env() == dict.fromkeys(harness.SINGLE_THREAD_VARS, "1")
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "4")
    assert harness.simulator_env()["OPENBLAS_NUM_THREADS"] == "4"
