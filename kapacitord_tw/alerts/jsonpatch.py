"""RFC 6902 JSON Patch, for ``PATCH .../handlers/<id>``.

Operations ``add``, ``remove``, ``replace``, ``move``, ``copy`` and
``test`` over JSON-decoded values, on a deep copy.  Paths are RFC 6901
pointers (``~1`` is ``/``, ``~0`` is ``~``).  Errors follow the wording of
evanphx/json-patch, which Kapacitor uses, closely but not byte for byte.
The work is linear in the document and the patch, both bounded by the body size.
"""

from __future__ import annotations

import copy
from typing import List


class PatchError(ValueError):
    pass


def decode(value) -> List[dict]:
    """Check a decoded body is a list of operation objects (``DecodePatch``)."""
    if not isinstance(value, list):
        kind = {dict: "object", str: "string", bool: "bool"}.get(type(value), "number")
        if value is None:
            return []
        raise PatchError(f"json: cannot unmarshal {kind} into Go value of type jsonpatch.Patch")
    for op in value:
        if not isinstance(op, dict):
            raise PatchError("json: cannot unmarshal into Go value of type jsonpatch.Operation")
    return value


def _pointer(path) -> List[str]:
    if not isinstance(path, str):
        raise PatchError("operation missing path")
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f"invalid path: {path}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _parent(doc, parts, path):
    node = doc
    for part in parts[:-1]:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise PatchError(f"doc is missing path: \"{path}\": missing value")
    return node


def _index(container, part, path, adding=False):
    if part == "-" and adding:
        return len(container)
    if not part.isdigit() or (part != "0" and part.startswith("0")):
        raise PatchError(f"Unable to access invalid index: {part}: invalid index referenced")
    i = int(part)
    if i > len(container) or (i == len(container) and not adding):
        raise PatchError(f"Unable to access invalid index: {i}: invalid index referenced")
    return i


def _get(doc, path):
    parts = _pointer(path)
    if not parts:
        return doc
    parent = _parent(doc, parts, path)
    last = parts[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError(f"Unable to get nonexistent key: {last}: missing value")
        return parent[last]
    if isinstance(parent, list):
        return parent[_index(parent, last, path)]
    raise PatchError(f"doc is missing path: \"{path}\": missing value")


def _remove(doc, path):
    parts = _pointer(path)
    if not parts:
        raise PatchError("Unable to remove the whole document")
    parent = _parent(doc, parts, path)
    last = parts[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError(f"Unable to remove nonexistent key: {last}: missing value")
        return parent.pop(last)
    if isinstance(parent, list):
        return parent.pop(_index(parent, last, path))
    raise PatchError(f"doc is missing path: \"{path}\": missing value")


def _add(doc, path, value, replace=False):
    parts = _pointer(path)
    if not parts:
        return value
    parent = _parent(doc, parts, path)
    last = parts[-1]
    if isinstance(parent, dict):
        if replace and last not in parent:
            raise PatchError(f"Unable to replace nonexistent key: {last}: missing value")
        parent[last] = value
    elif isinstance(parent, list):
        if replace:
            parent[_index(parent, last, path)] = value
        else:
            parent.insert(_index(parent, last, path, adding=True), value)
    else:
        raise PatchError(f"doc is missing path: \"{path}\": missing value")
    return doc


def apply(document, patch: List[dict]):
    """The patched copy of *document*; PatchError on a failed operation."""
    doc = copy.deepcopy(document)
    for op in patch:
        kind = op.get("op")
        path = op.get("path")
        if kind == "add":
            doc = _add(doc, path, copy.deepcopy(op.get("value")))
        elif kind == "remove":
            _remove(doc, path)
        elif kind == "replace":
            doc = _add(doc, path, copy.deepcopy(op.get("value")), replace=True)
        elif kind == "move":
            value = _remove(doc, op.get("from"))
            doc = _add(doc, path, value)
        elif kind == "copy":
            doc = _add(doc, path, copy.deepcopy(_get(doc, op.get("from"))))
        elif kind == "test":
            if _get(doc, path) != op.get("value"):
                raise PatchError(f"testing value {path} failed: test failed")
        else:
            raise PatchError(f"Unexpected kind: {kind}")
    return doc
