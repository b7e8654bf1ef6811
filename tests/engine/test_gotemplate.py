"""Go text/template as Kapacitor's alert templates use it: output and error text."""

from __future__ import annotations

import time

import pytest

from kapacitord_tw.engine.alertdata import AlertTemplates
from kapacitord_tw.engine.gotemplate import (
    JSON_FUNCS, MAX_OUTPUT, TemplateError, parse,
)
from kapacitord_tw.engine.govalues import GoDuration, GoStruct, GoTime, StringMap

T10 = 31536010 * 10**9  # 1971-01-01T00:00:10Z


def message_info(**over):
    fields = {
        "idInfo": GoStruct("kapacitor.idInfo", {
            "Name": "cpu", "TaskName": "cpu_alert", "Group": "host=serverA",
            "Tags": StringMap(host="serverA", dc="us-east"),
            "ServerInfo": GoStruct("kapacitor.serverInfo",
                                   {"Hostname": "localhost", "ClusterID": "c1", "ServerID": "s1"}),
        }),
        "ID": "cpu:host=serverA",
        "Fields": {"value": 91.23456, "count": 10.0},
        "Level": "CRITICAL",
        "Time": GoTime(T10),
        "Duration": GoDuration(90 * 10**9),
    }
    fields.update(over)
    return GoStruct("kapacitor.messageInfo", fields, embedded=("idInfo",))


def render(text, data=None, **kw):
    return parse(text, "message", **kw).execute(message_info() if data is None else data)


def error_of(text, data=None, **kw):
    with pytest.raises(TemplateError) as e:
        render(text, data, **kw)
    return str(e.value)


@pytest.mark.parametrize("text, expected", [
    ('{{ .ID }} is {{ .Level }} value: {{ index .Fields "value" }}',
     "cpu:host=serverA is CRITICAL value: 91.23456"),
    ("{{.Name}}:{{.Group}}", "cpu:host=serverA"),
    ('kapacitor/{{ .Name }}/{{ index .Tags "host" }}', "kapacitor/cpu/serverA"),
    ('{{ if eq .Level "CRITICAL" }}page{{ end }}', "page"),
    ('{{ if eq .Level "OK" }}ok{{ else if eq .Level "CRITICAL" }}crit{{ else }}other{{ end }}', "crit"),
    ("{{ range $k, $v := .Tags }}{{ $k }}={{ $v }} {{ end }}", "dc=us-east host=serverA "),
    ("{{ range .Tags }}{{ . }};{{ else }}none{{ end }}", "us-east;serverA;"),
    ('{{ printf "%0.2f" (index .Fields "value") }}', "91.23"),
    ('{{ index .Fields "value" | printf "%.1f%%" }}', "91.2%"),
    ("{{ .Time }}", "1971-01-01 00:00:10 +0000 UTC"),
    ("{{ .Duration }}", "1m30s"),
    ('{{ .Time.Format "2006-01-02T15:04:05Z07:00" }} {{ .Time.Unix }}', "1971-01-01T00:00:10Z 31536010"),
    ("{{ .Duration.Seconds }}", "90"),
    ("{{ .Tags }} {{ .Fields }}", "map[dc:us-east host:serverA] map[count:10 value:91.23456]"),
    ("{{ .ServerInfo.Hostname }}", "localhost"),
    # missing keys: a field lookup is <no value>; index of map[string]string is ""
    ('{{ .Fields.nope }}|{{ index .Fields "nope" }}|{{ index .Tags "nope" }}|{{ .Tags.nope }}',
     "<no value>|<no value>||<no value>"),
    ("a  {{- .Name -}}  b", "acpub"),
    ("a {{- /* comment */ -}} b", "ab"),
    ("{{/* only a comment */}}", ""),
    ("{{ $n := len .Tags }}{{ $n }} tags", "2 tags"),
    ("{{ $x := 0 }}{{ range .Tags }}{{ $x = 1 }}{{ end }}{{ $x }}", "1"),
    ("{{ with .Tags.host }}on {{ . }}{{ end }}", "on serverA"),
    ("{{ with .Tags.nope }}x{{ else }}no host{{ end }}", "no host"),
    ('{{ define "h" }}<{{ . }}>{{ end }}{{ template "h" .Name }}', "<cpu>"),
    ('{{ block "b" .Level }}[{{ . }}]{{ end }}', "[CRITICAL]"),
    ("{{ range $i, $e := .Tags }}{{ if eq $i \"host\" }}{{ break }}{{ end }}{{ $e }}{{ end }}", "us-east"),
    ("{{ range 3 }}{{ . }}{{ end }}", "012"),
    ('{{ and .Name "" }}|{{ or "" .Name }}|{{ not .Name }}', "|cpu|false"),
    ('{{ print 1 2 "a" "b" 3 }}', "1 2ab3"),
    ('{{ println "a" 1 }}', "a 1\n"),
    ('{{ html "<b>&\'\\"" }}', "&lt;b&gt;&amp;&#39;&#34;"),
    ('{{ js "it\'s <x>" }}', "it\\'s \\u003Cx\\u003E"),
    ('{{ urlquery "a b&c/d" }}', "a+b%26c%2Fd"),
    ('{{ slice .Name 1 }} {{ slice .Name 0 2 }} {{ len .Name }}', "pu cp 3"),
    ('{{ printf "%q %5s|%-5s|%05d %x %t %v" .Name "ab" "cd" 42 255 true .Tags }}',
     '"cpu"    ab|cd   |00042 ff true map[dc:us-east host:serverA]'),
    ('{{ printf "%d" .Name }} {{ printf "%s" }} {{ printf "x" 1 }}',
     "%!d(string=cpu) %!s(MISSING) x%!(EXTRA int=1)"),
    ('{{ printf "%v %e %g" 1e21 123456.0 0.000001 }}', "1e+21 1.234560e+05 1e-06"),
    ('{{ lt 1.5 2.0 }} {{ ge .Name "cpu" }} {{ ne 1 2 }} {{ eq 1 2 3 1 }}', "true true true true"),
    ('{{ .Name | printf "%s!" | printf "%s?" }}', "cpu!?"),
    ("{{ `raw {{ string }}` }}", "raw {{ string }}"),
    ("{{ 'a' }} {{ 0x10 }} {{ 1_000 }} {{ -2.5 }}", "97 16 1000 -2.5"),
])
def test_renders_like_go(text, expected):
    assert render(text) == expected


