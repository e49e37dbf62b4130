"""Per-cell areas of the NanGate 45 nm Open Cell Library, and which cell stands for each of yosys's
generic gates. A leaf data module: it imports nothing from accelsim.

Source: the library's LEF as the OpenROAD flow scripts ship it (Apache-2.0),
``flow/platforms/nangate45/lef/NangateOpenCellLibrary.macro.mod.lef`` in
github.com/The-OpenROAD-Project/OpenROAD-flow-scripts (commit fa763124e441 of that file; library
version PDKv1.3_v2010_12, FreePDK45, i.e. 45 nm). A cell's area is its ``SIZE W BY H`` (um), every
row 1.4 um high; e.g. ``MACRO NAND2_X1 ... SIZE 0.57 BY 1.4`` is 0.798 um^2. The library's Liberty
file (``NangateOpenCellLibrary_typical.lib``) is not in that snapshot, so synthesis does not map onto
the library with ``abc -liberty``: yosys maps to its generic gates restricted to the functions the
library has as single X1 cells (``abc -g AND,NAND,OR,NOR,XOR,XNOR,MUX,AOI3,OAI3,AOI4,OAI4``, flip-flops
legalized to plain positive-edge D flip-flops, their reset and enable becoming gates), and each
generic gate counts as its X1 equivalent below. That is a generic-cell count times the library's
equivalent cell area: no sizing for timing, no buffering, no placement utilization or wiring.

Leakage (``CELL_LEAKAGE_NW``): each cell's ``cell_leakage_power`` (nW; the library's
``leakage_power_unit`` is 1nW, the average over its input states) in the same library's Liberty file,
``NangateOpenCellLibrary_typical.lib`` (corner "typical": process TypTyp, 1.1 V, 25 C; Nangate
NGLibraryCharacterizer v2011.01, dated 10 Feb 2011), as OpenSTA ships it
(github.com/The-OpenROAD-Project/OpenSTA ``examples/nangate45_typ.lib.gz``, commit b04def2de07e of
that file); its ``area`` values are the LEF areas below. The tie cells LOGIC0_X1/LOGIC1_X1 have no
leakage figure (physical cells): 0. 25 C is a cool corner: leakage grows several-fold at the
operating temperatures of a busy chip, so these figures are a lower end for logic (the SRAM figures of
``accelsim.hardware.memory_area`` are CACTI's at 360 K with high-performance transistors, an upper end).
"""

from __future__ import annotations

LIBRARY = "NanGate 45nm Open Cell Library (FreePDK45), X1 cells"
NODE_NM = 45

# X1 cell areas (um^2) = LEF SIZE width x height.
CELL_AREA_UM2: dict[str, float] = {
    "INV_X1": 0.38 * 1.4,     # 0.532
    "AND2_X1": 0.76 * 1.4,    # 1.064
    "NAND2_X1": 0.57 * 1.4,   # 0.798
    "OR2_X1": 0.76 * 1.4,     # 1.064
    "NOR2_X1": 0.57 * 1.4,    # 0.798
    "XOR2_X1": 1.14 * 1.4,    # 1.596
    "XNOR2_X1": 1.14 * 1.4,   # 1.596
    "MUX2_X1": 1.33 * 1.4,    # 1.862
    "AOI21_X1": 0.76 * 1.4,   # 1.064
    "OAI21_X1": 0.76 * 1.4,   # 1.064
    "AOI22_X1": 0.95 * 1.4,   # 1.33
    "OAI22_X1": 0.95 * 1.4,   # 1.33
    "DFF_X1": 3.23 * 1.4,     # 4.522
    "LOGIC0_X1": 0.38 * 1.4,  # 0.532 (tie cells, for constant outputs)
    "LOGIC1_X1": 0.38 * 1.4,  # 0.532
}

# X1 cell leakage (nW), cell_leakage_power of NangateOpenCellLibrary_typical.lib (typical, 1.1 V, 25 C).
CELL_LEAKAGE_NW: dict[str, float] = {
    "INV_X1": 14.353185,
    "AND2_X1": 25.066064,
    "NAND2_X1": 17.39336,
    "OR2_X1": 22.694975,
    "NOR2_X1": 21.199545,
    "XOR2_X1": 36.163718,
    "XNOR2_X1": 36.441009,
    "MUX2_X1": 35.92839,
    "AOI21_X1": 27.858395,
    "OAI21_X1": 22.619394,
    "AOI22_X1": 32.611944,
    "OAI22_X1": 34.026125,
    "DFF_X1": 79.112308,
    "LOGIC0_X1": 0.0,  # no cell_leakage_power in the library (a physical tie cell)
    "LOGIC1_X1": 0.0,
}

# yosys generic gate -> the library cell of the same function.
GENERIC_CELL: dict[str, str] = {
    "$_NOT_": "INV_X1",
    "$_AND_": "AND2_X1",
    "$_NAND_": "NAND2_X1",
    "$_OR_": "OR2_X1",
    "$_NOR_": "NOR2_X1",
    "$_XOR_": "XOR2_X1",
    "$_XNOR_": "XNOR2_X1",
    "$_MUX_": "MUX2_X1",
    "$_AOI3_": "AOI21_X1",  # !((A & B) | C)
    "$_OAI3_": "OAI21_X1",  # !((A | B) & C)
    "$_AOI4_": "AOI22_X1",  # !((A & B) | (C & D))
    "$_OAI4_": "OAI22_X1",  # !((A | B) & (C | D))
    "$_DFF_P_": "DFF_X1",
}

# The abc gate set and the flip-flop yosys legalizes to: exactly the generic types above.
ABC_GATES = "AND,NAND,OR,NOR,XOR,XNOR,MUX,AOI3,OAI3,AOI4,OAI4"
FLIP_FLOP = "$_DFF_P_"
