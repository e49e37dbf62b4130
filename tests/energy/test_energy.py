"""The energy table (documented sources, interpolation, overrides) and the per-level energy model."""

import math

import pandas as pd
import pytest

from accelsim.energy import DEFAULT_TABLE, ENERGY_COLUMNS, EnergyTable, layer_energy, network_energy
from accelsim.energy.model import bank_kib
from accelsim.energy.table import EnergyError
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
