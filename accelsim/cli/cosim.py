"""`accelsim cosim`: run GEMMs or a network's layers on the Verilog RTL and check them against the model."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

import click

from accelsim.cli.common import input_size_option, mapper_option, objective_option, pipeline_option
from accelsim.errors import AccelsimError
from accelsim.hardware.config import DATAFLOWS, parse_array

if TYPE_CHECKING:
    from rich.console import Console

SIMULATOR_CHOICES = ("verilator", "icarus")
HARNESSES = ("fast", "cycle")
FAST_JOBS_DEFAULT = 2  # Verilator processes of the fast harness at once (measured on 2 cores: benchmarks/README.md)
FAST_ESTIMATE_SECONDS = 10  # a fast-harness run estimated longer than this says so before it starts
WAVES_LIMIT_DEFAULT = "1GB"
LONG_RUN_SECONDS = 600  # a cosim estimated longer than this says so before it starts
_SIZE_UNITS = {"": 10**6, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12}


def parse_size(flag: str, text: str) -> int:
    """'500MB', '2GB', '750' (MB) -> bytes (MB = 10^6)."""
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]*)?)\s*([kKmMgGtT]?[bB]?)\s*", text)
    if not m or float(m.group(1)) <= 0 or m.group(2).lower() not in _SIZE_UNITS:
        raise AccelsimError(f"cosim: {flag}: expected a size such as 500MB or 2GB, got {text!r}")
    return int(float(m.group(1)) * _SIZE_UNITS[m.group(2).lower()])


def format_mb(nbytes: float) -> str:
    return f"{nbytes / 1e6:,.1f} MB"


def parse_gemm(text: str) -> tuple[int, int, int]:
    m = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
    if not m or 0 in (dims := (int(m[1]), int(m[2]), int(m[3]))):
        raise AccelsimError(f"--gemm: expected MxKxN with positive sizes such as 64x27x16, got {text!r}")
    return dims


def _gemm_table(s: dict, title: str, heads: tuple[str, ...], cells: Callable[[dict], tuple[str, ...]]) -> Console:
    """Print the per-GEMM table both harnesses show (GEMM, mapping, MxKxN, tiles, then ``heads`` filled by
    ``cells(gemm row)``, then ok / MISMATCH); the console, for the summary lines that follow."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    console = Console(width=110)
    mode = "pipelined" if s.get("pipeline") else "serial"
    table = Table(box=box.SIMPLE_HEAD, title=f"{title}: {s['workload']} on {s['array']} {s['dataflow'].upper()} "
                                           f"({s['simulator']}, {mode} folds)")
    for head in ("GEMM", "mapping", "MxKxN", "tiles", *heads, ""):
        table.add_column(head, justify="left" if head in ("GEMM", "mapping", "MxKxN", "") else "right")
    for g in s["gemms"]:
        table.add_row(g["layer"], g.get("mapping", ""), f"{g['gemm_m']}x{g['gemm_k']}x{g['gemm_n']}", f"{g['folds']:,}",
                      *cells(g), "[green]ok[/]" if g["ok"] else "[red]MISMATCH[/]")
    console.print(table)
    return console


def _int8_cell(g: dict) -> str:
    return f"{g['wrong_int8']:,}/{g['int8_outputs']:,}" if g["int8_outputs"] else "-"