def test_dot_prints_struct_with_embedded_struct_nested():
    assert render("{{ . }}") == (
        "{{cpu cpu_alert host=serverA map[dc:us-east host:serverA] {localhost c1 s1}} "
        "cpu:host=serverA map[count:10 value:91.23456] CRITICAL "
        "1971-01-01 00:00:10 +0000 UTC 1m30s}")


@pytest.mark.parametrize("text, expected", [
    ("{{ foo }}", 'template: message:1: function "foo" not defined'),
    ("{{ json . }}", 'template: message:1: function "json" not defined'),
    ("{{ .Name", "template: message:1: unclosed action"),
    ("a\n{{ .Name\n", "template: message:3: unclosed action started at message:2"),
    ("{{ if .Name }}x", "template: message:1: unexpected EOF"),
    ("{{ end }}", "template: message:1: unexpected {{end}}"),
    ("{{ else }}", "template: message:1: unexpected {{else}}"),
    ("{{ }}", "template: message:1: missing value for command"),
    ("{{ $x }}", 'template: message:1: undefined variable "$x"'),
    ("{{ .Name | 3 }}", "template: message:1: non executable command in pipeline stage 2"),
    ('{{ "abc }}', "template: message:1: unterminated quoted string"),
    ("{{ 3x }}", 'template: message:1: bad number syntax: "3x"'),
    ("{{ # }}", 'template: message:1: unexpected "#" in command'),
    ("{{ break }}", "template: message:1: {{break}} outside {{range}}"),
    ("{{/* x */ .Name }}", "template: message:1: comment ends before closing delimiter"),
    ("{{ range $a, $b, $c := . }}{{end}}", "template: message:1: too many declarations in range"),
    ('{{ template 3 }}', "template: message:1: unexpected \"3\" in template clause"),
    ("{{ (.Name }}", "template: message:1: unclosed left paren"),
    ('{{ "\\q" }}', "template: message:1: invalid syntax"),
    ('{{ .Name.x.y ( }}', "template: message:1: unclosed left paren"),
])
def test_parse_errors_are_gos(text, expected):
    with pytest.raises(TemplateError) as e:
        parse(text, "message")
    assert str(e.value) == expected


