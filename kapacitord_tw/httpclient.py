"""One outbound HTTP connection pool shape for every client of the daemon.

Twisted's client factories log ``Starting factory``/``Stopping factory`` for
every connection; a daemon retrying an unreachable InfluxDB or posting
alerts would fill its log with them.
"""

from __future__ import annotations

from twisted.web.client import HTTPConnectionPool, _HTTP11ClientFactory


class _QuietFactory(_HTTP11ClientFactory):
    noisy = False


def quiet_pool(reactor, persistent: bool) -> HTTPConnectionPool:
    """An ``HTTPConnectionPool`` whose connections do not log their start and stop."""
    pool = HTTPConnectionPool(reactor, persistent=persistent)
    pool._factory = _QuietFactory
    return pool
