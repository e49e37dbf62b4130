"""`accelsim models` and `accelsim profile`: the zoo and per-layer budgets."""

from __future__ import annotations

import click

from accelsim.cli.common import (
    batch_option,
    fold_bn_option,
    format_option,
    input_size_option,
    model_argument,
    output_option,
    pick_format,
    refuse_overwrite,
    strict_option,
    write_output,
)


@click.command()
def models():
    """List the network zoo."""
    import textwrap

    from accelsim.report.formats import TABLE_WIDTH
    from accelsim.workload import ZOO

    width = max(map(len, ZOO))
    for name, build in ZOO.items():
        net = build()
        doc = (build.__doc__ or "").strip().splitlines()[0] if build.__doc__ else ""
        head = f"{name:<{width}} {'x'.join(map(str, net.input_shape)):<11} {net.params:>11,} params  "
        click.echo(textwrap.fill(doc, TABLE_WIDTH, initial_indent=head, subsequent_indent=" " * len(head)))


@click.command()
@model_argument
@batch_option
@click.option("--dtype", type=click.Choice(["int8", "fp16", "fp32"]), default="fp32", show_default=True,
              help="Element type for activation and weight bytes (fp32, as torchinfo reports).")
@click.option("--training", is_flag=True, help="Add the backward (weight- and input-gradient) GEMMs.")
@strict_option
@fold_bn_option
@input_size_option
@format_option
@output_option
def profile(model, batch, dtype, training, strict, fold_bn, input_size, fmt, output):
    """Per-layer budget of MODEL: a zoo name or a model file (.csv SCALE-Sim topology, .yaml, .json, .onnx)."""
    from accelsim.report.profile_view import render_profile
    from accelsim.workload import resolve
    from accelsim.workload.fold import is_onnx
    from accelsim.workload.profile import profile as run_profile
    from accelsim.workload.profile import totals

    fmt = pick_format(fmt, output)
    refuse_overwrite(output, (model,))
    # BN layers are folded by the profile, which reports how the parameter count changes: a zoo's or
    # model file's with --fold-bn, an .onnx file's unless --no-fold-bn (imported with its BN kept)
    onnx = is_onnx(model)
    here = fold_bn is not False if onnx else bool(fold_bn)
    net = resolve(model, strict, False if onnx else (None if here else fold_bn), input_size)
    df = run_profile(net, batch=batch, dtype=dtype, training=training, fold_bn=here)
    write_output(render_profile(df, totals(df), fmt), output, inputs=(model,))
