"""Running a sweep on Dask: plan the points, skip those already stored, batch the rest into tasks.

A point is milliseconds of work, so one task per point would be all scheduler overhead: points
are cut, in grid order, into chunks of one network each (a task ships one network and its
points' configs) and every task evaluates a whole chunk. The client process is the
only writer: each finished chunk is committed to SQLite as it arrives, so a killed sweep resumes
where it stopped. The embedded default is a ``distributed.LocalCluster`` of worker processes;
``scheduler="tcp://HOST:PORT"`` sends the same tasks to an existing cluster (its workers must be
able to import accelsim). ``workers=0`` runs in this process without Dask (for debugging).
"""

from __future__ import annotations

import collections
import logging
import math
import os
import socket
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from accelsim.dse.evaluate import Job, run_job
from accelsim.dse.spec import SweepSpec, digest, network_spec, point_key
from accelsim.dse.store import ResultStore
from accelsim.errors import AccelsimError
from accelsim.workload import ZOO, Network, resolve

MAX_CHUNK = 32
DEFAULT_WORKERS = max(1, min(2, os.cpu_count() or 1))  # light: one worker process per core, at most 2


@dataclass(frozen=True)
class PlannedPoint:
    key: str
    network_id: str
    batch: int
    config: dict
    row: tuple  # the store's CONFIG_COLUMNS values


@dataclass(frozen=True)
class Plan:
    """A spec expanded: its networks (by id) and its unique points in grid order."""

    spec: SweepSpec
    networks: dict[str, tuple[Network, dict]]
    points: tuple[PlannedPoint, ...]


@dataclass(frozen=True)
class SweepSummary:
    points: int
    already_done: int
    evaluated: int
    failed: int
    wall_s: float
    output: str
    errors: tuple[str, ...] = ()  # the distinct reasons of this run's failed points, most frequent first

    def line(self) -> str:
        rate = self.evaluated / self.wall_s if self.wall_s else 0.0
        text = (f"{self.points} points: {self.evaluated} evaluated in {self.wall_s:.1f} s wall ({rate:.1f} points/s), "
                f"{self.already_done} already in {self.output}, {self.failed} failed")
        shown = self.errors[:3]
        more = f" (+{len(self.errors) - len(shown)} other reasons)" if len(self.errors) > len(shown) else ""
        return text + "".join(f"\n  failed: {e}" for e in shown) + more


def _resolve(model: str, base_dir: str) -> Network:
    if model not in ZOO and not Path(model).is_absolute():
        local = Path(base_dir) / model
        if local.exists():
            return resolve(str(local))
    return resolve(model)


def plan(spec: SweepSpec) -> Plan:
    """Resolve the networks and expand the grid; duplicate points (same key) are kept once."""
    networks: dict[str, tuple[Network, dict]] = {}
    order: list[str] = []
    errors: list[AccelsimError] = []
    for model in spec.models:
        try:
            net = _resolve(model, spec.base_dir)
        except AccelsimError as e:  # report every network that cannot load, not only the first
            errors.append(e)
            continue
        nspec = network_spec(net)
        nid = digest(nspec)
        if nid not in networks:
            networks[nid] = (net, nspec)
            order.append(nid)
    if errors:
        raise errors[0] if len(errors) == 1 else AccelsimError("\n".join(map(str, errors)))
    points, seen = [], set()
    for nid in order:
        net, nspec = networks[nid]
        for batch, cfg in spec.configs():
            key = point_key(nspec, batch, cfg, spec.energy, spec.engine)
            if key in seen:
                continue
            seen.add(key)
            row = (net.name, nid, batch, cfg["rows"], cfg["cols"], cfg["dataflow"], cfg["ifmap_sram_kib"],
                   cfg["filter_sram_kib"], cfg["ofmap_sram_kib"], int(cfg["double_buffer"]), cfg["bandwidth"],
                   cfg["clock_mhz"], cfg["data_bits"], cfg["acc_bits"], cfg["out_bits"], spec.engine)
            points.append(PlannedPoint(key, nid, batch, cfg, row))
    return Plan(spec, networks, tuple(points))


def default_chunk_size(n_points: int, n_workers: int) -> int:
    """About sixteen tasks per worker (points differ 100x in cost: small arrays take longest; many
    tasks balance the load and keep the progress bar live), at most MAX_CHUNK points each."""
    return max(1, min(MAX_CHUNK, math.ceil(n_points / (16 * max(1, n_workers)))))


def make_jobs(p: Plan, points, chunk_size: int) -> list[Job]:
    jobs, current = [], []

    def flush():
        if current:
            net = p.networks[current[0].network_id][0]
            jobs.append(Job(current[0].network_id, net, p.spec.engine, p.spec.energy,
                            tuple((q.key, q.batch, q.config) for q in current)))
            current.clear()

    for q in points:
        if current and (q.network_id != current[0].network_id or len(current) >= chunk_size):
            flush()
        current.append(q)
    flush()
    return jobs


