"""GEMMs and networks as co-simulation jobs: tiling (``accelsim.mapping.folds``), beats
(``accelsim.systolic.beats``), and the reassembly of the RTL's output rows into C.

The RTL computes one fold at a time; like the ofmap buffer, ``assemble`` places each fold's
output rows in its C block and adds the k-tile partial sums of WS/IS with ACC_W wrap. Cycles
here are compute cycles only (sum over folds of done cycle + 1): the RTL has no DRAM, so the
stepping model's memory stalls are not part of the comparison.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from accelsim.errors import AccelsimError
from accelsim.hardware.arith import check_operand, wrap
from accelsim.hardware.config import ArrayConfig
from accelsim.mapping.folds import folds_for
from accelsim.rtlsim.job import JobResult
from accelsim.systolic.beats import Beats, fold_beats
from accelsim.systolic.simulate import compute_cycles_estimate

# The job (every fold's per-cycle port values, pickled for the simulator's Python) and the operands
# are built in memory before the simulator starts: refuse a job bigger than this before allocating.
MAX_JOB_BYTES = 1 << 30


@dataclass
class Gemm:
    """One GEMM to co-simulate: int operands and the integer reference C (already wrapped to ACC_W)."""

    name: str
    a: np.ndarray
    b: np.ndarray
    reference: np.ndarray

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

    @property
    def ok(self) -> bool:
        return self.mismatched_folds == 0 and self.wrong_elements == 0 and self.rtl_cycles == self.model_cycles


def job_bytes(cfg: ArrayConfig, shapes) -> int:
    """Bytes a job of GEMMs ``[(name, m, k, n), ...]`` holds: each fold's beats (int64 A and B port
    rows per cycle and three flags) plus the operands, reference and reassembled C."""
    total = 0
    for _, m, k, n in shapes:
        total += compute_cycles_estimate(cfg, m, k, n) * (8 * (cfg.rows + cfg.cols) + 3)
        total += 8 * (m * k + k * n + 3 * m * n)
    return total


def check_job_size(cfg: ArrayConfig, shapes) -> None:
    """One line, before anything is allocated, for a job larger than ``MAX_JOB_BYTES``."""
    need = job_bytes(cfg, shapes)
    if need > MAX_JOB_BYTES:
        biggest = max(shapes, key=lambda s: job_bytes(cfg, [s]))
        raise AccelsimError(
            f"cosim: the job would hold ~{need / 2 ** 30:,.1f} GiB of beats and operands (limit "
            f"{MAX_JOB_BYTES / 2 ** 30:g} GiB; largest GEMM {biggest[0]}: {biggest[1]}x{biggest[2]}x{biggest[3]} "
            f"on {cfg.rows}x{cfg.cols}): use smaller GEMMs or a larger array")


def network_shapes(model: str, batch: int = 1) -> list[tuple[str, int, int, int]]:
    """(name, m, k, n) of every conv/linear GEMM of ``model`` (one per group), without running it."""
    from accelsim.workload import resolve
    from accelsim.workload.gemm import gemm_shape

    out = []
    for node in resolve(model):
        shape = gemm_shape(node, batch)
        if shape is not None:
            out += [(node.layer.name, shape[0], shape[1], shape[2])] * shape[3]
    return out


def random_gemm(cfg: ArrayConfig, m: int, k: int, n: int, seed: int = 0, name: str | None = None) -> Gemm:
    """Uniform signed DATA_W-bit operands; reference ``A @ B`` wrapped to ACC_W."""
    rng = np.random.default_rng(seed)
    lo, hi = -(1 << (cfg.data_bits - 1)), 1 << (cfg.data_bits - 1)
    a, b = rng.integers(lo, hi, (m, k)), rng.integers(lo, hi, (k, n))
    return make_gemm(cfg, a, b, name or f"gemm{m}x{k}x{n}")


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


def gemm_folds(cfg: ArrayConfig, dataflow: str, g: Gemm) -> list[Beats]:
    """The beats of every fold the simulators run for ``g`` (``mapping.folds_for``: WS/IS stream in chunks)."""
    m, k, n = g.shape
    return [fold_beats(cfg, dataflow, g.a, g.b, f) for f in folds_for(cfg, m, k, n, dataflow)]


def assemble(beats: list[Beats], outputs: list[np.ndarray], m: int, n: int, acc_bits: int) -> np.ndarray:
    """C from the folds' output rows, in fold order, as the ofmap buffer accumulates it."""
    c = np.zeros((m, n), dtype=np.int64)
    for bt, out in zip(beats, outputs, strict=True):
        block = bt.block
        tile = bt.scatter(out)
        c[block] = tile if bt.fold.first_k else wrap(c[block] + tile, acc_bits)
    return c


def check_gemms(cfg: ArrayConfig, gemms: list[Gemm], beats: list[list[Beats]], result: JobResult) -> list[GemmCheck]:
    """Split a job's fold results back into its GEMMs and judge each one."""
    checks, at = [], 0
    for g, bl in zip(gemms, beats, strict=True):
        folds = result.folds[at: at + len(bl)]
        at += len(bl)
        m, _, n = g.shape
        complete = len(folds) == len(bl) and all(
            f.rtl_out.shape == (b.out_rows, cfg.cols) for f, b in zip(folds, bl, strict=True))
        rtl_c = assemble(bl, [f.rtl_out for f in folds], m, n, cfg.acc_bits) if complete else None
        wrong = int(np.count_nonzero(rtl_c != g.reference)) if rtl_c is not None else m * n
        checks.append(GemmCheck(g.name, g.shape, len(bl), sum(not f.ok for f in folds) + len(bl) - len(folds), wrong,
                                sum(f.rtl_fold_cycles or 0 for f in folds), sum(f.model_fold_cycles for f in folds),
                                rtl_c))
    return checks


def network_gemms(cfg: ArrayConfig, model: str = "lenet5", seed: int = 0, batch: int = 1) -> list[Gemm]:
    """Every conv/linear GEMM (one per group) of ``model``'s bit-exact int8 forward pass.

    The reference is the pass's own integer accumulator (exact int32 ``A @ B`` before bias), so the
    configuration must be the pass's: 8-bit operands and a 32-bit accumulator.
    """
    from accelsim.lowering import forward_int, quantize_network
    from accelsim.workload import resolve

    if (cfg.data_bits, cfg.acc_bits) != (8, 32):
        raise ValueError(f"network_gemms: the int8 forward accumulates int8 x int8 in int32; "
                         f"the array has DATA_W={cfg.data_bits}, ACC_W={cfg.acc_bits}")
    net = resolve(model)
    run = forward_int(quantize_network(net, batch=batch, seed=seed), batch=batch, seed=seed, record=True)
    out = []
    for lr in run.layers:
        for gi, (gm, acc) in enumerate(zip(lr.gemms, lr.acc, strict=True)):
            name = lr.node.layer.name + (f"/g{gi}" if len(lr.gemms) > 1 else "")
            a, b = check_operand("A", gm.a, 8), check_operand("B", gm.b, 8)
            out.append(Gemm(name, a, b, np.asarray(acc, dtype=np.int64)))
    return out
