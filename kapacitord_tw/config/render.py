"""``kapacitord config``: the merged configuration printed back as TOML."""

from __future__ import annotations

import json
from typing import List

from kapacitord_tw import gocompat
from kapacitord_tw.config import model


def _value(field, value) -> str:
    kind = field.metadata["kind"]
    if kind == model.BOOL:
        return "true" if value else "false"
    if kind == model.INT:
        return str(value)
    if kind == model.DURATION:
        return json.dumps(gocompat.format_duration(value))
    if kind == model.STRING_LIST:
        return "[" + ", ".join(json.dumps(v, ensure_ascii=False) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


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
    return "\n".join(out) + "\n"