def _render(s: dict) -> None:
    t = s["totals"]
    console = _gemm_table(s, "accelsim cosim", ("mismatched", "wrong C", "wrong int8", "model cycles", "RTL cycles"),
                          lambda g: (f"{g['mismatched_folds']:,}", f"{g['wrong_elements']:,}", _int8_cell(g),
                                     f"{g['model_cycles']:,}", f"{g['rtl_cycles']:,}"))
    rate = f", {t['cycles_per_second']:,} cycles/s (RTL and model in lock step)" if t["cycles_per_second"] else ""
    jobs = f" in {t['jobs']:,} simulator jobs" if t.get("jobs", 1) > 1 else ""
    int8 = (f", int8 outputs after the output stage {t['int8_outputs']:,} checked, {t['wrong_int8']:,} wrong"
            if t.get("int8_outputs") else "")
    console.print(f"tiles {t['folds_run']:,}/{t['folds']:,}{jobs}, mismatched tiles {t['mismatched_folds']:,}, "
                  f"wrong C elements {t['wrong_elements']:,}{int8}; compute cycles model {t['model_cycles']:,} vs "
                  f"RTL {t['rtl_cycles']:,} (no DRAM stalls); simulated in {t['sim_seconds']:.1f} s{rate}")
    for e in s["errors"][:10]:
        console.print(f"[red]{e}[/]", markup=True, highlight=False)
    if s["waves"]["rtl"] or s["waves"]["model"]:
        sizes = s.get("waves_bytes") or {}
        shown = [f"{what} {s['waves'][key]}" + (f" ({format_mb(sizes[key])})" if key in sizes else "")
                 for key, what in (("rtl", "RTL"), ("model", "model"))]
        console.print("waves: " + ", ".join(shown), highlight=False)
    d = s.get("first_divergence")
    if d:
        console.print(f"first divergence in the waves at {d['time_ns']:g} ns: {d['signal']} RTL {d['rtl']} vs "
                      f"model {d['model']}", highlight=False)
    console.print("[green]PASS[/]: RTL matches the model bit for bit and cycle for cycle" if s["ok"]
                  else "[red]FAIL[/]: RTL and model differ")


def _render_fast(s: dict) -> None:
    console = _gemm_table(s, "accelsim cosim --harness fast", ("wrong int8", "RTL cycles"),
                          lambda g: (_int8_cell(g), f"{g['rtl_cycles']:,}"))
    rate = f"{s['rtl_cycles_per_s']:,} cycles/s" if s["rtl_cycles_per_s"] else "-"
    procs = f"{s['jobs']} Verilator process{'es' if s['jobs'] > 1 else ''}"
    int8 = (f", int8 outputs after the output stage {s['int8_outputs']:,} checked, {s['wrong_int8']:,} wrong"
            if s["int8_outputs"] else "")
    console.print(f"tiles {s['tiles']:,}, RTL cycles {s['rtl_cycles']:,} in {s['wall_s']:.1f} s ({rate}, {procs}), "
                  f"mismatched GEMMs {s['mismatches']:,}{int8}", highlight=False)
    for e in s["errors"][:10]:
        console.print(f"[red]{e}[/]", markup=True, highlight=False)
    console.print("[green]PASS[/]: RTL matches the fast model in every value and output cycle" if s["ok"]
                  else "[red]FAIL[/]: RTL and model differ")


def _pricing(cfg):
    """The energy table and static power ``accelsim simulate`` prices a design with (45 nm, area model)."""
    from accelsim.energy.table import DEFAULT_TECHNOLOGY
    from accelsim.synth.area import area_breakdown

    return DEFAULT_TECHNOLOGY.energy_table(), area_breakdown(cfg, tech=DEFAULT_TECHNOLOGY).leakage_mW


def searched_network(cfg, model: str, input_size, objective: str) -> dict:
    """Each conv/linear layer's mapping (layer name -> Mapping) that `simulate --mapper search` picks for
    ``model`` on ``cfg`` (fast model; the choice the RTL then runs)."""
    from accelsim.systolic.simulate import simulate
    from accelsim.workload import resolve

    table, leakage_mW = _pricing(cfg)
    sim = simulate(resolve(model, input_shape=input_size), cfg, mapper="search", objective=objective, energy=table,
                   leakage_mW=leakage_mW)
    return dict(sim.mappings)


def searched_gemm(cfg, m: int, k: int, n: int, objective: str):
    """The mapping the search picks for one (m, k, n) GEMM on ``cfg`` (operands from DRAM, output to DRAM)."""
    from accelsim.systolic.mapper import LayerKey, LayerTask, search

    table, leakage_mW = _pricing(cfg)
    ((chosen, _),) = search(cfg, [LayerTask("gemm", LayerKey(m, k, n))], objective, table, leakage_mW).values()
    return chosen.mapping


