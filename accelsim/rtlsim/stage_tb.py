"""cocotb unit testbench of ``output_stage`` alone: driver, monitor, model and checker.

Runs inside the simulator's Python (``tests/rtl/test_output_stage.py`` builds ``output_stage`` and
launches it). ``Stimulus`` draws random rows (``ACCELSIM_STAGE_SEED``, ``ACCELSIM_STAGE_CYCLES``):
idle cycles between rows, accumulators, partial sums and biases including the int32 extremes and
sums that wrap, every activation (none, ReLU, ReLU6 at a random scale) and random clamps, M0 over
the legal range [2^30, 2^31), 0 and all of int32 (the saturating corner M0 = x = -2^31 included;
small sums at exact fractions meet both roundings' ties) and every 6-bit shift (left shifts that
saturate included), each lane its own. Per cycle, at the
falling edge: the monitor samples the DUT's outputs, the driver presents the cycle's inputs to
the DUT and to the model (``OutputStagePipe``), and the checker compares the DUT with the model
cycle by cycle (``out_valid`` always, ``out_last`` only with it; ``q_out`` with it) and the model with the
rule itself (``requant.output_stage`` of the row taken exactly ``OUT_STAGE_CYCLES`` earlier).
"""

from __future__ import annotations

import os

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge

from accelsim.lowering.requant import INT32_MAX, INT32_MIN, OUT_STAGE_CYCLES, activation_bounds, output_stage, qmax
from accelsim.rtlsim.tb import StageMonitor, pack, stage_ports
from accelsim.systolic.stage import OutputStagePipe, StageRow

SEED_ENV, CYCLES_ENV = "ACCELSIM_STAGE_SEED", "ACCELSIM_STAGE_CYCLES"
PARAMETERS = ("COLS", "ACC_W", "OUT_W")
M0_SPECIAL = np.array([0, 1 << 30, 3 << 29, 5 << 28, INT32_MAX, -(1 << 30)], dtype=np.int64)
EXTREMES = np.array([INT32_MIN, INT32_MIN + 1, -1, 0, 1, INT32_MAX - 1, INT32_MAX], dtype=np.int64)


class Stimulus:
    """Random rows of stage inputs, one a cycle."""

    def __init__(self, cols: int, out_w: int, seed: int):
        self.cols, self.out_w, self.rng = cols, out_w, np.random.default_rng(seed)

    def _int32(self) -> np.ndarray:
        """Per lane: an extreme, a small value (rounding ties), or any int32."""
        r = self.rng
        kind = r.integers(0, 3, self.cols)
        return np.where(kind == 0, r.choice(EXTREMES, self.cols),
                        np.where(kind == 1, r.integers(-300, 301, self.cols),
                                 r.integers(INT32_MIN, INT32_MAX, self.cols, endpoint=True)))

    def row(self) -> tuple[bool, bool, np.ndarray, np.ndarray, StageRow]:
        r, c = self.rng, self.cols
        valid = bool(r.random() < 0.7)
        last = bool(r.random() < 0.3)
        acc, psum, bias = self._int32(), self._int32(), self._int32()
        corner = r.random() < 0.05  # x = -2^31 with M0 = -2^31 (the doubling high multiply saturates)
        if corner:
            acc, psum, bias = np.full(c, INT32_MIN), np.zeros(c, np.int64), np.zeros(c, np.int64)
        kind = r.integers(0, 4, c)  # legal, special (0, exact halves and quarters: rounding ties), any int32
        m0 = np.where(kind <= 1, r.integers(1 << 30, INT32_MAX, c, endpoint=True),
                      np.where(kind == 2, r.choice(M0_SPECIAL, c), r.integers(INT32_MIN, INT32_MAX, c, endpoint=True)))
        if corner or r.random() < 0.05:
            m0 = np.full(c, INT32_MIN)
        shift = r.integers(-32, 32, c)  # the 6-bit port: the contract's [-31, 30] and its two ends beyond
        if corner:
            shift = r.integers(-32, 1, c)
        elif r.random() < 0.2:  # small sums at exact fractions: both roundings meet their ties
            acc, psum, bias = r.integers(-64, 65, c), np.zeros(c, np.int64), np.zeros(c, np.int64)
            m0, shift = r.choice(M0_SPECIAL, c), r.integers(-3, 2, c)
        hi = qmax(self.out_w)
        pick = r.integers(0, 4)
        if pick < 3:
            act = ("none", "relu", "relu6")[pick]
            act_min, act_max = activation_bounds(act, float(r.uniform(0.01, 0.2)), self.out_w)
        else:  # any clamp the ports can carry, unordered included (max wins)
            act_min, act_max = (int(v) for v in r.integers(-hi - 1, hi + 1, 2))
        return valid, last, acc, psum, StageRow(bias, m0, shift, act_min, act_max)


