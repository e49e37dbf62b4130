"""cocotb testbench of the fast harness (``rtl/tb/harness_top.v``): per GEMM segment, write its stimulus and
output stage files, start the batch, wait for it to finish and read the capture file; per GEMM, check the
capture against the fast model (``accelsim.rtlsim.harness``).

Runs inside the simulator's Python (``ACCELSIM_HARNESS_JOB`` names the pickled ``HarnessJob``). The clock is
cocotb's GPI clock, so no Python runs while a batch plays. Results go to ``HarnessJob.results_path`` even on
failure.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import cocotb
from cocotb.triggers import FallingEdge, RisingEdge

from accelsim.rtlsim.harness import (
    HARNESS_ENV,
    Capture,
    HarnessJob,
    HarnessResult,
    check,
    progress_path,
    read_capture,
    segment_words,
    stimulus,
)
from accelsim.rtlsim.tb import Progress


@cocotb.test()
async def run_harness(dut):
    """Every GEMM of the job through the harness; fail on any mismatch."""
    job = HarnessJob.load(os.environ[HARNESS_ENV])
    result = HarnessResult()
    work = Path(job.work_dir)
    stim_path, stage_path, cap_path = work / "stim.bin", work / "stage.bin", work / "cap.bin"
    progress = Progress(str(progress_path(job)), 0)
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
                stage_path.write_bytes(st.stage_bytes(j))
                cap_path.unlink(missing_ok=True)
                dut.go.value = 1
                t1 = time.perf_counter()
                await FallingEdge(dut.clk)
                dut.go.value = 0
                result.load_seconds += time.perf_counter() - t1
                await RisingEdge(dut.finished)  # the capture file was written at the edge that raised it
                await FallingEdge(dut.clk)
                result.rtl_seconds += time.perf_counter() - t1
                if int(dut.io_error.value):
                    raise RuntimeError(f"{g.name}: the harness could not read {stim_path} / {stage_path} or write "
                                       f"{cap_path} (see the simulator's log)")
                cap = read_capture(cap_path, job.cfg, int(dut.cap_count.value), int(dut.q_count.value))
                parts.append(cap.shifted(first))
                # the words played so far, for run_harness's progress bar (run.watch_files polls the file)
                progress.update(result.rtl_cycles + segment_words(st.segments[: j + 1]), force=True)
            result.verdicts.append(check(job.cfg, st, Capture.concat(parts), job.keep_outputs))
    except Exception as e:
        result.errors.append(f"testbench error: {type(e).__name__}: {e}")
        raise
    finally:
        result.sim_seconds = time.perf_counter() - t0
        result.save(Path(job.results_path))
    assert result.ok, "; ".join(result.errors + [f"{v.name}: {e}" for v in result.verdicts for e in v.errors][:6])
