"""The one vocabulary: every column and key name accelsim produces, with its unit and meaning.

Every table the project writes (``profile``, ``simulate``, ``simulate --check``, the SCALE-Sim
convention view, energy, the sweep store's ``points`` and ``layers`` tables, exports, the CLI's
JSON and CSV, the co-simulation summary) uses only these names; ``tests/test_columns.py`` checks
it, and ``docs/columns.md`` is generated from this module (``python -m accelsim.columns``).

Rules: one name per quantity; the unit is in the name where it is not a plain count (``_bytes``,
``_cycles``, ``_pJ``, ``_uJ``, ``_ms``, ``_kib``, ``_mhz``); MACs and FLOPs are never mixed; MB =
10^6 bytes. The layer is ``layer`` and is the first column of every per-layer table.

A leaf module: it imports nothing from accelsim, so every layer may use it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    """A produced name: its unit (``""`` for text and flags) and what it means, in one line."""

    name: str
    unit: str
    meaning: str


_DEFINITIONS = (
    # ---- identity -------------------------------------------------------------------------------
    ("layer", "", "layer name, unique within its network; the first column of every per-layer table"),
    ("type", "", "layer kind: conv2d, linear, maxpool2d, avgpool2d, relu, lrn, softmax, flatten, ..."),
    ("unit", "", ("where the layer runs: array (conv, linear), vector (pooling, activations, LRN, softmax), "
                  "fused (in the output stage of the array layer before it) or none (flatten)")),
    ("input_from", "", ("where each input was read: dram or sram (the ifmap SRAM), joined with + in input order "
                        "(e.g. sram+dram); fused for a fused layer")),
    ("output_to", "", ("where the output went: dram, sram (stays in the ifmap SRAM for its consumers) or fused "
                       "(computed in the previous array layer's output stage)")),
    ("network", "", "network name (the zoo name or the model file's name)"),
    ("layers", "count", "number of layers (totals)"),
    ("layer_index", "count", "position of the layer in its network, from 0 (results store)"),
    # ---- profile: shapes and budgets --------------------------------------------------------------
    ("input_shape", "elements", "first input's shape, one image: (C, H, W), (T, F) tokens, (H, T, T), (F, 1, 1)"),
    ("output_shape", "elements", "output tensor shape of one image"),
    ("kernel", "", "kernel (window) size, 'K' or 'KHxKW'; empty for layers without one"),
    ("stride", "", "stride, 'S' or 'SHxSW'; empty for layers without a window"),
    ("padding", "", "zero padding, 'P' or 'PHxPW'; empty for layers without a window"),
    ("weights", "count", "weight parameters"),
    ("biases", "count", "bias parameters"),
    ("params", "count", "parameters: weights + biases"),
    ("macs", "MACs", "multiply-accumulates of conv and linear layers (x batch)"),
    ("flops", "FLOPs", "2 x macs (one multiply and one add per MAC)"),
    ("bias_adds", "ops", "bias additions: one per output element of a conv/linear layer with a bias (x batch)"),
    ("mult_adds", "ops", "torchinfo's Mult-Adds: macs + bias_adds (totals)"),
    ("forward_backward_bytes", "bytes", ("torchinfo's forward/backward pass size: 2 x the output bytes of the "
                                         "layers with parameters (totals)")),
    ("estimated_total_bytes", "bytes", ("torchinfo's estimated total size: network input_bytes + "
                                        "forward_backward_bytes + weight_bytes (totals)")),
    ("vector_ops", "ops", "operations of the non-GEMM layers on the vector unit (x batch)"),
    ("input_elems", "elements", "input activation elements of all the node's inputs (x batch)"),
    ("output_elems", "elements", "output activation elements (x batch)"),
    ("input_bytes", "bytes", "bytes of all the node's inputs at the profile's dtype (totals: the network's input)"),
    ("output_bytes", "bytes", "output activation bytes at the profile's dtype"),
    ("weight_bytes", "bytes", "parameter bytes at the profile's dtype"),
    ("working_set_bytes", "bytes", "input + output + weight bytes of one layer"),
    ("activation_bytes", "bytes", "sum of every layer's output bytes (totals)"),
    ("peak_working_set_bytes", "bytes", "largest single-layer working set (totals)"),
    ("peak_working_set_layer", "", "the layer with the largest working set (totals)"),
    ("intensity_macs_per_byte", "MACs/byte", "macs / working_set_bytes (each byte moved once)"),
    ("batchnorm_folded", "count", "batchnorm2d layers folded into the conv before them (--fold-bn)"),
    ("params_before_fold", "count", "parameters before BN folding (params is after it; --fold-bn)"),
    ("stride_remainder", "bool", "the stride leaves input rows/columns unused (floored)"),
    ("wgrad_gemm", "", "weight-gradient GEMM shape MxKxN (training)"),
    ("wgrad_macs", "MACs", "weight-gradient MACs (training)"),
    ("igrad_gemm", "", "input-gradient GEMM shape MxKxN (training)"),
    ("igrad_macs", "MACs", "input-gradient MACs (training)"),
    # ---- GEMM and folds ---------------------------------------------------------------------------
    ("gemm_m", "elements", "im2col GEMM rows M (output pixels x batch; linear: batch); 0 off the array"),
    ("gemm_k", "elements", "GEMM reduction length K (in_channels/groups x kh x kw)"),
    ("gemm_n", "elements", "GEMM columns N (out_channels/groups)"),
    ("gemm_groups", "count", "GEMMs of the layer, one per convolution group (run back to back)"),
    ("folds", "count", "array-sized tiles (folds) the GEMMs are cut into"),
    ("stream_beats", "beats", "streaming beats of all folds (the denominator of mapping_efficiency)"),
    # ---- cycles and time --------------------------------------------------------------------------
    ("cycles", "cycles", "cycles: compute_cycles + stall_cycles (layers run one after another)"),
    ("compute_cycles", "cycles", "cycles the array or vector unit computes (sum of fold cycles)"),
    ("stall_cycles", "cycles", "cycles waiting for DRAM"),
    ("ideal_cycles", "cycles", "ceil(macs / PEs): one MAC per PE per cycle"),
    ("vector_cycles", "cycles", "cycles of the layers on the vector unit"),
    ("latency_ms", "ms", "cycles at clock_mhz"),
    ("inferences_per_second", "1/s", "batch / latency"),
    ("effective_tops", "TOPS", "2 x macs / latency / 10^12"),
    ("peak_tops", "TOPS", "2 x PEs x clock / 10^12"),
    # ---- utilization ------------------------------------------------------------------------------
    ("utilization", "fraction", "macs / (PEs x cycles)"),
    ("compute_utilization", "fraction", "macs / (PEs x compute_cycles)"),
    ("mapping_efficiency", "fraction", "macs / (PEs x stream_beats): used-PE share of the folds' streaming beats"),
    ("pe_count", "count", "processing elements: rows x cols"),
    # ---- memory traffic ---------------------------------------------------------------------------
    ("dram_read_bytes", "bytes", "bytes read from DRAM (ifmap + filter; vector unit: its input)"),
    ("dram_write_bytes", "bytes", "bytes written to DRAM"),
    ("dram_bytes", "bytes", "dram_read_bytes + dram_write_bytes"),
    ("ifmap_dram_read_bytes", "bytes", "ifmap bytes read from DRAM"),
    ("filter_dram_read_bytes", "bytes", "filter bytes read from DRAM"),
    ("ifmap_sram_reads", "elements", "ifmap SRAM element reads (array operand tiles; vector-unit inputs on chip)"),
    ("ifmap_sram_writes", "elements", "ifmap SRAM element writes (DRAM fills, and outputs that stay on chip)"),
    ("filter_sram_reads", "elements", "filter SRAM element reads"),
    ("filter_sram_writes", "elements", "filter SRAM element writes (DRAM fills)"),
    ("ofmap_sram_reads", "elements", "ofmap SRAM element reads (read-modify-write of partial sums)"),
    ("ofmap_sram_writes", "elements", "ofmap SRAM element writes"),
    ("sram_read_bytes", "bytes", "SRAM bytes read, all three buffers"),
    ("sram_write_bytes", "bytes", "SRAM bytes written, all three buffers"),
    ("avg_dram_bytes_per_cycle", "bytes/cycle", "DRAM bytes (read + write) / cycles"),
    ("peak_dram_bytes_per_cycle", "bytes/cycle", "largest fold's DRAM bytes / fold cycles"),
    ("intensity_macs_per_dram_byte", "MACs/byte", "macs / DRAM bytes (read + write); empty off the array"),
    ("attained_macs_per_cycle", "MACs/cycle", "macs / cycles; empty off the array"),
    # ---- check ------------------------------------------------------------------------------------
    ("check", "", "simulate --check: 'ok' or 'N bad' GEMM groups against the int8 reference"),
    ("check_mismatches", "count", "layers whose check failed (totals)"),
    # ---- energy -----------------------------------------------------------------------------------
    ("mac_pJ", "pJ", "energy of the MACs"),
    ("vector_pJ", "pJ", "energy of the vector unit's operations"),
    ("rf_pJ", "pJ", "energy of the PEs' register traffic"),
    ("sram_pJ", "pJ", "energy of the SRAM accesses"),
    ("dram_pJ", "pJ", "energy of the DRAM bytes"),
    ("leakage_pJ", "pJ", "static power (leakage) x the time; the static power comes from the chip's area"),
    ("total_pJ", "pJ", "mac_pJ + vector_pJ + rf_pJ + sram_pJ + dram_pJ + leakage_pJ"),
    ("energy_per_inference_uJ", "uJ", "total_pJ / 10^6 / batch"),
    ("edp_uJ_ms", "uJ x ms", "energy-delay product: energy_per_inference_uJ x latency_ms"),
    ("pJ_per_mac", "pJ/MAC", "total_pJ / macs (all the network's energy over its MACs)"),
    # ---- mapping (simulate --mapper) ----------------------------------------------------------------
    ("fixed_cycles", "cycles", "--mapper search: cycles of the layer under the fixed mapping"),
    ("fixed_dram_bytes", "bytes", "--mapper search: DRAM bytes (read + write) of the layer under the fixed mapping"),
    ("fixed_total_pJ", "pJ", "--mapper search: total_pJ of the layer under the fixed mapping"),
    # ---- area and static power (accelsim area; 45 nm figures, scaled to tech_node_nm) -----------------
    ("tech_node_nm", "nm", ("technology node: the 45 nm figures scaled by Stillmaker & Baas 2017 "
                            "(accelsim/energy/table.py)")),
    ("pe_unit_area_um2", "um^2", "one synthesized PE: yosys cells x NanGate 45 nm cell areas"),
    ("pe_area_mm2", "mm^2", "all PEs: rows x cols x pe_unit_area_um2"),
    ("array_rest_area_mm2", "mm^2", ("the array's skews, deskew and control (per-edge model fitted to "
                                      "synthesized arrays)")),
    ("output_stage_area_mm2", "mm^2", ("the output stage (bias, requantization, activation): cols x one "
                                        "synthesized lane")),
    ("array_area_mm2", "mm^2", "pe_area_mm2 + array_rest_area_mm2 + output_stage_area_mm2"),
    ("ifmap_sram_area_mm2", "mm^2", "ifmap SRAM (CACTI 7, 45 nm)"),
    ("filter_sram_area_mm2", "mm^2", "filter SRAM (CACTI 7, 45 nm)"),
    ("ofmap_sram_area_mm2", "mm^2", "ofmap SRAM (CACTI 7, 45 nm)"),
    ("sram_area_mm2", "mm^2", "the three SRAMs"),
    ("dram_interface_area_mm2", "mm^2", "DRAM interface IO circuits (CACTI-IO, one DDR3-1600 x64 channel)"),
    ("area_mm2", "mm^2", "total: array_area_mm2 + sram_area_mm2 + dram_interface_area_mm2"),
    ("sram_leakage_mW", "mW", "leakage power of the three SRAMs (CACTI 7, 45 nm, ITRS-HP)"),
    ("logic_leakage_mW", "mW", ("leakage power of the array and the output stage: synthesized cells x NanGate 45 nm "
                                "Liberty cell leakage")),
    ("leakage_mW", "mW", "static power of the chip: logic_leakage_mW + sram_leakage_mW"),
    ("cell_library", "", "the standard-cell library whose cell areas price the synthesized cells"),
    # ---- configuration ----------------------------------------------------------------------------
    ("batch", "count", "images per inference"),
    ("dtype", "", "element type of the profile's byte counts: int8, fp16, fp32"),
    ("rows", "count", "array rows (PEs)"),
    ("cols", "count", "array columns (PEs)"),
    ("dataflow", "", "os, ws or is (output, weight, input stationary)"),
    ("mapping", "", ("a layer's mapping: dataflow, fold order (outermost loop first) and WS/IS chunk S, e.g. "
                     "WS n>m>k S=16 (docs/microarchitecture.md, Mappings)")),
    ("ifmap_sram_kib", "KiB", "ifmap SRAM size"),
    ("filter_sram_kib", "KiB", "filter SRAM size"),
    ("ofmap_sram_kib", "KiB", "ofmap SRAM size"),
    ("double_buffer", "bool", "SRAMs double buffered (load overlaps compute)"),
    ("pipeline", "bool", "folds issued pipelined (the next fold's beats overlap this one's) rather than serially"),
    ("on_chip", "bool", "layers' outputs may stay in the ifmap SRAM for their consumers, fused layers in the output "
                        "stage (docs/microarchitecture.md)"),
    ("bandwidth_bytes_per_cycle", "bytes/cycle", "DRAM bandwidth, each direction"),
    ("clock_mhz", "MHz", "clock"),
    ("data_bits", "bits", "operand width"),
    ("acc_bits", "bits", "accumulator width"),
    ("out_bits", "bits", "output element width (DRAM)"),
    ("engine", "", "timing engine: fast (closed form) or stepping (cycle by cycle)"),
    ("mapper", "", "each layer's mapping: fixed (the dataflow's one) or search (the best for the objective)"),
    ("objective", "", "what the mapping search minimizes: cycles, energy or edp; empty with mapper fixed"),
    ("convention", "", "timing convention of the view: accelsim or scalesim"),
    # ---- results store ----------------------------------------------------------------------------
    ("key", "", ("SHA-256 of a design point's full configuration, energy table and accelsim version included "
                 "(results store)")),
    ("design_key", "", ("SHA-256 of the design alone (network, batch, array, engine): rows of one design under "
                        "another energy table or version are superseded (results store)")),
    ("accelsim_version", "", "the accelsim version that computed the point (results store)"),
    ("superseded", "bool", ("1 for a row kept apart by sweep --keep-superseded (another energy table or version "
                            "of the same design), else 0; readers leave superseded rows out (results store)")),
    ("network_id", "", "hash of the network's layer list (results store)"),
    ("status", "", "ok or error (results store)"),
    ("error", "", "why a point failed (results store)"),
    # ---- co-simulation ----------------------------------------------------------------------------
    ("ok", "bool", "co-simulation: RTL and model agree bit for bit and cycle for cycle"),
    ("array", "", "array shape ROWSxCOLS"),
    ("simulator", "", "RTL simulator: verilator or icarus"),
    ("parameters", "", "RTL parameters (ROWS, COLS, DATA_W, ACC_W) asked for"),
    ("dut_parameters", "", "RTL parameters the simulated design reports"),
    ("workload", "", "what was co-simulated: 'gemm MxKxN' or a network"),
    ("seed", "", "seed of the random operands / network weights"),
    ("golden", "", "model the RTL is checked against, MODULE:CLASS"),
    ("gemms", "", "co-simulation: one entry per GEMM (keys as a per-layer table)"),
    ("totals", "", "network (or run) totals"),
    ("errors", "", "co-simulation: the first mismatch messages"),
    ("run_dir", "", "co-simulation run folder"),
    ("waves", "", "co-simulation wave files: rtl, model"),
    ("waves_bytes", "bytes", "co-simulation: size of each wave file written: rtl, model"),
    ("rtl", "", "RTL side (waves, first divergence)"),
    ("model", "", "model side (waves, first divergence)"),
    ("first_divergence", "", "where the model's waves first leave the RTL's"),
    ("time_ns", "ns", "simulation time of the first divergence"),
    ("signal", "", "signal of the first divergence"),
    ("folds_run", "count", "co-simulation: folds the RTL finished"),
    ("jobs", "count", "co-simulation: simulator runs the folds were split into, one after another (each job "
                      "under the job size limit)"),
    ("mismatched_folds", "count", "co-simulation: folds whose outputs or output cycles differ"),
    ("wrong_elements", "elements", "co-simulation: elements of C that differ from the reference"),
    ("int8_outputs", "elements", "co-simulation: int8 outputs after the output stage checked against the reference"),
    ("wrong_int8", "elements", "co-simulation: int8 outputs after the output stage that differ from the reference"),
    ("model_cycles", "cycles", "co-simulation: compute cycles of the stepping model (first beat to last done)"),
    ("rtl_cycles", "cycles", "co-simulation: compute cycles of the RTL (first beat to last done)"),
    ("sim_seconds", "s", "co-simulation wall time"),
    ("cycles_per_second", "cycles/s", "co-simulation speed: rtl_cycles / sim_seconds"),
    ("harness", "", "co-simulation harness: fast (beats played from a file inside Verilator, checked against "
                    "the fast model) or cycle (every port driven from Python, the stepping model in lock step)"),
    ("tiles", "count", "co-simulation: folds (array tiles) the RTL ran (the issue's name for folds_run)"),
    ("mismatches", "count", "co-simulation: GEMMs whose outputs or output cycles differ from the golden, or "
                            "that did not run"),
    ("wall_s", "s", "co-simulation: wall time of the run, the build excluded (loading and checking included)"),
    ("rtl_cycles_per_s", "cycles/s", "co-simulation speed over the whole run: rtl_cycles / wall_s (the fast "
                                     "harness's rtl_cycles include one stop word per stimulus segment)"),
    # ---- sweeps (the Python API's SweepResult) ------------------------------------------------------
    ("output", "", "the results store a sweep wrote"),
    ("points", "", "the store's design points, one record each (keys: the points table)"),
    ("point_count", "count", "design points of the sweep's grid"),
    ("evaluated", "count", "points evaluated by this run"),
    ("already_done", "count", "points already in the store (skipped)"),
    ("failed", "count", "points that failed in this run"),
    ("wall_seconds", "s", "wall time of the sweep"),
    # ---- demo digits (LeNet-5 on scikit-learn's digits) -----------------------------------------------
    ("accuracy_float", "fraction", "demo digits: test images the float32 forward classifies correctly"),
    ("accuracy_int8", "fraction", "demo digits: test images the int8 forward classifies correctly"),
    ("test_images", "count", "demo digits: images in the test set"),
    ("train_images", "count", "demo digits: images in the training set"),
    ("epochs", "count", "demo digits: training epochs"),
    ("train_seconds", "s", "demo digits: wall time of the training"),
    ("accuracy_rtl", "fraction", ("demo digits: test images the int8 network classifies correctly with every "
                                  "conv/linear layer (GEMMs and output stage) run by the RTL; null when the RTL "
                                  "part was skipped")),
    ("rtl_int8_disagreements", "count", ("demo digits: test images on which the RTL's class differs from the int8 "
                                         "forward's (0 when they agree); null when the RTL part was skipped")),
    ("rtl_skipped", "", "demo digits: why the RTL part did not run (--no-rtl, no Verilator); null when it ran"),
    # ---- documents --------------------------------------------------------------------------------
    ("config", "", "the run's configuration (JSON)"),
)

VOCABULARY: dict[str, Column] = {}
for _name, _unit, _meaning in _DEFINITIONS:
    if _name in VOCABULARY:
        raise RuntimeError(f"accelsim.columns: {_name!r} is defined twice")
    VOCABULARY[_name] = Column(_name, _unit, _meaning)


def _group(*names: str) -> tuple[str, ...]:
    missing = [n for n in names if n not in VOCABULARY]
    if missing:
        raise RuntimeError(f"accelsim.columns: not in the vocabulary: {', '.join(missing)}")
    return names


# ---- tables, in column order -----------------------------------------------------------------------

PROFILE_LAYERS = _group(
    "layer", "type", "input_shape", "output_shape", "kernel", "stride", "padding", "weights", "biases", "params",
    "macs", "flops", "bias_adds", "vector_ops", "input_elems", "output_elems", "input_bytes", "output_bytes",
    "weight_bytes",
    "gemm_m", "gemm_k", "gemm_n", "gemm_groups", "stride_remainder", "working_set_bytes", "intensity_macs_per_byte",
)
PROFILE_TRAINING = _group("wgrad_gemm", "wgrad_macs", "igrad_gemm", "igrad_macs")
PROFILE_TOTALS = _group(
    "layers", "params", "macs", "flops", "vector_ops", "weight_bytes", "activation_bytes", "input_bytes",
    "peak_working_set_bytes", "peak_working_set_layer", "mult_adds", "forward_backward_bytes", "estimated_total_bytes",
    "wgrad_macs", "igrad_macs",
)
PROFILE_BN_FOLD = _group("batchnorm_folded", "params_before_fold")  # totals, with --fold-bn
SRAM_COUNTS = _group("ifmap_sram_reads", "ifmap_sram_writes", "filter_sram_reads", "filter_sram_writes",
                     "ofmap_sram_reads", "ofmap_sram_writes")
SIMULATE_LAYERS = _group(
    "layer", "type", "unit", "gemm_m", "gemm_k", "gemm_n", "gemm_groups", "folds", "macs", "vector_ops",
    "cycles", "compute_cycles", "stall_cycles", "ideal_cycles", "latency_ms", "utilization", "compute_utilization",
    "mapping_efficiency", "stream_beats", "dram_read_bytes", "dram_write_bytes", "ifmap_dram_read_bytes",
    "filter_dram_read_bytes", *SRAM_COUNTS, "avg_dram_bytes_per_cycle", "peak_dram_bytes_per_cycle",
    "intensity_macs_per_dram_byte", "attained_macs_per_cycle", "input_from", "output_to",
)
ENERGY = _group("mac_pJ", "vector_pJ", "rf_pJ", "sram_pJ", "dram_pJ", "leakage_pJ", "total_pJ")
SIMULATE_MAPPING = _group("mapping", *ENERGY)  # simulate's rows: after SIMULATE_LAYERS
SIMULATE_SEARCH = _group("fixed_cycles", "fixed_dram_bytes", "fixed_total_pJ")
SIMULATE_CHECK = _group("check")
SIMULATE_DESIGN = _group("area_mm2", "leakage_mW")  # the design's, in the CLI's and the API's JSON totals
SIMULATE_TOTALS = _group(
    "layers", "macs", "vector_ops", "folds", "cycles", "compute_cycles", "stall_cycles", "ideal_cycles",
    "dram_read_bytes", "dram_write_bytes", "ifmap_dram_read_bytes", "filter_dram_read_bytes", *SRAM_COUNTS,
    "utilization", "compute_utilization", "mapping_efficiency", "avg_dram_bytes_per_cycle", "latency_ms",
    "peak_dram_bytes_per_cycle", "inferences_per_second", "effective_tops", *ENERGY, "energy_per_inference_uJ",
    "edp_uJ_ms", "pJ_per_mac", "check_mismatches",
)
SCALESIM_LAYERS = _group(
    "layer", "gemm_m", "gemm_k", "gemm_n", "gemm_groups", "folds", "macs", "cycles", "compute_cycles",
    "stall_cycles", "ideal_cycles", "utilization", "compute_utilization", "mapping_efficiency", "ifmap_sram_reads",
    "filter_sram_reads", "ofmap_sram_writes", "dram_read_bytes", "dram_write_bytes",
)
SCALESIM_TOTALS = _group("macs", "folds", "cycles", "compute_cycles", "stall_cycles", "ideal_cycles",
                         "ifmap_sram_reads", "filter_sram_reads", "ofmap_sram_writes", "dram_write_bytes",
                         "dram_read_bytes", "utilization", "latency_ms")
ENERGY_LAYERS = _group("layer", *ENERGY)
ENERGY_TOTALS = _group(*ENERGY, "energy_per_inference_uJ")
CONFIG = _group("rows", "cols", "dataflow", "data_bits", "acc_bits", "out_bits", "ifmap_sram_kib",
                "filter_sram_kib", "ofmap_sram_kib", "double_buffer", "bandwidth_bytes_per_cycle", "clock_mhz",
                "pipeline", "on_chip")
# The sweep store: a point's configuration, then its metrics; its layers are simulate's rows (SIMULATE_LAYERS,
# mapping and ENERGY, and the fixed mapping's cost: empty with mapper fixed).
STORE_CONFIG = _group("network", "network_id", "batch", "rows", "cols", "dataflow", "ifmap_sram_kib",
                      "filter_sram_kib", "ofmap_sram_kib", "double_buffer", "pipeline", "on_chip",
                      "bandwidth_bytes_per_cycle", "clock_mhz", "data_bits", "acc_bits", "out_bits", "engine",
                      "mapper", "objective", "tech_node_nm")
POINT_METRICS = _group(
    "pe_count", "area_mm2", "macs", "vector_ops", "folds", "cycles", "compute_cycles", "stall_cycles", "ideal_cycles",
    "vector_cycles", "utilization", "latency_ms", "inferences_per_second", "effective_tops", "peak_tops",
    "dram_read_bytes", "dram_write_bytes", "dram_bytes", "sram_read_bytes", "sram_write_bytes",
    "peak_dram_bytes_per_cycle", *ENERGY, "energy_per_inference_uJ", "edp_uJ_ms", "pJ_per_mac", *SIMULATE_SEARCH,
)
STORE_POINTS = _group("key", *STORE_CONFIG, "status", "error", *POINT_METRICS, "design_key", "accelsim_version",
                      "superseded")
STORE_LAYERS = _group("key", "layer_index", *SIMULATE_LAYERS, *SIMULATE_MAPPING, *SIMULATE_SEARCH)
COSIM_GEMMS = _group("layer", "mapping", "gemm_m", "gemm_k", "gemm_n", "folds", "mismatched_folds", "wrong_elements",
                     "int8_outputs", "wrong_int8", "model_cycles", "rtl_cycles", "ok")
COSIM_HEADLINE = _group("harness", "tiles", "rtl_cycles", "mismatches", "wall_s", "rtl_cycles_per_s")
COSIM_TOTALS = _group("jobs", "folds", "folds_run", "mismatched_folds", "wrong_elements", "int8_outputs", "wrong_int8",
                      "model_cycles", "rtl_cycles", "sim_seconds", "cycles_per_second")
AREA = _group("rows", "cols", "pe_count", "data_bits", "acc_bits", "tech_node_nm", "ifmap_sram_kib", "filter_sram_kib",
              "ofmap_sram_kib", "pe_unit_area_um2", "pe_area_mm2", "array_rest_area_mm2", "output_stage_area_mm2",
              "array_area_mm2",
              "ifmap_sram_area_mm2", "filter_sram_area_mm2", "ofmap_sram_area_mm2", "sram_area_mm2",
              "dram_interface_area_mm2", "area_mm2", "logic_leakage_mW", "sram_leakage_mW", "leakage_mW",
              "cell_library")
SWEEP_TOTALS = _group("point_count", "evaluated", "already_done", "failed", "wall_seconds")
DEMO_DIGITS = _group("accuracy_float", "accuracy_int8", "accuracy_rtl", "rtl_int8_disagreements", "test_images",
                     "train_images", "epochs", "seed", "train_seconds", "rtl_skipped", "array", "tiles", "rtl_cycles",
                     "wall_s")

TABLES: dict[str, tuple[str, ...]] = {
    "profile: per layer": PROFILE_LAYERS, "profile --training: per layer, added": PROFILE_TRAINING,
    "profile: totals": PROFILE_TOTALS, "profile --fold-bn: totals, added": PROFILE_BN_FOLD,
    "simulate: per layer": (*SIMULATE_LAYERS, *SIMULATE_MAPPING),
    "simulate --mapper search: per layer, added": SIMULATE_SEARCH,
    "simulate --check: per layer, added": SIMULATE_CHECK,
    "simulate: totals": SIMULATE_TOTALS, "simulate --mapper search: totals, added": SIMULATE_SEARCH,
    "simulate (CLI and API JSON): totals, added (the design)": SIMULATE_DESIGN,
    "simulate --convention scalesim: per layer": SCALESIM_LAYERS,
    "simulate --convention scalesim: totals": SCALESIM_TOTALS,
    "energy: per layer": ENERGY_LAYERS, "energy: totals": ENERGY_TOTALS,
    "configuration (JSON 'config')": CONFIG,
    "sweep store: points (and exports)": STORE_POINTS, "sweep store: layers": STORE_LAYERS,
    "cosim: per GEMM": COSIM_GEMMS, "cosim: totals": COSIM_TOTALS, "cosim (JSON, either harness)": COSIM_HEADLINE,
    "sweep result (Python API): totals": SWEEP_TOTALS,
    "area (JSON, CSV)": AREA,
    "demo digits (JSON)": DEMO_DIGITS,
}


def unknown(names) -> list[str]:
    """The names in ``names`` that are not in the vocabulary (for tests and checks)."""
    return [n for n in names if n not in VOCABULARY]


def markdown() -> str:
    """``docs/columns.md``: the vocabulary, then which table uses which names."""
    lines = [
        "# Columns and keys",
        "",
        "Every column and key name accelsim produces, with its unit. Generated from `accelsim/columns.py`",
        "(`python -m accelsim.columns > docs/columns.md`); a test checks that every table the project",
        "writes uses only these names and that this page lists exactly them. MB = 10^6 bytes; the layer",
        "is `layer`, the first column of every per-layer table.",
        "",
        "| name | unit | meaning |",
        "|:---|:---|:---|",
    ]
    lines += [f"| `{c.name}` | {c.unit} | {c.meaning.replace('|', '/')} |" for c in VOCABULARY.values()]
    lines += ["", "## Tables", ""]
    for title, names in TABLES.items():
        lines += [f"- **{title}**: " + ", ".join(f"`{n}`" for n in names)]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
