"""What every command gets: the API client, the terminal, and the ways to stop.

Exit statuses follow the original ``cmd/kapacitor/main.go``: 0 success,
1 no/unknown command, 2 bad arguments (usage printed), 3 ``Error: ...``
from a command (API errors included), 4 an unusable ``-url``.
"""

from __future__ import annotations

import getpass
import sys
from typing import Callable, TextIO

import attrs

from ..goflags import FlagError, FlagSet, HelpRequested, Parsed
from .client import KapacitorClient

__all__ = [
    "Terminal",
    "Context",
    "CommandError",
    "Exit",
    "EXIT_OK",
    "EXIT_USAGE",
    "EXIT_ARGS",
    "EXIT_ERROR",
    "EXIT_CONNECT",
]

EXIT_OK = 0
EXIT_USAGE = 1
EXIT_ARGS = 2
EXIT_ERROR = 3
EXIT_CONNECT = 4


class CommandError(Exception):
    """Printed as ``Error: <message>``; the process exits with status 3."""


class Exit(Exception):
    """Stop now with ``code`` (whatever had to be printed already was)."""

    def __init__(self, code: int):
        super().__init__(code)
        self.code = code


def _stdin_is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


@attrs.frozen
class Terminal:
    """Streams and the no-echo prompt; injected so tests can drive them."""

    stdout: TextIO = attrs.field(factory=lambda: sys.stdout)
    stderr: TextIO = attrs.field(factory=lambda: sys.stderr)
    stdin: TextIO = attrs.field(factory=lambda: sys.stdin)
    prompt_secret: Callable[[str], str] = getpass.getpass
    stdin_is_tty: Callable[[TextIO], bool] = _stdin_is_tty

    def out(self, text: str) -> None:
        self.stdout.write(text)

    def err(self, text: str) -> None:
        self.stderr.write(text)

    def interactive(self) -> bool:
        return self.stdin_is_tty(self.stdin)


@attrs.frozen
class Context:
    client: KapacitorClient
    terminal: Terminal

    def usage(self, text: str, flags: FlagSet | None = None) -> None:
        """Print a usage text like the original (``Fprintln`` + flag defaults)."""
        self.terminal.err(text + "\n")
        if flags is not None:
            self.terminal.err(flags.defaults_text())

    def fail(self, message: str | None, text: str, flags: FlagSet | None = None,
             code: int = EXIT_ARGS) -> None:
        """Print ``message`` (if any) and the usage, then exit with ``code``."""
        if message is not None:
            self.terminal.err(message + "\n")
        self.usage(text, flags)
        raise Exit(code)

    def parse_id_and_flags(self, flags: FlagSet, args: list[str], text: str,
                           missing: str) -> tuple[str, Parsed]:
        """``<ID> [flags]`` (``define``, ``define-template``): ``-h`` in place of
        the ID shows the usage; a missing ID fails with ``missing``."""
        if args and args[0] in ("-h", "-help", "--h", "--help"):
            self.usage(text, flags)
            raise Exit(EXIT_OK)
        if not args or args[0].startswith("-"):
            self.fail(missing, text, flags)
        return args[0], self.parse(flags, args[1:], text)

    def parse(self, flags: FlagSet, args: list[str], text: str) -> Parsed:
        """Parse flags; Go's ExitOnError behaviour on problems and ``-h``."""
        try:
            return flags.parse(args)
        except HelpRequested:
            self.usage(text, flags)
            raise Exit(EXIT_OK) from None
        except FlagError as exc:
            self.fail(str(exc), text, flags)
            raise  # pragma: no cover - fail() always raises
