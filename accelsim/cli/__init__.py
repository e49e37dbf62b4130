"""The `accelsim` command line (click). Bad input: one line on stderr, exit code 2."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from accelsim import __version__
from accelsim.errors import AccelsimError
from accelsim.report.tables import FORMATS


class Cli(click.Group):
    """Turns AccelsimError and click's usage errors (bad option values, unknown options) into one
    line and exit code 2, never a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except AccelsimError as e:
            click.echo(f"accelsim: error: {e}", err=True)
            sys.exit(2)
        except click.UsageError as e:
            where = e.ctx.command_path if e.ctx else "accelsim"
            message = " ".join(e.format_message().split())
            click.echo(f"accelsim: error: {message} (see '{where} --help')", err=True)
            sys.exit(e.exit_code)


@click.group(cls=Cli, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="accelsim")
def main():
    """CNN workload profiling and cycle-exact systolic-array simulation."""


def write_output(text: str, output: str | None) -> None:
    """Print, or write to ``output`` (creating its folder)."""
    if output is None:
        click.echo(text, nl=False)
        return
    path = Path(output)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    except OSError as e:
        raise AccelsimError(f"output: cannot write {output}: {e.strerror}") from None
    click.echo(f"wrote {output}", err=True)


def format_option(f):
    return click.option(
        "--format", "fmt", type=click.Choice(FORMATS), default=None,
        help="Output format (default: from --output's extension, else table).",
    )(f)


def pick_format(fmt: str | None, output: str | None) -> str:
    if fmt:
        return fmt
    ext = Path(output).suffix.lower().lstrip(".") if output else ""
    return {"csv": "csv", "json": "json", "md": "md"}.get(ext, "table")


model_argument = click.argument("model", metavar="MODEL")
batch_option = click.option("--batch", type=click.IntRange(min=1), default=1, show_default=True, help="Batch size.")
strict_option = click.option("--strict", is_flag=True, help="Reject strides that leave a remainder.")
output_option = click.option("--output", "-o", type=click.Path(dir_okay=False), default=None, help="Write to FILE.")


@main.command()
def models():
    """List the network zoo."""
    import textwrap

    from accelsim.report.tables import TABLE_WIDTH
    from accelsim.workload import ZOO

    for name, build in ZOO.items():
        net = build()
        doc = (build.__doc__ or "").strip().splitlines()[0] if build.__doc__ else ""
        head = f"{name:<12} {'x'.join(map(str, net.input_shape)):<11} {net.params:>13,} params  "
        click.echo(textwrap.fill(doc, TABLE_WIDTH, initial_indent=head, subsequent_indent=" " * len(head)))


@main.command()
@model_argument
@batch_option
@click.option("--dtype", type=click.Choice(["int8", "fp16", "fp32"]), default="int8", show_default=True,
              help="Element type for activation and weight bytes.")
@click.option("--training", is_flag=True, help="Add the backward (weight- and input-gradient) GEMMs.")
@strict_option
@format_option
@output_option
def profile(model, batch, dtype, training, strict, fmt, output):
    """Per-layer budget of MODEL: a zoo name or a model file (.csv SCALE-Sim topology, .yaml, .json)."""
    from accelsim.report.profile_view import render_profile
    from accelsim.workload import resolve
    from accelsim.workload.profile import profile as run_profile
    from accelsim.workload.profile import totals

    df = run_profile(resolve(model, strict), batch=batch, dtype=dtype, training=training)
    write_output(render_profile(df, totals(df), pick_format(fmt, output)), output)


# Subcommands that live in their own modules (imported last: they use the helpers above).
from accelsim.cli.cosim import cosim  # noqa: E402
from accelsim.cli.report import report  # noqa: E402
from accelsim.cli.simulate import simulate  # noqa: E402
from accelsim.cli.sweep import export_cmd, sweep  # noqa: E402

for _command in (simulate, cosim, sweep, export_cmd, report):
    main.add_command(_command)
