"""Template commands: define-template, show-template, list/delete templates."""

from __future__ import annotations

TEMPLATES = "/kapacitor/v1/templates"


def _template(template_id: str, **fields) -> dict:
    template = {
        "link": {"rel": "self", "href": "%s/%s" % (TEMPLATES, template_id)},
        "id": template_id,
        "type": "stream",
        "script": "var period duration\nstream\n    |from()\n",
        "vars": {},
        "dot": "digraph %s {\n}" % template_id,
        "error": "",
        "created": "2026-03-03T12:00:00Z",
        "modified": "2026-03-05T23:59:59.999Z",
    }
    template.update(fields)
    return template


def test_define_template_creates_a_new_template(kapacitor, server, tmp_path):
    server.error("GET", TEMPLATES + "/generic", 404, "no template exists")
    server.reply("POST", TEMPLATES, json_body=_template("generic"))
    tick = tmp_path / "t.tick"
    tick.write_text("var x = 1\nstream\n")
    result = kapacitor("define-template", "generic", "-tick", str(tick), "-type", "stream")
    assert (result.code, result.out, result.err) == (0, "", "")
    assert server.requests[0].query == [("script-format", "formatted")]
    assert server.requests[1].body == b'{"id":"generic","type":"stream","script":"var x = 1\\nstream\\n"}\n'


def test_define_template_updates_an_existing_one(kapacitor, server):
    server.reply("GET", TEMPLATES + "/generic", json_body=_template("generic"))
    server.reply("PATCH", TEMPLATES + "/generic", json_body=_template("generic"))
    result = kapacitor("define-template", "generic", "-type", "batch")
    assert result.code == 0, result.err
    assert server.requests[1].method == "PATCH"
    assert server.requests[1].json() == {"type": "batch"}


def test_define_template_without_an_id_exits_2(kapacitor, server):
    result = kapacitor("define-template")
    assert result.code == 2
    assert result.err.startswith("Must provide a template ID.\nUsage: kapacitor define-template")


def test_show_template_marks_required_vars(kapacitor, server):
    server.reply("GET", TEMPLATES + "/generic", json_body=_template("generic", vars={
        "period": {"type": "duration", "value": None, "description": "how far back"},
        "crit": {"type": "int", "value": 80, "description": ""},
        "ok": {"type": "bool", "value": True, "description": "flag"},
    }))
    result = kapacitor("show-template", "generic")
    assert result.code == 0, result.err
    pad40 = " " * 40
    assert result.out == (
        "ID: generic\n"
        "Error: \n"
        "Type: stream\n"
        "Created: 03 Mar 26 12:00 UTC\n"
        "Modified: 05 Mar 26 23:59 UTC\n"
        "TICKscript:\n"
        "var period duration\n"
        "stream\n"
        "    |from()\n"
        "\n"
        "Vars:\n"
        "Name                          Type      Default Value                           Description                             \n"
        "crit                          int       80                                      " + pad40 + "\n"
        "ok                            bool      true                                    flag                                    \n"
        "period                        duration  <required>                              how far back                            \n"
        "DOT:\n"
        "digraph generic {\n"
        "}\n"
    )


def test_show_template_needs_one_id(kapacitor, server):
    result = kapacitor("show-template")
    assert result.code == 2
    assert result.err.startswith("Must specify one template ID\nUsage: kapacitor show-template")


def test_list_templates_prints_ids_types_and_var_names(kapacitor, server):
    server.reply("GET", TEMPLATES, json_body={"templates": [
        {"link": {"rel": "self", "href": TEMPLATES + "/t2"}, "id": "t2", "type": "batch", "vars": {}},
        {"link": {"rel": "self", "href": TEMPLATES + "/generic_mean"}, "id": "generic_mean", "type": "stream",
         "vars": {"where": {"type": "lambda", "value": None, "description": ""},
                  "field": {"type": "string", "value": "usage", "description": ""}}},
    ]})
    result = kapacitor("list", "templates")
    assert result.code == 0, result.err
    assert result.out == (
        "ID           Type      Vars                                    \n"
        "generic_mean stream    field,where                             \n"
        "t2           batch                                             \n"
    )
    request = server.requests[0]
    assert request.query == [
        ("fields", "type"),
        ("fields", "vars"),
        ("limit", "100"),
        ("offset", "0"),
        ("pattern", ""),
        ("script-format", "formatted"),
    ]


def test_delete_templates_by_glob(kapacitor, server):
    server.reply("GET", TEMPLATES, json_body={"templates": [
        {"link": {"rel": "self", "href": TEMPLATES + "/old_one"}, "id": "old_one"},
    ]})
    server.reply("DELETE", TEMPLATES + "/old_one", status=204)
    result = kapacitor("delete", "templates", "old_*")
    assert result.code == 0, result.err
    assert server.calls() == [("GET", TEMPLATES), ("DELETE", TEMPLATES + "/old_one")]
    assert server.requests[0].param("pattern") == ["old_*"]
