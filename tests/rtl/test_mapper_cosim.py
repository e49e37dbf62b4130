"""`accelsim cosim --mapper search`: the RTL runs the mappings the search picks, bit- and cycle-exact."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from accelsim.cli import main
from accelsim.cli.cosim import searched_network
from accelsim.rtlsim.session import cosim_config

pytestmark = pytest.mark.rtl


def test_lenet5_under_the_searched_mappings():
    """LeNet-5 on 8x8 (an existing CI build) by cycles: the search leaves WS for some layers (OS, IS), every
    GEMM runs its layer's searched mapping, and the RTL matches the stepping model."""
    r = CliRunner().invoke(main, ["cosim", "--model", "lenet5", "--array", "8x8", "--harness", "cycle", "--mapper",
                                  "search", "--objective", "cycles", "--format", "json", "--no-progress"],
                           catch_exceptions=False)
    assert r.exit_code == 0, r.output
    s = json.loads(r.stdout)
    assert s["ok"] and s["totals"]["mismatched_folds"] == 0 and s["totals"]["wrong_int8"] == 0
    chosen = searched_network(cosim_config(8, 8, "ws", 32, True), "lenet5", None, "cycles")
    ran = {g["layer"]: g["mapping"].split(" S=")[0] for g in s["gemms"]}
    assert ran == {name: f"{mp.dataflow.upper()} {'>'.join(mp.order or ())}" for name, mp in chosen.items()}
    assert {mp.dataflow for mp in chosen.values()} != {"ws"}
