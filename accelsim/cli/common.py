"""Helpers every `accelsim` subcommand shares: the one-line error group, output writing, options."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from accelsim.errors import AccelsimError
from accelsim.hardware.config import MAPPERS, MAX_BATCH, OBJECTIVES
from accelsim.report.formats import FORMATS
from accelsim.workload.files import same_file


class Cli(click.Group):
    """Turns AccelsimError and click's usage errors (bad option values, unknown options) into one
    line and exit code 2, never a traceback (an error listing several problems, such as a sweep
    spec's, gives one line per problem)."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except AccelsimError as e:
            for line in str(e).splitlines() or [""]:
                click.echo(f"accelsim: error: {line}", err=True)
            sys.exit(2)
        except click.UsageError as e:
            where = e.ctx.command_path if e.ctx else "accelsim"
            message = " ".join(e.format_message().split())
            click.echo(f"accelsim: error: {message} (see '{where} --help')", err=True)
            sys.exit(e.exit_code)


def write_output(text: str, output: str | None, inputs: tuple[str, ...] = ()) -> None:
    """Print, or write to ``output`` (creating its folder) through a temporary file renamed into
    place. An ``output`` that is one of the command's ``inputs`` (the same file, however spelt) is
    refused: a report never overwrites the model file it was made from."""
    if output is None:
        click.echo(text, nl=False)
        return
    from accelsim.workload.files import atomic_write_text

    refuse_overwrite(output, inputs)
    path = Path(output)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise AccelsimError(f"output: cannot write {output}: {e.strerror}") from None
    atomic_write_text(path, text, "output")
    click.echo(f"wrote {output}", err=True)


def refuse_overwrite(output: str | None, inputs: tuple[str, ...]) -> None:
    """One line if ``output`` is one of ``inputs`` (the same file, however spelt); call it before the work."""
    if output is None:
        return
    for given in inputs:
        if same_file(output, given):
            raise AccelsimError(f"output: {output} is the input file {given}: refusing to overwrite it")


def format_option(f):
    return click.option(
        "--format", "fmt", type=click.Choice(FORMATS), default=None,
        help="Output format (default: from --output's extension, else table).",
    )(f)


# The file extension each format writes (a name without an extension takes any format).
EXTENSIONS = {"table": ".txt", "csv": ".csv", "json": ".json", "md": ".md"}


def pick_format(fmt: str | None, output: str | None) -> str:
    """``--format``, else the one ``--output``'s extension names, else table. An extension the
    format cannot write (``-o out.xlsx``, ``--format json -o out.csv``) is refused."""
    ext = Path(output).suffix.lower() if output else ""
    by_ext = {e: f for f, e in EXTENSIONS.items()}
    if ext and ext not in by_ext:
        known = ", ".join(f"{e} ({f})" for f, e in EXTENSIONS.items())
        raise AccelsimError(f"output: {output}: cannot write {ext} files (extensions: {known})")
    if fmt and ext and by_ext[ext] != fmt:
        raise AccelsimError(f"output: {output}: --format {fmt} writes {EXTENSIONS[fmt]} files, not {ext}")
    return fmt or by_ext.get(ext, "table")


def rejected_option(name: str, advice: str):
    """A hidden option kept only to refuse an old spelling with one line naming the new one."""

    def refuse(ctx, param, value):
        if value is not None and value != ():
            raise AccelsimError(f"{ctx.info_name}: {name} {advice}")
        return value

    return click.option(name, f"_rejected_{name.strip('-').replace('-', '_')}", hidden=True, default=None,
                        expose_value=False, is_eager=True, callback=refuse)


model_argument = click.argument("model", metavar="MODEL")
batch_option = click.option("--batch", type=click.IntRange(min=1), default=1, show_default=True, help="Batch size.")
# Simulation holds per-fold state: its batch has an upper bound (profiling is exact arithmetic: none).
sim_batch_option = click.option("--batch", type=click.IntRange(1, MAX_BATCH), default=1, show_default=True,
                                help=f"Batch size (1 to {MAX_BATCH}).")
strict_option = click.option("--strict", is_flag=True, help="Reject strides that leave a remainder.")
fold_bn_option = click.option("--fold-bn/--no-fold-bn", "fold_bn", default=None,
                              help="Fold each batchnorm2d (BatchNormalization) into the conv before it "
                                   "(default: on for .onnx models, off otherwise).")


def _input_size(ctx, param, value):
    from accelsim.workload.network import parse_input_shape

    return None if value is None else parse_input_shape(value, "--input-size")


input_size_option = click.option(
    "--input-size", "input_size", default=None, metavar="CxHxW", callback=_input_size,
    help="Run a zoo model on another input size, e.g. 3x32x32 (TxF for bert-base-encoder); models whose "
         "linear layers fix the size (LeNet-5, AlexNet, VGG) refuse other sizes.")
pipeline_option = click.option(
    "--pipeline/--no-pipeline", default=True, show_default=True,
    help="Issue folds pipelined (the next fold's beats as soon as the array can take them) or serially "
         "(after the previous fold's done).")
def _tech_node(ctx, param, value):
    """The node as a ``Technology`` (validated there: one line naming tech_node_nm and the nodes offered).
    Imported here, not at the top: ``accelsim.energy`` brings pandas, which --help and --version do without."""
    from accelsim.energy.table import Technology

    return Technology(value)


tech_node_option = click.option(
    "--tech-node", "tech", type=int, default=45, show_default=True, metavar="NM", callback=_tech_node,
    help="Technology node in nm (45, 32, 20, 16, 14, 10 or 7): the 45 nm area, energy and leakage figures scaled "
         "by Stillmaker & Baas 2017 (accelsim/energy/table.py).")
mapper_option = click.option(
    "--mapper", type=click.Choice(MAPPERS), default="fixed", show_default=True,
    help="Each conv/linear layer's mapping: the --dataflow's fixed one, or searched per layer (dataflow, fold "
         "order, chunk S) by --objective with the fast model.")
objective_option = click.option(
    "--objective", type=click.Choice(OBJECTIVES), default="edp", show_default=True,
    help="What --mapper search minimizes: network cycles, energy, or the energy-delay product.")
output_option = click.option("--output", "-o", type=click.Path(dir_okay=False), default=None,
                             help="Write to FILE (.txt table, .csv, .json or .md).")
