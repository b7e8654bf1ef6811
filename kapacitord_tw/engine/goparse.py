"""Lexer and parser for Go ``text/template`` source, producing a small node tree.

Follows Go's ``text/template/parse`` closely enough that templates Kapacitor
accepts parse here and the ones it rejects fail with Go's message
(``template: id:1: function "foo" not defined``).  Both passes are linear in
the template's length; nesting deeper than :data:`MAX_PARSE_DEPTH` is refused
so a hostile template cannot exhaust the Python stack.
"""

from __future__ import annotations

import bisect
import unicodedata

from kapacitord_tw.gocompat import go_quote, parse_int, NumError

MAX_PARSE_DEPTH = 100

SPACE = " \t\r\n"

# token types
TEXT, LEFT, RIGHT, SPACE_T, EOF, ERROR = "text", "{{", "}}", "space", "EOF", "error"
ASSIGN, DECLARE, PIPE, LPAREN, RPAREN, CHAR = "=", ":=", "|", "(", ")", "char"
STRING, RAWSTRING, CHARCONST, NUMBER, COMPLEX = "string", "raw", "charconst", "number", "complex"
FIELD, VARIABLE, IDENT, BOOL, DOT = "field", "variable", "identifier", "bool", "dot"
KEYWORDS = {"block", "break", "continue", "define", "else", "end", "if", "range", "nil",
            "template", "with"}


class TemplateError(Exception):
    """A parse or execution error, worded as Go's ``text/template`` words it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class Token:
    __slots__ = ("typ", "val", "pos")

    def __init__(self, typ: str, val: str, pos: int) -> None:
        self.typ, self.val, self.pos = typ, val, pos

    def __str__(self) -> str:  # Go's item.String()
        if self.typ == EOF:
            return "EOF"
        if self.typ == ERROR:
            return self.val
        if self.typ in KEYWORDS or self.typ == DOT:
            return f"<{self.val}>"
        if len(self.val) > 10:
            return go_quote(self.val[:10]) + "..."
        return go_quote(self.val)


def _is_alnum(c: str) -> bool:
    return c == "_" or c.isalpha() or unicodedata.category(c) == "Nd"


def _rune_desc(c: str) -> str:
    """Go's ``%#U``: ``U+0023 '#'``."""
    return "U+%04X" % ord(c) + (f" '{c}'" if c.isprintable() else "")


