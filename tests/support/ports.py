"""Loopback ports for the servers tests start (kapacitord, influxd, mosquitto).

A port the kernel hands out for ``bind(0)`` comes from its ephemeral range,
which it also uses for the local end of outgoing connections: between the
test closing its probe socket and the server binding the port, one of the
suite's many client connections can take it ("bind: address already in
use", seen in CI). So a port is picked below that range, checked free, and
not handed out twice by this process.
"""

from __future__ import annotations

import random
import socket

#: Lowest port picked (well above the registered services tests might meet).
LOW = 20000
_given: set = set()


def _ephemeral_low() -> int:
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A free loopback TCP port outside the kernel's ephemeral range."""
    high = _ephemeral_low() - 1
    if high - LOW >= 1000:
        for _ in range(200):
            port = random.randint(LOW, high)
            if port not in _given and _free(port):
                _given.add(port)
                return port
    with socket.socket() as s:  # no room below the range: the kernel's choice
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
