"""``sideload()``: adds fields and tags looked up in files, by an order of paths per point.

``.source('file:///dir')`` names a directory; every file under it is read
when the task starts (``.yml``/``.yaml``/``.json`` files as key -> value
maps, other files as empty maps), keyed by its path relative to the
directory.  For each point the ``.order()`` templates (Go templates over
the point's tags, e.g. ``hosts/{{.host}}.yml``) give the files to search,
first hit wins; a key found nowhere takes the ``.field()``/``.tag()``
default, and a value is converted to the default's type as Kapacitor does
(numbers read from files are float64, as ``ghodss/yaml`` decodes them).

The read happens once, on the reactor, and is bounded (``MAX_FILES``,
``MAX_BYTES``): a directory beyond that refuses to start the task rather
than holding the reactor.  YAML files may hold one flat mapping of scalars
(what a sideload lookup can use); anything else is refused with the file's
name.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
from typing import Dict, List, Optional
from urllib.parse import urlsplit

from kapacitord_tw.engine.gotemplate import TemplateError, parse
from kapacitord_tw.engine.govalues import StringMap
from kapacitord_tw.engine.messages import Batch, BatchPoint, Point
from kapacitord_tw.engine.node import Node, NodeError, node_type
from kapacitord_tw.gocompat import go_quote
from kapacitord_tw.tick.gonum import format_float_f

MAX_FILES = 10_000
MAX_BYTES = 16 * 1024 * 1024


class SourceError(ValueError):
    """A sideload directory that cannot be loaded."""


# ------------------------------------------------------------------ files


_TRUE = {"y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "true", "True", "TRUE"}
_FALSE = {"n", "N", "no", "No", "NO", "off", "Off", "OFF", "false", "False", "FALSE"}
_NULL = {"", "~", "null", "Null", "NULL"}
_INT = re.compile(r"[-+]?(0|[1-9][0-9_]*)\Z")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?\Z")
_KEY_LINE = re.compile(r"""(?P<key>"(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s#'"][^:#]*?)\s*:(?:\s+(?P<value>.*?))?\s*\Z""")


def _yaml_scalar(text: str, path: str):
    text = text.strip()
    if text.startswith('"'):
        end = _closing(text, '"')
        return json.loads(text[:end + 1])
    if text.startswith("'"):
        end = _closing(text, "'")
        return text[1:end].replace("''", "'")
    # a comment starts at " #"
    hash_at = text.find(" #")
    if hash_at >= 0:
        text = text[:hash_at].rstrip()
    if text[:1] in ("[", "{", "&", "*", "!", "|", ">"):
        raise SourceError(f"unsupported YAML in values file {go_quote(path)}: {text[:40]}")
    if text in _NULL:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    if _INT.match(text) or _FLOAT.match(text):
        return float(text.replace("_", ""))
    lowered = text.lower()
    if lowered in (".inf", "+.inf"):
        return float("inf")
    if lowered == "-.inf":
        return float("-inf")
    if lowered == ".nan":
        return float("nan")
    return text


def _closing(text: str, quote: str) -> int:
    i = 1
    while i < len(text):
        c = text[i]
        if quote == '"' and c == "\\":
            i += 2
            continue
        if c == quote:
            if quote == "'" and text[i + 1:i + 2] == "'":
                i += 2
                continue
            return i
        i += 1
    raise SourceError("unterminated quoted string")


def parse_yaml_values(data: str, path: str) -> Dict[str, object]:
    """One flat YAML mapping of scalars (numbers as floats, as via JSON in Go)."""
    values: Dict[str, object] = {}
    for raw in data.splitlines():
        line = raw.rstrip()
        stripped = line.lstrip()
        if not stripped or stripped.startswith("#") or stripped in ("---", "..."):
            continue
        if line[0] in " \t" or stripped.startswith("- "):
            raise SourceError(f"unsupported YAML in values file {go_quote(path)}: "
                              "only a flat mapping of scalars is read")
        m = _KEY_LINE.match(line)
        if m is None:
            raise SourceError(f"failed to unmarshal yaml values {go_quote(path)}")
        key = m.group("key")
        if key[:1] in ('"', "'"):
            key = _yaml_scalar(key, path)
        value = m.group("value")
        values[str(key)] = None if value is None else _yaml_scalar(value, path)
    return values


def _floats(value):
    """Go's ``encoding/json`` into ``interface{}``: every number is a float64."""
    if isinstance(value, bool) or value is None or isinstance(value, (str, float)):
        return value
    if isinstance(value, int):
        return float(value)
    if isinstance(value, list):
        return [_floats(v) for v in value]
    if isinstance(value, dict):
        return {k: _floats(v) for k, v in value.items()}
    return value


def read_values(path: str, data: bytes) -> Dict[str, object]:
    ext = os.path.splitext(path)[1]
    try:
        if ext in (".yaml", ".yml"):
            return parse_yaml_values(data.decode("utf-8"), path)
        if ext == ".json":
            values = json.loads(data)
            if not isinstance(values, dict):
                raise ValueError("not an object")
            return _floats(values)
    except SourceError:
        raise
    except (ValueError, UnicodeDecodeError):
        kind = "json" if ext == ".json" else "yaml"
        raise SourceError(f"failed to unmarshal {kind} values {go_quote(path)}") from None
    return {}


def load_directory(directory: str) -> Dict[str, Dict[str, object]]:
    """Every file under ``directory`` by relative path (bounded in count and bytes)."""
    cache: Dict[str, Dict[str, object]] = {}
    total = 0
    for root, dirs, files in os.walk(directory, onerror=_raise):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(root, name)
            if len(cache) >= MAX_FILES:
                raise SourceError(f"sideload source {go_quote(directory)} has more than "
                                  f"{MAX_FILES} files")
            with open(path, "rb") as f:
                data = f.read(MAX_BYTES - total + 1)
            total += len(data)
            if total > MAX_BYTES:
                raise SourceError(f"sideload source {go_quote(directory)} holds more than "
                                  f"{MAX_BYTES} bytes")
            cache[os.path.relpath(path, directory)] = read_values(path, data)
    return cache


def _raise(error):
    raise error


# ------------------------------------------------------------ conversion


_GO_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_GO_FALSE = {"0", "f", "F", "FALSE", "false", "False"}


def _go_type(v) -> str:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int64"
    if isinstance(v, float):
        return "float64"
    if isinstance(v, str):
        return "string"
    if isinstance(v, dict):
        return "map[string]interface {}"
    if isinstance(v, list):
        return "[]interface {}"
    return "<nil>"


def convert(src, default):
    """``convertType``: ``src`` as the type of ``default``; ValueError otherwise."""
    st = type(src)
    if isinstance(default, bool):
        if st is bool:
            return src
        if st is str:
            if src in _GO_TRUE:
                return True
            if src in _GO_FALSE:
                return False
            raise ValueError(f'cannot convert string to bool: strconv.ParseBool: '
                             f'parsing {go_quote(src)}: invalid syntax')
    elif isinstance(default, int):
        if st is int:
            return src
        if st is float and src == src and abs(src) < 2 ** 63 and float(int(src)) == src:
            return int(src)
        if st is str:
            try:
                return int(src, 10)
            except ValueError:
                raise ValueError(f'cannot convert string to int64: strconv.Atoi: '
                                 f'parsing {go_quote(src)}: invalid syntax') from None
    elif isinstance(default, float):
        if st is int:
            return float(src)
        if st is float:
            return src
        if st is str:
            try:
                return float(src)
            except ValueError:
                raise ValueError(f'cannot convert string to float64: strconv.ParseFloat: '
                                 f'parsing {go_quote(src)}: invalid syntax') from None
    elif isinstance(default, str):
        if st is bool:
            return "true" if src else "false"
        if st is int:
            return str(src)
        if st is float:
            return format_float_f(src)
        if st is str:
            return src
    raise ValueError(f"cannot convert value of type {_go_type(src)} to type {_go_type(default)}")


# ------------------------------------------------------------------ node


@node_type("SideloadNode")
class SideloadNode(Node):
    def __init__(self, spec, task):
        super().__init__(spec, task)
        source = self.props.get("Source") or ""
        url = urlsplit(source)
        if not url.scheme:
            raise NodeError(f"Specified endpoint does not exist: {source}")
        if url.scheme != "file":
            raise NodeError(f"unsupported source scheme {go_quote(url.scheme)}, must be 'file'")
        if not posixpath.isabs(url.path):
            raise NodeError(f"sideload source path must be absolute {go_quote(url.path)}")
        self.directory = posixpath.normpath(url.path)
        try:
            self.cache = load_directory(self.directory)
        except (SourceError, OSError) as e:
            raise NodeError(f"failed to update sideload cache for source file "
                            f"{go_quote(self.directory)}: {e}") from None
        self.order = []
        for text in self.props.get("OrderList") or ():
            try:
                self.order.append((text, parse(text, "order")))
            except TemplateError as e:
                raise NodeError(str(e)) from None
        self.fields = dict(self.props.get("Fields") or {})
        self.tags = dict(self.props.get("Tags") or {})

    def lookup(self, order: List[str], key: str):
        key = posixpath.normpath(key) if key else "."
        for path in order:
            values = self.cache.get(path)
            if values is not None and key in values:
                return values[key]
        return None

    def _sideload(self, fields, tags):
        order = []
        tag_map = StringMap(tags)
        for raw, template in self.order:
            try:
                order.append(template.execute(tag_map))
            except TemplateError as e:
                self.error(f"failed to evaluate order template {raw}: {e}")
                return fields, tags
        if self.fields:
            fields = dict(fields)
            for key, default in self.fields.items():
                fields[key] = self._value(order, key, default)
        if self.tags:
            tags = dict(tags)
            for key, default in self.tags.items():
                tags[key] = self._value(order, key, default)
        return fields, tags

    def _value(self, order, key, default):
        value = self.lookup(order, key)
        if value is None:
            return default
        try:
            return convert(value, default)
        except ValueError as e:
            self.error(f"failed to load key {key}: {e}")
            return default

    def point(self, p: Point):
        fields, tags = self._sideload(p.fields, p.tags)
        if fields is p.fields and tags is p.tags:
            return p
        return p.evolve(fields=fields, tags=tags)

    def batch(self, b: Batch):
        points = []
        for bp in b.points:
            fields, tags = self._sideload(bp.fields, bp.tags)
            points.append(BatchPoint(bp.time, fields, tags))
        return b.evolve(points=points)
