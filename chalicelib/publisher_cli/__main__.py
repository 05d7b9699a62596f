"""``python -m chalicelib.publisher_cli`` is the ``plugyard`` command."""

from chalicelib.publisher_cli.app import main

main()
