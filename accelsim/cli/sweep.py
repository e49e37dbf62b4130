"""`accelsim sweep` (a design-space grid into a resumable SQLite file) and `accelsim export`."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click

from accelsim.cli.common import rejected_option
from accelsim.errors import AccelsimError
from accelsim.hardware.config import ENGINES

# flag -> spec key; each flag takes a comma list, read with the spec's YAML scalar rules, except
# --sram (repeatable, one IFMAP,FILTER,OFMAP triple each) and --engine (one value).
AXIS_FLAGS = {
    "model": "model", "batch": "batch", "array": "array", "rows": "rows", "cols": "cols",
    "dataflow": "dataflow", "sram": "sram_kib", "double_buffer": "double_buffer", "pipeline": "pipeline",
    "on_chip": "on_chip",
    "bandwidth": "bandwidth",
    "clock_mhz": "clock_mhz", "data_bits": "data_bits", "acc_bits": "acc_bits", "out_bits": "out_bits",
    "engine": "engine", "mapper": "mapper", "objective": "objective", "tech_node_nm": "tech_node_nm",
}


STORE_EXTENSIONS = (".db", ".sqlite", ".sqlite3", "")  # "" : a name without an extension


def _scalar(text: str):
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        v = YAML(typ="safe").load(text)
    except YAMLError:
        return text
    return text if isinstance(v, (dict, list)) or v is None else v


def _flag_values(key: str, value):
    if key == "sram_kib":  # each --sram is one IFMAP,FILTER,OFMAP triple, parsed by the spec's rules
        return list(value)
    if key == "engine":
        return value
    items = [t.strip() for t in value.split(",")]
    if key == "model":
        return items
    return [_scalar(t) for t in items]


def build_spec(spec_file: str | None, flags: dict, name: str | None):
    """The spec file (if any) with the axes given as flags replacing its own."""
    from accelsim.dse.spec import read_spec_doc, spec_from_mapping

    if spec_file:
        doc, source, base = read_spec_doc(spec_file)
    else:
        doc, source, base = {}, "command line", "."
    given = {AXIS_FLAGS[k]: _flag_values(AXIS_FLAGS[k], v) for k, v in flags.items() if v not in (None, ())}
    if given and spec_file:
        source = f"{source} + command line"
    doc.update(given)
    if name:
        doc["name"] = name
    if not spec_file and "model" not in doc:
        raise AccelsimError("sweep: give a SPEC file or at least --model (and the axes to sweep)")
    return spec_from_mapping(doc, source, base)


def invocation() -> str | None:
    """The command line as typed, when run as `accelsim ...` (for the report's provenance)."""
    if Path(sys.argv[0]).name != "accelsim":
        return None
    return "accelsim " + shlex.join(sys.argv[1:])


def _axis(flag: str, help_: str):
    return click.option(f"--{flag.replace('_', '-')}", flag, metavar="LIST", default=None, help=help_)


@click.command()
@click.argument("spec_file", metavar="[SPEC.yaml]", required=False, type=click.Path(dir_okay=False))
@click.option("--output", "-o", required=True, type=click.Path(dir_okay=False), help="Results database (SQLite).")
@_axis("model", "Networks: zoo names or model files, comma-separated.")
@_axis("batch", "Batch sizes.")
@_axis("array", "Array shapes ROWSxCOLS, e.g. 16x16,32x64.")
@_axis("rows", "Array rows (crossed with --cols).")
@_axis("cols", "Array columns (crossed with --rows).")
@_axis("dataflow", "Dataflows: os, ws, is.")
@click.option("--sram", "sram", metavar="IFMAP,FILTER,OFMAP", multiple=True,
              help="SRAM sizes in KiB per buffer, e.g. 256,256,128; repeat for several design points.")
@rejected_option("--sram-kib", "is gone: give --sram IFMAP,FILTER,OFMAP (KiB per buffer), once per design point")
@_axis("double_buffer", "Double buffering: true, false.")
@_axis("pipeline", "Fold issue: true (pipelined), false (serial).")
@_axis("on_chip", "Layers that stay on chip (docs/microarchitecture.md): true, false.")
@_axis("bandwidth", "DRAM bytes per cycle (each direction).")
@_axis("clock_mhz", "Clock in MHz.")
@_axis("data_bits", "Operand width in bits.")
@_axis("acc_bits", "Accumulator width in bits.")
@_axis("out_bits", "Output element width in bits (DRAM).")
@_axis("mapper", "Each layer's mapping: fixed (the dataflow's, default), search (the best per layer).")
@_axis("objective", "What the mapping search minimizes: cycles, energy, edp (default).")
@_axis("tech_node_nm", "Technology nodes in nm (45 default, 32, 20, 16, 14, 10, 7): area, leakage, energy scaled.")
@click.option("--engine", type=click.Choice(ENGINES), default=None,
              help="Timing engine: fast (closed form, default) or stepping (cycle by cycle).")
@click.option("--name", default=None, help="Sweep name (default: the spec's, else 'sweep').")
@click.option("--scheduler", default=None, metavar="tcp://HOST:PORT",
              help="Run on this Dask scheduler (its workers must run the same accelsim version).")
@click.option("--workers", type=click.IntRange(min=0), default=None,
              help="Worker processes of an embedded Dask cluster, at most the cores (default: automatic, in this "
                   "process unless the sweep is long enough for a cluster to pay; 0 = never Dask).")
@click.option("--chunk-size", type=click.IntRange(min=1), default=None, help="Points per task (default: automatic).")
@click.option("--retry-errors", is_flag=True, help="Evaluate again the points stored as failed.")
@click.option("--export", "exports", multiple=True, type=click.Path(dir_okay=False),
              help="Afterwards, also write all points to FILE (.csv or .parquet); repeatable.")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Show the progress bar.")
@click.option("--keep-superseded", is_flag=True,
              help="Keep the rows of designs computed with another energy table or accelsim version, tagged "
                   "superseded (default: replace them).")
def sweep(spec_file, output, name, scheduler, workers, chunk_size, retry_errors, exports, progress, keep_superseded,
          **axes):
    """Simulate every point of a design-space grid and store each in OUTPUT as it finishes.

    The grid comes from SPEC.yaml (see examples/vgg16-sweep.yaml), from the axis flags (comma
    lists), or both (flags replace the spec's axes). Points already in OUTPUT are skipped, so an
    interrupted sweep resumes when run again.
    """
    from accelsim.dse.run import DEFAULT_WORKERS, check_address, run_sweep
    from accelsim.dse.store import check_export, export
    from accelsim.progress import stderr_progress
    from accelsim.workload.files import same_file

    if Path(output).suffix.lower() not in STORE_EXTENSIONS:
        raise AccelsimError(f"output: {output}: the results store is an SQLite file "
                            f"({', '.join(e for e in STORE_EXTENSIONS if e)}); for CSV or Parquet add --export FILE")
    for path in exports:
        check_export(path, output, *([spec_file] if spec_file else []))
    if spec_file and same_file(output, spec_file):
        raise AccelsimError(f"output: {output} is the spec file itself: refusing to overwrite it")
    if scheduler and check_address(scheduler) == "inproc":
        raise AccelsimError(f"scheduler: {scheduler}: inproc:// addresses exist only inside one Python process; "
                            f"give tcp://HOST:PORT")
    spec = build_spec(spec_file, axes, name)
    try:
        with stderr_progress(spec.name, None, enabled=progress) as bar:
            summary = run_sweep(spec, output, scheduler=scheduler,
                                workers=DEFAULT_WORKERS if workers is None else workers, chunk_size=chunk_size,
                                retry_errors=retry_errors, progress=bar, notes=bar.note, command=invocation(),
                                keep_superseded=keep_superseded)
    except KeyboardInterrupt:
        click.echo(f"accelsim: interrupted; finished points are saved in {output}: run the same command to resume",
                   err=True)
        sys.exit(130)
    click.echo(summary.line(), err=True)
    for path in exports:
        n = export(output, path)
        click.echo(f"wrote {path} ({n} points)", err=True)


@click.command("export")
@click.argument("results", type=click.Path(dir_okay=False))
@click.argument("outputs", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--ok-only", is_flag=True, help="Leave out the failed points.")
def export_cmd(results, outputs, ok_only):
    """Write the points of a results database to OUTPUTS (.csv or .parquet)."""
    from accelsim.dse.store import check_export, export

    for path in outputs:
        check_export(path, results)
    for path in outputs:
        n = export(results, path, errors=not ok_only)
        click.echo(f"wrote {path} ({n} points)", err=True)
