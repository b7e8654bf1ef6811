"""The length limit on task ids, template ids and user names.

Kapacitor has none, but every list with ``?pattern=`` matches every name
and a name is part of every URL that reaches it, so a 1 MB id made both
slow.  New names are refused past :data:`MAX_NAME_BYTES`; records stored
before the limit existed stay readable, listable and deletable.
"""

from __future__ import annotations

from typing import Optional

#: Longest task id, template id or user name accepted (bytes of UTF-8).
MAX_NAME_BYTES = 256


def name_size(name: str) -> int:
    return len(name.encode("utf-8", "surrogatepass"))


def too_long(kind: str, name: str) -> Optional[str]:
    """The 400 message for an over-long new *name*, or None when it is short enough."""
    size = len(name) if len(name) > MAX_NAME_BYTES else name_size(name)
    if size <= MAX_NAME_BYTES:
        return None
    return f"{kind} is too long: at most {MAX_NAME_BYTES} bytes are allowed, got {size}"
