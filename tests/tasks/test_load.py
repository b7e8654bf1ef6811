"""
The ``[load]`` service: templates, tasks and topic handlers from files,
held to the API's own checks, with Kapacitor's order, ids and messages
(upstream ``services/load/service.go``).  The app runs in memory; what a
pass did is read back through the real HTTP API.
"""

import json

import pytest
from twisted.logger import globalLogPublisher
from twisted.python.failure import Failure

from kapacitord_tw.tasks.load import ITEMS, MAX_DATA_NODES, LoadError, Loader
from tests.http.harness import V1
from tests.tasks.support import TASKS, TEMPLATES, define, make_harness

TEMPLATE = """\
var measurement string
var field = 'usage_idle'
var limit = 10.0

stream
    |from()
        .measurement(measurement)
    |where(lambda: "usage_idle" < limit)
    |eval(lambda: "usage_idle").as('value')
    |httpOut('low')
"""

PLAIN_TASK = """\
dbrp "telegraf"."autogen"

stream
    |from()
        .measurement('cpu')
    |eval(lambda: "usage_idle" * 2.0)
        .as('double')
    |httpOut('out')
"""

VARS_JSON = {
    "template-id": "low_template",
    "dbrps": [{"db": "telegraf", "rp": "autogen"}],
    "vars": {
        "measurement": {"type": "string", "value": "cpu"},
        "limit": {"type": "float", "value": 20.0},
    },
}

VARS_YAML = """\
dbrps:
 - { db: "telegraf", rp: "autogen"}
template-id: low_template
vars: {
  "measurement": {"type" : "string", "value" : "mem" },
  "limit": {"type": "float", "value": 50.0}
}
"""


@pytest.fixture
def h(tmp_path, utc):
    return make_harness(tmp_path / "data")


@pytest.fixture
def load_dir(tmp_path):
    root = tmp_path / "load"
    for part in ("tasks", "templates", "handlers"):
        (root / part).mkdir(parents=True)
    return root


@pytest.fixture
def logged():
    events = []
    globalLogPublisher.addObserver(events.append)
    yield events
    globalLogPublisher.removeObserver(events.append)


def put(root, relative, text):
    path = root / relative
    path.write_text(text if isinstance(text, str) else json.dumps(text))
    return str(path)


def run_load(h, root, handlers=None):
    """One pass by a fresh loader (as after a restart); its result or its exception."""
    outcome = []
    Loader(str(root), h.app.tasks, h.store, handlers).load().addBoth(outcome.append)
    assert outcome, "load pass did not finish"
    if isinstance(outcome[0], Failure):
        outcome[0].raiseException()
    return outcome[0]


def load_error(h, root) -> str:
    with pytest.raises(LoadError) as err:
        run_load(h, root)
    return str(err.value)


def task(h, task_id):
    reply = h.get(f"{TASKS}/{task_id}?script-format=raw")
    assert reply.code == 200, reply.body
    return reply.json()


def write(h, lines: str):
    reply = h.post(V1 + "/write?db=telegraf&rp=autogen&precision=s", lines)
    assert reply.code == 204, reply.body
    h.app.engine.flush()


def output(h, task_id, name):
    reply = h.get(f"{TASKS}/{task_id}/{name}")
    assert reply.code == 200, reply.body
    return json.loads(reply.body)


def full_dir(root):
    put(root, "templates/low_template.tick", TEMPLATE)
    put(root, "tasks/cpu_double.tick", PLAIN_TASK)
    put(root, "tasks/cpu_low.json", VARS_JSON)
    put(root, "tasks/mem_low.yaml", VARS_YAML)


# ------------------------------------------------------------ a good pass


def test_templates_plain_tasks_and_template_tasks_are_defined_and_enabled(h, load_dir):
    full_dir(load_dir)
    run_load(h, load_dir)

    template = h.get(f"{TEMPLATES}/low_template?script-format=raw").json()
    assert template["script"] == TEMPLATE
    assert sorted(h.store.get_now("templates", "low_template")["tasks"]) == [
        "cpu_low", "mem_low"]

    plain = task(h, "cpu_double")
    assert (plain["status"], plain["executing"], plain["template-id"]) == ("enabled", True, "")
    assert plain["dbrps"] == [{"db": "telegraf", "rp": "autogen"}]
    assert plain["script"] == PLAIN_TASK

    from_json = task(h, "cpu_low")
    assert (from_json["status"], from_json["executing"]) == ("enabled", True)
    assert from_json["template-id"] == "low_template"
    assert from_json["vars"]["measurement"]["value"] == "cpu"
    assert from_json["vars"]["limit"] == {"type": "float", "value": 20.0, "description": ""}

    from_yaml = task(h, "mem_low")
    assert from_yaml["template-id"] == "low_template"
    assert from_yaml["dbrps"] == [{"db": "telegraf", "rp": "autogen"}]
    assert from_yaml["vars"]["measurement"]["value"] == "mem"
    assert from_yaml["vars"]["limit"]["value"] == 50.0


