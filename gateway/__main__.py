"""``python -m gateway`` is the ``ragway`` command."""

from gateway.entry.cli import main

main(prog_name="ragway")