@pytest.mark.parametrize("text, expected", [
    ("{{ .Foo }}", 'template: message:1:3: executing "message" at <.Foo>: '
                   "can't evaluate field Foo in type kapacitor.messageInfo"),
    # Go positions a field chain at its second field
    ("x\n  {{ .Name.Foo }}", 'template: message:2:10: executing "message" at <.Name.Foo>: '
                             "can't evaluate field Foo in type string"),
    # the classic Kapacitor pitfall: a float field compared with an int literal
    ('{{ if gt (index .Fields "value") 80 }}hot{{ end }}',
     'template: message:1:6: executing "message" at <gt (index .Fields "value") 80>: '
     "error calling gt: incompatible types for comparison"),
    ('{{ index .Tags 1 }}', 'template: message:1:3: executing "message" at <index .Tags 1>: '
                            "error calling index: value has type int; should be string"),
    ("{{ len 3 }}", 'template: message:1:3: executing "message" at <len 3>: '
                    "error calling len: len of type int"),
    ("{{ range .Name }}{{ end }}", 'template: message:1:9: executing "message" at <.Name>: '
                                  "range can't iterate over cpu"),
    ('{{ template "nope" }}', 'template: message:1:12: executing "message" at '
                              '<{{template "nope"}}>: template "nope" not defined'),
    ("{{ eq }}", 'template: message:1:3: executing "message" at <eq>: '
                 "wrong number of args for eq: want at least 1 got 0"),
    ("{{ ne 1 }}", 'template: message:1:3: executing "message" at <ne>: '
                   "wrong number of args for ne: want 2 got 1"),
    ('{{ .Name 1 }}', 'template: message:1:3: executing "message" at <.Name>: '
                      "Name has arguments but cannot be invoked as function"),
    ('{{ printf 3 }}', 'template: message:1:10: executing "message" at <3>: '
                       "expected string; found 3"),
    ("{{ nil }}", 'template: message:1:3: executing "message" at <nil>: nil is not a command'),
    ('{{ index .Name 3 }}', 'template: message:1:3: executing "message" at <index .Name 3>: '
                            "error calling index: reflect: string index out of range"),
])
def test_exec_errors_are_gos(text, expected):
    assert error_of(text) == expected


def test_float_field_compares_with_float_literal():
    assert render('{{ if gt (index .Fields "value") 80.0 }}hot{{ end }}') == "hot"


def test_template_is_compiled_once_and_reusable():
    t = parse('{{ index .Tags "host" }}', "id")
    assert [t.execute(message_info(idInfo=GoStruct("kapacitor.idInfo", {"Tags": StringMap(host=h)})))
            for h in ("a", "b")] == ["a", "b"]


# ---------------------------------------------------------------------------
# bounds: a user template cannot hold the reactor

def _timed(fn):
    start = time.perf_counter()
    try:
        fn()
    except TemplateError as e:
        return time.perf_counter() - start, str(e)
    return time.perf_counter() - start, None


def test_output_is_capped_at_one_mib():
    big = {"s": "x" * 4096}
    elapsed, err = _timed(lambda: parse("{{ range 100000 }}{{ $.s }}{{ end }}", "m").execute(big))
    assert err is not None and f"template output exceeds {MAX_OUTPUT} characters" in err
    assert elapsed < 2


def test_doubling_a_variable_is_stopped():
    text = '{{ $x := "ab" }}{{ range 64 }}{{ $x = printf "%s%s" $x $x }}{{ end }}{{ len $x }}'
    elapsed, err = _timed(lambda: parse(text, "m").execute({}))
    assert err is not None and "exceeds" in err
    assert elapsed < 2


