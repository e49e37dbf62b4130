"""The package as a user installs it: a wheel (RTL inside, builds in the user cache) and an editable
install both co-simulate from outside the source tree; a corrupt cached build is rebuilt.

The wheel is built with ``--no-build-isolation`` (the environment's setuptools and ``wheel``, no
download) from a copy of the source tree, and installed without dependencies into a fresh venv
that sees the environment's packages (``--system-site-packages``). The run uses the same build
cache as every other test, so it builds nothing new when the 2x2 build is already there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from accelsim.rtlsim import build, cache, random_gemm
from accelsim.rtlsim.env import SOURCES, TOPLEVEL
from accelsim.rtlsim.harness import harness_sources
from tests.rtl.common import config, run_gemms

pytestmark = pytest.mark.rtl

ROOT = Path(__file__).resolve().parents[2]
NOT_SOURCE = ("sim_build*", ".git", "build", "dist", "*.egg-info", "__pycache__", ".venv", "venv", ".bench-venv",
              "reports", ".hypothesis", ".pytest_cache", ".ruff_cache", ".mypy_cache", "*.db")


def _run(cmd, cwd: Path, **kw) -> subprocess.CompletedProcess:
    # No PYTHONPATH: the venv's own accelsim must be the one imported.
    environ = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    r = subprocess.run([str(c) for c in cmd], cwd=cwd, env=environ, capture_output=True, text=True, timeout=1200,
                       check=False, **kw)
    assert r.returncode == 0, f"{cmd}: exit {r.returncode}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """A copy of the source tree (``accelsim/rtl`` stays a link), so builds write nothing into the checkout."""
    dest = tmp_path_factory.mktemp("src") / "accelsim-src"
    shutil.copytree(ROOT, dest, symlinks=True, ignore=shutil.ignore_patterns(*NOT_SOURCE))
    return dest


def _venv(path: Path) -> Path:
    _run([sys.executable, "-m", "venv", "--system-site-packages", path], cwd=path.parent)
    return path / "bin" / "python"


@pytest.mark.slow
def test_wheel_carries_the_rtl_and_cosimulates_outside_the_source_tree(source, tmp_path):
    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", dist, source],
         cwd=tmp_path)
    (wheel,) = dist.glob("accelsim-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {f"accelsim/rtl/{s}" for s in SOURCES} <= names
    assert {f"accelsim/rtl/{p.relative_to(p.parents[1]).as_posix()}" for p in harness_sources()[-2:]} <= names
    assert "accelsim/py.typed" in names and any(n.endswith(".dist-info/LICENSE") for n in names)
    assert not any("sim_build" in n for n in names)

    python = _venv(tmp_path / "venv")
    _run([python, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--ignore-installed", wheel], cwd=tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    probe = "import accelsim, accelsim.rtlsim.env as e; print(accelsim.__file__); print(e.rtl_sources()[0])"
    where = _run([python, "-c", probe], cwd=work).stdout.split()
    site = (tmp_path / "venv").resolve()
    assert all(Path(p).resolve().is_relative_to(site) for p in where), where

    r = _run([tmp_path / "venv" / "bin" / "accelsim", "cosim", "--gemm", "5x7x3", "--array", "2x2"], cwd=work)
    assert "PASS" in r.stdout
    assert not list(site.rglob("sim_build")) and not list(work.iterdir()), "builds go to the user cache"


def test_editable_install_finds_the_rtl(source, tmp_path):
    python = _venv(tmp_path / "venv")
    _run([python, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "-e", source], cwd=tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    probe = "import accelsim, accelsim.rtlsim.env as e; print(accelsim.__file__); print(*e.rtl_sources())"
    where = _run([python, "-c", probe], cwd=work).stdout.split()
    assert Path(where[0]).resolve().is_relative_to(source.resolve()), where
    assert [Path(p).resolve() for p in where[1:]] == [(source / "rtl" / s).resolve() for s in SOURCES]


def test_a_truncated_simulator_binary_in_the_cache_is_rebuilt(tmp_path, monkeypatch):
    """Before the stamp, a truncated binary was used forever ("ended without results (-11)")."""
    cfg = config((1, 1, 32))
    shared = build("verilator", cfg.rtl_parameters())
    root = tmp_path / "sim_build"
    root.mkdir()
    if (shared.parent / ".objcache").is_dir():  # the compiled Verilator runtime: keeps the rebuild short
        (root / ".objcache").symlink_to(shared.parent / ".objcache")
    copy = root / shared.name
    shutil.copytree(shared, copy, ignore=shutil.ignore_patterns("runs"))
    exe = copy / TOPLEVEL
    exe.write_bytes(exe.read_bytes()[: exe.stat().st_size // 2])
    key = shared.name.rsplit("-", 1)[1]
    assert not cache.stamp_ok("verilator", copy, key)

    monkeypatch.setenv(cache.SIM_BUILD_ENV, str(root))
    g = random_gemm(cfg, 3, 4, 5, seed=1)
    result, checks, _ = run_gemms(cfg, [(g, "ws")], tmp_path)
    assert result.ok and all(c.ok for c in checks)
    assert cache.stamp_ok("verilator", copy, key) and exe.stat().st_size == (shared / TOPLEVEL).stat().st_size
