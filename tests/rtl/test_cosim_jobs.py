"""A co-simulation split into several simulator jobs (``job_plan``) gives the verdict of one job.

The job size limit is forced down so that LeNet-5 (and a single GEMM) split into several jobs on
the 8x8 build the other RTL tests already use; the split run must report exactly what the single
job reports, GEMM by GEMM, and a mismatch confined to the last job must still fail the run.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import accelsim.rtlsim.gemm as rtl_gemm
from accelsim.cli import main
from accelsim.mapping.folds import folds_for
from accelsim.rtlsim.gemm import fold_job_bytes, iter_network_gemms, job_plan, network_gemms, network_shapes
from accelsim.rtlsim.session import run_cosim
from tests.rtl.common import config

pytestmark = pytest.mark.rtl

RUN_KEYS = ("jobs", "sim_seconds", "cycles_per_second")  # what may differ between one job and several


@pytest.mark.parametrize("dataflow", ["os", "ws"])
def test_job_plan_packs_blocks_in_order_under_the_limit(dataflow):
    """Jobs are cut between C blocks only (WS: a block's k-tiles stay in one job, with the partial sums its
    last k-tile's output stage reads); a job ends only when the next block would not fit."""
    cfg = config((8, 8, 32), dataflow)
    shapes = [s[1:] for s in network_shapes("lenet5")]
    folds = [folds_for(cfg, *s) for s in shapes]
    costs = np.concatenate([fold_job_bytes(cfg, f) for f in folds])
    first_k = np.concatenate([f.k0 == 0 for f in folds])
    block_ends = [*np.flatnonzero(first_k)[1:], len(costs)]  # the fold after each block
    limit = int(costs.sum()) // 3
    plan = job_plan(cfg, shapes, limit)
    assert sum(plan) == len(costs) and len(plan) >= 3
    at = 0
    for i, n in enumerate(plan):
        end = at + n
        assert end in block_ends
        assert costs[at: end].sum() <= limit or end == next(e for e in block_ends if e > at)  # one block alone
        if i + 1 < len(plan):  # a job ends only when the next block would not fit
            assert costs[at: next(e for e in block_ends if e > end)].sum() > limit
        at = end
    assert job_plan(cfg, shapes) == [len(costs)]  # the default limit: one job
    blocks = np.diff([0, *block_ends]).tolist()
    assert job_plan(cfg, shapes, 1) == blocks  # a block above the limit still runs, alone
    if dataflow == "os":
        assert blocks == [1] * len(costs)


def test_network_in_several_jobs_equals_one_job(tmp_path):
    # serial folds: a job boundary inside a GEMM then costs nothing (pipelined, it drains the last fold of
    # the job before the next job's first beat, so the GEMM's cycles grow by that fold's F - O)
    cfg = config((8, 8, 32), "ws").with_(pipeline=False)
    named = network_shapes("lenet5")
    shapes = [s[1:] for s in named]
    whole = run_cosim(cfg, network_gemms(cfg, "lenet5"), "lenet5")
    assert whole["ok"] and whole["totals"]["jobs"] == 1, whole["errors"]

    costs = np.concatenate([fold_job_bytes(cfg, folds_for(cfg, *s)) for s in shapes])
    limit = int(costs.sum()) // 2
    plan = job_plan(cfg, shapes, limit)
    ends = np.cumsum([len(folds_for(cfg, *s)) for s in shapes])
    assert len(plan) >= 2 and not set(np.cumsum(plan)[:-1]) <= set(ends), "a GEMM spans two jobs"
    seen: list[tuple[int, int]] = []
    split = run_cosim(cfg, iter_network_gemms(cfg, "lenet5"), "lenet5", shapes=shapes, job_limit_bytes=limit,
                      progress=lambda done, total: seen.append((done, total)), keep_run_dir=True)
    try:
        assert split["ok"], split["errors"]
        assert split["totals"]["jobs"] == len(plan)
        assert split["gemms"] == whole["gemms"]
        assert {k: v for k, v in split["totals"].items() if k not in RUN_KEYS} == \
               {k: v for k, v in whole["totals"].items() if k not in RUN_KEYS}
        assert split["totals"]["rtl_cycles"] == split["totals"]["model_cycles"] == 30_390
        total = whole["totals"]["folds"]
        assert seen[-1] == (total, total) and {t for _, t in seen} == {total}
        assert [d for d, _ in seen] == sorted(d for d, _ in seen)
        kept = Path(split["run_dir"])
        assert sorted(p.name for p in kept.iterdir()) == [f"job{i:04d}" for i in range(len(plan))]
        assert all((p / "sim.log").is_file() for p in kept.iterdir())
    finally:
        if split["run_dir"]:
            shutil.rmtree(split["run_dir"], ignore_errors=True)


def test_a_mismatch_in_the_last_job_fails_the_run(monkeypatch):
    # 40x20x24 WS on 8x8: 3 column tiles x 3 k-tiles, 48 beats a fold; three folds a job, so only the
    # last job holds the folds of columns 16-23, the only ones the mutant model gets wrong.
    cfg = config((8, 8, 32), "ws")
    fold = int(fold_job_bytes(cfg, folds_for(cfg, 40, 20, 24))[0])
    monkeypatch.setattr(rtl_gemm, "MAX_JOB_BYTES", 3 * fold)
    r = CliRunner().invoke(main, ["cosim", "--gemm", "40x20x24", "--array", "8x8", "--dataflow", "ws",
                                  "--golden", "tests.rtl.mutants:WrongFromColumn16Core", "--format", "json",
                                  "--no-progress"], catch_exceptions=False)
    assert r.exit_code == 1, r.output
    s = json.loads(r.stdout)
    t = s["totals"]
    assert not s["ok"] and t["jobs"] == 3 and t["folds"] == t["folds_run"] == 9
    assert t["mismatched_folds"] == 3 and t["wrong_elements"] == 0  # the RTL's C is right; the model is not
    assert s["errors"] and all(e.startswith("job 3: fold ") for e in s["errors"])
    assert {e.split(":")[1].strip() for e in s["errors"]} == {"fold 6", "fold 7", "fold 8"}
    r = CliRunner().invoke(main, ["cosim", "--gemm", "40x20x24", "--array", "8x8", "--waves"], catch_exceptions=False)
    assert r.exit_code == 2 and "needs 3" in r.stderr
