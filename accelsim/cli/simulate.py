"""`accelsim simulate`: run a network on the systolic array and report cycles, utilization and traffic."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from accelsim.cli.common import (
    fold_bn_option,
    input_size_option,
    mapper_option,
    model_argument,
    objective_option,
    pick_format,
    pipeline_option,
    refuse_overwrite,
    rejected_option,
    sim_batch_option,
    strict_option,
    tech_node_option,
    write_output,
)
from accelsim.errors import AccelsimError
from accelsim.hardware.config import DATAFLOWS, ENGINES, ArrayConfig, ConfigError, parse_array
from accelsim.report.formats import FORMATS

SIMULATE_FORMATS = (*FORMATS, "scalesim")


def parse_sram(text: str) -> tuple[float, float, float]:
    """'256,256,128' -> KiB of the ifmap, filter and ofmap SRAMs."""
    parts = [p.strip() for p in str(text).split(",")]
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        values = ()
    if len(values) != 3 or not all(math.isfinite(v) and v > 0 for v in values):
        raise ConfigError("sram", f"expected IFMAP,FILTER,OFMAP sizes in KiB (three numbers > 0), got {text!r}")
    return values


def parse_number(fld: str, text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise ConfigError(fld, f"expected a number, got {text!r}") from None
    if not math.isfinite(v) or v <= 0:
        raise ConfigError(fld, f"must be > 0, got {text}")
    return v


@click.command()
@model_argument
@click.option("--array", "array", default="32x32", show_default=True, help="Array size ROWSxCOLS.")
@click.option("--dataflow", type=click.Choice(DATAFLOWS), default="ws", show_default=True,
              help="Weight, output or input stationary.")
@click.option("--sram", default="256,256,128", show_default=True, metavar="IFMAP,FILTER,OFMAP",
              help="SRAM sizes in KiB per buffer.")
@click.option("--bandwidth", default="16", show_default=True, metavar="B",
              help="DRAM bytes per cycle, each direction (1/1024 to 2^32).")
@click.option("--no-double-buffer", is_flag=True, help="Single-buffered SRAMs (no load/compute overlap).")
@pipeline_option
@click.option("--on-chip/--no-on-chip", default=True, show_default=True,
              help="Keep layer outputs that fit in the ifmap SRAM for the next layers and fuse BN/ReLU into the "
                   "output stage (docs/microarchitecture.md), or send every tensor through DRAM.")
@click.option("--clock-mhz", default="1000", show_default=True, metavar="MHZ", help="Clock in MHz (for ms and TOPS).")
@sim_batch_option
@click.option("--engine", type=click.Choice(ENGINES), default="fast", show_default=True,
              help="Timing engine: closed form, or the cycle-by-cycle golden (slow; small networks).")
@rejected_option("--model", "is not an option here: the network is the positional MODEL; the timing engine "
                            "is --engine fast|stepping")
@click.option("--check", is_flag=True,
              help="Run the int8 numbers through the array and its output stage; compare bit for bit.")
@mapper_option
@objective_option
@click.option("--convention", type=click.Choice(["accelsim", "scalesim"]), default="accelsim", show_default=True,
              help="Timing convention: ours (docs/microarchitecture.md) or SCALE-Sim 3.0.0's, reproduced exactly.")
@click.option("--config", "config", type=click.Path(dir_okay=False), default=None, metavar="CFG",
              help="A SCALE-Sim .cfg: array size, SRAMs, dataflow (and USER bandwidth); flags given here override it.")
@tech_node_option
@strict_option
@fold_bn_option
@input_size_option
@click.option("--format", "fmt", type=click.Choice(SIMULATE_FORMATS), default=None,
              help="Output format (default: from --output's extension, else table); scalesim: SCALE-Sim's "
                   "COMPUTE_REPORT.csv, BANDWIDTH_REPORT.csv and DETAILED_ACCESS_REPORT.csv in the --output folder.")
@click.option("--output", "-o", type=click.Path(), default=None,
              help="Write to FILE (.txt table, .csv, .json or .md), or to the folder DIR with --format scalesim.")
@click.option("--progress/--no-progress", default=True, show_default=True,
              help="Show progress of long work (stepping engine, --check) on stderr.")
def simulate(model, array, dataflow, sram, bandwidth, no_double_buffer, pipeline, on_chip, clock_mhz, batch, engine,
             check, mapper, objective, convention, config, tech, strict, fold_bn, input_size, fmt, output, progress):
    """Simulate MODEL (a zoo name or a model file, .onnx included) on an R x C systolic array, layer by layer:
    cycles, traffic and energy (per-access costs plus the design's static power from its area model)."""
    from accelsim.progress import stderr_phases
    from accelsim.report.simulate_view import render_simulation
    from accelsim.synth.area import area_breakdown
    from accelsim.systolic.simulate import simulate as run_simulation
    from accelsim.workload import resolve

    inputs = (model,) if config is None else (model, config)
    if fmt == "scalesim":
        if output is None:
            raise AccelsimError("output: --format scalesim writes three files: give the folder with --output DIR")
        if Path(output).exists() and not Path(output).is_dir():
            raise AccelsimError(f"output: {output} is a file: --format scalesim writes into a folder")
    else:
        if output is not None and Path(output).is_dir():
            raise AccelsimError(f"output: {output} is a folder: give a file name (or --format scalesim)")
        fmt = pick_format(fmt, output)
    cfg = _array_config(click.get_current_context(), config, array, dataflow, sram, bandwidth, no_double_buffer,
                        pipeline, clock_mhz, convention, on_chip)
    targets = _scalesim_targets(output) if fmt == "scalesim" else (output,)
    for target in targets:
        refuse_overwrite(target, inputs)
    net = resolve(model, strict, fold_bn, input_size)
    if convention == "scalesim":
        if check or engine != "fast" or mapper != "fixed":
            raise ConfigError("convention", "scalesim gives SCALE-Sim's cycle counts only: no --check, --engine or "
                                            "--mapper search")
        source = click.get_current_context().get_parameter_source
        flags = (("--pipeline/--no-pipeline", "pipeline"), ("--on-chip/--no-on-chip", "on_chip"),
                 ("--tech-node", "tech"))
        given = [flag for flag, param in flags if source(param) == ParameterSource.COMMANDLINE]
        if given:
            raise ConfigError("convention", f"scalesim keeps SCALE-Sim's own timing (serial folds, every layer "
                              f"through DRAM): {' and '.join(given)} do not apply")
        if fmt == "scalesim":
            from accelsim.compat.scalesim.reports import scalesim_rows

            _write_scalesim(output, scalesim_rows(net, cfg, batch), inputs)
            return
        from accelsim.compat.scalesim import scalesim_simulation
        from accelsim.report.simulate_view import render_scalesim

        layers, totals = scalesim_simulation(net, cfg, batch)
        write_output(render_scalesim(layers, totals, cfg, fmt), output, inputs=inputs)
        return
    area = area_breakdown(cfg, tech=tech, notify=lambda msg: click.echo(msg, err=True))
    sim = run_simulation(net, cfg, batch=batch, engine=engine, check=check, progress=stderr_phases(progress),
                         mapper=mapper, objective=objective, energy=tech.energy_table(), leakage_mW=area.leakage_mW)
    if fmt == "scalesim":
        from accelsim.compat.scalesim.reports import accelsim_rows

        _write_scalesim(output, accelsim_rows(sim), inputs)
    else:
        write_output(render_simulation(sim, fmt, area), output, inputs=inputs)
    if sim.mismatches:
        click.echo(f"accelsim: check failed: {len(sim.mismatches)} GEMM(s) differ from the int8 reference", err=True)
        sys.exit(1)


# The flags a SCALE-Sim .cfg can set, and the ArrayConfig fields each sets.
_CFG_FLAGS = {"array": ("rows", "cols"), "dataflow": ("dataflow",),
              "sram": ("ifmap_sram_kib", "filter_sram_kib", "ofmap_sram_kib"), "bandwidth": ("bandwidth",)}


def _array_config(ctx: click.Context, config: str | None, array: str, dataflow: str, sram: str, bandwidth: str,
                  no_double_buffer: bool, pipeline: bool, clock_mhz: str, convention: str,
                  on_chip: bool = True) -> ArrayConfig:
    """The ArrayConfig of the flags, over the SCALE-Sim ``--config`` file's values where the flag
    was not given on the command line. A value the file set that ArrayConfig refuses is reported
    at its line in the file."""
    rows, cols = parse_array(array)
    ifmap, filt, ofmap = parse_sram(sram)
    fields: dict[str, Any] = {
        "rows": rows, "cols": cols, "dataflow": dataflow, "ifmap_sram_kib": ifmap, "filter_sram_kib": filt,
        "ofmap_sram_kib": ofmap, "double_buffer": not no_double_buffer, "pipeline": pipeline,
        "bandwidth": parse_number("bandwidth", bandwidth), "clock_mhz": parse_number("clock_mhz", clock_mhz),
        "on_chip": on_chip}
    if config is None:
        return ArrayConfig(**fields)
    from accelsim.compat.scalesim.config import load_config

    scfg = load_config(config)
    if convention == "scalesim" and scfg.interface_bandwidth == "USER":
        raise scfg.error("interface_bandwidth", "USER (SCALE-Sim's stalling memory model) is not reproduced by "
                         "--convention scalesim: use CALC")
    explicit = {p for p in _CFG_FLAGS if ctx.get_parameter_source(p) in (ParameterSource.COMMANDLINE,
                                                                          ParameterSource.ENVIRONMENT)}
    from_file = {f: v for f, v in scfg.fields.items() if not any(f in _CFG_FLAGS[p] for p in explicit)}
    try:
        return ArrayConfig(**{**fields, **from_file})
    except ConfigError as e:
        if e.field in from_file:
            raise scfg.error(e.field, str(e).split(": ", 2)[-1]) from None
        raise


def _scalesim_targets(output: str) -> tuple[str, ...]:
    from accelsim.compat.scalesim.reports import REPORTS

    return tuple(str(Path(output) / name) for name in REPORTS)


def _write_scalesim(output: str, rows: list, inputs: tuple[str, ...]) -> None:
    """SCALE-Sim's three report files in the folder ``output`` (created if missing)."""
    from accelsim.compat.scalesim.reports import render
    from accelsim.workload.files import atomic_write_text

    folder = Path(output)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise AccelsimError(f"output: cannot write {output}: {e.strerror}") from None
    reports = render(rows)
    for name, text in reports.items():
        atomic_write_text(folder / name, text, "output")
    click.echo(f"wrote {', '.join(reports)} in {output}", err=True)
