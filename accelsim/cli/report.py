"""`accelsim report`: Markdown + HTML + PNG figures of a sweep's results database."""

from __future__ import annotations

from pathlib import Path

import click

from accelsim.cli.common import rejected_option
from accelsim.cli.simulate import parse_sram
from accelsim.cli.sweep import invocation
from accelsim.errors import AccelsimError
from accelsim.hardware.config import DATAFLOWS, MAPPERS, OBJECTIVES, ConfigError, parse_array
from accelsim.report.formats import SELECT_BY


def _array(ctx, param, value):
    if value is None:
        return None
    try:
        return parse_array(value)
    except ConfigError as e:
        raise AccelsimError(f"report: --array: {str(e).split(': ', 2)[-1]}") from None


def _sram(ctx, param, value):
    if value is None:
        return None
    try:
        return parse_sram(value)
    except ConfigError as e:
        raise AccelsimError(f"report: --sram: {str(e).split(': ', 2)[-1]}") from None


@click.command()
@click.option("--from", "results", required=True, type=click.Path(dir_okay=False),
              help="Results database of `accelsim sweep`.")
@click.option("--output", "-o", type=click.Path(file_okay=False), default=None,
              help="Report folder (default: reports/<sweep name>/).")
@click.option("--network", default=None, help="Network of the detailed sections (default: the best point's).")
@click.option("--batch", type=click.IntRange(min=1), default=None, help="Select this batch size.")
@click.option("--array", default=None, callback=_array, metavar="RxC", help="Select this array shape.")
@click.option("--dataflow", type=click.Choice(DATAFLOWS), default=None, help="Select this dataflow.")
@click.option("--bandwidth", type=float, default=None, help="Select this DRAM bandwidth (bytes/cycle).")
@click.option("--clock-mhz", type=float, default=None, help="Select this clock.")
@click.option("--sram", default=None, callback=_sram, metavar="IFMAP,FILTER,OFMAP",
              help="Select these SRAM sizes in KiB per buffer, e.g. 256,256,128.")
@rejected_option("--sram-kib", "is gone: give --sram IFMAP,FILTER,OFMAP (KiB per buffer)")
@click.option("--double-buffer/--single-buffer", default=None, help="Select double or single buffering.")
@click.option("--pipeline/--no-pipeline", default=None, help="Select pipelined or serial folds.")
@click.option("--mapper", type=click.Choice(MAPPERS), default=None, help="Select this mapper.")
@click.option("--objective", type=click.Choice(OBJECTIVES), default=None, help="Select this mapping objective.")
@click.option("--tech-node-nm", type=int, default=None, help="Select this technology node (nm).")
@click.option("--select-by", type=click.Choice(SELECT_BY), default="edp", show_default=True,
              help="Which of the selected points the report details: the lowest energy-delay product, the knee of "
                   "the latency-energy front, or the lowest latency.")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Show progress on stderr.")
def report(results, output, network, batch, array, dataflow, bandwidth, clock_mhz, sram, double_buffer, pipeline,
           mapper, objective, tech_node_nm, select_by, progress):
    """Write the design-space report of the sweep results in --from: the Pareto fronts of latency vs
    energy, latency vs area, energy vs area and EDP vs area; per-layer cycles, utilization and mappings
    of one design point (by --select-by among those the other flags select) and why it was chosen; its
    roofline, a utilization heatmap, per-layer memory and parameters. Markdown, a self-contained HTML
    page, and every figure as PNG, SVG and PDF."""
    from accelsim.dse.store import load_meta
    from accelsim.progress import stderr_progress
    from accelsim.report.dse_report import REPORT_STEPS, build_report

    select = {"network": network, "batch": batch, "dataflow": dataflow, "bandwidth": bandwidth, "clock_mhz": clock_mhz,
              "double_buffer": double_buffer, "pipeline": pipeline, "mapper": mapper, "objective": objective,
              "tech_node_nm": tech_node_nm}
    if array:
        select["rows"], select["cols"] = array
    if sram:
        select["ifmap_sram_kib"], select["filter_sram_kib"], select["ofmap_sram_kib"] = sram
    if output is None:
        from accelsim.dse.spec import safe_name

        name = load_meta(results).get("last_sweep", Path(results).stem)
        output = str(Path("reports") / safe_name(str(name), safe_name(Path(results).stem)))
    try:
        with stderr_progress("report (steps)", REPORT_STEPS, enabled=progress) as bar:
            paths = build_report(results, output, select, command=invocation(), progress=bar, select_by=select_by)
    except OSError as e:
        raise AccelsimError(f"report: cannot write {e.filename or output}: {e.strerror or e}") from None
    click.echo(f"wrote {len(paths)} files to {output}/ ({', '.join(p.name for p in paths)})", err=True)
