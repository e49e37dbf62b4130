"""GEMMs and networks as co-simulation jobs: tiling (``accelsim.mapping.folds``), beats
(``accelsim.systolic.beats``), and the reassembly of the RTL's output rows into C.

Like the ofmap buffer, ``GemmTally`` places each fold's output rows in its C block and adds the
k-tile partial sums of WS/IS with ACC_W wrap. Cycles here are compute cycles only (within each
job, a GEMM's folds from its first beat to its last ``done``, serial or pipelined): the RTL has
no DRAM, so the
stepping model's memory stalls are not part of the comparison.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from accelsim.errors import AccelsimError
from accelsim.hardware.arith import check_operand, wrap
from accelsim.hardware.config import ArrayConfig
from accelsim.lowering.requant import ACTIVATIONS, OutputStage, qmax
from accelsim.mapping.folds import Folds, folds_for, mapping_for, runs_for, used_chunk
from accelsim.mapping.space import Mapping
from accelsim.rtlsim.job import FoldResult, JobResult
from accelsim.systolic.beats import Beats, fold_beats

if TYPE_CHECKING:
    from accelsim.lowering.forward import LayerRun

M = TypeVar("M")

# A network's co-simulation runs as several simulator jobs, one after another through the same build:
# each job's folds (their per-cycle port values, built by the host, pickled and loaded by the
# simulator's Python, and their results, which come back the same way) stay under MAX_JOB_BYTES.
# One GEMM's operands, reference and reassembled C, and its fold arrays, are held while its folds
# run: a single GEMM above MAX_GEMM_BYTES is refused before anything is allocated.
MAX_JOB_BYTES = 128 << 20
MAX_GEMM_BYTES = 1 << 30
FOLD_ARRAY_BYTES = 64  # Folds' six int64 arrays per fold and their per-fold temporaries
FOLD_OBJECT_BYTES = 2048  # a fold's Beats, Fold and FoldResult objects and their arrays' headers


@dataclass
class Gemm:
    """One GEMM to co-simulate: int operands and the integer reference C (already wrapped to ACC_W); with
    its output ``stage``, also the int8 reference ``out`` after it (the int8 forward's own result for a
    network layer). ``mapping``: the mapping its folds run (None: the configuration's fixed mapping)."""

    name: str
    a: np.ndarray
    b: np.ndarray
    reference: np.ndarray
    stage: OutputStage | None = None
    out: np.ndarray | None = None
    mapping: Mapping | None = None

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.a.shape[0], self.a.shape[1], self.b.shape[1]


@dataclass
class GemmCheck:
    """A GEMM's verdict: the assembled RTL C against the reference, and cycles RTL vs model."""

    name: str
    shape: tuple[int, int, int]
    folds: int
    mismatched_folds: int
    wrong_elements: int
    rtl_cycles: int
    model_cycles: int
    rtl_c: np.ndarray | None = field(default=None, repr=False)
    int8_outputs: int = 0
    wrong_int8: int = 0
    rtl_q: np.ndarray | None = field(default=None, repr=False)
    mapping: str = ""

    @property
    def ok(self) -> bool:
        return (self.mismatched_folds == 0 and self.wrong_elements == 0 and self.wrong_int8 == 0
                and self.rtl_cycles == self.model_cycles)


def gemm_bytes(cfg: ArrayConfig, m: int, k: int, n: int, mapping: Mapping | None = None) -> int:
    """Bytes one GEMM holds while its folds run: int64 A, B, reference, C and a tile, and its fold arrays."""
    return 8 * (m * k + k * n + 3 * m * n) + runs_for(cfg, m, k, n, mapping).count * FOLD_ARRAY_BYTES


def per_gemm(mappings: Sequence[M] | None, count: int) -> list[M | None]:
    """One mapping per GEMM (None: the configuration's fixed one), checked against the GEMMs' count."""
    if mappings is None:
        return [None] * count
    if len(mappings) != count:
        raise ValueError(f"expected one mapping per GEMM ({count}), got {len(mappings)}")
    return list(mappings)


def check_gemm_sizes(cfg: ArrayConfig, shapes, mappings: Sequence[Mapping | None] | None = None) -> None:
    """One line, before anything is allocated, for a GEMM of ``[(name, m, k, n), ...]`` above ``MAX_GEMM_BYTES``
    (a network of many GEMMs is split into jobs instead: ``job_plan``); ``mappings``: one per GEMM (their
    chunks are checked against the ofmap SRAM here too)."""
    for (name, m, k, n), mp in zip(shapes, per_gemm(mappings, len(shapes)), strict=True):
        need = gemm_bytes(cfg, m, k, n, mapping_for(cfg, mp))
        if need > MAX_GEMM_BYTES:
            raise AccelsimError(
                f"cosim: GEMM {name} ({m}x{k}x{n} on {cfg.rows}x{cfg.cols}) would hold ~{need / 2 ** 30:,.1f} GiB of "
                f"operands and fold arrays (limit {MAX_GEMM_BYTES / 2 ** 30:g} GiB per GEMM): use smaller GEMMs or "
                "a larger array")


def fold_job_bytes(cfg: ArrayConfig, folds: Folds) -> np.ndarray:
    """Bytes each fold takes in a job: its ``Beats`` (int64 A and B port rows and three flags per beat, R
    load beats in WS/IS) and its ``FoldResult`` (RTL and model output rows, their cycles), plus the
    Python objects around them (~1 KiB each side, measured)."""
    pre = 0 if folds.dataflow.name == "os" else cfg.rows
    out_rows = cfg.rows if folds.dataflow.name == "os" else folds.st
    return ((pre + folds.st) * (8 * (cfg.rows + cfg.cols) + 3) + out_rows * (2 * 8 * cfg.cols + 16)
            + FOLD_OBJECT_BYTES)


def job_plan(cfg: ArrayConfig, shapes, limit_bytes: int | None = None,
             mappings: Sequence[Mapping | None] | None = None) -> list[int]:
    """Folds per simulator job for the GEMMs ``[(m, k, n), ...]`` back to back (``mappings``: one per GEMM,
    None: the configuration's fixed one): folds in order, a new job whenever the next C block (its k-tiles,
    consecutive folds; ``fold_job_bytes``) would take the job over ``limit_bytes`` (default
    ``MAX_JOB_BYTES``; a block alone always runs). Jobs are cut between blocks only, so the partial sums
    the output stage reads with a block's last k-tile (the testbench's ofmap buffer) never cross a job."""
    limit_bytes = MAX_JOB_BYTES if limit_bytes is None else limit_bytes
    jobs: list[int] = []
    folds_in = bytes_in = 0
    sizes: dict[tuple, tuple[list[int], list[int]]] = {}  # identical GEMMs (a depthwise layer's groups)
    for (m, k, n), mp in zip(shapes, per_gemm(mappings, len(shapes)), strict=True):
        key = (m, k, n, mp)
        if key not in sizes:
            folds = folds_for(cfg, m, k, n, mp)
            costs = fold_job_bytes(cfg, folds)
            starts = np.flatnonzero(folds.k0 == 0)  # each C block's first k-tile
            sizes[key] = (np.add.reduceat(costs, starts).tolist(), np.diff(np.append(starts, len(costs))).tolist())
        block_bytes, block_folds = sizes[key]
        total = sum(block_bytes)
        if bytes_in + total <= limit_bytes:
            folds_in, bytes_in = folds_in + sum(block_folds), bytes_in + total
            continue
        for c, nf in zip(block_bytes, block_folds, strict=True):
            if folds_in and bytes_in + c > limit_bytes:
                jobs.append(folds_in)
                folds_in = bytes_in = 0
            folds_in, bytes_in = folds_in + nf, bytes_in + c
    if folds_in:
        jobs.append(folds_in)
    return jobs


def _network_gemms(model: str, batch: int, input_shape) -> list[tuple[str, str, int, int, int]]:
    """(GEMM name, layer name, m, k, n) of every conv/linear GEMM of ``model``, one per group."""
    from accelsim.workload import resolve
    from accelsim.workload.gemm import gemm_shape

    out = []
    for node in resolve(model, input_shape=input_shape):
        shape = gemm_shape(node, batch)
        if shape is not None:
            name = node.layer.name
            out += [(name + (f"/g{i}" if shape[3] > 1 else ""), name, shape[0], shape[1], shape[2])
                    for i in range(shape[3])]
    return out


def network_shapes(model: str, batch: int = 1, input_shape=None) -> list[tuple[str, int, int, int]]:
    """(name, m, k, n) of every conv/linear GEMM of ``model`` (one per group, named as ``iter_network_gemms``
    names them), without running it."""
    return [(name, m, k, n) for name, _, m, k, n in _network_gemms(model, batch, input_shape)]


def network_mappings(model: str, mappings: dict[str, Mapping] | Mapping | None, batch: int = 1,
                     input_shape=None) -> list[Mapping | None]:
    """The mapping of every conv/linear GEMM of ``model`` (in ``network_shapes``'s order): ``mappings`` per layer
    name (``Simulation.mappings``; a layer not named runs the configuration's fixed mapping), one Mapping for
    every layer, or None (all fixed). A name that is no conv/linear layer of the network is an error."""
    gemms = _network_gemms(model, batch, input_shape)
    if mappings is None or isinstance(mappings, Mapping):
        return [mappings] * len(gemms)
    layers = {layer for _, layer, *_ in gemms}
    unknown = sorted(set(mappings) - layers)
    if unknown:
        raise AccelsimError(f"cosim: mappings: {unknown[0]!r} is not a conv/linear layer of {model}"
                            + (f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""))
    return [mappings.get(layer) for _, layer, *_ in gemms]


def random_gemm(cfg: ArrayConfig, m: int, k: int, n: int, seed: int = 0, name: str | None = None) -> Gemm:
    """Uniform signed DATA_W-bit operands; reference ``A @ B`` wrapped to ACC_W. On a configuration with
    the output stage, also a seeded stage (``random_stage``) and the int8 reference after it."""
    rng = np.random.default_rng(seed)
    lo, hi = -(1 << (cfg.data_bits - 1)), 1 << (cfg.data_bits - 1)
    a, b = rng.integers(lo, hi, (m, k)), rng.integers(lo, hi, (k, n))
    g = make_gemm(cfg, a, b, name or f"gemm{m}x{k}x{n}")
    if cfg.output_stage:
        g.stage = random_stage(rng, g.reference)
        g.out = g.stage.apply(g.reference)
    return g


def random_stage(rng: np.random.Generator, reference: np.ndarray) -> OutputStage:
    """An output stage for a random GEMM: a bias per column within +-half the largest |C|, a multiplier that
    maps that size to about 1.5 x 127 (so some outputs saturate) and a random fused activation."""
    n = reference.shape[1]
    scale = max(1, int(np.abs(reference).max(initial=0)))
    bias = rng.integers(-(scale // 2), scale // 2 + 1, n)
    activation = str(rng.choice(ACTIVATIONS))
    return OutputStage.from_scales(1.5 * qmax() / scale, 6.0 / 100, bias, activation)


def make_gemm(cfg: ArrayConfig, a, b, name: str) -> Gemm:
    a = check_operand("A", a, cfg.data_bits)
    b = check_operand("B", b, cfg.data_bits)
    return Gemm(name, a, b, reference_product(a, b, cfg.acc_bits))


def reference_product(a: np.ndarray, b: np.ndarray, acc_bits: int) -> np.ndarray:
    """Exact ``a @ b`` wrapped to ``acc_bits``: in int64 while no sum can overflow it, else in Python integers."""
    a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    bound = int(np.abs(a).max(initial=0)) * int(np.abs(b).max(initial=0)) * a.shape[1]
    if bound < (1 << 63):
        return wrap(a @ b, acc_bits)
    exact = a.astype(object) @ b.astype(object)
    mod, half = 1 << acc_bits, 1 << (acc_bits - 1)
    return np.vectorize(lambda x: ((int(x) + half) % mod) - half, otypes=[np.int64])(exact)


def gemm_folds(cfg: ArrayConfig, mapping: Mapping | str | None, g: Gemm) -> list[Beats]:
    """The beats of every fold the simulators run for ``g`` under ``mapping`` (a Mapping, a dataflow's fixed one,
    or None: ``g.mapping``, else the configuration's; ``mapping.folds_for``: WS/IS stream in chunks)."""
    m, k, n = g.shape
    folds = folds_for(cfg, m, k, n, g.mapping if mapping is None else mapping)
    return [fold_beats(cfg, folds.dataflow, g.a, g.b, f) for f in folds]


class GemmTally:
    """One GEMM's verdict built fold by fold, in fold order, as job results come back (its folds may
    span several jobs). C is reassembled as the ofmap buffer accumulates it: each fold's output rows
    in its C block, the k-tile partial sums of WS/IS added with ACC_W wrap. ``mapping``: what its folds
    ran, for the verdict."""

    def __init__(self, cfg: ArrayConfig, g: Gemm, folds: int, mapping: Mapping | str | None = None):
        self.cfg, self.gemm, self.folds = cfg, g, folds
        self.mapping = mapping_for(cfg, g.mapping if mapping is None else mapping)
        m, _, n = g.shape
        self.c: np.ndarray | None = np.zeros((m, n), dtype=np.int64)
        self.q: np.ndarray | None = np.zeros((m, n), dtype=np.int64) if g.stage is not None else None
        self.staged = g.stage is not None  # False once a final fold comes back without int8 rows (no stage run)
        self.added = self.mismatched = self.rtl_cycles = self.model_cycles = 0
        self._span: list[int] | None = None  # this job's first start, latest RTL end, latest model end
        self._last_start = -1

    def add(self, bt: Beats, f: FoldResult | None) -> None:
        """The next fold's beats and what the job returned for it (None: the fold never ran)."""
        self.added += 1
        if f is None:
            self.mismatched += 1
            self.c = self.q = None
            return
        if self.staged and bt.fold.last_k and f.model_q is None:
            self.staged = False
        if self.staged and self.q is not None and bt.fold.last_k:
            if f.rtl_q is None or f.rtl_q.shape != (bt.out_rows, self.cfg.cols):
                self.q = None
            else:
                self.q[bt.block] = bt.scatter(f.rtl_q)
        self.mismatched += not f.ok
        if f.start <= self._last_start:  # a new job: its cycles count from its own reset
            self._close()
        self._last_start = f.start
        rtl_end, model_end = f.start + (f.rtl_fold_cycles or 0), f.start + f.model_fold_cycles
        s = self._span
        self._span = [f.start, rtl_end, model_end] if s is None else [s[0], max(s[1], rtl_end), max(s[2], model_end)]
        if self.c is None or f.rtl_out.shape != (bt.out_rows, self.cfg.cols):
            self.c = None
            return
        tile = bt.scatter(f.rtl_out)
        block = bt.block
        self.c[block] = tile if bt.fold.first_k else wrap(self.c[block] + tile, self.cfg.acc_bits)

    def _close(self) -> None:
        """Add the open job's span (first beat to last ``done``; pipelined folds overlap) to the cycles."""
        if self._span is not None:
            start, rtl_end, model_end = self._span
            self.rtl_cycles += rtl_end - start
            self.model_cycles += model_end - start
            self._span = None

    @property
    def complete(self) -> bool:
        return self.added == self.folds

    def check(self) -> GemmCheck:
        self._close()
        g = self.gemm
        m, _, n = g.shape
        missing = self.folds - self.added
        rtl_c = self.c if missing == 0 else None
        wrong = int(np.count_nonzero(rtl_c != g.reference)) if rtl_c is not None else m * n
        q, int8 = (self.q if missing == 0 else None), 0
        wrong_q = 0
        if self.staged:
            int8 = m * n
            wrong_q = int(np.count_nonzero(q != g.out)) if q is not None and g.out is not None else m * n
        return GemmCheck(g.name, g.shape, self.folds, self.mismatched + missing, wrong, self.rtl_cycles,
                         self.model_cycles, rtl_c, int8, wrong_q, q,
                         self.mapping.describe(used_chunk(self.cfg, self.mapping, *g.shape)))


def job_stages(cfg: ArrayConfig, gemms: Sequence[Gemm]) -> list[OutputStage] | None:
    """``run_job``'s ``stages``: the output stage of each fold's GEMM (``gemms``, one per fold), or None on a
    configuration without the stage or when a GEMM has none."""
    stages = [g.stage for g in gemms]
    if not cfg.output_stage or any(st is None for st in stages):
        return None
    return [st for st in stages if st is not None]


def check_gemms(cfg: ArrayConfig, gemms: list[Gemm], beats: list[list[Beats]], result: JobResult,
                mappings: Sequence[Mapping | str | None] | None = None) -> list[GemmCheck]:
    """Split a job's fold results back into its GEMMs and judge each one (``mappings``: what each GEMM's beats
    were built with, as given to ``gemm_folds``; None: each GEMM's own)."""
    checks, at = [], 0
    for g, bl, mp in zip(gemms, beats, per_gemm(mappings, len(gemms)), strict=True):
        tally = GemmTally(cfg, g, len(bl), mapping_for(cfg, g.mapping if mp is None else mp))
        for bt, f in zip(bl, result.folds[at: at + len(bl)], strict=False):  # folds that never ran: missing
            tally.add(bt, f)
        at += len(bl)
        checks.append(tally.check())
    return checks


def _check_int8(cfg: ArrayConfig) -> None:
    if (cfg.data_bits, cfg.acc_bits) != (8, 32):
        raise ValueError(f"network_gemms: the int8 forward accumulates int8 x int8 in int32; "
                         f"the array has DATA_W={cfg.data_bits}, ACC_W={cfg.acc_bits}")


def network_gemms(cfg: ArrayConfig, model: str = "lenet5", seed: int = 0, batch: int = 1,
                  input_shape=None, mappings: dict[str, Mapping] | Mapping | None = None) -> list[Gemm]:
    """Every conv/linear GEMM (one per group) of ``model``'s bit-exact int8 forward pass (``iter_network_gemms``)."""
    return list(iter_network_gemms(cfg, model, seed, batch, input_shape, mappings))


def iter_network_gemms(cfg: ArrayConfig, model: str = "lenet5", seed: int = 0, batch: int = 1,
                       input_shape=None, mappings: dict[str, Mapping] | Mapping | None = None) -> Iterator[Gemm]:
    """Every conv/linear GEMM (one per group) of ``model``'s bit-exact int8 forward pass, layer by layer
    as the pass computes them (one layer's operands at a time; ``input_shape`` as for ``resolve``), each
    with its layer's mapping (``network_mappings``).

    The reference is the pass's own integer accumulator (exact int32 ``A @ B`` before bias), so the
    configuration must be the pass's: 8-bit operands and a 32-bit accumulator. With the output stage
    (``cfg.output_stage``) each GEMM carries its group's stage and the pass's int8 result after it.
    """
    from accelsim.lowering import iter_forward_int, quantize_network
    from accelsim.workload import resolve

    _check_int8(cfg)
    net = resolve(model, input_shape=input_shape)
    chosen = iter(network_mappings(model, mappings, batch, input_shape))
    qnet = quantize_network(net, batch=batch, seed=seed)
    for lr in iter_forward_int(qnet, batch=batch, seed=seed, record=True, keep=False):
        yield from layer_gemms(cfg, lr, [next(chosen) for _ in lr.gemms])


def layer_gemms(cfg: ArrayConfig, lr: LayerRun, mappings: Sequence[Mapping | None] | None = None) -> list[Gemm]:
    """The co-simulation GEMMs of one recorded conv/linear/matmul node of the int8 forward pass (``record=True``,
    or what ``forward_int``'s ``gemm_outputs`` is handed), one per group, named ``layer`` or ``layer/g<i>``:
    the pass's operands, its int32 accumulator as the reference and, with the output stage
    (``cfg.output_stage``), the group's stage and the pass's int8 result. ``mappings``: one per group."""
    _check_int8(cfg)
    n = len(lr.gemms)
    stages = lr.stages if cfg.output_stage else (None,) * n
    outs = lr.out if cfg.output_stage else (None,) * n
    gemms = []
    for gi, (gm, acc, st, out, mp) in enumerate(zip(lr.gemms, lr.acc, stages, outs, per_gemm(mappings, n),
                                                    strict=True)):
        name = lr.node.layer.name + (f"/g{gi}" if n > 1 else "")
        a, b = check_operand("A", gm.a, 8), check_operand("B", gm.b, 8)
        gemms.append(Gemm(name, a, b, np.asarray(acc, dtype=np.int64), st,
                          None if out is None else np.asarray(out, dtype=np.int64), mp))
    return gemms
