"""The ``kapacitor`` command-line client, compatible with the original's.

``main()`` is the console-script entry point; ``run()`` is the same without
``sys.exit`` and with injectable streams, for tests and embedding.
"""

from .app import main, run

__all__ = ["main", "run"]
