"""The build cache: where it is, how a build is keyed, and that a corrupt build is never used."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import pytest

from accelsim.rtlsim import cache, env
from accelsim.rtlsim.env import SOURCES, CosimError, simulator_missing

ROOT = Path(__file__).resolve().parents[2]


def test_rtl_sources_are_package_data_found_through_importlib_resources():
    assert Path(str(files("accelsim").joinpath("rtl"))) == env.RTL_DIR
    assert [p.name for p in env.rtl_sources()] == list(SOURCES)
    assert all(p.read_text().lstrip().startswith(("//", "`", "module")) for p in env.rtl_sources())


def test_py_typed_and_license_exist():
    assert files("accelsim").joinpath("py.typed").is_file()
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text and "END OF TERMS AND CONDITIONS" in text
    assert 'license = { text = "Apache-2.0" }' in (ROOT / "pyproject.toml").read_text()


def test_cache_root_from_the_variables_and_the_user_cache(monkeypatch, tmp_path):
    monkeypatch.delenv(cache.SIM_BUILD_ENV, raising=False)
    monkeypatch.delenv(cache.CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    if sys.platform.startswith("linux"):
        assert cache.sim_build_root() == tmp_path / "xdg" / "accelsim" / "sim_build"
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "c"))
    assert cache.sim_build_root() == tmp_path / "c" / "sim_build"
    monkeypatch.setenv(cache.SIM_BUILD_ENV, str(tmp_path / "old"))  # the older variable still wins
    assert cache.sim_build_root() == tmp_path / "old"
    monkeypatch.setenv(cache.SIM_BUILD_ENV, "")  # empty means unset
    assert cache.sim_build_root() == tmp_path / "c" / "sim_build"


def test_the_default_cache_is_outside_the_source_tree_and_site_packages(monkeypatch):
    monkeypatch.delenv(cache.SIM_BUILD_ENV, raising=False)
    monkeypatch.delenv(cache.CACHE_ENV, raising=False)
    root = cache.sim_build_root().resolve()
    package = Path(str(files("accelsim"))).resolve()
    assert not root.is_relative_to(ROOT) and not root.is_relative_to(package.parent)


def test_a_bad_cache_root_is_one_error(monkeypatch, tmp_path):
    a_file = tmp_path / "file"
    a_file.write_text("x")
    monkeypatch.delenv(cache.SIM_BUILD_ENV, raising=False)
    monkeypatch.setenv(cache.CACHE_ENV, str(a_file))
    with pytest.raises(CosimError, match=r"^ACCELSIM_CACHE_DIR: cannot create the build cache .*file/sim_build"):
        cache.ensure_root(cache.sim_build_root())
    with pytest.raises(CosimError, match=r"ACCELSIM_CACHE_DIR: cannot create the build cache .*file: File exists"):
        cache.ensure_root(a_file)
    monkeypatch.setattr(cache.os, "access", lambda path, mode: False)  # root may write anywhere: pretend
    with pytest.raises(CosimError, match=r"ACCELSIM_CACHE_DIR: the build cache .* is not a writable folder"):
        cache.ensure_root(tmp_path)


def test_the_key_follows_the_rtl_sources(tmp_path):
    copy = tmp_path / "rtl"
    shutil.copytree(env.RTL_DIR, copy)
    sources = [copy / name for name in SOURCES]
    key = cache.build_key("verilator", sources)
    assert key == cache.build_key("verilator", list(env.rtl_sources())) and len(key) == 12
    pe = copy / "systolic_pe.v"
    pe.write_text(pe.read_text() + "\n// an edit\n")
    assert cache.build_key("verilator", sources) != key
    assert cache.build_key("icarus", sources) != cache.build_key("verilator", sources)


def test_the_build_folder_is_named_by_parameters_and_key(monkeypatch, tmp_path):
    from accelsim.rtlsim.build import build_dir

    params = {"ROWS": 2, "COLS": 3, "DATA_W": 8, "ACC_W": 32, "OUT_W": 8}
    key = cache.build_key("verilator", env.rtl_sources())
    assert build_dir("verilator", params, tmp_path) == tmp_path / f"verilator-r2c3-d8-a32-o8-{key}"


def _fake_build(tmp_path: Path) -> Path:
    out = tmp_path / "verilator-r1c1-d8-a32-0123456789ab"
    (out / "runs" / "job-1").mkdir(parents=True)
    (out / env.TOPLEVEL).write_bytes(os.urandom(4096))
    (out / "Vtop.mk").write_text("all:\n")
    return out


def test_a_stamp_accepts_only_the_executable_it_was_written_for(tmp_path):
    out = _fake_build(tmp_path)
    assert not cache.stamp_ok("verilator", out, "k1"), "no stamp: an unfinished build"
    cache.write_stamp("verilator", out, "k1")
    assert json.loads((out / cache.STAMP).read_text())["size"] == 4096
    assert cache.stamp_ok("verilator", out, "k1")
    assert not cache.stamp_ok("verilator", out, "k2"), "another key"
    exe = out / env.TOPLEVEL
    data = exe.read_bytes()
    exe.write_bytes(data[:1000])  # truncated
    assert not cache.stamp_ok("verilator", out, "k1")
    exe.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # same size, one bit off
    assert not cache.stamp_ok("verilator", out, "k1")
    (out / cache.STAMP).write_text("{not json")
    assert not cache.stamp_ok("verilator", out, "k1")


def test_clearing_a_build_keeps_the_run_folders(tmp_path):
    out = _fake_build(tmp_path)
    cache.clear(out)
    assert sorted(p.name for p in out.iterdir()) == ["runs"] and (out / "runs" / "job-1").is_dir()


@pytest.mark.skipif(simulator_missing("verilator") is not None, reason=f"{simulator_missing('verilator')}")
@pytest.mark.parametrize("var", [cache.CACHE_ENV, cache.SIM_BUILD_ENV])
def test_cli_refuses_a_bad_cache_variable_in_one_line(var, tmp_path):
    a_file = tmp_path / "file"
    a_file.write_text("x")
    environ = {k: v for k, v in os.environ.items() if k not in (cache.CACHE_ENV, cache.SIM_BUILD_ENV)}
    environ[var] = str(a_file)
    r = subprocess.run([sys.executable, "-m", "accelsim", "cosim", "--gemm", "2x2x2", "--array", "1x1"],
                       capture_output=True, text=True, cwd=ROOT, env=environ, timeout=120, check=False)
    lines = [line for line in r.stderr.splitlines() if line.startswith("accelsim:")]
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert len(lines) == 1 and lines[0].startswith(f"accelsim: error: {var}: cannot create the build cache"), r.stderr
