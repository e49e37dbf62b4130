"""Co-simulation of the Verilog RTL (package data ``accelsim/rtl``) against the Python stepping model under cocotb.

- ``env``: where the RTL is and the environment the simulators need (set up here, never by the user).
- ``build``: one simulator build per (simulator, RTL parameter set, RTL/tool hash), locked.
- ``cache``: the per-user build cache (location, keys, the stamp that catches a corrupt build).
- ``job``: what crosses into the simulator's Python (``Job``) and back (``JobResult``).
- ``tb``: the cocotb testbench (driver, monitor, model, checker), the output stage's int8 rows included.
- ``stage_tb``: the cocotb unit testbench of ``output_stage`` alone.
- ``run``: ``run_job`` launches one simulation for a whole list of folds.
- ``harness`` / ``harness_tb``: the fast harness (``rtl/tb/harness_top.v``): beats played from a memory inside
  the simulator, output rows captured with their cycles and checked against the fast model.
- ``gemm``: GEMMs and network layers as jobs; reassembly of C and the per-GEMM verdict.
- ``waves``: the model's VCD with the RTL's signal names.
- ``session``: ``run_cosim``, one run from GEMMs to the summary (the CLI's JSON, ``accelsim.cosim()``'s result).

``accelsim.cosim(...)`` (the Python API) and ``accelsim cosim`` (the command) drive this package.
"""

from accelsim.rtlsim.build import build, build_dir
from accelsim.rtlsim.env import SIMULATORS, CosimError, setup_env, simulator_missing
from accelsim.rtlsim.gemm import Gemm, GemmCheck, check_gemms, gemm_folds, make_gemm, network_gemms, random_gemm
from accelsim.rtlsim.job import DEFAULT_MODEL, FoldResult, Job, JobResult
from accelsim.rtlsim.run import run_job

__all__ = [
    "DEFAULT_MODEL", "SIMULATORS", "CosimError", "FoldResult", "Gemm", "GemmCheck", "Job", "JobResult", "build",
    "build_dir", "check_gemms", "gemm_folds", "make_gemm", "network_gemms", "random_gemm", "run_job",
    "setup_env", "simulator_missing",
]
