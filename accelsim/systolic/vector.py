"""The vector unit: the layers that are not GEMMs (pooling, activations, norms, add, concat, softmax).

Model: ``cols`` lanes (one per array column) each doing one operation per cycle, the
operations being ``accelsim.workload.profile.vector_ops`` (per image) times the batch, so
``compute_cycles = ceil(ops / cols)``. DRAM assumption: the layer streams its input from DRAM and
its output back, once each (every input of an add, a concat or a matmul's partner),
at ``DATA_W/8`` bytes an element (activations between layers are
requantized to the operand width), over the same read and write channels as the array and
overlapped with the lanes: ``cycles = max(compute, ceil(in_bytes / bw), ceil(out_bytes / bw))``.
Flatten and dropout relabel the same bytes: 0 cycles, no traffic. A concat has no operations but
copies its inputs into one tensor: its cycles are the transfers'.
The array's SRAMs are not used.
"""

from __future__ import annotations

import math

from accelsim.hardware.config import ArrayConfig
from accelsim.workload.counts import vector_ops
from accelsim.workload.layers import IDENTITIES
from accelsim.workload.network import Node


def vector_layer(cfg: ArrayConfig, node: Node, batch: int = 1) -> dict[str, int]:
    """Operations, cycles and DRAM bytes of one non-GEMM layer on the vector unit."""
    ops = vector_ops(node) * batch
    if isinstance(node.layer, IDENTITIES):
        return {"vector_ops": 0, "cycles": 0, "compute_cycles": 0, "dram_read_bytes": 0, "dram_write_bytes": 0}
    read = sum(math.prod(s) for s in node.input_shapes) * batch * cfg.data_bytes
    write = math.prod(node.output_shape) * batch * cfg.data_bytes
    bw = cfg.bandwidth_fraction
    compute = -(-ops // cfg.cols)
    cycles = max(compute, -(-read * bw.denominator // bw.numerator), -(-write * bw.denominator // bw.numerator))
    return {"vector_ops": ops, "cycles": cycles, "compute_cycles": compute, "dram_read_bytes": read,
            "dram_write_bytes": write}
