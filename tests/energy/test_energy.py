"""The energy table (documented sources, interpolation, overrides) and the per-level energy model."""

import math

import pandas as pd
import pytest

from accelsim.energy import DEFAULT_TABLE, ENERGY_COLUMNS, EnergyTable, layer_energy, network_energy
from accelsim.energy.model import bank_kib, energy_arrays
from accelsim.energy.table import TECH_NODES_NM, EnergyError, Technology
from accelsim.hardware.config import ArrayConfig


def test_default_table_is_the_documented_one():
    t = DEFAULT_TABLE
    assert t.mac_pJ == pytest.approx(0.2 + 0.1)  # Horowitz: int8 mult + int32 add
    assert t.rf_pJ_per_byte == pytest.approx(t.mac_pJ / 2)  # Eyeriss: RF access = 1 MAC per 16-bit word
    assert t.dram_pJ_per_byte == pytest.approx(1300 / 8, rel=0.02)  # 1.3 nJ per 64-bit access
    for kib, pj_per_64bit in ((8, 10), (32, 20), (1024, 100)):
        assert t.sram_cost(kib) == pytest.approx(pj_per_64bit / 8)


def test_sram_cost_interpolates_log_log_and_clamps_below():
    t = DEFAULT_TABLE
    assert t.sram_cost(16) == pytest.approx(math.sqrt(1.25 * 2.5))  # geometric midpoint of 8 and 32 KiB
    assert t.sram_cost(1) == t.sram_cost(8) == 1.25
    sizes = [1, 4, 8, 12, 32, 100, 256, 1024, 4096]
    costs = [t.sram_cost(k) for k in sizes]
    assert costs == sorted(costs)
    slope = math.log(12.5 / 2.5) / math.log(1024 / 32)
    assert t.sram_cost(4096) == pytest.approx(12.5 * 4**slope)


def test_overrides_replace_only_their_keys():
    t = EnergyTable.from_mapping({"dram_pJ_per_byte": 100, "sram_pJ_per_byte": {64: 3}})
    assert t.dram_pJ_per_byte == 100.0 and t.mac_pJ == DEFAULT_TABLE.mac_pJ
    assert t.sram_cost(1) == t.sram_cost(4096) == 3.0
    assert t.to_dict()["sram_pJ_per_byte"] == [[64.0, 3.0]]


@pytest.mark.parametrize("doc, key", [
    ({"dram_pj": 1}, "dram_pj"),
    ({"mac_pJ": -1}, "mac_pJ"),
    ({"mac_pJ": "big"}, "mac_pJ"),
    ({"sram_pJ_per_byte": {}}, "sram_pJ_per_byte"),
    ({"sram_pJ_per_byte": 5}, "sram_pJ_per_byte"),
])
def test_bad_overrides_name_the_key(doc, key):
    with pytest.raises(EnergyError) as e:
        EnergyTable.from_mapping(doc)
    assert e.value.key == key and key in str(e.value)


def test_layer_energy_by_hand():
    cfg = ArrayConfig(rows=4, cols=4, ifmap_sram_kib=16, filter_sram_kib=64, ofmap_sram_kib=8, double_buffer=True)
    assert (bank_kib(cfg, "ifmap"), bank_kib(cfg, "filter"), bank_kib(cfg, "ofmap")) == (8, 32, 4)
    t = EnergyTable(mac_pJ=1, vector_op_pJ=0.25, rf_pJ_per_byte=0.5, sram_pJ_per_byte=((8, 1), (32, 2)),
                    dram_pJ_per_byte=100)
    layers = pd.DataFrame([
        {"macs": 10, "vector_ops": 0, "ifmap_sram_reads": 3, "ifmap_sram_writes": 2, "filter_sram_reads": 5,
         "filter_sram_writes": 1, "ofmap_sram_writes": 2, "ofmap_sram_reads": 1, "dram_read_bytes": 7,
         "dram_write_bytes": 8},
        {"macs": 0, "vector_ops": 12, "dram_read_bytes": 20, "dram_write_bytes": 5},  # a pooling layer
    ]).fillna(0)
    e = layer_energy(layers, cfg, t)
    conv, pool = e.iloc[0], e.iloc[1]
    assert conv["mac_pJ"] == 10 and conv["vector_pJ"] == 0
    assert conv["rf_pJ"] == 10 * (2 * 1 + 2 * 4) * 0.5
    # banks: ifmap 8 KiB -> 1 pJ/B, filter 32 KiB -> 2 pJ/B, ofmap 4 KiB -> 1 pJ/B (below the first anchor)
    array_side = (3 + 2) * 1 * 1 + (5 + 1) * 1 * 2 + (2 + 1) * 4 * 1
    ofmap_dram_side = 8 * 1  # the bytes written to DRAM are read out of the ofmap SRAM
    assert conv["sram_pJ"] == array_side + ofmap_dram_side
    assert conv["dram_pJ"] == (7 + 8) * 100
    assert conv["total_pJ"] == pytest.approx(conv[list(ENERGY_COLUMNS[:-1])].sum())
    assert (pool["mac_pJ"], pool["vector_pJ"], pool["rf_pJ"], pool["sram_pJ"]) == (0, 3, 0, 0)
    assert pool["dram_pJ"] == 25 * 100
    tot = network_energy(layers, cfg, t)
    assert set(tot) == set(ENERGY_COLUMNS) and tot["total_pJ"] == pytest.approx(e["total_pJ"].sum())


