"""Energy of a design in `accelsim simulate` and the API: the static power comes from the design's area model,
leakage scales with time and area, a technology node scales by its documented factors, and the totals agree
with the layers and with each other (energy per inference x latency = EDP)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import accelsim
from accelsim.cli import main
from accelsim.energy.table import DEFAULT_TABLE, Technology
from accelsim.errors import AccelsimError
from accelsim.synth.area import area_breakdown

DYNAMIC = ("mac_pJ", "vector_pJ", "rf_pJ", "sram_pJ")


def test_simulate_prices_leakage_from_the_area_model():
    sim = accelsim.simulate("lenet5", array="8x8", batch=2)
    area = area_breakdown(sim.config)
    assert sim.area == area and area.leakage_mW == pytest.approx(area.logic_leakage_mW + area.sram_leakage_mW)
    layers, t = sim.layers, sim.totals
    # leakage_pJ = static power x the layer's time: mW x cycles / MHz x 1e3 = pJ
    assert layers["leakage_pJ"].tolist() == pytest.approx(
        (layers["cycles"] * area.leakage_mW * 1e3 / sim.config.clock_mhz).tolist())
    for c in ("mac_pJ", "dram_pJ", "leakage_pJ", "total_pJ"):
        assert t[c] == pytest.approx(layers[c].sum())
    assert t["energy_per_inference_uJ"] == pytest.approx(t["total_pJ"] / 1e6 / 2)
    assert t["edp_uJ_ms"] == pytest.approx(t["energy_per_inference_uJ"] * t["latency_ms"])
    assert t["pJ_per_mac"] == pytest.approx(t["total_pJ"] / t["macs"])
    e = sim.energy()  # the API's energy view prices the same design the same way
    assert e.totals["total_pJ"] == pytest.approx(t["total_pJ"])
    assert e.totals["leakage_pJ"] == pytest.approx(t["leakage_pJ"])
    # a bigger array leaks more (more cells), and a slower clock makes the same cycles leak longer
    big = accelsim.simulate("lenet5", array="16x16", batch=2)
    assert big.area.logic_leakage_mW > area.logic_leakage_mW
    slow = accelsim.simulate("lenet5", array="8x8", batch=2, clock_mhz=500)
    assert slow.totals["leakage_pJ"] == pytest.approx(2 * t["leakage_pJ"])


def test_a_technology_node_scales_the_energy_by_its_factors():
    base = accelsim.simulate("lenet5", array="8x8")
    at7 = accelsim.simulate("lenet5", array="8x8", tech_node_nm=7)
    tech = Technology(7)
    assert at7.technology == tech and at7.area.tech_node_nm == 7
    assert at7.totals["cycles"] == base.totals["cycles"]  # timing is the node's clock, not the node
    for c in DYNAMIC:
        assert at7.totals[c] == pytest.approx(base.totals[c] * tech.energy_factor)
    assert at7.totals["dram_pJ"] == pytest.approx(base.totals["dram_pJ"])  # off chip: not scaled
    assert at7.totals["leakage_pJ"] == pytest.approx(base.totals["leakage_pJ"] * tech.leakage_factor)
    assert at7.area.pe_area_mm2 == pytest.approx(base.area.pe_area_mm2 * tech.area_factor)
    assert at7.energy().table == tech.energy_table() != DEFAULT_TABLE
    with pytest.raises(AccelsimError, match="tech_node_nm"):
        accelsim.simulate("lenet5", array="8x8", tech_node_nm=22)


def _cli(*args):
    return CliRunner().invoke(main, list(args))


def test_simulate_cli_prints_and_exports_the_energy():
    r = _cli("simulate", "lenet5", "--array", "8x8", "--format", "json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    t = doc["totals"]
    for key in ("latency_ms", "energy_per_inference_uJ", "edp_uJ_ms", "pJ_per_mac", "area_mm2", "leakage_mW"):
        assert key in t, key
    assert t["edp_uJ_ms"] == pytest.approx(t["energy_per_inference_uJ"] * t["latency_ms"])
    assert t["total_pJ"] == pytest.approx(sum(row["total_pJ"] for row in doc["layers"]))
    assert doc["config"]["tech_node_nm"] == 45
    api = json.loads(accelsim.simulate("lenet5", array="8x8").to_json())
    assert api == doc
    table = _cli("simulate", "lenet5", "--array", "8x8", "--tech-node", "7")
    assert table.exit_code == 0, table.output
    assert "Energy " in table.stdout and "per inference" in table.stdout and "pJ/MAC" in table.stdout
    assert "EDP" in table.stdout and "leakage" in table.stdout and "Stillmaker" in table.stdout
    for bad in (["--tech-node", "22"], ["--tech-node", "7", "--convention", "scalesim"]):
        r = _cli("simulate", "lenet5", "--array", "8x8", *bad)
        assert r.exit_code == 2, (bad, r.output)
        assert len(r.stderr.strip().splitlines()) == 1 and r.stderr.startswith("accelsim: error:"), r.stderr