def test_loaded_tasks_run_and_answer_on_their_http_out(h, load_dir):
    full_dir(load_dir)
    run_load(h, load_dir)
    write(h, "cpu usage_idle=15 1\nmem usage_idle=40 2\ncpu usage_idle=5 3\n")

    assert output(h, "cpu_double", "out")["series"][0]["values"] == [
        ["1970-01-01T00:00:03Z", 10.0]]
    assert output(h, "cpu_low", "low")["series"][0]["values"] == [
        ["1970-01-01T00:00:03Z", 5.0]]
    assert output(h, "mem_low", "low")["series"][0]["values"] == [
        ["1970-01-01T00:00:02Z", 40.0]]


def test_the_file_name_is_the_id_even_when_the_file_names_another(h, load_dir):
    put(load_dir, "templates/low_template.tick", TEMPLATE)
    put(load_dir, "tasks/from_file_name.json", {**VARS_JSON, "id": "inside"})
    run_load(h, load_dir)
    assert task(h, "from_file_name")["template-id"] == "low_template"
    assert h.get(f"{TASKS}/inside").code == 404


def test_other_extensions_and_subdirectories_are_ignored(h, load_dir):
    put(load_dir, "tasks/notes.txt", "not a task")
    put(load_dir, "tasks/backup.tick~", "not a task either")
    (load_dir / "tasks" / "sub.tick").mkdir()
    put(load_dir, "tasks/real.tick", PLAIN_TASK)
    run_load(h, load_dir)
    assert [t["id"] for t in h.get(TASKS).json()["tasks"]] == ["real"]


def test_a_missing_directory_is_no_error(h, tmp_path):
    run_load(h, tmp_path / "nowhere")
    assert h.get(TASKS).json()["tasks"] == []


def test_missing_parts_are_skipped(h, tmp_path):
    root = tmp_path / "only_tasks"
    (root / "tasks").mkdir(parents=True)
    put(root, "tasks/t.tick", PLAIN_TASK)
    run_load(h, root)
    assert task(h, "t")["executing"] is True


# ------------------------------------------------------------ bad files


def test_a_task_without_dbrp_names_the_file_and_the_api_message(h, load_dir):
    path = put(load_dir, "tasks/nodbrp.tick", "stream|from().measurement('cpu')")
    assert load_error(h, load_dir) == (
        f"failed to load tasks: failed to load file {path}: failed to create task: "
        "must specify dbrp")
    assert h.get(f"{TASKS}/nodbrp").code == 404


def test_a_bad_template_stops_the_pass_before_any_task(h, load_dir):
    path = put(load_dir, "templates/broken.tick", "stream|from(")
    put(load_dir, "tasks/t.tick", PLAIN_TASK)
    message = load_error(h, load_dir)
    assert message.startswith(
        f"failed to load file {path}: failed to create template: invalid TICKscript: ")
    assert h.get(f"{TASKS}/t").code == 404


def test_unparseable_yaml_names_the_file(h, load_dir):
    path = put(load_dir, "tasks/bad.yml", "template-id: [unclosed\n")
    message = load_error(h, load_dir)
    assert message.startswith(
        f'failed to load tasks: failed to load file {path}: failed to unmarshal yaml task '
        f'vars file "{path}": ')


def test_a_wrongly_typed_json_field_names_the_file(h, load_dir):
    path = put(load_dir, "tasks/bad.json", {"template-id": "x", "dbrps": "telegraf"})
    assert load_error(h, load_dir).startswith(
        f'failed to load tasks: failed to load file {path}: failed to unmarshal json task '
        f'vars file "{path}": ')


def test_a_task_from_an_unknown_template_gets_the_api_message(h, load_dir):
    path = put(load_dir, "tasks/orphan.yaml", "template-id: nosuch\n")
    assert load_error(h, load_dir) == (
        f"failed to load tasks: failed to load file {path}: failed to create task: "
        "unknown template nosuch: err: no template exists")


