"""``--convention scalesim``: SCALE-Sim v3's per-layer numbers, reproduced in closed form.

How SCALE-Sim counts, how that differs from accelsim's own convention and what is not
reproduced: docs/scalesim.md. Checked against the real SCALE-Sim by
``tests/systolic/test_scalesim_convention.py``. SCALE-Sim's ``.cfg`` files: ``config``; its
three report files: ``reports``.
"""

from accelsim.compat.scalesim.common import DATAFLOWS, ScaleSimConventionError
from accelsim.compat.scalesim.layer import scalesim_layer, scalesim_layer_cycles
from accelsim.compat.scalesim.simulation import scalesim_network, scalesim_node, scalesim_simulation
from accelsim.compat.scalesim.topology import TopologyRow, topology_row

__all__ = [
    "DATAFLOWS",
    "ScaleSimConventionError",
    "TopologyRow",
    "scalesim_layer",
    "scalesim_layer_cycles",
    "scalesim_network",
    "scalesim_node",
    "scalesim_simulation",
    "topology_row",
]
