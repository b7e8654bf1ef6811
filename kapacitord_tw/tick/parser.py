"""TICKscript parser: tokens to a :class:`~kapacitord_tw.tick.ast.ProgramNode`.

The grammar, the two-token look-ahead and the way comments are attached to
nodes follow Kapacitor's recursive-descent parser, so that comments land in
the same place when the script is re-formatted and errors name the same
token, line and column.
"""

import bisect
import math
import re

import attr

from kapacitord_tw.tick import syntax as ast
from kapacitord_tw.tick.durations import InvalidDuration, parse_duration
from kapacitord_tw.tick.errors import TickSyntaxError
from kapacitord_tw.tick.lexer import (
    T, ZERO_TOKEN, is_expr_operator, lex, token_name)
from kapacitord_tw.tick.regex import RegexError, compile_go_regex

PRECEDENCE = {
    T.OR: 0,
    T.AND: 1,
    T.EQUAL: 2,
    T.NOT_EQUAL: 2,
    T.REGEX_EQUAL: 2,
    T.REGEX_NOT_EQUAL: 2,
    T.GREATER: 3,
    T.GREATER_EQUAL: 3,
    T.LESS: 3,
    T.LESS_EQUAL: 3,
    T.PLUS: 4,
    T.MINUS: 4,
    T.MULT: 5,
    T.DIV: 5,
    T.MOD: 5,
}

_INT64_MAX = 2 ** 63 - 1
_ASCII_NUMBER = re.compile(r"^[0-9.]+$")


class _Abort(Exception):
    """Internal: carries a parser error to the top level."""


class _Locator:
    """Converts character offsets to Kapacitor's byte-based positions.

    Line starts (and, for non-ASCII scripts, byte offsets) are computed once
    so positions cost O(log n) each even for very large scripts.
    """

    def __init__(self, text):
        self.text = text
        self.ascii = text.isascii()
        self.line_starts = [0] + [i + 1 for i, ch in enumerate(text)
                                  if ch == "\n"]
        if self.ascii:
            self.byte_at = None
        else:
            self.byte_at = [0]
            total = 0
            for ch in text:
                total += len(ch.encode("utf-8"))
                self.byte_at.append(total)

    def byte_offset(self, pos):
        return pos if self.byte_at is None else self.byte_at[pos]

    def line_char(self, pos):
        line = bisect.bisect_right(self.line_starts, pos)
        start = self.line_starts[line - 1]
        return line, self.byte_offset(pos) - self.byte_offset(start) + 1

    def position(self, pos):
        line, char = self.line_char(pos)
        return ast.Position(self.byte_offset(pos), line, char)

    def has_new_line(self, start_byte, end_byte):
        """Is there a newline between two byte offsets?"""
        if self.byte_at is None:
            start, end = start_byte, end_byte
        else:
            start = bisect.bisect_left(self.byte_at, start_byte)
            end = bisect.bisect_left(self.byte_at, end_byte)
        return "\n" in self.text[start:end]


def _comment_node(position, tokens):
    lines = []
    for i, token in enumerate(tokens):
        if i != 0:
            lines.append("\n")
        for comment in token.split("\n"):
            comment = comment.strip()
            if not comment:
                continue
            if comment.startswith("//"):
                comment = comment[2:]
            if comment.startswith(" "):
                comment = comment[1:]
            lines.append(comment)
    return ast.CommentNode(position, lines)


