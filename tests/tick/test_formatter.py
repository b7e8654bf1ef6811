"""``script-format=formatted`` output matches Kapacitor's formatter."""

import glob
import os

import pytest

from kapacitord_tw.tick import TickSyntaxError, format_script

SCRIPTS = os.path.join(os.path.dirname(__file__), "scripts")


@pytest.mark.parametrize("script, expected", [
    ("var a = 7", "var a = 7\n"),
    ("var a=7", "var a = 7\n"),
    ("var a=2.0", "var a = 2.0\n"),
    ("var a=3.25", "var a = 3.25\n"),
    ("var a=07", "var a = 07\n"),
    ("var a=0755", "var a = 0755\n"),
    ("var a=5m", "var a = 5m\n"),
    ("var a=90s", "var a = 90s\n"),
    ("var a= /^web.*/", "var a = /^web.*/\n"),
    (r"var a= /^\/var\/log/", "var a = /^\\/var\\/log/\n"),
    ("var a = 'it\\'s'", "var a = 'it\\'s'\n"),
    ("var a = '''raw 'text' here'''", "var a = '''raw 'text' here'''\n"),
    ("var a = [ 'x',y , *]", "var a = ['x', y, *]\n"),
    ("var a = TRUE", "var a = TRUE\n"),
    ("var a = -5", "var a = -5\n"),
    ("var a int", "var a int\n"),
    ('dbrp "db"."rp"', 'dbrp "db"."rp"\n'),
])
def test_literals_and_declarations(script, expected):
    assert format_script(script) == expected


def test_chain_methods_indent_one_step_and_properties_two():
    script = "var s=stream|from().measurement('m')|window().period(5s).every(5s)"
    assert format_script(script) == (
        "var s = stream\n"
        "    |from()\n"
        "        .measurement('m')\n"
        "    |window()\n"
        "        .period(5s)\n"
        "        .every(5s)\n")


def test_statements_are_separated_by_a_blank_line():
    script = 'dbrp "a"."b"\nvar x = 1\nstream|from()'
    assert format_script(script) == (
        'dbrp "a"."b"\n\nvar x = 1\n\nstream\n    |from()\n')


def test_comments_move_with_the_chain_element_they_precede():
    script = ("var s = stream\n//Select data   \n|from()\n"
              "// only cpu\n.measurement('cpu').groupBy('host')")
    assert format_script(script) == (
        "var s = stream\n"
        "    // Select data\n"
        "    |from()\n"
        "        // only cpu\n"
        "        .measurement('cpu')\n"
        "        .groupBy('host')\n")


def test_multi_line_arguments_get_one_line_each_and_lose_trailing_comma():
    script = ("var s = stream\n@myudf()\n  .opt(\n   // first\n   1,\n"
              "   // second\n   'two',\n      )\n")
    assert format_script(script) == (
        "var s = stream\n"
        "    @myudf()\n"
        "        .opt(\n"
        "            // first\n"
        "            1,\n"
        "            // second\n"
        "            'two'\n"
        "        )\n")


def test_redundant_parentheses_are_dropped_but_needed_ones_kept():
    script = 'f(lambda: ("x" * (2)) - ((3 +"y") / ("z")))'
    assert format_script(script) == \
        'f(lambda: ("x" * 2) - ((3 + "y") / "z"))\n'


def test_multi_line_binary_expressions_break_after_the_operator():
    script = 'f(lambda:\n("a" > 1)\nAND\n("b" < 2\nOR "c" == 3))'
    assert format_script(script) == (
        'f(lambda: ("a" > 1) AND\n'
        '    ("b" < 2 OR\n'
        '        "c" == 3))\n')


def test_comment_blocks_keep_blank_lines_between_them_and_normalise_space():
    script = ("// Header\n\n// Block A\n//   indented\n//tight\n//\n\n\n"
              "var x = 1\n\n// trailing\n")
    assert format_script(script) == (
        "// Header\n\n// Block A\n//   indented\n// tight\n//\n"
        # a trailing comment is a statement of its own: blank line after
        "var x = 1\n\n// trailing\n\n")


def test_expression_statement_on_a_var_is_split_onto_chain_lines():
    script = "var x = stream\nx |alert()\n"
    assert format_script(script) == (
        "var x = stream\n\nx\n    |alert()\n")


def test_every_element_of_a_chain_can_carry_a_comment():
    script = ("// all\nvar\nx =\nstream\n// one\n|\neval(\n// two\n"
              "lambda:\n\"a\" * 2\n,\n)\n// three\n|\ngroupBy(\n//four \n*\n)\n")
    assert format_script(script) == (
        "// all\n"
        "var x = stream\n"
        "    // one\n"
        "    |eval(\n"
        "        // two\n"
        "        lambda: \"a\" * 2\n"
        "    )\n"
        "    // three\n"
        "    |groupBy(\n"
        "        // four\n"
        "        *\n"
        "    )\n")


def test_formatting_is_idempotent_on_the_corpus():
    for path in glob.glob(os.path.join(SCRIPTS, "*.tick")):
        with open(path, encoding="utf-8") as handle:
            once = format_script(handle.read())
        assert format_script(once) == once, path


def test_formatting_an_invalid_script_raises_a_syntax_error():
    with pytest.raises(TickSyntaxError):
        format_script("stream|from(")
