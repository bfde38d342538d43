"""``python -m fengkong.cli``: the same as the ``fengkong`` command."""

from fengkong.cli.app import main

main()