def test_a_yaml_alias_bomb_is_refused_quickly(h, load_dir):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 12):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    path = put(load_dir, "tasks/bomb.yaml", "\n".join(lines) + "\n")
    assert load_error(h, load_dir).endswith(f"more than {MAX_DATA_NODES} values")
    assert str(path) in load_error(h, load_dir)


def test_an_invalid_file_name_is_the_api_id_error(h, load_dir):
    path = put(load_dir, "tasks/bad id.tick", PLAIN_TASK)
    assert load_error(h, load_dir) == (
        f"failed to load tasks: failed to load file {path}: failed to create task: "
        "task ID must contain only letters, numbers, '-', '.' and '_'. \"bad id\"")


# ------------------------------------------------------- updates, removals


def test_a_changed_file_updates_and_restarts_its_task_on_the_next_pass(h, load_dir):
    put(load_dir, "tasks/t.tick", PLAIN_TASK)
    run_load(h, load_dir)
    first = task(h, "t")
    changed = PLAIN_TASK.replace("* 2.0", "* 3.0")
    put(load_dir, "tasks/t.tick", changed)

    run_load(h, load_dir)

    second = task(h, "t")
    assert second["script"] == changed
    assert (second["status"], second["executing"]) == ("enabled", True)
    assert second["created"] == first["created"]
    assert second["last-enabled"] != first["last-enabled"]
    write(h, "cpu usage_idle=2 1\n")
    assert output(h, "t", "out")["series"][0]["values"] == [["1970-01-01T00:00:01Z", 6.0]]


def test_a_task_disabled_through_the_api_is_enabled_again_by_the_next_pass(h, load_dir):
    put(load_dir, "tasks/t.tick", PLAIN_TASK)
    run_load(h, load_dir)
    assert h.patch(f"{TASKS}/t", {"status": "disabled"}).code == 200
    run_load(h, load_dir)
    assert task(h, "t")["executing"] is True


def test_a_changed_template_rewrites_its_loaded_tasks(h, load_dir):
    full_dir(load_dir)
    run_load(h, load_dir)
    put(load_dir, "templates/low_template.tick", TEMPLATE.replace("httpOut('low')",
                                                                  "httpOut('lower')"))
    run_load(h, load_dir)
    write(h, "cpu usage_idle=1 1\n")
    assert output(h, "cpu_low", "lower")["series"][0]["values"] == [
        ["1970-01-01T00:00:01Z", 1.0]]


def test_an_existing_api_task_with_the_same_id_is_replaced_by_the_file(h, load_dir):
    define(h, "t", script="stream|from().measurement('other')|httpOut('out')")
    put(load_dir, "tasks/t.tick", PLAIN_TASK)
    run_load(h, load_dir)
    assert task(h, "t")["script"] == PLAIN_TASK
    assert task(h, "t")["status"] == "enabled"


def test_objects_whose_file_is_gone_are_deleted_but_api_ones_are_kept(h, load_dir):
    full_dir(load_dir)
    run_load(h, load_dir)
    define(h, "by_api")
    (load_dir / "tasks" / "cpu_double.tick").unlink()
    (load_dir / "tasks" / "mem_low.yaml").unlink()

    run_load(h, load_dir)

    ids = sorted(t["id"] for t in h.get(TASKS).json()["tasks"])
    assert ids == ["by_api", "cpu_low"]
    assert sorted(h.store.keys(ITEMS)) == ["tasks/cpu_low", "templates/low_template"]
    # A task later defined through the API with a removed file's id is not the
    # loader's any more: the next pass leaves it alone.
    define(h, "cpu_double")
    run_load(h, load_dir)
    assert h.get(f"{TASKS}/cpu_double").code == 200


def test_a_failed_pass_removes_nothing(h, load_dir):
    put(load_dir, "tasks/a.tick", PLAIN_TASK)
    run_load(h, load_dir)
    (load_dir / "tasks" / "a.tick").unlink()
    put(load_dir, "tasks/b.tick", "stream|from()")  # no dbrp
    load_error(h, load_dir)
    assert h.get(f"{TASKS}/a").code == 200


# ------------------------------------------------------------ handlers


