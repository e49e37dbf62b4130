"""Depthwise (grouped) convs on a large array are reported as they run: one group at a time, each group's
M x 9 x 1 GEMM keeping only a few PEs busy; utilization low and exactly MACs / (PEs x cycles)."""

import pytest

from accelsim.hardware.config import ArrayConfig
from accelsim.report.simulate_view import render_simulation
from accelsim.systolic.simulate import fold_count, simulate
from accelsim.workload import Network
from accelsim.workload.layers import Conv2d, ReLU6

C, HW = 64, 56
# used PEs of one fold, by hand: WS maps K (9) on rows and N (1) on columns; OS maps M on rows (full 32)
# and N (1) on columns; IS maps K (9) on rows and M on columns (full 32)
USED_PES = {"ws": 9 * 1, "os": 32 * 1, "is": 9 * 32}


def depthwise():
    return Network.sequential("dw", (C, HW, HW), [
        Conv2d("dw", C, C, 3, padding=1, groups=C, bias=False), ReLU6("r"),
        Conv2d("pw", C, 2 * C, 1, bias=False),
    ])


@pytest.mark.parametrize("dataflow", ["ws", "os", "is"])
def test_depthwise_on_32x32_is_low_and_exact(dataflow):
    cfg = ArrayConfig(rows=32, cols=32, dataflow=dataflow)
    sim = simulate(depthwise(), cfg)
    dw, pw = sim.rows[0], sim.rows[2]
    macs = C * HW * HW * 9
    assert (dw["gemm_m"], dw["gemm_k"], dw["gemm_n"], dw["gemm_groups"]) == (HW * HW, 9, 1, C)
    assert dw["macs"] == macs and dw["folds"] == fold_count(cfg, HW * HW, 9, 1, C)
    assert dw["mapping_efficiency"] == pytest.approx(USED_PES[dataflow] / 1024, rel=1e-12)
    assert dw["utilization"] == pytest.approx(macs / (1024 * dw["cycles"]), rel=1e-12)
    assert dw["utilization"] < 0.01 < pw["utilization"]  # the pointwise conv fills the array far better
    text = " ".join(render_simulation(sim, "table").split())
    assert f"keep at most {USED_PES[dataflow]} of 1024 PEs busy" in text and "dw 64 groups of 3136x9x1" in text


def test_no_grouped_note_without_groups():
    net = Network.sequential("n", (8, 8, 8), [Conv2d("c", 8, 8, 3)])
    text = render_simulation(simulate(net, ArrayConfig(rows=8, cols=8)), "table")
    assert "Grouped convs" not in text
