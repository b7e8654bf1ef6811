"""
Values of the notification sections (``[smtp]``, ``[[slack]]``, ...) in
their four outside forms: TOML, ``KAPACITOR_*`` variables, config-API
options (JSON) and ``kapacitord config`` output.

The section classes live in :mod:`.services`; this module knows how each
value *kind* converts, with the words of Kapacitor's loader and of its
``override`` package where a conversion fails.
"""

from __future__ import annotations

import json
from typing import Dict, Iterator, List, Mapping, Optional, Tuple

import attrs

from kapacitord_tw import gocompat
from kapacitord_tw.config import model, services

#: Override names that differ from the TOML key (upstream's ``override`` tag).
_OVERRIDE_NAMES = {("smtp", "toTemplates"): "to-templates"}

#: Kapacitor's ``Config.Validate`` order for these sections, and whether the
#: error is prefixed with the section name (discord's is not).
VALIDATION_ORDER = (
    "alerta", "bigpanda", "discord", "mqtt", "opsgenie", "opsgenie2", "pagerduty",
    "pagerduty2", "pushover", "httppost", "smtp", "sensu", "servicenow", "slack",
    "teams", "telegram", "victorops", "zenoss",
)
_UNPREFIXED = frozenset({"discord"})


class ValueProblem(ValueError):
    """A value that does not fit its option; ``str()`` is the reason."""


def spec(name: str) -> Tuple[type, bool, Optional[str]]:
    """``(class, is_list, element_key)`` of section *name*."""
    return services.SERVICE_SECTIONS[name]


def fields(name: str) -> List[attrs.Attribute]:
    return list(attrs.fields(spec(name)[0]))


def option_name(section: str, field: attrs.Attribute) -> str:
    """The name an option has in the config API (``override`` tag)."""
    toml = field.metadata["toml"]
    return field.metadata.get("override") or _OVERRIDE_NAMES.get((section, toml), toml)


def elements(name: str, value) -> Tuple[object, ...]:
    """A section's value as its elements (one for a single section)."""
    return tuple(value) if spec(name)[1] else (value,)


def element_id(name: str, element) -> str:
    """The element key's value (``""`` for single sections)."""
    key = spec(name)[2]
    if key is None:
        return ""
    for f in attrs.fields(type(element)):
        if f.metadata["toml"] == key:
            return getattr(element, f.name)
    return ""


def zero_element(name: str):
    """A Go zero value of the section's struct: what ``[[x]]`` and ``add`` start from."""
    cls = spec(name)[0]
    zero = {
        model.STRING: "", model.BOOL: False, model.INT: 0, model.DURATION: 0,
        model.STRING_LIST: (), services.STRING_MAP: {},
        services.BASIC_AUTH: services.BasicAuth(),
    }
    changes = {f.name: zero[f.metadata["kind"]] for f in attrs.fields(cls)
               if f.metadata["kind"] in zero}
    return cls(**changes)


# ------------------------------------------------------------------- TOML

def _toml_problem(where: str, expected: str, value) -> ValueProblem:
    return ValueProblem(
        f"toml: cannot load {where}: expected {expected}, got {type(value).__name__} {value!r}"
    )


def _from_toml(where: str, field: attrs.Attribute, value):
    kind = field.metadata["kind"]
    if kind == model.STRING:
        if not isinstance(value, str):
            raise _toml_problem(where, "a string", value)
        return value
    if kind == model.BOOL:
        if not isinstance(value, bool):
            raise _toml_problem(where, "a boolean (true or false)", value)
        return value
    if kind == model.INT:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _toml_problem(where, "an integer", value)
        return value
    if kind == model.DURATION:
        if not isinstance(value, str):
            raise _toml_problem(where, 'a duration string such as "10s" or "1h30m"', value)
        try:
            return gocompat.parse_duration(value)
        except ValueError as e:
            raise ValueProblem(f"toml: cannot load {where}: {e}") from None
    if kind == model.STRING_LIST:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise _toml_problem(where, "a list of strings", value)
        return tuple(value)
    if kind == services.STRING_MAP:
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise _toml_problem(where, "a table of strings", value)
        return dict(value)
    if kind == services.BASIC_AUTH:
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise _toml_problem(where, "a table with username and password", value)
        unknown = sorted(set(value) - {"username", "password"})
        if unknown:
            raise ValueProblem(f"toml: cannot load {where}: unknown keys {unknown}")
        return services.BasicAuth(**value)
    if kind == services.SEVERITY_MAP:
        if not isinstance(value, dict):
            raise _toml_problem(where, "a table of severities", value)
        return value  # the field's converter reads OK/Info/Warning/Critical
    raise AssertionError(kind)


def _element_from_toml(name: str, base, table, where: str, warnings: List[str]):
    if not isinstance(table, dict):
        raise ValueProblem(f"toml: cannot load {where}: expected a [{name}] table")
    by_key = {f.metadata["toml"]: f for f in attrs.fields(type(base))}
    changes = {}
    for key, value in table.items():
        field = by_key.get(key)
        if field is None:
            warnings.append(f"unknown configuration key [{name}] {key} ignored")
            continue
        changes[field.name] = _from_toml(f"{name}.{key}", field, value)
    return attrs.evolve(base, **changes)


