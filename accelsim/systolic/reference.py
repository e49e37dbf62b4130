"""The one adapter to ``accelsim.lowering``: the bit-exact int8 reference the array is checked against.

``reference_gemms`` runs the lowering's integer forward pass (``quantize_network`` then
``forward_int(record=True)``, seeded) and returns, per conv/linear/matmul layer, each group's int8
operands A (M x K), B (K x N), the exact int32 accumulators ``A @ B`` (no bias), the group's output
stage (bias, integer multiplier, fused activation) and the forward's int8 result after it: a group is a
conv group, or a matmul's image and head (the forward records one GEMM per image and head,
image-major: ``gemm_shape`` counts batch x heads GEMMs in that order, since each image has its own
B operand). If the lowering's API moves, this is the only place to follow it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from accelsim.lowering.requant import OutputStage
from accelsim.progress import ProgressFactory, no_progress
from accelsim.workload.network import Network


@dataclass(frozen=True, eq=False)
class RefGemm:
    """One group's GEMM from the reference forward pass: int8 ``a``, ``b``, int32 ``acc = a @ b``, its output
    ``stage`` and the int8 ``out`` the forward pass computed with it (M x N)."""

    a: np.ndarray
    b: np.ndarray
    acc: np.ndarray
    stage: OutputStage
    out: np.ndarray


def reference_gemms(net: Network, batch: int = 1, seed: int = 0,
                    progress: ProgressFactory | None = None) -> dict[str, tuple[RefGemm, ...]]:
    """Per conv/linear/matmul layer name, its groups' operands and accumulators from the int8 forward pass.

    ``progress`` shows its two phases, layer by layer: the float calibration pass and the int8 pass.
    """
    from accelsim.lowering import forward_int, quantize_network

    track = progress or no_progress
    with track("check: float calibration pass (layers)", len(net.nodes)) as cb:
        qnet = quantize_network(net, batch=batch, seed=seed, progress=cb)
    with track("check: int8 reference pass (layers)", len(net.nodes)) as cb:
        run = forward_int(qnet, batch=batch, seed=seed, record=True, keep=False, progress=cb)
    return {
        lr.node.layer.name: tuple(RefGemm(g.a, g.b, acc, st, out)
                                  for g, acc, st, out in zip(lr.gemms, lr.acc, lr.stages, lr.out, strict=True))
        for lr in run.layers if lr.gemms
    }
