"""`python -m accelsim`: the `accelsim` command."""

from accelsim.cli import main

main(prog_name="accelsim")
