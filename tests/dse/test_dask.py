"""Dask defaults: small sweeps stay in process, --workers is capped at the cores, scheduler address
errors and version mismatches are one line (exit 2) within seconds."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from click.testing import CliRunner

import accelsim.dse.run as dse_run
from accelsim.cli import main
from accelsim.dse import load_results, run_sweep, spec_from_mapping
from accelsim.errors import AccelsimError

SMALL = {"model": "lenet5", "array": ["4x4", "8x8"], "dataflow": ["os", "ws"], "bandwidth": [2, 8]}


class _NoCluster:
    def __init__(self, *a, **k):
        raise AssertionError("a small sweep started a Dask cluster")


def test_small_sweep_runs_in_process(tmp_path, monkeypatch):
    monkeypatch.setattr(dse_run, "_Cluster", _NoCluster)
    seen = []
    s = run_sweep(spec_from_mapping(SMALL), tmp_path / "r.db", progress=lambda d, t: seen.append((d, t)))
    assert s.evaluated == 8 and s.failed == 0
    assert seen[-1] == (8, 8) and all(t == 8 for _, t in seen)
    assert len(load_results(tmp_path / "r.db")) == 8


def test_plan_workers(monkeypatch):
    monkeypatch.setattr(dse_run, "available_cores", lambda: 2)
    assert dse_run.plan_workers(None, 30) == (0, None)
    assert dse_run.plan_workers(None, 500) == (None, None)  # decided after a first measurement
    assert dse_run.plan_workers(0, 500) == (0, None)
    assert dse_run.plan_workers(2, 5) == (2, None)
    assert dse_run.plan_workers(64, 5) == (2, "sweep: --workers 64 is more than the 2 cores here; using 2")
    monkeypatch.setattr(dse_run, "available_cores", lambda: 1)
    assert dse_run.plan_workers(None, 500) == (0, None)


def test_workers_above_the_cores_are_capped_with_a_note(tmp_path, monkeypatch):
    asked = []

    class Fake:
        def __init__(self, scheduler, workers, *a, **k):
            asked.append(workers)
            raise AccelsimError("scheduler: stop here")

    monkeypatch.setattr(dse_run, "_Cluster", Fake)
    monkeypatch.setattr(dse_run, "available_cores", lambda: 2)
    r = CliRunner().invoke(main, ["sweep", "--model", "lenet5", "--array", "4x4", "-o", str(tmp_path / "r.db"),
                                  "--workers", "64", "--no-progress"])
    assert asked == [2]
    assert r.stderr.splitlines() == ["sweep: --workers 64 is more than the 2 cores here; using 2",
                                     "accelsim: error: scheduler: stop here"]


def test_long_sweep_moves_to_a_cluster_when_it_pays(tmp_path, monkeypatch):
    started = []

    class Fake:
        def __init__(self, scheduler, workers, *a, **k):
            started.append(workers)
            self.client = None

        def close(self):
            pass

    spec = spec_from_mapping({**SMALL, "array": ["2x2", "4x4", "8x8", "16x16"], "bandwidth": [1, 2, 4, 8, 16, 32],
                              "dataflow": ["os", "ws", "is"]})  # 72 points
    monkeypatch.setattr(dse_run, "_Cluster", Fake)
    monkeypatch.setattr(dse_run, "available_cores", lambda: 2)
    monkeypatch.setattr(dse_run, "PROBE_S", 0.0)
    monkeypatch.setattr(dse_run, "CLUSTER_PAYS_S", 0.0)
    monkeypatch.setattr(dse_run, "_results", _fake_cluster_results(dse_run._results))
    notes = []
    s = run_sweep(spec, tmp_path / "r.db", notes=notes.append)
    assert started == [2] and s.evaluated == 72 and s.failed == 0
    assert len(notes) == 1 and notes[0].startswith("sweep: about ") and notes[0].endswith("starting 2 Dask workers")


def _fake_cluster_results(real):
    """_results with a fake cluster's jobs run in process (the escalation path, without Dask's start-up)."""
    def results(cluster, jobs, escalate=None):
        if cluster is not None and cluster.client is None:
            for job in jobs:
                yield dse_run.run_job(job)
            return
        yield from real(cluster, jobs, escalate)
    return results


class _Server:
    """A plain TCP server on 127.0.0.1 that is not Dask: it sends ``greeting`` (or nothing) and holds on."""

    def __init__(self, greeting: bytes | None):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.greeting, self.conns = greeting, []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)
            if self.greeting:
                c.sendall(self.greeting)

    def close(self):
        self.sock.close()
        for c in self.conns:
            c.close()


def _sweep_at(tmp_path, address):
    t0 = time.monotonic()
    r = CliRunner().invoke(main, ["sweep", "--model", "lenet5", "--array", "4x4", "-o", str(tmp_path / "r.db"),
                                  "--scheduler", address, "--no-progress"])
    return r, time.monotonic() - t0


@pytest.mark.parametrize("greeting", [b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", None],
                         ids=["http", "silent"])
def test_a_server_that_is_not_dask_is_one_line_within_seconds(tmp_path, greeting):
    server = _Server(greeting)
    try:
        r, took = _sweep_at(tmp_path, f"tcp://127.0.0.1:{server.port}")
    finally:
        server.close()
    assert r.exit_code == 2, r.output
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("accelsim: error: scheduler:") and "not a Dask scheduler" in lines[0]
    assert took < 8


@pytest.mark.parametrize(("address", "message"), [
    ("tls://127.0.0.1:{port}", "tls:// needs TLS certificates"),
    ("inproc://127.0.0.1/1/1", "inproc:// addresses exist only inside one Python process"),
    ("tcp://127.0.0.1:99999", "expected tcp://HOST:PORT"),
    ("ucx://127.0.0.1:8786", "ucx:// needs distributed-ucxx"),
    ("tcp://nosuchhost.invalid:8786", "cannot connect to tcp://nosuchhost.invalid:8786"),
])
def test_scheduler_address_errors_are_one_line(tmp_path, address, message):
    server = _Server(b"x" * 8)
    try:
        r, took = _sweep_at(tmp_path, address.format(port=server.port))
    finally:
        server.close()
    assert r.exit_code == 2, r.output
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("accelsim: error: scheduler:") and message in lines[0], lines
    assert took < 8


def test_workers_with_another_accelsim_version_are_refused(tmp_path, monkeypatch):
    from distributed import LocalCluster

    monkeypatch.setattr(dse_run, "_worker_check", lambda: "0.0.0-other")
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        with pytest.raises(AccelsimError, match=r"^scheduler: worker .* runs accelsim 0\.0\.0-other, this client "):
            run_sweep(spec_from_mapping(SMALL), tmp_path / "r.db", scheduler=cluster.scheduler_address)
        monkeypatch.undo()
        s = run_sweep(spec_from_mapping(SMALL), tmp_path / "r.db", scheduler=cluster.scheduler_address)
        assert s.evaluated == 8 and s.failed == 0