@click.command()
@click.option("--gemm", metavar="MxKxN", help="A random int GEMM (seeded) of this size.")
@click.option("--model", metavar="MODEL", help="Every conv/linear layer of a zoo network's int8 forward pass "
              "(e.g. lenet5).")
@input_size_option
@click.option("--array", default="8x8", show_default=True, metavar="RxC", help="Array rows x columns.")
@click.option("--dataflow", type=click.Choice(DATAFLOWS), default="ws", show_default=True)
@click.option("--order", default=None, metavar="ORDER",
              help="Fold loop order, outermost first: os m>n or n>m; ws m>n>k or n>m>k; is n>m>k or m>n>k "
                   "[default: the dataflow's fixed order] (docs/microarchitecture.md, Mappings).")
@click.option("--chunk", type=int, default=None, metavar="S",
              help="WS/IS streamed-axis chunk S, 1 to the most the ofmap SRAM holds [default: that most].")
@mapper_option
@objective_option
@click.option("--acc-bits", type=int, default=32, show_default=True, help="Accumulator width ACC_W (--gemm only).")
@click.option("--seed", type=click.IntRange(0, 2 ** 63 - 1), default=0, show_default=True,
              help="Seed of the operands / network (0 to 2^63-1).")
@click.option("--harness", type=click.Choice(HARNESSES), default=None,
              help="fast: the folds' beats played from a file inside Verilator, outputs and their cycles "
                   "checked against the fast model (whole networks; no waves); cycle: cocotb drives every port "
                   "every cycle with the stepping model in lock step (waves, --golden, Icarus) [default: fast "
                   "with --model, cycle with --gemm].")
@click.option("--jobs", type=click.IntRange(1, 64), default=None, metavar="N",
              help=f"--harness fast: Verilator processes at once, the GEMMs split between them by cycles "
                   f"[default: {FAST_JOBS_DEFAULT}, the fastest measured on 2 cores].")
@click.option("--simulator", type=click.Choice(SIMULATOR_CHOICES), default="verilator", show_default=True)
@click.option("--waves", is_flag=True, help="Write RTL waves (Verilator VCD, Icarus FST) and the model's VCD "
              "into the run folder under the build dir (in the user cache; see README; kept).")
@click.option("--waves-limit", default=WAVES_LIMIT_DEFAULT, show_default=True, metavar="SIZE",
              help="Refuse --waves when the estimated size is larger (e.g. 500MB, 5GB; MB = 10^6 bytes).")
@click.option("--keep-run-dir", is_flag=True, help="Keep the run folder (simulator log) after the run.")
@click.option("--progress/--no-progress", default=True, show_default=True,
              help="Show build and simulation progress on stderr.")
@click.option("--golden", default=None, metavar="MODULE:CLASS",
              help="Model to check the RTL against, with ArrayCore's interface [default: ArrayCore].")
