"""The parser accepts Kapacitor's TICKscript and reports errors its way."""

import pytest

from kapacitord_tw.tick import TickSyntaxError, parse, parse_lambda
from kapacitord_tw.tick import syntax as ast
from kapacitord_tw.tick.lexer import T, lex


def only_value(script):
    """The right-hand side of a single ``var x = ...`` declaration."""
    program = parse(script)
    (decl,) = program.nodes
    return decl.right


def test_int_literal_is_decimal_int():
    node = only_value("var x = 42")
    assert (node.is_int, node.value, node.base) == (True, 42, 10)


def test_leading_zero_makes_an_octal_int():
    node = only_value("var x = 0600")
    assert (node.value, node.base) == (0o600, 8)


def test_float_literal():
    node = only_value("var x = 1.5")
    assert (node.is_int, node.value) == (False, 1.5)


def test_float_may_start_with_a_dot():
    assert only_value("var x = .25").value == 0.25


@pytest.mark.parametrize("text, ns", [
    ("10s", 10 * 10 ** 9),
    ("1u", 1000),
    ("1µ", 1000),
    ("5ms", 5 * 10 ** 6),
    ("2m", 120 * 10 ** 9),
    ("3h", 3 * 3600 * 10 ** 9),
    ("1d", 86400 * 10 ** 9),
    ("1w", 7 * 86400 * 10 ** 9),
])
def test_duration_units(text, ns):
    node = only_value("var x = " + text)
    assert isinstance(node, ast.DurationNode)
    assert (node.nanoseconds, node.literal) == (ns, text)


def test_compound_duration_is_two_statements():
    # The lexer ends a duration at its unit: "1h30m" is "1h" then "30m",
    # and "1µs" is "1µ" followed by the identifier "s".
    program = parse("var x = 1h30m")
    assert [type(n) for n in program.nodes] == [ast.DeclarationNode,
                                                ast.DurationNode]
    program = parse("var y = 1µs")
    assert isinstance(program.nodes[1], ast.IdentifierNode)


def test_booleans_are_upper_case_keywords():
    assert only_value("var x = TRUE").value is True
    assert only_value("var x = FALSE").value is False
    assert isinstance(only_value("var x = true"), ast.IdentifierNode)


def test_single_quoted_string_unescapes_quotes():
    node = only_value(r"var x = 'it\'s'")
    assert (node.literal, node.triple_quotes) == ("it's", False)


def test_triple_quoted_string_keeps_everything():
    node = only_value("var x = '''a 'quoted'\nline'''")
    assert (node.literal, node.triple_quotes) == ("a 'quoted'\nline", True)


def test_empty_string():
    assert only_value("var x = ''").literal == ""


def test_regex_unescapes_slashes():
    node = only_value(r"var x = /^\/root\//")
    assert node.pattern == "^/root/"
    assert node.literal == r"^\/root\/"


def test_reference_unescapes_double_quotes():
    program = parse(r'''var x = lambda: "a \"b\""''')
    assert program.nodes[0].right.expression.reference == 'a "b"'


def test_list_of_strings_identifiers_and_star():
    node = only_value("var x = ['a', b, *]")
    kinds = [type(n) for n in node.nodes]
    assert kinds == [ast.StringNode, ast.IdentifierNode, ast.StarNode]


def test_typed_declarations_for_templates():
    program = parse("var t duration\nvar l lambda")
    assert [(d.node.ident, d.type.ident) for d in program.nodes] == [
        ("t", "duration"), ("l", "lambda")]


def test_dbrp_statement():
    (node,) = parse('dbrp "telegraf"."autogen"').nodes
    assert (node.db.reference, node.rp.reference) == ("telegraf", "autogen")


def test_lambda_is_an_identifier_unless_followed_by_colon():
    program = parse("var lambda = 1")
    assert program.nodes[0].left.ident == "lambda"


def test_chain_operators_become_function_types():
    (chain,) = parse("stream|from().measurement('m')@udf()").nodes
    assert chain.operator == T.AT
    assert chain.right.func_type == ast.FuncType.DYNAMIC
    assert chain.left.operator == T.DOT
    assert chain.left.right.func_type == ast.FuncType.PROPERTY
    assert chain.left.left.right.func_type == ast.FuncType.CHAIN


def test_property_without_parens_is_an_identifier():
    (chain,) = parse("stream.period").nodes
    assert isinstance(chain.right, ast.IdentifierNode)


def binary_shape(node):
    if isinstance(node, ast.BinaryNode):
        return (binary_shape(node.left), node.operator.name,
                binary_shape(node.right))
    if isinstance(node, ast.UnaryNode):
        return (node.operator.name, binary_shape(node.node))
    if isinstance(node, ast.NumberNode):
        return node.value
    if isinstance(node, ast.ReferenceNode):
        return node.reference
    if isinstance(node, ast.BoolNode):
        return node.value
    if isinstance(node, ast.FunctionNode):
        return (node.func, tuple(binary_shape(a) for a in node.args))
    return type(node).__name__


