"""Where the project's Verilog lives and where per-user caches go: shared by the RTL co-simulation
(``accelsim.rtlsim``) and synthesis (``accelsim.synth``).

The Verilog sources are package data: ``accelsim/rtl`` (a link to the repository's ``rtl/``
folder, copied into the wheel as files), found through ``importlib.resources`` so an editable
install, a wheel and a source checkout all find them. Caches go to ``$ACCELSIM_CACHE_DIR`` when
that is set, else to the platform's user cache directory (``~/.cache/accelsim`` on Linux).
"""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path

CACHE_ENV = "ACCELSIM_CACHE_DIR"

_RTL = files("accelsim").joinpath("rtl")
# Simulators and yosys read real files: from a zipped install (no Path) this names no folder.
RTL_DIR = _RTL if isinstance(_RTL, Path) else Path(str(_RTL))


def cache_root() -> Path:
    """The folder that holds accelsim's caches (not created here): $ACCELSIM_CACHE_DIR or the user cache."""
    value = os.environ.get(CACHE_ENV, "")
    if value:
        return Path(value).expanduser().absolute()
    import platformdirs

    return Path(platformdirs.user_cache_dir("accelsim", appauthor=False))
