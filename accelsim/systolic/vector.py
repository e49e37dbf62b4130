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
Layers that stay on chip (``memory.onchip``): an input in the ifmap SRAM is read from there
(``ifmap_sram_reads``, no DRAM bytes), an output that stays is written there (``ifmap_sram_writes``);
the vector unit uses the array's SRAMs for nothing else.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from accelsim.hardware.config import ArrayConfig
from accelsim.workload.counts import vector_ops
from accelsim.workload.layers import IDENTITIES
from accelsim.workload.network import Node


def vector_layer(cfg: ArrayConfig, node: Node, batch: int = 1, on_chip_inputs: Sequence[bool] = (),
                 output_on_chip: bool = False) -> dict[str, int]:
    """Operations, cycles, DRAM bytes and ifmap SRAM elements of one non-GEMM layer on the vector unit;
    ``on_chip_inputs`` (per input, default none) and ``output_on_chip``: what is in the ifmap SRAM."""
    ops = vector_ops(node) * batch
    if isinstance(node.layer, IDENTITIES):
        return {"vector_ops": 0, "cycles": 0, "compute_cycles": 0, "dram_read_bytes": 0, "dram_write_bytes": 0,
                "ifmap_sram_reads": 0, "ifmap_sram_writes": 0}
    sizes = [math.prod(s) * batch for s in node.input_shapes]
    chip = list(on_chip_inputs) + [False] * (len(sizes) - len(on_chip_inputs))
    sram_in = sum(e for e, c in zip(sizes, chip, strict=True) if c)
    read = (sum(sizes) - sram_in) * cfg.data_bytes
    out = math.prod(node.output_shape) * batch
    write = 0 if output_on_chip else out * cfg.data_bytes
    bw = cfg.bandwidth_fraction
    compute = -(-ops // cfg.cols)
    cycles = max(compute, -(-read * bw.denominator // bw.numerator), -(-write * bw.denominator // bw.numerator))
    return {"vector_ops": ops, "cycles": cycles, "compute_cycles": compute, "dram_read_bytes": read,
            "dram_write_bytes": write, "ifmap_sram_reads": sram_in, "ifmap_sram_writes": out if output_on_chip else 0}
