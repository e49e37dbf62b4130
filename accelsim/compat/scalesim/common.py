"""SCALE-Sim 3.0.0's fixed CALC-mode parameters and the convention's error (docs/scalesim.md)."""

from __future__ import annotations

import numpy as np

from accelsim.errors import AccelsimError

DATAFLOWS = ("os", "ws", "is")

# Fixed by SCALE-Sim 3.0.0's single_layer_sim.py / memory/*.py in CALC mode.
WORD_BYTES = 1  # word_size
ACTIVE_FRAC = 0.5  # active_buf_frac of every buffer
READ_BACKING_BW = 10  # "The number 10 elems per cycle is arbitrary"
READ_PORT_LATENCY = 1  # read_port.latency (the DRAM side of the read buffers)
HIT_LATENCY = 1  # read buffers' SRAM hit latency; writes have none


MAX_FOLDS = 1 << 22  # the replay holds a few Python objects per fold and int64 arrays per fold line
MAX_EXACT = 1 << 53  # SCALE-Sim's averages are float64: counts beyond this are not exact


class ScaleSimConventionError(AccelsimError):
    """A layer or configuration SCALE-Sim cannot express (names the field)."""

    def __init__(self, fld: str, problem: str):
        super().__init__(f"scalesim convention: {fld}: {problem}")
        self.field = fld


def pos_int(fld: str, v: object) -> int:
    """``v`` as a positive int, or a ``ScaleSimConventionError`` naming ``fld``."""
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v <= 0:
        raise ScaleSimConventionError(fld, f"expected a positive integer, got {v!r}")
    return int(v)
