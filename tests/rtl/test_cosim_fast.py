"""`accelsim cosim --harness fast`: a network through the fast harness from the command line (4x4, the CI build of
tests/rtl/test_harness.py), its JSON, exit codes and the flag's errors."""

from __future__ import annotations

import importlib
import json

import numpy as np
import pytest
from click.testing import CliRunner

import accelsim
import accelsim.rtlsim
from accelsim import columns
from accelsim.cli import main
from accelsim.cli.cosim import searched_network
from accelsim.mapping.folds import folds_for
from accelsim.rtlsim.gemm import network_shapes
from accelsim.rtlsim.session import cosim_config
from tests.rtl.common import contract_fold_cycles, contract_occupancy
from tests.test_columns import unknown_keys

pytestmark = pytest.mark.rtl
cosim_cli = importlib.import_module("accelsim.cli.cosim")  # the module (accelsim.cli.cosim is also the command)


def _run(*args):
    return CliRunner().invoke(main, ["cosim", *args], catch_exceptions=False)


def test_lenet5_through_the_fast_harness_by_default(monkeypatch):
    """Every GEMM of LeNet-5 (the default harness for --model) in three Verilator processes: the headline keys,
    tiles and cycles from the fold timing rule (one stop word a GEMM), GEMMs in the network's order."""
    monkeypatch.setattr(cosim_cli, "FAST_ESTIMATE_SECONDS", 0)
    r = _run("--model", "lenet5", "--array", "4x4", "--jobs", "3", "--format", "json", "--no-progress")
    assert r.exit_code == 0, r.output
    s = json.loads(r.stdout)
    assert s["ok"] and s["harness"] == "fast" and s["errors"] == [] and s["jobs"] == 3
    assert {"tiles", "rtl_cycles", "mismatches", "wall_s", "rtl_cycles_per_s"} <= set(s)
    cfg = cosim_config(4, 4, "ws")
    named = network_shapes("lenet5")
    assert [g["layer"] for g in s["gemms"]] == [name for name, *_ in named]
    assert s["tiles"] == sum(len(folds_for(cfg, m, k, n)) for _, m, k, n in named) == 3859
    # pipelined WS from the contract: each fold but the last occupies max(R, S_f), the last its whole F; + stop word
    want = 0
    for _, m, k, n in named:
        st = folds_for(cfg, m, k, n).st.tolist()
        want += sum(contract_occupancy("ws", 4, s_f, 0) for s_f in st[:-1]) + contract_fold_cycles("ws", 4, 4, st[-1])
        want += 1
    assert s["rtl_cycles"] == want
    assert s["mismatches"] == 0 and all(g["ok"] for g in s["gemms"])
    # every output of every layer also as int8 after the RTL's output stage, equal to the int8 forward's
    assert s["int8_outputs"] == sum(m * n for _, m, _, n in named) and s["wrong_int8"] == 0
    assert s["rtl_cycles_per_s"] == pytest.approx(s["rtl_cycles"] / s["wall_s"], rel=1e-3)
    assert "estimated" in r.stderr and "RTL cycles in 3 Verilator processes" in r.stderr


def test_gemm_under_a_given_mapping_and_a_wrong_reference_exits_1(monkeypatch):
    """--gemm with --harness fast runs --order/--chunk's mapping; a GEMM whose own reference is wrong fails (exit 1,
    one mismatch), as any difference from the golden does."""
    r = _run("--gemm", "9x7x10", "--array", "4x4", "--dataflow", "is", "--order", "m>n>k", "--chunk", "3",
             "--harness", "fast")
    assert r.exit_code == 0, r.output
    assert "IS m>n>k S=3" in r.stdout and "PASS" in r.stdout
    assert "tiles 24," in r.stdout  # k-tiles 2 x m-tiles 3 x N = 10 in chunks of 3: 4

    real = accelsim.rtlsim.random_gemm

    def off_by_one(*args, **kw):
        g = real(*args, **kw)
        g.reference = g.reference + np.eye(*g.reference.shape, dtype=np.int64)
        return g

    monkeypatch.setattr(accelsim.rtlsim, "random_gemm", off_by_one)
    r = _run("--gemm", "9x7x10", "--array", "4x4", "--harness", "fast", "--format", "json")
    assert r.exit_code == 1, r.output
    s = json.loads(r.stdout)
    assert not s["ok"] and s["mismatches"] == 1 and "own reference" in s["errors"][0]


@pytest.mark.parametrize("args, message", [
    (["--model", "lenet5", "--waves"], "--waves with --harness fast"),
    (["--gemm", "2x2x2", "--harness", "fast", "--golden", "tests.rtl.mutants:SkewOffByOneCore"], "--golden"),
    (["--model", "lenet5", "--simulator", "icarus"], "Verilator only"),
    (["--gemm", "2x2x2", "--harness", "fast", "--acc-bits", "24"], "needs DATA_W, ACC_W and OUT_W of 8, 16"),
    (["--gemm", "2x2x2", "--jobs", "2"], "--jobs"),
    (["--model", "lenet5", "--harness", "cycle", "--jobs", "2"], "--jobs"),
    (["--model", "lenet5", "--jobs", "0"], "--jobs"),
    (["--model", "lenet5", "--harness", "slow"], "--harness"),
])
def test_bad_harness_arguments_exit_2(args, message):
    r = _run(*args)
    assert r.exit_code == 2, r.output
    assert message in r.stderr and "Traceback" not in r.output


def test_lenet5_under_the_searched_mappings_through_the_fast_harness():
    """--mapper search with the fast harness: each GEMM runs its layer's searched mapping (OS, WS and IS in one
    run on 4x4 by cycles), values and output cycles equal to the fast model's."""
    r = _run("--model", "lenet5", "--array", "4x4", "--mapper", "search", "--objective", "cycles", "--format", "json",
             "--no-progress")
    assert r.exit_code == 0, r.output
    s = json.loads(r.stdout)
    chosen = searched_network(cosim_config(4, 4, "ws"), "lenet5", None, "cycles")
    ran = {g["layer"]: g["mapping"].split(" S=")[0] for g in s["gemms"]}
    assert ran == {name: f"{mp.dataflow.upper()} {'>'.join(mp.order or ())}" for name, mp in chosen.items()}
    assert {mp.dataflow for mp in chosen.values()} == {"os", "ws", "is"}
    assert s["ok"] and s["mismatches"] == 0 and s["wrong_int8"] == 0
    assert s["tiles"] == sum(g["folds"] for g in s["gemms"])


def test_api_runs_the_fast_harness_with_the_same_document():
    """accelsim.cosim(harness="fast") gives the CLI's document: every key in the vocabulary, the headline as totals;
    what the fast harness cannot do is one AccelsimError."""
    r = accelsim.cosim(gemm="9x7x10", array="4x4", dataflow="is", order="m>n>k", chunk=3, harness="fast")
    assert r.ok and "fast harness" in repr(r) and r.totals["tiles"] == 24 and r.totals["mismatches"] == 0
    assert list(r.totals) == list(columns.COSIM_HEADLINE)
    assert r.layers["mapping"].tolist() == ["IS m>n>k S=3"] and r.layers["wrong_int8"].tolist() == [0]
    assert not unknown_keys(json.loads(r.to_json()))
    with pytest.raises(accelsim.AccelsimError, match="waves with --harness fast"):
        accelsim.cosim(gemm="2x2x2", array="4x4", harness="fast", waves=True)
    with pytest.raises(accelsim.AccelsimError, match="harness: must be cycle or fast"):
        accelsim.cosim(gemm="2x2x2", harness="slow")
