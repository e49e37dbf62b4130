"""Systolic-array models (docs/microarchitecture.md is the contract).

- ``config``: ``ArrayConfig``, shared with the RTL parameters.
- ``dataflow``: one ``Dataflow`` per OS/WS/IS with its mapping and fold-timing rule.
- ``mapping``: ``enumerate_folds`` -> ``Folds`` (a GEMM's tiles in execution order, as arrays);
  ``fold_runs`` -> ``FoldRuns`` (the same sequence as nested loops over at most 27 fold classes);
  ``stream_chunk``/``folds_for``/``runs_for``: the WS/IS streamed-axis chunk a config's ofmap SRAM allows;
  every one takes a ``Mapping`` (``mapping.space``: dataflow, fold order, chunk S) or a dataflow name.
- ``beats``: ``fold_beats`` -> ``Beats``, the per-cycle port values the RTL testbench drives.
- ``core``: ``ArrayCore``, ``systolic_top`` register by register (the RTL's golden).
- ``stage``: ``OutputStagePipe``, the output stage at its ports (the RTL stage's golden), and
  ``stage_lanes``, what a fold's output row puts on its per-lane inputs.
- ``stepping``: ``step_layer(..., mapping=)``, a layer clock by clock through ``ArrayCore`` and the memory system.
- ``fast``: ``fast_layer(..., mapping=)``, closed-form fold timing plus the stall recurrence over runs of folds (and
  numpy numbers); ``per_fold_layer``, the same evaluated fold by fold (golden and benchmark baseline).
- ``vector``: the vector unit for pooling, activations, LRN and softmax.
- ``mapper``: the per-layer mapping search (``search``: candidates priced with ``fast_layer`` in the order of
  closed-form lower bounds, by cycles, energy or the network's EDP; never worse than the fixed mapping).
- ``simulate``: ``simulate(net, cfg, ..., mapper=, objective=)`` -> ``Simulation`` (per-layer rows with each
  layer's mapping and energy, totals, ``mappings``).
- ``reference``: the adapter to ``accelsim.lowering``'s bit-exact int8 forward pass.
"""
