"""cocotb testbench of ``systolic_top``: driver, monitor, model and checker for a whole ``Job``.

Runs inside the simulator's Python (``ACCELSIM_COSIM_JOB`` names the pickled ``Job``). It reads
the DUT's parameters back and refuses to run if they differ from the configuration's, resets
once, then runs every fold back to back: the next fold's first beat is the cycle after the
DUT's ``done``. Per cycle, at the falling edge (outputs are registers, stable since the rising
edge; inputs are sampled by the next rising edge): the monitor samples the outputs of the
current cycle, then the driver presents the current beat. The model (``ArrayCore`` by default,
any ``module:Class`` with its interface) runs each fold on its own state, kept in lock step with
the DUT's, and the checker compares output values bit for bit, the cycle of every output row and
of ``done``, and the DUT's ``cycle_count``. Results go to ``Job.results_path`` even on failure.
"""

from __future__ import annotations

import importlib
import os
import time

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge
from cocotb.utils import get_sim_time

from accelsim.hardware.arith import wrap
from accelsim.rtlsim.job import JOB_ENV, FoldResult, Job, JobResult
from accelsim.rtlsim.waves import ModelWaves

PARAMETERS = ("ROWS", "COLS", "DATA_W", "ACC_W")
INPUTS = ("rst", "dataflow", "load", "valid", "last", "a_in", "b_in")
COUNT_MOD = 1 << 32  # cycle_count is 32 bits, free running: it wraps


def pack(lanes: np.ndarray, width: int) -> list[int]:
    """Rows of lane values (T, L) as the integers of an L*width-bit port, lane l at bits [l*width +: width]."""
    mask = (1 << width) - 1
    out = []
    for row in np.asarray(lanes).tolist():
        v = 0
        for x in reversed(row):
            v = (v << width) | (x & mask)
        out.append(v)
    return out


def unpack(value: int, lanes: int, width: int) -> np.ndarray:
    """A port's integer as ``lanes`` signed width-bit values."""
    mask = (1 << width) - 1
    return wrap(np.array([(value >> (k * width)) & mask for k in range(lanes)], dtype=np.uint64).astype(np.int64),
                width)


def load_model(spec: str):
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


class Driver:
    """Presents one fold's beats on the input ports, one per cycle, writing only ports whose value changes."""

    def __init__(self, dut, data_w: int):
        self._ports = {p: getattr(dut, p) for p in INPUTS}
        self._now: dict[str, int] = {}
        self._data_w = data_w
        self._beats: list[tuple[int, int, int, int, int]] = []

    def put(self, port: str, value: int) -> None:
        if self._now.get(port) != value:
            self._ports[port].value = value
            self._now[port] = value

    def begin(self, beats) -> None:
        a = pack(beats.a_in, self._data_w)
        b = pack(beats.b_in, self._data_w)
        self._beats = list(zip(beats.load.astype(int).tolist(), beats.valid.astype(int).tolist(),
                               beats.last.astype(int).tolist(), a, b, strict=True))
        self._port = int(beats.dataflow_port)

    def present(self, t: int) -> None:
        """Beat t of the fold (idle zeros after the last beat), dataflow held for the whole fold."""
        load, valid, last, a, b = self._beats[t] if t < len(self._beats) else (0, 0, 0, 0, 0)
        self.put("rst", 0)
        self.put("dataflow", self._port)
        self.put("load", load)
        self.put("valid", valid)
        self.put("last", last)
        self.put("a_in", a)
        self.put("b_in", b)

    def reset(self) -> None:
        for p in INPUTS:
            self.put(p, 1 if p == "rst" else 0)


class Monitor:
    """Samples the outputs during the current cycle."""

    def __init__(self, dut, cols: int, acc_w: int):
        self._c_valid, self._c_last, self._done = dut.c_valid, dut.c_last, dut.done
        self._c_out, self._cycle_count = dut.c_out, dut.cycle_count
        self._cols, self._acc_w = cols, acc_w

    def sample(self) -> tuple[int, int]:
        return int(self._c_valid.value), int(self._done.value)

    def row(self) -> tuple[int, np.ndarray]:
        return int(self._c_last.value), unpack(self._c_out.value.to_unsigned(), self._cols, self._acc_w)

    def cycle_count(self) -> int:
        return self._cycle_count.value.to_unsigned()


def _cycles(xs) -> str:
    xs = list(map(int, xs))
    return str(xs) if len(xs) <= 8 else f"[{', '.join(map(str, xs[:8]))}, ... ({len(xs)} rows)]"


class Checker:
    """Compares what the DUT did in one fold with what the model says it must do."""

    MAX_VALUE_ERRORS = 4

    def compare(self, r: FoldResult, expect_count_start: int) -> None:
        e = r.errors
        if r.rtl_done != r.model_done:
            e.append(f"done in cycle {r.rtl_done}, model {r.model_done}")
        if r.rtl_out.shape != r.model_out.shape:
            e.append(f"{len(r.rtl_out)} output rows, model {len(r.model_out)}")
        else:
            bad = np.argwhere(r.rtl_out != r.model_out)
            for row, col in bad[: self.MAX_VALUE_ERRORS]:
                e.append(f"output row {row} column {col}: {r.rtl_out[row, col]}, model {r.model_out[row, col]}")
            if len(bad) > self.MAX_VALUE_ERRORS:
                e.append(f"... {len(bad)} output values differ")
        if not np.array_equal(r.rtl_cycles, r.model_cycles):
            e.append(f"output rows in cycles {_cycles(r.rtl_cycles)}, model {_cycles(r.model_cycles)}")
        if r.cycle_count_start != expect_count_start:
            e.append(f"cycle_count {r.cycle_count_start} in the fold's first cycle, expected {expect_count_start}")
        advanced = None if r.cycle_count_done is None else (r.cycle_count_done - r.cycle_count_start) % COUNT_MOD
        if advanced is not None and advanced != r.rtl_done:
            e.append(f"cycle_count advanced {advanced} by done, expected {r.rtl_done}")


