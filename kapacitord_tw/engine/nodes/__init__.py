"""One module per node family; importing this package registers them all."""

from kapacitord_tw.engine.nodes import outputs, source, window  # noqa: F401
