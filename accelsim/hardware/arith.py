"""Two's-complement arithmetic of the datapath: signed DATA_W operands, ACC_W sums that wrap."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from accelsim.errors import AccelsimError


def wrap(x: ArrayLike, bits: int) -> np.ndarray:
    """``x`` (int64) reduced to a signed ``bits``-bit value, as a register of that width holds it.

    int64 arithmetic already wraps modulo 2^64, which 2^bits divides, so reducing any int64
    intermediate gives the exact ACC_W result.
    """
    x = np.asarray(x, dtype=np.int64)
    if bits >= 64:
        return x
    half = np.int64(1 << (bits - 1))
    return ((x + half) & np.int64((1 << bits) - 1)) - half


def check_operand(where: str, x: ArrayLike, bits: int, as_int64: bool = True) -> np.ndarray:
    """A 2-D integer operand whose values fit signed ``bits`` bits, as int64 (or its own dtype)."""
    x = np.asarray(x)
    if x.ndim != 2 or 0 in x.shape:
        raise AccelsimError(f"{where}: expected a non-empty 2-D matrix, got shape {x.shape}")
    if not np.issubdtype(x.dtype, np.integer):
        raise AccelsimError(f"{where}: expected integers, got dtype {x.dtype}")
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    if int(x.min()) < lo or int(x.max()) > hi:
        raise AccelsimError(f"{where}: values [{x.min()}, {x.max()}] do not fit signed {bits} bits")
    return x.astype(np.int64) if as_int64 else x
