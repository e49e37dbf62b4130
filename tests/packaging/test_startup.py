"""Start-up: heavy libraries are imported only by the commands that use them (checked, not timed;
the timing is ``benchmarks/bench_startup.py``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("pandas", "pyarrow", "matplotlib", "dask", "distributed", "cocotb", "onnx", "onnxruntime", "sklearn")

PROBE = """
import json, runpy, sys
args, heavy = json.loads(sys.argv[1]), set(json.loads(sys.argv[2]))
sys.argv = ["accelsim", *args]
code = 0
try:
    runpy.run_module("accelsim", run_name="__main__")
except SystemExit as e:
    code = e.code
loaded = sorted({m.split(".")[0] for m in sys.modules} & heavy)
print(json.dumps({"code": code, "loaded": loaded}), file=sys.stderr)
"""


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}


def _heavy_after(*args: str) -> tuple[object, list[str]]:
    """Run ``accelsim ARGS`` in a fresh interpreter; (exit code, heavy top-level modules it imported)."""
    r = subprocess.run([sys.executable, "-c", PROBE, json.dumps(list(args)), json.dumps(HEAVY)],
                       capture_output=True, text=True, env=_env(), cwd=ROOT, timeout=300, check=False)
    report = json.loads(r.stderr.strip().splitlines()[-1])
    return report["code"], report["loaded"]


def test_importing_the_package_and_cli_loads_no_heavy_library():
    code = (f"import sys, accelsim, accelsim.cli; print(sorted({{m.split('.')[0] for m in sys.modules}} & "
            f"{set(HEAVY)!r}))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env(), cwd=ROOT,
                       timeout=300, check=True)
    assert r.stdout.strip() == "[]", r.stdout


def test_version_loads_no_heavy_library():
    assert _heavy_after("--version") == (0, [])


def test_simulate_loads_neither_plotting_nor_dask_nor_arrow_nor_cocotb():
    code, loaded = _heavy_after("simulate", "vgg16", "--array", "32x32")
    assert code in (0, None)
    assert not set(loaded) & {"matplotlib", "dask", "distributed", "pyarrow", "cocotb"}, loaded
    assert "pandas" not in loaded, "the simulate table is rendered from plain rows"
    assert "onnx" not in loaded, "onnx is imported only to read an .onnx file"


def test_every_command_s_help_loads_no_heavy_library():
    for command in ("models", "profile", "simulate", "cosim", "sweep", "export", "report", "area"):
        assert _heavy_after(command, "--help") == (0, []), command
    assert _heavy_after("demo", "digits", "--help") == (0, [])  # scikit-learn only when it runs
