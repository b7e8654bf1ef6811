"""One module per node family; importing this package registers them all."""

from kapacitord_tw.engine.nodes import alert, outputs, source, stats, transform, union, window  # noqa: F401
from kapacitord_tw.engine.nodes import derivative, influxql  # noqa: F401
from kapacitord_tw.engine.nodes import (  # noqa: F401
    barrier, combine, flatten, httppost, join, log, loopback, sideload)
from kapacitord_tw.engine.nodes import batch, influxdb_out  # noqa: F401
from kapacitord_tw.engine.nodes import trickle  # noqa: F401
