"""Progress of long simulations: the stepping model fold by fold, --check's reference pass layer by layer."""

from contextlib import contextmanager

from click.testing import CliRunner

from accelsim.cli import main
from accelsim.hardware.config import ArrayConfig
from accelsim.systolic.simulate import fold_count, simulate
from accelsim.workload import resolve
from accelsim.workload.gemm import gemm_shape


class Recorder:
    def __init__(self):
        self.phases = []

    @contextmanager
    def __call__(self, label, total=None):
        calls = []
        self.phases.append((label, total, calls))
        yield lambda done, total: calls.append((done, total))


def test_stepping_reports_every_fold():
    net = resolve("lenet5")
    cfg = ArrayConfig(rows=8, cols=8, dataflow="ws")
    rec = Recorder()
    simulate(net, cfg, engine="stepping", progress=rec)
    [(label, total, calls)] = rec.phases
    folds = sum(fold_count(cfg, *s) for node in net if (s := gemm_shape(node, 1)) is not None)
    assert label == "stepping engine (folds)" and total == folds
    assert [d for d, _ in calls] == list(range(1, folds + 1)) and {t for _, t in calls} == {folds}


def test_check_reports_the_reference_pass_then_the_layers():
    net = resolve("lenet5")
    rec = Recorder()
    simulate(net, ArrayConfig(rows=8, cols=8), check=True, progress=rec)
    n = len(net.nodes)
    assert [(label, total) for label, total, _ in rec.phases] == [
        ("check: float calibration pass (layers)", n), ("check: int8 reference pass (layers)", n),
        ("fast engine and check (layers)", n)]
    for _, _, calls in rec.phases:
        assert calls[-1] == (n, n)


def test_cli_prints_plain_progress_lines_when_not_a_terminal(monkeypatch):
    monkeypatch.setenv("ACCELSIM_PROGRESS_INTERVAL", "0.05")
    r = CliRunner().invoke(main, ["simulate", "lenet5", "--array", "4x4", "--engine", "stepping", "--format", "json"])
    assert r.exit_code == 0, r.output
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("stepping engine (folds): ")]
    assert lines and lines[-1].startswith("stepping engine (folds): 100% (") and "elapsed" in lines[-1]
    quiet = CliRunner().invoke(main, ["simulate", "lenet5", "--array", "4x4", "--engine", "stepping", "--format",
                                      "json", "--no-progress"])
    assert quiet.exit_code == 0 and quiet.stderr == ""
