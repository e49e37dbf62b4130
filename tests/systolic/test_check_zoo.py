"""``simulate --check`` on every zoo network: the array's int32 and int8-after-the-stage outputs equal the
int8 forward pass. The resizable networks run at a reduced input here (full size: benchmarks/check_zoo.py);
LeNet-5 runs at its own size. AlexNet and VGG fix their input through the first linear layer, so their
full-size check (a minute and 2 GB for VGG-16) is the benchmark's."""

from __future__ import annotations

import pytest

from accelsim.hardware.config import ArrayConfig
from accelsim.systolic.simulate import simulate
from accelsim.workload import zoo

SMALL = {"resnet18": "3x32x32", "resnet50": "3x32x32", "mobilenet_v2": "3x32x32", "squeezenet1_1": "3x32x32",
         "googlenet": "3x32x32", "lenet5": None, "lenet5-28": None}


def test_every_resizable_zoo_network_is_covered():
    fixed = {"alexnet", "alexnet-tv", "vgg11", "vgg13", "vgg16", "vgg19"}  # the benchmark's
    assert set(zoo.ZOO) - fixed - {"bert-base-encoder"} == set(SMALL)  # bert: tests/systolic/test_graph_check.py


# One dataflow per network, taking turns (the numbers do not depend on it; the fold order does).
CASES = [(name, ("os", "ws", "is")[i % 3]) for i, name in enumerate(sorted(SMALL))]


@pytest.mark.parametrize("name, dataflow", CASES)
def test_check_is_bit_exact(name, dataflow):
    net = zoo.get(name, SMALL[name])
    sim = simulate(net, ArrayConfig(rows=16, cols=8, dataflow=dataflow), check=True)
    checked = [r for r in sim.layers.to_dict("records") if r.get("check")]
    assert checked and all(r["check"] == "ok" for r in checked)
    assert sim.totals["check_mismatches"] == 0
