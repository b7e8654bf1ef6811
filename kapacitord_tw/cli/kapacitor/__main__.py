"""``python -m kapacitord_tw.cli.kapacitor`` runs the ``kapacitor`` CLI."""

from . import main

main()
