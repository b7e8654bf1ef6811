"""Go-flavoured error plumbing shared by the evaluator modules.

Kapacitor's messages quote with Go's ``%q``, prefix positions as
``line L char C:`` and report panics raised inside called methods; these
helpers give the Python modules the same texts.
"""

from kapacitord_tw.tick.errors import TickEvalError


class GoPanic(Exception):
    """A Go panic inside a called method (recovered by evalFunc)."""


def at(position, message):
    return TickEvalError("line %d char %d: %s"
                         % (position.line, position.char, message))
