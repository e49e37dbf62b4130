#!/usr/bin/env bash
# Create .bench-venv: the SCALE-Sim benchmark's own environment (git-ignored).
#
# SCALE-Sim 3.0.0 (PyPI `scalesim`) crashes with numpy 2.4 at the end of a layer, and accelsim runs
# on numpy 2.4, so SCALE-Sim lives in its own venv and benchmarks/bench_scalesim.py calls it through
# a subprocess. Usage, from anywhere:
#
#     benchmarks/scalesim_env.sh            # creates <repo>/.bench-venv (or updates it)
#     BENCH_VENV=/tmp/v benchmarks/scalesim_env.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${BENCH_VENV:-$root/.bench-venv}"
python="${PYTHON:-python3}"

"$python" -m venv "$venv"
"$venv/bin/pip" install --quiet --upgrade pip
"$venv/bin/pip" install --quiet "scalesim==3.0.0" "numpy<2.4"
"$venv/bin/python" - <<'PY'
from importlib.metadata import version
import numpy
print(f"scalesim {version('scalesim')}, numpy {numpy.__version__}")
assert tuple(int(x) for x in numpy.__version__.split(".")[:2]) < (2, 4), "SCALE-Sim 3.0.0 needs numpy < 2.4"
PY
echo "ready: $venv"
