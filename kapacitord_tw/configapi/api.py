"""
``/kapacitor/v1/config``: read the notification sections and override them
live (reference §7).

GET shows each section's file value with the stored overrides applied,
secrets replaced by whether they are set.  POST checks the update, applies
it to a copy, validates the result, stores it, and only once it is on disk
hands the new section to the running services (:class:`ServiceConfigs`):
an update that fails any step changes nothing.  Privileges are by path
(``/api/config``): admin, ``all`` and ``config_api`` users.
"""

from __future__ import annotations

import re
from typing import List, Optional, Tuple

from klein import Klein
from twisted.internet import defer
from twisted.logger import Logger

from kapacitord_tw.gocompat import json_go_type, json_kind
from kapacitord_tw import gocompat
from kapacitord_tw.config import servicevalues as values
from kapacitord_tw.config.services import SERVICE_SECTIONS
from kapacitord_tw.configapi.live import ServiceConfigs
from kapacitord_tw.configapi.overrides import Override, OverrideError, override_id, resolve
from kapacitord_tw.http import jsonbody
from kapacitord_tw.http.area import Area, install_error_handlers
from kapacitord_tw.http.errors import APIError, no_content
from kapacitord_tw.http.root import decoded_path
from kapacitord_tw.http.routing import BASE

CONFIG_PATH = BASE + "/config"
_ANCHORED = CONFIG_PATH + "/"
_VALID_NAME = re.compile(r"^[-\w+]+$", re.ASCII)


# ------------------------------------------------------------------ JSON

def _link(href: str) -> dict:
    return {"rel": "self", "href": href}


def element_json(section: str, element) -> dict:
    """``{"link", "options", "redacted"}``: secrets shown as set/not set."""
    element_name = values.element_id(section, element)
    href = gocompat.path_join(_ANCHORED, section, element_name)
    if not element_name:
        href += "/"
    options = {}
    redacted = []
    for field in values.fields(section):
        name = values.option_name(section, field)
        value = getattr(element, field.name)
        if field.metadata.get("redact"):
            options[name] = values.redacted_option(value)
            redacted.append(name)
        else:
            options[name] = values.to_option(field, value)
    return {
        "link": _link(href),
        "options": {k: options[k] for k in sorted(options)},
        "redacted": redacted or None,
    }


def section_json(section: str, value) -> dict:
    items = sorted(values.elements(section, value), key=lambda e: values.element_id(section, e))
    return {
        "link": _link(gocompat.path_join(_ANCHORED, section)),
        "elements": [element_json(section, e) for e in items],
    }


def _encoder(request, obj) -> bytes:
    """Go's ``json.NewEncoder(w).Encode``: compact, with a newline."""
    request.setResponseCode(200)
    return gocompat.json_dumps(obj, newline=True)


# ----------------------------------------------------------- update body





def _a_map(field: str):
    def check(value):
        if not isinstance(value, dict):
            raise jsonbody.BodyError(
                f"json: cannot unmarshal {json_kind(value)} into Go struct field "
                f"updateAction.{field} of type map[string]interface {{}}")
        return value
    return check


def _strings(field: str):
    def check(value):
        if not isinstance(value, list):
            raise jsonbody.BodyError(
                f"json: cannot unmarshal {json_kind(value)} into Go struct field "
                f"updateAction.{field} of type []string")
        for item in value:
            if not isinstance(item, str):
                raise jsonbody.BodyError(
                    f"json: cannot unmarshal {json_kind(item)} into Go struct field "
                    f"updateAction.{field} of type string")
        return value
    return check


_UPDATE_FIELDS = {"set": _a_map("set"), "delete": _strings("delete"),
                  "add": _a_map("add"), "remove": _strings("remove")}


class _Invalid(ValueError):
    """An update Kapacitor refuses before applying it (``failed to apply update: ...``)."""


def _check_action(section: str, element: str, has_element: bool, action: dict) -> None:
    """``updateAction.Validate``."""
    if section == "":
        raise _Invalid("invalid update action: must provide section name")
    if not _VALID_NAME.match(section):
        raise _Invalid(f"invalid update action: invalid section name {gocompat.go_quote(section)}")
    if element and not _VALID_NAME.match(element):
        raise _Invalid(f"invalid update action: invalid element name {gocompat.go_quote(element)}")
    set_or_delete = bool(action.get("set")) or bool(action.get("delete"))
    adding, removing = bool(action.get("add")), bool(action.get("remove"))
    if set_or_delete and (adding or removing):
        raise _Invalid("invalid update action: cannot provide both set/delete and "
                       "add/remove actions in the same update")
    if adding and element:
        raise _Invalid("invalid update action: must not provide an element name when "
                       "adding an a new override")
    if removing and element:
        raise _Invalid("invalid update action: must not provide element when removing an override")
    if not removing and not adding and not has_element:
        raise _Invalid("invalid update action: element not specified, are you missing "
                       "a trailing '/'?")


def split_path(path: str) -> Tuple[str, str, bool, bool]:
    """(section, element, has section, has element) of a request path."""
    if not path.startswith(_ANCHORED):
        return "", "", False, False
    rest = path[len(_ANCHORED):]
    section, _, element = rest.partition("/")
    return section, element, True, bool(element) or (bool(section) and path.endswith("/"))


# -------------------------------------------------------------------- API

