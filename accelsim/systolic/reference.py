"""The one adapter to ``accelsim.lowering``: the bit-exact int8 reference the array is checked against.

``reference_gemms`` runs the lowering's integer forward pass (``quantize_network`` then
``forward_int(record=True)``, seeded) and returns, per conv/linear/matmul layer, each group's int8
operands A (M x K), B (K x N) and the exact int32 accumulators ``A @ B`` (no bias): a group is a
conv group, or a matmul head (the forward records one GEMM per image and head; at batch 1 they are
the array's per-head GEMMs, at a larger batch the images' B operands differ, so one M = batch x T
GEMM per head does not exist and the check refuses). If the lowering's API moves, this is the only
place to follow it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from accelsim.errors import AccelsimError
from accelsim.progress import ProgressFactory, no_progress
from accelsim.workload.layers import MatMul
from accelsim.workload.network import Network


@dataclass(frozen=True, eq=False)
class RefGemm:
    """One group's GEMM from the reference forward pass: int8 ``a``, ``b`` and int32 ``acc = a @ b``."""

    a: np.ndarray
    b: np.ndarray
    acc: np.ndarray


def reference_gemms(net: Network, batch: int = 1, seed: int = 0,
                    progress: ProgressFactory | None = None) -> dict[str, tuple[RefGemm, ...]]:
    """Per conv/linear/matmul layer name, its groups' operands and accumulators from the int8 forward pass.

    ``progress`` shows its two phases, layer by layer: the float calibration pass and the int8 pass.
    """
    from accelsim.lowering import forward_int, quantize_network

    products = [n.layer.name for n in net.nodes if isinstance(n.layer, MatMul)]
    if products and batch > 1:
        raise AccelsimError(f"check: layer '{products[0]}' (matmul) multiplies two activations: each image has its "
                            f"own B operand, so the array's per-head GEMM of M = batch x rows has no reference at "
                            f"batch {batch}; check at batch 1")
    track = progress or no_progress
    with track("check: float calibration pass (layers)", len(net.nodes)) as cb:
        qnet = quantize_network(net, batch=batch, seed=seed, progress=cb)
    with track("check: int8 reference pass (layers)", len(net.nodes)) as cb:
        run = forward_int(qnet, batch=batch, seed=seed, record=True, keep=False, progress=cb)
    return {
        lr.node.layer.name: tuple(RefGemm(g.a, g.b, acc) for g, acc in zip(lr.gemms, lr.acc, strict=True))
        for lr in run.layers if lr.gemms
    }
