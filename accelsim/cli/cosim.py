"""`accelsim cosim`: run GEMMs or a network's layers on the Verilog RTL and check them against the model."""

from __future__ import annotations

import json
import re
import sys

import click

from accelsim.errors import AccelsimError
from accelsim.hardware.config import DATAFLOWS, ArrayConfig, parse_array

SIMULATOR_CHOICES = ("verilator", "icarus")


def parse_gemm(text: str) -> tuple[int, int, int]:
    m = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
    if not m or 0 in (dims := tuple(int(g) for g in m.groups())):
        raise AccelsimError(f"--gemm: expected MxKxN with positive sizes such as 64x27x16, got {text!r}")
    return dims


def _render(s: dict) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    console = Console(width=110)
    t = s["totals"]
    table = Table(box=box.SIMPLE_HEAD, title=f"accelsim cosim: {s['workload']} on {s['array']} {s['dataflow'].upper()} "
                                           f"({s['simulator']})")
    for head in ("GEMM", "MxKxN", "tiles", "mismatched", "wrong C", "model cycles", "RTL cycles", ""):
        table.add_column(head, justify="left" if head in ("GEMM", "MxKxN", "") else "right")
    for g in s["gemms"]:
        table.add_row(g["layer"], f"{g['gemm_m']}x{g['gemm_k']}x{g['gemm_n']}", f"{g['folds']:,}",
                      f"{g['mismatched_folds']:,}",
                      f"{g['wrong_elements']:,}", f"{g['model_cycles']:,}", f"{g['rtl_cycles']:,}",
                      "[green]ok[/]" if g["ok"] else "[red]MISMATCH[/]")
    console.print(table)
    rate = f", {t['cycles_per_second']:,} cycles/s (RTL and model in lock step)" if t["cycles_per_second"] else ""
    console.print(f"tiles {t['folds_run']:,}/{t['folds']:,}, mismatched tiles {t['mismatched_folds']:,}, "
                  f"wrong C elements {t['wrong_elements']:,}; compute cycles model {t['model_cycles']:,} vs "
                  f"RTL {t['rtl_cycles']:,} (no DRAM stalls); simulated in {t['sim_seconds']:.1f} s{rate}")
    for e in s["errors"][:10]:
        console.print(f"[red]{e}[/]", markup=True, highlight=False)
    if s["waves"]["rtl"] or s["waves"]["model"]:
        console.print(f"waves: RTL {s['waves']['rtl']}, model {s['waves']['model']}")
    d = s.get("first_divergence")
    if d:
        console.print(f"first divergence in the waves at {d['time_ns']:g} ns: {d['signal']} RTL {d['rtl']} vs "
                      f"model {d['model']}", highlight=False)
    console.print("[green]PASS[/]: RTL matches the model bit for bit and cycle for cycle" if s["ok"]
                  else "[red]FAIL[/]: RTL and model differ")


@click.command()
@click.option("--gemm", metavar="MxKxN", help="A random int GEMM (seeded) of this size.")
@click.option("--model", metavar="MODEL", help="Every conv/linear layer of a zoo network's int8 forward pass "
              "(e.g. lenet5).")
@click.option("--array", default="8x8", show_default=True, metavar="RxC", help="Array rows x columns.")
@click.option("--dataflow", type=click.Choice(DATAFLOWS), default="ws", show_default=True)
@click.option("--acc-bits", type=int, default=32, show_default=True, help="Accumulator width ACC_W (--gemm only).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the operands / network.")
@click.option("--simulator", type=click.Choice(SIMULATOR_CHOICES), default="verilator", show_default=True)
@click.option("--waves", is_flag=True, help="Write RTL waves (Verilator VCD, Icarus FST) and the model's VCD "
              "into the run folder under the build dir (in the user cache; see README).")
@click.option("--golden", default=None, metavar="MODULE:CLASS",
              help="Model to check the RTL against, with ArrayCore's interface [default: ArrayCore].")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def cosim(gemm, model, array, dataflow, acc_bits, seed, simulator, waves, golden, fmt):
    """Co-simulate the RTL against the stepping model: every tile bit- and cycle-exact.

    All tiles run back to back in one simulator run. Exit code 0 only when every tile's outputs
    and output cycles match the model and the assembled results equal the integer reference;
    1 on any mismatch; 2 when the job cannot run.
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from accelsim.cosim import build, network_gemms, random_gemm, simulator_missing
    from accelsim.cosim.build import build_name
    from accelsim.cosim.session import run_cosim

    if (gemm is None) == (model is None):
        raise AccelsimError("cosim: give exactly one of --gemm MxKxN or --model MODEL")
    if golden is not None and not re.fullmatch(r"[\w.]+:\w+", golden):
        raise AccelsimError(f"cosim: --golden: expected MODULE:CLASS, got {golden!r}")
    rows, cols = parse_array(array)
    cfg = ArrayConfig(rows=rows, cols=cols, dataflow=dataflow, acc_bits=acc_bits, out_bits=acc_bits)
    reason = simulator_missing(simulator)
    if reason:
        raise AccelsimError(f"cosim: --simulator {simulator}: {reason}")
    if gemm is not None:
        m, k, n = parse_gemm(gemm)
        gemms, workload = [random_gemm(cfg, m, k, n, seed)], f"gemm {m}x{k}x{n}"
    else:
        if acc_bits != 32:
            raise AccelsimError("cosim: --model runs the int8 forward pass, whose accumulators are 32-bit; "
                                "drop --acc-bits")
        gemms, workload = network_gemms(cfg, model, seed), model
    err = Console(stderr=True)
    with err.status(f"building {build_name(simulator, cfg.rtl_parameters())} (only the first time)"):
        build(simulator, cfg.rtl_parameters())
    with Progress(TextColumn("simulating tiles"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=fmt == "json") as bar:
        task = bar.add_task("tiles", total=None)
        s = run_cosim(cfg, gemms, workload, simulator=simulator, seed=seed, golden=golden, waves=waves,
                      progress=lambda done, total: bar.update(task, completed=done, total=total))
    if fmt == "json":
        click.echo(json.dumps(s, indent=2))
    else:
        _render(s)
    sys.exit(0 if s["ok"] else 1)
