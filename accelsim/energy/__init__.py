"""Energy of a simulated network: per-access costs times the simulator's access counts.

See ``accelsim.energy.table`` for the costs and where they come from, and
``accelsim.energy.model`` for what is counted at each level.
"""

from accelsim.energy.model import ENERGY_COLUMNS, layer_energy, network_energy
from accelsim.energy.table import DEFAULT_TABLE, EnergyTable

__all__ = ["DEFAULT_TABLE", "ENERGY_COLUMNS", "EnergyTable", "layer_energy", "network_energy"]