def section_from_toml(name: str, current, value, warnings: List[str]):
    """A section's value from its TOML: ``[x]`` over the defaults; for a list
    section ``[x]`` or ``[[x]]``, elements from Go zero values (listmap)."""
    if not spec(name)[1]:
        return _element_from_toml(name, current, value, name, warnings)
    tables = value if isinstance(value, list) else [value]
    return tuple(
        _element_from_toml(name, zero_element(name), t, name, warnings) for t in tables
    )


# ------------------------------------------------------------ environment

def env_fields(all_services: Mapping[str, object]) -> Dict[str, Tuple[str, int, attrs.Attribute, Optional[str]]]:
    """``KAPACITOR_*`` name -> (section, element index or -1, field, sub-key).

    Single sections: ``KAPACITOR_SMTP_HOST``; list sections by index, for
    existing elements only: ``KAPACITOR_HTTPPOST_0_URL``; struct options by
    their keys (``..._BASIC_AUTH_USERNAME``).  Map options (headers) are
    matched by prefix in :func:`apply_env`.
    """
    table: Dict[str, Tuple[str, int, attrs.Attribute, Optional[str]]] = {}
    for name, value in all_services.items():
        is_list = spec(name)[1]
        indices = range(len(value)) if is_list else (-1,)
        for index in indices:
            prefix = name if index < 0 else f"{name}_{index}"
            for f in fields(name):
                kind = f.metadata["kind"]
                env = model.env_name(prefix, f.metadata["toml"])
                if kind == services.BASIC_AUTH:
                    for sub in ("username", "password"):
                        table[f"{env}_{sub.upper()}"] = (name, index, f, sub)
                elif kind in (services.SEVERITY_MAP, services.STRING_MAP):
                    continue  # Go skips interface{} fields; maps by prefix
                else:
                    table[env] = (name, index, f, None)
    return table


def map_fields(all_services: Mapping[str, object]) -> Iterator[Tuple[str, str, int, attrs.Attribute]]:
    """(variable prefix + ``_``, section, index, field) of every map option."""
    for name, value in all_services.items():
        is_list = spec(name)[1]
        for index in (range(len(value)) if is_list else (-1,)):
            prefix = name if index < 0 else f"{name}_{index}"
            for f in fields(name):
                if f.metadata["kind"] == services.STRING_MAP:
                    yield model.env_name(prefix, f.metadata["toml"]) + "_", name, index, f


def with_option(name: str, value, index: int, field: attrs.Attribute, new):
    """*value* with one option of one element replaced."""
    if index < 0:
        return attrs.evolve(value, **{field.name: new})
    items = list(value)
    items[index] = attrs.evolve(items[index], **{field.name: new})
    return tuple(items)


def option_of(value, index: int, field: attrs.Attribute):
    element = value if index < 0 else value[index]
    return getattr(element, field.name)


# ----------------------------------------------------- config-API options



def _wrong_kind(value, expected: str) -> ValueProblem:
    return ValueProblem(f"wrong kind {gocompat.json_reflect_kind(value)}, expected value of kind {expected}: false")


def _string(value) -> str:
    if not isinstance(value, str):
        raise _wrong_kind(value, "string")
    return value


def from_option(field: attrs.Attribute, value):
    """An option value sent to ``POST /config`` converted to the field's type,
    loosely as Kapacitor's ``weakCopyValue`` does (numbers from numeric strings,
    durations from strings).  Unlike Kapacitor, a bad duration is refused."""
    kind = field.metadata["kind"]
    if kind == model.STRING:
        return _string(value)
    if kind == model.BOOL:
        if not isinstance(value, bool):
            raise _wrong_kind(value, "bool")
        return value
    if kind == model.INT:
        if isinstance(value, bool):
            raise ValueProblem("cannot convert bool into int")
        if isinstance(value, (int, float)):
            if value != value or value in (float("inf"), float("-inf")):
                raise ValueProblem(f"cannot convert {value} into int")
            return int(value)
        if isinstance(value, str):
            try:
                return gocompat.parse_int10(value, 64)
            except ValueError:
                raise ValueProblem(f"cannot convert string {gocompat.go_quote(value)} into int") from None
        raise ValueProblem(f"cannot convert {gocompat.json_reflect_kind(value)} into int")
    if kind == model.DURATION:
        if not isinstance(value, str):
            raise ValueProblem(f"cannot unmarshal {gocompat.json_reflect_kind(value)} into int64")
        try:
            return gocompat.parse_duration(value)
        except ValueError as e:
            raise ValueProblem(f"failed to unmarshal text: {e}") from None
    if kind == model.STRING_LIST:
        if not isinstance(value, list):
            raise _wrong_kind(value, "slice")
        try:
            return tuple(_string(v) for v in value)
        except ValueProblem as e:
            raise ValueProblem(f"failed to copy slice value: {e}") from None
    if kind == services.STRING_MAP:
        if not isinstance(value, dict):
            raise _wrong_kind(value, "map")
        try:
            return {k: _string(v) for k, v in value.items()}
        except ValueProblem as e:
            raise ValueProblem(f"failed to copy map value: {e}") from None
    if kind == services.BASIC_AUTH:
        return _struct(value, "httppost.BasicAuth", ("username", "password"),
                       lambda d: services.BasicAuth(**{k: _string(v) for k, v in d.items()}))
    if kind == services.SEVERITY_MAP:
        return _struct(value, "zenoss.SeverityMap", ("ok", "info", "warning", "critical"),
                       lambda d: services.SeverityMap(**d))
    raise AssertionError(kind)


