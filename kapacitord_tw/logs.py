"""
Logging like Kapacitor: logfmt lines (``ts=… lvl=info msg="…" service=…``)
to ``[logging] file`` (``STDERR``, ``STDOUT`` or a path), filtered at
``[logging] level`` — a level that ``POST /loglevel`` can change at run time.

Beyond the original, because log lines carry what clients send:

* every value is cut at ``FIELD_LIMIT`` characters (the message at
  ``MESSAGE_LIMIT``) with a marker, so a 7 KB user name costs the disk a
  few hundred bytes, not 7 KB per field per request;
* any value with a space, quote, backslash, ``=`` or a non-printable
  character is written as Go's ``%q`` would (``\\r``, ``\\x1b``, ``\\x00``,
  ``\\xff`` for bytes that are not UTF-8), so no client can end a line or
  forge one, and no line is ever dropped for its bytes;
* events of the audit namespace pass whatever the level (``/loglevel``
  cannot silence them);
* a log file can be reopened (``kapacitord`` does it on SIGHUP) for
  logrotate.
"""

from __future__ import annotations

import os
import re
import string
import sys
import time
from typing import Optional, TextIO

from twisted.logger import (
    FilteringLogObserver,
    LogLevel,
    LogLevelFilterPredicate,
    Logger,
    PredicateResult,
    formatEvent,
    globalLogBeginner,
)

from kapacitord_tw.audit import is_audit_event
from kapacitord_tw.gocompat import go_quote

LEVELS = {"DEBUG": LogLevel.debug, "INFO": LogLevel.info, "ERROR": LogLevel.error}
_LVL_NAMES = {
    LogLevel.debug: "debug",
    LogLevel.info: "info",
    LogLevel.warn: "warn",
    LogLevel.error: "error",
    LogLevel.critical: "error",
}
#: The longest value written (characters, before escaping).
FIELD_LIMIT = 256
#: The longest message written; values inside it are cut at ``FIELD_LIMIT`` first.
MESSAGE_LIMIT = 1024
_FORMATTER = string.Formatter()
#: Event keys that are Twisted's bookkeeping, not fields of the line.
_NOT_FIELDS = frozenset(
    ("service", "format", "isError", "message", "system", "time", "why", "failure")
)
#: A value that logfmt cannot carry bare: quote (and escape) it.
_NEEDS_QUOTING = re.compile(r'[^\x21-\x7e]|[="\\]')
#: Beyond printable ASCII: Go's ``%q`` rules decide each character.
_NOT_PLAIN_ASCII = re.compile(r"[^\x20-\x7e]")
_log = Logger(namespace="kapacitord_tw.logs")


def parse_level(name: str) -> LogLevel:
    """Kapacitor's rule: DEBUG/INFO/ERROR in any case; anything else is DEBUG."""
    return LEVELS.get(name.upper(), LogLevel.debug)


def level_name(level: LogLevel) -> str:
    """The ``/loglevel`` name of a running level."""
    return {LogLevel.debug: "DEBUG", LogLevel.info: "INFO"}.get(level, "ERROR")


def clip(text: str, limit: int = FIELD_LIMIT) -> str:
    """*text* cut at *limit* characters, saying how long it was."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}...[truncated, {len(text)} chars]"


def _logfmt_value(value, limit: int = FIELD_LIMIT) -> str:
    text = clip(str(value), limit)
    if text != "" and not _NEEDS_QUOTING.search(text):
        return text
    if _NOT_PLAIN_ASCII.search(text):
        return go_quote(text)
    # The common case, without go_quote's per-character work.
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _clipped(event: dict) -> dict:
    """The event with long string values cut, for the message's placeholders."""
    if not any(isinstance(v, str) and len(v) > FIELD_LIMIT for v in event.values()):
        return event
    return {
        k: clip(v) if isinstance(v, str) and not k.startswith("log_") else v
        for k, v in event.items()
    }


def format_logfmt(event: dict) -> str:
    stamp = event.get("log_time", time.time())
    ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(stamp)) + f".{int(stamp % 1 * 1000):03d}Z"
    level = _LVL_NAMES.get(event.get("log_level"), "info")
    message = formatEvent(_clipped(event)) or ""
    parts = [f"ts={ts}", f"lvl={level}", f"msg={_logfmt_value(message, MESSAGE_LIMIT)}"]
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
        line += " err=" + _logfmt_value(message, MESSAGE_LIMIT)
    return line + "\n"


def _unformattable(event: dict) -> str:
    """The line for an event that could not be formatted: never drop one."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    namespace = _logfmt_value(event.get("log_namespace") or "-")
    return f'ts={stamp} lvl=error msg="unformattable log event" namespace={namespace}\n'


def open_destination(file: str) -> TextIO:
    if file == "STDERR":
        return sys.stderr
    if file == "STDOUT":
        return sys.stdout
    parent = os.path.dirname(file)
    if parent:
        os.makedirs(parent, exist_ok=True)
    fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
    return os.fdopen(fd, "a", buffering=1, encoding="utf-8", errors="backslashreplace")


class LogfmtObserver:
    """Writes events as logfmt lines to a stream, or to a file it can reopen."""

    def __init__(self, stream: TextIO, path: Optional[str] = None):
        self._stream = stream
        #: The file to reopen (``None`` for stdout/stderr).
        self.path = path

    @classmethod
    def to(cls, file: str) -> "LogfmtObserver":
        path = None if file in ("STDERR", "STDOUT") else file
        return cls(open_destination(file), path)

    def __call__(self, event: dict) -> None:
        try:
            line = format_logfmt(event)
        except Exception:
            line = _unformattable(event)
        try:
            self._stream.write(line)
            self._stream.flush()
        except Exception:
            pass

    def reopen(self) -> bool:
        """Write to a fresh descriptor for the path, as logrotate expects
        after it has renamed the file.  On failure the old stream stays."""
        if self.path is None:
            return False
        try:
            stream = open_destination(self.path)
        except OSError as e:
            _log.error("cannot reopen log file {path}: {error}", path=self.path, error=e)
            return False
        old, self._stream = self._stream, stream
        try:
            old.close()
        except OSError:
            pass
        _log.info("log file reopened {path}", path=self.path)
        return True


class LevelFilter(LogLevelFilterPredicate):
    """The level filter, except that audit events always pass."""

    def __call__(self, event: dict) -> PredicateResult:
        if is_audit_event(event):
            return PredicateResult.yes
        return super().__call__(event)


class LogControl:
    """The running log level, shared with ``/loglevel``, and the log file."""

    def __init__(self, level: LogLevel = LogLevel.debug):
        self.predicate = LevelFilter(defaultLogLevel=level)
        self.observer: Optional[LogfmtObserver] = None

    def set_level(self, name: str) -> None:
        self.predicate.setLogLevelForNamespace(None, parse_level(name))

    @property
    def level(self) -> LogLevel:
        return self.predicate.logLevelForNamespace(None)

    def reopen(self) -> bool:
        """Reopen the log file (SIGHUP); False when logging goes elsewhere."""
        return self.observer.reopen() if self.observer is not None else False


def start_logging(file: str, level_name: str, control: Optional[LogControl] = None) -> LogControl:
    control = control or LogControl()
    control.set_level(level_name)
    control.observer = LogfmtObserver.to(file)
    observer = FilteringLogObserver(control.observer, [control.predicate])
    globalLogBeginner.beginLoggingTo([observer], redirectStandardIO=False)
    return control