def lex(text: str) -> list[Token]:
    """Tokens of *text*; a lexical error ends the list with an ``error`` token."""
    toks: list[Token] = []
    n = len(text)
    i = 0

    def right_delim(k: int) -> tuple[bool, bool]:
        if text.startswith("}}", k):
            return True, False
        if k + 1 < n and text[k] in SPACE and text[k + 1] == "-" and text.startswith("}}", k + 2):
            return True, True
        return False, False

    def skip_space(k: int) -> int:
        while k < n and text[k] in SPACE:
            k += 1
        return k

    def at_terminator(k: int) -> bool:
        return k >= n or text[k] in SPACE or text[k] in ".,|:)(" or text.startswith("}}", k)

    while True:
        j = text.find("{{", i)
        if j < 0:
            if i < n:
                toks.append(Token(TEXT, text[i:], i))
            toks.append(Token(EOF, "", n))
            return toks
        after = j + 2
        trim = after + 1 < n and text[after] == "-" and text[after + 1] in SPACE
        end = j
        if trim:
            end = i + len(text[i:j].rstrip(SPACE))
            after += 2
        if end > i:
            toks.append(Token(TEXT, text[i:end], i))
        if text.startswith("/*", after):
            k = text.find("*/", after + 2)
            if k < 0:
                toks.append(Token(ERROR, "unclosed comment", after))
                return toks
            k += 2
            delim, rtrim = right_delim(k)
            if not delim:
                toks.append(Token(ERROR, "comment ends before closing delimiter", k))
                return toks
            i = k + (2 if rtrim else 0) + 2
            if rtrim:
                i = skip_space(i)
            continue
        toks.append(Token(LEFT, "{{", j))
        i = after
        depth = 0
        while True:
            delim, rtrim = right_delim(i)
            if delim:
                if depth:
                    toks.append(Token(ERROR, "unclosed left paren", i))
                    return toks
                toks.append(Token(RIGHT, "}}", i))
                i += (2 if rtrim else 0) + 2
                if rtrim:
                    i = skip_space(i)
                break
            if i >= n:
                toks.append(Token(ERROR, "unclosed action", n))
                return toks
            c = text[i]
            start = i
            if c in SPACE:
                k = skip_space(i)
                if k < n and text[k] == "-" and text.startswith("}}", k + 1):
                    if k - 1 > i:
                        toks.append(Token(SPACE_T, text[i:k - 1], i))
                    i = k - 1
                    continue
                toks.append(Token(SPACE_T, text[i:k], i))
                i = k
            elif c == "=":
                toks.append(Token(ASSIGN, "=", i))
                i += 1
            elif c == ":":
                if not text.startswith(":=", i):
                    toks.append(Token(ERROR, "expected :=", i))
                    return toks
                toks.append(Token(DECLARE, ":=", i))
                i += 2
            elif c == "|":
                toks.append(Token(PIPE, "|", i))
                i += 1
            elif c == '"' or c == "'":
                k = i + 1
                while True:
                    if k >= n or text[k] == "\n":
                        msg = ("unterminated quoted string" if c == '"'
                               else "unterminated character constant")
                        toks.append(Token(ERROR, msg, k))
                        return toks
                    if text[k] == "\\":
                        if k + 1 >= n or text[k + 1] == "\n":
                            k += 1
                            continue
                        k += 2
                        continue
                    if text[k] == c:
                        break
                    k += 1
                toks.append(Token(STRING if c == '"' else CHARCONST, text[i:k + 1], i))
                i = k + 1
            elif c == "`":
                k = text.find("`", i + 1)
                if k < 0:
                    toks.append(Token(ERROR, "unterminated raw quoted string", n))
                    return toks
                toks.append(Token(RAWSTRING, text[i:k + 1], i))
                i = k + 1
            elif c in "$." and not (c == "." and i + 1 < n and text[i + 1].isdigit()):
                k = i + 1
                if at_terminator(k):
                    toks.append(Token(VARIABLE if c == "$" else DOT, c, i))
                    i = k
                    continue
                while k < n and _is_alnum(text[k]):
                    k += 1
                if not at_terminator(k):
                    toks.append(Token(ERROR, "bad character " + _rune_desc(text[k]), k))
                    return toks
                toks.append(Token(VARIABLE if c == "$" else FIELD, text[i:k], i))
                i = k
            elif c in "+-." or c.isdigit():
                k, ok = _scan_number(text, i)
                typ = NUMBER
                if ok and k < n and text[k] in "+-":
                    k, ok = _scan_number(text, k)
                    ok = ok and text[k - 1] == "i"
                    typ = COMPLEX
                if not ok:
                    toks.append(Token(ERROR, "bad number syntax: " + go_quote(text[start:k]), k))
                    return toks
                toks.append(Token(typ, text[start:k], start))
                i = k
            elif _is_alnum(c):
                k = i
                while k < n and _is_alnum(text[k]):
                    k += 1
                word = text[i:k]
                if not at_terminator(k):
                    toks.append(Token(ERROR, "bad character " + _rune_desc(text[k]), k))
                    return toks
                if word in KEYWORDS:
                    toks.append(Token(word, word, i))
                elif word in ("true", "false"):
                    toks.append(Token(BOOL, word, i))
                else:
                    toks.append(Token(IDENT, word, i))
                i = k
            elif c == "(":
                toks.append(Token(LPAREN, c, i))
                depth += 1
                i += 1
            elif c == ")":
                toks.append(Token(RPAREN, c, i))
                depth -= 1
                i += 1
                if depth < 0:
                    toks.append(Token(ERROR, "unexpected right paren", i))
                    return toks
            elif c.isascii() and c.isprintable():
                toks.append(Token(CHAR, c, i))
                i += 1
            else:
                toks.append(Token(ERROR, "unrecognized character in action: " + _rune_desc(c), i))
                return toks


