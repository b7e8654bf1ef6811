"""
``/kapacitor/v1/service-tests``: list the services that can send a test
notification, show a test's default options, and run one (Kapacitor's
``services/servicetest``).

Services register themselves in a :class:`ServiceTests` registry with their
default options (a JSON object, Kapacitor's ``TestOptions()``) and a test
callable ``options -> Deferred`` firing ``(success, message)``.  A test
never answers with a 5xx: a failure, an exception or a test that takes
longer than ``timeout`` seconds is ``{"success": false, "message": ...}``.
"""

from __future__ import annotations

import copy
from typing import Callable, Dict, Optional

import attrs
from klein import Klein
from twisted.internet import defer
from twisted.logger import Logger

from kapacitord_tw import gocompat, globmatch
from kapacitord_tw.http import jsonbody
from kapacitord_tw.http.area import Area, install_error_handlers
from kapacitord_tw.http.errors import APIError
from kapacitord_tw.http.root import decoded_path
from kapacitord_tw.http.routing import BASE

TESTS_PATH = BASE + "/service-tests"
_ANCHORED = TESTS_PATH + "/"
#: How long a test may take before it is reported as failed.
DEFAULT_TIMEOUT = 30.0


@attrs.frozen
class ServiceTest:
    name: str
    #: Default options: a JSON object, a callable returning one (defaults that
    #: follow the live configuration), or ``None`` for a test without options.
    options: object = attrs.field(eq=False)
    test: Callable[[Optional[dict]], defer.Deferred] = attrs.field(eq=False, repr=False)

    def defaults(self) -> Optional[dict]:
        options = self.options() if callable(self.options) else self.options
        return copy.deepcopy(options)


class ServiceTests:
    """Name -> test; names are unique (Kapacitor's ``AddTester``)."""

    def __init__(self):
        self._tests: Dict[str, ServiceTest] = {}

    def register(self, name: str, options: Optional[dict], test: Callable) -> None:
        if name in self._tests:
            raise ValueError(f"tester with name {gocompat.go_quote(name)} already exists")
        self._tests[name] = ServiceTest(name, options, test)

    def get(self, name: str) -> Optional[ServiceTest]:
        return self._tests.get(name)

    def names(self):
        return sorted(self._tests)


def register_notifications(tests: ServiceTests, notifications) -> None:
    """Register every service of a ``services.registry.NotificationServices``:
    its test options follow the live configuration of its section."""
    for name in notifications.names():
        tests.register(
            name,
            lambda n=name: notifications.test_options(n),
            lambda options, n=name: notifications.test(n, options),
        )


def _link(name: str) -> dict:
    return {"rel": "self", "href": gocompat.path_join(_ANCHORED, name)}


def _test_json(test: ServiceTest) -> dict:
    return {"link": _link(test.name), "name": test.name, "options": test.defaults()}


def _encoder(request, obj) -> bytes:
    request.setResponseCode(200)
    return gocompat.json_dumps(obj, newline=True)


def merge_options(defaults: dict, body: bytes) -> dict:
    """The body decoded over a copy of the defaults, as Go decodes JSON into
    the options struct: keys matched case-insensitively, unknown ones ignored,
    ``null`` leaves the default."""
    options = copy.deepcopy(defaults)
    checkers = {name: (lambda v: v) for name in defaults}
    options.update(jsonbody.decode_struct(body, checkers))
    return options


class ServiceTestsAPI(Area):
    app = install_error_handlers(Klein())
    log = Logger()
    mux = (
        ("GET", "/service-tests", {}),
        ("GET", "/service-tests/", {}),
        ("POST", "/service-tests/", {}),
    )

    def __init__(self, tests: ServiceTests, reactor, timeout: float = DEFAULT_TIMEOUT):
        self._tests = tests
        self._reactor = reactor
        self._timeout = timeout

    def _named(self, request) -> ServiceTest:
        name = decoded_path(request)[len(_ANCHORED):].rstrip("/")
        if name == "":
            raise APIError(400, "must provide service name")
        test = self._tests.get(name)
        if test is None:
            raise APIError(404, f"service {gocompat.go_quote(name)} not found")
        return test

    @app.route("/service-tests", methods=["GET"])
    def list_tests(self, request):
        values = request.args.get(b"pattern") or [b""]
        pattern = values[0].decode("utf-8", "surrogateescape") or "*"
        try:
            globmatch.check_pattern(pattern)
        except globmatch.PatternTooLong as e:
            raise APIError(400, f"bad pattern: {e}") from None
        found = []
        for name in self._tests.names():
            try:
                if gocompat.path_match_strict(pattern, name):
                    found.append(_test_json(self._tests.get(name)))
            except gocompat.BadPattern as e:
                raise APIError(400, f"bad pattern: {e}") from None
        return _encoder(request, {"link": {"rel": "self", "href": TESTS_PATH},
                                  "services": found or None})

    @app.route("/service-tests/", methods=["GET"])
    @app.route("/service-tests/<path:_rest>", methods=["GET"])
    def options(self, request, _rest=None):
        return _encoder(request, _test_json(self._named(request)))

    @app.route("/service-tests/", methods=["POST"])
    @app.route("/service-tests/<path:_rest>", methods=["POST"])
    @defer.inlineCallbacks
    def run(self, request, _rest=None):
        test = self._named(request)
        options = test.defaults()
        if options is not None:
            try:
                options = merge_options(options, request.content.read())
            except jsonbody.BodyError as e:
                raise APIError(400, f"failed to decode JSON body:{e}") from None
        self.log.info("running service test {name}", name=test.name)
        try:
            d = defer.maybeDeferred(test.test, options)
            d.addTimeout(self._timeout, self._reactor)
            success, message = yield d
        except defer.TimeoutError:
            success, message = False, f"timed out after {gocompat.format_duration(int(self._timeout * 1e9))}"
        except Exception as e:
            success, message = False, str(e) or type(e).__name__
        if not success:
            self.log.info("service test {name} failed", name=test.name)
        return _encoder(request, {"success": bool(success), "message": message or ""})