def _struct(value, type_name: str, names: Tuple[str, ...], build):
    """mapstructure's decoding of a JSON object into a struct (keys by field
    name, case-insensitively; unknown keys are an error)."""
    if not isinstance(value, dict):
        raise _wrong_kind(value, "struct")
    decoded = {}
    unknown = []
    for key, item in value.items():
        low = key.lower()
        if low in names:
            decoded[low] = item
        else:
            unknown.append(key)
    if unknown:
        raise ValueProblem(
            f"failed to decode options into *{type_name}: 1 error(s) decoding:\n\n"
            f"* '' has invalid keys: {', '.join(sorted(unknown))}"
        )
    return build(decoded)


def _is_zero(value) -> bool:
    if attrs.has(type(value)):
        return all(_is_zero(getattr(value, f.name)) for f in attrs.fields(type(value)))
    return not value


def to_option(field: attrs.Attribute, value):
    """An option as ``GET /config`` shows it (redacted ones are handled by the caller)."""
    kind = field.metadata["kind"]
    if kind == model.DURATION:
        return gocompat.format_duration(value)
    if kind == model.STRING_LIST:
        return list(value) if value else None
    if kind == services.STRING_MAP:
        return {k: value[k] for k in sorted(value)} if value else None
    if kind == services.BASIC_AUTH:
        return {"username": value.username, "password": value.password}
    if kind == services.SEVERITY_MAP:
        return {"ok": value.ok, "info": value.info, "warning": value.warning,
                "critical": value.critical}
    return value


def redacted_option(value) -> bool:
    """A secret is shown only as whether it is set."""
    return not _is_zero(value)


# ------------------------------------------------------------- validation

def validate_section(name: str, value) -> None:
    """The section's ``Validate()``; ValueProblem with upstream's words."""
    try:
        services.validate(name, value)
    except ValueError as e:
        raise ValueProblem(str(e)) from None


def validate_all(all_services: Mapping[str, object]) -> None:
    """``Config.Validate`` for these sections: ``<section>: <reason>``."""
    for name in VALIDATION_ORDER:
        if name not in all_services:
            continue
        try:
            validate_section(name, all_services[name])
        except ValueProblem as e:
            raise ValueProblem(str(e) if name in _UNPREFIXED else f"{name}: {e}") from None


# -------------------------------------------------------------- rendering

def toml_string(value: str) -> str:
    """A TOML basic string; JSON's escaping is TOML's except for DEL."""
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def _toml_key(key: str) -> str:
    bare = key and all(c.isascii() and (c.isalnum() or c in "-_") for c in key)
    return key if bare else toml_string(key)


def toml_value(field: attrs.Attribute, value) -> str:
    """A field's value as ``kapacitord config`` writes it."""
    kind = field.metadata["kind"]
    if kind == model.BOOL:
        return "true" if value else "false"
    if kind == model.INT:
        return str(value)
    if kind == model.DURATION:
        return toml_string(gocompat.format_duration(value))
    if kind == model.STRING_LIST:
        return "[" + ", ".join(toml_string(v) for v in value) + "]"
    if kind == services.STRING_MAP:
        return "{" + ", ".join(f"{_toml_key(k)} = {toml_string(value[k])}" for k in sorted(value)) + "}"
    if kind == services.BASIC_AUTH:
        return "{username = %s, password = %s}" % (
            toml_string(value.username), toml_string(value.password))
    if kind == services.SEVERITY_MAP:
        parts = []
        for key, item in (("OK", value.ok), ("Info", value.info),
                          ("Warning", value.warning), ("Critical", value.critical)):
            text = toml_string(item) if isinstance(item, str) else json.dumps(item)
            parts.append(f"{key} = {text}")
        return "{" + ", ".join(parts) + "}"
    return toml_string(value)


def render_lines(all_services: Mapping[str, object]) -> List[str]:
    """``[x]`` / ``[[x]]`` tables for ``kapacitord config``, in section order."""
    out: List[str] = []
    for name in services.SERVICE_SECTIONS:
        if name not in all_services:
            continue
        header = f"[[{name}]]" if spec(name)[1] else f"[{name}]"
        for element in elements(name, all_services[name]):
            out.append("")
            out.append(header)
            for f in attrs.fields(type(element)):
                out.append(f"  {f.metadata['toml']} = {toml_value(f, getattr(element, f.name))}")
    return out
