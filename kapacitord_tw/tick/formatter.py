"""Canonical TICKscript formatting (what ``script-format=formatted`` shows).

Each node type is written exactly as Kapacitor's ``ast.Format`` writes it:
four-space indentation, ``|`` chaining methods on their own line one level
deeper than their parent, ``.`` property methods two levels deeper,
comments re-emitted above the node they were attached to, and a blank line
between top-level statements.
"""

from decimal import Decimal

from kapacitord_tw.tick import syntax as ast
from kapacitord_tw.tick.durations import format_duration
from kapacitord_tw.tick.lexer import T, token_name

INDENT_STEP = "    "


def format_program(node):
    """Format a parsed program (the ``tick.Format`` output)."""
    out = []
    _fmt(node, out, "", False)
    return "".join(out)


def format_node(node, indent="", on_new_line=False):
    out = []
    _fmt(node, out, indent, on_new_line)
    return "".join(out)


def format_float(value):
    """Go's ``FormatFloat(f, 'f', -1, 64)`` plus a ``.0`` when integral."""
    text = format(Decimal(repr(float(value))), "f")
    if text in ("inf", "Infinity"):
        text = "+Inf"
    if "." not in text:
        text += ".0"
    return text


def _indent(out, indent, on_new_line):
    if on_new_line:
        out.append(indent)


def _comment(node, out, indent, on_new_line):
    """Write a leading comment; return the new on_new_line flag."""
    if node.comment is not None:
        _fmt(node.comment, out, indent, on_new_line)
        return True
    return on_new_line


def _fmt(node, out, indent, on_new_line):
    if node is None:
        return  # an unset lambda var substituted into another lambda
    handler = _HANDLERS[type(node)]
    handler(node, out, indent, on_new_line)


def _fmt_comment(node, out, indent, on_new_line):
    if not on_new_line:
        out.append("\n")
    for comment in node.comments:
        if comment == "\n":
            out.append("\n")
            continue
        out.append(indent)
        out.append("//")
        if comment:
            out.append(" ")
            out.append(comment)
        out.append("\n")


def _fmt_number(node, out, indent, on_new_line):
    on_new_line = _comment(node, out, indent, on_new_line)
    _indent(out, indent, on_new_line)
    if node.is_int:
        if node.base == 8:
            out.append("0" + format(node.value, "o"))
        else:
            out.append(str(node.value))
    else:
        out.append(format_float(node.value))


def _fmt_duration(node, out, indent, on_new_line):
    on_new_line = _comment(node, out, indent, on_new_line)
    _indent(out, indent, on_new_line)
    out.append(node.literal or format_duration(node.nanoseconds))


def _fmt_bool(node, out, indent, on_new_line):
    on_new_line = _comment(node, out, indent, on_new_line)
    _indent(out, indent, on_new_line)
    out.append("TRUE" if node.value else "FALSE")


def _fmt_unary(node, out, indent, on_new_line):
    on_new_line = _comment(node, out, indent, on_new_line)
    _indent(out, indent, on_new_line)
    out.append(token_name(node.operator))
    _fmt(node.node, out, indent, False)


def _fmt_binary(node, out, indent, on_new_line):
    on_new_line = _comment(node, out, indent, on_new_line)
    _indent(out, indent, on_new_line)
    if node.parens:
        out.append("(")
        indent += INDENT_STEP
    _fmt(node.left, out, indent, False)
    out.append(" ")
    out.append(token_name(node.operator))
    out.append("\n" if node.multi_line else " ")
    _fmt(node.right, out, indent, node.multi_line)
    if node.parens:
        out.append(")")


def _fmt_dbrp(node, out, indent, on_new_line):
    if node.comment is not None:
        _fmt(node.comment, out, indent, on_new_line)
    out.append(indent)
    out.append("dbrp ")
    out.append(node.dbrp())


def _fmt_declaration(node, out, indent, on_new_line):
    if node.comment is not None:
        _fmt(node.comment, out, indent, on_new_line)
    out.append("var ")
    _fmt(node.left, out, indent, False)
    out.append(" = ")
    _fmt(node.right, out, indent, False)


def _fmt_type_declaration(node, out, indent, on_new_line):
    if node.comment is not None:
        _fmt(node.comment, out, indent, on_new_line)
    out.append("var ")
    _fmt(node.node, out, indent, False)
    out.append(" ")
    _fmt(node.type, out, indent, False)


