"""
Logging like Kapacitor: logfmt lines (``ts=… lvl=info msg="…" service=…``)
to ``[logging] file`` (``STDERR``, ``STDOUT`` or a path), filtered at
``[logging] level`` — a level that ``POST /loglevel`` can change at run time.
"""

from __future__ import annotations

import os
import string
import sys
import time
from typing import Optional, TextIO

from twisted.logger import (
    FilteringLogObserver,
    LogLevel,
    LogLevelFilterPredicate,
    formatEvent,
    globalLogBeginner,
)

LEVELS = {"DEBUG": LogLevel.debug, "INFO": LogLevel.info, "ERROR": LogLevel.error}
_LVL_NAMES = {
    LogLevel.debug: "debug",
    LogLevel.info: "info",
    LogLevel.warn: "warn",
    LogLevel.error: "error",
    LogLevel.critical: "error",
}
_FORMATTER = string.Formatter()
#: Event keys that are Twisted's bookkeeping, not fields of the line.
_NOT_FIELDS = frozenset(
    ("service", "format", "isError", "message", "system", "time", "why", "failure")
)


def parse_level(name: str) -> LogLevel:
    """Kapacitor's rule: DEBUG/INFO/ERROR in any case; anything else is DEBUG."""
    return LEVELS.get(name.upper(), LogLevel.debug)


def _logfmt_value(value) -> str:
    text = str(value)
    if text == "" or any(c in text for c in ' ="\\\n\t'):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    return text


def format_logfmt(event: dict) -> str:
    stamp = event.get("log_time", time.time())
    ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(stamp)) + f".{int(stamp % 1 * 1000):03d}Z"
    level = _LVL_NAMES.get(event.get("log_level"), "info")
    message = formatEvent(event) or ""
    parts = [f"ts={ts}", f"lvl={level}", f"msg={_logfmt_value(message)}"]
    namespace = event.get("service") or (event.get("log_namespace") or "").rsplit(".", 1)[-1]
    if namespace:
        parts.append(f"service={_logfmt_value(namespace)}")
    used = set()
    fmt = event.get("log_format") or ""
    try:
        used = {name for _t, name, _s, _c in _FORMATTER.parse(fmt) if name}
    except ValueError:
        pass
    for key in sorted(event):
        if key.startswith("log_") or key in used or key in _NOT_FIELDS:
            continue
        parts.append(f"{key.replace('_', '-')}={_logfmt_value(event[key])}")
    line = " ".join(parts)
    failure = event.get("log_failure")
    if failure is not None:
        # Some exceptions have no message; the type still says what broke.
        message = failure.getErrorMessage() or failure.type.__qualname__
        line += " err=" + _logfmt_value(message)
    return line + "\n"


class LogfmtObserver:
    def __init__(self, stream: TextIO):
        self._stream = stream

    def __call__(self, event: dict) -> None:
        try:
            self._stream.write(format_logfmt(event))
            self._stream.flush()
        except Exception:
            pass


def open_destination(file: str) -> TextIO:
    if file == "STDERR":
        return sys.stderr
    if file == "STDOUT":
        return sys.stdout
    parent = os.path.dirname(file)
    if parent:
        os.makedirs(parent, exist_ok=True)
    fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
    return os.fdopen(fd, "a", buffering=1, encoding="utf-8")


class LogControl:
    """The running log level, shared with ``/loglevel``."""

    def __init__(self, level: LogLevel = LogLevel.debug):
        self.predicate = LogLevelFilterPredicate(defaultLogLevel=level)

    def set_level(self, name: str) -> None:
        self.predicate.setLogLevelForNamespace(None, parse_level(name))

    @property
    def level(self) -> LogLevel:
        return self.predicate.logLevelForNamespace(None)


def start_logging(file: str, level_name: str, control: Optional[LogControl] = None) -> LogControl:
    control = control or LogControl()
    control.set_level(level_name)
    observer = FilteringLogObserver(LogfmtObserver(open_destination(file)), [control.predicate])
    globalLogBeginner.beginLoggingTo([observer], redirectStandardIO=False)
    return control
