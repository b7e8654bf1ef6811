"""Exceptions raised by the TICKscript front end.

``str(exc)`` is always the text Kapacitor puts after ``invalid TICKscript: ``
in its API responses, so callers never need to rebuild a message.
"""


class TickError(Exception):
    """Any problem turning a TICKscript into a pipeline."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message

    def __str__(self):
        return self.message


class TickSyntaxError(TickError):
    """The script does not lex or parse; carries the 1-based position."""

    def __init__(self, message, line=0, column=0):
        super().__init__(message)
        self.line = line
        self.column = column


class TickEvalError(TickError):
    """The script parses but evaluating it into a pipeline failed."""


class TickValidationError(TickError):
    """The pipeline was built but a node rejected its own settings."""


class TickVarError(TickError):
    """A caller-supplied template var has the wrong shape or type."""