@pipeline_option
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def cosim(gemm, model, input_size, array, dataflow, order, chunk, mapper, objective, acc_bits, seed, harness, jobs,
          simulator, waves, waves_limit, keep_run_dir, progress, golden, pipeline, fmt):
    """Co-simulate the RTL against the model: every tile bit- and cycle-exact.

    --harness fast (the default with --model) runs whole networks: every GEMM's folds are played from a
    file inside Verilator, and the output rows (C and the int8 output stage's) and the cycles they appear in
    are checked against the fast model; --jobs Verilator processes share the GEMMs; a progress bar counts RTL
    cycles, and a run estimated longer than 10 s says how long first. --harness cycle (the default with --gemm:
    a single GEMM is short, and this harness can write waves and name the first divergence) drives every port
    from Python on every cycle with the stepping model in lock step. Either way, exit code 0 only when
    everything matches; 1 on any mismatch; 2 when the run cannot start (bad input: one line).

    With --harness cycle, all tiles run back to back, in one simulator run or, for a large network, in several one after
    another (each job's folds and results under 128 MiB) through the same build. Exit code 0 only when every
    tile's outputs and output cycles match the model and the assembled results equal the integer reference;
    1 on any mismatch; 2 when the job cannot run. --order and --chunk pick the mapping (every layer's, with
    --model); --mapper search runs each layer's (or the GEMM's) mapping as `accelsim simulate --mapper search`
    picks it on the same array (default SRAMs, static power from the area model).
    """
    from accelsim.progress import format_duration, stderr_progress
    from accelsim.rtlsim import Gemm, build, random_gemm, simulator_missing
    from accelsim.rtlsim.build import build_name
    from accelsim.rtlsim.run import estimate_seconds, estimate_waves_bytes, job_cycles, seconds_per_cycle
    from accelsim.rtlsim.session import check_fast, cosim_config, cosim_mapping, run_cosim

    if (gemm is None) == (model is None):
        raise AccelsimError("cosim: give exactly one of --gemm MxKxN or --model MODEL")
    if golden is not None and not re.fullmatch(r"[\w.]+:\w+", golden):
        raise AccelsimError(f"cosim: --golden: expected MODULE:CLASS, got {golden!r}")
    harness = harness or ("fast" if model is not None else "cycle")
    rows, cols = parse_array(array)
    cfg = cosim_config(rows, cols, dataflow, acc_bits, pipeline)
    if harness == "fast":
        check_fast(cfg, waves=waves, golden=golden, simulator=simulator)
    elif jobs is not None:
        raise AccelsimError("cosim: --jobs runs fast-harness processes at once; the cycle harness runs one "
                            "simulator at a time: drop --jobs or use --harness fast")
    if mapper == "search" and (order is not None or chunk is not None):
        raise AccelsimError("cosim: --mapper search picks each layer's order and chunk: drop --order/--chunk")
    mapping = cosim_mapping(cfg, order, chunk)
    reason = simulator_missing(simulator)
    if reason:
        raise AccelsimError(f"cosim: --simulator {simulator}: {reason}")
    from accelsim.rtlsim.gemm import check_gemm_sizes, iter_network_gemms, job_plan, network_mappings, network_shapes

    gemms: Iterable[Gemm]
    if gemm is not None:
        if input_size is not None:
            raise AccelsimError("cosim: --input-size applies to --model (a zoo network), not to --gemm")
        m, k, n = parse_gemm(gemm)
        if mapper == "search":
            mapping = searched_gemm(cfg, m, k, n, objective)
        mappings = [mapping]
        check_gemm_sizes(cfg, [("--gemm", m, k, n)], mappings)
        one = random_gemm(cfg, m, k, n, seed)
        one.mapping = mapping
        gemms, workload = [one], f"gemm {m}x{k}x{n}"
        shapes = [(m, k, n)]
    else:
        if acc_bits != 32:
            raise AccelsimError("cosim: --model runs the int8 forward pass, whose accumulators are 32-bit; "
                                "drop --acc-bits")
        named = network_shapes(model, input_shape=input_size)
        per_layer = searched_network(cfg, model, input_size, objective) if mapper == "search" else mapping
        mappings = network_mappings(model, per_layer, input_shape=input_size)
        check_gemm_sizes(cfg, named, mappings)
        shapes = [s[1:] for s in named]
        # GEMMs come layer by layer from the int8 forward pass as the jobs consume them
        gemms = iter_network_gemms(cfg, model, seed, input_shape=input_size, mappings=per_layer)
        workload = model if input_size is None else f"{model} {'x'.join(map(str, input_size))}"
    if harness == "fast":
        _fast(cfg, gemms, workload, shapes, mappings, seed, jobs or FAST_JOBS_DEFAULT, progress, keep_run_dir, fmt)
    jobs = len(job_plan(cfg, shapes, mappings=mappings))
    limit = parse_size("--waves-limit", waves_limit)
    if waves:
        if jobs > 1:
            raise AccelsimError(f"cosim: --waves writes the waves of a run of one simulator job; this one needs "
                                f"{jobs}: co-simulate fewer or smaller GEMMs")
        size = estimate_waves_bytes(cfg, shapes, mappings)
        if size > limit:
            raise AccelsimError(f"cosim: --waves would write about {format_mb(size)} (estimate), above --waves-limit "
                                f"{format_mb(limit)}: raise --waves-limit or co-simulate a smaller GEMM")
        click.echo(f"cosim: --waves will write about {format_mb(size)} (estimate)", err=True)
    seconds = estimate_seconds(cfg, shapes, simulator, jobs, mappings)
    if seconds > LONG_RUN_SECONDS:
        per_cycle, measured = seconds_per_cycle(cfg, simulator)
        cycles = job_cycles(cfg, shapes, mappings)[0]
        click.echo(f"cosim: this run is estimated at {format_duration(seconds)} ({cycles:,} "
                   f"cycles in {jobs:,} simulator job{'s' if jobs > 1 else ''} at {1 / per_cycle:,.0f} cycles/s, "
                   f"{'measured on this build' if measured else 'a default rate'}); Ctrl-C stops it", err=True)
    with stderr_progress(f"building {build_name(simulator, cfg.rtl_parameters())}", None, enabled=progress,
                         transient=True):
        build(simulator, cfg.rtl_parameters())
    with stderr_progress("simulating tiles", None, enabled=progress, transient=fmt == "json") as bar:
        s = run_cosim(cfg, gemms, workload, simulator=simulator, seed=seed, golden=golden, waves=waves,
                      progress=bar, keep_run_dir=keep_run_dir, shapes=shapes, mappings=mappings)
    if fmt == "json":
        click.echo(json.dumps(s, indent=2))
    else:
        _render(s)
    sys.exit(0 if s["ok"] else 1)


