"""
Request bodies of the task and template API, decoded as Go decodes
``client.CreateTaskOptions`` and friends (reference §1.8, §6.2).

A value Go's decoder rejects (wrong JSON type, unknown ``type``/``status``,
a var whose value does not fit its type) raises ``jsonbody.BodyError``, the
handler's "invalid JSON".  Vars that decode but fail Kapacitor's later
``newVar`` check come back as :class:`InvalidVars`, so the handler reports
them at the step where Kapacitor does.
"""

from __future__ import annotations

from kapacitord_tw import tick
from kapacitord_tw.http import jsonbody
from kapacitord_tw.tasks.model import DBRP, DISABLED, ENABLED


def _field(obj: dict, name: str):
    """Go's case-insensitive struct-field lookup: exact key first, else the last fold match."""
    if name in obj:
        return obj[name]
    found = None
    for key, value in obj.items():
        if key.lower() == name:
            found = value
    return found


def _dbrp(item) -> DBRP:
    if item is None:
        return DBRP("", "")
    if not isinstance(item, dict):
        raise jsonbody.BodyError("dbrp must be an object")
    db, rp = _field(item, "db"), _field(item, "rp")
    if db is None:
        db = ""
    if rp is None:
        rp = ""
    if not isinstance(db, str) or not isinstance(rp, str):
        raise jsonbody.BodyError("dbrp db and rp must be strings")
    return DBRP(db, rp)


def _dbrps(value):
    if not isinstance(value, list):
        raise jsonbody.BodyError("dbrps must be a list")
    return [_dbrp(item) for item in value]


class InvalidVars:
    """Vars that decode but fail Kapacitor's ``newVar`` checks: reported later, at its step."""

    def __init__(self, error: Exception):
        self.error = error


def _api_var(vtype: str, value, description: str) -> dict:
    """A checked var in the API's (and the journal's) shape: durations as nanoseconds."""
    if vtype == "list" and value is not None:
        return {"type": vtype, "value": [_api_var(*item) for item in value],
                "description": description}
    internal = "boolean" if vtype == "bool" else vtype
    return tick.var_to_api(tick.TickVar(internal, value, description))


def _check_int64(name: str, data) -> None:
    """Go's ``json.Number.Int64`` fails outside int64: the body does not decode."""
    if not isinstance(data, dict) or data.get("type") not in ("int", "duration"):
        return
    value = data.get("value")
    if isinstance(value, int) and not isinstance(value, bool) and not (
        -(1 << 63) <= value < (1 << 63)
    ):
        raise jsonbody.BodyError(f"invalid var {name}: value out of range")


def _vars(value):
    """``vars``: Kapacitor's ``Vars.UnmarshalJSON`` failures are "invalid JSON"."""
    if not isinstance(value, dict):
        raise jsonbody.BodyError("vars must be an object")
    for name, data in value.items():
        _check_int64(name, data)
    try:
        checked = tick.check_api_vars(value)
    except tick.VarDecodeError as e:
        raise jsonbody.BodyError(str(e)) from None
    except tick.TickVarError as e:
        return InvalidVars(e)
    return {name: _api_var(*spec) for name, spec in checked.items()}


TASK_TYPE = jsonbody.enum("stream", "batch", "invalid")
TASK_BODY = {
    "id": jsonbody.string,
    "template-id": jsonbody.string,
    "type": TASK_TYPE,
    "dbrps": _dbrps,
    "script": jsonbody.string,
    "status": jsonbody.enum(ENABLED, DISABLED),
    "vars": _vars,
}
TEMPLATE_BODY = {
    "id": jsonbody.string,
    "type": TASK_TYPE,
    "script": jsonbody.string,
}