class ConfigAPI(Area):
    app = install_error_handlers(Klein())
    log = Logger()
    mux = (
        ("GET", "/config", {}),
        ("GET", "/config/", {}),
        ("POST", "/config/", {}),
    )

    def __init__(self, configs: ServiceConfigs, enabled: bool = True):
        self._configs = configs
        self._enabled = enabled

    def _check_enabled(self) -> None:
        if not self._enabled:
            raise APIError(403, "config override service is not enabled")

    def _resolved(self, names: List[str]) -> dict:
        """Section -> value, file plus stored overrides, as GET shows them."""
        out = {}
        for name in names:
            try:
                out[name] = self._configs.resolved(name)
            except OverrideError as e:
                raise APIError(500, f"failed to resolve current config:{e}") from None
        return out

    # ----------------------------------------------------------------- GET

    @app.route("/config", methods=["GET"])
    @app.route("/config/", methods=["GET"])
    @app.route("/config/<path:_rest>", methods=["GET"])
    def read(self, request, _rest=None):
        self._check_enabled()
        section, element, has_section, has_element = split_path(decoded_path(request))
        if not has_section:
            sections = self._resolved(list(SERVICE_SECTIONS))
            return _encoder(request, {
                "link": _link(CONFIG_PATH),
                "sections": {n: section_json(n, sections[n]) for n in sorted(sections)},
            })
        if section == "":
            raise APIError(400, "section not specified, do you have an extra trailing '/'?")
        if section not in SERVICE_SECTIONS:
            raise APIError(404, f"unknown section: {section}")
        value = self._resolved([section])[section]
        if not has_element:
            return _encoder(request, section_json(section, value))
        for item in values.elements(section, value):
            if values.element_id(section, item) == element:
                return _encoder(request, element_json(section, item))
        raise APIError(404, f"unknown section/element: {section}/{element}")

    # ---------------------------------------------------------------- POST

    @app.route("/config/", methods=["POST"])
    @app.route("/config/<path:_rest>", methods=["POST"])
    def update(self, request, _rest=None):
        self._check_enabled()
        section, element, _has_section, has_element = split_path(decoded_path(request))
        try:
            action = jsonbody.decode_struct(request.content.read(), _UPDATE_FIELDS)
        except jsonbody.BodyError as e:
            raise APIError(400, f"failed to decode JSON:{e}") from None
        try:
            overrides, save = self._plan(section, element, has_element, action)
        except _Invalid as e:
            raise APIError(400, f"failed to apply update: {e}") from None
        try:
            new_value = resolve(section, self._configs.base.get(section), overrides)
        except OverrideError as e:
            raise APIError(400, str(e)) from None
        if section not in SERVICE_SECTIONS:  # only a "remove" gets here
            raise APIError(400, f"failed to override configuration {section}/{element}: "
                                f"unknown section {section}")
        try:
            values.validate_section(section, new_value)
        except values.ValueProblem as e:
            # Kapacitor's service refuses it with a 500; it is the client's input.
            raise APIError(400, f"failed to update configuration {section}/{element}: {e}") from None
        return self._save(request, section, save)

    def _plan(self, section: str, element: str, has_element: bool, action: dict):
        """The section's overrides after the update, and the store writes it takes."""
        _check_action(section, element, has_element, action)
        store = self._configs.overrides
        removing = action.get("remove") or []
        if removing:
            gone = {override_id(section, r) for r in removing}
            kept = [o for o in store.section(section) if o.id not in gone]
            return kept, [("delete", i) for i in sorted(gone)]
        adding = action.get("add") or {}
        if adding:
            if section not in SERVICE_SECTIONS:
                raise _Invalid(f"unknown section {gocompat.go_quote(section)}")
            key = values.spec(section)[2]
            if key is None:
                raise _Invalid(f"section {gocompat.go_quote(section)} is not a list, "
                               "cannot add new element")
            if key not in adding:
                raise _Invalid(f"missing key {gocompat.go_quote(key)} in \"add\" map")
            if not isinstance(adding[key], str):
                raise _Invalid(f"expected {gocompat.go_quote(key)} key to be a string, "
                               f"got {json_go_type(adding[key])}")
            element = adding[key]
        oid = override_id(section, element)
        existing = store.get(oid)
        if adding:
            if existing is not None:
                # Kapacitor goes on with an empty override and then panics.
                raise _Invalid(f"cannot add new override, override already exists for {oid}")
            override = Override(id=oid, options=dict(adding), create=True)
        else:
            options = dict(existing.options) if existing is not None else {}
            create = existing.create if existing is not None else False
            options.update(action.get("set") or {})
            for name in action.get("delete") or []:
                options.pop(name, None)
            override = Override(id=oid, options=options, create=create)
        overrides = [o for o in store.section(section) if o.id != oid]
        overrides.append(override)
        overrides.sort(key=lambda o: o.id)
        if section not in SERVICE_SECTIONS:
            overrides = [override]
        return overrides, [("put", override)]

    @defer.inlineCallbacks
    def _save(self, request, section: str, writes):
        store = self._configs.overrides
        # Issued together, before yielding: a concurrent update sees them.
        pending = []
        for kind, what in writes:
            d = store.put(what) if kind == "put" else store.delete(what)
            pending.append((kind, what, d))
        for kind, what, d in pending:
            try:
                yield d
            except Exception as e:
                name = what.id if kind == "put" else what
                self.log.failure("config override {id} not saved", id=name)
                verb = "failed to save override" if kind == "put" else \
                    "failed to remove existing override"
                raise APIError(500, f"{verb} {name}: {e}") from None
        try:
            self._configs.refresh(section)
        except OverrideError as e:  # pragma: no cover - checked before saving
            self.log.error("section {section} not refreshed: {error}", section=section,
                           error=str(e))
        self.log.info("config section {section} overridden", section=section)
        return no_content(request)
