"""
Go's ``ServeMux`` rules, as Kapacitor's router uses them (reference §1.2):
exact patterns, subtree patterns ending in ``/``, longest match wins, one
table per method, no trailing-slash redirects.
"""

from __future__ import annotations

from typing import Callable, Dict, List, Optional, Tuple

import attrs

from kapacitord_tw import gocompat

METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE", "HEAD", "OPTIONS")
BASE = "/kapacitor/v1"
PREVIEW = "/kapacitor/v1preview"


@attrs.frozen
class Route:
    """One registration: a method, a full pattern and how to serve it.

    ``prefix`` is stripped before the area's Klein app sees the path;
    ``authorize`` (``(request, user) -> None`` raising on refusal) replaces
    the path-based privilege check for areas with rules of their own.
    """

    method: str
    pattern: str
    resource: object = attrs.field(eq=False, repr=False)
    prefix: str = BASE
    json: bool = True
    gzip: bool = True
    bypass_auth: bool = False
    authorize: Optional[Callable] = attrs.field(default=None, eq=False, repr=False)
    #: A plain ``request -> bytes`` handler the root calls itself, skipping
    #: Klein's routing: only for the ping health check, the hottest path.
    direct: Optional[Callable] = attrs.field(default=None, eq=False, repr=False)


class RouteTable:
    """Method → pattern → Route, matched the way Go's mux matches."""

    def __init__(self) -> None:
        self._tables: Dict[str, Dict[str, Route]] = {m: {} for m in METHODS}
        self._subtrees: Dict[str, List[Tuple[str, Route]]] = {m: [] for m in METHODS}
        # The two raw patterns every method table has: the 404 catch-all
        # and the preview rewrite.  They have no area resource.
        for method in METHODS:
            self.add(Route(method, "/", None, prefix=""))
            self.add(Route(method, PREVIEW + "/", None, prefix=""))

    def add(self, route: Route) -> None:
        if route.method not in self._tables:
            raise ValueError(f"unsupported method {route.method}")
        if route.pattern in self._tables[route.method]:
            raise ValueError(f"duplicate route {route.method} {route.pattern}")
        self._tables[route.method][route.pattern] = route
        if route.pattern.endswith("/"):
            subtrees = self._subtrees[route.method]
            subtrees.append((route.pattern, route))
            subtrees.sort(key=lambda item: len(item[0]), reverse=True)

    def match(self, method: str, path: str) -> Route:
        exact = self._tables[method].get(path)
        if exact is not None:
            return exact
        for pattern, route in self._subtrees[method]:
            if path.startswith(pattern):
                return route
        raise AssertionError("the catch-all matches every path")

    def patterns(self) -> Dict[str, List[str]]:
        """Pattern → methods, for ``GET /kapacitor/v1/:routes``."""
        out: Dict[str, List[str]] = {}
        for method in METHODS:
            for pattern in self._tables[method]:
                out.setdefault(pattern, []).append(method)
        return {k: out[k] for k in sorted(out)}


def clean_request_path(path: str) -> str:
    """``path.Clean`` keeping a trailing slash, as Go's mux does."""
    if path == "":
        return "/"
    if not path.startswith("/"):
        path = "/" + path
    cleaned = gocompat.path_clean(path)
    if path.endswith("/") and cleaned != "/":
        cleaned += "/"
    return cleaned