def test_nested_ranges_are_bounded_by_the_step_budget():
    text = "{{ range 1000 }}{{ range 1000 }}{{ range 1000 }}{{ end }}{{ end }}{{ end }}"
    elapsed, err = _timed(lambda: parse(text, "m").execute({}))
    assert err is not None and "steps" in err
    assert elapsed < 5


def test_recursive_template_stops_at_depth_100():
    t = parse('{{ define "r" }}{{ template "r" . }}{{ end }}{{ template "r" . }}', "m")
    with pytest.raises(TemplateError, match=r"exceeded maximum template depth \(100\)"):
        t.execute({})


def test_deep_nesting_is_a_parse_error_not_a_crash():
    with pytest.raises(TemplateError, match="max expression depth exceeded"):
        parse("{{ " + "(" * 500 + "1" + ")" * 500 + " }}", "m")
    with pytest.raises(TemplateError, match="max expression depth exceeded"):
        parse("{{ if 1 }}" * 500 + "{{ end }}" * 500, "m")


# ---------------------------------------------------------------------------
# Kapacitor's alert templates

def test_alert_defaults_render_like_kapacitor():
    t = AlertTemplates.compile("cpu_alert")
    alert_id = t.render_id("cpu", "host=serverA", {"host": "serverA"})
    assert alert_id == "cpu:host=serverA"
    assert t.render_id("cpu", "", {}) == "cpu:nil"
    message, details = t.render_message_and_details(
        alert_id, "cpu", T10, "host=serverA", {"host": "serverA"}, {"count": 10.0}, 3, 0)
    assert message == "cpu:host=serverA is CRITICAL"
    # {{ json . }} in html/template: the JSON of detailsInfo, HTML-escaped.
    assert details == (
        "{&#34;Name&#34;:&#34;cpu&#34;,&#34;TaskName&#34;:&#34;cpu_alert&#34;,"
        "&#34;Group&#34;:&#34;host=serverA&#34;,&#34;Tags&#34;:{&#34;host&#34;:&#34;serverA&#34;},"
        "&#34;ServerInfo&#34;:{&#34;Hostname&#34;:&#34;&#34;,&#34;ClusterID&#34;:&#34;&#34;,"
        "&#34;ServerID&#34;:&#34;&#34;},&#34;ID&#34;:&#34;cpu:host=serverA&#34;,"
        "&#34;Fields&#34;:{&#34;count&#34;:10},&#34;Level&#34;:&#34;CRITICAL&#34;,"
        "&#34;Time&#34;:&#34;1971-01-01T00:00:10Z&#34;,&#34;Duration&#34;:0,"
        "&#34;Message&#34;:&#34;cpu:host=serverA is CRITICAL&#34;}\n")


def test_details_escapes_values_but_not_template_text():
    t = AlertTemplates.compile(
        "t", details_text="<b>{{ .Message }}</b> {{ index .Tags \"q\" }}{{ .Fields.nope }}",
        message_text="{{ .ID }} <is> {{ .Level }}")
    _, details = t.render_message_and_details("a&b", "m", T10, "", {"q": "1+1"}, {}, 1, 0)
    assert details == "<b>a&amp;b &lt;is&gt; INFO</b> 1&#43;1"


def test_alert_template_parse_errors_name_the_template():
    with pytest.raises(TemplateError, match='^template: id:1: function "nope" not defined$'):
        AlertTemplates.compile("t", id_text="{{ nope }}")
    with pytest.raises(TemplateError, match="^template: details:1: unexpected EOF$"):
        AlertTemplates.compile("t", details_text="{{ if .ID }}")
    # json is only defined for details
    AlertTemplates.compile("t", details_text="{{ jsonCompact .Fields }}")


def test_json_functions_encode_go_values():
    data = {"t": GoTime(T10), "d": GoDuration(1500), "m": StringMap(b="2", a="1"), "f": 1.0}
    assert parse("{{ jsonCompact . }}", "x", funcs=JSON_FUNCS).execute(data) == \
        '{"d":1500,"f":1,"m":{"a":"1","b":"2"},"t":"1971-01-01T00:00:10Z"}'
    assert parse("{{ json .m }}", "x", funcs=JSON_FUNCS).execute(data) == '{"a":"1","b":"2"}\n'
