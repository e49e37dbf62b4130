"""The `accelsim` command line (click). Bad input: one line on stderr, exit code 2."""

from __future__ import annotations

import click

from accelsim import __version__
from accelsim.cli.area import area
from accelsim.cli.common import Cli
from accelsim.cli.cosim import cosim
from accelsim.cli.demo import demo
from accelsim.cli.profile import models, profile
from accelsim.cli.report import report
from accelsim.cli.simulate import simulate
from accelsim.cli.sweep import export_cmd, sweep


@click.group(cls=Cli, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="accelsim")
def main():
    """CNN workload profiling and cycle-exact systolic-array simulation."""


for _command in (models, profile, simulate, cosim, sweep, export_cmd, report, area, demo):
    main.add_command(_command)