def _scan_number(text: str, i: int) -> tuple[int, bool]:
    n = len(text)

    def accept(k: int, chars: str) -> int:
        return k + 1 if k < n and text[k] in chars else k

    def accept_run(k: int, chars: str) -> int:
        while k < n and text[k] in chars:
            k += 1
        return k

    k = accept(i, "+-")
    digits = "0123456789_"
    if k < n and text[k] == "0":
        k += 1
        if k < n and text[k] in "xX":
            k, digits = k + 1, "0123456789abcdefABCDEF_"
        elif k < n and text[k] in "oO":
            k, digits = k + 1, "01234567_"
        elif k < n and text[k] in "bB":
            k, digits = k + 1, "01_"
    k = accept_run(k, digits)
    if k < n and text[k] == ".":
        k = accept_run(k + 1, digits)
    if len(digits) == 11 and k < n and text[k] in "eE":
        k = accept_run(accept(k + 1, "+-"), "0123456789_")
    if len(digits) == 23 and k < n and text[k] in "pP":
        k = accept_run(accept(k + 1, "+-"), "0123456789_")
    k = accept(k, "i")
    if k < n and _is_alnum(text[k]):
        return k + 1, False
    return k, True


# ---------------------------------------------------------------------------
# nodes

class Node:
    __slots__ = ("pos",)
    kind = "node"


class TextNode(Node):
    __slots__ = ("text",)
    kind = "text"

    def __init__(self, pos, text):
        self.pos, self.text = pos, text


class ListNode(Node):
    __slots__ = ("nodes",)
    kind = "list"

    def __init__(self, pos):
        self.pos, self.nodes = pos, []

    def __str__(self):
        return "".join(str(n) for n in self.nodes)


class DotNode(Node):
    __slots__ = ()
    kind = "dot"

    def __init__(self, pos):
        self.pos = pos

    def __str__(self):
        return "."


class NilNode(DotNode):
    __slots__ = ()
    kind = "nil"

    def __str__(self):
        return "nil"


class BoolNode(Node):
    __slots__ = ("value",)
    kind = "bool"

    def __init__(self, pos, value):
        self.pos, self.value = pos, value

    def __str__(self):
        return "true" if self.value else "false"


class NumberNode(Node):
    __slots__ = ("text", "value", "is_int", "is_float", "is_char", "overflow")
    kind = "number"

    def __str__(self):
        return self.text


class StringNode(Node):
    __slots__ = ("quoted", "text")
    kind = "string"

    def __init__(self, pos, quoted, text):
        self.pos, self.quoted, self.text = pos, quoted, text

    def __str__(self):
        return self.quoted


class IdentifierNode(Node):
    __slots__ = ("name",)
    kind = "identifier"

    def __init__(self, pos, name):
        self.pos, self.name = pos, name

    def __str__(self):
        return self.name


class FieldNode(Node):
    __slots__ = ("idents",)
    kind = "field"

    def __init__(self, pos, idents):
        self.pos, self.idents = pos, idents

    def __str__(self):
        return "".join("." + i for i in self.idents)


class VariableNode(Node):
    __slots__ = ("idents",)
    kind = "variable"

    def __init__(self, pos, idents):
        self.pos, self.idents = pos, idents

    def __str__(self):
        return ".".join(self.idents)