class Progress:
    """Tells the host how many folds are done (a small file it polls), at most every 0.2 s."""

    def __init__(self, path: str | None, total: int):
        self.path, self.total, self._t = path, total, 0.0

    def update(self, done: int, force: bool = False) -> None:
        now = time.monotonic()
        if self.path and (force or now - self._t > 0.2):
            tmp = f"{self.path}.tmp"
            with open(tmp, "w") as fh:
                fh.write(f"{done} {self.total}\n")
            os.replace(tmp, self.path)
            self._t = now


class Bench:
    """The DUT with its clock, driver, monitor, model and checker."""

    def __init__(self, dut, job: Job):
        self.dut, self.job = dut, job
        p = job.parameters
        self.rows, self.cols, self.data_w, self.acc_w = p["ROWS"], p["COLS"], p["DATA_W"], p["ACC_W"]
        self.period = job.period_ns
        self.falling = FallingEdge(dut.clk)
        self.driver = Driver(dut, self.data_w)
        self.monitor = Monitor(dut, self.cols, self.acc_w)
        self.model = load_model(job.model)(self.rows, self.cols, self.data_w, self.acc_w)
        self.checker = Checker()
        self.waves = ModelWaves(p, self.period) if job.model_waves_path else None

    async def reset(self) -> None:
        """Hold rst over one rising edge; the next cycle is the first after reset (cycle_count 0)."""
        self.driver.reset()
        await self.falling
        self.model.reset()

    async def run_fold(self, index: int, beats, expect_count_start: int) -> FoldResult:
        record = self.waves is not None
        expected = self.model.run(beats, record=record)
        self.driver.begin(beats)
        budget = expected.done_cycle + self.rows + self.cols + 8
        rows, cycles, errors = [], [], []
        done_at = count_done = None
        count_start, start_ns = 0, 0.0
        for t in range(budget):
            await self.falling
            c_valid, done = self.monitor.sample()
            if t == 0:
                count_start = self.monitor.cycle_count()
                start_ns = get_sim_time("ns") - self.period / 2
            self.driver.present(t)
            if c_valid:
                c_last, row = self.monitor.row()
                rows.append(row)
                cycles.append(t)
                if done != c_last:
                    errors.append(f"done = {done} with c_valid = 1, c_last = {c_last} in cycle {t}")
            elif done:
                errors.append(f"done without c_valid in cycle {t}")
            if done:
                done_at, count_done = t, self.monitor.cycle_count()
                break
        out = np.array(rows, dtype=np.int64).reshape(len(rows), self.cols)
        result = FoldResult(index, int(beats.dataflow_port), out, np.array(cycles, dtype=np.int64), done_at,
                            count_start, count_done, expected.out, expected.out_cycle, expected.done_cycle,
                            start_ns, errors)
        if done_at is None:
            errors.append(f"no done within {budget} cycles")
        self.checker.compare(result, expect_count_start)
        if self.waves is not None:
            self.waves.add_fold(start_ns, beats, expected.signals)
        return result


def dut_parameters(dut) -> dict[str, int]:
    return {name: int(getattr(dut, name).value) for name in PARAMETERS}


@cocotb.test()
async def run_job(dut):
    """Run the job named by ACCELSIM_COSIM_JOB and fail on any mismatch."""
    job = Job.load(os.environ[JOB_ENV])
    result = JobResult(job.parameters, None, folds_expected=len(job.folds))
    progress = Progress(job.progress_path, len(job.folds))
    t0 = time.perf_counter()
    try:
        result.dut_parameters = dut_parameters(dut)
        if result.dut_parameters != job.parameters:
            result.errors.append(f"DUT parameters {result.dut_parameters} differ from the configuration's "
                                 f"{job.parameters}")
            return
        bench = Bench(dut, job)
        Clock(dut.clk, job.period_ns, unit="ns").start()
        await bench.reset()
        expect_start = 0
        for i, beats in enumerate(job.folds):
            r = await bench.run_fold(i, beats, expect_start)
            result.folds.append(r)
            progress.update(i + 1)
            if r.cycle_count_done is None:  # done never came (rtl_done is None too)
                await bench.reset()
                expect_start = 0
            else:
                expect_start = (r.cycle_count_done + 1) % COUNT_MOD
        if bench.waves is not None:
            bench.waves.write(job.model_waves_path)
    except Exception as e:
        result.errors.append(f"testbench error: {type(e).__name__}: {e}")
        raise
    finally:
        result.sim_seconds = time.perf_counter() - t0
        progress.update(len(result.folds), force=True)
        result.save(job.results_path)
        assert result.ok, "; ".join(result.all_errors()[:6]) or "not every fold ran"
