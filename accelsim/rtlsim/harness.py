"""The fast co-simulation harness: the folds' beats played from a memory inside the simulator.

``rtl/tb/harness_top.v`` wraps ``systolic_top`` with a stimulus stream (one word a cycle: the port
values the per-cycle driver presents, ``accelsim.rtlsim.tb``) and a capture (each output row and each
int8 row of the output stage with its cycle), both DPI-C (``rtl/tb/harness_io.cpp``: one fread per
stimulus file, one fwrite per capture file). Per GEMM, ``stimulus`` merges the beats of its folds
(``systolic.beats.fold_beats``) at the fold start cycles the fast model's timing gives (``fold_starts``:
serial ``F_f`` apart, pipelined ``O_f``); the testbench (``accelsim.rtlsim.harness_tb``) writes them as a
binary file with the output stage's fold table (``Stimulus.stage_bytes``: the C side presents each row's
c_final, partial sum, bias, M0, shift and clamp as the ofmap buffer's side would), plays them and reads
the capture back (``read_capture``), and ``check`` compares it with the fast model: every fold's output
rows in the cycles ``Dataflow.output_cycles`` gives, C reassembled (k-tile partial sums added with ACC_W
wrap) equal to ``fast.gemm_numbers`` and each element's cycle equal to ``fast.output_cycles``; with an
output stage, every final row's int8 row ``OUT_STAGE_CYCLES`` later and the int8 result equal to the
requantized fast C and to the GEMM's own int8 reference. The GEMMs of a job run back to back, each
starting once the previous one has drained; a GEMM longer than one stimulus file (``STIM_DEPTH`` words)
is split into segments at fold boundaries, drained in between. Python stays out of the per-cycle loop.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import NamedTuple

import numpy as np

from accelsim.hardware.arith import wrap
from accelsim.hardware.config import ArrayConfig
from accelsim.lowering.requant import OUT_STAGE_CYCLES
from accelsim.mapping.folds import Folds, folds_for
from accelsim.mapping.space import Mapping
from accelsim.rtlsim.build import build_top, top_dir
from accelsim.rtlsim.env import CosimError, rtl_sources, setup_env
from accelsim.rtlsim.gemm import Gemm, per_gemm
from accelsim.rtlsim.job import Pickled
from accelsim.rtlsim.proc import guard_runner
from accelsim.rtlsim.run import watch_files
from accelsim.systolic.beats import fold_beats, scatter
from accelsim.systolic.fast import fold_timing, gemm_numbers, output_cycles

HARNESS_TOP = "harness_top"
HARNESS_SOURCES = ("tb/harness_top.v", "tb/harness_io.cpp")  # the top and its DPI-C file I/O
HARNESS_ENV = "ACCELSIM_HARNESS_JOB"
STIM_DEPTH = 1 << 20  # stimulus words (cycles) of one batch (a file of at most ~36 MB on 16x16)
# cocotb's runner makes every signal public (--public-flat-rw), which keeps Verilator from optimising the
# design (~70k cycles/s on 8x8); the harness needs only its top's ports, which stay visible. No waves.
HARNESS_RATE_FILE = "harness_seconds_per_cycle.json"  # in the harness's build folder: {jobs: wall s per cycle}
BUILD_ARGS = ("--no-public-flat-rw", "--timing", "-CFLAGS", "-fcoroutines")

def harness_sources() -> list[Path]:
    """The design's sources, then the harness top and its DPI-C file (beside them, in ``tb/``)."""
    design = rtl_sources()
    paths = [design[0].parent / name for name in HARNESS_SOURCES]
    for path in paths:
        if not path.is_file():
            raise CosimError(f"RTL source missing: {path}")
    return [*design, *paths]


def check_widths(cfg: ArrayConfig) -> None:
    """The harness's files hold whole bytes per lane: DATA_W, ACC_W and OUT_W must be 8, 16, 32 or 64."""
    p = cfg.rtl_parameters()
    if any(p[k] not in (8, 16, 32, 64) for k in ("DATA_W", "ACC_W", "OUT_W")):
        raise CosimError(f"the fast harness needs DATA_W, ACC_W and OUT_W of 8, 16, 32 or 64 bits (got "
                         f"{p['DATA_W']}, {p['ACC_W']}, {p['OUT_W']}); use the cycle harness")


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