class ChainNode(Node):
    __slots__ = ("node", "fields")
    kind = "chain"

    def __init__(self, pos, node):
        self.pos, self.node, self.fields = pos, node, []

    def __str__(self):
        s = f"({self.node})" if isinstance(self.node, PipeNode) else str(self.node)
        return s + "".join("." + f for f in self.fields)


class CommandNode(Node):
    __slots__ = ("args",)
    kind = "command"

    def __init__(self, pos):
        self.pos, self.args = pos, []

    def __str__(self):
        return " ".join(f"({a})" if isinstance(a, PipeNode) else str(a) for a in self.args)


class PipeNode(Node):
    __slots__ = ("line", "is_assign", "decls", "cmds")
    kind = "pipe"

    def __init__(self, pos, line):
        self.pos, self.line, self.is_assign, self.decls, self.cmds = pos, line, False, [], []

    def __str__(self):
        s = ""
        if self.decls:
            s = ", ".join(str(d) for d in self.decls) + (" = " if self.is_assign else " := ")
        return s + " | ".join(str(c) for c in self.cmds)


class ActionNode(Node):
    __slots__ = ("line", "pipe")
    kind = "action"

    def __init__(self, pos, line, pipe):
        self.pos, self.line, self.pipe = pos, line, pipe

    def __str__(self):
        return "{{" + str(self.pipe) + "}}"


class BranchNode(Node):
    __slots__ = ("line", "pipe", "list", "else_list")

    def __init__(self, kind, pos, line, pipe, lst, else_list):
        self.pos, self.line, self.pipe, self.list, self.else_list = pos, line, pipe, lst, else_list
        self._kind = kind

    __slots__ += ("_kind",)

    @property
    def kind(self):
        return self._kind

    def __str__(self):
        s = "{{%s %s}}%s" % (self._kind, self.pipe, self.list)
        if self.else_list is not None:
            s += "{{else}}" + str(self.else_list)
        return s + "{{end}}"


class TemplateNode(Node):
    __slots__ = ("line", "name", "pipe")
    kind = "template"

    def __init__(self, pos, line, name, pipe):
        self.pos, self.line, self.name, self.pipe = pos, line, name, pipe

    def __str__(self):
        if self.pipe is None:
            return "{{template %s}}" % go_quote(self.name)
        return "{{template %s %s}}" % (go_quote(self.name), self.pipe)


class LoopControlNode(Node):
    __slots__ = ("line", "_kind")

    def __init__(self, kind, pos, line):
        self.pos, self.line, self._kind = pos, line, kind

    @property
    def kind(self):
        return self._kind

    def __str__(self):
        return "{{%s}}" % self._kind


class _Marker(Node):
    """``{{end}}`` / ``{{else}}`` while parsing."""

    __slots__ = ("_kind", "line")

    def __init__(self, kind, pos, line):
        self.pos, self._kind, self.line = pos, kind, line

    @property
    def kind(self):
        return self._kind

    def __str__(self):
        return "{{%s}}" % self._kind


# ---------------------------------------------------------------------------
# unquoting

_SIMPLE_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t",
                   "v": "\v", "\\": "\\"}


