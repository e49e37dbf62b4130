"""cocotb testbench of ``systolic_top``: driver, monitor, model and checker for a whole ``Job``.

Runs inside the simulator's Python (``ACCELSIM_COSIM_JOB`` names the pickled ``Job``). It reads
the DUT's parameters back and refuses to run if they differ from the configuration's, resets
once, then runs every fold through DUT and model in lock step, cycle by cycle: one
``FoldDriver`` (the same as the stepping model's) decides from the model's outputs when each
fold's first beat comes, serial (the cycle after the previous fold's ``done``) or pipelined (the
contract's occupancy), plus the job's idle gap before it, and merges the folds' beats into one
input stream. Per cycle, at the falling edge (outputs are registers, stable since the rising
edge; inputs are sampled by the next rising edge): the monitor samples the DUT's outputs of the
current cycle, then the driver presents the cycle's inputs to the DUT and the model
(``ArrayCore`` by default, any ``module:Class`` with its ``step``/``reset`` interface, told of
each fold as it is issued if it has an ``issue(beats)`` method). Output
rows are attributed to folds in order (``done`` ends a fold's rows), the DUT's and the model's
separately, and the checker compares each fold's output values bit for bit, the cycle of every
output row and of ``done`` (counted from the fold's first beat), and the DUT's ``cycle_count``
(cycles since reset). Results go to ``Job.results_path`` even on failure.
"""

from __future__ import annotations

import importlib
import os
import time
from collections import deque

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge
from cocotb.utils import get_sim_time

from accelsim.hardware.arith import wrap
from accelsim.lowering.requant import OutputStage
from accelsim.rtlsim.job import JOB_ENV, FoldResult, Job, JobResult
from accelsim.rtlsim.waves import ModelWaves
from accelsim.systolic.beats import Beats
from accelsim.systolic.issue import FoldDriver
from accelsim.systolic.stage import OutputStagePipe, StageRow, stage_lanes

PARAMETERS = ("ROWS", "COLS", "DATA_W", "ACC_W", "OUT_W")
INPUTS = ("rst", "dataflow", "load", "valid", "last", "a_in", "b_in", "c_final", "psum_in", "bias", "m0", "shift",
          "act_min", "act_max")
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


def stage_ports(row: StageRow, psum, acc_w: int, out_w: int) -> dict[str, int]:
    """The output stage's per-row input ports (``psum_in``, ``bias``, ``m0``, ``shift``, the clamp) as port values."""
    def lanes(x, width: int) -> int:
        return pack(np.asarray(x)[None, :], width)[0]

    mask = (1 << out_w) - 1
    return {"psum_in": lanes(psum, acc_w), "bias": lanes(row.bias, 32), "m0": lanes(row.m0, 32),
            "shift": lanes(row.shift, 6), "act_min": row.act_min & mask, "act_max": row.act_max & mask}


def unpack(value: int, lanes: int, width: int) -> np.ndarray:
    """A port's integer as ``lanes`` signed width-bit values."""
    mask = (1 << width) - 1
    return wrap(np.array([(value >> (k * width)) & mask for k in range(lanes)], dtype=np.uint64).astype(np.int64),
                width)


def load_model(spec: str):
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


class Driver:
    """Presents one cycle's merged beats on the input ports, writing only ports whose value changes."""

    def __init__(self, dut, data_w: int):
        self._ports = {p: getattr(dut, p) for p in INPUTS}
        self._now: dict[str, int] = {}
        self._data_w = data_w

    def put(self, port: str, value: int) -> None:
        if self._now.get(port) != value:
            self._ports[port].value = value
            self._now[port] = value

    def present(self, load: bool, valid: bool, last: bool, a_in, b_in, port: int) -> None:
        self.put("rst", 0)
        self.put("dataflow", port)
        self.put("load", int(load))
        self.put("valid", int(valid))
        self.put("last", int(last))
        self.put("a_in", pack(np.asarray(a_in)[None, :], self._data_w)[0])
        self.put("b_in", pack(np.asarray(b_in)[None, :], self._data_w)[0])

    def stage_row(self, final: tuple[StageRow, np.ndarray] | None, acc_w: int, out_w: int) -> None:
        """The output stage's inputs for the row on ``c_out`` this cycle: (its lanes, its partial sum), or
        None when there is no final row (the other inputs then keep their values)."""
        if final is None:
            self.put("c_final", 0)
            return
        row, psum = final
        self.put("c_final", 1)
        for port, value in stage_ports(row, psum, acc_w, out_w).items():
            self.put(port, value)

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