class Driver:
    """Presents one cycle's inputs on the DUT's ports."""

    def __init__(self, dut, cols: int, acc_w: int, out_w: int):
        self.dut, self.cols, self.acc_w, self.out_w = dut, cols, acc_w, out_w

    def reset(self, on: bool) -> None:
        self.dut.rst.value = int(on)
        if on:
            self.dut.in_valid.value = 0
            self.dut.in_last.value = 0

    def present(self, valid: bool, last: bool, acc, psum, row: StageRow) -> None:
        d = self.dut
        d.in_valid.value = int(valid)
        d.in_last.value = int(last)
        d.acc_in.value = pack(np.asarray(acc)[None, :], self.acc_w)[0]
        for port, value in stage_ports(row, psum, self.acc_w, self.out_w).items():
            getattr(d, port).value = value


class Checker:
    """The DUT against the model per cycle, and the model against the rule ``OUT_STAGE_CYCLES`` cycles back."""

    def __init__(self):
        self.errors: list[str] = []
        self.rows_checked = 0

    def compare(self, t: int, dut, model, taken) -> None:
        (v, last, q), (mv, mlast, mq) = dut, model
        if taken is not None:  # what the rule says about the row taken OUT_STAGE_CYCLES cycles ago
            tv, tlast, acc, psum, row = taken
            if mv != tv or (tv and (mlast != tlast or not np.array_equal(
                    mq, output_stage(acc, row.bias, row.m0, row.shift, row.act_min, row.act_max, psum)))):
                self.errors.append(f"cycle {t}: the model does not give the row of cycle {t - OUT_STAGE_CYCLES}")
        if v != mv:
            self.errors.append(f"cycle {t}: out_valid {int(v)}, model {int(mv)}")
        elif last and not v:
            self.errors.append(f"cycle {t}: out_last without out_valid")
        elif v:
            self.rows_checked += 1
            if last != mlast:
                self.errors.append(f"cycle {t}: out_last {int(last)}, model {int(mlast)}")
            if not np.array_equal(q, mq):
                lane = int(np.flatnonzero(q != mq)[0])
                self.errors.append(f"cycle {t}: q_out lane {lane} = {q[lane]}, model {mq[lane]}")


@cocotb.test()
async def output_stage_random_rows(dut):
    """Random rows with idle gaps through the DUT and the model in lock step; fail on any difference."""
    params = {name: int(getattr(dut, name).value) for name in PARAMETERS}
    cols, acc_w, out_w = params["COLS"], params["ACC_W"], params["OUT_W"]
    cycles = int(os.environ.get(CYCLES_ENV, "2000"))
    stim = Stimulus(cols, out_w, int(os.environ.get(SEED_ENV, "0")))
    driver, monitor, model, checker = Driver(dut, cols, acc_w, out_w), StageMonitor(dut, cols, out_w), \
        OutputStagePipe(cols), Checker()
    falling = FallingEdge(dut.clk)
    Clock(dut.clk, 10, unit="ns").start()
    driver.reset(True)
    await falling
    driver.reset(False)
    model.reset()
    history: list = []
    for t in range(cycles + OUT_STAGE_CYCLES):
        await falling
        seen = (*monitor.sample(), monitor.row())
        inputs = stim.row() if t < cycles else (False, False, *stim.row()[2:])
        driver.present(*inputs)
        out = model.step(*inputs)
        history.append(inputs)
        checker.compare(t, seen, out, history[t - OUT_STAGE_CYCLES] if t >= OUT_STAGE_CYCLES else None)
        if len(checker.errors) > 20:
            break
    dut._log.info("output_stage COLS=%d OUT_W=%d: %d rows checked over %d cycles", cols, out_w,
                  checker.rows_checked, cycles)
    assert not checker.errors, "; ".join(checker.errors[:8])
    assert checker.rows_checked > cycles // 2, f"only {checker.rows_checked} rows checked"
