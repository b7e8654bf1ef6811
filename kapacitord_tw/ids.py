"""``cluster.id`` and ``server.id``: persisted in ``data_dir`` like the original.

They are the only files we create that everyone may read (0644): they hold
nothing secret, and tools that identify the node may read them.
"""

from __future__ import annotations

import os
import uuid

import attrs


@attrs.frozen
class NodeIDs:
    cluster_id: str
    server_id: str


def _load_or_create(path: str) -> str:
    try:
        with open(path, "r", encoding="ascii") as f:
            value = f.read().strip()
        if value:
            return str(uuid.UUID(value))
    except FileNotFoundError:
        pass
    except ValueError:
        raise ValueError(f"{path}: not a valid UUID") from None
    value = str(uuid.uuid4())
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(value)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return value


def load_ids(data_dir: str) -> NodeIDs:
    os.makedirs(data_dir, mode=0o755, exist_ok=True)
    return NodeIDs(
        cluster_id=_load_or_create(os.path.join(data_dir, "cluster.id")),
        server_id=_load_or_create(os.path.join(data_dir, "server.id")),
    )
