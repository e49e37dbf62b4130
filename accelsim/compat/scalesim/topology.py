"""A SCALE-Sim topology row: its ceil'd output size, GEMM dimensions and IFMAP address validity.

Also the row of an accelsim network node (``topology_row``). See docs/scalesim.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from accelsim.compat.scalesim.common import ScaleSimConventionError
from accelsim.workload.layers import Conv2d, Linear, as_pair
from accelsim.workload.network import Node

TopologyRow = tuple[str, int, int, int, int, int, int, int]


@dataclass(frozen=True)
class TopologyLayer:
    """IFMAP ``H`` x ``W`` (already padded), filter ``FH`` x ``FW``, ``C`` channels, ``N`` filters,
    stride ``S`` (both axes), as ``topology_utils.py`` reads a row."""

    H: int
    W: int
    FH: int
    FW: int
    C: int
    N: int
    S: int

    @property
    def OH(self) -> int:
        return -(-(self.H - self.FH + self.S) // self.S)

    @property
    def OW(self) -> int:
        return -(-(self.W - self.FW + self.S) // self.S)

    @property
    def M(self) -> int:
        return self.OH * self.OW

    @property
    def K(self) -> int:
        return self.FH * self.FW * self.C

    # --- IFMAP address validity (operand_matrix.calc_ifmap_elem_addr) ---------------------------
    # Element (m, k) of the IFMAP operand is pixel (oh*S + r, ow*S + c, ch) with
    # m = oh*OW + ow, k = (r*FW + c)*C + ch; it is -1 when the pixel is outside the IFMAP.

    def _k_rc(self, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return k // (self.FW * self.C), (k // self.C) % self.FW

    def last_valid_m(self, k: np.ndarray) -> np.ndarray:
        """Largest m whose window element k is inside the IFMAP (vectorised over k)."""
        r, c = self._k_rc(np.asarray(k))
        oh = np.minimum((self.H - 1 - r) // self.S, self.OH - 1)
        ow = np.minimum((self.W - 1 - c) // self.S, self.OW - 1)
        return oh * self.OW + ow

    def last_valid_k(self, m: np.ndarray) -> np.ndarray:
        """Largest k valid for output pixel m, -1 if its window is wholly outside (vectorised)."""
        oh, ow = np.divmod(np.asarray(m), self.OW)
        rmax = np.minimum(self.FH - 1, self.H - 1 - oh * self.S)
        cmax = np.minimum(self.FW - 1, self.W - 1 - ow * self.S)
        return np.where((rmax < 0) | (cmax < 0), -1, (rmax * self.FW + cmax) * self.C + self.C - 1)

    def valid(self, m0: int, m1: int, k0: int, k1: int) -> np.ndarray:
        """Validity of the IFMAP operand tile [m0:m1, k0:k1] (bool, m x k)."""
        oh, ow = np.divmod(np.arange(m0, m1)[:, None], self.OW)
        r, c = self._k_rc(np.arange(k0, k1)[None, :])
        return (r + oh * self.S < self.H) & (c + ow * self.S < self.W)

    def ifmap_distinct(self) -> int:
        """Distinct IFMAP pixels*channels any window touches."""

        def axis(n: int, f: int, o: int) -> int:
            if f >= self.S:
                return n
            return sum(max(0, min(f, n - i * self.S)) for i in range(o))

        return axis(self.H, self.FH, self.OH) * axis(self.W, self.FW, self.OW) * self.C


def topology_row(node: Node) -> TopologyRow | None:
    """The SCALE-Sim topology row of an accelsim network node (one group of it).

    Conv2d: IFMAP H+2P x W+2P (SCALE-Sim takes the padded size), filter, in_channels/groups,
    out_channels/groups, stride. Linear: a 1x1 convolution of a 1x1 IFMAP with in_features
    channels and out_features filters. Other layers (pooling, activations, ...) run no GEMM on
    the array: ``None``. Raises for what SCALE-Sim cannot express (dilation, unequal strides).
    """
    layer = node.layer
    if isinstance(layer, Linear):
        return (layer.name, 1, 1, 1, 1, layer.in_features, layer.out_features, 1)
    if isinstance(layer, Conv2d):
        if as_pair(layer.dilation) != (1, 1):
            raise ScaleSimConventionError(f"layer '{layer.name}': dilation", "SCALE-Sim has no dilated convolution")
        sh, sw = as_pair(layer.stride)
        if sh != sw:
            raise ScaleSimConventionError(f"layer '{layer.name}': stride",
                                          f"SCALE-Sim needs equal strides, got {sh}x{sw}")
        _, h, w = node.input_shape
        (kh, kw), (ph, pw) = as_pair(layer.kernel_size), as_pair(layer.padding)
        g = layer.groups
        return (layer.name, h + 2 * ph, w + 2 * pw, kh, kw, layer.in_channels // g, layer.out_channels // g, sh)
    return None
