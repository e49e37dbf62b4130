"""`accelsim area`: chip area from synthesis of the RTL (PEs, the array's rest, SRAMs, DRAM interface)."""

from __future__ import annotations

import click

from accelsim.cli.common import format_option, output_option, pick_format, tech_node_option, write_output
from accelsim.hardware.config import ArrayConfig, ConfigError, parse_array


def _integer(fld: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ConfigError(fld, f"expected an integer, got {text!r}") from None


@click.command()
@click.option("--array", "array", default="32x32", show_default=True, metavar="RxC", help="Array rows x columns.")
@click.option("--sram", default="256,256,128", show_default=True, metavar="IFMAP,FILTER,OFMAP",
              help="SRAM sizes in KiB per buffer.")
@click.option("--data-bits", default="8", show_default=True, metavar="BITS", help="Operand width DATA_W.")
@click.option("--acc-bits", default="32", show_default=True, metavar="BITS", help="Accumulator width ACC_W.")
@tech_node_option
@format_option
@output_option
def area(array, sram, data_bits, acc_bits, tech, fmt, output):
    """Area in mm^2 and static power in mW: the RTL synthesized with yosys (committed snapshot, else cached per
    variant), NanGate 45 nm cells, CACTI SRAMs; --tech-node scales them to another node."""
    from accelsim.cli.simulate import parse_sram
    from accelsim.report.area_view import render_area
    from accelsim.synth.area import area_breakdown

    fmt = pick_format(fmt, output)
    rows, cols = parse_array(array)
    kib = parse_sram(sram)
    data_w, acc_w = _integer("data_bits", data_bits), _integer("acc_bits", acc_bits)
    cfg = ArrayConfig(rows=rows, cols=cols, ifmap_sram_kib=kib[0], filter_sram_kib=kib[1], ofmap_sram_kib=kib[2],
                      data_bits=data_w, acc_bits=acc_w, out_bits=min(8, acc_w))
    b = area_breakdown(cfg, notify=lambda msg: click.echo(msg, err=True), tech=tech)
    write_output(render_area(b, fmt), output)
