"""TICKscript syntax tree.

Nodes are frozen ``attrs`` classes; the parser builds a new node instead of
mutating one (``attr.evolve``).  Every node carries its position (byte
offset, 1-based line and byte column, as Kapacitor counts them) and an
optional ``comment`` (a :class:`CommentNode`) that the formatter re-emits.
"""

import enum

import attr


class FuncType(enum.Enum):
    """How a function is invoked: ``f()``, ``|f()``, ``.f()`` or ``@f()``."""

    GLOBAL = "global"
    CHAIN = "chain"
    PROPERTY = "property"
    DYNAMIC = "dynamic"


@attr.s(frozen=True, slots=True)
class Position:
    pos = attr.ib(default=0)
    line = attr.ib(default=0)
    char = attr.ib(default=0)


_NOWHERE = Position()


def _node(cls):
    return attr.s(frozen=True, slots=True, eq=True)(cls)


@_node
class CommentNode:
    position = attr.ib(eq=False)
    comments = attr.ib(converter=tuple)

    def comment_string(self):
        return "\n".join(self.comments)


@_node
class NumberNode:
    position = attr.ib(eq=False)
    is_int = attr.ib()
    value = attr.ib()  # int or float
    base = attr.ib(default=10, eq=False)
    comment = attr.ib(default=None, eq=False)


@_node
class DurationNode:
    position = attr.ib(eq=False)
    nanoseconds = attr.ib()
    literal = attr.ib(default="", eq=False)
    comment = attr.ib(default=None, eq=False)


@_node
class BoolNode:
    position = attr.ib(eq=False)
    value = attr.ib()
    comment = attr.ib(default=None, eq=False)


@_node
class StringNode:
    position = attr.ib(eq=False)
    literal = attr.ib()
    triple_quotes = attr.ib(default=False, eq=False)
    comment = attr.ib(default=None, eq=False)


@_node
class RegexNode:
    position = attr.ib(eq=False)
    pattern = attr.ib()  # the unescaped pattern that gets compiled
    literal = attr.ib(default="", eq=False)  # as written between the slashes
    comment = attr.ib(default=None, eq=False)


@_node
class StarNode:
    position = attr.ib(eq=False, default=_NOWHERE)
    comment = attr.ib(default=None, eq=False)


@_node
class ReferenceNode:
    position = attr.ib(eq=False)
    reference = attr.ib()
    comment = attr.ib(default=None, eq=False)


@_node
class IdentifierNode:
    position = attr.ib(eq=False)
    ident = attr.ib()
    comment = attr.ib(default=None, eq=False)


@_node
class ListNode:
    position = attr.ib(eq=False)
    nodes = attr.ib(converter=tuple)
    comment = attr.ib(default=None, eq=False)


@_node
class UnaryNode:
    position = attr.ib(eq=False)
    operator = attr.ib()
    node = attr.ib()
    comment = attr.ib(default=None, eq=False)


@_node
class BinaryNode:
    position = attr.ib(eq=False)
    operator = attr.ib()
    left = attr.ib()
    right = attr.ib()
    multi_line = attr.ib(default=False, eq=False)
    parens = attr.ib(default=False, eq=False)
    comment = attr.ib(default=None, eq=False)


@_node
class FunctionNode:
    position = attr.ib(eq=False)
    func_type = attr.ib()
    func = attr.ib()
    args = attr.ib(converter=tuple)
    multi_line = attr.ib(default=False, eq=False)
    comment = attr.ib(default=None, eq=False)


@_node
class LambdaNode:
    position = attr.ib(eq=False)
    expression = attr.ib()
    comment = attr.ib(default=None, eq=False)

    def expression_string(self):
        """The expression as Kapacitor shows a lambda var's value."""
        from kapacitord_tw.tick.formatter import format_node
        if self.expression is None:
            return ""
        return format_node(self.expression, "", True)


@_node
class ChainNode:
    position = attr.ib(eq=False)
    operator = attr.ib()
    left = attr.ib()
    right = attr.ib()
    comment = attr.ib(default=None, eq=False)


@_node
class DeclarationNode:
    position = attr.ib(eq=False)
    left = attr.ib()  # IdentifierNode
    right = attr.ib()
    comment = attr.ib(default=None, eq=False)


@_node
class TypeDeclarationNode:
    position = attr.ib(eq=False)
    node = attr.ib()  # IdentifierNode: the var name
    type = attr.ib()  # IdentifierNode: the type name
    comment = attr.ib(default=None, eq=False)


@_node
class DBRPNode:
    position = attr.ib(eq=False)
    db = attr.ib()  # ReferenceNode
    rp = attr.ib()  # ReferenceNode
    comment = attr.ib(default=None, eq=False)

    def dbrp(self):
        return '"%s"."%s"' % (self.db.reference, self.rp.reference)


@_node
class ProgramNode:
    position = attr.ib(eq=False)
    nodes = attr.ib(converter=tuple)


#: Nodes whose comment may be replaced after construction (parenthesised
#: expressions take the comment found after the opening parenthesis).
COMMENTED = (NumberNode, DurationNode, BoolNode, StringNode, RegexNode,
             StarNode, ReferenceNode, IdentifierNode, ListNode, UnaryNode,
             BinaryNode, FunctionNode, LambdaNode, ChainNode,
             DeclarationNode, TypeDeclarationNode)
