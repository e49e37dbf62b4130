"""Where simulator builds live and when one may be reused.

Builds go to a per-user cache, never into the source tree or site-packages:
``$ACCELSIM_CACHE_DIR/sim_build/`` when that is set, else the platform's user cache
(``~/.cache/accelsim/sim_build/`` on Linux, via platformdirs); ``ACCELSIM_SIM_BUILD`` (the build
root itself, the older variable) still wins when set. A value that is a file or cannot be
written is refused with one line.

Each build folder is keyed by simulator, RTL parameters and a hash of the RTL sources and of the
tools that compile them (simulator, C++ compiler, cocotb, accelsim's build flags), so an edited
RTL file or an upgraded tool gets a fresh build. A successful build leaves a stamp with the size
and SHA-256 of the simulator's executable; a build whose executable does not match its stamp
(truncated by a full disk, a killed copy, a half-finished build) is not used but rebuilt.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
import subprocess
from pathlib import Path

from accelsim.hardware.rtl import CACHE_ENV as CACHE_ENV  # re-exported: callers name it through this module
from accelsim.hardware.rtl import cache_root
from accelsim.rtlsim.env import MAKE_VARS, TOPLEVEL, CosimError, verilator_bin

SIM_BUILD_ENV = "ACCELSIM_SIM_BUILD"
STAMP = "accelsim-build.json"
KEEP = ("runs",)  # what a rebuild leaves in place: run folders of jobs that may still be reading them


def sim_build_root() -> Path:
    """The folder that holds every build (not created here)."""
    value = os.environ.get(SIM_BUILD_ENV, "")
    if value:
        return Path(value).expanduser().absolute()
    return cache_root() / "sim_build"


def _source_var() -> str:
    return next((v for v in (SIM_BUILD_ENV, CACHE_ENV) if os.environ.get(v)), "the user cache directory")


def ensure_root(root: Path) -> Path:
    """Create ``root`` if needed; a file, or a folder this user cannot write, is one error line."""
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise CosimError(f"{_source_var()}: cannot create the build cache {root}: {e.strerror}") from None
    if not root.is_dir() or not os.access(root, os.W_OK | os.X_OK):
        raise CosimError(f"{_source_var()}: the build cache {root} is not a writable folder")
    return root


def _first_line(cmd: list[str]) -> str:
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"unavailable: {e}"
    return (r.stdout or r.stderr).strip().splitlines()[0] if (r.stdout or r.stderr).strip() else ""


def _package(name: str) -> str:
    try:
        version = importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        version = "?"
    spec = importlib.util.find_spec(name)
    return f"{version} at {Path(spec.origin).parent if spec and spec.origin else '?'}"


@functools.cache
def tool_versions(simulator: str) -> tuple[tuple[str, str], ...]:
    """What the build's output depends on besides the RTL: tool versions and locations, build flags."""
    tools = {"cocotb": _package("cocotb"), "flags": json.dumps(MAKE_VARS, sort_keys=True), "toplevel": TOPLEVEL}
    if simulator == "verilator":
        tools["verilator"] = f"{_package('verilator')} ({verilator_bin()})"
        tools["c++"] = _first_line(["c++", "--version"])
    else:
        tools[simulator] = _first_line(["iverilog", "-V"])
    return tuple(sorted(tools.items()))


def build_key(simulator: str, sources: list[Path], build_args: tuple[str, ...] = ()) -> str:
    """12 hex digits of SHA-256 over the RTL sources (names and bytes), ``tool_versions`` and any extra build
    arguments."""
    h = hashlib.sha256()
    if build_args:
        h.update(json.dumps(list(build_args)).encode())
    for path in sources:
        h.update(path.name.encode() + b"\0")
        h.update(path.read_bytes() + b"\0")
    h.update(json.dumps(tool_versions(simulator)).encode())
    return h.hexdigest()[:12]


def executable(simulator: str, build_dir: Path, toplevel: str = TOPLEVEL) -> Path:
    """The file a run executes: Verilator's model binary (named after ``toplevel``) or Icarus's ``sim.vvp``."""
    return build_dir / (toplevel if simulator == "verilator" else "sim.vvp")


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_stamp(simulator: str, build_dir: Path, key: str, toplevel: str = TOPLEVEL) -> None:
    """Record the executable's size and hash after a successful build (written atomically)."""
    exe = executable(simulator, build_dir, toplevel)
    if not exe.is_file():
        raise CosimError(f"{simulator} build in {build_dir} produced no {exe.name}")
    stamp = {"key": key, "executable": exe.name, "size": exe.stat().st_size, "sha256": _digest(exe)}
    tmp = build_dir / f".{STAMP}.{os.getpid()}"
    tmp.write_text(json.dumps(stamp, indent=1) + "\n")
    os.replace(tmp, build_dir / STAMP)


def stamp_ok(simulator: str, build_dir: Path, key: str, toplevel: str = TOPLEVEL) -> bool:
    """True when ``build_dir`` holds a finished build for ``key`` whose executable matches its stamp."""
    try:
        stamp = json.loads((build_dir / STAMP).read_text())
        exe = executable(simulator, build_dir, toplevel)
        return (stamp.get("key") == key and stamp.get("executable") == exe.name
                and exe.stat().st_size == stamp.get("size") and _digest(exe) == stamp.get("sha256"))
    except (OSError, ValueError, AttributeError):
        return False


def clear(build_dir: Path) -> None:
    """Remove a build that cannot be trusted (everything but ``KEEP``), so the next build starts clean."""
    if not build_dir.is_dir():
        return
    for child in build_dir.iterdir():
        if child.name in KEEP:
            continue
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
