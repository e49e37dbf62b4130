"""Running a sweep on Dask: plan the points, skip those already stored, batch the rest into tasks.

A point is milliseconds of work, so one task per point would be all scheduler overhead: points
are cut, in grid order, into chunks of one network each (a task ships one network and its
points' configs) and every task evaluates a whole chunk. The client process is the
only writer: each finished chunk is committed to SQLite as it arrives, so a killed sweep resumes
where it stopped. By default a sweep runs in this process (a point is milliseconds; a cluster costs
seconds to start) and moves to a ``distributed.LocalCluster`` of one worker process per core,
its dashboard on a free local port, only when it projects enough work; ``workers=N`` asks for N worker processes
(at most the cores), ``workers=0`` never starts one. ``scheduler="tcp://HOST:PORT"`` sends the
same tasks to an existing cluster, whose workers must run the same accelsim version.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import math
import os
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from accelsim.dse.evaluate import Job, PointSpec, run_job
from accelsim.dse.spec import (
    DEFAULT_MAPPER,
    NO_OBJECTIVE,
    SweepSpec,
    design_key,
    digest,
    network_spec,
    point_key,
)
from accelsim.dse.store import ResultStore
from accelsim.energy.table import BASE_NODE_NM
from accelsim.errors import AccelsimError
from accelsim.hardware.config import ArrayConfig, ConfigError
from accelsim.progress import ProgressCallback, stderr_progress
from accelsim.synth.area import area_breakdown
from accelsim.workload import ZOO, Network, resolve

MAX_CHUNK = 32
DEFAULT_WORKERS = None  # automatic: in this process, or one worker process per core when that pays
SMALL_SWEEP_POINTS = 64  # fewer pending points than this never start a cluster
PROBE_S = 1.0  # in-process work measured before deciding on a cluster
CLUSTER_PAYS_S = 12.0  # projected in-process seconds above which a cluster pays for its start (~6 s)


@dataclass(frozen=True)
class PlannedPoint:
    key: str
    network_id: str
    batch: int
    config: dict
    row: tuple  # the store's CONFIG_COLUMNS values
    design: str = ""  # the design key (the point's identity without energy table and version)
    mapper: str = DEFAULT_MAPPER
    objective: str = NO_OBJECTIVE
    tech_node_nm: int = BASE_NODE_NM

    def task(self, cost: VariantCost) -> PointSpec:
        return PointSpec(self.key, self.batch, self.config, self.mapper, self.objective, self.tech_node_nm,
                         cost.area_mm2, cost.leakage_mW, cost.error)


@dataclass(frozen=True)
class VariantCost:
    """A hardware variant's area and static power (``synth.area.area_breakdown``), or why there are none."""

    area_mm2: float | None = None
    leakage_mW: float = 0.0
    error: str | None = None


# The ArrayConfig fields a chip's area and static power depend on (``synth.area.area_breakdown``, with the
# technology node): points that differ only elsewhere (dataflow, bandwidth, clock, buffering, mapping)
# share one lookup.
AREA_FIELDS = ("rows", "cols", "data_bits", "acc_bits", "out_bits", "ifmap_sram_kib", "filter_sram_kib",
               "ofmap_sram_kib")


@dataclass(frozen=True)
class Plan:
    """A spec expanded: its networks (by id), its unique points in grid order, and each hardware variant's
    cost (area and static power, by ``variant(config, tech_node_nm)``)."""

    spec: SweepSpec
    networks: dict[str, tuple[Network, dict]]
    points: tuple[PlannedPoint, ...]
    costs: dict[tuple, VariantCost] = field(default_factory=dict)

    def cost(self, q: PlannedPoint) -> VariantCost:
        return self.costs[variant(q.config, q.tech_node_nm)]


def variant(config: dict, tech_node_nm: int = BASE_NODE_NM) -> tuple:
    """The hardware variant of an ArrayConfig field dict at a node: what its area depends on (``AREA_FIELDS``)."""
    return (*(config[f] for f in AREA_FIELDS), tech_node_nm)


def variant_cost(config: dict, tech_node_nm: int = BASE_NODE_NM,
                 notify: Callable[[str], None] | None = None) -> VariantCost:
    """Area and static power of one variant (synthesized once, then read from the synthesis snapshot or
    cache); a variant that cannot be priced (no yosys, a failed synthesis) is an error its points record."""
    try:
        cfg = ArrayConfig(**config)
    except ConfigError:
        return VariantCost()  # no such array: its points fail on evaluation, saying why
    try:
        b = area_breakdown(cfg, notify=notify, tech=tech_node_nm)
    except AccelsimError as e:
        return VariantCost(error=f"{type(e).__name__}: area: {e}")
    return VariantCost(b.area_mm2, b.leakage_mW)


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