class StageMonitor:
    """Samples the output stage's outputs during the current cycle."""

    def __init__(self, dut, cols: int, out_w: int):
        self._valid, self._last, self._q = dut.out_valid, dut.out_last, dut.q_out
        self._cols, self._out_w = cols, out_w

    def sample(self) -> tuple[bool, bool]:
        return bool(int(self._valid.value)), bool(int(self._last.value))

    def row(self) -> np.ndarray:
        return unpack(self._q.value.to_unsigned(), self._cols, self._out_w)


class PsumBuffer:
    """The ofmap buffer's side of the output stage for one side (DUT or model): the partial sums of the
    C block whose k-tiles are running, per output row of the fold (lane layout; the k-tiles of a block
    are consecutive folds with the same rows), and what a final row puts on the stage's inputs."""

    def __init__(self, cols: int, acc_w: int, stages: list[OutputStage] | None):
        self.cols, self.acc_w, self.stages = cols, acc_w, stages
        self._rows: dict[int, np.ndarray] = {}
        self._zero = np.zeros(cols, dtype=np.int64)

    def row(self, index: int, beats: Beats, r: int, out: np.ndarray) -> tuple[StageRow, np.ndarray] | None:
        """Output row ``r`` of fold ``index``: its stage inputs and partial sum if it is final, else None (it is
        added to the buffer)."""
        if self.stages is None:
            return None
        fold = beats.fold
        if not fold.last_k:
            prev = self._rows.get(r) if not fold.first_k else None
            self._rows[r] = out.copy() if prev is None else wrap(prev + out, self.acc_w)
            return None
        psum = self._zero if fold.first_k else self._rows.get(r, self._zero)
        return stage_lanes(self.stages[index], beats.dataflow.name, fold, r, self.cols), psum


def _cycles(xs) -> str:
    xs = list(map(int, xs))
    return str(xs) if len(xs) <= 8 else f"[{', '.join(map(str, xs[:8]))}, ... ({len(xs)} rows)]"


