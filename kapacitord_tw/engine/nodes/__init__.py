"""One module per node family; :func:`register_all` imports (and so registers) them all.

Importing the package alone registers nothing, so one family (``nodes.batch``
for the replays) loads without the others, and the daemon loads them all
when its first task is built rather than at start-up.
"""

import importlib

#: Every node family, in registration order.
FAMILIES = (
    "alert", "outputs", "source", "stats", "transform", "union", "window",
    "derivative", "influxql",
    "barrier", "combine", "flatten", "httppost", "join", "log", "loopback", "sideload",
    "batch", "influxdb_out",
    "trickle",
)

_registered = False


def register_all() -> None:
    """Import every node family (idempotent)."""
    global _registered
    if _registered:
        return
    for name in FAMILIES:
        importlib.import_module(f"{__name__}.{name}")
    _registered = True