class RecordingHandlers:
    """A registry standing in for the alerting service (which does not exist yet)."""

    def __init__(self):
        self.defined, self.deleted = [], []

    def define(self, spec, source):
        from twisted.internet.defer import succeed

        self.defined.append((spec, source))
        return succeed(None)

    def delete(self, topic, handler_id):
        from twisted.internet.defer import succeed

        self.deleted.append((topic, handler_id))
        return succeed(None)


HANDLER_YAML = """\
topic: cpu
id: example
kind: slack
match: changed() == TRUE
options:
  channel: '#alerts'
"""


def test_handler_files_are_checked_and_each_gets_one_not_supported_warning(
        h, load_dir, logged):
    path = put(load_dir, "handlers/example.yaml", HANDLER_YAML)
    put(load_dir, "handlers/other.json",
        {"topic": "cpu", "id": "other", "kind": "log", "options": {"path": "/tmp/x"}})
    run_load(h, load_dir)
    warnings = [e for e in logged if "not supported" in e.get("log_format", "")]
    assert [(e["handler"], e["file"]) for e in warnings] == [
        ("cpu/example", path), ("cpu/other", str(load_dir / "handlers" / "other.json"))]


def test_handler_specs_reach_the_registry_and_removed_ones_are_deleted(h, load_dir):
    registry = RecordingHandlers()
    put(load_dir, "handlers/example.yaml", HANDLER_YAML)
    run_load(h, load_dir, registry)
    (spec, _source), = registry.defined
    assert (spec.topic, spec.id, spec.kind, spec.match) == (
        "cpu", "example", "slack", "changed() == TRUE")
    assert spec.options == {"channel": "#alerts"}
    (load_dir / "handlers" / "example.yaml").unlink()
    run_load(h, load_dir, registry)
    assert registry.deleted == [("cpu", "example")]


@pytest.mark.parametrize("content, message", [
    ({"topic": "cpu", "id": "x"}, "invalid handler spec: handler Kind must not be empty"),
    ({"topic": "cpu", "kind": "log"},
     "invalid handler spec: handler ID must contain only letters, numbers, '-', '.' and '_'. "
     '""'),
    ({"topic": "a b", "id": "x", "kind": "log"},
     "invalid handler spec: handler topic must contain only letters, numbers, '-', '.' and "
     "'_'. \"x\""),
])
def test_invalid_handler_files_stop_the_pass_with_kapacitor_messages(h, load_dir, content,
                                                                     message):
    path = put(load_dir, "handlers/h.json", content)
    assert load_error(h, load_dir) == f"failed to load file {path}: {message}"


def test_trailing_data_after_a_json_file_value_is_an_error(h, load_dir):
    path = put(load_dir, "tasks/two.json", '{"template-id": "x"} {"template-id": "y"}')
    assert load_error(h, load_dir).startswith(
        f'failed to load tasks: failed to load file {path}: failed to unmarshal json task '
        f'vars file "{path}": Extra data')


def test_handler_files_define_and_replace_handlers_in_the_alert_service(h, load_dir):
    from kapacitord_tw.alerts.files import LoadedHandlers

    registry = LoadedHandlers(h.app.alerts)
    put(load_dir, "handlers/example.json",
        {"topic": "cpu", "id": "example", "kind": "log", "options": {"path": "/tmp/a.log"}})
    run_load(h, load_dir, registry)
    shown = h.get("/kapacitor/v1/alerts/topics/cpu/handlers/example").json()
    assert (shown["kind"], shown["options"]) == ("log", {"path": "/tmp/a.log"})
    put(load_dir, "handlers/example.json",
        {"topic": "cpu", "id": "example", "kind": "log", "options": {"path": "/tmp/b.log"}})
    run_load(h, load_dir, registry)
    shown = h.get("/kapacitor/v1/alerts/topics/cpu/handlers/example").json()
    assert shown["options"] == {"path": "/tmp/b.log"}
    (load_dir / "handlers" / "example.json").unlink()
    run_load(h, load_dir, registry)
    assert h.get("/kapacitor/v1/alerts/topics/cpu/handlers/example").code == 404


def test_a_handler_file_of_an_unknown_kind_stops_the_pass_naming_the_file(h, load_dir):
    from kapacitord_tw.alerts.files import LoadedHandlers

    path = put(load_dir, "handlers/bad.json", {"topic": "cpu", "id": "bad", "kind": "nosuch"})
    with pytest.raises(LoadError) as err:
        run_load(h, load_dir, LoadedHandlers(h.app.alerts))
    assert str(err.value).startswith(f"failed to load file {path}: ")
    assert "nosuch" in str(err.value)
