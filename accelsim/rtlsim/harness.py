"""The fast co-simulation harness: the folds' beats played from a memory inside the simulator.

``rtl/tb/harness_top.v`` wraps ``systolic_top`` with a stimulus memory (one word a cycle: the port
values the per-cycle driver presents, ``accelsim.rtlsim.tb``) and a capture memory (each output row
with its cycle). Per GEMM, ``stimulus`` merges the beats of its folds (``systolic.beats.fold_beats``)
at the fold start cycles the fast model's timing gives (``fold_starts``: serial ``F_f`` apart,
pipelined ``O_f``), the testbench (``accelsim.rtlsim.harness_tb``) writes them as a binary file
(``$fread``), plays them and reads the capture file back, and ``check`` compares the captured rows with the
fast model: every fold's output rows in the cycles ``Dataflow.output_cycles`` gives, C reassembled
(k-tile partial sums added with ACC_W wrap) equal to ``fast.gemm_numbers`` and each element's cycle
equal to ``fast.output_cycles``. The GEMMs of a job run back to back, each starting once the previous
one has drained; a GEMM longer than one stimulus file (``STIM_DEPTH`` words) is split into segments at
fold boundaries, drained in between. Python stays out of the per-cycle loop.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from accelsim.hardware.arith import wrap
from accelsim.hardware.config import ArrayConfig
from accelsim.mapping.folds import Folds, folds_for
from accelsim.rtlsim.build import build_top
from accelsim.rtlsim.env import CosimError, rtl_sources, setup_env
from accelsim.rtlsim.gemm import Gemm
from accelsim.rtlsim.job import Pickled
from accelsim.rtlsim.proc import guard_runner
from accelsim.systolic.beats import fold_beats, scatter
from accelsim.systolic.fast import fold_timing, gemm_numbers, output_cycles

HARNESS_TOP = "harness_top"
HARNESS_SOURCE = "tb/harness_top.v"
HARNESS_ENV = "ACCELSIM_HARNESS_JOB"
STIM_DEPTH = 1 << 20  # stimulus words (cycles) of one GEMM's batch
CAP_DEPTH = STIM_DEPTH  # output rows of one batch (at most one a cycle)
# cocotb's runner makes every signal public (--public-flat-rw), which keeps Verilator from optimising the
# design (~70k cycles/s on 8x8); the harness needs only its top's ports, which stay visible. No waves.
BUILD_ARGS = ("--no-public-flat-rw", "--timing", "-CFLAGS", "-fcoroutines")

def harness_sources() -> list[Path]:
    """The design's sources and the harness top (beside them, in ``tb/``)."""
    design = rtl_sources()
    path = design[0].parent / HARNESS_SOURCE
    if not path.is_file():
        raise CosimError(f"RTL source missing: {path}")
    return [*design, path]


def check_widths(cfg: ArrayConfig) -> None:
    """The harness's files hold whole bytes per lane: DATA_W and ACC_W must be 8, 16, 32 or 64."""
    if cfg.data_bits not in (8, 16, 32, 64) or cfg.acc_bits not in (8, 16, 32, 64):
        raise CosimError(f"the fast harness needs DATA_W and ACC_W of 8, 16, 32 or 64 bits (got {cfg.data_bits}, "
                         f"{cfg.acc_bits}); use the cycle harness")


