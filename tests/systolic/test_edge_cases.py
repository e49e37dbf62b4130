"""Regressions found by trying to break `accelsim simulate` as a user would (in process, fast)."""

import json

import numpy as np
import pytest
from click.testing import CliRunner
from rich.cells import cell_len

from accelsim.cli import main
from accelsim.compat.scalesim import scalesim_simulation
from accelsim.errors import AccelsimError
from accelsim.hardware.config import ArrayConfig, ConfigError
from accelsim.mapping.folds import folds_for
from accelsim.report.simulate_view import render_scalesim
from accelsim.systolic.simulate import MAX_CYCLES, MAX_FOLDS, cycle_bound, fold_count, simulate
from accelsim.workload import zoo
from accelsim.workload.gemm import gemm_shape
from accelsim.workload.layers import Conv2d, Linear
from accelsim.workload.network import Network


def cli(*args):
    r = CliRunner().invoke(main, [str(a) for a in args])
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    return r


def one_line_error(r, *words):
    assert r.exit_code == 2, (r.exit_code, r.stdout, r.stderr)
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.startswith("accelsim: error: ") and all(w in r.stderr for w in words), r.stderr


def test_total_ideal_cycles_is_the_sum_of_the_layers():
    # lenet5 at batch 3 on 16x8: sum of per-layer ceil(MACs / PEs) is 9,764, ceil(all MACs / PEs) 9,763.
    sim = simulate(zoo.get("lenet5"), ArrayConfig(rows=16, cols=8), batch=3)
    d, t = sim.layers, sim.totals
    assert t["ideal_cycles"] == d["ideal_cycles"].sum() == 9764
    assert t["ideal_cycles"] != -(-t["macs"] // 128)
    assert t["cycles"] >= t["ideal_cycles"]


@pytest.mark.parametrize("bandwidth", ["1e-9", "0.0009", "1e300", "5e9"])
def test_bandwidth_out_of_range_is_one_line(bandwidth):
    # 1e-9 divided by zero (the exact fraction rounded to 0), 1e300 overflowed int64: both tracebacks.
    one_line_error(cli("simulate", "lenet5", "--bandwidth", bandwidth), "bandwidth", "1/1024")


def test_bandwidth_range_is_exact_at_its_ends():
    # 1e-5 used to be priced as 1/65536 (35% off) without a word; the range keeps the fraction exact.
    for bw in (2.0 ** -10, 0.001, 2.0 ** 32):
        cfg = ArrayConfig(bandwidth=bw)
        assert abs(float(cfg.bandwidth_fraction) - bw) <= 1e-5 * bw
    with pytest.raises(ConfigError, match="bandwidth"):
        ArrayConfig(bandwidth=1e-5)
    slow = simulate(zoo.get("lenet5"), ArrayConfig(bandwidth=0.001)).totals
    assert slow["stall_cycles"] > 1000 * slow["compute_cycles"] and 0 < slow["utilization"] < 1e-3


def test_fold_count_matches_the_enumeration():
    for dataflow in ("os", "ws", "is"):
        for rows, cols, sram in ((1, 1, 1), (3, 5, 0.25), (7, 1, 4), (32, 32, 128)):
            cfg = ArrayConfig(rows=rows, cols=cols, dataflow=dataflow, ofmap_sram_kib=sram)
            for m, k, n in ((1, 7, 5), (121, 18, 3), (3000, 40, 70)):
                assert fold_count(cfg, m, k, n, 3) == 3 * len(folds_for(cfg, m, k, n))


def test_a_layer_too_big_to_simulate_is_one_line_not_a_memory_error():
    # 3x100000x100000 conv: 6e10 folds; numpy raised _ArrayMemoryError (455 GiB) with a traceback. The fast
    # engine's timing now works on runs of folds and simulates it; per-fold arrays (output cycles, stepping)
    # are still refused before any work.
    net = Network.sequential("big", (3, 100_000, 100_000), [Conv2d("conv", 3, 100_000, 3)])
    timed = simulate(net, ArrayConfig()).totals
    assert timed["folds"] == 61_032_715_625 and timed["cycles"] >= timed["ideal_cycles"] > 2 * 10 ** 13
    for check, engine in ((True, "fast"), (False, "stepping")):
        with pytest.raises(AccelsimError, match=r"layer 'conv'.*61,032,715,625 folds.*fold arrays"):
            simulate(net, ArrayConfig(), check=check, engine=engine)
    assert fold_count(ArrayConfig(), 9_999_600_004, 27, 100_000) > MAX_FOLDS
    huge = Network.sequential("huge", (10 ** 12, 1, 1), [Linear("fc", 10 ** 12, 10 ** 12)])
    with pytest.raises(AccelsimError, match="folds"):
        simulate(huge, ArrayConfig(rows=1, cols=1))


def test_numbers_are_never_truncated_in_the_table(tmp_path):
    # A long layer name made rich cut every number to "7,078,7…"; now only the name column folds.
    model = tmp_path / "long.yaml"
    model.write_text(
        "name: a_network_name_long_enough_to_wrap_the_title_of_the_table_over_more_than_one_line_of_output\n"
        "input_shape: [3, 64, 64]\nlayers:\n"
        "  - {type: conv2d, name: features_block1_convolution_number_one_with_a_long_name, in_channels: 3,"
        " out_channels: 64, kernel_size: 3, padding: 1}\n"
        "  - {type: relu, name: ünïcødé_rélu_层}\n  - {type: flatten}\n"
        "  - {type: linear, in_features: 262144, out_features: 10}\n")
    r = cli("simulate", model, "--batch", 1000, "--array", "1x1", "--no-on-chip", "--no-pipeline")  # the numbers below
    assert r.exit_code == 0, r.stderr
    assert "…" not in r.stdout
    assert max(cell_len(line) for line in r.stdout.splitlines()) <= 100
    for number in ("7,078,754,049", "9,967,581,055", "4096000x27x64", "1000x262144x10", "3,053,440", "7,340.03"):
        assert number in r.stdout


def test_scalesim_notes_fit_100_columns():
    r = cli("simulate", "alexnet", "--convention", "scalesim")
    assert r.exit_code == 0, r.stderr
    assert max(cell_len(line) for line in r.stdout.splitlines()) <= 100


def test_scalesim_json_is_valid_json_and_csv_keeps_integers():
    net, cfg = zoo.get("alexnet"), ArrayConfig()
    layers, totals = scalesim_simulation(net, cfg, 1)
    assert layers["dram_read_bytes"].isna().any()  # SCALE-Sim leaves some undefined
    text = render_scalesim(layers, totals, cfg, "json")
    assert "NaN" not in text
    doc = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    values = [row["dram_read_bytes"] for row in doc["layers"]]
    assert None in values and all(v is None or isinstance(v, int) for v in values)
    csv = render_scalesim(layers, totals, cfg, "csv").splitlines()
    col = csv[0].split(",").index("dram_read_bytes")
    cells = [line.split(",")[col] for line in csv[1:]]
    assert "" in cells and all(c == "" or c.isdigit() for c in cells), cells
    assert np.isnan(layers["dram_read_bytes"]).any()  # the caller's frame is left as it was


def test_scalesim_table_shows_the_groups_it_summed():
    # A grouped conv's folds and cycles are summed over its groups; the GEMM column hid the groups.
    net = Network.sequential("g", (4, 9, 9), [Conv2d("conv", 4, 6, 3, padding=1, groups=2)])
    cfg = ArrayConfig()
    layers, totals = scalesim_simulation(net, cfg, 1)
    table = render_scalesim(layers, totals, cfg, "table")
    assert "2x(81x18x3)" in table


def test_int64_overflow_is_refused_not_silent():
    # 6e6 images through one 1024x1024 fold group: a fold's bytes x the bandwidth's denominator
    # (65041) passed 2^63 in fast.transfer_cycles and the cycles came out silently wrong.
    # SRAMs of 1e12 KiB and batch 6e6 are now refused by the ranges themselves; the overflow is still
    # reachable inside them (2^20 images of 64x2048x2048, 2^30 KiB SRAMs, the slowest DRAM).
    with pytest.raises(ConfigError, match="ifmap_sram_kib"):
        ArrayConfig(rows=1024, cols=1024, ifmap_sram_kib=1e12, filter_sram_kib=1e12, ofmap_sram_kib=1e12)
    with pytest.raises(AccelsimError, match="batch"):
        simulate(Network.sequential("c", (64, 224, 224), [Conv2d("conv1_2", 64, 64, 3, padding=1)]),
                 ArrayConfig(), batch=6_000_000)
    big = Network.sequential("c", (64, 2048, 2048), [Conv2d("conv1_2", 64, 64, 3, padding=1)])
    cfg = ArrayConfig(rows=1024, cols=1024, ifmap_sram_kib=2 ** 30, filter_sram_kib=2 ** 30, ofmap_sram_kib=2 ** 30,
                      bandwidth=2 ** -10)
    with pytest.raises(AccelsimError, match="overflow 64-bit"):
        simulate(big, cfg, batch=2 ** 20)
    net = Network.sequential("c", (64, 224, 224), [Conv2d("conv1_2", 64, 64, 3, padding=1)])
    # ... while the biggest honest run (VGG-19 on 1x1, ~2e10 cycles; or a slow DRAM) is far from the bound.
    vgg = zoo.get("vgg19")
    for cfg in (ArrayConfig(rows=1, cols=1), ArrayConfig(rows=1, cols=1024, bandwidth=2 ** -10)):
        for node in vgg:
            shape = gemm_shape(node, 64)
            assert shape is None or cycle_bound(cfg, *shape) < MAX_CYCLES // 16
    sim = simulate(net, cfg.with_(rows=256, cols=256, bandwidth=0.001), batch=2)
    assert sim.totals["cycles"] > 10 ** 9 and sim.totals["cycles"] == sim.layers["cycles"].sum()
