"""
``/kapacitor/v1/storage``: list stores, rebuild them, and download a backup
(reference §8.1).

The backup is a consistent snapshot of the whole store (users with their
hashes, tasks, templates) in the journal format — a file that can be put
back as ``<data_dir>/kapacitord-tw.journal``.  Downloading it needs an admin:
a deliberate fix, since the original lets any ``api`` user take every
password hash.
"""

from __future__ import annotations

from klein import Klein
from twisted.logger import Logger

from kapacitord_tw import gocompat
from kapacitord_tw.auth.guard import forbidden
from kapacitord_tw.http import jsonbody
from kapacitord_tw.http.area import Area, install_error_handlers
from kapacitord_tw.http.errors import APIError, json_response, no_content
from kapacitord_tw.http.root import decoded_path
from kapacitord_tw.http.routing import BASE

STORES_PATH = BASE + "/storage/stores"
BACKUP_FILENAME = "kapacitord-tw.journal"
#: Store names shown to clients → the store namespaces they cover.
STORES = {"tasks": ("tasks", "templates")}


class StorageAPI(Area):
    app = install_error_handlers(Klein())
    log = Logger()
    mux = (
        ("GET", "/storage/backup", {"json": False, "gzip": False, "authorize": "admin_only"}),
        ("GET", "/storage/stores", {}),
        ("POST", "/storage/", {}),
    )

    def __init__(self, store):
        self._store = store

    def admin_only(self, request, user) -> None:
        if not user.admin:
            raise forbidden(user, request.method.decode("latin-1"), decoded_path(request))

    @app.route("/storage/backup", methods=["GET"])
    def backup(self, request):
        snapshot = self._store.snapshot_bytes()
        request.setHeader(b"Content-Type", b"application/octet-stream")
        request.setHeader(
            b"Content-Disposition", f'attachment; filename="{BACKUP_FILENAME}"'.encode()
        )
        request.setHeader(b"Content-Length", str(len(snapshot)).encode())
        self.log.info("backup of {size} bytes sent", size=len(snapshot))
        return snapshot

    @app.route("/storage/stores", methods=["GET"])
    def stores(self, request):
        return json_response(
            request,
            {
                "link": {"rel": "self", "href": STORES_PATH},
                "storage": [
                    {"link": {"rel": "self", "href": f"{STORES_PATH}/{name}"}, "name": name}
                    for name in sorted(STORES)
                ],
            },
        )

    @app.route("/storage/", methods=["POST"])
    @app.route("/storage/<path:_rest>", methods=["POST"])
    def action(self, request, _rest=None):
        path = decoded_path(request)
        name = path[len(BASE + "/storage/"):]
        if name.startswith("stores/"):
            name = name[len("stores/"):]
        if name not in STORES:
            raise APIError(404, f"unknown storage {gocompat.go_quote(name)}")
        try:
            body = jsonbody.decode_struct(request.content.read(), {"action": jsonbody.string})
        except jsonbody.BodyError as e:
            raise APIError(400, f"failed to unmarshal storage action {e}") from None
        action = body.get("action", "")
        if action != "rebuild":
            raise APIError(400, f"failed to unmarshal storage action unknown StorageAction {action}")
        d = self._store.compact()

        def rebuilt(_):
            self.log.info("store {name} rebuilt", name=name)
            return no_content(request)

        def failed(failure):
            raise APIError(500, f"failed to rebuild {gocompat.go_quote(name)}: {failure.getErrorMessage()}")

        return d.addCallbacks(rebuilt, failed)