def fold_starts(folds: Folds, pipeline: bool, depth: int = STIM_DEPTH) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """(each fold's first-beat cycle, the segments as fold ranges [lo, hi)) from the fast model's fold timing.

    A segment is what one stimulus file holds: at most ``depth`` words with its stop word. A GEMM that does
    not fit is split at fold boundaries; the first fold of a later segment starts serially (the cycle after
    the previous fold's done: the array is drained), every other fold at the issue rule's earliest cycle."""
    F, occ, _ = fold_timing(folds, pipeline)
    n = len(F)
    starts = np.zeros(n, dtype=np.int64)
    if n > 1:
        starts[1:] = np.cumsum(occ[:-1])
    if n == 0 or starts[-1] + F[-1] + 1 <= depth:
        return starts, [(0, n)]
    segments, lo, seg0 = [], 0, 0
    Fl, Ol = F.tolist(), occ.tolist()
    for i in range(n):
        t = 0 if i == 0 else int(starts[i - 1]) + Ol[i - 1]
        if i > lo and t + Fl[i] - seg0 + 1 > depth:
            t = int(starts[i - 1]) + Fl[i - 1]
            segments.append((lo, i))
            lo, seg0 = i, t
        if t + Fl[i] - seg0 + 1 > depth:
            raise CosimError(f"a fold of {Fl[i]} cycles does not fit the harness's {depth} stimulus words")
        starts[i] = t
    segments.append((lo, n))
    return starts, segments


def _bytes(lanes: np.ndarray, width: int) -> np.ndarray:
    """(T, L) signed lanes as (T, L * width/8) bytes, lane L-1's most significant byte first (two's complement)."""
    return np.ascontiguousarray(lanes[:, ::-1]).astype(f">i{width // 8}").view(np.uint8).reshape(len(lanes), -1)


@dataclass
class Stimulus:
    """One GEMM's beats as stimulus files (segments, each played as a batch) and the fold starts they follow."""

    cfg: ArrayConfig
    gemm: Gemm
    folds: Folds
    starts: np.ndarray
    segments: list[tuple[int, int, int, int]]  # fold range [lo, hi), first word's cycle, stop word's cycle

    @property
    def cycles(self) -> int:
        """Words played, the stop words included."""
        return sum(end - first + 1 for _, _, first, end in self.segments)

    def file_bytes(self, segment: int = 0) -> bytes:
        """The stimulus file ``$fread`` loads for ``segment``: its words back to back, most significant byte
        first, the stop word last (built on demand: a segment of a 16x16 array is up to ~35 MB)."""
        cfg, g, folds = self.cfg, self.gemm, self.folds
        lo, hi, first, end = self.segments[segment]
        T = end - first + 1
        ctrl = np.zeros(T, dtype=np.uint8)  # bit 4 stop, 3 dataflow, 2 load, 1 valid, 0 last
        a = np.zeros((T, cfg.rows), dtype=np.int64)
        b = np.zeros((T, cfg.cols), dtype=np.int64)
        for i in range(lo, hi):
            bt = fold_beats(cfg, folds.dataflow, g.a, g.b, folds[i])
            s = int(self.starts[i]) - first
            span = slice(s, s + bt.cycles)
            ld, va = bt.load, bt.valid
            ctrl[span] |= (ld.astype(np.uint8) << 2) | (va.astype(np.uint8) << 1) | bt.last.astype(np.uint8)
            a[span][va] = bt.a_in[va]
            qualified = ld | va if not bt.dataflow.preloads else ld
            b[span][qualified] = bt.b_in[qualified]
        ctrl |= np.uint8(folds.dataflow.port << 3)  # steady, as the per-cycle driver holds it
        ctrl[-1] |= np.uint8(1 << 4)
        return np.hstack([ctrl[:, None], _bytes(b, cfg.data_bits), _bytes(a, cfg.data_bits)]).tobytes()


def stimulus(cfg: ArrayConfig, g: Gemm, pipeline: bool, depth: int = STIM_DEPTH) -> Stimulus:
    """``g``'s folds at the fast model's starts, in segments of at most ``depth`` words (``fold_starts``); each
    segment ends with a stop word in the cycle after its last done."""
    m, k, n = g.shape
    folds = folds_for(cfg, m, k, n, g.mapping)
    starts, ranges = fold_starts(folds, pipeline, depth)
    F = folds.cycles
    segments = [(lo, hi, int(starts[lo]), int(starts[hi - 1] + F[hi - 1])) for lo, hi in ranges]
    return Stimulus(cfg, g, folds, starts, segments)


