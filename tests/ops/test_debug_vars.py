"""``GET /kapacitor/v1/debug/vars`` (reference §5.6, §10 #10, #15): the
expvar document the ``kapacitor`` CLI reads, the node IDs kept in
``data_dir``, and when the route needs credentials."""

from __future__ import annotations

import json
import uuid

import pytest

from kapacitord_tw import __version__
from kapacitord_tw.ids import load_ids
from kapacitord_tw.stats import HTTPD_COUNTERS
from tests.http.harness import JSON_TYPE, V1, Harness, err_body
from tests.ops.support import ADMIN, httpd_values, secured, with_settings

VARS = V1 + "/debug/vars"
NAMES = ["cluster_id", "cmdline", "host", "kapacitor", "memstats", "num_enabled_tasks",
         "num_subscriptions", "num_tasks", "platform", "product", "server_id", "version"]


@pytest.fixture
def h(tmp_path):
    return secured(tmp_path)


def test_document_is_written_by_hand_with_sorted_names(h):
    r = h.get(VARS, auth=ADMIN)
    assert r.code == 200
    assert r.header("Content-Type") == JSON_TYPE
    assert r.body.startswith(b"{\n") and r.body.endswith(b"\n}\n")
    # One `"name": value` entry per line, compact values, joined by ",\n".
    entries = r.body[2:-3].split(b",\n")
    names = []
    for entry in entries:
        name, sep, value = entry.partition(b": ")
        assert sep, entry
        names.append(json.loads(name))
        assert b"\n" not in value
        json.loads(value)
    assert names == NAMES
    assert list(r.json()) == NAMES


def test_fields_the_cli_reads(h, tmp_path):
    doc = h.get(VARS, auth=ADMIN).json()
    assert doc["cluster_id"] == (tmp_path / "cluster.id").read_text().strip()
    assert doc["server_id"] == (tmp_path / "server.id").read_text().strip()
    uuid.UUID(doc["cluster_id"]), uuid.UUID(doc["server_id"])
    assert doc["cluster_id"] != doc["server_id"]
    assert doc["host"] == h.config.hostname
    assert (doc["num_tasks"], doc["num_enabled_tasks"], doc["num_subscriptions"]) == (0, 0, 0)
    assert (doc["platform"], doc["product"], doc["version"]) == ("OSS", "kapacitor", __version__)


def test_httpd_entry_carries_every_counter_and_the_node_tags(h):
    doc = h.get(VARS, auth=ADMIN).json()
    (key, entry), = [(k, e) for k, e in doc["kapacitor"].items() if e["name"] == "httpd"]
    uuid.UUID(key)
    assert entry["tags"] == {
        "bind": h.config.http.bind_address,
        "cluster_id": doc["cluster_id"],
        "host": doc["host"],
        "server_id": doc["server_id"],
    }
    assert sorted(entry["values"]) == sorted(HTTPD_COUNTERS)


def test_failed_logins_increment_auth_fail(h):
    assert httpd_values(h)["auth_fail"] == 0
    assert h.get(V1 + "/ping", auth=("admin", "wrong")).code == 401
    assert h.get(V1 + "/ping", auth=("nobody", "pw")).code == 401
    assert h.get(V1 + "/ping", auth=ADMIN).code == 204
    assert httpd_values(h)["auth_fail"] == 2


def test_ping_and_requests_are_counted(h):
    before = httpd_values(h)
    h.get(V1 + "/ping", auth=ADMIN)
    after = httpd_values(h)
    assert after["ping_req"] == before["ping_req"] + 1
    assert after["req"] == before["req"] + 2


def test_task_counts_follow_the_task_store(h):
    task = {"type": "stream", "dbrps": [{"db": "telegraf", "rp": "autogen"}],
            "script": "stream|from().measurement('cpu')"}
    r = h.post(V1 + "/tasks", {"id": "one", **task}, auth=ADMIN)
    if r.code == 404:
        pytest.skip("POST /kapacitor/v1/tasks is not there yet")
    assert r.code == 200, r.body
    assert h.post(V1 + "/tasks", {"id": "two", "status": "enabled", **task}, auth=ADMIN).code == 200
    doc = h.get(VARS, auth=ADMIN).json()
    assert (doc["num_tasks"], doc["num_enabled_tasks"]) == (2, 1)


# ------------------------------------------------------------ node IDs

def test_ids_survive_a_restart_on_the_same_data_dir(tmp_path):
    first = Harness(tmp_path, http_auth=False)
    ids = first.get(VARS).json()
    fired = []
    first.store.close().addBoth(fired.append)
    assert fired == [None]
    second = Harness(tmp_path, http_auth=False).get(VARS).json()
    assert (second["cluster_id"], second["server_id"]) == (ids["cluster_id"], ids["server_id"])


def test_ids_of_another_data_dir_differ(tmp_path):
    a = load_ids(str(tmp_path / "a"))
    b = load_ids(str(tmp_path / "b"))
    assert a.cluster_id != b.cluster_id and a.server_id != b.server_id


def test_an_empty_id_file_gets_a_new_id(tmp_path):
    (tmp_path / "cluster.id").write_text("")
    ids = load_ids(str(tmp_path))
    assert (tmp_path / "cluster.id").read_text() == ids.cluster_id
    uuid.UUID(ids.cluster_id)


def test_a_corrupt_id_file_stops_start_up_naming_the_file(tmp_path):
    (tmp_path / "server.id").write_text("not-a-uuid")
    with pytest.raises(ValueError, match="server.id: not a valid UUID"):
        load_ids(str(tmp_path))
    assert (tmp_path / "server.id").read_text() == "not-a-uuid"


# ------------------------------------------------------ authentication

def test_needs_credentials_by_default(h):
    r = h.get(VARS)
    assert (r.code, r.body) == (
        401, err_body("unable to parse authentication credentials", pretty=False))


def test_pprof_enabled_makes_it_reachable_without_credentials(tmp_path, monkeypatch):
    with_settings(monkeypatch, http={"pprof_enabled": True})
    h = secured(tmp_path)
    r = h.get(VARS)
    assert r.code == 200
    assert r.json()["product"] == "kapacitor"


def test_api_users_may_read_it_and_users_without_permissions_may_not(h):
    h.add_user("operator", permissions=["api"])
    h.add_user("nobody", permissions=[])
    assert h.get(VARS, auth=("operator", "pw")).code == 200
    r = h.get(VARS, auth=("nobody", "pw"))
    message = ('user nobody does not have "read" privilege for API endpoint '
               '"/kapacitor/v1/debug/vars"')
    assert (r.code, r.body) == (403, err_body(message, pretty=False))