def _units(bits: int) -> int:
    """32-bit units of a DPI-C packed bit vector (``svBitVecVal``) of ``bits``."""
    return -(-bits // 32)


def stim_word(cfg: ArrayConfig) -> np.dtype:
    """A stimulus word of ``harness_top.v`` as a numpy record: STIM_W = the operand lanes (a_in, then b_in, lane 0
    first, little-endian) and the control byte above them, padded to whole 32-bit units (``svBitVecVal``)."""
    lane = np.dtype(f"<i{cfg.data_bits // 8}")
    op = (cfg.rows + cfg.cols) * cfg.data_bits // 8
    return np.dtype({"names": ["a_in", "b_in", "ctrl"], "formats": [(lane, (cfg.rows,)), (lane, (cfg.cols,)), "u1"],
                     "offsets": [0, cfg.rows * cfg.data_bits // 8, op], "itemsize": 4 * _units(8 * op + 8)})


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
        return segment_words(self.segments)

    @property
    def staged(self) -> bool:
        """The GEMM runs through the RTL's output stage (the configuration has it and the GEMM has a stage)."""
        return self.cfg.output_stage and self.gemm.stage is not None

    def file_bytes(self, segment: int = 0) -> bytes:
        """The stimulus file ``harness_io.cpp`` reads for ``segment``: its words back to back, each the Verilog
        word's bytes least significant first padded to whole 32-bit units, the stop word last (built on
        demand: a segment of a 16x16 array is up to ~36 MB)."""
        cfg, g, folds = self.cfg, self.gemm, self.folds
        lo, hi, first, end = self.segments[segment]
        words = np.zeros(end - first + 1, dtype=stim_word(cfg))
        ctrl = words["ctrl"]  # bit 4 stop, 3 dataflow, 2 load, 1 valid, 0 last
        a = np.zeros(words["a_in"].shape, words["a_in"].dtype)  # contiguous: the masked writes are ~3x faster
        b = np.zeros(words["b_in"].shape, words["b_in"].dtype)
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
        words["a_in"], words["b_in"] = a, b
        return words.tobytes()

    def stage_bytes(self, segment: int = 0) -> bytes:
        """The output stage's table for ``segment`` (layout in ``harness_io.cpp``): the stage's per-layer values
        and bias, then per fold its output rows, first/last k-tile flags, n0 and nt; no folds without a stage
        (c_final stays 0: every row bypasses the stage)."""
        if not self.staged:
            return np.zeros(7, dtype="<i4").tobytes()
        stage, folds = self.gemm.stage, self.folds
        assert stage is not None
        lo, hi, _, _ = self.segments[segment]
        df, R = folds.dataflow, self.cfg.rows
        bias = np.zeros(0, np.int64) if stage.bias is None else np.asarray(stage.bias, np.int64)
        table = np.array([[df.output_rows(R, f.st), int(f.first_k) | int(f.last_k) << 1, f.n0, f.nt]
                          for f in (folds[i] for i in range(lo, hi))], dtype=np.int64).reshape(-1, 4)
        head = [hi - lo, len(bias), int(df.name == "is"), stage.m0, stage.shift, stage.act_min, stage.act_max]
        return np.concatenate([head, bias, table.ravel()]).astype("<i4").tobytes()


def stimulus(cfg: ArrayConfig, g: Gemm, pipeline: bool, depth: int = STIM_DEPTH) -> Stimulus:
    """``g``'s folds at the fast model's starts, in segments of at most ``depth`` words (``fold_starts``); each
    segment ends with a stop word in the cycle after its last done."""
    m, k, n = g.shape
    folds = folds_for(cfg, m, k, n, g.mapping)
    return Stimulus(cfg, g, folds, *plan_segments(folds, pipeline, depth))


def plan_segments(folds: Folds, pipeline: bool, depth: int = STIM_DEPTH
                  ) -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
    """(each fold's start, the segments as (fold range [lo, hi), first word's cycle, stop word's cycle)):
    ``fold_starts`` with each segment's words; the stop word is the cycle after its last fold's done."""
    starts, ranges = fold_starts(folds, pipeline, depth)
    F = folds.cycles
    return starts, [(lo, hi, int(starts[lo]), int(starts[hi - 1] + F[hi - 1])) for lo, hi in ranges]


def segment_words(segments: Sequence[tuple[int, int, int, int]]) -> int:
    """Words the harness plays for ``segments`` (``plan_segments``), their stop words included."""
    return sum(end - first + 1 for _, _, first, end in segments)


class Capture(NamedTuple):
    """What one run captured: output rows (cycle, c_last, c_out lanes) and the stage's int8 rows (cycle,
    out_last, q_out lanes); cycles count from the GEMM's first word."""

    cycle: np.ndarray
    last: np.ndarray
    out: np.ndarray
    q_cycle: np.ndarray
    q_last: np.ndarray
    q: np.ndarray

    def shifted(self, cycles: int) -> Capture:
        return self._replace(cycle=self.cycle + cycles, q_cycle=self.q_cycle + cycles)

    @classmethod
    def concat(cls, parts: Sequence[Capture]) -> Capture:
        return cls(*(np.concatenate(x) for x in zip(*parts, strict=True)))


def _row_record(lanes: int, width: int) -> np.dtype:
    """A captured row of ``harness_io.cpp``: cycle, last, then the port's lanes in whole 32-bit units."""
    return np.dtype({"names": ["cycle", "last", "lanes"], "formats": ["<u4", "<u4", (f"<i{width // 8}", (lanes,))],
                     "offsets": [0, 4, 8], "itemsize": 8 + 4 * _units(lanes * width)})


def read_capture(path: Path, cfg: ArrayConfig, count: int, q_count: int) -> Capture:
    """The capture file ``harness_io.cpp`` wrote (its layout there), checked against the harness's counts."""
    C = cfg.cols
    row, qrow = _row_record(C, cfg.acc_bits), _row_record(C, cfg.rtl_parameters()["OUT_W"])
    data = path.read_bytes()
    head = np.frombuffer(data[:8], dtype="<u4") if len(data) >= 8 else np.zeros(0, "<u4")
    if len(head) != 2 or (int(head[0]), int(head[1])) != (count, q_count) or \
            len(data) != 8 + count * row.itemsize + q_count * qrow.itemsize:
        raise CosimError(f"capture file {path}: {len(data)} bytes, not the {count} output rows and {q_count} "
                         "int8 rows the harness counted")
    rows = np.frombuffer(data, dtype=row, count=count, offset=8)
    qs = np.frombuffer(data, dtype=qrow, count=q_count, offset=8 + count * row.itemsize)
    return Capture(rows["cycle"].astype(np.int64), (rows["last"] & 1).astype(bool), rows["lanes"].astype(np.int64),
                   qs["cycle"].astype(np.int64), (qs["last"] & 1).astype(bool), qs["lanes"].astype(np.int64))


@dataclass
class GemmVerdict:
    """One GEMM through the fast harness: its size, every difference from the fast model and, when the run
    keeps outputs, the RTL's C (M x N, k-tiles added) and int8 result ``q`` (with the output stage)."""

    name: str
    folds: int
    cycles: int
    out_rows: int
    errors: list[str] = field(default_factory=list)
    int8_outputs: int = 0  # elements that went through the output stage (M*N with a stage, else 0)
    wrong_int8: int = 0  # of which differ from the requantized fast C (all of them when rows are missing)
    c: np.ndarray | None = field(default=None, repr=False)
    q: np.ndarray | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return not self.errors


def _first_error(what: str, got: np.ndarray, want: np.ndarray) -> str:
    r, c = np.argwhere(got != want)[0]
    return (f"{np.count_nonzero(got != want)} values of {what} differ ({what}[{r}, {c}] = {got[r, c]}, fast model "
            f"{want[r, c]})")


def check(cfg: ArrayConfig, st: Stimulus, cap: Capture, keep_outputs: bool = False) -> GemmVerdict:
    """The captured rows against the fast model: row cycles and c_last per fold, C and its output cycles; with
    the output stage, an int8 row (out_last as the row's c_last) ``OUT_STAGE_CYCLES`` after each final row and
    the int8 result equal to the requantized fast C and to the GEMM's own int8 reference ``out``."""
    R, C = cfg.rows, cfg.cols
    df, folds, g = st.folds.dataflow, st.folds, st.gemm
    cycle, last, out = cap.cycle, cap.last, cap.out
    sts = folds.st.tolist()
    counts = [df.output_rows(R, s) for s in sts]
    want_cycles = np.concatenate([st.starts[i] + df.output_cycles(R, C, s) for i, s in enumerate(sts)])
    v = GemmVerdict(g.name, len(folds), st.cycles, int(sum(counts)))
    m, _, n = g.shape
    if st.staged:
        v.int8_outputs = v.wrong_int8 = m * n
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
    got_q = np.zeros((folds.m, folds.n), dtype=np.int64)
    first = np.concatenate([[0], np.cumsum(counts)])
    final = np.zeros(len(cycle), dtype=bool)
    q_first = 0
    for i, f in enumerate(folds):
        rows = slice(int(first[i]), int(first[i + 1]))
        blk = (slice(f.m0, f.m0 + f.mt), slice(f.n0, f.n0 + f.nt))
        tile = scatter(df, f, out[rows])
        got[blk] = tile if f.first_k else wrap(got[blk] + tile, cfg.acc_bits)
        if f.last_k:
            got_cycle[blk] = scatter(df, f, np.broadcast_to(cycle[rows][:, None], (rows.stop - rows.start, C)))
            final[rows] = True
            if st.staged and q_first + counts[i] <= len(cap.q):
                got_q[blk] = scatter(df, f, cap.q[q_first: q_first + counts[i]])
            q_first += counts[i]
    want = gemm_numbers(cfg, g.a, g.b)
    if not np.array_equal(got, want):
        v.errors.append(_first_error("C", got, want))
    if g.reference is not None and not np.array_equal(want, g.reference):
        v.errors.append("the fast model's C differs from the GEMM's own reference")
    if not np.array_equal(got_cycle, output_cycles(folds, st.starts)):
        v.errors.append("output cycles of C differ from the fast model's")
    if keep_outputs:
        v.c = got
    if not st.staged:
        if len(cap.q):
            v.errors.append(f"{len(cap.q)} int8 rows from the output stage, which this GEMM bypasses")
        return v
    assert g.stage is not None
    want_q_cycles, want_q_last = want_cycles[final] + OUT_STAGE_CYCLES, want_last[final]
    if len(cap.q) != len(want_q_cycles):
        v.errors.append(f"{len(cap.q)} int8 rows, fast model {len(want_q_cycles)} (one per final output row)")
        return v
    bad = np.flatnonzero(cap.q_cycle != want_q_cycles)
    if len(bad):
        i = int(bad[0])
        v.errors.append(f"{len(bad)} int8 rows in the wrong cycle (int8 row {i}: cycle {cap.q_cycle[i]}, fast model "
                        f"{want_q_cycles[i]})")
    if not np.array_equal(cap.q_last, want_q_last):
        v.errors.append(f"out_last on int8 rows {np.flatnonzero(cap.q_last).tolist()[:8]}, expected "
                        f"{np.flatnonzero(want_q_last).tolist()[:8]}")
    want_q = g.stage.apply(want)
    v.wrong_int8 = int(np.count_nonzero(got_q != want_q))
    if v.wrong_int8:
        v.errors.append(_first_error("q", got_q, want_q))
    if g.out is not None and not np.array_equal(want_q, g.out):
        v.errors.append("the requantized fast C differs from the GEMM's own int8 reference")
    if keep_outputs:
        v.q = got_q
    return v


@dataclass
class HarnessJob(Pickled):
    """GEMMs for the harness testbench; ``work_dir`` holds its stimulus and capture files."""

    cfg: ArrayConfig
    gemms: Iterable[Gemm]  # a GemmFiles: the host writes them as it generates them
    pipeline: bool
    work_dir: str
    results_path: str
    depth: int = STIM_DEPTH  # stimulus words a segment may hold
    keep_outputs: bool = False  # the verdicts carry the RTL's C and int8 result


@dataclass
class HarnessResult(Pickled):
    """What the harness testbench hands back: one verdict a GEMM, the simulated cycles and times."""

    verdicts: list[GemmVerdict] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    sim_seconds: float = 0.0
    rtl_seconds: float = 0.0  # of which the simulator read stimulus, played it and wrote the capture
    load_seconds: float = 0.0  # of which the cycle that reads the stimulus file
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


def harness_cycles(cfg: ArrayConfig, shape: tuple[int, int, int], mapping: Mapping | str | None, pipeline: bool,
                   depth: int = STIM_DEPTH) -> int:
    """Words the harness plays for a GEMM of ``shape`` (``Stimulus.cycles``, stop words included), from its
    folds' timing alone (no operands)."""
    return segment_words(plan_segments(folds_for(cfg, *shape, mapping), pipeline, depth)[1])


def balance(cycles: Sequence[int], jobs: int) -> list[int]:
    """The job (0 .. jobs-1) of each GEMM: the longest first, each to the job with the fewest cycles so far
    (each job then runs its GEMMs in their given order); jobs without a GEMM are dropped."""
    load = [0] * max(1, min(jobs, len(cycles)))
    owner = [0] * len(cycles)
    for i in sorted(range(len(cycles)), key=lambda i: -cycles[i]):
        j = load.index(min(load))
        owner[i], load[j] = j, load[j] + cycles[i]
    return owner


@dataclass
class GemmFiles:
    """A job's GEMMs as files the host writes while the simulator runs (``NNNNN.pkl`` in ``folder``, ``count``
    in all, operands stored in ``data_bits``-bit integers): iterating waits for each, loads it and deletes it,
    so each process holds one GEMM's operands at a time. A file ``abort`` in ``folder`` stops the wait."""

    folder: str
    count: int
    data_bits: int

    def path(self, i: int) -> Path:
        return Path(self.folder) / f"{i:05d}.pkl"

    def put(self, i: int, g: Gemm) -> None:
        small = np.dtype(f"int{self.data_bits}")
        tmp = self.path(i).with_suffix(".tmp")
        with open(tmp, "wb") as fh:
            pickle.dump(replace(g, a=g.a.astype(small), b=g.b.astype(small)), fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, self.path(i))

    def abort(self) -> None:
        (Path(self.folder) / "abort").touch()

    def __iter__(self) -> Iterator[Gemm]:
        for i in range(self.count):
            path = self.path(i)
            while not path.exists():
                if (Path(self.folder) / "abort").exists():
                    raise CosimError("the host stopped before handing over every GEMM")
                time.sleep(0.02)
            with open(path, "rb") as fh:
                g = pickle.load(fh)
            path.unlink()
            yield replace(g, a=g.a.astype(np.int64), b=g.b.astype(np.int64))


def progress_path(job: HarnessJob) -> Path:
    return Path(job.work_dir) / "progress"


def harness_dir(cfg: ArrayConfig) -> Path:
    """The fast harness's build folder for ``cfg`` (built or not)."""
    return top_dir("verilator", HARNESS_TOP, harness_sources(), cfg.rtl_parameters(), build_args=BUILD_ARGS)


def default_seconds_per_cycle(cfg: ArrayConfig) -> float:
    """Wall seconds per RTL cycle of one harness process on a 2-core machine, loading and checking included
    (benchmarks/bench_cosim_harness.py, pipelined WS, quiet: 8x8 409k cycles/s, 16x16 182k): ~1.4 us plus ~16 ns
    per PE."""
    return 1.4e-6 + 16e-9 * cfg.pes


def seconds_per_cycle(cfg: ArrayConfig, jobs: int = 1) -> tuple[float, bool]:
    """(wall seconds per RTL cycle of a run in ``jobs`` processes, measured?): the last long run's with as many
    processes on this build; else one process's (measured or the default) shared by as many cores as there are
    processes (at most the machine's)."""
    try:
        rates = json.loads((harness_dir(cfg) / HARNESS_RATE_FILE).read_text())["seconds_per_cycle"]
        measured = {int(k): float(v) for k, v in rates.items() if float(v) > 0}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        measured = {}
    if jobs in measured:
        return measured[jobs], True
    at_once = max(1, min(jobs, os.cpu_count() or 1))
    return measured.get(1, default_seconds_per_cycle(cfg)) / at_once, 1 in measured


def _record_rate(bdir: Path, result: HarnessResult, jobs: int) -> None:
    """The run's wall seconds per cycle with ``jobs`` processes, for the next estimate (short runs measure
    start-up, not the rate)."""
    if result.wall_seconds <= 0 or result.rtl_cycles < 100_000 or not result.ok:
        return
    path, tmp = bdir / HARNESS_RATE_FILE, bdir / f".{HARNESS_RATE_FILE}.{os.getpid()}"
    try:
        rates = json.loads(path.read_text())["seconds_per_cycle"]
        rates = rates if isinstance(rates, dict) else {}
    except (OSError, ValueError, KeyError, TypeError):
        rates = {}
    rates[str(jobs)] = result.wall_seconds / result.rtl_cycles
    try:
        tmp.write_text(json.dumps({"seconds_per_cycle": rates}))
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)


def merge_results(parts: Sequence[HarnessResult], owner: Sequence[int], names: Sequence[str]) -> HarnessResult:
    """One result from the processes' (``parts[j]`` ran the GEMMs ``i`` with ``owner[i] == j``, in order): the
    verdicts in the GEMMs' order, a failing one for each GEMM a process never checked (it stopped), errors
    prefixed with their process when there are several, times added."""
    result = HarnessResult()
    several = len(parts) > 1
    for j, part in enumerate(parts):
        prefix = f"job {j}: " if several else ""
        result.errors += [prefix + e for e in part.errors]
        result.sim_seconds += part.sim_seconds
        result.rtl_seconds += part.rtl_seconds
        result.load_seconds += part.load_seconds
    verdicts = [iter(part.verdicts) for part in parts]
    for i, j in enumerate(owner):
        v = next(verdicts[j], None)
        if v is None:
            v = GemmVerdict(names[i] if i < len(names) else f"GEMM {i}", 0, 0, 0,
                            [f"not checked: {'job ' + str(j) if several else 'the simulator'} stopped before it"])
        result.verdicts.append(v)
    return result


def build_harness(cfg: ArrayConfig) -> Path:
    """Build (or find up to date) the fast harness for ``cfg``; its folder."""
    return build_top("verilator", HARNESS_TOP, harness_sources(), cfg.rtl_parameters(), build_args=BUILD_ARGS)


# A simulator process runs one thread of Python: numpy's BLAS (the fast model's float matmul) would otherwise
# start a thread per core that spins after each product and takes the core from the other process's simulator
# (8x8, 2 processes: 550k -> 662k RTL cycles/s, benchmarks/bench_cosim_harness.py). A user's own setting wins.
SINGLE_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def simulator_env() -> dict[str, str]:
    """The environment a harness simulator process adds: one BLAS/OpenMP thread unless the user set them."""
    return {k: os.environ.get(k, "1") for k in SINGLE_THREAD_VARS}


def run_harness(cfg: ArrayConfig, gemms: Iterable[Gemm], *, pipeline: bool | None = None,
                run_dir: str | Path | None = None, depth: int = STIM_DEPTH,
                progress: Callable[[int, int], None] | None = None, jobs: int = 1,
                shapes: Sequence[tuple[int, int, int]] | None = None,
                mappings: Sequence[Mapping | None] | None = None, keep_outputs: bool = False) -> HarnessResult:
    """Run ``gemms`` through the RTL of ``cfg`` in the fast harness; the verdict (one per GEMM, in order).

    ``jobs`` simulator processes run at once, the GEMMs split between them by cycles (``balance``), each
    running its share back to back. ``gemms`` may be a generator (``iter_network_gemms``) when ``shapes``
    (and ``mappings``, one per GEMM, as the GEMMs carry them) give the plan: each GEMM is handed to its
    process as a file as soon as it is generated and let go (``GemmFiles``), so no process holds more than a
    GEMM or two. ``progress(words played, words in all)`` is called as batches finish. ``depth``: stimulus
    words a segment may hold (a smaller value splits GEMMs into more segments). The run folder (default under
    the build) is removed after a passing run unless ``run_dir`` is given. ``keep_outputs``: each verdict
    carries the RTL's C and int8 result (``GemmVerdict.c``, ``q``)."""
    check_widths(cfg)
    if not 2 <= depth <= STIM_DEPTH:
        raise ValueError(f"run_harness: depth must be in [2, {STIM_DEPTH}]")
    if jobs < 1:
        raise ValueError("run_harness: jobs must be at least 1")
    pipeline = cfg.pipeline if pipeline is None else pipeline
    if shapes is None:
        gemms = list(gemms)
        shapes = [g.shape for g in gemms]
        mappings = [g.mapping for g in gemms]
    chosen = per_gemm(mappings, len(shapes))
    cycles = [harness_cycles(cfg, s, mp, pipeline, depth) for s, mp in zip(shapes, chosen, strict=True)]
    owner = balance(cycles, jobs)
    n_jobs = max(owner, default=0) + 1
    bdir = build_harness(cfg)
    run = Path(run_dir) if run_dir else bdir / "runs" / f"harness-{os.getpid()}-{time.monotonic_ns()}"
    if run.exists():
        shutil.rmtree(run)
    work = [run if n_jobs == 1 else run / f"job{j}" for j in range(n_jobs)]
    files, job_files = [], []
    for j, w in enumerate(work):
        (w / "gemms").mkdir(parents=True)
        files.append(GemmFiles(str(w / "gemms"), owner.count(j), cfg.data_bits))
        job = HarnessJob(cfg, files[-1], pipeline, str(w), str(w / "results.pkl"), depth, keep_outputs)
        job.save(w / "job.pkl")
        job_files.append(job)
    setup_env()
    from cocotb_tools.runner import get_runner

    failures: list[BaseException | None] = [None] * n_jobs

    def simulate(j: int) -> None:
        w = work[j]
        runner = guard_runner(get_runner("verilator"))
        try:
            runner.test(test_module="accelsim.rtlsim.harness_tb", hdl_toplevel=HARNESS_TOP,
                        hdl_toplevel_lang="verilog", build_dir=str(bdir), test_dir=str(w),
                        extra_env={HARNESS_ENV: str(w / "job.pkl"), **simulator_env()},
                        plusargs=[f"+stim={w / 'stim.bin'}", f"+stage={w / 'stage.bin'}", f"+cap={w / 'cap.bin'}"],
                        log_file=str(w / "sim.log"), results_xml=str(w / "results.xml"))
        except (SystemExit, RuntimeError) as e:  # cocotb's runner exits when the test fails
            failures[j] = e

    total = sum(cycles)
    stop = threading.Event()
    watcher = None
    if progress is not None:
        progress(0, total)
        watcher = threading.Thread(target=watch_files, args=([progress_path(j) for j in job_files],
                                                             lambda done: progress(min(done, total), total), stop),
                                   daemon=True)
        watcher.start()
    t0 = time.perf_counter()
    threads = [threading.Thread(target=simulate, args=(j,), daemon=True) for j in range(n_jobs)]
    for t in threads:
        t.start()
    handed = [0] * n_jobs
    names: list[str] = []
    try:
        count = 0
        for i, g in enumerate(gemms):
            if i >= len(shapes) or g.shape != tuple(shapes[i]):
                raise CosimError(f"run_harness: GEMM {i} ({g.name}) is {g.shape}, the plan expected "
                                 f"{tuple(shapes[i]) if i < len(shapes) else 'no more GEMMs'}")
            files[owner[i]].put(handed[owner[i]], g)
            handed[owner[i]] += 1
            names.append(g.name)
            count = i + 1
        if count != len(shapes):
            raise CosimError(f"run_harness: {count} GEMMs given, the plan has {len(shapes)}")
        for t in threads:
            t.join()
    except BaseException:  # the simulators waiting for a GEMM stop; the rest die with this process
        for f in files:
            f.abort()
        for t in threads:
            t.join(timeout=1)
        raise
    finally:
        stop.set()
        if watcher is not None:
            watcher.join()
    wall = time.perf_counter() - t0
    parts = []
    for j, w in enumerate(work):
        path = w / "results.pkl"
        if not path.exists():
            log = w / "sim.log"
            tail = log.read_text(errors="replace").splitlines()[-30:] if log.exists() else []
            raise CosimError(f"the harness run in {w} ended without results ({failures[j]}):\n" + "\n".join(tail))
        parts.append(HarnessResult.load(path))
    result = merge_results(parts, owner, names)
    result.wall_seconds = wall
    if progress is not None:
        progress(result.rtl_cycles, total)
    _record_rate(bdir, result, n_jobs)
    if result.ok and not run_dir:
        shutil.rmtree(run, ignore_errors=True)
    return result