class Parser:
    def __init__(self, text):
        self.text = text
        self.loc = _Locator(text)
        self._tokens = lex(text)
        self._index = 0
        self.token = [None, None]
        self.comments = [None, None]
        self.peek_count = 0

    # -- token stream -----------------------------------------------------
    def _lex_next(self):
        if self._index < len(self._tokens):
            tok = self._tokens[self._index]
            self._index += 1
            return tok
        return ZERO_TOKEN

    def next_token(self):
        tok = self._lex_next()
        texts = []
        pos = -1
        while tok.typ == T.COMMENT:
            if pos == -1:
                pos = tok.pos
            texts.append(tok.val)
            tok = self._lex_next()
        comment = None
        if texts:
            comment = _comment_node(self.loc.position(pos), texts)
        return tok, comment

    def next(self):
        if self.peek_count > 0:
            self.peek_count -= 1
        else:
            self.token[0], self.comments[0] = self.next_token()
        return self.token[self.peek_count]

    def backup(self):
        self.peek_count += 1

    def peek(self):
        if self.peek_count > 0:
            return self.token[self.peek_count - 1]
        self.peek_count = 1
        self.token[1], self.comments[1] = self.token[0], self.comments[0]
        self.token[0], self.comments[0] = self.next_token()
        return self.token[0]

    def consume_comment(self):
        comment = self.comments[self.peek_count]
        self.comments[self.peek_count] = None
        return comment

    # -- errors -----------------------------------------------------------
    def errorf(self, message, tok=None):
        line, column = (0, 0)
        if tok is not None:
            line, column = self.loc.line_char(tok.pos)
        raise TickSyntaxError("parser: " + message, line, column)

    def expect(self, expected):
        tok = self.next()
        if tok.typ != expected:
            self.unexpected(tok, expected)
        return tok

    def unexpected(self, tok, *expected):
        text = self.text
        start = max(tok.pos - 10, 0)
        newline = text.rfind("\n", start, tok.pos)
        if newline != -1:
            start = newline + 1
        stop = min(tok.pos + 10, len(text))
        newline = text.find("\n", tok.pos, stop)
        if newline != -1:
            stop = newline
        line, char = self.loc.line_char(tok.pos)
        expected_text = ",".join('"%s"' % token_name(e) for e in expected)
        tok_text = tok.val if tok.typ == T.ERROR else token_name(tok.typ)
        raise TickSyntaxError(
            'parser: unexpected %s line %d char %d in "%s". expected: %s'
            % (tok_text, line, char, text[start:stop], expected_text),
            line, char)

    def position(self, pos):
        return self.loc.position(pos)

    def has_new_line(self, start_node, end_node):
        return self.loc.has_new_line(start_node.position.pos,
                                     end_node.position.pos)

    def _has_new_line_from(self, char_pos, end_node):
        return self.loc.has_new_line(self.loc.byte_offset(char_pos),
                                     end_node.position.pos)

    # -- grammar ----------------------------------------------------------
    def parse(self):
        program = self.program()
        self.expect(T.EOF)
        return program

    def parse_lambda(self):
        expression = self.primary_expr()
        node = ast.LambdaNode(self.position(0), expression)
        self.expect(T.EOF)
        return node

    def program(self):
        position = self.position(0)
        nodes = []
        while True:
            if self.peek().typ == T.EOF:
                if self.comments[1] is not None:
                    nodes.append(self.comments[1])
                if self.comments[0] is not None:
                    nodes.append(self.comments[0])
                return ast.ProgramNode(position, nodes)
            nodes.append(self.statement())

    def statement(self):
        typ = self.peek().typ
        if typ == T.VAR:
            return self.declaration()
        if typ == T.DBRP:
            return self.dbrp()
        return self.expression()

    def dbrp(self):
        tok = self.expect(T.DBRP)
        comment = self.consume_comment()
        db = self.reference()
        self.expect(T.DOT)
        rp = self.reference()
        return ast.DBRPNode(self.position(tok.pos), db, rp, comment)

    def declaration(self):
        tok = self.expect(T.VAR)
        comment = self.consume_comment()
        name = self.identifier()
        if self.peek().typ == T.ASGN:
            self.expect(T.ASGN)
            value = self.expression()
            return ast.DeclarationNode(self.position(tok.pos), name, value,
                                       comment)
        type_name = self.identifier()
        return ast.TypeDeclarationNode(self.position(tok.pos), name,
                                       type_name, comment)

    def expression(self):
        typ = self.peek().typ
        if typ == T.IDENT:
            self.next()
            following = self.peek().typ
            if following == T.LPAREN:
                self.backup()
                term = self.function(ast.FuncType.GLOBAL)
                if self.peek().typ in (T.DOT, T.PIPE, T.AT, T.VAR, T.IDENT):
                    return self.chain(term)
                return self.precedence(term, 0)
            if following in (T.DOT, T.AT, T.PIPE, T.VAR, T.IDENT):
                self.backup()
                return self.chain(self.identifier())
            self.backup()
            return self.primary_expr()
        if typ == T.LAMBDA:
            return self.lambda_()
        if typ == T.LSBRACKET:
            return self.string_list()
        return self.primary_expr()

    def chain(self, lhs):
        while True:
            typ = self.peek().typ
            if typ not in (T.DOT, T.PIPE, T.AT):
                return lhs
            op = self.next()
            comment = self.consume_comment()
            func_type = {T.DOT: ast.FuncType.PROPERTY,
                         T.PIPE: ast.FuncType.CHAIN,
                         T.AT: ast.FuncType.DYNAMIC}[op.typ]
            rhs = self.func_or_ident(func_type)
            lhs = ast.ChainNode(self.position(op.pos), op.typ, lhs, rhs,
                                comment)

    def func_or_ident(self, func_type):
        self.next()
        if func_type == ast.FuncType.CHAIN or self.peek().typ == T.LPAREN:
            self.backup()
            return self.function(func_type)
        self.backup()
        return self.identifier()

    def identifier(self):
        tok = self.expect(T.IDENT)
        return ast.IdentifierNode(self.position(tok.pos), tok.val,
                                  self.consume_comment())

    def function(self, func_type):
        tok = self.expect(T.IDENT)
        comment = self.consume_comment()
        self.expect(T.LPAREN)
        args = self.parameters(self.expression)
        self.expect(T.RPAREN)
        multi_line = bool(args) and self._has_new_line_from(tok.pos, args[-1])
        return ast.FunctionNode(self.position(tok.pos), func_type, tok.val,
                                args, multi_line, comment)

    def parameters(self, parse_one):
        args = []
        while True:
            if self.peek().typ == T.RPAREN:
                return args
            args.append(parse_one())
            if self.next().typ != T.COMMA:
                self.backup()
                return args

    def string_list(self):
        tok = self.expect(T.LSBRACKET)
        comment = self.consume_comment()
        items = []
        while True:
            if self.peek().typ == T.RSBRACKET:
                break
            items.append(self.string_item())
            if self.next().typ != T.COMMA:
                self.backup()
                break
        self.expect(T.RSBRACKET)
        return ast.ListNode(self.position(tok.pos), items, comment)

    def string_item(self):
        tok = self.peek()
        if tok.typ == T.IDENT:
            return self.identifier()
        if tok.typ == T.STRING:
            return self.string()
        if tok.typ == T.STAR:
            return self.star()
        self.unexpected(tok, T.IDENT, T.STRING, T.STAR)

    def lambda_(self):
        tok = self.next()
        comment = self.consume_comment()
        expression = self.primary_expr()
        return ast.LambdaNode(self.position(tok.pos), expression, comment)

    def primary_expr(self):
        return self.precedence(self.primary(), 0)

    def precedence(self, lhs, min_precedence):
        look = self.peek()
        while (is_expr_operator(look.typ)
               and PRECEDENCE[look.typ] >= min_precedence):
            op = self.next()
            comment = self.consume_comment()
            rhs = self.primary()
            look = self.peek()
            while (is_expr_operator(look.typ)
                   and PRECEDENCE[look.typ] > PRECEDENCE[op.typ]):
                rhs = self.precedence(rhs, PRECEDENCE[look.typ])
                look = self.peek()
            multi_line = self.has_new_line(lhs, rhs)
            lhs = ast.BinaryNode(self.position(op.pos), op.typ, lhs, rhs,
                                 multi_line, False, comment)
        return lhs

    def lfunction(self):
        tok = self.expect(T.IDENT)
        self.expect(T.LPAREN)
        args = self.parameters(self.lparameter)
        self.expect(T.RPAREN)
        multi_line = bool(args) and self._has_new_line_from(tok.pos, args[-1])
        return ast.FunctionNode(self.position(tok.pos), ast.FuncType.GLOBAL,
                                tok.val, args, multi_line, None)

    def lparameter(self):
        node = self.primary()
        if is_expr_operator(self.peek().typ):
            node = self.precedence(node, 0)
        return node

    def primary(self):
        tok = self.peek()
        typ = tok.typ
        if typ == T.LPAREN:
            self.next()
            comment = self.consume_comment()
            node = self.primary_expr()
            if isinstance(node, ast.BinaryNode):
                node = attr.evolve(node, parens=True)
            if isinstance(node, ast.COMMENTED):
                node = attr.evolve(node, comment=comment)
            self.expect(T.RPAREN)
            return node
        if typ == T.NUMBER:
            return self.number()
        if typ == T.STRING:
            return self.string()
        if typ in (T.TRUE, T.FALSE):
            return self.boolean()
        if typ == T.DURATION:
            return self.duration()
        if typ == T.REGEX:
            return self.regex()
        if typ == T.STAR:
            return self.star()
        if typ == T.REFERENCE:
            return self.reference()
        if typ == T.IDENT:
            self.next()
            if self.peek().typ == T.LPAREN:
                self.backup()
                return self.lfunction()
            self.backup()
            return self.identifier()
        if typ in (T.MINUS, T.NOT):
            self.next()
            operand = self.primary()
            return ast.UnaryNode(self.position(tok.pos), typ, operand,
                                 self.consume_comment())
        self.unexpected(tok, T.NUMBER, T.STRING, T.DURATION, T.IDENT, T.TRUE,
                        T.FALSE, T.EQUAL, T.LPAREN, T.MINUS, T.NOT)

    # -- literals ---------------------------------------------------------
    def duration(self):
        tok = self.expect(T.DURATION)
        try:
            ns = parse_duration(tok.val)
        except InvalidDuration as exc:
            self.errorf(str(exc), tok)
        return ast.DurationNode(self.position(tok.pos), ns, tok.val,
                                self.consume_comment())

    def number(self):
        tok = self.expect(T.NUMBER)
        text = tok.val
        position = self.position(tok.pos)
        comment = self.consume_comment()
        if not _ASCII_NUMBER.match(text):
            self.errorf("illegal number syntax: %s" % _go_quote(text), tok)
        if "." in text:
            try:
                value = float(text)
            except ValueError:
                value = None
            if value is None or math.isinf(value):
                self.errorf("illegal number syntax: %s" % _go_quote(text), tok)
            return ast.NumberNode(position, False, value, 10, comment)
        base = 8 if text[0] == "0" and len(text) > 1 else 10
        try:
            value = int(text, base)
        except ValueError:
            value = None
        if value is None or value > _INT64_MAX:
            self.errorf("illegal number syntax: %s" % _go_quote(text), tok)
        return ast.NumberNode(position, True, value, base, comment)

    def string(self):
        tok = self.expect(T.STRING)
        text = tok.val
        if len(text) >= 6 and text.startswith("'''"):
            literal, triple = text[3:-3], True
        else:
            literal, triple = text[1:-1].replace("\\'", "'"), False
        return ast.StringNode(self.position(tok.pos), literal, triple,
                              self.consume_comment())

    def regex(self):
        tok = self.expect(T.REGEX)
        literal = tok.val[1:-1]
        pattern = literal.replace("\\/", "/")
        try:
            compile_go_regex(pattern)
        except RegexError as exc:
            self.errorf(str(exc), tok)
        return ast.RegexNode(self.position(tok.pos), pattern, literal,
                             self.consume_comment())

    def star(self):
        tok = self.expect(T.STAR)
        return ast.StarNode(self.position(tok.pos), self.consume_comment())

    def reference(self):
        tok = self.expect(T.REFERENCE)
        literal = tok.val[1:-1].replace('\\"', '"')
        return ast.ReferenceNode(self.position(tok.pos), literal,
                                 self.consume_comment())

    def boolean(self):
        tok = self.next()
        return ast.BoolNode(self.position(tok.pos), tok.typ == T.TRUE,
                            self.consume_comment())


def _go_quote(text):
    return '"%s"' % text.replace("\\", "\\\\").replace('"', '\\"')


def parse(text):
    """Parse a whole TICKscript; raises :class:`TickSyntaxError`."""
    return Parser(text).parse()


def parse_lambda(text):
    """Parse a bare lambda expression (the value of a ``lambda`` var)."""
    return Parser(text).parse_lambda()
