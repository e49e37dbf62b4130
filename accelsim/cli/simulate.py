"""`accelsim simulate`: run a network on the systolic array and report cycles, utilization and traffic."""

from __future__ import annotations

import math
import sys

import click

from accelsim.cli.common import (
    fold_bn_option,
    format_option,
    model_argument,
    output_option,
    pick_format,
    refuse_overwrite,
    rejected_option,
    sim_batch_option,
    strict_option,
    write_output,
)
from accelsim.hardware.config import DATAFLOWS, ENGINES, ArrayConfig, ConfigError, parse_array


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
@click.option("--clock-mhz", default="1000", show_default=True, metavar="MHZ", help="Clock in MHz (for ms and TOPS).")
@sim_batch_option
@click.option("--engine", type=click.Choice(ENGINES), default="fast", show_default=True,
              help="Timing engine: closed form, or the cycle-by-cycle golden (slow; small networks).")
@rejected_option("--model", "is not an option here: the network is the positional MODEL; the timing engine "
                            "is --engine fast|stepping")
@click.option("--check", is_flag=True, help="Run the int8 numbers through the array and compare bit for bit.")
@click.option("--convention", type=click.Choice(["accelsim", "scalesim"]), default="accelsim", show_default=True,
              help="Timing convention: ours (docs/microarchitecture.md) or SCALE-Sim 3.0.0's, reproduced exactly.")
@strict_option
@fold_bn_option
@format_option
@output_option
@click.option("--progress/--no-progress", default=True, show_default=True,
              help="Show progress of long work (stepping engine, --check) on stderr.")
def simulate(model, array, dataflow, sram, bandwidth, no_double_buffer, clock_mhz, batch, engine, check, convention,
             strict, fold_bn, fmt, output, progress):
    """Simulate MODEL (a zoo name or a model file, .onnx included) on an R x C systolic array, layer by layer."""
    from accelsim.progress import stderr_phases
    from accelsim.report.simulate_view import render_simulation
    from accelsim.systolic.simulate import simulate as run_simulation
    from accelsim.workload import resolve

    fmt = pick_format(fmt, output)
    rows, cols = parse_array(array)
    ifmap, filt, ofmap = parse_sram(sram)
    cfg = ArrayConfig(rows=rows, cols=cols, dataflow=dataflow, ifmap_sram_kib=ifmap, filter_sram_kib=filt,
                      ofmap_sram_kib=ofmap, double_buffer=not no_double_buffer,
                      bandwidth=parse_number("bandwidth", bandwidth), clock_mhz=parse_number("clock_mhz", clock_mhz))
    refuse_overwrite(output, (model,))
    net = resolve(model, strict, fold_bn)
    if convention == "scalesim":
        if check or engine != "fast":
            raise ConfigError("convention", "scalesim gives SCALE-Sim's cycle counts only: no --check or --engine")
        from accelsim.compat.scalesim import scalesim_simulation
        from accelsim.report.simulate_view import render_scalesim

        layers, totals = scalesim_simulation(net, cfg, batch)
        write_output(render_scalesim(layers, totals, cfg, fmt), output, inputs=(model,))
        return
    sim = run_simulation(net, cfg, batch=batch, engine=engine, check=check, progress=stderr_phases(progress))
    write_output(render_simulation(sim, fmt), output, inputs=(model,))
    if sim.mismatches:
        click.echo(f"accelsim: check failed: {len(sim.mismatches)} GEMM(s) differ from the int8 reference", err=True)
        sys.exit(1)