def plan(spec: SweepSpec, notify: Callable[[str], None] | None = None) -> Plan:
    """Resolve the networks, expand the grid (duplicate points, same key, are kept once) and price each
    hardware variant's area and static power once."""
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
    costs: dict[tuple, VariantCost] = {}
    searches = spec.searches()
    energy_id = digest(spec.energy.to_dict())
    for nid in order:
        net, _ = networks[nid]
        for batch, cfg in spec.configs():
            for tech in spec.tech_node_nm:
                v = variant(cfg, tech)
                if v not in costs:
                    costs[v] = variant_cost(cfg, tech, notify)
                for mapper, objective in searches:
                    key = point_key(nid, batch, cfg, energy_id, spec.engine, mapper, objective, tech)
                    if key in seen:
                        continue
                    seen.add(key)
                    row = (net.name, nid, batch, cfg["rows"], cfg["cols"], cfg["dataflow"], cfg["ifmap_sram_kib"],
                           cfg["filter_sram_kib"], cfg["ofmap_sram_kib"], int(cfg["double_buffer"]),
                           int(cfg["pipeline"]), int(cfg["on_chip"]), cfg["bandwidth"], cfg["clock_mhz"],
                           cfg["data_bits"], cfg["acc_bits"], cfg["out_bits"], spec.engine, mapper, objective, tech)
                    points.append(PlannedPoint(key, nid, batch, cfg, row,
                                               design_key(nid, batch, cfg, spec.engine, mapper, objective, tech),
                                               mapper, objective, tech))
    return Plan(spec, networks, tuple(points), costs)


def default_chunk_size(n_points: int, n_workers: int) -> int:
    """About sixteen tasks per worker (points differ 100x in cost: small arrays take longest; many
    tasks balance the load and keep the progress bar live), at most MAX_CHUNK points each."""
    return max(1, min(MAX_CHUNK, math.ceil(n_points / (16 * max(1, n_workers)))))


def make_jobs(p: Plan, points, chunk_size: int) -> list[Job]:
    jobs: list[Job] = []
    current: list[PlannedPoint] = []

    def flush():
        if current:
            net = p.networks[current[0].network_id][0]
            jobs.append(Job(current[0].network_id, net, p.spec.engine, p.spec.energy,
                            tuple(q.task(p.cost(q)) for q in current)))
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


def _failed(job: Job, exc: BaseException) -> list[dict]:
    msg = f"task failed: {type(exc).__name__}: {exc}"
    return [{"key": q.key, "status": "error", "error": msg, "metrics": None, "layers": None} for q in job.points]


SCHEMES = ("tcp://", "tls://", "ws://", "wss://", "inproc://", "ucx://")
CONNECT_TIMEOUT_S = 3.0  # to connect, and for a tcp:// server's first bytes
CLIENT_TIMEOUT_S = 10.0  # Dask's own connect to a server that answered like a scheduler
HANDSHAKE_LIMIT_BYTES = 1 << 20  # a Dask handshake is a few hundred bytes


def _host_port(address: str) -> tuple[str, int]:
    rest = address.split("://", 1)[1].split("/", 1)[0]
    host, _, port = rest.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise AccelsimError(f"scheduler: expected {address.split('://')[0]}://HOST:PORT, got {address!r}")
    return host.strip("[]"), int(port)


def check_address(address: str) -> str:
    """``address``'s scheme ("tcp", "tls", ...) once its form is valid (no connection made)."""
    if not address.startswith(SCHEMES):
        raise AccelsimError(f"scheduler: expected an address such as tcp://HOST:PORT, got {address!r}")
    scheme = address.split("://", 1)[0]
    if scheme == "ucx":
        raise AccelsimError(f"scheduler: {address}: ucx:// needs distributed-ucxx, which accelsim does not use")
    if scheme != "inproc":
        _host_port(address)
    return scheme


