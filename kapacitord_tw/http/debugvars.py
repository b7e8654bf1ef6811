"""
``GET /kapacitor/v1/debug/vars``: the expvar document the ``kapacitor`` CLI
reads for ``stats general`` and ``vars`` (reference §5.6).  Unlike the
original, the HTTP counters (``auth_fail`` among them) are published, as a
``kapacitor`` statistics entry named ``httpd``.
"""

from __future__ import annotations

import resource
import sys
import uuid
from typing import Callable, Tuple

from klein import Klein

from kapacitord_tw import __version__, gocompat
from kapacitord_tw.http.area import Area, install_error_handlers


class DebugVarsAPI(Area):
    app = install_error_handlers(Klein())

    def __init__(self, ids, hostname: str, counters, bind: str, bypass_auth: bool,
                 task_counts: Callable[[], Tuple[int, int]] = lambda: (0, 0),
                 influxdb=None):
        self._ids = ids
        self._hostname = hostname
        self._counters = counters
        self._bind = bind
        self._task_counts = task_counts
        self._influxdb = influxdb
        self._influxdb_ids = {}
        self._httpd_id = str(uuid.uuid4())
        self.mux = (("GET", "/debug/vars", {"bypass_auth": bypass_auth}),)

    def _tags(self, **extra) -> dict:
        tags = dict(extra)
        tags.update(
            cluster_id=self._ids.cluster_id,
            server_id=self._ids.server_id,
            host=self._hostname,
        )
        return dict(sorted(tags.items()))

    def variables(self) -> dict:
        num_tasks, num_enabled = self._task_counts()
        usage = resource.getrusage(resource.RUSAGE_SELF)
        stats = {
            self._httpd_id: {
                "name": "httpd",
                "tags": self._tags(bind=self._bind),
                "values": self._counters.snapshot(),
            }
        }
        if self._influxdb is not None:
            # One ``influxdb`` statistics entry per cluster (an addition of ours).
            for name, values in self._influxdb.stats().items():
                key = self._influxdb_ids.setdefault(name, str(uuid.uuid4()))
                stats[key] = {"name": "influxdb", "tags": self._tags(cluster=name),
                              "values": values}
            # Upstream's ``udp`` statistics, one per UDP subscription listener.
            for listener in self._influxdb.udp_listeners():
                stats[listener.stat_key] = {"name": "udp",
                                            "tags": self._tags(bind=listener.bind),
                                            "values": listener.stats.values()}
        return {
            "cluster_id": self._ids.cluster_id,
            "cmdline": list(sys.argv),
            "host": self._hostname,
            "kapacitor": stats,
            "memstats": {"MaxRSS": usage.ru_maxrss * 1024},
            "num_enabled_tasks": num_enabled,
            "num_subscriptions": self._influxdb.num_subscriptions() if self._influxdb else 0,
            "num_tasks": num_tasks,
            "platform": "OSS",
            "product": "kapacitor",
            "server_id": self._ids.server_id,
            "version": __version__,
        }

    @app.route("/debug/vars", methods=["GET"])
    def debug_vars(self, request):
        entries = [
            b'"' + name.encode() + b'": ' + gocompat.json_dumps(value)
            for name, value in sorted(self.variables().items())
        ]
        return b"{\n" + b",\n".join(entries) + b"\n}\n"
