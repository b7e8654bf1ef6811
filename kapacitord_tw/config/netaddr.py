"""
Go's ``net.SplitHostPort`` and the translation of Kapacitor's
``bind-address`` into a Twisted endpoint description.
"""

from __future__ import annotations

import socket
from typing import Tuple

from kapacitord_tw import gocompat


def split_host_port(hostport: str) -> Tuple[str, str]:
    """``net.SplitHostPort``; ValueError carries Go's message."""

    def fail(why: str) -> ValueError:
        return ValueError(f"address {hostport}: {why}")

    i = hostport.rfind(":")
    if i < 0:
        raise fail("missing port in address")
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0:
            raise fail("missing ']' in address")
        if end + 1 == len(hostport):
            raise fail("missing port in address")
        if end + 1 != i:
            if hostport[end + 1] == ":":
                raise fail("too many colons in address")
            raise fail("missing port in address")
        host = hostport[1:end]
        if "[" in hostport[1:] or "]" in hostport[end + 1:]:
            raise fail("unexpected '[' in address")
    else:
        host = hostport[:i]
        if ":" in host:
            raise fail("too many colons in address")
        if "[" in hostport or "]" in hostport:
            raise fail("unexpected '[' in address")
    return host, hostport[i + 1:]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace(":", "\\:").replace("=", "\\=")


def resolve_interface(host: str) -> str:
    """An IP literal for ``host`` (listening needs one; start-up only)."""
    if not host:
        return ""
    try:
        socket.inet_pton(socket.AF_INET, host)
        return host
    except OSError:
        pass
    try:
        socket.inet_pton(socket.AF_INET6, host)
        return host
    except OSError:
        pass
    infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    for family, _t, _p, _c, addr in infos:
        if family == socket.AF_INET:
            return addr[0]
    return infos[0][4][0]


def bind_port(bind_address: str) -> int:
    """The port of a validated ``bind-address``, read in base 10 as Go
    does (``":010"`` is port 10, not octal 8)."""
    return gocompat.parse_int10(split_host_port(bind_address)[1])


def endpoint_description(bind_address: str) -> str:
    """``":9092"`` → ``"tcp:port=9092"``; ``"[::1]:9092"`` → ``tcp6:...``.

    Kapacitor's ``bind-address`` is validated before this is called.
    """
    host, _port = split_host_port(bind_address)
    interface = resolve_interface(host)
    kind = "tcp6" if ":" in interface else "tcp"
    description = f"{kind}:port={bind_port(bind_address)}"
    if interface:
        description += f":interface={_escape(interface)}"
    return description