def _probe(address: str, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
    """Fail fast and in one line on what Dask's client would retry, hang on or crash on.

    Connects (refused, unknown or unreachable host), and for ``tcp://`` reads the handshake a
    Dask server sends first: its 8-byte length must come within the timeout and be small (a
    server that says nothing, or an HTTP or other server whose first bytes Dask would take for a
    length of exabytes, is not a scheduler).
    """
    scheme = check_address(address)
    if scheme == "inproc":
        return
    host, port = _host_port(address)
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as sock:
            if scheme != "tcp":
                return
            sock.settimeout(timeout_s)
            head = b""
            while len(head) < 8:
                chunk = sock.recv(8 - len(head))
                if not chunk:
                    raise AccelsimError(f"scheduler: {address} closed the connection: not a Dask scheduler")
                head += chunk
    except TimeoutError:
        raise AccelsimError(f"scheduler: cannot connect to {address}: no Dask handshake within {timeout_s:g} s "
                            f"(not a Dask scheduler, or unreachable)") from None
    except OSError as e:
        raise AccelsimError(f"scheduler: cannot connect to {address}: {e.strerror or e}") from None
    (length,) = struct.unpack("<Q", head)
    if not 0 < length <= HANDSHAKE_LIMIT_BYTES:
        raise AccelsimError(f"scheduler: {address} is not a Dask scheduler (its first bytes are not Dask's protocol)")


def _worker_check() -> str:
    """Run on every worker before the sweep: can it import the evaluator, and which accelsim is it?"""
    import accelsim.dse.evaluate  # noqa: F401

    return worker_version()


def worker_version() -> str:
    from accelsim import __version__

    return __version__


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _bounded(what: str, fn, timeout_s: float):
    """``fn()`` in a helper thread, given up on (one line) after ``timeout_s``: Dask's own timeouts
    do not cover every stage of a connection."""
    box: dict = {}

    def target():
        try:
            box["value"] = fn()
        except BaseException as e:  # noqa: BLE001 - handed to the caller
            box["error"] = e

    t = threading.Thread(target=target, name=f"accelsim:{what}", daemon=True)
    t.start()
    t.join(timeout_s)
    if t.is_alive():
        raise AccelsimError(f"scheduler: {what}: no answer within {timeout_s:g} s")
    if "error" in box:
        raise box["error"]
    return box["value"]


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split())
    if isinstance(e, MemoryError):
        return "not a Dask scheduler (its answer is not Dask's protocol)"
    if isinstance(e, TypeError) and "ssl" in text.lower():
        return "tls:// needs TLS certificates in Dask's configuration (distributed.comm.tls)"
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