def spec_record(spec: SweepSpec) -> dict:
    d = asdict(spec)
    d["energy"] = spec.energy.to_dict()
    d.pop("base_dir")
    return d


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[rate]:>7.1f} points/s"), TimeElapsedColumn(), TextColumn("elapsed"),
        TimeRemainingColumn(), TextColumn("left"), console=console, transient=False,
    )


def _failed(job: Job, exc: BaseException) -> list[dict]:
    msg = f"task failed: {type(exc).__name__}: {exc}"
    return [{"key": k, "status": "error", "error": msg, "metrics": None, "layers": None} for k, _, _ in job.points]


def _probe(address: str) -> None:
    """Fail fast (refused, unknown host) instead of Dask's connect retries until its timeout."""
    if not address.startswith("tcp://"):
        return
    host, _, port = address[len("tcp://"):].rpartition(":")
    if not port.isdigit():
        raise AccelsimError(f"scheduler: expected tcp://HOST:PORT, got {address!r}")
    with socket.create_connection((host.strip("[]"), int(port)), timeout=5):
        pass


def _worker_check() -> str:
    """Run on a worker before the sweep: can it import the evaluator?"""
    import accelsim.dse.evaluate  # noqa: F401
    from accelsim import __version__

    return __version__


class _Cluster:
    """A Dask client: on ``scheduler`` if given, else on an embedded LocalCluster; closed on exit."""

    def __init__(self, scheduler: str | None, workers: int):
        from distributed import Client, LocalCluster

        self.cluster = None
        try:
            if scheduler:
                _probe(scheduler)
                self.client = Client(scheduler, timeout="15s")
            else:
                self.cluster = LocalCluster(
                    n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                    silence_logs=logging.CRITICAL, host="127.0.0.1",
                )
                self.client = Client(self.cluster)
        except (OSError, TimeoutError) as e:
            if self.cluster is not None:
                self.cluster.close()
            where = scheduler or "local cluster"
            raise AccelsimError(f"scheduler: cannot connect to {where}: {e}") from None
        try:
            self.client.submit(_worker_check, pure=False).result(timeout=120)
        except Exception as e:  # noqa: BLE001 - any failure here means the workers cannot run points
            self.close()
            raise AccelsimError(f"scheduler: the workers cannot run accelsim: {type(e).__name__}: {e}") from None

    def n_workers(self) -> int:
        return max(1, sum(self.client.nthreads().values()))

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def run_sweep(
    spec: SweepSpec,
    output: str | Path,
    *,
    scheduler: str | None = None,
    workers: int = DEFAULT_WORKERS,
    chunk_size: int | None = None,
    retry_errors: bool = False,
    progress: bool = True,
    console: Console | None = None,
    command: str | None = None,
) -> SweepSummary:
    """Evaluate every point of ``spec`` not yet in ``output`` and store each as it finishes.

    ``command`` (the command line that ran the sweep) is kept in the database for the report.
    """
    start = time.perf_counter()
    p = plan(spec)
    console = console or Console(stderr=True)
    with ResultStore(output) as store:
        for nid, (net, nspec) in p.networks.items():
            store.add_network(nid, net.name, nspec)
        store.set_meta(f"sweep:{spec.name}", spec_record(spec))
        store.set_meta("last_sweep", spec.name)
        if command:
            store.set_meta(f"command:{spec.name}", command)
        done = store.keys("ok") if retry_errors else store.keys()
        pending = [q for q in p.points if q.key not in done]
        configs = {q.key: q.row for q in pending}
        failed, reasons = 0, collections.Counter()
        if pending:
            cluster = None if workers == 0 and not scheduler else _Cluster(scheduler, workers)
            try:
                n_workers = cluster.n_workers() if cluster else 1
                size = chunk_size or default_chunk_size(len(pending), n_workers)
                jobs = make_jobs(p, pending, size)
                with _progress(console) if progress else _NoProgress() as bar:
                    task = bar.add_task(spec.name, total=len(pending), rate=0.0)
                    t0, done_now = time.perf_counter(), 0
                    for records in _results(cluster, jobs):
                        store.write(records, configs)
                        failed += sum(r["status"] != "ok" for r in records)
                        reasons.update(r["error"] for r in records if r["status"] != "ok")
                        done_now += len(records)
                        bar.update(task, advance=len(records), rate=done_now / max(1e-9, time.perf_counter() - t0))
            finally:
                if cluster:
                    cluster.close()
    return SweepSummary(len(p.points), len(p.points) - len(pending), len(pending), failed,
                        time.perf_counter() - start, str(output), tuple(e for e, _ in reasons.most_common()))


def _results(cluster: _Cluster | None, jobs: list[Job]):
    if cluster is None:
        for job in jobs:
            yield run_job(job)
        return
    from distributed import as_completed

    futures = {cluster.client.submit(run_job, job, pure=False): job for job in jobs}
    try:
        for fut in as_completed(futures):
            try:
                yield fut.result()
            except Exception as e:  # noqa: BLE001 - a lost task becomes error rows, the sweep goes on
                yield _failed(futures[fut], e)
    finally:
        for fut in futures:
            fut.cancel()


class _NoProgress:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def add_task(self, *a, **k):
        return 0

    def update(self, *a, **k):
        pass

