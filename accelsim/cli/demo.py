"""`accelsim demo`: demonstrations on real data (`demo digits`: LeNet-5 on scikit-learn's digits)."""

from __future__ import annotations

import json

import click

from accelsim.cli.common import output_option, refuse_overwrite, write_output


@click.group()
def demo():
    """Demonstrations on real data."""


@demo.command()
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seed of the train/test split, the initial weights and the batch order.")
@click.option("--epochs", type=click.IntRange(min=1), default=8, show_default=True, help="Training epochs.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@output_option
def digits(seed, epochs, fmt, output):
    """Train LeNet-5 on scikit-learn's 8x8 digits (upsampled and padded to 32x32; 360 test images) with the
    project's im2col forward and backward GEMMs, quantize it to int8, and classify the test set in float32 and int8."""
    from accelsim.demo.digits import run

    refuse_overwrite(output, ())
    result = run(seed=seed, epochs=epochs,
                 progress=lambda epoch, loss: click.echo(f"epoch {epoch}/{epochs}: loss {loss:.4f}", err=True))
    s = result.summary()
    if fmt == "json":
        text = json.dumps(s, indent=2) + "\n"
    else:
        n = s["test_images"]
        text = (f"LeNet-5 on scikit-learn digits: {s['train_images']} training, {n} test images, seed {seed}, "
                f"{epochs} epochs ({s['train_seconds']:.1f} s)\n"
                f"accuracy float32: {s['accuracy_float']:.2%} ({round(s['accuracy_float'] * n)}/{n})\n"
                f"accuracy int8:    {s['accuracy_int8']:.2%} ({round(s['accuracy_int8'] * n)}/{n})\n")
    write_output(text, output)
