"""``kapacitord config``: the merged configuration printed back as TOML."""

from __future__ import annotations

from typing import List

from kapacitord_tw.config import model, servicevalues
from kapacitord_tw.config.influxdb import render_list


# One TOML spelling of strings and values, shared with the service sections.
_string = servicevalues.toml_string
_value = servicevalues.toml_value


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