def _fmt_chain(node, out, indent, on_new_line):
    links = []
    while isinstance(node, ast.ChainNode):
        links.append(node)
        node = node.left
    _fmt(node, out, indent, on_new_line)
    for link in reversed(links):
        out.append("\n")
        link_indent = indent + INDENT_STEP
        if link.operator == T.DOT:
            link_indent += INDENT_STEP
        if link.comment is not None:
            _fmt(link.comment, out, link_indent, True)
        out.append(link_indent)
        out.append(token_name(link.operator))
        _fmt(link.right, out, link_indent, False)


def _fmt_identifier(node, out, indent, on_new_line):
    on_new_line = _comment(node, out, indent, on_new_line)
    _indent(out, indent, on_new_line)
    out.append(node.ident)


def _fmt_reference(node, out, indent, on_new_line):
    on_new_line = _comment(node, out, indent, on_new_line)
    _indent(out, indent, on_new_line)
    out.append('"' + node.reference.replace('"', '\\"') + '"')


def _fmt_string(node, out, indent, on_new_line):
    on_new_line = _comment(node, out, indent, on_new_line)
    _indent(out, indent, on_new_line)
    if node.triple_quotes:
        out.append("'''" + node.literal + "'''")
    else:
        out.append("'" + node.literal.replace("'", "\\'") + "'")


def _fmt_list(node, out, indent, on_new_line):
    on_new_line = _comment(node, out, indent, on_new_line)
    _indent(out, indent, on_new_line)
    out.append("[")
    for i, item in enumerate(node.nodes):
        if i != 0:
            out.append(", ")
        _fmt(item, out, indent, on_new_line)
    out.append("]")


def _fmt_regex(node, out, indent, on_new_line):
    on_new_line = _comment(node, out, indent, on_new_line)
    _indent(out, indent, on_new_line)
    # A regex substituted from a var has no literal; Kapacitor prints "//".
    out.append("/" + node.literal + "/")


def _fmt_star(node, out, indent, on_new_line):
    on_new_line = _comment(node, out, indent, on_new_line)
    _indent(out, indent, on_new_line)
    out.append("*")


def _fmt_function(node, out, indent, on_new_line):
    on_new_line = _comment(node, out, indent, on_new_line)
    _indent(out, indent, on_new_line)
    out.append(node.func)
    out.append("(")
    arg_indent = indent + INDENT_STEP
    for i, arg in enumerate(node.args):
        if i != 0:
            out.append(",")
            if not node.multi_line:
                out.append(" ")
        if node.multi_line:
            out.append("\n")
        _fmt(arg, out, arg_indent, node.multi_line)
    if node.multi_line and node.args:
        out.append("\n")
        out.append(indent)
    out.append(")")


def _fmt_lambda(node, out, indent, on_new_line):
    on_new_line = _comment(node, out, indent, on_new_line)
    _indent(out, indent, on_new_line)
    out.append("lambda: ")
    _fmt(node.expression, out, indent, False)


def _fmt_program(node, out, indent, on_new_line):
    for i, child in enumerate(node.nodes):
        if i != 0:
            out.append("\n")
        _fmt(child, out, indent, True)
        out.append("\n")


_HANDLERS = {
    ast.CommentNode: _fmt_comment,
    ast.NumberNode: _fmt_number,
    ast.DurationNode: _fmt_duration,
    ast.BoolNode: _fmt_bool,
    ast.UnaryNode: _fmt_unary,
    ast.BinaryNode: _fmt_binary,
    ast.DBRPNode: _fmt_dbrp,
    ast.DeclarationNode: _fmt_declaration,
    ast.TypeDeclarationNode: _fmt_type_declaration,
    ast.ChainNode: _fmt_chain,
    ast.IdentifierNode: _fmt_identifier,
    ast.ReferenceNode: _fmt_reference,
    ast.StringNode: _fmt_string,
    ast.ListNode: _fmt_list,
    ast.RegexNode: _fmt_regex,
    ast.StarNode: _fmt_star,
    ast.FunctionNode: _fmt_function,
    ast.LambdaNode: _fmt_lambda,
    ast.ProgramNode: _fmt_program,
}