@contextlib.contextmanager
def _quiet_distributed():
    """distributed logs connection failures and cluster start/stop at INFO/WARNING; the sweep
    reports what matters itself."""
    loggers = [logging.getLogger(n) for n in ("distributed", "tornado", "asyncio")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


class _Cluster:
    """A Dask client: on ``scheduler`` if given, else on an embedded LocalCluster; closed on exit.

    Any address or connection problem, workers that cannot import accelsim, and workers whose
    accelsim version differs from this process's become one AccelsimError line.
    """

    def __init__(self, scheduler: str | None, workers: int | None, timeout_s: float = CONNECT_TIMEOUT_S):
        from distributed import Client, LocalCluster

        self.cluster: Any = None
        self.client: Any = None
        where = scheduler or "the local cluster"
        with _quiet_distributed():
            try:
                if scheduler:
                    _probe(scheduler, timeout_s)
                    wait_s = CLIENT_TIMEOUT_S if scheduler.startswith("tcp://") else timeout_s
                    self.client = _bounded(f"connecting to {scheduler}",
                                           lambda: Client(scheduler, timeout=f"{wait_s}s"), 2 * wait_s + 5)
                else:
                    self.cluster = LocalCluster(
                        # ":0": a free port; None does not turn the dashboard off (dask/distributed#8136) and
                        # warns "Port 8787 is already in use" when another cluster runs
                        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                        silence_logs=logging.CRITICAL, host="127.0.0.1", scheduler_port=0,
                        worker_dashboard_address=None,
                    )
                    self.client = Client(self.cluster)
            except AccelsimError:
                self.close()
                raise
            except Exception as e:  # noqa: BLE001 - Dask raises many types here (even MemoryError); each is one line
                self.close()
                raise AccelsimError(f"scheduler: cannot connect to {where}: {_one_line(e)}") from None
            except BaseException:
                self.close()
                raise
            try:
                client = self.client
                _bounded("waiting for workers", lambda: client.wait_for_workers(1, timeout=30), 40)
                versions = _bounded("asking the workers", lambda: client.run(_worker_check), 60)
            except AccelsimError:
                self.close()
                raise
            except Exception as e:  # noqa: BLE001 - any failure here means the workers cannot run points
                self.close()
                raise AccelsimError(f"scheduler: the workers of {where} cannot run accelsim: {_one_line(e)}") from None
        mine = worker_version()
        other = {addr: v for addr, v in versions.items() if v != mine}
        if other:
            self.close()
            addr, v = min(other.items())
            raise AccelsimError(f"scheduler: worker {addr} runs accelsim {v}, this client {mine} "
                                f"({len(other)} of {len(versions)} workers differ): install the same version")

    def n_workers(self) -> int:
        return max(1, sum(self.client.nthreads().values())) if self.client else 1

    def close(self) -> None:
        with _quiet_distributed():
            if self.client is not None:
                self.client.close()
            if self.cluster is not None:
                self.cluster.close()


def plan_workers(workers: int | None, n_points: int) -> tuple[int | None, str | None]:
    """(worker processes for an embedded cluster, a note for the user): ``workers`` None is automatic
    (None: decide after a first in-process measurement; 0 for small sweeps); above the cores is capped."""
    cores = available_cores()
    if workers is None:
        return (0 if n_points < SMALL_SWEEP_POINTS or cores == 1 else None), None
    if workers > cores:
        return cores, f"sweep: --workers {workers} is more than the {cores} cores here; using {cores}"
    return workers, None


def run_sweep(
    spec: SweepSpec,
    output: str | Path,
    *,
    scheduler: str | None = None,
    workers: int | None = DEFAULT_WORKERS,
    chunk_size: int | None = None,
    retry_errors: bool = False,
    progress: ProgressCallback | bool | None = None,
    notes: Callable[[str], None] | None = None,
    command: str | None = None,
    keep_superseded: bool = False,
) -> SweepSummary:
    """Evaluate every point of ``spec`` not yet in ``output`` and store each as it finishes.

    ``workers`` None (the default) evaluates in this process, starting a LocalCluster of one
    worker per core only when the first second of work projects more than ``CLUSTER_PAYS_S``
    seconds in all; 0 never starts one; N starts N workers (at most the cores). ``scheduler``
    sends the work to an existing Dask cluster. ``progress(done, total)`` is called as points
    finish (True: a display on stderr); ``notes`` receives one-line remarks (a capped --workers,
    a cluster started). ``command`` (the command line that ran the sweep) is kept for the report.
    Rows of the same designs computed with another energy table or accelsim version are replaced,
    or with ``keep_superseded`` kept apart (tagged ``superseded``).
    """
    start = time.perf_counter()
    p = plan(spec, notes)
    with ResultStore(output, keep_superseded=keep_superseded) as store:
        for nid, (net, nspec) in p.networks.items():
            store.add_network(nid, net.name, nspec)
        store.set_meta(f"sweep:{spec.name}", spec_record(spec))
        store.set_meta("last_sweep", spec.name)
        if command:
            store.set_meta(f"command:{spec.name}", command)
        done = store.keys("ok") if retry_errors else store.keys()
        pending = [q for q in p.points if q.key not in done]
        configs = {q.key: q.row for q in pending}
        designs = {q.key: q.design for q in pending}
        failed, reasons = 0, collections.Counter[str]()
        if pending:
            n_workers, note = (None, None) if scheduler else plan_workers(workers, len(pending))
            if note and notes:
                notes(note)
            display = stderr_progress(spec.name, len(pending)) if progress is True else None
            callback = display if display is not None else (progress if callable(progress) else None)
            cluster = _Cluster(scheduler, n_workers) if scheduler or n_workers else None
            try:
                planned = cluster.n_workers() if cluster else (available_cores() if n_workers is None else 1)
                size = chunk_size or default_chunk_size(len(pending), planned)
                jobs = make_jobs(p, pending, size)
                with display if display is not None else contextlib.nullcontext():
                    done_now = 0
                    for records in _results(cluster, jobs, None if cluster or n_workers == 0 else
                                            _Escalate(len(pending), notes)):
                        store.write(records, configs, designs)
                        failed += sum(r["status"] != "ok" for r in records)
                        reasons.update(r["error"] for r in records if r["status"] != "ok")
                        done_now += len(records)
                        if callback:
                            callback(done_now, len(pending))
            finally:
                if cluster:
                    cluster.close()
    return SweepSummary(len(p.points), len(p.points) - len(pending), len(pending), failed,
                        time.perf_counter() - start, str(output), tuple(e for e, _ in reasons.most_common()))


class _Escalate:
    """Automatic mode: after ``PROBE_S`` of in-process work, a LocalCluster for the rest if the
    projection says it pays (the cluster costs seconds to start; a 2-core machine gains at most 2x)."""

    def __init__(self, total: int, notes: Callable[[str], None] | None):
        self.total, self.notes = total, notes
        self.t0 = time.perf_counter()

    def cluster_for_rest(self, done: int) -> _Cluster | None:
        elapsed = time.perf_counter() - self.t0
        if elapsed < PROBE_S or done == 0:
            return None
        rest_s = elapsed / done * (self.total - done)
        self.t0 = float("inf")  # decide once
        cores = available_cores()
        if rest_s < CLUSTER_PAYS_S or cores == 1:
            return None
        if self.notes:
            self.notes(f"sweep: about {rest_s:.0f} s of work left; starting {cores} Dask workers")
        return _Cluster(None, cores)


def _results(cluster: _Cluster | None, jobs: list[Job], escalate: _Escalate | None = None):
    if cluster is None:
        done = 0
        for i, job in enumerate(jobs):
            records = run_job(job)
            done += len(records)
            yield records
            if escalate is not None and i + 1 < len(jobs):
                started = escalate.cluster_for_rest(done)
                if started is not None:
                    try:
                        yield from _results(started, jobs[i + 1:])
                    finally:
                        started.close()
                    return
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