def unquote(s: str) -> str:
    """Go's ``strconv.Unquote`` for "...", `...` and '...' literals; ValueError("invalid syntax")."""
    if len(s) < 2 or s[0] != s[-1]:
        raise ValueError("invalid syntax")
    q = s[0]
    body = s[1:-1]
    if q == "`":
        if "`" in body:
            raise ValueError("invalid syntax")
        return body.replace("\r", "")
    if q not in "\"'":
        raise ValueError("invalid syntax")
    out = []
    i = 0
    while i < len(body):
        c = body[i]
        if c == q or c == "\n":
            raise ValueError("invalid syntax")
        if c != "\\":
            out.append(c)
            i += 1
            continue
        i += 1
        if i >= len(body):
            raise ValueError("invalid syntax")
        e = body[i]
        i += 1
        if e in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[e])
        elif e == q:
            out.append(e)
        elif e in "xuU":
            size = {"x": 2, "u": 4, "U": 8}[e]
            digits = body[i:i + size]
            if len(digits) < size or any(d not in "0123456789abcdefABCDEF" for d in digits):
                raise ValueError("invalid syntax")
            v = int(digits, 16)
            i += size
            if e == "x":
                out.append(chr(0xDC00 + v) if v >= 0x80 else chr(v))
            else:
                if v > 0x10FFFF or 0xD800 <= v <= 0xDFFF:
                    raise ValueError("invalid syntax")
                out.append(chr(v))
        elif e in "01234567":
            digits = body[i - 1:i + 2]
            if len(digits) < 3 or any(d not in "01234567" for d in digits):
                raise ValueError("invalid syntax")
            v = int(digits, 8)
            if v > 255:
                raise ValueError("invalid syntax")
            i += 2
            out.append(chr(0xDC00 + v) if v >= 0x80 else chr(v))
        else:
            raise ValueError("invalid syntax")
    result = "".join(out)
    if q == "'" and len(result) != 1:
        raise ValueError("invalid syntax")
    return result


def _number(pos: int, tok: Token) -> NumberNode:
    """Go's ``newNumber``: which of int/float a literal can be; ValueError with Go's text."""
    node = NumberNode()
    node.pos, node.text = pos, tok.val
    node.is_int = node.is_float = node.is_char = node.overflow = False
    node.value = None
    text = tok.val
    if tok.typ == CHARCONST:
        try:
            ch = unquote(text)
        except ValueError:
            raise ValueError(f"malformed character constant: {text}") from None
        node.is_int = node.is_char = True
        node.value = ord(ch)
        return node
    if tok.typ == COMPLEX or text.endswith("i"):
        raise ValueError(f"illegal number syntax: {go_quote(text)}")
    try:
        node.value = parse_int(text)
        node.is_int = True
        return node
    except NumError as e:
        if e.err == "value out of range" and not any(c in text for c in ".eEpP"):
            if text.startswith("-"):
                raise ValueError(f"integer overflow: {go_quote(text)}") from None
            node.overflow = True   # a uint64 constant: "overflows int" when used
            return node
    try:
        body = text.replace("_", "")
        if body.lower().lstrip("+-").startswith("0x"):
            value = float.fromhex(body)
        else:
            value = float(body)
    except ValueError:
        raise ValueError(f"illegal number syntax: {go_quote(text)}") from None
    if not any(c in text for c in ".eEpP"):
        raise ValueError(f"integer overflow: {go_quote(text)}")
    node.is_float = True
    node.value = value
    return node


# ---------------------------------------------------------------------------
# parser

class Source:
    """The text a set of trees was parsed from: for error line and column numbers."""

    __slots__ = ("name", "text", "_newlines")

    def __init__(self, name: str, text: str) -> None:
        self.name, self.text = name, text
        self._newlines = [i for i, c in enumerate(text) if c == "\n"]

    def line(self, pos: int) -> int:
        return 1 + bisect.bisect_left(self._newlines, pos)

    def location(self, pos: int) -> str:
        """Go's ``ErrorContext`` location: ``name:line:col`` (col in bytes)."""
        idx = bisect.bisect_left(self._newlines, pos)
        start = self._newlines[idx - 1] + 1 if idx else 0
        col = len(self.text[start:pos].encode("utf-8", "surrogatepass"))
        return f"{self.name}:{idx + 1}:{col}"


