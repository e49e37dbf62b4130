"""accelsim: CNN workload profiling and cycle-exact systolic-array simulation.

``import accelsim`` is cheap: the API (``accelsim.api``: ``load``, ``profile``, ``forward``,
``simulate``, ``cosim``, ``sweep``, the result classes) and ``ArrayConfig`` load on first use (PEP 562), so
``accelsim --version`` does not import pandas, numpy or matplotlib. See docs/api.md.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

_LAZY = {
    "load": "accelsim.api", "profile": "accelsim.api", "forward": "accelsim.api", "simulate": "accelsim.api",
    "cosim": "accelsim.api", "sweep": "accelsim.api", "ProfileResult": "accelsim.api",
    "SimulationResult": "accelsim.api", "EnergyResult": "accelsim.api", "CosimResult": "accelsim.api",
    "SweepResult": "accelsim.api",
    "ArrayConfig": "accelsim.hardware.config", "AccelsimError": "accelsim.errors",
}
__all__ = [
    "AccelsimError", "ArrayConfig", "CosimResult", "EnergyResult", "ProfileResult", "SimulationResult", "SweepResult",
    "__version__", "cosim", "forward", "load", "profile", "simulate", "sweep",
]

if TYPE_CHECKING:
    from accelsim.api import (
        CosimResult,
        EnergyResult,
        ProfileResult,
        SimulationResult,
        SweepResult,
        cosim,
        forward,
        load,
        profile,
        simulate,
        sweep,
    )
    from accelsim.errors import AccelsimError
    from accelsim.hardware.config import ArrayConfig


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'accelsim' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
