"""Writes reach the engine in the order they were accepted, whichever parser
finishes first: each takes a ticket when its body is dispatched, and
publishes only on its turn (a reorder buffer of waiting writes)."""

from __future__ import annotations

from typing import Dict, Set

from twisted.internet import defer

__all__ = ["WriteSequence"]


class WriteSequence:
    """Tickets in taking order; :meth:`turn` fires once every earlier ticket
    is released.  A ticket must be released exactly once, whatever happens
    to its write (published, refused, cancelled), or later writes wait."""

    def __init__(self) -> None:
        self._taken = 0
        self._head = 0
        self._released: Set[int] = set()
        self._waiting: Dict[int, defer.Deferred] = {}
        self._advancing = False

    def take(self) -> int:
        ticket = self._taken
        self._taken += 1
        return ticket

    @property
    def waiting(self) -> int:
        """Writes parsed and waiting for an earlier one."""
        return len(self._waiting)

    def turn(self, ticket: int) -> defer.Deferred:
        """Fires (with None) when ``ticket`` is the oldest unreleased one."""
        if ticket == self._head:
            return defer.succeed(None)

        def cancel(d):
            self._waiting.pop(ticket, None)

        d = self._waiting[ticket] = defer.Deferred(cancel)
        return d

    def release(self, ticket: int) -> None:
        """``ticket``'s write is done with; the next one may go.  Turns fire
        in a loop here, not by recursion, however many are waiting."""
        self._released.add(ticket)
        if self._advancing:
            return
        self._advancing = True
        try:
            while True:
                while self._head in self._released:
                    self._released.discard(self._head)
                    self._head += 1
                d = self._waiting.pop(self._head, None)
                if d is None:
                    return
                d.callback(None)  # its write publishes, then releases (here or later)
        finally:
            self._advancing = False