def test_single_buffered_sram_is_one_bank():
    cfg = ArrayConfig(rows=4, cols=4, ifmap_sram_kib=16, double_buffer=False)
    assert bank_kib(cfg, "ifmap") == 16


# ---- technology node ----------------------------------------------------------------------------

def test_technology_nodes_follow_stillmaker_and_baas():
    """The factors are the paper's fits at each node's nominal supply, by hand for 7 nm and 32 nm; the documented
    rounded values for the rest; 45 nm is the identity."""
    e45 = 1.018 * 1.0**2 - 0.3107 * 1.0 + 0.1539
    p45 = 5462 * 1.0**2 - 1760 * 1.0 + 522.4
    t7 = Technology(7)
    assert t7.area_factor == 0.059
    assert t7.energy_factor == pytest.approx((0.1776 * 0.7**2 - 0.09097 * 0.7 + 0.02447) / e45)
    assert t7.leakage_factor == pytest.approx((1179 * 0.7**2 - 515.7 * 0.7 + 123.4) / p45)
    assert Technology(32).energy_factor == pytest.approx((0.8367 * 0.81 - 0.4341 * 0.9 + 0.1701) / e45)
    documented = {32: (0.46, 0.531, 0.524), 20: (0.21, 0.233, 0.357), 16: (0.19, 0.161, 0.234),
                  14: (0.17, 0.112, 0.157), 10: (0.1, 0.0816, 0.118), 7: (0.059, 0.0555, 0.0805)}
    for node, (a, e, p) in documented.items():
        t = Technology(node)
        assert (t.area_factor, t.energy_factor, t.leakage_factor) == pytest.approx((a, e, p), rel=5e-3)  # 3 digits
    nodes = sorted(TECH_NODES_NM, reverse=True)
    for f in ("area_factor", "energy_factor"):  # smaller node, smaller figures
        values = [getattr(Technology(n), f) for n in nodes]
        assert values == sorted(values, reverse=True)
    t45 = Technology()
    assert (t45.area_factor, t45.energy_factor, t45.leakage_factor) == (1.0, 1.0, 1.0)
    assert t45.energy_table() is DEFAULT_TABLE


def test_technology_scales_on_chip_energy_and_keeps_dram():
    t = Technology(14)
    f = t.energy_factor
    table = t.energy_table()
    assert table.mac_pJ == pytest.approx(DEFAULT_TABLE.mac_pJ * f)
    assert table.vector_op_pJ == pytest.approx(DEFAULT_TABLE.vector_op_pJ * f)
    assert table.rf_pJ_per_byte == pytest.approx(DEFAULT_TABLE.rf_pJ_per_byte * f)
    for kib in (1, 8, 100, 4096):
        assert table.sram_cost(kib) == pytest.approx(DEFAULT_TABLE.sram_cost(kib) * f)
    assert table.dram_pJ_per_byte == DEFAULT_TABLE.dram_pJ_per_byte  # off-chip: not the accelerator's node
    custom = EnergyTable.from_mapping({"mac_pJ": 1.0})
    assert t.energy_table(custom).mac_pJ == pytest.approx(f)


@pytest.mark.parametrize("node", [22, 0, "7", 7.0, True, None])
def test_a_node_without_figures_is_one_line_naming_the_field(node):
    with pytest.raises(EnergyError) as e:
        Technology(node)
    assert e.value.key == "tech_node_nm" and "\n" not in str(e.value) and "45, 32, 20, 16, 14, 10, 7" in str(e.value)


# ---- leakage ------------------------------------------------------------------------------------

def test_leakage_is_static_power_times_time():
    """leakage_pJ = leakage_mW x cycles / clock: 500 mW for 2,000 cycles at 1 GHz is 1 uJ."""
    cfg = ArrayConfig(rows=4, cols=4, clock_mhz=1000)
    layers = pd.DataFrame([{"macs": 10, "cycles": 2000}, {"macs": 0, "cycles": 500}])
    e = energy_arrays(layers, 2, cfg, DEFAULT_TABLE, leakage_mW=500.0)
    assert e["leakage_pJ"].tolist() == pytest.approx([1e6, 0.25e6])
    assert e["total_pJ"] == pytest.approx(energy_arrays(layers, 2, cfg)["total_pJ"] + e["leakage_pJ"])
    slow = energy_arrays(layers, 2, ArrayConfig(rows=4, cols=4, clock_mhz=500), DEFAULT_TABLE, leakage_mW=500.0)
    assert slow["leakage_pJ"] == pytest.approx(2 * e["leakage_pJ"])  # the same cycles take twice the time
