"""``kapacitord config``: the merged configuration printed back as TOML."""

from __future__ import annotations

import json
from typing import List

from kapacitord_tw import gocompat
from kapacitord_tw.config import model, servicevalues
from kapacitord_tw.config.influxdb import render_list


def _string(value: str) -> str:
    """A TOML basic string; JSON's escaping is TOML's except for DEL."""
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def _value(field, value) -> str:
    kind = field.metadata["kind"]
    if kind == model.BOOL:
        return "true" if value else "false"
    if kind == model.INT:
        return str(value)
    if kind == model.DURATION:
        return _string(gocompat.format_duration(value))
    if kind == model.STRING_LIST:
        return "[" + ", ".join(_string(v) for v in value) + "]"
    return _string(value)


def _lines(obj) -> List[str]:
    return [
        f"{f.metadata['toml']} = {_value(f, getattr(obj, f.name))}"
        for f in model.settings(obj)
    ]


def render_toml(config: model.Config) -> str:
    """Every setting, top level first, one ``[section]`` each, like the original."""
    out = _lines(config)
    for name, section in model.sections(config):
        out.append("")
        out.append(f"[{name}]")
        out.extend("  " + line for line in _lines(section))
    out.extend(render_list(config.influxdb))
    out.extend(servicevalues.render_lines(config.services))
    return "\n".join(out) + "\n"