def read_capture(path: Path, cfg: ArrayConfig, count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(cycle, c_last, c_out rows) of the ``count`` captured rows in a ``$writememh`` file."""
    C, W = cfg.cols, cfg.acc_bits
    if count == 0:
        return np.zeros(0, np.int64), np.zeros(0, bool), np.zeros((0, C), np.int64)
    text = path.read_text()
    if "@" in text or "//" in text:
        text = "\n".join(ln for ln in text.split("\n") if not ln.startswith(("@", "//")))
    try:
        raw = np.frombuffer(bytes.fromhex(text), dtype=np.uint8)
    except ValueError:
        raise CosimError(f"capture file {path}: not hexadecimal (x or z in an output row?)") from None
    width = 5 + C * W // 8
    if raw.size != count * width:
        raise CosimError(f"capture file {path}: {raw.size / width:g} rows, the harness counted {count}")
    rows = raw.reshape(count, width)
    cycle = rows[:, :4].copy().view(">u4")[:, 0].astype(np.int64)
    last = (rows[:, 4] & 1).astype(bool)
    lanes = rows[:, 5:].copy().view(f">i{W // 8}").astype(np.int64)[:, ::-1]
    return cycle, last, lanes


@dataclass
class GemmVerdict:
    """One GEMM through the fast harness: its size and every difference from the fast model."""

    name: str
    folds: int
    cycles: int
    out_rows: int
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def check(cfg: ArrayConfig, st: Stimulus, cycle: np.ndarray, last: np.ndarray, out: np.ndarray) -> GemmVerdict:
    """The captured rows against the fast model: row cycles and c_last per fold, C and its output cycles."""
    R, C = cfg.rows, cfg.cols
    df, folds, g = st.folds.dataflow, st.folds, st.gemm
    sts = folds.st.tolist()
    counts = [df.output_rows(R, s) for s in sts]
    want_cycles = np.concatenate([st.starts[i] + df.output_cycles(R, C, s) for i, s in enumerate(sts)])
    v = GemmVerdict(g.name, len(folds), st.cycles, int(sum(counts)))
    if len(cycle) != len(want_cycles):
        v.errors.append(f"{len(cycle)} output rows, fast model {len(want_cycles)}")
        return v
    bad = np.flatnonzero(cycle != want_cycles)
    if len(bad):
        i = int(bad[0])
        v.errors.append(f"{len(bad)} output rows in the wrong cycle (row {i}: cycle {cycle[i]}, fast model "
                        f"{want_cycles[i]})")
    want_last = np.zeros(len(cycle), dtype=bool)
    want_last[np.cumsum(counts) - 1] = True
    if not np.array_equal(last, want_last):
        v.errors.append(f"c_last on rows {np.flatnonzero(last).tolist()[:8]}, expected "
                        f"{np.flatnonzero(want_last).tolist()[:8]}")
    got = np.zeros((folds.m, folds.n), dtype=np.int64)
    got_cycle = np.zeros((folds.m, folds.n), dtype=np.int64)
    first = np.concatenate([[0], np.cumsum(counts)])
    for i, f in enumerate(folds):
        rows = slice(int(first[i]), int(first[i + 1]))
        blk = (slice(f.m0, f.m0 + f.mt), slice(f.n0, f.n0 + f.nt))
        tile = scatter(df, f, out[rows])
        got[blk] = tile if f.first_k else wrap(got[blk] + tile, cfg.acc_bits)
        if f.last_k:
            got_cycle[blk] = scatter(df, f, np.broadcast_to(cycle[rows][:, None], (rows.stop - rows.start, C)))
    want = gemm_numbers(cfg, g.a, g.b)
    diff = np.argwhere(got != want)
    if len(diff):
        r, c = diff[0]
        v.errors.append(f"{len(diff)} values of C differ (C[{r}, {c}] = {got[r, c]}, fast model {want[r, c]})")
    if g.reference is not None and not np.array_equal(want, g.reference):
        v.errors.append("the fast model's C differs from the GEMM's own reference")
    if not np.array_equal(got_cycle, output_cycles(folds, st.starts)):
        v.errors.append("output cycles of C differ from the fast model's")
    return v


@dataclass
class HarnessJob(Pickled):
    """GEMMs for the harness testbench; ``work_dir`` holds its stimulus and capture files."""

    cfg: ArrayConfig
    gemms: list[Gemm]
    pipeline: bool
    work_dir: str
    results_path: str
    depth: int = STIM_DEPTH  # stimulus words a segment may hold (<= the build's STIM_DEPTH)


@dataclass
class HarnessResult(Pickled):
    """What the harness testbench hands back: one verdict a GEMM, the simulated cycles and times."""

    verdicts: list[GemmVerdict] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    sim_seconds: float = 0.0
    rtl_seconds: float = 0.0  # of which the simulator loaded ($fread) and played stimulus
    load_seconds: float = 0.0  # of which $fread
    wall_seconds: float = 0.0

    @property
    def rtl_cycles(self) -> int:
        return sum(v.cycles for v in self.verdicts)

    @property
    def mismatches(self) -> int:
        return sum(not v.ok for v in self.verdicts)

    @property
    def ok(self) -> bool:
        return not self.errors and all(v.ok for v in self.verdicts)


def parameters(cfg: ArrayConfig) -> dict[str, int]:
    return {**cfg.rtl_parameters(), "STIM_DEPTH": STIM_DEPTH, "CAP_DEPTH": CAP_DEPTH}


def run_harness(cfg: ArrayConfig, gemms: Sequence[Gemm], *, pipeline: bool | None = None,
                run_dir: str | Path | None = None, depth: int = STIM_DEPTH) -> HarnessResult:
    """Run ``gemms`` back to back through the RTL of ``cfg`` in the fast harness (one simulator run); the verdict.
    ``depth``: stimulus words a segment may hold (a smaller value splits GEMMs into more segments)."""
    check_widths(cfg)
    if not 2 <= depth <= STIM_DEPTH:
        raise ValueError(f"run_harness: depth must be in [2, {STIM_DEPTH}]")
    bdir = build_top("verilator", HARNESS_TOP, harness_sources(), parameters(cfg), build_args=BUILD_ARGS)
    run = Path(run_dir) if run_dir else bdir / "runs" / f"harness-{os.getpid()}-{time.monotonic_ns()}"
    if run.exists():
        shutil.rmtree(run)
    run.mkdir(parents=True)
    job_path, results_path = run / "job.pkl", run / "results.pkl"
    HarnessJob(cfg, list(gemms), cfg.pipeline if pipeline is None else pipeline, str(run),
               str(results_path), depth).save(job_path)
    setup_env()
    from cocotb_tools.runner import get_runner

    runner = guard_runner(get_runner("verilator"))
    t0 = time.perf_counter()
    failure = None
    try:
        runner.test(test_module="accelsim.rtlsim.harness_tb", hdl_toplevel=HARNESS_TOP, hdl_toplevel_lang="verilog",
                    build_dir=str(bdir), test_dir=str(run), extra_env={HARNESS_ENV: str(job_path)},
                    plusargs=[f"+stim={run / 'stim.bin'}", f"+cap={run / 'cap.hex'}"],
                    log_file=str(run / "sim.log"), results_xml=str(run / "results.xml"))
    except (SystemExit, RuntimeError) as e:
        failure = e
    wall = time.perf_counter() - t0
    if not results_path.exists():
        log = run / "sim.log"
        tail = log.read_text(errors="replace").splitlines()[-30:] if log.exists() else []
        raise CosimError(f"the harness run in {run} ended without results ({failure}):\n" + "\n".join(tail))
    result = HarnessResult.load(results_path)
    result.wall_seconds = wall
    if result.ok and not run_dir:
        shutil.rmtree(run, ignore_errors=True)
    return result

