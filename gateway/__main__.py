"""``python -m gateway`` is the ``ragway`` command."""

from gateway.cli import main

main(prog_name="ragway")
