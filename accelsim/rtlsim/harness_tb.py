"""cocotb testbench of the fast harness (``rtl/tb/harness_top.v``): per GEMM, write its stimulus file, start the
batch, wait for it to finish and check the capture file against the fast model (``accelsim.rtlsim.harness``).

Runs inside the simulator's Python (``ACCELSIM_HARNESS_JOB`` names the pickled ``HarnessJob``). The clock is
cocotb's GPI clock, so no Python runs while a batch plays. Results go to ``HarnessJob.results_path`` even on
failure.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import cocotb
import numpy as np
from cocotb.triggers import FallingEdge, RisingEdge

from accelsim.rtlsim.harness import HARNESS_ENV, HarnessJob, HarnessResult, check, read_capture, stimulus


@cocotb.test()
async def run_harness(dut):
    """Every GEMM of the job through the harness; fail on any mismatch."""
    job = HarnessJob.load(os.environ[HARNESS_ENV])
    result = HarnessResult()
    work = Path(job.work_dir)
    stim_path, cap_path = work / "stim.bin", work / "cap.hex"
    t0 = time.perf_counter()
    try:
        dut.go.value = 0
        dut.rst.value = 1
        await FallingEdge(dut.clk)
        await FallingEdge(dut.clk)
        dut.rst.value = 0
        for g in job.gemms:
            st = stimulus(job.cfg, g, job.pipeline, job.depth)
            parts = []
            for j, (_, _, first, _) in enumerate(st.segments):
                stim_path.write_bytes(st.file_bytes(j))
                cap_path.unlink(missing_ok=True)
                dut.go.value = 1
                t1 = time.perf_counter()
                await FallingEdge(dut.clk)
                dut.go.value = 0
                result.load_seconds += time.perf_counter() - t1
                await RisingEdge(dut.finished)
                await RisingEdge(dut.clk)  # the capture file is written at the edge after finished rises
                await FallingEdge(dut.clk)
                result.rtl_seconds += time.perf_counter() - t1
                if int(dut.overflow.value):
                    raise RuntimeError(f"{g.name}: more output rows than the capture memory holds")
                cycle, last, out = read_capture(cap_path, job.cfg, int(dut.cap_count.value))
                parts.append((cycle + first, last, out))
            cycle, last, out = (np.concatenate(x) for x in zip(*parts, strict=True))
            result.verdicts.append(check(job.cfg, st, cycle, last, out))
    except Exception as e:
        result.errors.append(f"testbench error: {type(e).__name__}: {e}")
        raise
    finally:
        result.sim_seconds = time.perf_counter() - t0
        result.save(Path(job.results_path))
    assert result.ok, "; ".join(result.errors + [f"{v.name}: {e}" for v in result.verdicts for e in v.errors][:6])