class Parser:
    def __init__(self, name: str, text: str, funcs) -> None:
        self.src = Source(name, text)
        self.toks = lex(text)
        self.i = 0
        self.max_i = 0
        self.funcs = funcs
        self.vars = ["$"]
        self.range_depth = 0
        self.depth = 0
        self.action_line = 0
        self.trees: dict[str, ListNode] = {}

    # token stream
    def next(self) -> Token:
        tok = self.toks[min(self.i, len(self.toks) - 1)]
        self.i += 1
        self.max_i = max(self.max_i, self.i - 1)
        return tok

    def backup(self, n: int = 1) -> None:
        self.i -= n

    def peek(self) -> Token:
        tok = self.next()
        self.backup()
        return tok

    def next_non_space(self) -> Token:
        tok = self.next()
        while tok.typ == SPACE_T:
            tok = self.next()
        return tok

    def peek_non_space(self) -> Token:
        tok = self.next_non_space()
        self.backup()
        return tok

    def line_of(self, tok: Token) -> int:
        return self.src.line(tok.pos)

    def error(self, msg: str):
        tok = self.toks[min(self.max_i, len(self.toks) - 1)]
        raise TemplateError(f"template: {self.src.name}:{self.line_of(tok)}: {msg}")

    def unexpected(self, tok: Token, context: str):
        if tok.typ == ERROR:
            extra = ""
            line = self.line_of(tok)
            if self.action_line and self.action_line != line:
                extra = f" in action started at {self.src.name}:{self.action_line}"
                if tok.val.endswith(" action"):
                    extra = extra[len(" in action"):]
            self.error(f"{tok}{extra}")
        self.error(f"unexpected {tok} in {context}")

    def expect(self, typ: str, context: str) -> Token:
        tok = self.next_non_space()
        if tok.typ != typ:
            self.unexpected(tok, context)
        return tok

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_PARSE_DEPTH:
            self.error("max expression depth exceeded")

    # grammar
    def parse(self) -> dict[str, ListNode]:
        root = ListNode(self.peek().pos)
        while self.peek().typ != EOF:
            if self.peek().typ == LEFT:
                self.next()
                if self.next_non_space().typ == "define":
                    self.parse_definition()
                    continue
                self.backup(self.i - self._last_left())
            node = self.text_or_action()
            if isinstance(node, _Marker):
                self.error(f"unexpected {node}")
            root.nodes.append(node)
        self._add(self.src.name, root)
        return self.trees

    def _last_left(self) -> int:
        k = self.i - 1
        while self.toks[k].typ != LEFT:
            k -= 1
        return k

    def _add(self, name: str, root: ListNode) -> None:
        old = self.trees.get(name)
        if old is None or _is_empty(old):
            self.trees[name] = root
        elif not _is_empty(root):
            self.error(f"template: multiple definition of template {go_quote(name)}")

    def parse_definition(self) -> None:
        context = "define clause"
        tok = self.next_non_space()
        if tok.typ not in (STRING, RAWSTRING):
            self.unexpected(tok, context)
        try:
            name = unquote(tok.val)
        except ValueError as e:
            self.error(str(e))
        self.expect(RIGHT, context)
        saved, self.vars = self.vars, ["$"]
        root, end = self.item_list()
        self.vars = saved
        if end.kind != "end":
            self.error(f"unexpected {end} in {context}")
        self._add(name, root)

    def item_list(self):
        lst = ListNode(self.peek_non_space().pos)
        while self.peek_non_space().typ != EOF:
            node = self.text_or_action()
            if isinstance(node, _Marker):
                return lst, node
            lst.nodes.append(node)
        self.error("unexpected EOF")

    def text_or_action(self):
        tok = self.next_non_space()
        if tok.typ == TEXT:
            return TextNode(tok.pos, tok.val)
        if tok.typ == LEFT:
            saved = self.action_line
            self.action_line = self.line_of(tok)
            try:
                return self.action()
            finally:
                self.action_line = saved
        self.unexpected(tok, "input")

    def action(self):
        tok = self.next_non_space()
        kw = tok.typ
        if kw == "block":
            return self.block_control()
        if kw in ("break", "continue"):
            after = self.next_non_space()
            if after.typ != RIGHT:
                self.unexpected(after, "{{%s}}" % kw)
            if self.range_depth == 0:
                self.error("{{%s}} outside {{range}}" % kw)
            return LoopControlNode(kw, tok.pos, self.line_of(tok))
        if kw == "else":
            peek = self.peek_non_space()
            if peek.typ in ("if", "with"):
                return _Marker("else", peek.pos, self.line_of(peek))
            self.expect(RIGHT, "else")
            return _Marker("else", tok.pos, self.line_of(tok))
        if kw == "end":
            self.expect(RIGHT, "end")
            return _Marker("end", tok.pos, self.line_of(tok))
        if kw in ("if", "range", "with"):
            return self.control(kw)
        if kw == "template":
            return self.template_control()
        self.backup()
        peek = self.peek()
        return ActionNode(peek.pos, self.line_of(peek), self.pipeline("command", RIGHT))

    def control(self, context: str):
        self.enter()
        mark = len(self.vars)
        pipe = self.pipeline(context, RIGHT)
        if context == "range":
            self.range_depth += 1
        lst, nxt = self.item_list()
        if context == "range":
            self.range_depth -= 1
        else_list = None
        if nxt.kind == "else":
            if context in ("if", "with") and self.peek().typ == context:
                self.next()
                else_list = ListNode(nxt.pos)
                else_list.nodes.append(self.control(context))
            else:
                else_list, nxt = self.item_list()
                if nxt.kind != "end":
                    self.error(f"expected end; found {nxt}")
        del self.vars[mark:]
        self.depth -= 1
        return BranchNode(context, pipe.pos, pipe.line, pipe, lst, else_list)

    def _template_name(self, tok: Token, context: str) -> str:
        if tok.typ in (STRING, RAWSTRING):
            try:
                return unquote(tok.val)
            except ValueError as e:
                self.error(str(e))
        self.unexpected(tok, context)

    def template_control(self):
        context = "template clause"
        tok = self.next_non_space()
        name = self._template_name(tok, context)
        line = self.line_of(tok)
        pipe = None
        if self.next_non_space().typ != RIGHT:
            self.backup()
            pipe = self.pipeline(context, RIGHT)
        return TemplateNode(tok.pos, line, name, pipe)

    def block_control(self):
        context = "block clause"
        tok = self.next_non_space()
        name = self._template_name(tok, context)
        pipe = self.pipeline(context, RIGHT)
        saved_vars, saved_range = self.vars, self.range_depth
        self.vars, self.range_depth = ["$"], 0
        self.enter()
        root, end = self.item_list()
        self.depth -= 1
        self.vars, self.range_depth = saved_vars, saved_range
        if end.kind != "end":
            self.error(f"unexpected {end} in {context}")
        self._add(name, root)
        return TemplateNode(tok.pos, self.line_of(tok), name, pipe)

    def pipeline(self, context: str, end: str) -> PipeNode:
        tok = self.peek_non_space()
        pipe = PipeNode(tok.pos, self.line_of(tok))
        while True:   # declarations
            v = self.peek_non_space()
            if v.typ != VARIABLE:
                break
            self.next_non_space()
            after_var = self.peek()
            nxt = self.peek_non_space()
            if nxt.typ in (ASSIGN, DECLARE):
                pipe.is_assign = nxt.typ == ASSIGN
                self.next_non_space()
                pipe.decls.append(VariableNode(v.pos, [v.val]))
                self.vars.append(v.val)
            elif nxt.typ == CHAR and nxt.val == ",":
                self.next_non_space()
                pipe.decls.append(VariableNode(v.pos, [v.val]))
                self.vars.append(v.val)
                if context == "range" and len(pipe.decls) < 2:
                    if self.peek_non_space().typ in (VARIABLE, RIGHT, RPAREN):
                        continue
                    self.error("range can only initialize variables")
                self.error(f"too many declarations in {context}")
            elif after_var.typ == SPACE_T:
                self._back_to(v)
            else:
                self._back_to(v)
            break
        while True:
            tok = self.next_non_space()
            if tok.typ == end:
                self._check_pipeline(pipe, context)
                return pipe
            if tok.typ in (BOOL, CHARCONST, COMPLEX, DOT, FIELD, IDENT, NUMBER, "nil",
                           RAWSTRING, STRING, VARIABLE, LPAREN):
                self.backup()
                pipe.cmds.append(self.command())
            else:
                self.unexpected(tok, context)

    def _back_to(self, tok: Token) -> None:
        while self.toks[self.i - 1] is not tok:
            self.i -= 1
        self.i -= 1

    def _check_pipeline(self, pipe: PipeNode, context: str) -> None:
        if not pipe.cmds:
            self.error(f"missing value for {context}")
        for i, c in enumerate(pipe.cmds[1:]):
            if c.args[0].kind in ("bool", "dot", "nil", "number", "string"):
                self.error(f"non executable command in pipeline stage {i + 2}")

    def command(self) -> CommandNode:
        cmd = CommandNode(self.peek_non_space().pos)
        while True:
            self.peek_non_space()
            operand = self.operand()
            if operand is not None:
                cmd.args.append(operand)
            tok = self.next()
            if tok.typ == SPACE_T:
                continue
            if tok.typ in (RIGHT, RPAREN):
                self.backup()
            elif tok.typ != PIPE:
                self.unexpected(tok, "operand")
            break
        if not cmd.args:
            self.error("empty command")
        return cmd

    def operand(self):
        node = self.term()
        if node is None:
            return None
        if self.peek().typ == FIELD:
            chain = ChainNode(self.peek().pos, node)
            while self.peek().typ == FIELD:
                chain.fields.append(self.next().val[1:])
            if node.kind == "field":
                node = FieldNode(chain.pos, node.idents + chain.fields)
            elif node.kind == "variable":
                node = VariableNode(chain.pos, node.idents + chain.fields)
            elif node.kind in ("bool", "string", "number", "nil", "dot"):
                self.error(f"unexpected . after term {go_quote(str(node))}")
            else:
                node = chain
        return node

    def term(self):
        tok = self.next_non_space()
        typ = tok.typ
        if typ == IDENT:
            if tok.val not in self.funcs:
                self.error(f"function {go_quote(tok.val)} not defined")
            return IdentifierNode(tok.pos, tok.val)
        if typ == DOT:
            return DotNode(tok.pos)
        if typ == "nil":
            return NilNode(tok.pos)
        if typ == VARIABLE:
            parts = tok.val.split(".")
            if parts[0] not in self.vars:
                self.error(f"undefined variable {go_quote(parts[0])}")
            return VariableNode(tok.pos, parts)
        if typ == FIELD:
            return FieldNode(tok.pos, tok.val[1:].split("."))
        if typ == BOOL:
            return BoolNode(tok.pos, tok.val == "true")
        if typ in (CHARCONST, COMPLEX, NUMBER):
            try:
                return _number(tok.pos, tok)
            except ValueError as e:
                self.error(str(e))
        if typ == LPAREN:
            self.enter()
            pipe = self.pipeline("parenthesized pipeline", RPAREN)
            self.depth -= 1
            return pipe
        if typ in (STRING, RAWSTRING):
            try:
                return StringNode(tok.pos, tok.val, unquote(tok.val))
            except ValueError as e:
                self.error(str(e))
        self.backup()
        return None


def _is_empty(lst: ListNode) -> bool:
    for n in lst.nodes:
        if not (isinstance(n, TextNode) and not n.text.strip(SPACE)):
            return False
    return True


def parse_trees(name: str, text: str, funcs) -> tuple[Source, dict[str, ListNode]]:
    """Parse *text*; the trees by template name (the main one under *name*)."""
    p = Parser(name, text, funcs)
    return p.src, p.parse()
