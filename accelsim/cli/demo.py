"""`accelsim demo`: demonstrations on real data (`demo digits`: LeNet-5 on scikit-learn's digits)."""

from __future__ import annotations

import json
import sys

import click

from accelsim.cli.common import output_option, refuse_overwrite, write_output
from accelsim.cli.cosim import FAST_ESTIMATE_SECONDS
from accelsim.errors import AccelsimError

DEFAULT_ARRAY = "8x8"  # as quick as 16x16 once built (benchmarks/bench_demo_digits.py), and a quicker build


@click.group()
def demo():
    """Demonstrations on real data."""


@demo.command()
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seed of the train/test split, the initial weights and the batch order.")
@click.option("--epochs", type=click.IntRange(min=1), default=8, show_default=True, help="Training epochs.")
@click.option("--array", default=DEFAULT_ARRAY, show_default=True, metavar="RxC",
              help="Array rows x columns of the RTL the int8 network runs on (WS, pipelined, int8 output stage).")
@click.option("--no-rtl", is_flag=True, help="Skip the classification through the RTL (no Verilator, or for speed).")
@click.option("--progress/--no-progress", default=True, show_default=True,
              help="Show the RTL build and the RTL cycles played on stderr.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@output_option
def digits(seed, epochs, array, no_rtl, progress, fmt, output):
    """Train LeNet-5 on scikit-learn's 8x8 digits (upsampled and padded to 32x32; 360 test images) with the
    project's im2col forward and backward GEMMs, quantize it to int8, and classify the test set three ways:
    float32, int8, and int8 through the Verilog RTL (every conv/linear layer's GEMMs and output stage on the
    simulated array, the layers between them in numpy on its outputs). Exit code 1 when the RTL differs from
    the model on any GEMM (values or output cycles)."""
    from accelsim.demo import digits as demo_digits
    from accelsim.hardware.config import parse_array
    from accelsim.rtlsim import simulator_missing

    refuse_overwrite(output, ())
    rows, cols = parse_array(array)
    skipped = "--no-rtl" if no_rtl else None
    if not no_rtl and (reason := simulator_missing("verilator")):
        raise AccelsimError(f"demo digits: the RTL part needs Verilator: {reason}; or pass --no-rtl")

    def say(text: str) -> None:
        click.echo(text, err=True)

    result = demo_digits.run(seed=seed, epochs=epochs,
                             progress=lambda epoch, loss: say(f"epoch {epoch}/{epochs}: loss {loss:.4f}"))
    if skipped is None:
        result = _through_rtl(result, demo_digits, rows, cols, say, progress)
    else:
        from dataclasses import replace

        result = replace(result, rtl_skipped=skipped)
    if fmt == "json":
        text = json.dumps(result.summary(), indent=2) + "\n"
    else:
        n, r = result.test_images, result.rtl

        def acc(fraction: float) -> str:
            return f"{fraction:.2%} ({round(fraction * n)}/{n})"

        text = (f"LeNet-5 on scikit-learn digits: {result.train_images} training, {n} test images, seed {seed}, "
                f"{epochs} epochs ({result.train_seconds:.1f} s)\n"
                f"accuracy float32: {acc(result.accuracy_float)}\n"
                f"accuracy int8:    {acc(result.accuracy_int8)}\n")
        if r is None:
            text += f"accuracy RTL:     skipped ({result.rtl_skipped})\n"
        else:
            text += (f"accuracy RTL:     {acc(r.accuracy)} on the {r.array} array ({r.tiles:,} tiles, "
                     f"{r.rtl_cycles:,} RTL cycles, {r.wall_s:.1f} s)\n"
                     f"RTL and int8 disagree on {r.disagreements} of {n} test images\n")
    write_output(text, output)


def _through_rtl(result, demo_digits, rows: int, cols: int, say, progress: bool):
    """``result`` with the RTL's classification; exit code 1 (one line per difference) on a mismatch."""
    from dataclasses import replace

    from accelsim.progress import format_duration, stderr_progress
    from accelsim.rtlsim.harness import build_harness, harness_dir

    cfg = demo_digits.rtl_config(rows, cols)
    data = demo_digits.load(result.seed)
    seconds, cycles, folds = demo_digits.rtl_estimate(cfg, len(data.y_test))
    if seconds > FAST_ESTIMATE_SECONDS:
        say(f"demo digits: the RTL part is estimated at {format_duration(seconds)} ({cycles:,} RTL cycles, {folds:,} "
            f"tiles on {rows}x{cols}, the build excluded); --no-rtl skips it")
    with stderr_progress(f"building {harness_dir(cfg).name}", None, enabled=progress, transient=True):
        build_harness(cfg)
    try:
        with stderr_progress("RTL cycles", None, enabled=progress, transient=True) as bar:
            rtl = demo_digits.classify_rtl(result.qnet, data.x_test, data.y_test, result.predictions_int8, cfg,
                                           progress=bar)
    except demo_digits.RtlMismatch as e:
        for line in str(e).splitlines():
            click.echo(f"accelsim: demo digits: the RTL differs from the model: {line}", err=True)
        sys.exit(1)
    return replace(result, rtl=rtl)