def _fast(cfg, gemms, workload, shapes, mappings, seed, jobs, progress, keep_run_dir, fmt):
    """The --harness fast run: estimate, build, run with a progress bar over RTL cycles, summary; exits."""
    from accelsim.progress import format_duration, stderr_progress
    from accelsim.rtlsim.harness import build_harness, harness_cycles, harness_dir, seconds_per_cycle
    from accelsim.rtlsim.run import estimate_seconds
    from accelsim.rtlsim.session import run_fast_cosim

    procs = max(1, min(jobs, len(shapes)))
    per_cycle, measured = seconds_per_cycle(cfg, procs)
    cycles = sum(harness_cycles(cfg, sh, mp, cfg.pipeline) for sh, mp in zip(shapes, mappings, strict=True))
    seconds = estimate_seconds(cfg, shapes, "verilator", 1, mappings, per_cycle=per_cycle, cycles=cycles)
    if seconds > FAST_ESTIMATE_SECONDS:
        click.echo(f"cosim: this run is estimated at {format_duration(seconds)} ({cycles:,} RTL cycles in {procs} "
                   f"Verilator process{'es' if procs > 1 else ''} at {1 / per_cycle:,.0f} cycles/s in all, "
                   f"{'measured on this build' if measured else 'a default rate'}; the build excluded); "
                   "Ctrl-C stops it", err=True)
    with stderr_progress(f"building {harness_dir(cfg).name}", None, enabled=progress, transient=True):
        build_harness(cfg)
    with stderr_progress("RTL cycles", None, enabled=progress, transient=fmt == "json") as bar:
        s = run_fast_cosim(cfg, gemms, workload, seed=seed, jobs=jobs, progress=bar, keep_run_dir=keep_run_dir,
                           shapes=shapes, mappings=mappings)
    if fmt == "json":
        click.echo(json.dumps(s, indent=2))
    else:
        _render_fast(s)
    sys.exit(0 if s["ok"] else 1)