def lam(expression):
    return binary_shape(parse_lambda(expression).expression)


def test_multiplication_binds_tighter_than_addition():
    assert lam("1 + 2 * 3") == (1, "PLUS", (2, "MULT", 3))


def test_same_precedence_is_left_associative():
    assert lam("1 - 2 - 3") == ((1, "MINUS", 2), "MINUS", 3)
    assert lam("8 / 4 % 3") == ((8, "DIV", 4), "MOD", 3)


def test_comparison_binds_tighter_than_and_which_binds_tighter_than_or():
    assert lam('"a" > 1 OR "b" < 2 AND "c" == 3') == (
        ("a", "GREATER", 1), "OR",
        (("b", "LESS", 2), "AND", ("c", "EQUAL", 3)))


def test_relational_binds_tighter_than_equality():
    assert lam('"a" == 1 < 2') == ("a", "EQUAL", (1, "LESS", 2))


def test_parentheses_override_precedence():
    assert lam("(1 + 2) * 3") == ((1, "PLUS", 2), "MULT", 3)


def test_unary_operators_apply_to_the_primary():
    assert lam('-"a" + 1') == (("MINUS", "a"), "PLUS", 1)
    assert lam('!"ok" AND TRUE') == (("NOT", "ok"), "AND", True)


def test_function_calls_inside_lambdas():
    assert lam('sigma("x") > 3.0') == (("sigma", ("x",)), "GREATER", 3.0)
    assert lam('if("a" > 1, 1, 0)') == (
        "if", (("a", "GREATER", 1), 1, 0))


def test_regex_operators_lex_the_regex_operand():
    expression = parse_lambda('"host" =~ /^web/ AND "dc" !~ /x\\/y/').expression
    assert expression.left.operator == T.REGEX_EQUAL
    assert expression.left.right.pattern == "^web"
    assert expression.right.right.pattern == "x/y"


def test_division_after_a_value_is_not_a_regex():
    assert lam('"a" / 2') == ("a", "DIV", 2)


def test_comments_are_attached_to_the_next_node():
    program = parse("// the source\nstream")
    assert program.nodes[0].comment.comments == ("the source",)


def test_lexer_tokens_for_a_chain():
    kinds = [t.typ for t in lex("stream|from()")]
    assert kinds == [T.IDENT, T.PIPE, T.IDENT, T.LPAREN, T.RPAREN, T.EOF]


# -- errors: Kapacitor's texts (tick/ast/parser_test.go) ------------------

def error_of(script):
    with pytest.raises(TickSyntaxError) as info:
        parse(script)
    return info.value


def test_error_at_eof_names_line_char_and_context():
    err = error_of("a\n\n\nvar b = ")
    assert str(err) == (
        'parser: unexpected EOF line 4 char 9 in "var b = ". expected: '
        '"number","string","duration","identifier","TRUE","FALSE","==",'
        '"(","-","!"')
    assert (err.line, err.column) == (4, 9)


def test_error_context_stays_on_one_line():
    err = error_of("a\n\n\nvar b = stream.window()var period)\n\nvar x = 1")
    assert str(err) == ('parser: unexpected ) line 4 char 34 in '
                        '"var period)". expected: "identifier"')


def test_error_for_missing_close_paren():
    err = error_of("a\n\n\nvar b = stream.window(\nb.period(10s)")
    assert str(err) == ('parser: unexpected EOF line 5 char 14 in '
                        '"eriod(10s)". expected: ")"')


def test_lexer_error_is_reported_as_the_unexpected_token():
    err = error_of("var s = 'abc")
    assert str(err).startswith(
        'parser: unexpected unterminated string line 1 char 9 in')


def test_unknown_character():
    err = error_of("stream\n    |from() #")
    assert str(err).startswith(
        "parser: unexpected unknown state, last char: '#' line 2 char 13")


def test_bad_octal_number():
    assert str(error_of("var x = 09")) == 'parser: illegal number syntax: "09"'


def test_multiple_decimals():
    assert "multiple decimals in number" in str(error_of("var x = 1.2.3"))


def test_invalid_regex_reports_go_wording():
    err = error_of("var x = /a(/")
    assert str(err).startswith("parser: error parsing regexp: ")


def test_columns_count_bytes_like_kapacitor():
    # 'é' is two bytes in UTF-8, so the '#' (13th character) is at byte
    # column 14.
    err = error_of("var x = 'é' #")
    assert (err.line, err.column) == (1, 14)


def test_go_regex_syntax_is_translated():
    node = only_value(r"var x = /^\pL+[[:digit:]]\z/")
    assert node.pattern == r"^\pL+[[:digit:]]\z"


def test_regex_features_go_lacks_are_rejected_like_go():
    assert str(error_of("var x = /(?=a)/")) == (
        "parser: error parsing regexp: invalid or unsupported Perl syntax: "
        "`(?=`")
    assert str(error_of(r"var x = /(a)\1/")) == (
        "parser: error parsing regexp: invalid escape sequence: `\\1`")