class Checker:
    """Compares what the DUT did in one fold with what the model says it must do."""

    MAX_VALUE_ERRORS = 4

    def _values(self, row_name: str, col_name: str, what: str, rtl: np.ndarray, model: np.ndarray) -> list[str]:
        """One line per differing value (the first few), then how many differ."""
        bad = np.argwhere(rtl != model)
        lines = [f"{row_name} {row} {col_name} {col}: {rtl[row, col]}, model {model[row, col]}"
                 for row, col in bad[: self.MAX_VALUE_ERRORS]]
        if len(bad) > self.MAX_VALUE_ERRORS:
            lines.append(f"... {len(bad)} {what} values differ")
        return lines

    def compare(self, r: FoldResult, expect_count_start: int) -> None:
        e = r.errors
        if r.rtl_done != r.model_done:
            e.append(f"done in cycle {r.rtl_done}, model {r.model_done}")
        if r.rtl_out.shape != r.model_out.shape:
            e.append(f"{len(r.rtl_out)} output rows, model {len(r.model_out)}")
        else:
            e.extend(self._values("output row", "column", "output", r.rtl_out, r.model_out))
        if not np.array_equal(r.rtl_cycles, r.model_cycles):
            e.append(f"output rows in cycles {_cycles(r.rtl_cycles)}, model {_cycles(r.model_cycles)}")
        if r.cycle_count_start != expect_count_start:
            e.append(f"cycle_count {r.cycle_count_start} in the fold's first cycle, expected {expect_count_start}")
        advanced = None if r.cycle_count_done is None else (r.cycle_count_done - r.cycle_count_start) % COUNT_MOD
        if advanced is not None and advanced != r.rtl_done:
            e.append(f"cycle_count advanced {advanced} by done, expected {r.rtl_done}")
        if r.model_q is None and r.rtl_q is not None and len(r.rtl_q):
            e.append(f"{len(r.rtl_q)} rows left the output stage, model none")
        elif r.model_q is not None and r.rtl_q is not None:
            if r.rtl_q.shape != r.model_q.shape:
                e.append(f"{len(r.rtl_q)} rows left the output stage, model {len(r.model_q)}")
            else:
                e.extend(self._values("int8 row", "lane", "int8", r.rtl_q, r.model_q))
            if r.rtl_q_cycles is None or r.model_q_cycles is None or not np.array_equal(r.rtl_q_cycles,
                                                                                         r.model_q_cycles):
                e.append(f"int8 rows in cycles {_cycles(r.rtl_q_cycles)}, model {_cycles(r.model_q_cycles)}")


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
        self.out_w = p["OUT_W"]
        self.model = load_model(job.model)(self.rows, self.cols, self.data_w, self.acc_w)
        self.checker = Checker()
        self.stage_monitor = StageMonitor(dut, self.cols, self.out_w)
        self.stage_model = OutputStagePipe(self.cols)
        zero = np.zeros(self.cols, dtype=np.int64)
        self.no_row = StageRow(zero, zero, zero, 0, 0)
        self.waves = ModelWaves(p, self.period) if job.model_waves_path else None

    async def reset(self) -> None:
        """Hold rst over one rising edge; the next cycle is the first after reset (cycle_count 0)."""
        self.driver.reset()
        await self.falling
        self.model.reset()
        self.stage_model.reset()

    async def run(self, progress: Progress) -> list[FoldResult]:
        """Every fold of the job, DUT and model in lock step; one result per fold."""
        folds, gaps = self.job.folds, self.job.gaps or [0] * len(self.job.folds)
        drv = FoldDriver(self.rows, self.cols, self.job.pipeline)
        rtl: list[dict] = []      # per fold: the DUT's rows, row cycles, done, cycle_count at start and done
        rtl_open = 0              # the DUT's oldest fold without done
        model_open = 0            # the model's
        # The ofmap buffer's side of the output stage, for the DUT (from its own rows) and for the model;
        # the rows in each stage (fold index, c_last), oldest first; the model's int8 rows per fold.
        dut_buf = PsumBuffer(self.cols, self.acc_w, self.job.stages)
        model_buf = PsumBuffer(self.cols, self.acc_w, self.job.stages)
        dut_staged: deque[tuple[int, bool]] = deque()
        model_staged: deque[int] = deque()
        model_q: dict[int, tuple[list, list]] = {}
        nxt, wait, t, t0_ns = 0, None, 0, 0.0
        slack = self.rows + self.cols + 8  # cycles the DUT may lag the model before its folds are given up
        late = 0
        record = self.waves is not None
        regs: list[dict] = []
        inputs: list[tuple] = []
        while (nxt < len(folds) or drv.busy or model_staged
               or ((rtl_open < len(rtl) or dut_staged) and late < slack)):
            if not (nxt < len(folds) or drv.busy or model_staged):
                late += 1
            await self.falling
            if t == 0:
                t0_ns = get_sim_time("ns") - self.period / 2
            c_valid, done = self.monitor.sample()
            count = self.monitor.cycle_count()
            q_valid, q_last = self.stage_monitor.sample()
            if q_valid:
                if not dut_staged:
                    (rtl[-1]["errors"] if rtl else []).append(f"an int8 row in cycle {t} with no row in the stage")
                else:
                    i, in_last = dut_staged.popleft()
                    rtl[i]["q"].append(self.stage_monitor.row())
                    rtl[i]["q_cycles"].append(t)
                    if q_last != in_last:
                        rtl[i]["errors"].append(f"out_last = {int(q_last)} in cycle {t}, the row had c_last = "
                                                f"{int(in_last)}")
            elif q_last:
                (rtl[-1]["errors"] if rtl else []).append(f"out_last without out_valid in cycle {t}")
            if nxt < len(folds) and drv.may_issue(folds[nxt], t):
                wait = gaps[nxt] if wait is None else wait
                if wait == 0:
                    drv.issue(folds[nxt], t)
                    if hasattr(self.model, "issue"):  # an optional hook: the fold whose beats begin now
                        self.model.issue(folds[nxt])
                    rtl.append({"rows": [], "cycles": [], "done": None, "count_start": count, "count_done": None,
                                "errors": [], "q": [], "q_cycles": []})
                    nxt, wait = nxt + 1, None
                else:
                    wait -= 1
            final = None
            if c_valid or done:
                if rtl_open >= len(rtl):
                    if rtl:
                        rtl[-1]["errors"].append(f"an output row in cycle {t} with no fold in flight")
                else:
                    r = rtl[rtl_open]
                    if c_valid:
                        c_last, row = self.monitor.row()
                        final = dut_buf.row(rtl_open, drv.issued[rtl_open].beats, len(r["rows"]), row)
                        if final is not None:
                            dut_staged.append((rtl_open, bool(c_last)))
                        r["rows"].append(row)
                        r["cycles"].append(t)
                        if done != c_last:
                            r["errors"].append(f"done = {done} with c_valid = 1, c_last = {c_last} in cycle {t}")
                    else:
                        r["errors"].append(f"done without c_valid in cycle {t}")
                    if done:
                        r["done"], r["count_done"] = t, count
                        rtl_open += 1
            self.driver.stage_row(final, self.acc_w, self.out_w)
            step_in = drv.inputs(t)
            self.driver.present(*step_in)
            snap = self.model.snapshot() if record else None
            ports = self.model.step(*step_in)
            if snap is not None:
                snap.update(c_valid=ports.c_valid, c_last=ports.c_last, c_out=ports.c_out, done=ports.done)
                regs.append(snap)
                inputs.append(step_in)
            m_final = None
            cur = drv.current
            if ports.c_valid and cur is not None:
                m_final = model_buf.row(model_open, cur.beats, len(cur.rows), ports.c_out)
            if m_final is not None:
                sq = self.stage_model.step(True, ports.c_last, ports.c_out, m_final[1], m_final[0])
                model_staged.append(model_open)
            else:
                sq = self.stage_model.step(False, False, ports.c_out, 0, self.no_row)
            if sq.valid:
                rows_q, cycles_q = model_q.setdefault(model_staged.popleft(), ([], []))
                rows_q.append(sq.q)
                cycles_q.append(t)
            if drv.observe(t, ports) is not None:
                model_open += 1
                progress.update(sum(f.done is not None for f in drv.issued))
            t += 1
        if record:
            assert self.waves is not None
            self.waves.add_run(t0_ns, inputs, regs)
        results = []
        for i, (f, r) in enumerate(zip(drv.issued, rtl, strict=True)):
            start = f.start
            out = np.array(r["rows"], dtype=np.int64).reshape(len(r["rows"]), self.cols)
            model = f.trace()
            res = FoldResult(i, int(f.beats.dataflow_port), out, np.array(r["cycles"], dtype=np.int64) - start,
                             None if r["done"] is None else r["done"] - start, r["count_start"], r["count_done"],
                             model.out, model.out_cycle, model.done_cycle, t0_ns + start * self.period,
                             r["errors"], start)
            if i in model_q or r["q"]:
                res.rtl_q = np.array(r["q"], dtype=np.int64).reshape(len(r["q"]), self.cols)
                res.rtl_q_cycles = np.array(r["q_cycles"], dtype=np.int64) - start
            if i in model_q:
                rows_q, cycles_q = model_q[i]
                res.model_q = np.array(rows_q, dtype=np.int64).reshape(len(rows_q), self.cols)
                res.model_q_cycles = np.array(cycles_q, dtype=np.int64) - start
            if r["done"] is None:
                res.errors.append(f"no done within {slack} cycles of the model's")
            self.checker.compare(res, start % COUNT_MOD)
            results.append(res)
        return results


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
        result.folds = await bench.run(progress)
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
